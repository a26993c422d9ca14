//! GraphQL over WebSocket (`/graphql/ws`, `graphql-transport-ws`): the
//! upgrade's checks, authentication by `connection_init`, the protocol's
//! close codes, ping/pong and the server's heartbeat, operations as
//! `next`/`complete`/`error`, and the bounded send queue. Every refusal has
//! its positive control on the same server.

use goalgraph_e2e::{
    TestServer, WHO_AM_I, WS_TIMEOUT, WsClient, WsMessage, WsOptions, create_org, start, start_with,
};
use goalgraph_testkit::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Quick close checks: the server closes at once.
const SOON: Duration = Duration::from_secs(5);

/// The admin of a fresh "acme" tenant and a token.
async fn acme_admin(server: &TestServer) -> String {
    let acme = create_org(server.store(), "acme").await;
    server.token(&acme, &acme.admin)
}

async fn scrape(server: &TestServer) -> String {
    server.client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap()
}

/// The value of one series of the Prometheus text (0 when absent).
fn metric(text: &str, series: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok())).unwrap_or(0.0)
}

pub async fn ws_upgrade_requires_the_graphql_transport_ws_subprotocol(db: TestDb) {
    let server = start(&db).await;
    let token = acme_admin(&server).await;
    for (label, offered) in [("no subprotocol", vec![]), ("only the legacy graphql-ws", vec!["graphql-ws"])] {
        let reply = server.ws_upgrade(WsOptions::protocols(&offered)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{label}: {}", reply.body);
        assert_eq!(reply.code(), Some("BAD_USER_INPUT"), "{label}: {}", reply.body);
        assert!(
            WsClient::connect(server.server.addr, &WsOptions::protocols(&offered)).await.is_err(),
            "{label}"
        );
    }
    // Not an upgrade at all: refused the same way, as JSON.
    let plain =
        goalgraph_e2e::reply(server.client.get(server.url("/graphql/ws")).send().await.unwrap()).await;
    assert!(plain.status.is_client_error(), "{}: {}", plain.status, plain.body);
    assert_eq!(plain.code(), Some("BAD_USER_INPUT"), "{}", plain.body);

    // Positive control: offered (alone or among others), it is selected.
    let ws = server.ws_connect_with(WsOptions::protocols(&["graphql-ws", "graphql-transport-ws"])).await;
    assert_eq!(ws.protocol.as_deref(), Some("graphql-transport-ws"));
    let mut ws = server.ws_connect().await;
    assert_eq!(ws.protocol.as_deref(), Some("graphql-transport-ws"));
    ws.init_with_token(&token).await;
    let payload = ws.query("1", WHO_AM_I, json!({})).await;
    assert_eq!(payload["data"]["viewer"]["name"], "Acme Admin", "{payload}");

    // The upgrade is one request for the HTTP metrics, with status 101.
    let text = scrape(&server).await;
    assert!(
        text.lines().any(|l| l.starts_with("goalgraph_http_requests_total{")
            && l.contains("route=\"/graphql/ws\"")
            && l.contains("status=\"101\"")),
        "{text}"
    );
    assert!(text.contains("goalgraph_ws_connections"), "{text}");
    server.stop().await;
}

pub async fn ws_refuses_foreign_origins(db: TestDb) {
    let server = start_with(&db, |c| c.cors_origins = vec!["https://app.example".to_owned()]).await;
    let token = acme_admin(&server).await;
    let reply = server.ws_upgrade(WsOptions::default().origin("https://evil.example")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(reply.code(), Some("FORBIDDEN"), "{}", reply.body);
    let refused =
        WsClient::connect(server.server.addr, &WsOptions::default().origin("https://evil.example")).await;
    assert!(refused.is_err(), "a foreign origin upgraded");

    // Positive controls: a configured origin, the server's own, and none.
    let own = format!("http://{}", server.server.addr);
    for options in [
        WsOptions::default().origin("https://app.example"),
        WsOptions::default().origin(&own),
        WsOptions::default(),
    ] {
        let mut ws = server.ws_connect_with(options.clone()).await;
        ws.init_with_token(&token).await;
        let payload = ws.query("1", WHO_AM_I, json!({})).await;
        assert_eq!(payload["data"]["viewer"]["name"], "Acme Admin", "{options:?}: {payload}");
    }
    server.stop().await;
}

pub async fn ws_closes_4408_without_connection_init(db: TestDb) {
    let server = start_with(&db, |c| c.ws_init_timeout_seconds = 0.3).await;
    let token = acme_admin(&server).await;
    let started = Instant::now();
    let mut silent = server.ws_connect().await;
    // Pings do not count as initialisation.
    let mut pinging = server.ws_connect().await;
    pinging.round_trip().await;
    assert_eq!(silent.expect_close(SOON).await, (4408, "Connection initialisation timeout".to_owned()));
    assert!(started.elapsed() >= Duration::from_millis(250), "closed after {:?}", started.elapsed());
    assert_eq!(pinging.expect_close(SOON).await.0, 4408);

    // Positive control: initialised in time, it stays open past the timeout.
    let mut ws = server.ws_session(&token).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    ws.round_trip().await;
    let payload = ws.query("1", WHO_AM_I, json!({})).await;
    assert_eq!(payload["data"]["viewer"]["name"], "Acme Admin", "{payload}");

    let text = scrape(&server).await;
    assert!(metric(&text, "goalgraph_ws_closes_total{code=\"4408\"}") >= 2.0, "{text}");
    server.stop().await;
}

pub async fn ws_closes_4401_on_subscribe_before_ack(db: TestDb) {
    let server = start(&db).await;
    let token = acme_admin(&server).await;
    let mut ws = server.ws_connect().await;
    ws.subscribe("1", WHO_AM_I, json!({})).await;
    assert_eq!(ws.expect_close(SOON).await, (4401, "Unauthorized".to_owned()));

    // Positive control: the same subscribe after the ack runs.
    let mut ws = server.ws_session(&token).await;
    let payload = ws.query("1", WHO_AM_I, json!({})).await;
    assert_eq!(payload["data"]["viewer"]["name"], "Acme Admin", "{payload}");
    server.stop().await;
}

/// The second `subscribe` of a burst is read before the first operation's
/// end is (the connection reads what is buffered before it looks at ended
/// operations), so the id is still running however quick the query.
pub async fn ws_closes_4409_on_a_reused_running_id(db: TestDb) {
    let server = start(&db).await;
    let token = acme_admin(&server).await;

    // Positive control: an id may be reused once its operation completed.
    let mut ws = server.ws_session(&token).await;
    for _ in 0..3 {
        let payload = ws.query("same", WHO_AM_I, json!({})).await;
        assert_eq!(payload["data"]["viewer"]["name"], "Acme Admin", "{payload}");
    }
    // …and after an `error` ended it.
    ws.subscribe("same", "{ nope }", json!({})).await;
    ws.expect_error("same").await;
    ws.query("same", WHO_AM_I, json!({})).await;

    let subscribe = WsClient::subscribe_message("same", WHO_AM_I, json!({}));
    ws.send_burst(&[subscribe.clone(), subscribe]).await;
    assert_eq!(ws.expect_close(SOON).await, (4409, "Subscriber for same already exists".to_owned()));

    // A subscription runs until the client completes it: its id is taken
    // until then, and free right after.
    let company = server.company_unit_id(&token).await;
    let live = "subscription($u: ID) { keyResultProgress(unitId: $u) { cursor } }";
    let mut ws = server.ws_session(&token).await;
    ws.subscribe("live", live, json!({ "u": company })).await;
    ws.complete("live").await;
    ws.round_trip().await;
    ws.subscribe("live", live, json!({ "u": company })).await;
    ws.round_trip().await;
    ws.subscribe("live", live, json!({ "u": company })).await;
    assert_eq!(ws.expect_close(SOON).await, (4409, "Subscriber for live already exists".to_owned()));
    server.stop().await;
}

pub async fn ws_closes_4400_on_malformed_messages(db: TestDb) {
    let server = start(&db).await;
    let token = acme_admin(&server).await;
    let text = |t: &str| WsMessage::text(t);
    let cases: Vec<(&str, WsMessage)> = vec![
        ("invalid JSON", text("{ not json")),
        ("a JSON array", text("[]")),
        ("no type", text(r#"{"id":"1","payload":{"query":"{ __typename }"}}"#)),
        ("an unknown type", text(r#"{"type":"start","id":"1","payload":{"query":"{ __typename }"}}"#)),
        ("a server's type", text(r#"{"type":"next","id":"1","payload":{"data":{}}}"#)),
        ("subscribe without an id", text(r#"{"type":"subscribe","payload":{"query":"{ __typename }"}}"#)),
        (
            "subscribe with an empty id",
            text(r#"{"type":"subscribe","id":"","payload":{"query":"{ __typename }"}}"#),
        ),
        (
            "subscribe with a numeric id",
            text(r#"{"type":"subscribe","id":1,"payload":{"query":"{ __typename }"}}"#),
        ),
        ("subscribe without a payload", text(r#"{"type":"subscribe","id":"1"}"#)),
        ("subscribe without a query", text(r#"{"type":"subscribe","id":"1","payload":{}}"#)),
        ("complete without an id", text(r#"{"type":"complete"}"#)),
        ("a ping whose payload is no object", text(r#"{"type":"ping","payload":"x"}"#)),
        ("a binary frame", WsMessage::binary(b"{}".to_vec())),
    ];
    for (label, message) in cases {
        let mut ws = server.ws_session(&token).await;
        // Positive control on the same connection: a well-formed message works.
        ws.round_trip().await;
        ws.send(message).await;
        let (code, reason) = ws.expect_close(SOON).await;
        assert_eq!(code, 4400, "{label}: {reason}");
        assert!(!reason.is_empty() && reason.len() <= 123, "{label}: reason {reason:?}");
    }
    // Before the init too.
    let mut ws = server.ws_connect().await;
    ws.send_text("nope").await;
    assert_eq!(ws.expect_close(SOON).await.0, 4400);

    // A message beyond the 64 KiB limit.
    let mut ws = server.ws_session(&token).await;
    let huge = format!("{{ {} }}", "__typename ".repeat(7000));
    ws.subscribe("big", &huge, json!({})).await;
    assert_eq!(ws.expect_close(SOON).await.0, 1009);
    server.stop().await;
}

pub async fn ws_authenticates_connection_init(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    let expired = server.token_with_ttl(&acme.admin.subject, "acme", chrono::Duration::hours(-1));
    let stranger = server.token_for("nobody@acme.example", "acme");
    let before = scrape(&server).await;

    let refused = [
        ("no payload", Value::Null),
        ("an empty payload", json!({})),
        ("garbage", json!({ "Authorization": "Bearer garbage" })),
        ("a Basic credential", json!({ "Authorization": "Basic YTpi" })),
        ("an expired token", json!({ "token": expired })),
        ("an unknown person", json!({ "authorization": format!("Bearer {stranger}") })),
        ("an unknown API key", json!({ "token": "ggk_nope" })),
    ];
    for (label, payload) in refused {
        let mut ws = server.ws_connect().await;
        ws.init(payload).await;
        assert_eq!(ws.expect_close(SOON).await, (4403, "Forbidden".to_owned()), "{label}");
    }
    let after = scrape(&server).await;
    for reason in [
        "missing_credentials",
        "malformed",
        "malformed_header",
        "expired",
        "unknown_subject",
        "unknown_api_key",
    ] {
        let series = format!("goalgraph_auth_failures_total{{reason=\"{reason}\"}}");
        assert!(metric(&after, &series) > metric(&before, &series), "{series} not counted:\n{after}");
    }

    // Positive controls: every accepted form, JWT and API key.
    let key = server
        .gql_ok(
            &token,
            "mutation { createIntegration(input: { name: \"BI\", scopes: [OKR_READ] }) { apiKey } }",
            json!({}),
        )
        .await["createIntegration"]["apiKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let accepted = [
        ("Authorization", json!({ "Authorization": format!("Bearer {token}") })),
        ("authorization", json!({ "authorization": format!("bearer {token}") })),
        ("token", json!({ "token": token })),
        ("an API key", json!({ "Authorization": format!("Bearer {key}") })),
        ("an API key as token", json!({ "token": key })),
    ];
    for (label, payload) in accepted {
        let mut ws = server.ws_connect().await;
        ws.init(payload).await;
        ws.expect("connection_ack", None).await;
        let payload = ws.query("1", "{ organization { name } }", json!({})).await;
        assert_eq!(payload["data"]["organization"]["name"], "Acme Corp", "{label}: {payload}");
    }
    let mut ws = server.ws_session(&token).await;
    let payload = ws.query("1", WHO_AM_I, json!({})).await;
    assert_eq!(payload["data"]["viewer"]["name"], "Acme Admin", "{payload}");
    server.stop().await;
}

pub async fn ws_closes_4429_on_a_second_connection_init(db: TestDb) {
    let server = start(&db).await;
    let token = acme_admin(&server).await;
    let mut ws = server.ws_session(&token).await;
    // Positive control: the first init was acknowledged and the socket works.
    ws.query("1", WHO_AM_I, json!({})).await;
    ws.init(json!({ "token": token })).await;
    assert_eq!(ws.expect_close(SOON).await, (4429, "Too many initialisation requests".to_owned()));
    server.stop().await;
}

pub async fn ws_closes_4403_when_the_token_expires(db: TestDb) {
    let server = start_with(&db, |c| c.auth.leeway_seconds = 0).await;
    let acme = create_org(server.store(), "acme").await;
    let short = server.token_with_ttl(&acme.admin.subject, "acme", chrono::Duration::seconds(2));
    let long = server.token(&acme, &acme.admin);
    let mut expiring = server.ws_session(&short).await;
    let mut lasting = server.ws_session(&long).await;
    let acknowledged = Instant::now();
    let payload = expiring.query("1", WHO_AM_I, json!({})).await;
    assert_eq!(payload["data"]["viewer"]["name"], "Acme Admin", "valid until it expires: {payload}");

    assert_eq!(expiring.expect_close(SOON).await, (4403, "Forbidden".to_owned()));
    // `exp` is whole seconds: the close comes within the two seconds.
    assert!(
        acknowledged.elapsed() <= Duration::from_millis(2500),
        "closed after {:?}",
        acknowledged.elapsed()
    );
    // Positive control: a token that is still valid keeps its socket.
    let payload = lasting.query("1", WHO_AM_I, json!({})).await;
    assert_eq!(payload["data"]["viewer"]["name"], "Acme Admin", "{payload}");
    server.stop().await;
}

pub async fn ws_answers_ping_with_pong(db: TestDb) {
    let server = start(&db).await;
    let token = acme_admin(&server).await;
    // Before the init too: pings belong to the transport.
    let mut ws = server.ws_connect().await;
    ws.ping(json!({ "seq": 1, "note": "hello" })).await;
    let pong = ws.expect("pong", None).await;
    assert_eq!(pong["payload"], json!({ "seq": 1, "note": "hello" }), "{pong}");
    ws.init_with_token(&token).await;
    ws.ping(Value::Null).await;
    let pong = ws.expect("pong", None).await;
    assert_eq!(pong, json!({ "type": "pong" }), "no payload, none echoed");
    // A client's pong is not answered: the next message is the next pong.
    ws.send_json(&json!({ "type": "pong", "payload": { "x": 1 } })).await;
    ws.ping(json!({ "seq": 2 })).await;
    assert_eq!(ws.expect("pong", None).await["payload"], json!({ "seq": 2 }));
    server.stop().await;
}

pub async fn ws_runs_queries_and_mutations_as_next_then_complete(db: TestDb) {
    let server = start(&db).await;
    let token = acme_admin(&server).await;
    let company = server.company_unit_id(&token).await;
    let mut ws = server.ws_session(&token).await;
    let payload = ws.query("q", WHO_AM_I, json!({})).await;
    assert_eq!(
        payload,
        json!({ "data": { "viewer": { "name": "Acme Admin" }, "organization": { "name": "Acme Corp" } } })
    );

    let payload =
        ws.query("m", goalgraph_e2e::CREATE_UNIT, json!({ "parent": company, "name": "Sales" })).await;
    assert_eq!(payload["data"]["createUnit"]["unit"]["name"], "Sales", "{payload}");
    assert_eq!(server.unit_count(&token).await, 2, "the mutation over the socket is committed");

    // Named operations and variables, several running at once.
    let named = "query Units { units { totalCount } } query Me { viewer { name } }";
    ws.send_burst(&[
        json!({ "type": "subscribe", "id": "a", "payload": { "query": named, "operationName": "Units" } }),
        json!({ "type": "subscribe", "id": "b", "payload": { "query": named, "operationName": "Me" } }),
    ])
    .await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let message = ws.next_message(WS_TIMEOUT).await;
        seen.push((message["id"].as_str().unwrap().to_owned(), message["type"].as_str().unwrap().to_owned()));
        match (message["id"].as_str(), message["type"].as_str()) {
            (Some("a"), Some("next")) => assert_eq!(message["payload"]["data"]["units"]["totalCount"], 2),
            (Some("b"), Some("next")) => {
                assert_eq!(message["payload"]["data"]["viewer"]["name"], "Acme Admin")
            }
            (_, Some("complete")) => {}
            _ => panic!("unexpected {message}"),
        }
    }
    for id in ["a", "b"] {
        let next = seen.iter().position(|m| *m == (id.to_owned(), "next".to_owned())).unwrap();
        let complete = seen.iter().position(|m| *m == (id.to_owned(), "complete".to_owned())).unwrap();
        assert!(next < complete, "{id}: {seen:?}");
    }
    // An error during execution is a result, even without data: `next`
    // with the errors, then `complete`.
    let payload = ws.query("e", goalgraph_e2e::CREATE_UNIT, json!({ "parent": company, "name": " " })).await;
    assert_eq!(payload["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{payload}");
    assert_eq!(payload["errors"][0]["path"], json!(["createUnit"]), "{payload}");
    // A client's `complete` for an ended operation is ignored.
    ws.complete("q").await;
    ws.round_trip().await;

    // A client's `complete` cancels: read together with its subscribe, the
    // operation may or may not have produced its `next`, but the server never
    // completes it, and the id is free at once.
    ws.send_burst(&[
        WsClient::subscribe_message("c", WHO_AM_I, json!({})),
        json!({ "type": "complete", "id": "c" }),
        json!({ "type": "ping" }),
    ])
    .await;
    loop {
        let message = ws.next_message(WS_TIMEOUT).await;
        match message["type"].as_str() {
            Some("pong") => break,
            Some("next") if message["id"] == "c" => {}
            _ => panic!("unexpected {message}"),
        }
    }
    // (A `next` of the cancelled one may still be on its way: only the new
    // one completes.)
    ws.subscribe("c", WHO_AM_I, json!({})).await;
    let mut nexts = 0;
    loop {
        let message = ws.next_message(WS_TIMEOUT).await;
        assert_eq!(message["id"], "c", "{message}");
        match message["type"].as_str() {
            Some("next") => nexts += 1,
            Some("complete") => break,
            _ => panic!("unexpected {message}"),
        }
    }
    assert!(nexts >= 1, "the reused id ran");
    ws.round_trip().await;
    server.stop().await;
}

pub async fn ws_sends_request_errors_as_error_messages(db: TestDb) {
    let server = start(&db).await;
    let token = acme_admin(&server).await;
    let mut ws = server.ws_session(&token).await;
    for (label, query, operation) in [
        ("a validation error", "{ nope }", None),
        ("a parse error", "{ viewer {", None),
        ("an unknown operation", "query A { viewer { name } }", Some("B")),
        ("a variable of the wrong type", "query($n: Int!) { organization { name } }", None),
        // A subscription whose resolver refuses to start: its error has a
        // path, but no event was ever sent.
        ("a subscription that cannot start", "subscription { keyResultProgress { cursor } }", None),
        (
            "a subscription to a malformed id",
            "subscription { keyResultProgress(keyResultId: \"x\") { cursor } }",
            None,
        ),
    ] {
        let mut payload = json!({ "query": query, "variables": { "n": "x" } });
        if let Some(name) = operation {
            payload["operationName"] = json!(name);
        }
        ws.send_json(&json!({ "type": "subscribe", "id": "x", "payload": payload })).await;
        let errors = ws.expect_error("x").await;
        assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{label}: {errors}");
        assert!(errors[0]["message"].is_string(), "{label}: {errors}");
        // No `complete` follows an `error`: the next message is the pong.
        ws.round_trip().await;
    }
    // Positive control: the same id, a valid query.
    let payload = ws.query("x", WHO_AM_I, json!({})).await;
    assert_eq!(payload["data"]["viewer"]["name"], "Acme Admin", "{payload}");
    server.stop().await;
}

pub async fn ws_refuses_operations_beyond_the_cap(db: TestDb) {
    let server = start_with(&db, |c| c.ws_max_operations = 1).await;
    let token = acme_admin(&server).await;
    let mut ws = server.ws_session(&token).await;
    // In one burst, the second arrives while the first runs (see 4409).
    ws.send_burst(&[
        WsClient::subscribe_message("a", WHO_AM_I, json!({})),
        WsClient::subscribe_message("b", WHO_AM_I, json!({})),
    ])
    .await;
    let mut got_error = false;
    let mut a_completed = false;
    while !(got_error && a_completed) {
        let message = ws.next_message(WS_TIMEOUT).await;
        match (message["id"].as_str(), message["type"].as_str()) {
            (Some("b"), Some("error")) => {
                assert_eq!(message["payload"][0]["extensions"]["code"], "BAD_USER_INPUT", "{message}");
                got_error = true;
            }
            (Some("a"), Some("next")) => {}
            (Some("a"), Some("complete")) => a_completed = true,
            _ => panic!("unexpected {message}"),
        }
    }
    // Positive control: one at a time, both run.
    ws.query("a", WHO_AM_I, json!({})).await;
    ws.query("b", WHO_AM_I, json!({})).await;
    server.stop().await;
}

pub async fn ws_pings_and_drops_half_open_connections(db: TestDb) {
    let server = start_with(&db, |c| c.ws_ping_interval_seconds = 0.3).await;
    let token = acme_admin(&server).await;
    let mut reading = server.ws_session(&token).await;
    let mut deaf = server.ws_session(&token).await;

    // The server pings; a client that reads answers (tungstenite does) and
    // stays connected well past two intervals.
    let until = Instant::now() + Duration::from_millis(1500);
    let mut pings = 0;
    while Instant::now() < until {
        match reading.next_frame(Duration::from_secs(1)).await {
            Some(WsMessage::Ping(_)) => pings += 1,
            other => panic!("expected only pings, got {other:?}"),
        }
    }
    assert!(pings >= 3, "{pings} pings in 1.5 s at 0.3 s intervals");
    let payload = reading.query("1", WHO_AM_I, json!({})).await;
    assert_eq!(payload["data"]["viewer"]["name"], "Acme Admin", "{payload}");

    // A client that stopped reading (and so answered nothing) for the same
    // time has been dropped after two intervals.
    let (code, reason) = deaf.expect_close(SOON).await;
    assert_eq!(code, 1001, "{reason}");
    server.stop().await;
}

/// A query whose result is large (the schema's types twice over).
const BIG: &str = "{ a: __schema { ...S } b: __schema { ...S } } \
    fragment S on __Schema { types { name description fields { name description args { name description } \
    type { name kind ofType { name kind } } } } }";

pub async fn ws_closes_slow_consumers_with_1013(db: TestDb) {
    let server = start_with(&db, |c| {
        c.ws_send_buffer = 2;
        c.ws_max_operations = 1000;
    })
    .await;
    let token = acme_admin(&server).await;

    // Positive control: a client that reads gets every result, one by one.
    let mut ws = server.ws_session(&token).await;
    for i in 0..3 {
        let payload = ws.query(&i.to_string(), BIG, json!({})).await;
        let size = payload.to_string().len();
        assert!(size > 50_000, "the result is large: {size} bytes");
        assert!(payload.get("errors").is_none(), "{}", &payload.to_string()[..500]);
    }

    // A client that does not read: the socket buffers fill, then the queue
    // of two, and the server gives up on it.
    let mut slow = server.ws_connect_with(WsOptions::default().recv_buffer(4096)).await;
    slow.init_with_token(&token).await;
    let subscribes: Vec<Value> =
        (0..200).map(|i| WsClient::subscribe_message(&format!("s{i}"), BIG, json!({}))).collect();
    for chunk in subscribes.chunks(20) {
        slow.send_burst(chunk).await;
    }
    let (code, reason) = slow.expect_close(Duration::from_secs(30)).await;
    assert_eq!((code, reason.as_str()), (1013, "slow consumer"));

    // The server serves on, and the first connection still works.
    ws.query("after", WHO_AM_I, json!({})).await;
    let text = scrape(&server).await;
    assert!(metric(&text, "goalgraph_ws_closes_total{code=\"1013\"}") >= 1.0, "{text}");
    server.stop().await;
}
