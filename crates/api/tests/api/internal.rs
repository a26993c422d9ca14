//! Internal errors reach the client as code INTERNAL and the message
//! `internal error`, nothing more: no SQL, no table, no driver text
//! (STYLE.md, "Errors"; Hasura's "censor").

use crate::support::{Session, Tenant, connect, expect_error};
use goalgraph_domain::model::UnitKind;
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

/// Words of database error texts on SQLite and PostgreSQL.
const TELLTALES: [&str; 13] = [
    "organizations",
    "unit_managers",
    "SELECT",
    "select",
    "FROM",
    "no such table",
    "relation",
    "does not exist",
    "sqlite",
    "postgres",
    "database",
    "pool",
    "sqlx",
];

#[track_caller]
fn assert_censored(response: &Value) {
    expect_error(response, "INTERNAL", None);
    let errors = response["errors"].as_array().expect("errors");
    for error in errors {
        assert_eq!(error["message"], "internal error", "{response:#}");
        assert_eq!(error["extensions"]["code"], "INTERNAL", "{response:#}");
    }
    let text = response.to_string();
    for word in TELLTALES {
        assert!(!text.contains(word), "the response leaks {word:?}: {response:#}");
    }
}

const UNITS: &str = "{ units(first: 5) { totalCount edges { node { name } } } }";
const RENAME: &str = "mutation { updateOrganization(input: {name: \"Renamed\"}) { organization { name } } }";
const TREE: &str = "{ organization { name companyUnit { children { name managers { name } } } } }";

pub async fn internal_errors_do_not_leak(db: TestDb) {
    let store = connect(&db).await;
    let mut t = Tenant::create(&store, "Leak Check", "leak-check", "Ada Admin").await;
    t.add_unit(&store, UnitKind::Department, "Ops", "Leak Check").await;
    t.set_managers(&store, "Ops", &["Ada Admin"]).await;
    let admin = Session::of(&store, &t.admin).await;
    let ops = json!({ "name": "Ops", "managers": [{ "name": "Ada Admin" }] });
    let expected = json!({ "name": "Leak Check", "companyUnit": { "children": [ops] } });

    // The pool closes (shutdown) under a second store on the same database.
    let closing = connect(&db).await;
    let doomed = Session::of(&closing, &t.admin).await;
    assert_eq!(doomed.ok(TREE, json!({})).await["organization"], expected, "positive control");
    closing.clone().close().await.expect("close the pool");
    assert_censored(&doomed.gql(TREE, json!({})).await);
    assert_censored(&doomed.gql(UNITS, json!({})).await);
    assert_censored(&doomed.gql(RENAME, json!({})).await);

    // Positive control: the first store still works, the same query included.
    assert_eq!(admin.ok(TREE, json!({})).await["organization"], expected);

    // The tables vanish under the running API (the store's own `migrate
    // down`, so this suite needs no SQL of its own): the driver's messages
    // name them ("no such table: organizations", "relation … does not exist").
    store.migrate_down(None).await.expect("revert the migrations");
    assert_censored(&admin.gql(TREE, json!({})).await);
    assert_censored(&admin.gql(UNITS, json!({})).await);
    assert_censored(&admin.gql(RENAME, json!({})).await);
}
