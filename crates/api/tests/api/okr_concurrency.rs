//! Optimistic concurrency of objectives and key results (PRODUCT.md, "API
//! semantics"): `version` counts edits of an object's own fields; an edit
//! with a stale `expectedVersion` is a CONFLICT and changes nothing;
//! rollups and computed fields never bump it, so a check-in never makes a
//! manager's edit conflict.

use crate::okr_support::{check_in, create_key_result, create_objective};
use crate::support::{World, expect_data, expect_error};
use goalgraph_domain::model::{Role, UnitKind};
use goalgraph_testkit::TestDb;
use serde_json::json;

const READ: &str = "query($id: ID!) { node(id: $id) { ... on Objective { title version progress } } }";
const READ_KR: &str = "query($id: ID!) { node(id: $id) { ... on KeyResult { title version current } } }";
const UPDATE: &str = "mutation($input: UpdateObjectiveInput!) {
    updateObjective(input: $input) { objective { title version } } }";
const UPDATE_KR: &str = "mutation($input: UpdateKeyResultInput!) {
    updateKeyResult(input: $input) { keyResult { title version } } }";
const TRANSITION: &str = "mutation($input: TransitionObjectiveInput!) {
    transitionObjective(input: $input) { objective { status version } } }";

pub async fn stale_versions_conflict_and_check_ins_never_do(db: TestDb) {
    let mut w = World::new(&db).await;
    // A second line manager of Platform: Tom manages the team, Max its department.
    w.a.add_unit(&w.store, UnitKind::Team, "Squad", "Platform").await;
    w.a.add_person(&w.store, "Tom Teamlead", "Platform", Some("Max Manager"), &[Role::Manager]).await;
    w.a.set_managers(&w.store, "Platform", &["Tom Teamlead"]).await;
    let admin = w.a_admin().await;
    let max = w.a.session(&w.store, "Max Manager").await;
    let tom = w.a.session(&w.store, "Tom Teamlead").await;
    let mia = w.a.session(&w.store, "Mia Member").await;
    let ids = admin.ids().await;
    let period = ids.period("Winter 2026");
    let o = create_objective(
        &admin,
        json!({ "periodId": period, "ownerUnitId": ids.unit("Platform"), "title": "Original", "status": "ACTIVE",
                "progressDriver": "BOTH" }),
    )
    .await;
    let kr = create_key_result(
        &admin,
        json!({ "objectiveId": o, "ownerId": ids.person("Mia Member"), "title": "Mia's KR",
                "measure": "INCREASE", "start": 0.0, "target": 10.0 }),
    )
    .await;
    // A child aligned to it, with a key result of its own; the parent's
    // progress is driven by BOTH (its key result and the child, weight 1 each).
    let child = create_objective(
        &admin,
        json!({ "periodId": period, "ownerUnitId": ids.unit("Squad"), "title": "Child",
                "parentObjectiveId": o, "status": "ACTIVE" }),
    )
    .await;
    let child_kr = create_key_result(
        &admin,
        json!({ "objectiveId": child, "ownerId": ids.person("Mia Member"), "title": "Child KR",
                "measure": "INCREASE", "start": 0.0, "target": 10.0 }),
    )
    .await;

    // Both managers read version 1.
    let read_max = max.ok(READ, json!({ "id": o })).await["node"].clone();
    let read_tom = tom.ok(READ, json!({ "id": o })).await["node"].clone();
    assert_eq!((&read_max["version"], &read_tom["version"]), (&json!(1), &json!(1)));
    let r =
        max.gql(UPDATE, json!({ "input": { "id": o, "title": "Max's title", "expectedVersion": 1 } })).await;
    assert_eq!(
        expect_data(&r)["updateObjective"]["objective"],
        json!({ "title": "Max's title", "version": 2 })
    );
    let r =
        tom.gql(UPDATE, json!({ "input": { "id": o, "title": "Tom's title", "expectedVersion": 1 } })).await;
    expect_error(&r, "CONFLICT", None);
    let r = tom
        .gql(TRANSITION, json!({ "input": { "id": o, "status": "COMPLETED", "expectedVersion": 1 } }))
        .await;
    expect_error(&r, "CONFLICT", None);
    let now = admin.ok(READ, json!({ "id": o })).await["node"].clone();
    assert_eq!((&now["title"], &now["version"]), (&json!("Max's title"), &json!(2)), "the first edit stays");

    // Tom reads again (version 2); check-ins land on the objective's key
    // result and on its child's, moving its progress but not its version.
    let read_tom = tom.ok(READ, json!({ "id": o })).await["node"].clone();
    assert_eq!((&read_tom["version"], &read_tom["progress"]), (&json!(2), &json!(0.0)));
    let kr_read = max.ok(READ_KR, json!({ "id": kr })).await["node"].clone();
    assert_eq!(kr_read["version"], 1);
    check_in(&mia, &kr, 5.0, Some(0.9)).await;
    check_in(&mia, &child_kr, 10.0, None).await;
    let after = admin.ok(READ, json!({ "id": o })).await["node"].clone();
    assert_eq!(after["version"], 2, "check-ins never bump the version");
    assert_eq!(after["progress"], 0.75, "the check-ins moved the progress: (5/10 + 10/10) / 2");
    let child_now = admin.ok(READ, json!({ "id": child })).await["node"].clone();
    assert_eq!((&child_now["version"], &child_now["progress"]), (&json!(1), &json!(1.0)));
    let kr_after = admin.ok(READ_KR, json!({ "id": kr })).await["node"].clone();
    assert_eq!((&kr_after["version"], &kr_after["current"]), (&json!(1), &json!(5.0)));

    // The edits with the versions read before the check-ins go through.
    let r =
        tom.gql(UPDATE, json!({ "input": { "id": o, "title": "Tom's title", "expectedVersion": 2 } })).await;
    assert_eq!(
        expect_data(&r)["updateObjective"]["objective"],
        json!({ "title": "Tom's title", "version": 3 })
    );
    let r = max
        .gql(UPDATE_KR, json!({ "input": { "id": kr, "title": "Renamed KR", "expectedVersion": 1 } }))
        .await;
    assert_eq!(
        expect_data(&r)["updateKeyResult"]["keyResult"],
        json!({ "title": "Renamed KR", "version": 2 })
    );
    let r = max
        .gql(UPDATE, json!({ "input": { "id": child, "title": "Child renamed", "expectedVersion": 1 } }))
        .await;
    assert_eq!(expect_data(&r)["updateObjective"]["objective"]["version"], 2);
    // And a key result edit with the now stale version conflicts.
    let r =
        tom.gql(UPDATE_KR, json!({ "input": { "id": kr, "title": "Tom's KR", "expectedVersion": 1 } })).await;
    expect_error(&r, "CONFLICT", None);
    let kr_final = admin.ok(READ_KR, json!({ "id": kr })).await["node"].clone();
    assert_eq!((&kr_final["title"], &kr_final["version"]), (&json!("Renamed KR"), &json!(2)));
}
