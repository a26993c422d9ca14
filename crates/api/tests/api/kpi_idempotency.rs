//! Idempotent measurements over GraphQL (PRODUCT.md, "API semantics":
//! "Idempotency keys are scoped to the tenant and the mutation; a repeated
//! key with the same input returns the first result and writes nothing;
//! with a different input it answers CONFLICT").

use crate::kpi_support::{RECORD_MANY, RECORD_ONE, create_kpi, kpi_input, points_json, rfc3339};
use crate::support::{Session, World, expect_data, expect_error};
use chrono::{Duration, Utc};
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

/// (written, replayed) of a payload.
fn outcome(data: &Value, field: &str) -> (Value, Value) {
    (data[field]["written"].clone(), data[field]["replayed"].clone())
}

pub async fn measurement_keys_replay_and_conflict(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let k =
        create_kpi(&admin, kpi_input(&ids.unit("Platform"), &ids.person("Mia Member"), "Pushed", json!({})))
            .await;
    let t = Utc::now() - Duration::days(1);
    let one = |v: f64, key: &str| json!({ "input": { "kpiId": k, "observedAt": rfc3339(t), "value": v, "idempotencyKey": key } });
    let first = admin.ok(RECORD_ONE, one(91.0, "push-1")).await;
    assert_eq!(outcome(&first, "recordKpiMeasurement"), (json!(1), json!(false)));
    let again = admin.ok(RECORD_ONE, one(91.0, "push-1")).await;
    assert_eq!(outcome(&again, "recordKpiMeasurement"), (json!(0), json!(true)));
    assert_eq!(again["recordKpiMeasurement"]["kpi"]["id"], json!(k), "the replay returns the KPI");
    expect_error(&admin.gql(RECORD_ONE, one(92.0, "push-1")).await, "CONFLICT", None);
    assert_eq!(count(&admin, &k).await, 1);
    // Another key writes.
    let other = admin.ok(RECORD_ONE, one(92.0, "push-2")).await;
    assert_eq!(outcome(&other, "recordKpiMeasurement"), (json!(1), json!(false)));
    assert_eq!(count(&admin, &k).await, 2);

    // Bulk: the same, for a list of points (order is part of the input).
    let points = [(t - Duration::hours(2), 90.0), (t - Duration::hours(1), 93.0)];
    let many = |p: &[(chrono::DateTime<Utc>, f64)]| json!({ "input": { "kpiId": k, "points": points_json(p), "idempotencyKey": "bulk-1" } });
    let first = admin.ok(RECORD_MANY, many(&points)).await;
    assert_eq!(outcome(&first, "recordKpiMeasurements"), (json!(2), json!(false)));
    let again = admin.ok(RECORD_MANY, many(&points)).await;
    assert_eq!(outcome(&again, "recordKpiMeasurements"), (json!(0), json!(true)));
    expect_error(&admin.gql(RECORD_MANY, many(&points[..1])).await, "CONFLICT", None);
    assert_eq!(count(&admin, &k).await, 4);

    // Keys are scoped to the tenant: tenant B may use "push-1" too.
    let b = w.b_admin().await;
    let b_ids = b.ids().await;
    let bk = create_kpi(
        &b,
        kpi_input(&b_ids.unit("Bravo Lab"), &b_ids.person("Bea Bravo"), "B pushed", json!({})),
    )
    .await;
    let theirs = b
        .ok(
            RECORD_ONE,
            json!({ "input": { "kpiId": bk, "observedAt": rfc3339(t), "value": 91.0, "idempotencyKey": "push-1" } }),
        )
        .await;
    assert_eq!(outcome(&theirs, "recordKpiMeasurement"), (json!(1), json!(false)));

    // A replay is authorized like the first call: Vic Viewer, who may not
    // record, gets FORBIDDEN, not the admin's result.
    let vic = w.a.session(&w.store, "Vic Viewer").await;
    expect_error(&vic.gql(RECORD_ONE, one(91.0, "push-1")).await, "FORBIDDEN", None);
    assert_eq!(count(&admin, &k).await, 4);
}

/// "Scoped to … the mutation": a key used with `recordKpiMeasurement` is
/// a different key for `recordKpiMeasurements`.
pub async fn measurement_keys_are_scoped_to_the_mutation(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let k =
        create_kpi(&admin, kpi_input(&ids.unit("Platform"), &ids.person("Mia Member"), "Pushed", json!({})))
            .await;
    let t = Utc::now() - Duration::days(1);
    let single = json!({ "input": { "kpiId": k, "observedAt": rfc3339(t), "value": 91.0, "idempotencyKey": "daily" } });
    let first = admin.ok(RECORD_ONE, single).await;
    assert_eq!(outcome(&first, "recordKpiMeasurement"), (json!(1), json!(false)));
    let points = [(t - Duration::hours(2), 90.0), (t - Duration::hours(1), 93.0)];
    let bulk = json!({ "input": { "kpiId": k, "points": points_json(&points), "idempotencyKey": "daily" } });
    let response = admin.gql(RECORD_MANY, bulk).await;
    let data = expect_data(&response);
    assert_eq!(outcome(&data, "recordKpiMeasurements"), (json!(2), json!(false)));
    assert_eq!(count(&admin, &k).await, 3);
}
