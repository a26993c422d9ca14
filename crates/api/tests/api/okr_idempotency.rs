//! Idempotency keys of `checkIn` over GraphQL (PRODUCT.md, "API
//! semantics"): scoped to the tenant and the mutation; a repeated key with
//! the same input returns the first result and writes nothing; with a
//! different input it answers CONFLICT.

use crate::okr_support::{create_key_result, create_objective};
use crate::support::{Session, World, expect_data, expect_error};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const CHECK_IN: &str = "mutation($input: CheckInInputObject!) {
    checkIn(input: $input) { checkIn { id value confidence note } keyResult { current } } }";
const KEY_RESULT: &str = "query($id: ID!) { node(id: $id) { ... on KeyResult {
    current checkIns(first: 10) { totalCount edges { node { id value } } } } } }";

/// A PUBLIC, ACTIVE objective of `unit` with two INCREASE key results
/// (0 → 100) owned by `owner`, created by `admin`.
async fn goal_with_two_key_results(
    admin: &Session,
    period: &str,
    unit: &str,
    owner: &str,
) -> (String, String) {
    let o = create_objective(
        admin,
        json!({ "periodId": period, "ownerUnitId": unit, "title": "Idempotent goal", "status": "ACTIVE" }),
    )
    .await;
    let kr = |title: &str| {
        json!({ "objectiveId": o, "ownerId": owner, "title": title, "measure": "INCREASE",
                "start": 0.0, "target": 100.0 })
    };
    (create_key_result(admin, kr("First KR")).await, create_key_result(admin, kr("Second KR")).await)
}

fn input(kr: &str, value: f64, confidence: f64, key: &str) -> Value {
    json!({ "input": { "keyResultId": kr, "value": value, "confidence": confidence,
                       "note": "weekly", "idempotencyKey": key } })
}

/// (current, totalCount, the check-ins' ids) of a key result.
async fn state(s: &Session, kr: &str) -> (Value, Value, Vec<String>) {
    let data = s.ok(KEY_RESULT, json!({ "id": kr })).await;
    let node = &data["node"];
    let ids = node["checkIns"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect();
    (node["current"].clone(), node["checkIns"]["totalCount"].clone(), ids)
}

pub async fn check_in_idempotency_keys_replay_conflict_and_stay_in_the_tenant(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let mia = w.a.session(&w.store, "Mia Member").await;
    let ids = admin.ids().await;
    let (kr, other_kr) = goal_with_two_key_results(
        &admin,
        &ids.period("Winter 2026"),
        &ids.unit("Platform"),
        &ids.person("Mia Member"),
    )
    .await;

    let first = mia.gql(CHECK_IN, input(&kr, 40.0, 0.8, "retry-1")).await;
    let first = expect_data(&first)["checkIn"].clone();
    let first_id = first["checkIn"]["id"].as_str().expect("id").to_owned();
    assert_eq!(first["checkIn"]["value"], 40.0);
    assert_eq!(first["keyResult"]["current"], 40.0);

    // The retry: the first result, nothing written.
    let retry = mia.gql(CHECK_IN, input(&kr, 40.0, 0.8, "retry-1")).await;
    assert_eq!(expect_data(&retry)["checkIn"], first, "a retry returns the first result");
    assert_eq!(state(&admin, &kr).await, (json!(40.0), json!(1), vec![first_id.clone()]));

    // The same key with another input: CONFLICT, nothing written.
    for (what, other) in [
        ("another value", input(&kr, 41.0, 0.8, "retry-1")),
        ("another confidence", input(&kr, 40.0, 0.3, "retry-1")),
        ("another key result", input(&other_kr, 40.0, 0.8, "retry-1")),
    ] {
        let r = mia.gql(CHECK_IN, other).await;
        expect_error(&r, "CONFLICT", None);
        assert_eq!(state(&admin, &kr).await, (json!(40.0), json!(1), vec![first_id.clone()]), "{what}");
    }
    assert_eq!(
        state(&admin, &other_kr).await,
        (json!(0.0), json!(0), vec![]),
        "nothing on the other key result"
    );

    // Positive control: a new key with the same input is a new check-in.
    let second = mia.gql(CHECK_IN, input(&kr, 40.0, 0.8, "retry-2")).await;
    let second_id = expect_data(&second)["checkIn"]["checkIn"]["id"].as_str().expect("id").to_owned();
    assert_ne!(second_id, first_id);
    assert_eq!(state(&admin, &kr).await.1, json!(2));

    // Tenant B uses the same key, independently.
    let b_admin = w.b_admin().await;
    let bea = w.b.session(&w.store, "Bea Bravo").await;
    let b_ids = b_admin.ids().await;
    let (b_kr, _) = goal_with_two_key_results(
        &b_admin,
        &b_ids.period("Bravo Q1"),
        &b_ids.unit("Bravo Lab"),
        &b_ids.person("Bea Bravo"),
    )
    .await;
    let b_first = bea.gql(CHECK_IN, input(&b_kr, 40.0, 0.8, "retry-1")).await;
    let b_first = expect_data(&b_first)["checkIn"].clone();
    let b_id = b_first["checkIn"]["id"].as_str().expect("id").to_owned();
    assert_ne!(b_id, first_id, "B's first use of the key is B's own check-in");
    assert_eq!(state(&b_admin, &b_kr).await, (json!(40.0), json!(1), vec![b_id.clone()]));
    // ... with another value too: a key of A does not conflict in B.
    let b_other = bea.gql(CHECK_IN, input(&b_kr, 55.0, 0.8, "retry-2")).await;
    assert_eq!(expect_data(&b_other)["checkIn"]["checkIn"]["value"], 55.0);
    // B's retry replays B's check-in; A's key result is untouched.
    let b_retry = bea.gql(CHECK_IN, input(&b_kr, 40.0, 0.8, "retry-1")).await;
    assert_eq!(expect_data(&b_retry)["checkIn"]["checkIn"]["id"], json!(b_id));
    assert_eq!(state(&admin, &kr).await.1, json!(2));
    assert_eq!(state(&b_admin, &b_kr).await.1, json!(2));
}

/// A retry returns the first result, but only to someone who may make the
/// request at all: a person who may see the key result but not check in on
/// it must get FORBIDDEN, not the owner's check-in, even with the owner's
/// key and input (PRODUCT.md: "one authorization policy module decides
/// every read, write and subscription").
pub async fn replaying_someone_elses_check_in_key_is_still_forbidden(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let mia = w.a.session(&w.store, "Mia Member").await;
    let olga = w.a.session(&w.store, "Olga Other").await;
    let ids = admin.ids().await;
    let (kr, _) = goal_with_two_key_results(
        &admin,
        &ids.period("Winter 2026"),
        &ids.unit("Platform"),
        &ids.person("Mia Member"),
    )
    .await;
    // Control: Olga sees the (PUBLIC) key result and may not check in.
    let r = olga.gql(CHECK_IN, input(&kr, 40.0, 0.8, "olga-own")).await;
    expect_error(&r, "FORBIDDEN", None);
    // Mia, its owner, checks in with a key.
    let r = mia.gql(CHECK_IN, input(&kr, 40.0, 0.8, "mia-1")).await;
    expect_data(&r);
    // Olga sends exactly Mia's request.
    let r = olga.gql(CHECK_IN, input(&kr, 40.0, 0.8, "mia-1")).await;
    expect_error(&r, "FORBIDDEN", None);
    assert_eq!(state(&admin, &kr).await.1, json!(1));
}
