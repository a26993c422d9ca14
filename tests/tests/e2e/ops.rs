//! Operations endpoints: liveness, readiness and Prometheus metrics.

use goalgraph_e2e::{
    EmptyDb, TestServer, WHO_AM_I, create_org, eventually, pg_admin_exec, pg_database_name, start, start_app,
    test_config,
};
use goalgraph_persistence::{Store, StoreOptions};
use goalgraph_server::App;
use goalgraph_testkit::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

async fn get(server: &TestServer, path: &str) -> (StatusCode, String) {
    let response = server.client.get(server.url(path)).send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

pub async fn health_and_readiness(db: TestDb) {
    let server = start(&db).await;
    assert_eq!(get(&server, "/healthz").await, (StatusCode::OK, "ok".to_owned()));
    let (status, body) = get(&server, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "a migrated database is ready: {body}");
    server.stop().await;
}

pub async fn readiness_fails_with_pending_migrations(db: TestDb) {
    let empty = EmptyDb::new(db.backend).await;
    let store = Store::connect(&empty.url, &StoreOptions::default()).await.unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    goalgraph_e2e::seed_signing_key(data_dir.path()).await;
    let app = App::with_store(test_config(&empty.url, data_dir.path()), store).await.unwrap();
    let server = start_app(app, data_dir).await;

    let (status, body) = get(&server, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "pending migrations: {body}");
    // Alive all the same: liveness does not depend on the database.
    assert_eq!(get(&server, "/healthz").await.0, StatusCode::OK);

    // Positive control: once migrated, the same server is ready.
    server.store().migrate().await.unwrap();
    let (status, body) = get(&server, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "migrated: {body}");
    server.stop().await;
}

/// PostgreSQL only: the database vanishes under a running server.
pub async fn readiness_fails_when_the_database_disappears(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    server.gql_ok(&token, WHO_AM_I, json!({})).await;
    assert_eq!(get(&server, "/readyz").await.0, StatusCode::OK);

    pg_admin_exec(&format!("DROP DATABASE {} WITH (FORCE)", pg_database_name(&db.url))).await;
    let went_unready = eventually(Duration::from_secs(30), async || {
        get(&server, "/readyz").await.0 == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    assert!(went_unready, "/readyz still answers 200 after the database was dropped");
    assert_eq!(get(&server, "/healthz").await.0, StatusCode::OK);
    server.stop().await;
}

/// Label sets of the two HTTP metrics (a histogram's buckets counted
/// once), of requests with `method` or of all requests.
fn http_series(text: &str, method: Option<&str>) -> usize {
    text.lines()
        .filter(|l| {
            l.starts_with("goalgraph_http_requests_total{")
                || l.starts_with("goalgraph_http_request_duration_seconds_count{")
        })
        .filter(|l| method.is_none_or(|m| l.contains(&format!("method=\"{m}\""))))
        .count()
}

/// The recorder is process-wide and the other tests of this binary run at
/// the same time, adding series of their own; there are only about twenty
/// (route, method, status) combinations in the whole suite, while thirty
/// client-chosen labels would add at least thirty. The checks count the
/// series of the method they send, so that another test's series of other
/// methods do not count against them.
const SLACK: usize = 25;

pub async fn metrics_labels_are_bounded(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    let scrape = async || {
        let response = server.client.get(server.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/plain"), "content type {content_type}");
        response.text().await.unwrap()
    };
    // The first scrape of the process installs the recorder (see the CLI
    // test for what that costs); afterwards every request is counted.
    scrape().await;
    server.gql_ok(&token, WHO_AM_I, json!({})).await;
    let text = scrape().await;
    assert!(text.contains("goalgraph_http_requests_total{"), "{text}");
    assert!(text.contains("goalgraph_http_request_duration_seconds"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("goalgraph_http_requests_total{")
            && l.contains("route=\"/graphql\"")
            && l.contains("method=\"POST\"")
            && l.contains("status=\"200\"")),
        "the GraphQL request is counted: {text}"
    );
    let before = http_series(&text, Some("POST"));

    // Thirty operation names.
    for i in 0..30 {
        let name = format!("OpName{i}Xq");
        let body =
            json!({ "query": format!("query {name} {{ organization {{ name }} }}"), "operationName": name });
        let response =
            server.client.post(server.graphql_url()).bearer_auth(&token).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.json::<serde_json::Value>().await.unwrap()["data"]["organization"]["name"],
            "Acme Corp"
        );
    }
    let text = scrape().await;
    assert!(!text.contains("OpName"), "an operation name became a label: {text}");
    let after = http_series(&text, Some("POST"));
    assert!(after <= before + SLACK, "30 operation names: {before} -> {after} series");
    let before = http_series(&text, Some("GET"));

    // Thirty paths that lead nowhere.
    for i in 0..30 {
        let response = server.client.get(server.url(&format!("/bogus-{i}-Zq"))).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let text = scrape().await;
    assert!(!text.contains("bogus-"), "a path became a label: {text}");
    let after = http_series(&text, Some("GET"));
    assert!(after <= before + SLACK, "30 bogus paths: {before} -> {after} series");

    server.stop().await;
}

/// Methods are labels too, and a client may send any token as a method.
pub async fn metrics_labels_ignore_unknown_methods(db: TestDb) {
    let server = start(&db).await;
    let scrape =
        async || server.client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    scrape().await;
    // Positive control: a method the routes know is counted.
    assert_eq!(server.client.get(server.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    let text = scrape().await;
    assert!(
        text.lines().any(|l| l.starts_with("goalgraph_http_requests_total{")
            && l.contains("route=\"/healthz\"")
            && l.contains("method=\"GET\"")),
        "{text}"
    );
    let before = http_series(&text, None);

    // Thirty methods nobody uses, on a route that exists; unique to this
    // test, since the recorder is shared by the whole process.
    let tag = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    for i in 0..30 {
        let method = Method::from_bytes(format!("BOGUS{i}{tag}").as_bytes()).unwrap();
        let response = server.client.request(method, server.url("/healthz")).send().await.unwrap();
        assert!(response.status().is_client_error(), "BOGUS{i}: {}", response.status());
    }
    let text = scrape().await;
    let after = http_series(&text, None);
    assert!(!text.contains(&tag), "a client-chosen method became a label ({before} -> {after} series)");
    assert!(after <= before + SLACK, "30 bogus methods: {before} -> {after} series");
    server.stop().await;
}
