//! "No query, event or report may ever cross tenants" (PRODUCT.md): A's
//! people never see B's data through any query path, and every mutation
//! naming a B id answers NOT_FOUND (the object acted on) or BAD_USER_INPUT
//! (a reference such as `parentId`) and writes nothing anywhere.

use crate::support::{ROLE_HOLDERS, Session, Tenant, World, edge_names, expect_data, expect_error, sorted};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const LISTS: &str = "{ units(first: 1000) { totalCount edges { node { name } } }
    people(first: 1000) { totalCount edges { node { name } } }
    periods(first: 1000) { totalCount edges { node { name } } } }";

fn assert_lists(data: &Value, tenant: &Tenant, who: &str) {
    let expected = [
        ("units", tenant.unit_names()),
        ("people", tenant.person_names()),
        ("periods", tenant.period_names()),
    ];
    for (list, names) in expected {
        assert_eq!(sorted(edge_names(&data[list])), names, "{list} as {who}");
        assert_eq!(data[list]["totalCount"].as_u64(), Some(names.len() as u64), "{list}.totalCount as {who}");
    }
}

/// Every string of the response that another tenant owns.
fn leaks(response: &Value, other: &Tenant) -> Vec<String> {
    let text = response.to_string();
    other.fingerprints().into_iter().filter(|f| text.contains(f.as_str())).collect()
}

pub async fn lists_hold_only_the_tenants_own_rows(db: TestDb) {
    let w = World::new(&db).await;
    for (role, name) in ROLE_HOLDERS {
        let session = w.a.session(&w.store, name).await;
        let response = session.gql(LISTS, json!({})).await;
        assert_lists(&expect_data(&response), &w.a, &format!("{role:?} {name}"));
        assert_eq!(leaks(&response, &w.b), Vec::<String>::new(), "as {name}");
    }
    // Positive control: B's admin lists B's rows.
    let b_admin = w.b_admin().await;
    assert_lists(&b_admin.ok(LISTS, json!({})).await, &w.b, "Bob Admin");

    // Searches and filters naming B's things find nothing in A, and find
    // them in B.
    let a_admin = w.a_admin().await;
    let b_ids = b_admin.ids().await;
    let filtered = [
        ("units", json!({ "search": "Bravo" }), vec!["Bravo Inc", "Bravo Lab", "Bravo Research"]),
        ("units", json!({ "parentId": b_ids.unit("Bravo Inc") }), vec!["Bravo Research"]),
        ("people", json!({ "search": "bravo" }), vec!["Bea Bravo", "Ben Bravo", "Bob Admin"]),
        ("people", json!({ "unitId": b_ids.unit("Bravo Lab") }), vec!["Bea Bravo"]),
        ("people", json!({ "managerId": b_ids.person("Ben Bravo") }), vec!["Bea Bravo"]),
    ];
    for (list, filter, in_b) in filtered {
        let q = format!(
            "query($f: {}) {{ {list}(first: 100, filter: $f) {{ totalCount edges {{ node {{ name }} }} }} }}",
            if list == "units" { "UnitFilterInput" } else { "PeopleQueryFilter" }
        );
        let b = b_admin.ok(&q, json!({ "f": filter })).await;
        assert_eq!(sorted(edge_names(&b[list])), in_b, "{list}({filter}) as B's admin");
        let a = a_admin.ok(&q, json!({ "f": filter })).await;
        assert_eq!(a[list], json!({ "totalCount": 0, "edges": [] }), "{list}({filter}) as A's admin");
    }

    // node() on each of B's ids: null for A, the object for B.
    let node = "query($id: ID!) { node(id: $id) { id } }";
    let b_all: Vec<String> = std::iter::once(b_ids.org.clone())
        .chain(b_ids.units.values().cloned())
        .chain(b_ids.people.values().cloned())
        .chain(b_ids.periods.values().cloned())
        .collect();
    assert_eq!(b_all.len(), 1 + 3 + 3 + 1);
    for id in &b_all {
        assert_eq!(b_admin.ok(node, json!({ "id": id })).await["node"]["id"], json!(id));
        assert_eq!(a_admin.ok(node, json!({ "id": id })).await["node"], Value::Null);
    }
}

const TREE: &str = "{ organization { name companyUnit { name
    managers { name managedUnits { name } }
    people(first: 100) { edges { node { name manager { name } unit { name } managedUnits { name }
      directReports(first: 100) { edges { node { name } } } } } }
    children { name parent { name } ancestors { name }
      managers { name managedUnits { name } directReports(first: 100) { edges { node { name } } } }
      people(first: 100) { edges { node { name manager { name } unit { name } } } }
      children { name parent { name } ancestors { name } managers { name }
        people(first: 100) { edges { node { name unit { name }
          manager { name directReports(first: 100) { edges { node { name } } } } } } } } } } } }";

/// Every value of a `name` key anywhere in `value`.
fn all_names(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("name", Value::String(s)) => {
                        out.insert(s.clone());
                    }
                    _ => all_names(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| all_names(v, out)),
        _ => {}
    }
}

fn children<'a>(unit: &'a Value, name: &str) -> &'a Value {
    unit["children"]
        .as_array()
        .expect("children")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no child {name} in {unit:#}"))
}

pub async fn nested_fields_stay_in_the_tenant(db: TestDb) {
    let w = World::new(&db).await;
    for (tenant, other, admin) in [(&w.a, &w.b, "Ada Admin"), (&w.b, &w.a, "Bob Admin")] {
        let session = tenant.session(&w.store, admin).await;
        let response = session.gql(TREE, json!({})).await;
        let data = expect_data(&response);
        assert_eq!(leaks(&response, other), Vec::<String>::new(), "as {admin}");
        // Everything the tree names is the tenant's own: its units and
        // people, each reached through the nested fields.
        let mut names = BTreeSet::new();
        all_names(&data, &mut names);
        let expected: BTreeSet<String> =
            tenant.unit_names().into_iter().chain(tenant.person_names()).collect();
        assert_eq!(names, expected, "names in the tree as {admin}");
    }

    // A few nested values, from the fixture.
    let data = w.a_admin().await.ok(TREE, json!({})).await;
    let company = &data["organization"]["companyUnit"];
    assert_eq!(company["managers"], json!([]));
    assert_eq!(sorted(edge_names(&company["people"])), ["Ada Admin", "Hana Human"]);
    let engineering = children(company, "Engineering");
    assert_eq!(engineering["parent"], json!({ "name": "Alpha Corp" }));
    assert_eq!(engineering["ancestors"], json!([{ "name": "Alpha Corp" }]));
    assert_eq!(engineering["managers"][0]["name"], "Max Manager");
    assert_eq!(engineering["managers"][0]["managedUnits"], json!([{ "name": "Engineering" }]));
    assert_eq!(
        sorted(edge_names(&engineering["managers"][0]["directReports"])),
        ["Mia Member", "Olga Other"]
    );
    let platform = children(engineering, "Platform");
    assert_eq!(platform["ancestors"], json!([{ "name": "Engineering" }, { "name": "Alpha Corp" }]));
    let mia = &platform["people"]["edges"][0]["node"];
    assert_eq!(mia["name"], "Mia Member");
    assert_eq!(mia["unit"], json!({ "name": "Platform" }));
    assert_eq!(mia["manager"]["name"], "Max Manager");
}

/// Everything of a tenant a mutation could change, as its admin sees it.
async fn snapshot(admin: &Session) -> Value {
    admin
        .ok(
            "{ organization { name version settings { maxPageSize } }
               units(first: 1000) { edges { node { id name kind version externalId parent { id } managers { id } } } }
               people(first: 1000) { edges { node { id name email roles version active subject externalId
                 unit { id } manager { id } } } }
               periods(first: 1000) { edges { node { id name status startDate endDate version } } } }",
            json!({}),
        )
        .await
}

pub async fn mutations_with_other_tenants_ids_write_nothing(db: TestDb) {
    let w = World::new(&db).await;
    let a_admin = w.a_admin().await;
    let b_admin = w.b_admin().await;
    let a = a_admin.ids().await;
    let b = b_admin.ids().await;
    let a_before = snapshot(&a_admin).await;
    let b_before = snapshot(&b_admin).await;

    let update_unit = "mutation($i: UpdateUnitInput!) { updateUnit(input: $i) { unit { id } } }";
    let move_unit = "mutation($i: MoveUnitInput!) { moveUnit(input: $i) { unit { id } } }";
    let delete_unit = "mutation($i: DeleteUnitInput!) { deleteUnit(input: $i) { deletedUnitId } }";
    let set_managers = "mutation($i: SetUnitManagersInput!) { setUnitManagers(input: $i) { unit { id } } }";
    let create_unit = "mutation($i: CreateUnitInput!) { createUnit(input: $i) { unit { id } } }";
    let create_person = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { person { id } } }";
    let update_person = "mutation($i: UpdatePersonInput!) { updatePerson(input: $i) { person { id } } }";
    let update_period = "mutation($i: UpdatePeriodInput!) { updatePeriod(input: $i) { period { id } } }";
    let transition = "mutation($i: TransitionPeriodInput!) { transitionPeriod(input: $i) { period { id } } }";

    // (mutation, input, code, field): B's object acted on is NOT_FOUND; a
    // reference to B's object is BAD_USER_INPUT on that field.
    let cases = [
        (update_unit, json!({ "id": b.unit("Bravo Lab"), "name": "Hijacked" }), "NOT_FOUND", None),
        (update_unit, json!({ "id": b.unit("Bravo Inc"), "externalId": "x" }), "NOT_FOUND", None),
        (move_unit, json!({ "id": b.unit("Bravo Lab"), "parentId": b.unit("Bravo Inc") }), "NOT_FOUND", None),
        (
            move_unit,
            json!({ "id": a.unit("Platform"), "parentId": b.unit("Bravo Research") }),
            "BAD_USER_INPUT",
            Some("parentId"),
        ),
        (delete_unit, json!({ "id": b.unit("Bravo Lab") }), "NOT_FOUND", None),
        (
            set_managers,
            json!({ "unitId": b.unit("Bravo Research"), "managerIds": [a.person("Max Manager")] }),
            "NOT_FOUND",
            None,
        ),
        (set_managers, json!({ "unitId": b.unit("Bravo Research"), "managerIds": [] }), "NOT_FOUND", None),
        (
            set_managers,
            json!({ "unitId": a.unit("Sales"), "managerIds": [b.person("Bea Bravo")] }),
            "BAD_USER_INPUT",
            Some("managerIds[0]"),
        ),
        (
            create_unit,
            json!({ "kind": "TEAM", "name": "Trojan", "parentId": b.unit("Bravo Inc") }),
            "BAD_USER_INPUT",
            Some("parentId"),
        ),
        (
            create_person,
            json!({ "name": "Eve Spy", "email": "eve@alpha.example", "unitId": b.unit("Bravo Lab") }),
            "BAD_USER_INPUT",
            Some("unitId"),
        ),
        (
            create_person,
            json!({ "name": "Eve Spy", "email": "eve@alpha.example", "unitId": a.unit("Platform"),
                    "managerId": b.person("Ben Bravo") }),
            "BAD_USER_INPUT",
            Some("managerId"),
        ),
        (update_person, json!({ "id": b.person("Bea Bravo"), "name": "Hijacked" }), "NOT_FOUND", None),
        (update_person, json!({ "id": b.person("Bob Admin"), "roles": ["VIEWER"] }), "NOT_FOUND", None),
        (
            update_person,
            json!({ "id": a.person("Mia Member"), "unitId": b.unit("Bravo Lab") }),
            "BAD_USER_INPUT",
            Some("unitId"),
        ),
        (
            update_person,
            json!({ "id": a.person("Mia Member"), "managerId": b.person("Ben Bravo") }),
            "BAD_USER_INPUT",
            Some("managerId"),
        ),
        (update_period, json!({ "id": b.period("Bravo Q1"), "name": "Hijacked" }), "NOT_FOUND", None),
        (transition, json!({ "id": b.period("Bravo Q1"), "status": "ACTIVE" }), "NOT_FOUND", None),
        (transition, json!({ "id": b.period("Bravo Q1"), "status": "CLOSED" }), "NOT_FOUND", None),
    ];
    for (mutation, input, code, field) in &cases {
        let r = a_admin.gql(mutation, json!({ "i": input })).await;
        expect_error(&r, code, *field);
        assert_eq!(leaks(&r, &w.b), Vec::<String>::new(), "{mutation} {input}");
    }
    assert_eq!(snapshot(&b_admin).await, b_before, "B changed");
    assert_eq!(snapshot(&a_admin).await, a_before, "A changed");

    // Positive controls: the same mutations with A's own ids succeed, and
    // the snapshot sees the writes.
    let controls = [
        (update_unit, json!({ "id": a.unit("Mobile"), "name": "Mobile Apps" })),
        (move_unit, json!({ "id": a.unit("Platform"), "parentId": a.unit("Sales") })),
        (set_managers, json!({ "unitId": a.unit("Sales"), "managerIds": [a.person("Mia Member")] })),
        (create_unit, json!({ "kind": "TEAM", "name": "Insiders", "parentId": a.unit("Alpha Corp") })),
        (
            create_person,
            json!({ "name": "Eve Insider", "email": "eve@alpha.example", "unitId": a.unit("Platform"),
                    "managerId": a.person("Max Manager") }),
        ),
        (
            update_person,
            json!({ "id": a.person("Mia Member"), "unitId": a.unit("Mobile"), "managerId": a.person("Sam Seller") }),
        ),
        (update_period, json!({ "id": a.period("Winter 2026"), "name": "Winter 2026 (renamed)" })),
        (transition, json!({ "id": a.period("Autumn 2025"), "status": "CLOSED" })),
    ];
    for (mutation, input) in &controls {
        let r = a_admin.gql(mutation, json!({ "i": input })).await;
        expect_data(&r);
    }
    assert_ne!(snapshot(&a_admin).await, a_before, "the snapshot misses A's writes");
    assert_eq!(snapshot(&b_admin).await, b_before, "A's own writes changed B");
}
