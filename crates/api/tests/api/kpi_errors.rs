//! Error codes of the KPI mutations (PRODUCT.md, "Error codes in
//! `extensions.code`"): a measurement names its KPI by exactly one of
//! `kpiId` and `externalId` (BAD_USER_INPUT on `kpiId` otherwise), and a bad
//! point is BAD_USER_INPUT on `points[<index>].value` or
//! `points[<index>].observedAt`, with nothing written (all or nothing).

use crate::kpi_support::{RECORD_MANY, RECORD_ONE, create_kpi, kpi_input, points_json, rfc3339};
use crate::support::{Session, World, expect_data, expect_error};
use chrono::{DateTime, Duration, Utc};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

async fn count(s: &Session, kpi: &str) -> u64 {
    let data = s
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Kpi { measurements { totalCount } } } }",
            json!({ "id": kpi }),
        )
        .await;
    data["node"]["measurements"]["totalCount"].as_u64().expect("totalCount")
}

fn message(v: &Value) -> String {
    v["errors"][0]["message"].as_str().unwrap_or_default().to_owned()
}

pub async fn kpi_mutations_name_the_bad_field(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let (platform, mia) = (ids.unit("Platform"), ids.person("Mia Member"));
    let k =
        create_kpi(&admin, kpi_input(&platform, &mia, "Uptime", json!({ "externalId": "mon-uptime" }))).await;
    let yesterday = Utc::now() - Duration::days(1);
    let when = rfc3339(yesterday);

    // kpiId and externalId: both or neither is BAD_USER_INPUT on kpiId.
    let one = |by: Value| {
        let mut input = json!({ "observedAt": when, "value": 95.0 });
        for (key, v) in by.as_object().cloned().unwrap_or_default() {
            input[key] = v;
        }
        json!({ "input": input })
    };
    let many = |by: Value| {
        let mut input = json!({ "points": [{ "observedAt": when, "value": 95.0 }] });
        for (key, v) in by.as_object().cloned().unwrap_or_default() {
            input[key] = v;
        }
        json!({ "input": input })
    };
    for (query, input) in [(RECORD_ONE, &one as &dyn Fn(Value) -> Value), (RECORD_MANY, &many)] {
        let both = admin.gql(query, input(json!({ "kpiId": k, "externalId": "mon-uptime" }))).await;
        expect_error(&both, "BAD_USER_INPUT", Some("kpiId"));
        let neither = admin.gql(query, input(json!({}))).await;
        expect_error(&neither, "BAD_USER_INPUT", Some("kpiId"));
        let malformed = admin.gql(query, input(json!({ "kpiId": platform }))).await;
        expect_error(&malformed, "BAD_USER_INPUT", Some("kpiId"));
    }
    assert_eq!(count(&admin, &k).await, 0, "nothing was written");
    // Positive controls: exactly one of them.
    for (query, input) in [(RECORD_ONE, &one as &dyn Fn(Value) -> Value), (RECORD_MANY, &many)] {
        for by in [json!({ "kpiId": k }), json!({ "externalId": "mon-uptime" })] {
            let ok = admin.gql(query, input(by)).await;
            let data = expect_data(&ok);
            let payload = data.as_object().and_then(|o| o.values().next()).cloned().unwrap_or_default();
            assert_eq!((payload["written"].clone(), payload["kpi"]["id"].clone()), (json!(1), json!(k)));
        }
    }
    assert_eq!(count(&admin, &k).await, 4);

    // A bad point: BAD_USER_INPUT on points[<index>].observedAt, nothing written.
    let good: Vec<(DateTime<Utc>, f64)> =
        (0..8).map(|i| (yesterday - Duration::hours(i), 90.0 + i as f64)).collect();
    let mut future = good.clone();
    future[2].0 = Utc::now() + Duration::hours(1);
    let response =
        admin.gql(RECORD_MANY, json!({ "input": { "kpiId": k, "points": points_json(&future) } })).await;
    expect_error(&response, "BAD_USER_INPUT", Some("points[2].observedAt"));
    // Two bad points: the first is the field, the message names both.
    future[5].0 = Utc::now() + Duration::days(2);
    let response =
        admin.gql(RECORD_MANY, json!({ "input": { "kpiId": k, "points": points_json(&future) } })).await;
    expect_error(&response, "BAD_USER_INPUT", Some("points[2].observedAt"));
    assert!(message(&response).contains("points[5]"), "the message names index 5: {response:#}");
    // A value no double holds cannot reach the resolver: GraphQL's parser
    // refuses the document (no NaN or infinity exists in GraphQL or JSON,
    // so `points[<index>].value` is checked in the store suite).
    let literal = format!(
        "mutation {{ recordKpiMeasurements(input: {{ kpiId: \"{k}\", points: [
            {{ observedAt: \"{when}\", value: 1.0 }},
            {{ observedAt: \"{when}\", value: 1e999 }} ] }}) {{ written }} }}"
    );
    let response = admin.gql(&literal, json!({})).await;
    assert!(
        response["errors"].as_array().is_some_and(|e| !e.is_empty()) && response["data"].is_null(),
        "an infinite value is refused: {response:#}"
    );
    // No points at all.
    let response = admin.gql(RECORD_MANY, json!({ "input": { "kpiId": k, "points": [] } })).await;
    expect_error(&response, "BAD_USER_INPUT", Some("points"));
    let response = admin
        .gql(
            RECORD_ONE,
            json!({ "input": { "kpiId": k, "observedAt": rfc3339(Utc::now() + Duration::hours(1)), "value": 1.0 } }),
        )
        .await;
    expect_error(&response, "BAD_USER_INPUT", None);
    assert_eq!(count(&admin, &k).await, 4, "all or nothing: no bad call wrote a point");
    // Positive control: the same 8 points without the bad ones.
    let response =
        admin.gql(RECORD_MANY, json!({ "input": { "kpiId": k, "points": points_json(&good) } })).await;
    assert_eq!(expect_data(&response)["recordKpiMeasurements"]["written"], json!(8));
    assert_eq!(count(&admin, &k).await, 12);
}

/// `recordKpiMeasurement` takes one point as `observedAt` and `value` of
/// its input: a bad one is BAD_USER_INPUT on the input's own field, as
/// every other mutation names the field the client sent (there is no
/// `points` in this input).
pub async fn single_measurement_names_its_own_field(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let k =
        create_kpi(&admin, kpi_input(&ids.unit("Platform"), &ids.person("Mia Member"), "Uptime", json!({})))
            .await;
    let ahead = rfc3339(Utc::now() + Duration::hours(1));
    let response =
        admin.gql(RECORD_ONE, json!({ "input": { "kpiId": k, "observedAt": ahead, "value": 1.0 } })).await;
    expect_error(&response, "BAD_USER_INPUT", Some("observedAt"));
    assert_eq!(count(&admin, &k).await, 0);
    // Positive control: a point of yesterday.
    let yesterday = rfc3339(Utc::now() - Duration::days(1));
    let response = admin
        .gql(RECORD_ONE, json!({ "input": { "kpiId": k, "observedAt": yesterday, "value": 1.0 } }))
        .await;
    assert_eq!(expect_data(&response)["recordKpiMeasurement"]["written"], json!(1));
    assert_eq!(count(&admin, &k).await, 1);
}
