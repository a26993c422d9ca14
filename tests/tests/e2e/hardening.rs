//! GraphQL hardening over real HTTP and WebSocket: bad input is refused
//! with the right code and, where the checks need no database, before any
//! SQL statement runs; introspection switches off; trusted documents;
//! the time budget; cost-based rate limits; what failed authentication and
//! authorization leave in metrics and logs (never a credential); TLS.
//!
//! "No SQL" is read off the store's statement counter: nothing else runs
//! statements while these tests measure (no subscription starts the live
//! hub before the measurements, and the hourly housekeeping ran at start).

use goalgraph_e2e::{CREATE_UNIT, GqlReply, TestServer, WHO_AM_I, create_org, reply, start, start_with};
use goalgraph_testkit::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A query that reads the database (the control that SQL is counted).
const UNITS: &str = "{ units { totalCount } }";

const SYNC: &str = "mutation($people: [DirectoryPersonInput!]!) { \
    syncDirectory(input: { units: [], people: $people }) { peopleCreated } }";

fn sql(server: &TestServer) -> u64 {
    server.store().statement_count()
}

fn aliases(n: usize) -> String {
    let fields: String = (0..n).map(|i| format!("a{i}: __typename ")).collect();
    format!("{{ {fields}}}")
}

fn directives(n: usize) -> String {
    format!("{{ __typename {} }}", "@include(if: true) ".repeat(n))
}

/// `levels` fields nested in each other (names the schema need not know:
/// the depth is refused before validation).
fn nested(levels: usize) -> String {
    let mut text = "leaf".to_owned();
    for _ in 1..levels {
        text = format!("f {{ {text} }}");
    }
    format!("{{ {text} }}")
}

fn message(reply: &GqlReply) -> String {
    reply.body["errors"][0]["message"].as_str().unwrap_or_default().to_owned()
}

async fn post_raw(
    server: &TestServer,
    token: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> GqlReply {
    let request = goalgraph_e2e::client()
        .post(server.graphql_url())
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body);
    reply(request.send().await.unwrap()).await
}

pub async fn bad_input_is_refused_before_any_sql(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);

    // The control: a valid query runs statements (the actor's lookup, the count).
    let before = sql(&server);
    assert_eq!(server.gql_ok(&token, UNITS, json!({})).await["units"]["totalCount"], 1);
    assert!(sql(&server) > before, "the statement counter counts");

    // (label, query, expected message fragment), each answered 200 with
    // BAD_USER_INPUT and no data, and without a statement.
    let cases: Vec<(&str, String, &str)> = vec![
        ("20,000 aliases", aliases(20_000), "20000 aliases; the limit is 100"),
        ("101 aliases", aliases(101), "101 aliases; the limit is 100"),
        ("20,000 directives", directives(20_000), "20000 directives; the limit is 100"),
        ("depth 100", nested(100), "nested too deep"),
        ("depth 17", nested(17), "17 levels; the limit is 16"),
        ("1 MB of brackets", "{a".repeat(500_000), "nested too deep"),
        ("2,001 fields", format!("{{ {} }}", "__typename ".repeat(2001)), "too complex"),
        ("an unknown field (validation)", "{ units { totalCount nope } }".to_owned(), "nope"),
        ("a syntax error", "{ units { ".to_owned(), ""),
    ];
    for (label, query, expected) in &cases {
        let before = sql(&server);
        let started = Instant::now();
        let refused = server.gql(Some(&token), query, json!({})).await;
        refused.assert_error("BAD_USER_INPUT");
        assert!(refused.body["data"].is_null(), "{label}: {}", refused.body);
        assert!(message(&refused).contains(expected), "{label}: {}", refused.body);
        assert_eq!(sql(&server), before, "{label}: SQL ran");
        assert!(started.elapsed() < Duration::from_secs(10), "{label}: took {:?}", started.elapsed());
    }
    // Depth 100 names the limit: the deepest selection allowed.
    let deep = server.gql(Some(&token), &nested(100), json!({})).await;
    assert!(message(&deep).contains("at most 16"), "{}", deep.body);

    // A 10 MB body: 413, unread past the limit, no statement.
    let ten_mb = 10 * 1024 * 1024;
    let padding = json!({ "query": format!("#\n{WHO_AM_I}") }).to_string().len();
    let body = json!({ "query": format!("#{}\n{WHO_AM_I}", "x".repeat(ten_mb - padding)) }).to_string();
    assert_eq!(body.len(), ten_mb);
    let before = sql(&server);
    let refused = post_raw(&server, &token, "application/json", body).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", refused.body);
    assert_eq!(refused.code(), Some("BAD_USER_INPUT"));
    assert_eq!(sql(&server), before, "10 MB body: SQL ran");

    // A batch of 1,000 operations: 400 before any runs; 10 are allowed.
    let batch = |n: usize| Value::Array(vec![json!({ "query": UNITS }); n]).to_string();
    let before = sql(&server);
    let refused = post_raw(&server, &token, "application/json", batch(1000)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(refused.code(), Some("BAD_USER_INPUT"));
    assert!(message(&refused).contains("1 to 10 operations; this one has 1000"), "{}", refused.body);
    assert_eq!(sql(&server), before, "a 1,000-operation batch: SQL ran");
    let ok = post_raw(&server, &token, "application/json", batch(10)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body.as_array().map(Vec::len), Some(10), "{}", ok.body);
    assert!(ok.body.as_array().unwrap().iter().all(|r| r["data"]["units"]["totalCount"] == 1), "{}", ok.body);

    // A mutation over GET: 405 with Allow, no statement.
    let company = server.company_unit_id(&token).await;
    let mutation = format!(
        "mutation {{ createUnit(input: {{ kind: DEPARTMENT, name: \"Via GET\", parentId: \"{company}\" }}) {{ unit {{ id }} }} }}"
    );
    let before = sql(&server);
    let get = server.client.get(server.graphql_url()).bearer_auth(&token).query(&[("query", &mutation)]);
    let refused = reply(get.send().await.unwrap()).await;
    assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED, "{}", refused.body);
    assert_eq!(refused.header("allow"), Some("POST"));
    assert_eq!(sql(&server), before, "a GET mutation: SQL ran");

    // Bodies a browser may send cross-origin without a preflight: 415.
    let who = json!({ "query": WHO_AM_I }).to_string();
    let boundary = "----goalgraph";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{who}\r\n--{boundary}--\r\n"
    );
    for (content_type, body) in [
        ("text/plain", who.clone()),
        ("text/plain;charset=UTF-8", who.clone()),
        ("application/x-www-form-urlencoded", format!("query={WHO_AM_I}")),
        (&format!("multipart/form-data; boundary={boundary}") as &str, multipart),
    ] {
        let before = sql(&server);
        let refused = post_raw(&server, &token, content_type, body).await;
        assert_eq!(refused.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}: {}", refused.body);
        assert_eq!(refused.code(), Some("BAD_USER_INPUT"), "{content_type}");
        assert_eq!(sql(&server), before, "{content_type}: SQL ran");
    }
    // Refused before the credential is even looked at.
    let anonymous = server
        .client
        .post(server.graphql_url())
        .header("content-type", "text/plain")
        .body(who.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // `first` beyond the maximum: BAD_USER_INPUT naming the field.
    let huge = server.gql(Some(&token), "{ units(first: 1000000000) { totalCount } }", json!({})).await;
    huge.assert_error("BAD_USER_INPUT");
    assert_eq!(huge.body["errors"][0]["extensions"]["field"], "first", "{}", huge.body);
    let fine = server.gql_ok(&token, "{ units(first: 1000) { totalCount } }", json!({})).await;
    assert_eq!(fine["units"]["totalCount"], 1);

    // The positive control at the end: the server serves on.
    let data = server.gql_ok(&token, WHO_AM_I, json!({})).await;
    assert_eq!(data["organization"]["name"], "Acme Corp");
    server.stop().await;
}

pub async fn the_limits_apply_over_websocket_before_any_sql(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    let mut ws = server.ws_session(&token).await;
    // The control: an operation over the socket runs statements.
    let before = sql(&server);
    let payload = ws.query("control", UNITS, json!({})).await;
    assert_eq!(payload["data"]["units"]["totalCount"], 1, "{payload}");
    assert!(sql(&server) > before);

    let cases: Vec<(&str, String, &str)> = vec![
        ("101 aliases", aliases(101), "101 aliases; the limit is 100"),
        ("200 directives", directives(200), "200 directives; the limit is 100"),
        ("depth 100", nested(100), "nested too deep"),
        ("depth 17", nested(17), "17 levels; the limit is 16"),
        ("2,001 fields", format!("{{ {} }}", "__typename ".repeat(2001)), "too complex"),
        ("an unknown field", "{ units { nope } }".to_owned(), "nope"),
    ];
    for (i, (label, query, expected)) in cases.iter().enumerate() {
        let before = sql(&server);
        let id = format!("bad{i}");
        ws.subscribe(&id, query, json!({})).await;
        let errors = ws.expect_error(&id).await;
        assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{label}: {errors}");
        assert!(errors[0]["message"].as_str().unwrap().contains(expected), "{label}: {errors}");
        assert_eq!(sql(&server), before, "{label}: SQL ran");
    }
    ws.subscribe("first", "{ units(first: 1000000000) { totalCount } }", json!({})).await;
    let next = ws.expect_next("first").await;
    assert_eq!(next["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{next}");
    assert_eq!(next["errors"][0]["extensions"]["field"], "first", "{next}");
    ws.expect_complete("first").await;
    // 20,000 aliases do not fit the socket's message limit: closed with 1009.
    let mut big = server.ws_session(&token).await;
    let before_big = sql(&server);
    big.subscribe("big", &aliases(20_000), json!({})).await;
    assert_eq!(big.expect_close(Duration::from_secs(10)).await.0, 1009);
    assert_eq!(sql(&server), before_big, "a 20,000-alias message: SQL ran");
    // The control on the same connection: it still serves.
    let payload = ws.query("again", UNITS, json!({})).await;
    assert_eq!(payload["data"]["units"]["totalCount"], 1, "{payload}");
    server.stop().await;
}

pub async fn introspection_and_suggestions_switch_off(db: TestDb) {
    const SCHEMA: &str = "{ __schema { queryType { name } } }";
    const TYPO: &str = "{ viewr { name } }";
    // The local default: on.
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    let data = server.gql_ok(&token, SCHEMA, json!({})).await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
    let typo = server.gql(Some(&token), TYPO, json!({})).await;
    assert!(message(&typo).contains("Did you mean \"viewer\""), "{}", typo.body);
    server.stop().await;

    // Production: off, and no field name is suggested either.
    let server = start_with(&db, |config| config.introspection = false).await;
    let token = server.token(&acme, &acme.admin);
    let refused = server.gql(Some(&token), SCHEMA, json!({})).await;
    refused.assert_error("BAD_USER_INPUT");
    assert_eq!(message(&refused), "introspection is disabled on this server");
    assert!(refused.body["data"].is_null(), "{}", refused.body);
    let typo = server.gql(Some(&token), TYPO, json!({})).await;
    typo.assert_error("BAD_USER_INPUT");
    assert!(!message(&typo).contains("Did you mean"), "{}", typo.body);
    // Over the socket too.
    let mut ws = server.ws_session(&token).await;
    ws.subscribe("s", SCHEMA, json!({})).await;
    let errors = ws.expect_error("s").await;
    assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{errors}");
    // The control: ordinary queries run.
    assert_eq!(server.gql_ok(&token, WHO_AM_I, json!({})).await["viewer"]["name"], "Acme Admin");
    server.stop().await;
}

fn sha256_hex(text: &str) -> String {
    goalgraph_server::document::sha256_hex(text)
}

pub async fn only_trusted_documents_run_when_an_allowlist_is_set(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trusted.json");
    let hash = sha256_hex(WHO_AM_I);
    std::fs::write(&path, json!({ hash.clone(): WHO_AM_I }).to_string()).unwrap();
    let server = start_with(&db, |config| config.trusted_documents = Some(path.clone())).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    let post = async |body: Value| post_raw(&server, &token, "application/json", body.to_string()).await;
    let who_am_i = |reply: GqlReply| reply.assert_ok()["viewer"]["name"].clone();

    // Trusted: by hash alone (Apollo's persisted queries), by documentId, by text.
    let apq = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    assert_eq!(who_am_i(post(json!({ "extensions": apq })).await), "Acme Admin");
    assert_eq!(who_am_i(post(json!({ "documentId": format!("sha256:{hash}") })).await), "Acme Admin");
    assert_eq!(who_am_i(post(json!({ "query": WHO_AM_I })).await), "Acme Admin");
    let get =
        server.client.get(server.graphql_url()).bearer_auth(&token).query(&[("extensions", apq.to_string())]);
    assert_eq!(who_am_i(reply(get.send().await.unwrap()).await), "Acme Admin");

    // Anything else: PERSISTED_QUERY_NOT_FOUND, before any statement.
    let other = "{ units { totalCount } }";
    for (label, body) in [
        ("another document", json!({ "query": other })),
        (
            "an unknown hash",
            json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(other) } } }),
        ),
        ("an unknown documentId", json!({ "documentId": format!("sha256:{}", sha256_hex(other)) })),
        (
            "another document with its hash",
            json!({ "query": other, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(other) } } }),
        ),
    ] {
        let before = sql(&server);
        let refused = post(body).await;
        refused.assert_error("PERSISTED_QUERY_NOT_FOUND");
        assert!(refused.body["data"].is_null(), "{label}: {}", refused.body);
        assert_eq!(sql(&server), before, "{label}: SQL ran");
    }
    // A trusted hash with a different text is refused as well.
    let mismatch = post(json!({ "query": other, "extensions": apq })).await;
    mismatch.assert_error("BAD_USER_INPUT");

    // Over the socket: the same allowlist.
    let mut ws = server.ws_session(&token).await;
    ws.send_json(&json!({ "type": "subscribe", "id": "t", "payload": { "extensions": apq } })).await;
    assert_eq!(ws.expect_next("t").await["data"]["viewer"]["name"], "Acme Admin");
    ws.expect_complete("t").await;
    let before = sql(&server);
    ws.subscribe("u", other, json!({})).await;
    let errors = ws.expect_error("u").await;
    assert_eq!(errors[0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND", "{errors}");
    assert_eq!(sql(&server), before, "an untrusted document over the socket: SQL ran");
    server.stop().await;

    // Without an allowlist a hash alone is unknown (nothing is cached), and
    // a query with its hash runs.
    let open = start(&db).await;
    let token = open.token(&acme, &acme.admin);
    let refused = post_raw(&open, &token, "application/json", json!({ "extensions": apq }).to_string()).await;
    refused.assert_error("PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(message(&refused), "PersistedQueryNotFound");
    let with_text = json!({ "query": WHO_AM_I, "extensions": apq }).to_string();
    assert_eq!(who_am_i(post_raw(&open, &token, "application/json", with_text).await), "Acme Admin");
    open.stop().await;
}

fn people(n: usize) -> Value {
    (0..n)
        .map(|p| json!({ "externalId": format!("p{p}"), "name": format!("Person {p}"), "email": format!("p{p}@acme.example") }))
        .collect()
}

async fn people_count(server: &TestServer, token: &str) -> u64 {
    server.gql_ok(token, "{ people { totalCount } }", json!({})).await["people"]["totalCount"]
        .as_u64()
        .unwrap()
}

/// A request past its time budget is cancelled: 504 TIMEOUT, its write
/// transaction rolled back, and the server (and its writer lock) free for
/// the next request.
pub async fn a_request_past_its_time_budget_is_cancelled_and_commits_nothing(db: TestDb) {
    // 20,000 people take seconds to sync, even on a fast machine: far
    // beyond this budget.
    const BUDGET: f64 = 0.2;
    const PEOPLE: usize = 20_000;
    let server = start_with(&db, |config| config.request_timeout_seconds = BUDGET).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    let people_before = people_count(&server, &token).await;
    let sync = json!({ "query": SYNC, "variables": { "people": people(PEOPLE) } }).to_string();

    let started = Instant::now();
    let refused = post_raw(&server, &token, "application/json", sync.clone()).await;
    let took = started.elapsed();
    assert_eq!(refused.status, StatusCode::GATEWAY_TIMEOUT, "{}", refused.body);
    assert_eq!(refused.code(), Some("TIMEOUT"), "{}", refused.body);
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    assert_eq!(people_count(&server, &token).await, people_before, "the timed-out sync committed");
    // The writer is free again: a write within the budget commits.
    let company = server.company_unit_id(&token).await;
    let units = server.unit_count(&token).await;
    server.create_department(&token, &company, "After the timeout").await;
    assert_eq!(server.unit_count(&token).await, units + 1);
    server.stop().await;

    // The control: with the default budget the same sync runs, and takes
    // longer than the budget above.
    let server = start(&db).await;
    let started = Instant::now();
    let done = post_raw(&server, &token, "application/json", sync).await.assert_ok();
    assert_eq!(done["syncDirectory"]["peopleCreated"], PEOPLE);
    assert!(started.elapsed() > Duration::from_secs_f64(BUDGET), "the sync took {:?}", started.elapsed());
    assert_eq!(people_count(&server, &token).await, people_before + PEOPLE as u64);
    server.stop().await;
}

/// PostgreSQL: the statement of a timed-out request is cancelled on the
/// server too (statement_timeout), not left running after the client gave
/// up; nothing is committed.
pub async fn a_timed_out_statement_is_cancelled_on_postgres(db: TestDb) {
    use sea_orm::ConnectionTrait as _;
    let server = start_with(&db, |config| config.request_timeout_seconds = 1.0).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    let company = server.company_unit_id(&token).await;
    let units = server.unit_count(&token).await;
    let db_conn = server.store().connection();
    db_conn
        .execute_unprepared(
            "CREATE FUNCTION slow_unit() RETURNS trigger LANGUAGE plpgsql AS $$ \
               BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$; \
             CREATE TRIGGER slow_unit BEFORE INSERT ON units FOR EACH ROW EXECUTE FUNCTION slow_unit();",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let refused = server.gql(Some(&token), CREATE_UNIT, json!({ "parent": company, "name": "Slow" })).await;
    assert_eq!(refused.status, StatusCode::GATEWAY_TIMEOUT, "{}", refused.body);
    assert_eq!(refused.code(), Some("TIMEOUT"), "{}", refused.body);
    assert!(started.elapsed() < Duration::from_secs(10), "answered after {:?}", started.elapsed());
    // The sleeping statement is gone from the server long before its 60 s.
    let sleeping = "SELECT count(*) AS n FROM pg_stat_activity \
                    WHERE datname = current_database() AND wait_event = 'PgSleep'";
    let gone = goalgraph_e2e::eventually(Duration::from_secs(10), || async {
        let row = db_conn
            .query_one_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, sleeping))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap() == 0
    })
    .await;
    assert!(gone, "the statement still runs on the server");
    assert!(started.elapsed() < Duration::from_secs(30));
    db_conn.execute_unprepared("DROP TRIGGER slow_unit ON units; DROP FUNCTION slow_unit();").await.unwrap();
    assert_eq!(server.unit_count(&token).await, units, "the timed-out insert committed");
    // The control: without the trigger the same mutation commits.
    server.create_department(&token, &company, "Fast").await;
    assert_eq!(server.unit_count(&token).await, units + 1);
    server.stop().await;
}

fn retry_after(reply: &GqlReply) -> u64 {
    let header: u64 = reply.header("retry-after").expect("Retry-After").parse().unwrap();
    let hint =
        reply.body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().expect("retryAfterSeconds");
    assert_eq!(header, hint);
    assert!(hint >= 1);
    hint
}

/// Budgets of 10 per actor and 14 per tenant every 5 s; WHO_AM_I costs 4
/// (four fields), and budgets refill by 2 and 2.8 a second.
pub async fn rate_limits_charge_the_query_cost_per_actor_and_per_tenant(db: TestDb) {
    let server = start_with(&db, |config| {
        config.rate_limit.actor_cost = 10;
        config.rate_limit.tenant_cost = 14;
        config.rate_limit.period_seconds = 5.0;
    })
    .await;
    let acme = create_org(server.store(), "acme").await;
    let globex = create_org(server.store(), "globex").await;
    let admin = server.token(&acme, &acme.admin);
    let hr = server.token(&acme, &acme.hr);
    let other_tenant = server.token(&globex, &globex.admin);

    // The admin: 4 + 4 within 10; the third has to wait, and costs no SQL.
    server.gql_ok(&admin, WHO_AM_I, json!({})).await;
    server.gql_ok(&admin, WHO_AM_I, json!({})).await;
    let before = sql(&server);
    let limited = server.gql(Some(&admin), WHO_AM_I, json!({})).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "{}", limited.body);
    assert_eq!(limited.code(), Some("RATE_LIMITED"), "{}", limited.body);
    assert!(message(&limited).contains("actor"), "{}", limited.body);
    let wait = retry_after(&limited);
    assert_eq!(sql(&server), before, "an actor over budget: SQL ran");

    // Another person of the tenant has their own budget, but shares the
    // tenant's: 4 more fit its 14, the next 4 do not.
    server.gql_ok(&hr, WHO_AM_I, json!({})).await;
    let tenant_limited = server.gql(Some(&hr), WHO_AM_I, json!({})).await;
    assert_eq!(tenant_limited.status, StatusCode::TOO_MANY_REQUESTS, "{}", tenant_limited.body);
    assert!(message(&tenant_limited).contains("tenant"), "{}", tenant_limited.body);
    retry_after(&tenant_limited);

    // Another tenant is not affected.
    let data = server.gql_ok(&other_tenant, WHO_AM_I, json!({})).await;
    assert_eq!(data["organization"]["name"], "Globex Corp");

    // Over the socket the admin's budget is the same one.
    let mut ws = server.ws_session(&admin).await;
    ws.subscribe("q", WHO_AM_I, json!({})).await;
    let errors = ws.expect_error("q").await;
    assert_eq!(errors[0]["extensions"]["code"], "RATE_LIMITED", "{errors}");
    assert!(errors[0]["extensions"]["retryAfterSeconds"].as_u64().is_some(), "{errors}");

    // After the hinted wait, the admin runs again...
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(server.gql_ok(&admin, WHO_AM_I, json!({})).await["viewer"]["name"], "Acme Admin");
    // ...and over the socket, after the wait it hints in turn.
    ws.subscribe("q2", WHO_AM_I, json!({})).await;
    let errors = ws.expect_error("q2").await;
    let wait = errors[0]["extensions"]["retryAfterSeconds"].as_u64().unwrap();
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let payload = ws.query("q3", WHO_AM_I, json!({})).await;
    assert_eq!(payload["data"]["viewer"]["name"], "Acme Admin", "{payload}");
    server.stop().await;
}

/// The metrics' value of a counter without labels, 0 when absent.
/// The server terminates TLS itself: HTTPS and WSS with a certificate the
/// client trusts, and no plain HTTP on that port.
pub async fn tls_serves_https_and_wss(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let cert_pem = certified.cert.pem();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, &cert_pem).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();
    let server = start_with(&db, |config| {
        config.tls_cert_path = Some(cert_path.clone());
        config.tls_key_path = Some(key_path.clone());
    })
    .await;
    assert!(server.graphql_url().starts_with("https://"), "{}", server.graphql_url());
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);

    // HTTPS with a client that trusts the certificate.
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let data = goalgraph_e2e::gql(&https, &server.graphql_url(), Some(&token), WHO_AM_I, json!({}))
        .await
        .assert_ok();
    assert_eq!(data["organization"]["name"], "Acme Corp");
    // A client that does not trust it, and plain HTTP, get nothing.
    let untrusting = goalgraph_e2e::client();
    assert!(untrusting.get(server.url("/healthz")).send().await.is_err());
    let plain = untrusting.get(format!("http://{}/healthz", server.server.addr)).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success(), "plain HTTP answered on the TLS port");

    // WSS: the graphql-transport-ws handshake and a query over TLS.
    let mut wss = wss_connect(server.server.addr, &cert_pem).await;
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    let send = |v: Value| Message::text(v.to_string());
    wss.send(send(
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }),
    ))
    .await
    .unwrap();
    let mut texts = Vec::new();
    let read = async {
        while let Some(frame) = wss.next().await {
            if let Message::Text(text) = frame.unwrap() {
                let value: Value = serde_json::from_str(&text).unwrap();
                let kind = value["type"].as_str().unwrap_or_default().to_owned();
                texts.push(value);
                if kind == "connection_ack" {
                    break;
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read).await.unwrap();
    assert_eq!(texts.last().unwrap()["type"], "connection_ack", "{texts:?}");
    wss.send(send(json!({ "type": "subscribe", "id": "1", "payload": { "query": WHO_AM_I } })))
        .await
        .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(Ok(Message::Text(text))) = wss.next().await {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "next" {
                    return value;
                }
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(next["payload"]["data"]["viewer"]["name"], "Acme Admin", "{next}");
    drop(wss);
    // Graceful shutdown works on the TLS listener too.
    server.stop().await;
}

async fn wss_connect(
    addr: std::net::SocketAddr,
    cert_pem: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap()).unwrap();
    let config = ClientConfig::builder_with_provider(std::sync::Arc::new(crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1".to_owned()).unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    let mut request = format!("wss://{addr}/graphql/ws").into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (stream, response) = tokio_tungstenite::client_async(request, tls).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "graphql-transport-ws");
    stream
}
