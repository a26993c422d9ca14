//! The OKR mutations' error codes (PRODUCT.md, "Access" and "API
//! semantics"): bad input names its field, what the actor may see but not
//! change is FORBIDDEN, what it may not see is NOT_FOUND exactly like a
//! missing id. Each rejection is checked to have written nothing, next to a
//! positive control.

use crate::okr_support::{
    CHECK_IN, CREATE_OBJECTIVE, check_in, create_key_result, create_objective, random_id,
};
use crate::support::{Session, World, error_code, error_field, expect_data, expect_error};
use goalgraph_api::ids::NodeType;
use goalgraph_domain::model::Role;
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const REPARENT: &str = "mutation($input: ReparentObjectiveInput!) {
    reparentObjective(input: $input) { objective { title parent { title } version } } }";
const TRANSITION: &str = "mutation($input: TransitionObjectiveInput!) {
    transitionObjective(input: $input) { objective { status cancelReason version } } }";
const OBJECTIVE: &str = "query($id: ID!) { node(id: $id) { ... on Objective {
    title status cancelReason version parent { title } } } }";
const KEY_RESULT: &str = "query($id: ID!) { node(id: $id) { ... on KeyResult {
    current checkIns(first: 10) { totalCount } } } }";

async fn objective_count(admin: &Session) -> u64 {
    let data = admin.ok("{ objectives(first: 1) { totalCount } }", json!({})).await;
    data["objectives"]["totalCount"].as_u64().expect("totalCount")
}

/// (current, number of check-ins) of a key result, as the admin sees it.
async fn key_result_state(admin: &Session, kr: &str) -> Value {
    let data = admin.ok(KEY_RESULT, json!({ "id": kr })).await;
    json!([data["node"]["current"], data["node"]["checkIns"]["totalCount"]])
}

pub async fn create_objective_checks_owner_title_and_rights(db: TestDb) {
    let mut w = World::new(&db).await;
    w.a.add_person(&w.store, "Pia Peer", "Platform", Some("Max Manager"), &[Role::Member]).await;
    let admin = w.a_admin().await;
    let mia = w.a.session(&w.store, "Mia Member").await;
    let ids = admin.ids().await;
    let period = ids.period("Winter 2026");
    let base = |extra: Value| -> Value {
        let mut input = json!({ "periodId": period, "title": "Ship the thing" });
        for (k, v) in extra.as_object().expect("object") {
            input[k] = v.clone();
        }
        input
    };
    let before = objective_count(&admin).await;

    // Both owners, or neither: exactly one is required.
    let both = json!({ "ownerUnitId": ids.unit("Platform"), "ownerPersonId": ids.person("Mia Member") });
    for (label, extra) in [("both owners", both), ("no owner", json!({}))] {
        let r = admin.gql(CREATE_OBJECTIVE, json!({ "input": base(extra) })).await;
        expect_error(&r, "BAD_USER_INPUT", Some("ownerUnitId"));
        assert_eq!(objective_count(&admin).await, before, "{label}: nothing written");
    }
    // An empty or blank title.
    for title in ["", "   "] {
        let input = json!({ "periodId": period, "ownerUnitId": ids.unit("Platform"), "title": title });
        let r = admin.gql(CREATE_OBJECTIVE, json!({ "input": input })).await;
        expect_error(&r, "BAD_USER_INPUT", Some("title"));
    }
    assert_eq!(objective_count(&admin).await, before);
    // Positive control: one owner and a title.
    let r = admin
        .gql(CREATE_OBJECTIVE, json!({ "input": base(json!({ "ownerUnitId": ids.unit("Platform") })) }))
        .await;
    assert_eq!(expect_data(&r)["createObjective"]["objective"]["title"], "Ship the thing");
    assert_eq!(objective_count(&admin).await, before + 1);

    // A MEMBER may own goals, but only their own: not another person's
    // (of another team or of their own), not their team's.
    let others = [
        ("Olga Other", json!({ "ownerPersonId": ids.person("Olga Other") })),
        ("Pia Peer", json!({ "ownerPersonId": ids.person("Pia Peer") })),
        ("Platform", json!({ "ownerUnitId": ids.unit("Platform") })),
    ];
    for (owner, extra) in others {
        let r = mia.gql(CREATE_OBJECTIVE, json!({ "input": base(extra) })).await;
        expect_error(&r, "FORBIDDEN", None);
        assert_eq!(objective_count(&admin).await, before + 1, "Mia for {owner}: nothing written");
    }
    let r = mia
        .gql(CREATE_OBJECTIVE, json!({ "input": base(json!({ "ownerPersonId": ids.person("Mia Member") })) }))
        .await;
    assert_eq!(expect_data(&r)["createObjective"]["objective"]["status"], "DRAFT");
    assert_eq!(objective_count(&admin).await, before + 2);
}

pub async fn reparenting_into_a_cycle_is_bad_input(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let period = ids.period("Winter 2026");
    let make = |title: &str, unit: &str, parent: Option<&str>| json!({ "periodId": period, "ownerUnitId": ids.unit(unit), "title": title, "parentObjectiveId": parent });
    // Company ← Engineering ← Platform.
    let a = create_objective(&admin, make("Company A", "Alpha Corp", None)).await;
    let b = create_objective(&admin, make("Engineering B", "Engineering", Some(&a))).await;
    let c = create_objective(&admin, make("Platform C", "Platform", Some(&b))).await;
    let d = create_objective(&admin, make("Sales D", "Sales", None)).await;

    for (child, parent, what) in [
        (&a, &c, "A under its grandchild C"),
        (&a, &b, "A under its child B"),
        (&b, &c, "B under its child C"),
        (&a, &a, "A under itself"),
    ] {
        let r = admin.gql(REPARENT, json!({ "input": { "id": child, "parentObjectiveId": parent } })).await;
        let got = (error_code(&r), error_field(&r));
        assert_eq!(got, (Some("BAD_USER_INPUT".into()), Some("parentObjectiveId".into())), "{what}: {r:#}");
    }
    // Nothing moved, no version bumped.
    for (id, title, parent) in
        [(&a, "Company A", Value::Null), (&b, "Engineering B", json!({ "title": "Company A" }))]
    {
        let node = admin.ok(OBJECTIVE, json!({ "id": id })).await["node"].clone();
        assert_eq!((&node["title"], &node["parent"], &node["version"]), (&json!(title), &parent, &json!(1)));
    }
    // Positive controls: C moves up under A; D (outside the chain) under C.
    let r = admin.gql(REPARENT, json!({ "input": { "id": c, "parentObjectiveId": a } })).await;
    assert_eq!(
        expect_data(&r)["reparentObjective"]["objective"],
        json!({ "title": "Platform C", "parent": { "title": "Company A" }, "version": 2 })
    );
    let r = admin.gql(REPARENT, json!({ "input": { "id": d, "parentObjectiveId": c } })).await;
    assert_eq!(expect_data(&r)["reparentObjective"]["objective"]["parent"], json!({ "title": "Platform C" }));
    // And now A under D would close the loop A → C → D → A.
    let r = admin.gql(REPARENT, json!({ "input": { "id": a, "parentObjectiveId": d } })).await;
    expect_error(&r, "BAD_USER_INPUT", Some("parentObjectiveId"));
}

pub async fn check_in_rights_follow_key_result_ownership(db: TestDb) {
    let mut w = World::new(&db).await;
    w.a.add_person(&w.store, "Pia Peer", "Platform", Some("Max Manager"), &[Role::Member]).await;
    let admin = w.a_admin().await;
    let mia = w.a.session(&w.store, "Mia Member").await;
    let pia = w.a.session(&w.store, "Pia Peer").await;
    let vic = w.a.session(&w.store, "Vic Viewer").await;
    let olga = w.a.session(&w.store, "Olga Other").await;
    let ids = admin.ids().await;
    let period = ids.period("Winter 2026");

    // A PUBLIC team objective and a PUBLIC objective of Pia's, each with a
    // key result owned by Pia (Mia's teammate).
    let team = create_objective(
        &admin,
        json!({ "periodId": period, "ownerUnitId": ids.unit("Platform"), "title": "Team goal", "status": "ACTIVE" }),
    )
    .await;
    let own = create_objective(
        &pia,
        json!({ "periodId": period, "ownerPersonId": ids.person("Pia Peer"), "title": "Pia's goal", "status": "ACTIVE" }),
    )
    .await;
    let kr_input = |objective: &str, title: &str| {
        json!({ "objectiveId": objective, "ownerId": ids.person("Pia Peer"), "title": title,
                "measure": "INCREASE", "start": 0.0, "target": 10.0 })
    };
    let team_kr = create_key_result(&admin, kr_input(&team, "Team KR")).await;
    let own_kr = create_key_result(&pia, kr_input(&own, "Pia's KR")).await;

    for kr in [&team_kr, &own_kr] {
        // Mia and Vic can see the key result but may not check in on it.
        for (who, session) in [("Mia", &mia), ("Vic", &vic)] {
            let r = session.gql(CHECK_IN, json!({ "input": { "keyResultId": kr, "value": 3.0 } })).await;
            expect_error(&r, "FORBIDDEN", None);
            assert_eq!(key_result_state(&admin, kr).await, json!([0.0, 0]), "{who}'s check-in wrote nothing");
        }
        // Its owner may.
        check_in(&pia, kr, 4.0, Some(0.9)).await;
        assert_eq!(key_result_state(&admin, kr).await, json!([4.0, 1]));
    }

    // A key result of a PRIVATE objective of Mia's: Olga cannot see it, and
    // gets exactly what an id of nothing gets; the answer is the same for a
    // key result of the other tenant.
    let private = create_objective(
        &mia,
        json!({ "periodId": period, "ownerPersonId": ids.person("Mia Member"), "title": "Mia's private goal",
                "visibility": "PRIVATE", "status": "ACTIVE" }),
    )
    .await;
    let private_kr = create_key_result(
        &mia,
        json!({ "objectiveId": private, "ownerId": ids.person("Mia Member"), "title": "Mia's private KR",
                "measure": "INCREASE", "start": 0.0, "target": 10.0 }),
    )
    .await;
    let b_admin = w.b_admin().await;
    let b_ids = b_admin.ids().await;
    let b_objective = create_objective(
        &b_admin,
        json!({ "periodId": b_ids.period("Bravo Q1"), "ownerUnitId": b_ids.unit("Bravo Lab"), "title": "Bravo goal" }),
    )
    .await;
    let b_kr = create_key_result(
        &b_admin,
        json!({ "objectiveId": b_objective, "ownerId": b_ids.person("Bea Bravo"), "title": "Bravo KR",
                "measure": "INCREASE", "start": 0.0, "target": 10.0 }),
    )
    .await;
    let attempt = |kr: &str| json!({ "input": { "keyResultId": kr, "value": 5.0 } });
    let hidden = olga.gql(CHECK_IN, attempt(&private_kr)).await;
    expect_error(&hidden, "NOT_FOUND", None);
    let missing = olga.gql(CHECK_IN, attempt(&random_id(NodeType::KeyResult))).await;
    expect_error(&missing, "NOT_FOUND", None);
    assert_eq!(hidden, missing, "a hidden key result must answer exactly like a missing one");
    let foreign = olga.gql(CHECK_IN, attempt(&b_kr)).await;
    assert_eq!(foreign, missing, "another tenant's key result must answer exactly like a missing one");
    assert_eq!(key_result_state(&admin, &private_kr).await, json!([0.0, 0]));
    // Positive control: its owner checks in.
    check_in(&mia, &private_kr, 5.0, None).await;
    assert_eq!(key_result_state(&admin, &private_kr).await, json!([5.0, 1]));
}

pub async fn cancelling_an_objective_needs_a_reason(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let o = create_objective(
        &admin,
        json!({ "periodId": ids.period("Winter 2026"), "ownerUnitId": ids.unit("Platform"),
                "title": "Doomed", "status": "ACTIVE" }),
    )
    .await;
    for reason in [None, Some(""), Some("   ")] {
        let r = admin
            .gql(TRANSITION, json!({ "input": { "id": o, "status": "CANCELLED", "reason": reason } }))
            .await;
        expect_error(&r, "BAD_USER_INPUT", Some("reason"));
    }
    let node = admin.ok(OBJECTIVE, json!({ "id": o })).await["node"].clone();
    assert_eq!(
        (&node["status"], &node["cancelReason"], &node["version"]),
        (&json!("ACTIVE"), &Value::Null, &json!(1))
    );
    // Positive control: with a reason.
    let r = admin
        .gql(TRANSITION, json!({ "input": { "id": o, "status": "CANCELLED", "reason": "the market moved" } }))
        .await;
    assert_eq!(
        expect_data(&r)["transitionObjective"]["objective"],
        json!({ "status": "CANCELLED", "cancelReason": "the market moved", "version": 2 })
    );
}
