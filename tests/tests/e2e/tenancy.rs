//! Tenants over HTTP: another tenant's objects are as good as missing.

use goalgraph_e2e::{TestServer, create_org, start};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const NODE: &str = "query($id: ID!) { node(id: $id) { id ... on Unit { name version } } }";
const UPDATE: &str = "mutation($id: ID!, $name: String!) { updateUnit(input: { id: $id, name: $name }) { unit { name version } } }";
const DELETE: &str = "mutation($id: ID!) { deleteUnit(input: { id: $id }) { deletedUnitId } }";

async fn node(server: &TestServer, token: &str, id: &str) -> Value {
    server.gql_ok(token, NODE, json!({ "id": id })).await["node"].clone()
}

pub async fn tenants_cannot_reach_each_other(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let globex = create_org(server.store(), "globex").await;
    let a = server.token(&acme, &acme.admin);
    let b = server.token(&globex, &globex.admin);
    let a_company = server.company_unit_id(&a).await;
    let b_company = server.company_unit_id(&b).await;
    let a_unit = server.create_department(&a, &a_company, "Acme Research").await;
    let b_unit = server.create_department(&b, &b_company, "Globex Research").await;
    let b_units = server.unit_count(&b).await;

    // Positive controls: A reaches its own unit.
    assert_eq!(node(&server, &a, &a_unit).await["name"], "Acme Research");
    let data = server.gql_ok(&a, UPDATE, json!({ "id": a_unit, "name": "Acme Labs" })).await;
    assert_eq!(data["updateUnit"]["unit"]["name"], "Acme Labs");

    // A's admin sees nothing of B...
    for id in [&b_unit, &b_company] {
        assert_eq!(node(&server, &a, id).await, Value::Null, "node {id}");
    }
    let data = server
        .gql_ok(&a, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": [b_unit, a_unit] }))
        .await;
    assert_eq!(data["nodes"][0], Value::Null);
    assert!(data["nodes"][1]["id"].is_string());
    // ...and changes nothing of B: NOT_FOUND, exactly like a missing unit.
    server.gql(Some(&a), UPDATE, json!({ "id": b_unit, "name": "Hacked" })).await.assert_error("NOT_FOUND");
    server.gql(Some(&a), DELETE, json!({ "id": b_unit })).await.assert_error("NOT_FOUND");
    let planted = server
        .gql(Some(&a), goalgraph_e2e::CREATE_UNIT, json!({ "parent": b_company, "name": "Planted" }))
        .await;
    assert!(planted.code().is_some(), "A created a unit below B's company: {}", planted.body);
    assert!(planted.body["data"].is_null(), "{}", planted.body);

    // B's data is unchanged, as B sees it.
    let b_view = node(&server, &b, &b_unit).await;
    assert_eq!(b_view["name"], "Globex Research");
    assert_eq!(b_view["version"], 1);
    assert_eq!(server.unit_count(&b).await, b_units);
    let data =
        server.gql_ok(&b, "{ units(filter: { search: \"Planted\" }) { totalCount } }", json!({})).await;
    assert_eq!(data["units"]["totalCount"], 0);
    server.stop().await;
}
