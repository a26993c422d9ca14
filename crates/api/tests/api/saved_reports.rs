//! Saved reports (issue 9): saved, listed, changed and deleted by their
//! owner; private ones hidden like missing ones, shared ones read by the
//! whole tenant and by no other; `result` always counts what the reader
//! may see.

use crate::okr_support::{create_objective, random_id};
use crate::support::{Session, World, expect_data, expect_error};
use goalgraph_api::ids::NodeType;
use serde_json::{Value, json};

const SAVE: &str = "mutation($input: SaveReportInput!) { saveReport(input: $input) { savedReport {
    id name shared version owner { name }
    definition { measures dimensions rollUp filter { periodIds unitId ownerId levels statuses kinds categories } } } } }";
const DELETE: &str =
    "mutation($input: DeleteSavedReportInput!) { deleteSavedReport(input: $input) { deletedId } }";
const LIST: &str = "query($first: Int, $after: String) { savedReports(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id name shared owner { name } } } } }";
const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id ... on SavedReport { name version } } }";
const RESULT: &str =
    "query($id: ID!) { node(id: $id) { ... on SavedReport { result { measures totals } } } }";
const BY_ID: &str = "query($id: ID) { report(savedReportId: $id) { measures totals } }";

fn definition(period: &str) -> Value {
    json!({ "measures": ["OBJECTIVE_COUNT"], "filter": { "periodIds": [period] } })
}

fn save_input(name: &str, shared: bool, definition: Value) -> Value {
    json!({ "input": { "name": name, "shared": shared, "definition": definition } })
}

/// `saveReport` as `s`, which must succeed; the saved report.
async fn save(s: &Session, input: Value) -> Value {
    s.ok(SAVE, input).await["saveReport"]["savedReport"].clone()
}

/// The names `savedReports` lists to `s`, in order, and its `totalCount`.
async fn listed(s: &Session) -> (Vec<String>, u64) {
    let data = s.ok(LIST, json!({ "first": 100 })).await;
    let conn = &data["savedReports"];
    let names = conn["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["name"].as_str().expect("name").to_owned())
        .collect();
    (names, conn["totalCount"].as_u64().expect("totalCount"))
}

async fn node_name(s: &Session, id: &Value) -> Value {
    s.ok(NODE, json!({ "id": id })).await["node"]["name"].clone()
}

fn names(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

pub async fn saved_reports_are_saved_listed_changed_and_deleted(db: goalgraph_testkit::TestDb) {
    let w = World::new(&db).await;
    let mia = w.a.session(&w.store, "Mia Member").await;
    let ids = mia.ids().await;
    let winter = ids.period("Winter 2026");
    let platform = ids.unit("Platform");

    // Saved: the definition comes back in the shape of ReportInput.
    let rich = json!({ "measures": ["OBJECTIVE_COUNT", "KPI_COUNT"], "dimensions": ["UNIT"], "rollUp": true,
                       "filter": { "unitId": platform } });
    let a = save(&mia, save_input("  Team health  ", false, rich.clone())).await;
    assert_eq!(a["name"], "Team health", "trimmed: {a:#}");
    assert_eq!(a["version"], 1);
    assert_eq!(a["shared"], false);
    assert_eq!(a["owner"]["name"], "Mia Member");
    let def = &a["definition"];
    assert_eq!(def["measures"], json!(["OBJECTIVE_COUNT", "KPI_COUNT"]));
    assert_eq!(def["dimensions"], json!(["UNIT"]));
    assert_eq!(def["rollUp"], true);
    assert_eq!(def["filter"]["unitId"], json!(platform));
    assert_eq!(def["filter"]["periodIds"], json!([]));
    // … which `report` takes back as it is.
    let fed_back = mia
        .ok(
            "query($input: ReportInput) { report(input: $input) { measures totals } }",
            json!({ "input": def }),
        )
        .await;
    let by_id = mia.ok(BY_ID, json!({ "id": a["id"] })).await;
    assert_eq!(fed_back["report"], by_id["report"]);

    let b = save(&mia, save_input("Alignment", true, definition(&winter))).await;
    assert_eq!(b["definition"]["filter"]["periodIds"], json!([winter]));
    assert_eq!(listed(&mia).await, (names(&["Alignment", "Team health"]), 2));
    // Pages walk the list by name.
    let first = mia.ok(LIST, json!({ "first": 1 })).await;
    assert_eq!(first["savedReports"]["pageInfo"]["hasNextPage"], true);
    let after = first["savedReports"]["pageInfo"]["endCursor"].clone();
    let second = mia.ok(LIST, json!({ "first": 1, "after": after })).await;
    assert_eq!(second["savedReports"]["edges"][0]["node"]["name"], "Team health");
    assert_eq!(second["savedReports"]["pageInfo"]["hasNextPage"], false);

    // Updated with the version it read; a stale version conflicts.
    let mut update = save_input("Team health v2", true, definition(&winter));
    update["input"]["id"] = a["id"].clone();
    update["input"]["expectedVersion"] = json!(1);
    let a2 = save(&mia, update.clone()).await;
    assert_eq!(
        (a2["id"].clone(), a2["name"].clone(), a2["version"].clone()),
        (a["id"].clone(), json!("Team health v2"), json!(2))
    );
    assert_eq!(a2["shared"], true);
    assert_eq!(a2["definition"]["measures"], json!(["OBJECTIVE_COUNT"]));
    expect_error(&mia.gql(SAVE, update).await, "CONFLICT", None);
    assert_eq!(node_name(&mia, &a["id"]).await, "Team health v2", "the stale write changed nothing");

    // A name is unique per owner: another person may use it.
    expect_error(&mia.gql(SAVE, save_input("Alignment", false, definition(&winter))).await, "CONFLICT", None);
    let olga = w.a.session(&w.store, "Olga Other").await;
    save(&olga, save_input("Alignment", false, definition(&winter))).await;
    let mut rename = save_input("Alignment", true, definition(&winter));
    rename["input"]["id"] = a["id"].clone();
    expect_error(&mia.gql(SAVE, rename).await, "CONFLICT", None);

    // A bad definition names its field under input.definition; nothing is saved.
    let bad = |name: &str, def: Value| save_input(name, false, def);
    let cases = [
        (bad("x", json!({ "measures": [] })), "input.definition.measures"),
        (
            bad("x", json!({ "measures": ["KPI_COUNT"], "dimensions": ["PERIOD"] })),
            "input.definition.dimensions",
        ),
        (bad("x", json!({ "measures": ["OBJECTIVE_COUNT"], "rollUp": true })), "input.definition.rollUp"),
        (
            bad(
                "x",
                json!({ "measures": ["OBJECTIVE_COUNT"], "filter": { "periodIds": [winter, platform] } }),
            ),
            "input.definition.filter.periodIds[1]",
        ),
        (
            bad(
                "x",
                json!({ "measures": ["OBJECTIVE_COUNT"], "filter": { "unitId": random_id(NodeType::Unit) } }),
            ),
            "input.definition.filter.unitId",
        ),
        (bad("   ", definition(&winter)), "input.name"),
        (bad(&"n".repeat(201), definition(&winter)), "input.name"),
    ];
    for (input, field) in cases {
        expect_error(&mia.gql(SAVE, input).await, "BAD_USER_INPUT", Some(field));
    }
    let mut not_an_id = save_input("x", false, definition(&winter));
    not_an_id["input"]["id"] = json!(winter);
    expect_error(&mia.gql(SAVE, not_an_id).await, "BAD_USER_INPUT", Some("input.id"));
    assert_eq!(listed(&mia).await.1, 2, "no bad definition was saved");
    // The positive control: 200 characters are fine.
    save(&mia, save_input(&"n".repeat(200), false, definition(&winter))).await;

    // `report` takes exactly one of input and savedReportId.
    let both = mia
        .gql(
            "query($id: ID, $input: ReportInput) { report(input: $input, savedReportId: $id) { totals } }",
            json!({ "id": b["id"], "input": definition(&winter) }),
        )
        .await;
    expect_error(&both, "BAD_USER_INPUT", Some("savedReportId"));
    expect_error(&mia.gql("{ report { totals } }", json!({})).await, "BAD_USER_INPUT", Some("input"));
    expect_error(&mia.gql(BY_ID, json!({ "id": winter })).await, "BAD_USER_INPUT", Some("savedReportId"));

    // Deleted: gone from the list, the node and `report`.
    let deleted = mia.ok(DELETE, json!({ "input": { "id": b["id"] } })).await;
    assert_eq!(deleted["deleteSavedReport"]["deletedId"], b["id"]);
    assert_eq!(listed(&mia).await.1, 2);
    assert!(mia.ok(NODE, json!({ "id": b["id"] })).await["node"].is_null());
    expect_error(&mia.gql(BY_ID, json!({ "id": b["id"] })).await, "NOT_FOUND", None);
    expect_error(&mia.gql(DELETE, json!({ "input": { "id": b["id"] } })).await, "NOT_FOUND", None);
    // The node of a live one answers (the control).
    assert_eq!(mia.ok(NODE, json!({ "id": a["id"] })).await["node"]["__typename"], "SavedReport");
}

pub async fn shared_reports_are_read_by_the_tenant_and_private_ones_by_their_owner(
    db: goalgraph_testkit::TestDb,
) {
    let w = World::new(&db).await;
    let mia = w.a.session(&w.store, "Mia Member").await;
    let winter = mia.ids().await.period("Winter 2026");
    let private = save(&mia, save_input("Mia private", false, definition(&winter))).await["id"].clone();
    let shared = save(&mia, save_input("Mia shared", true, definition(&winter))).await["id"].clone();
    assert_eq!(listed(&mia).await, (names(&["Mia private", "Mia shared"]), 2));

    // A colleague, a viewer and a manager see the shared one only; the
    // private one is NOT_FOUND, exactly like a missing one.
    for who in ["Olga Other", "Vic Viewer", "Max Manager"] {
        let s = w.a.session(&w.store, who).await;
        assert_eq!(listed(&s).await, (names(&["Mia shared"]), 1), "{who}");
        assert_eq!(node_name(&s, &shared).await, "Mia shared", "{who}");
        assert!(s.ok(NODE, json!({ "id": private })).await["node"].is_null(), "{who}");
        expect_data(&s.gql(BY_ID, json!({ "id": shared })).await);
        expect_error(&s.gql(BY_ID, json!({ "id": private })).await, "NOT_FOUND", None);
        // Readable but not theirs: FORBIDDEN; unreadable: NOT_FOUND.
        let mut change = save_input("Taken over", true, definition(&winter));
        change["input"]["id"] = shared.clone();
        expect_error(&s.gql(SAVE, change.clone()).await, "FORBIDDEN", None);
        expect_error(&s.gql(DELETE, json!({ "input": { "id": shared } })).await, "FORBIDDEN", None);
        change["input"]["id"] = private.clone();
        expect_error(&s.gql(SAVE, change).await, "NOT_FOUND", None);
        expect_error(&s.gql(DELETE, json!({ "input": { "id": private } })).await, "NOT_FOUND", None);
    }
    // HR reads the private one by id, changes nothing; its list stays its own.
    let hana = w.a.session(&w.store, "Hana Human").await;
    assert_eq!(node_name(&hana, &private).await, "Mia private");
    assert_eq!(listed(&hana).await, (names(&["Mia shared"]), 1));
    let mut by_hr = save_input("HR edit", false, definition(&winter));
    by_hr["input"]["id"] = private.clone();
    expect_error(&hana.gql(SAVE, by_hr.clone()).await, "FORBIDDEN", None);
    // ADMIN changes it; the owner stays Mia.
    let ada = w.a_admin().await;
    let edited = save(&ada, by_hr).await;
    assert_eq!(
        (edited["name"].clone(), edited["owner"]["name"].clone()),
        (json!("HR edit"), json!("Mia Member"))
    );
    assert_eq!(listed(&mia).await, (names(&["HR edit", "Mia shared"]), 2));
    // Unsharing hides it from colleagues again.
    let olga = w.a.session(&w.store, "Olga Other").await;
    let mut unshare = save_input("Mia shared", false, definition(&winter));
    unshare["input"]["id"] = shared.clone();
    save(&mia, unshare).await;
    assert_eq!(listed(&olga).await, (vec![], 0));
    assert!(olga.ok(NODE, json!({ "id": shared })).await["node"].is_null());

    // Another tenant never sees either, even its admin.
    let mut reshare = save_input("Mia shared", true, definition(&winter));
    reshare["input"]["id"] = shared.clone();
    save(&mia, reshare).await;
    let bob = w.b_admin().await;
    assert_eq!(listed(&bob).await, (vec![], 0));
    for id in [&private, &shared] {
        assert!(bob.ok(NODE, json!({ "id": id })).await["node"].is_null());
        expect_error(&bob.gql(BY_ID, json!({ "id": id })).await, "NOT_FOUND", None);
        expect_error(&bob.gql(DELETE, json!({ "input": { "id": id } })).await, "NOT_FOUND", None);
    }
    let bravo_q1 = bob.ids().await.period("Bravo Q1");
    // Another tenant's period in a definition answers like a missing one.
    let foreign = mia.gql(SAVE, save_input("Foreign", false, definition(&bravo_q1))).await;
    let missing = mia.gql(SAVE, save_input("Foreign", false, definition(&random_id(NodeType::Period)))).await;
    expect_error(&foreign, "BAD_USER_INPUT", Some("input.definition.filter.periodIds[0]"));
    assert_eq!(foreign, missing);
    let mut take = save_input("Taken", true, definition(&bravo_q1));
    take["input"]["id"] = shared.clone();
    expect_error(&bob.gql(SAVE, take).await, "NOT_FOUND", None);
    // The control: the shared one is still there for the tenant.
    assert_eq!(node_name(&olga, &shared).await, "Mia shared");
}

pub async fn a_saved_reports_result_counts_what_the_reader_may_see(db: goalgraph_testkit::TestDb) {
    let w = World::new(&db).await;
    let mia = w.a.session(&w.store, "Mia Member").await;
    let ids = mia.ids().await;
    let winter = ids.period("Winter 2026");
    let me = ids.person("Mia Member");
    // Mia owns a PUBLIC and a PRIVATE objective in Winter 2026; Olga may
    // see the first only.
    for (title, visibility) in [("Mia public plan", "PUBLIC"), ("Mia secret plan", "PRIVATE")] {
        create_objective(
            &mia,
            json!({ "periodId": winter, "ownerPersonId": me, "title": title, "visibility": visibility }),
        )
        .await;
    }
    let report = save(&mia, save_input("Winter count", true, definition(&winter))).await["id"].clone();
    let total = |data: &Value, path: &str| -> f64 {
        let r = if path == "node" { &data["node"]["result"] } else { &data["report"] };
        assert_eq!(r["measures"], json!(["OBJECTIVE_COUNT"]), "{data:#}");
        r["totals"][0].as_f64().unwrap_or_else(|| panic!("a count: {data:#}"))
    };
    let olga = w.a.session(&w.store, "Olga Other").await;
    let mias = total(&mia.ok(RESULT, json!({ "id": report })).await, "node");
    let olgas = total(&olga.ok(RESULT, json!({ "id": report })).await, "node");
    assert_eq!(mias, olgas + 1.0, "Mia counts her PRIVATE objective, Olga does not");
    assert!(olgas >= 1.0, "Olga counts the PUBLIC one: {olgas}");
    // `report(savedReportId:)` is the same run.
    assert_eq!(total(&mia.ok(BY_ID, json!({ "id": report })).await, "report"), mias);
    assert_eq!(total(&olga.ok(BY_ID, json!({ "id": report })).await, "report"), olgas);
    // And Olga's result is what she gets from the definition herself.
    let direct = olga
        .ok(
            "query($input: ReportInput) { report(input: $input) { measures totals } }",
            json!({ "input": definition(&winter) }),
        )
        .await;
    assert_eq!(total(&direct, "report"), olgas);
}
