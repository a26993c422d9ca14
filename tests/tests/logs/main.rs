//! Logging of refusals, in a test binary of its own: it captures the logs
//! of a server it starts, and tracing's interest cache and level filter are
//! process-wide, so tests running beside it in one process (hitting the
//! same callsites first) could make its capture miss events.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use goalgraph_e2e::{CREATE_UNIT, TestServer, WHO_AM_I, create_org, start};
use goalgraph_testkit::TestDb;
use serde_json::json;
use std::time::Duration;

const CREATE_INTEGRATION: &str = "mutation($n: String!, $s: [IntegrationScope!]!) { \
    createIntegration(input: { name: $n, scopes: $s }) { apiKey } }";

async fn counter(server: &TestServer, name: &str) -> f64 {
    let text = server.client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

/// Logs of the code under test, captured on the threads of a runtime of
/// this test's own (a thread-local subscriber: other tests' logs stay out).
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

pub async fn failed_authentication_and_authorization_are_counted_and_logged_without_secrets(db: TestDb) {
    let captured = Captured::default();
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish(),
    );
    // Its own runtime, every thread of which logs into `captured`.
    let secrets = tokio::task::spawn_blocking({
        let dispatch = dispatch.clone();
        move || {
            let on_start = dispatch.clone();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .on_thread_start(move || std::mem::forget(tracing::dispatcher::set_default(&on_start)))
                .build()
                .unwrap();
            tracing::dispatcher::with_default(&dispatch, || {
                // Callsites other tests hit first were cached as disabled
                // while only the global (no-op) dispatcher counted; with a
                // scoped one set they are asked again.
                tracing::callsite::rebuild_interest_cache();
                runtime.block_on(auth_failures(db))
            })
        }
    })
    .await
    .unwrap();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // Positive controls: the refusals are logged, with request id and actor.
    assert!(logs.contains("authentication refused"), "{logs}");
    assert!(logs.contains("reason=\"bad_signature\"") || logs.contains("reason=bad_signature"), "{logs}");
    assert!(logs.contains("unknown_api_key"), "{logs}");
    let denied: Vec<&str> = logs.lines().filter(|l| l.contains("authorization denied")).collect();
    assert!(denied.len() >= 2, "HTTP and WebSocket denials: {logs}");
    assert!(denied.iter().all(|l| l.contains("request_id") && l.contains("actor=person:")), "{denied:?}");
    for secret in secrets {
        assert!(secret.len() >= 20, "{secret}");
        assert!(!logs.contains(&secret), "a credential reached the logs: {secret}");
    }
}

/// Runs the refusals; returns every credential used (and its secret parts).
async fn auth_failures(db: TestDb) -> Vec<String> {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let admin = server.token(&acme, &acme.admin);
    let member = server.token(&acme, &acme.member);
    // One character in the middle of the signature changed.
    let tampered = {
        let (rest, signature) = admin.rsplit_once('.').unwrap();
        let mut chars: Vec<char> = signature.chars().collect();
        let middle = chars.len() / 2;
        chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
        format!("{rest}.{}", chars.into_iter().collect::<String>())
    };
    let expired = server.token_with_ttl(&acme.admin.subject, "acme", chrono::Duration::hours(-1));
    let created = server.gql_ok(&admin, CREATE_INTEGRATION, json!({ "n": "Feed", "s": ["OKR_READ"] })).await;
    let api_key = created["createIntegration"]["apiKey"].as_str().unwrap().to_owned();
    let unknown_key = format!("{}{}", goalgraph_persistence::KEY_PREFIX, "ab".repeat(32));
    let company = server.company_unit_id(&admin).await;

    let auth_failures_before = counter(&server, "goalgraph_auth_failures_total").await;
    let denied_before = counter(&server, "goalgraph_authorization_denied_total").await;
    // Refused credentials over HTTP, and accepted ones as controls.
    for bad in [&tampered, &expired, &unknown_key] {
        server.gql(Some(bad), WHO_AM_I, json!({})).await.assert_unauthenticated("bad credential");
    }
    server.gql_ok(&admin, WHO_AM_I, json!({})).await;
    server.gql_ok(&api_key, "{ objectives { totalCount } }", json!({})).await;
    // A member may not create a unit: FORBIDDEN, over HTTP and the socket.
    let create = json!({ "parent": company, "name": "Not mine" });
    server.gql(Some(&member), CREATE_UNIT, create.clone()).await.assert_error("FORBIDDEN");
    let mut ws = server.ws_session(&member).await;
    ws.subscribe("m", CREATE_UNIT, create).await;
    let next = ws.expect_next("m").await;
    assert_eq!(next["errors"][0]["extensions"]["code"], "FORBIDDEN", "{next}");
    // A refused credential over the socket.
    let mut refused = server.ws_connect().await;
    refused.init(json!({ "Authorization": format!("Bearer {tampered}") })).await;
    assert_eq!(refused.expect_close(Duration::from_secs(10)).await.0, 4403);
    let mut keyed = server.ws_session(&api_key).await;
    keyed.round_trip().await;

    assert!(counter(&server, "goalgraph_auth_failures_total").await >= auth_failures_before + 4.0);
    assert!(counter(&server, "goalgraph_authorization_denied_total").await >= denied_before + 2.0);
    server.stop().await;
    let signature = |jwt: &str| jwt.rsplit('.').next().unwrap().to_owned();
    let key_secret = |key: &str| key[goalgraph_persistence::KEY_PREFIX.len()..].to_owned();
    vec![
        signature(&admin),
        signature(&member),
        signature(&tampered),
        signature(&expired),
        admin,
        member,
        tampered,
        expired,
        key_secret(&api_key),
        key_secret(&unknown_key),
        api_key,
        unknown_key,
    ]
}

goalgraph_testkit::db_tests!(failed_authentication_and_authorization_are_counted_and_logged_without_secrets);
