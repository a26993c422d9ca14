//! The compiled read path (a unit's tree answered by one SQL statement on
//! PostgreSQL) gives the answer the executor gives, for every reader of the
//! visibility fixture: the same JSON (objects in the same order under the
//! same keys, the same nulls for hidden parents, numbers and times written
//! alike). The executor is the reference:
//! its visibility is checked by hand in `okr_visibility`. The statement
//! count shows which path answered: one statement when compiled; a query
//! the path does not recognise (or SQLite) runs through the executor and
//! still agrees.

use crate::okr_support::{CHECK_IN, create_key_result};
use crate::okr_visibility::fixture;
use crate::support::{ROLE_HOLDERS, Session, expect_data, gql_deferred, gql_on, schema};
use goalgraph_api::{AppSchema, RequestContext};
use goalgraph_domain::IntegrationId;
use goalgraph_domain::model::RoleSet;
use goalgraph_domain::policy::{Actor, Principal, Scope};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};
use std::sync::OnceLock;

/// The same schema with the compiled path off: every query is executed.
fn executor() -> &'static AppSchema {
    static SCHEMA: OnceLock<AppSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| goalgraph_api::schema_builder_with(None, false).finish())
}

/// W1's shape: a unit → people → objectives of a period → parent, key
/// results → newest check-in. The parent twice: by id only (which a reader
/// of every objective gets from the objective's row) and with its title.
const TEAM: &str = "query Team($unit: ID!, $period: ID!) { node(id: $unit) { ... on Unit { id name
    people(first: 50) { pageInfo { hasNextPage } nodes { id name
      objectives(periodId: $period) { id title progress up: parent { id __typename } parent { id title }
        keyResults { id title current progress latestCheckIn { id value createdAt } } } } } } } }";

/// Aliases, `__typename`, a named fragment used at two depths, sub-units,
/// a unit's own objectives, a page of one person (more to come), and
/// objectives of every period.
const COMPANY: &str = "query($unit: ID!) { top: node(id: $unit) { __typename ...U
    ... on Unit { sub: children { ...U children { ...U __typename } } } } }
  fragment U on Unit { uid: id name __typename
    objectives { title progress keyResults { title latestCheckIn { value createdAt __typename } } }
    crew: people(first: 1) { __typename pageInfo { hasNextPage hasPreviousPage __typename }
      nodes { __typename name mine: objectives { id title parent { title } } } } }";

/// TEAM with a field the compiled path does not know (`kind`).
const TEAM_WITH_KIND: &str = "query($unit: ID!, $period: ID!) { node(id: $unit) { ... on Unit { kind name
    people(first: 50) { nodes { name objectives(periodId: $period) { title } } } } } }";

pub async fn compiled_unit_trees_answer_like_the_executor(db: TestDb) {
    let fx = fixture(&db).await;
    let store = &fx.w.store;
    let admin = fx.w.a_admin().await;
    let dir = admin.ids().await;
    let (mia, max) = (dir.person("Mia Member"), dir.person("Max Manager"));
    let public_parent = fx.id("Platform Public Parent").to_owned();
    // More to read: two key results on a PUBLIC objective of Platform, one
    // with two check-ins (the newest is the latest), one without any.
    let kr1 = create_key_result(
        &admin,
        json!({ "objectiveId": public_parent, "ownerId": mia, "title": "Ship it", "measure": "INCREASE",
                "start": 0.0, "target": 4.0 }),
    )
    .await;
    create_key_result(
        &admin,
        json!({ "objectiveId": public_parent, "ownerId": max, "title": "Untouched", "measure": "DECREASE",
                "start": 10.0, "target": 2.0 }),
    )
    .await;
    for value in [1.0, 3.0] {
        admin.ok(CHECK_IN, json!({ "input": { "keyResultId": kr1, "value": value } })).await;
    }
    let b_unit =
        goalgraph_api::ids::encode_id(goalgraph_api::ids::NodeType::Unit, fx.w.b.unit("Bravo Lab").id.0).0;

    let compiled_here = store.reads_trees();
    let cases: Vec<(&str, &str, Value, bool)> = vec![
        ("team Platform", TEAM, json!({ "unit": fx.platform, "period": fx.period }), true),
        ("team Engineering", TEAM, json!({ "unit": dir.unit("Engineering"), "period": fx.period }), true),
        ("company", COMPANY, json!({ "unit": fx.company }), true),
        ("another tenant's unit", TEAM, json!({ "unit": b_unit, "period": fx.period }), true),
        // Not compiled: an unknown field, and an id of another type.
        ("with kind", TEAM_WITH_KIND, json!({ "unit": fx.platform, "period": fx.period }), false),
        ("an objective id", TEAM, json!({ "unit": public_parent, "period": fx.period }), false),
    ];
    // Every role, a member of another team, and two integrations: one that
    // reads PUBLIC goals but not the directory (so no unit), one that keeps
    // the directory but reads no goal.
    let mut readers: Vec<(String, RequestContext)> = Vec::new();
    for (_, person) in ROLE_HOLDERS.iter().chain([&(goalgraph_domain::model::Role::Member, "Olga Other")]) {
        readers.push((person.to_string(), fx.w.a.session(store, person).await.ctx));
    }
    for scope in [Scope::OkrRead, Scope::DirectoryWrite] {
        let mut ctx = admin.ctx.clone();
        ctx.person = None;
        ctx.actor = Actor {
            organization_id: ctx.actor.organization_id,
            principal: Principal::Integration {
                id: IntegrationId(uuid::Uuid::now_v7()),
                scopes: [scope].into_iter().collect(),
                kpis: None,
            },
            roles: RoleSet::default(),
            managed_units: Default::default(),
            unit_lineage: Default::default(),
            unit_subtree: Default::default(),
        };
        readers.push((format!("integration {scope:?}"), ctx));
    }
    for (person, ctx) in &readers {
        let s = Session { store: store.clone(), ctx: ctx.clone() };
        for (label, query, vars, compiles) in &cases {
            let before = store.statement_count();
            let fast = gql_on(schema(), store, &s.ctx, query, vars.clone()).await;
            let between = store.statement_count();
            let slow = gql_on(executor(), store, &s.ctx, query, vars.clone()).await;
            let (fast_statements, slow_statements) = (between - before, store.statement_count() - between);
            let data = expect_data(&fast);
            assert_eq!(fast, slow, "{person}: {label}");
            // As the server runs it: the compiled data comes as text, sent
            // as it is.
            let (served, as_text) = gql_deferred(schema(), store, &s.ctx, query, vars.clone()).await;
            assert_eq!(served, slow, "{person}: {label}, as served");
            assert_eq!(as_text, *compiles && compiled_here, "{person}: {label}, as served");
            if *compiles && compiled_here {
                // None at all when the reader may not see units.
                let want = u64::from(person != "integration OkrRead");
                assert_eq!(fast_statements, want, "{person}: {label} is one statement");
            } else {
                assert_eq!(fast_statements, slow_statements, "{person}: {label} runs through the executor");
            }
            let unit_tree = label.starts_with("team") || *label == "company" || *label == "with kind";
            if unit_tree && person != "integration OkrRead" {
                // The executor's batched reads: one statement per level.
                assert!(slow_statements > 2, "{person}: {label} executed in {slow_statements} statements");
            }
            // Positive controls: the answers hold what the fixture has.
            if person == "integration OkrRead" && *label != "an objective id" {
                assert_eq!(data.as_object().and_then(|o| o.values().next()), Some(&Value::Null), "{data:#}");
                continue;
            }
            if *label == "team Platform" {
                let people = &data["node"]["people"]["nodes"];
                assert_eq!(people[0]["name"], "Mia Member", "{person}: {data:#}");
                let objectives = people[0]["objectives"].as_array().unwrap();
                assert_eq!(
                    objectives.is_empty(),
                    person == "integration DirectoryWrite",
                    "{person}: {data:#}"
                );
            }
            if *label == "company" {
                assert_eq!(data["top"]["__typename"], "Unit");
                assert_eq!(data["top"]["crew"]["pageInfo"]["hasNextPage"], true, "{person}: {data:#}");
                let subs: Vec<&str> = data["top"]["sub"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u["name"].as_str().unwrap())
                    .collect();
                assert_eq!(subs, ["Engineering", "Sales"], "{person}");
            }
            if *label == "another tenant's unit" {
                assert_eq!(data["node"], Value::Null);
            }
        }
    }
    // The newest check-in is the latest, and Platform's objectives carry
    // the key results added above, as the admin reads them.
    let team = expect_data(&gql_on(schema(), store, &admin.ctx, TEAM, cases[0].2.clone()).await);
    let objectives = team["node"]["people"]["nodes"][0]["objectives"].as_array().unwrap().clone();
    let company = expect_data(&gql_on(schema(), store, &admin.ctx, COMPANY, cases[2].2.clone()).await);
    let engineering = &company["top"]["sub"][0];
    assert_eq!(engineering["name"], "Engineering");
    let platform = &engineering["children"][1];
    assert_eq!(platform["name"], "Platform", "by name, after Mobile");
    let parent = platform["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["title"] == "Platform Public Parent")
        .expect("Platform's public objective")
        .clone();
    let titles: Vec<&str> =
        parent["keyResults"].as_array().unwrap().iter().map(|k| k["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Ship it", "Untouched"]);
    assert_eq!(parent["keyResults"][0]["latestCheckIn"]["value"].as_f64(), Some(3.0));
    assert_eq!(parent["keyResults"][1]["latestCheckIn"], Value::Null);
    assert!(!objectives.is_empty(), "Mia owns objectives in the period");
    // A parent by id alone is the parent.
    assert!(
        objectives.iter().any(|o| o["up"]["id"].is_string() && o["up"]["id"] == o["parent"]["id"]),
        "{objectives:#?}"
    );
}
