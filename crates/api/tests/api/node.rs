//! Relay refetching: `node(id:)` and `nodes(ids:)` answer the object a list
//! handed out, and null — never an error — for ids that are unknown,
//! malformed, or of another tenant (PRODUCT.md: "an object the actor may not
//! see answers NOT_FOUND, exactly like a missing one"; for a nullable root
//! field that is null).

use crate::support::{World, expect_data};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id
    ... on Organization { name slug }
    ... on Unit { name kind }
    ... on Person { name email }
    ... on Period { name startDate } } }";

const NODES: &str = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id
    ... on Organization { name }
    ... on Unit { name }
    ... on Person { name }
    ... on Period { name } } }";

fn with_type(mut fields: Value, typename: &str, id: &str) -> Value {
    fields["__typename"] = json!(typename);
    fields["id"] = json!(id);
    fields
}

pub async fn node_refetches_every_type(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let cases = [
        ("Organization", ids.org.clone(), json!({ "name": "Alpha Corp", "slug": "alpha" })),
        ("Unit", ids.unit("Engineering"), json!({ "name": "Engineering", "kind": "DEPARTMENT" })),
        ("Unit", ids.unit("Field Sales"), json!({ "name": "Field Sales", "kind": "TEAM" })),
        (
            "Person",
            ids.person("Mia Member"),
            json!({ "name": "Mia Member", "email": "mia.member@alpha.example" }),
        ),
        ("Period", ids.period("Autumn 2025"), json!({ "name": "Autumn 2025", "startDate": "2025-10-01" })),
    ];
    for (typename, id, fields) in cases {
        let response = admin.gql(NODE, json!({ "id": id })).await;
        assert_eq!(expect_data(&response)["node"], with_type(fields, typename, &id), "node({typename})");
    }
}

pub async fn nodes_keep_order_and_null_the_unknown(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let b_ids = w.b_admin().await.ids().await;

    // An id the API handed out for an object that no longer exists.
    let created = admin
        .ok(
            "mutation($p: ID!) { createUnit(input: {kind: TEAM, name: \"Doomed\", parentId: $p}) { unit { id } } }",
            json!({ "p": ids.unit("Sales") }),
        )
        .await;
    let doomed = created["createUnit"]["unit"]["id"].as_str().expect("id").to_owned();
    // Positive control: it resolves while it exists.
    let before = admin.ok(NODE, json!({ "id": doomed })).await;
    assert_eq!(before["node"]["name"], "Doomed");
    admin
        .ok("mutation($id: ID!) { deleteUnit(input: {id: $id}) { deletedUnitId } }", json!({ "id": doomed }))
        .await;
    let gone = admin.gql(NODE, json!({ "id": doomed })).await;
    assert_eq!(gone, json!({ "data": { "node": null }, "errors": [] }));

    let asked = json!([
        ids.period("Spring 2026"),
        ids.unit("Platform"),
        doomed,
        ids.person("Vic Viewer"),
        "not-an-id",
        b_ids.unit("Bravo Lab"),
        ids.org,
        ids.unit("Platform"),
    ]);
    let response = admin.gql(NODES, json!({ "ids": asked })).await;
    let got: Vec<Value> = expect_data(&response)["nodes"]
        .as_array()
        .expect("nodes is a list")
        .iter()
        .map(|n| if n.is_null() { Value::Null } else { json!([n["__typename"], n["name"]]) })
        .collect();
    assert_eq!(
        got,
        vec![
            json!(["Period", "Spring 2026"]),
            json!(["Unit", "Platform"]),
            Value::Null,
            json!(["Person", "Vic Viewer"]),
            Value::Null,
            Value::Null,
            json!(["Organization", "Alpha Corp"]),
            json!(["Unit", "Platform"]),
        ]
    );
}

pub async fn malformed_ids_are_null_without_error(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let mangled = format!("{}x", ids.unit("Engineering"));
    let truncated = ids.unit("Engineering")[..10].to_owned();
    for bad in
        ["", "not-an-id", "!!!", "Unit:42", "VW5pdDpub3QtYS11dWlk", mangled.as_str(), truncated.as_str()]
    {
        let response = admin.gql(NODE, json!({ "id": bad })).await;
        assert_eq!(response, json!({ "data": { "node": null }, "errors": [] }), "node({bad:?})");
    }
    // Positive control: the well-formed id resolves in the same session.
    let ok = admin.ok(NODE, json!({ "id": ids.unit("Engineering") })).await;
    assert_eq!(ok["node"]["name"], "Engineering");
}

pub async fn other_tenants_ids_are_null_like_missing_ones(db: TestDb) {
    let w = World::new(&db).await;
    let a_admin = w.a_admin().await;
    let b_admin = w.b_admin().await;
    let b_ids = b_admin.ids().await;
    let cases = [
        ("Organization", b_ids.org.clone(), "Bravo Inc"),
        ("Unit", b_ids.unit("Bravo Inc"), "Bravo Inc"),
        ("Unit", b_ids.unit("Bravo Lab"), "Bravo Lab"),
        ("Person", b_ids.person("Bea Bravo"), "Bea Bravo"),
        ("Person", b_ids.person("Bob Admin"), "Bob Admin"),
        ("Period", b_ids.period("Bravo Q1"), "Bravo Q1"),
    ];
    for (typename, id, name) in &cases {
        // Positive control: B's admin refetches B's object.
        let own = b_admin.ok(NODE, json!({ "id": id })).await;
        assert_eq!(own["node"]["__typename"], *typename);
        assert_eq!(own["node"]["name"], *name);
        // A's admin gets exactly what a missing id gives: null, no error.
        let foreign = a_admin.gql(NODE, json!({ "id": id })).await;
        assert_eq!(
            foreign,
            json!({ "data": { "node": null }, "errors": [] }),
            "A's admin on B's {typename} {name}"
        );
    }
    let all: Vec<&String> = cases.iter().map(|(_, id, _)| id).collect();
    let response = a_admin.gql(NODES, json!({ "ids": all })).await;
    assert_eq!(expect_data(&response)["nodes"], json!(vec![Value::Null; cases.len()]));
}
