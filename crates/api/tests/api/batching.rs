//! A nested query costs the same number of statements whatever the size of
//! the organization (no N+1): every relation resolves through a DataLoader
//! that loads all parents of one level in one statement.

use crate::support::{Session, Tenant, connect, expect_data};
use goalgraph_domain::model::{Role, UnitKind};
use goalgraph_persistence::Store;
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const TREE: &str = "{ organization { companyUnit { children { name managers { name }
    children { name managers { name }
      people(first: 100) { edges { node { name manager { name } unit { name } } } } } } } } }";

/// `depts` departments below the company, `teams` teams in each, and in
/// each team its lead (managing it, reporting to the department's manager)
/// and `people` members reporting to the lead.
async fn organization_of_size(
    store: &Store,
    slug: &str,
    depts: usize,
    teams: usize,
    people: usize,
) -> Tenant {
    let company = format!("Org {slug}");
    let mut t = Tenant::create(store, &company, slug, "Ada Admin").await;
    for d in 0..depts {
        let dept = format!("Dept {d}");
        let head = format!("Head {d}");
        t.add_unit(store, UnitKind::Department, &dept, &company).await;
        t.add_person(store, &head, &dept, None, &[Role::Manager]).await;
        t.set_managers(store, &dept, &[&head]).await;
        for k in 0..teams {
            let team = format!("Team {d}-{k}");
            let lead = format!("Lead {d}-{k}");
            t.add_unit(store, UnitKind::Team, &team, &dept).await;
            t.add_person(store, &lead, &team, Some(&head), &[Role::Manager]).await;
            t.set_managers(store, &team, &[&lead]).await;
            for i in 0..people {
                t.add_person(store, &format!("Member {d}-{k}-{i}"), &team, Some(&lead), &[Role::Member])
                    .await;
            }
        }
    }
    t
}

/// Checks the answer is the whole tree of the fixture, so both runs did the
/// same work at every level.
fn check_tree(data: &Value, depts: usize, teams: usize, people: usize) {
    let departments = data["organization"]["companyUnit"]["children"].as_array().expect("departments");
    assert_eq!(departments.len(), depts);
    for dept in departments {
        let d = dept["name"].as_str().expect("name").trim_start_matches("Dept ").to_owned();
        assert_eq!(dept["managers"], json!([{ "name": format!("Head {d}") }]));
        let team_list = dept["children"].as_array().expect("teams");
        assert_eq!(team_list.len(), teams);
        for team in team_list {
            let name = team["name"].as_str().expect("name").to_owned();
            let k = name.trim_start_matches("Team ").to_owned();
            assert_eq!(team["managers"], json!([{ "name": format!("Lead {k}") }]));
            let edges = team["people"]["edges"].as_array().expect("people");
            assert_eq!(edges.len(), people + 1, "{name}: its lead and {people} members");
            for edge in edges {
                let node = &edge["node"];
                assert_eq!(node["unit"], json!({ "name": name }));
                let expected_manager = if node["name"] == format!("Lead {k}") {
                    format!("Head {d}")
                } else {
                    format!("Lead {k}")
                };
                assert_eq!(node["manager"], json!({ "name": expected_manager }), "{node}");
            }
        }
    }
}

async fn statements_for(store: &Store, tenant: &Tenant) -> (u64, Value) {
    let session = Session::of(store, &tenant.admin).await;
    let before = store.statement_count();
    let response = session.gql(TREE, json!({})).await;
    let used = store.statement_count() - before;
    (used, expect_data(&response))
}

pub async fn statement_count_does_not_grow_with_the_data(db: TestDb) {
    let store = connect(&db).await;
    let (small_shape, large_shape) = ((3, 2, 2), (6, 4, 5));
    let small = organization_of_size(&store, "small", small_shape.0, small_shape.1, small_shape.2).await;
    let large = organization_of_size(&store, "large", large_shape.0, large_shape.1, large_shape.2).await;

    let (small_count, small_data) = statements_for(&store, &small).await;
    check_tree(&small_data, small_shape.0, small_shape.1, small_shape.2);
    let (large_count, large_data) = statements_for(&store, &large).await;
    check_tree(&large_data, large_shape.0, large_shape.1, large_shape.2);
    println!("statements for the tree: {small_count} (3×2×2), {large_count} (6×4×5)");

    // One statement per level and relation, whatever the size: the
    // organization, its company unit, the departments (children of one
    // parent), their managers' ids and those people, the teams (children of
    // all departments at once), their managers' ids and those people, the
    // first page of people of every team (one ranked statement), and those
    // people's managers and units: 10 on both sizes when every relation is
    // batched across its parents (the people of the second and third level
    // share a wave). Equality between the two sizes is the assertion; the
    // number is only reported.
    assert_eq!(
        small_count, large_count,
        "statements for the same query: {small_count} for 6 teams, {large_count} for 24 teams (N+1)"
    );
}
