//! Error codes in `extensions.code` (PRODUCT.md, "Interfaces"): each one
//! produced by a real mutation, next to a positive control, and each failure
//! checked to have written nothing.

use crate::support::{World, expect_data, expect_error};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const CREATE_UNIT: &str =
    "mutation($input: CreateUnitInput!) { createUnit(input: $input) { unit { name kind version } } }";
const UPDATE_UNIT: &str =
    "mutation($input: UpdateUnitInput!) { updateUnit(input: $input) { unit { name version } } }";
const CREATE_PERIOD: &str =
    "mutation($input: CreatePeriodInput!) { createPeriod(input: $input) { period { name status } } }";
const CREATE_PERSON: &str =
    "mutation($input: CreatePersonInput!) { createPerson(input: $input) { person { name email roles } } }";
const UPDATE_PERSON: &str =
    "mutation($input: UpdatePersonInput!) { updatePerson(input: $input) { person { name roles version } } }";
const UPDATE_ORGANIZATION: &str = "mutation($input: UpdateOrganizationInput!) {
    updateOrganization(input: $input) { organization { name version } } }";
const UNIT: &str = "query($id: ID!) { node(id: $id) { ... on Unit { name version } } }";
const PERSON: &str = "query($id: ID!) { node(id: $id) { ... on Person { name roles version } } }";

fn sorted_roles(v: &Value) -> Vec<String> {
    let mut roles: Vec<String> =
        v.as_array().expect("roles").iter().map(|r| r.as_str().expect("role").to_owned()).collect();
    roles.sort();
    roles
}

pub async fn bad_user_input_names_the_field(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let units = w.a.units.len() as u64;
    assert_eq!(admin.count("units").await, units);

    // An empty (or blank) name.
    for blank in ["", "   "] {
        let r = admin
            .gql(
                CREATE_UNIT,
                json!({ "input": { "kind": "TEAM", "name": blank, "parentId": ids.unit("Sales") } }),
            )
            .await;
        expect_error(&r, "BAD_USER_INPUT", Some("name"));
    }
    // A Person id where a Unit id belongs.
    let r = admin
        .gql(
            CREATE_UNIT,
            json!({ "input": { "kind": "TEAM", "name": "Inside Sales", "parentId": ids.person("Sam Seller") } }),
        )
        .await;
    expect_error(&r, "BAD_USER_INPUT", Some("parentId"));
    assert_eq!(admin.count("units").await, units, "a rejected createUnit wrote a unit");
    // Positive control: the same mutation with a name and a unit id.
    let r = admin
        .gql(
            CREATE_UNIT,
            json!({ "input": { "kind": "TEAM", "name": "Inside Sales", "parentId": ids.unit("Sales") } }),
        )
        .await;
    assert_eq!(
        expect_data(&r)["createUnit"]["unit"],
        json!({ "name": "Inside Sales", "kind": "TEAM", "version": 1 })
    );
    assert_eq!(admin.count("units").await, units + 1);

    // A period that ends before (or on) its start.
    let periods = w.a.periods.len() as u64;
    for end in ["2026-06-30", "2026-07-01"] {
        let r = admin
            .gql(
                CREATE_PERIOD,
                json!({ "input": { "name": "Summer 2026", "startDate": "2026-07-01", "endDate": end } }),
            )
            .await;
        expect_error(&r, "BAD_USER_INPUT", Some("endDate"));
    }
    assert_eq!(admin.count("periods").await, periods, "a rejected createPeriod wrote a period");
    let r = admin
        .gql(
            CREATE_PERIOD,
            json!({ "input": { "name": "Summer 2026", "startDate": "2026-07-01", "endDate": "2026-09-30" } }),
        )
        .await;
    assert_eq!(
        expect_data(&r)["createPeriod"]["period"],
        json!({ "name": "Summer 2026", "status": "PLANNING" })
    );
    assert_eq!(admin.count("periods").await, periods + 1);
}

pub async fn forbidden_for_those_who_may_see_but_not_change(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let hr = w.a.session(&w.store, "Hana Human").await;
    let member = w.a.session(&w.store, "Mia Member").await;
    let ids = admin.ids().await;
    let units = w.a.units.len() as u64;

    // A MEMBER creates no units.
    let input =
        json!({ "input": { "kind": "TEAM", "name": "Skunkworks", "parentId": ids.unit("Engineering") } });
    expect_error(&member.gql(CREATE_UNIT, input.clone()).await, "FORBIDDEN", None);
    assert_eq!(admin.count("units").await, units);
    // Positive control: HR does.
    assert_eq!(expect_data(&hr.gql(CREATE_UNIT, input).await)["createUnit"]["unit"]["name"], "Skunkworks");
    assert_eq!(admin.count("units").await, units + 1);

    // HR changes no roles, and a rejected update writes none of its fields.
    let olga = ids.person("Olga Other");
    let r = hr
        .gql(
            UPDATE_PERSON,
            json!({ "input": { "id": olga, "name": "Olga Promoted", "roles": ["MEMBER", "MANAGER"] } }),
        )
        .await;
    expect_error(&r, "FORBIDDEN", None);
    let after = admin.ok(PERSON, json!({ "id": olga })).await;
    assert_eq!(after["node"], json!({ "name": "Olga Other", "roles": ["MEMBER"], "version": 1 }));
    // Positive controls: HR renames; ADMIN changes roles.
    let r = hr.gql(UPDATE_PERSON, json!({ "input": { "id": olga, "name": "Olga Renamed" } })).await;
    assert_eq!(expect_data(&r)["updatePerson"]["person"]["name"], "Olga Renamed");
    let r =
        admin.gql(UPDATE_PERSON, json!({ "input": { "id": olga, "roles": ["MEMBER", "MANAGER"] } })).await;
    assert_eq!(sorted_roles(&expect_data(&r)["updatePerson"]["person"]["roles"]), ["MANAGER", "MEMBER"]);

    // A MEMBER changes no organization.
    let rename = json!({ "input": { "name": "Member Corp" } });
    expect_error(&member.gql(UPDATE_ORGANIZATION, rename.clone()).await, "FORBIDDEN", None);
    let org = admin.ok("{ organization { name version } }", json!({})).await;
    assert_eq!(org["organization"], json!({ "name": "Alpha Corp", "version": 1 }));
    let r = admin.gql(UPDATE_ORGANIZATION, rename).await;
    assert_eq!(
        expect_data(&r)["updateOrganization"]["organization"],
        json!({ "name": "Member Corp", "version": 2 })
    );
}

pub async fn not_found_for_another_tenants_object(db: TestDb) {
    let w = World::new(&db).await;
    let a_admin = w.a_admin().await;
    let b_admin = w.b_admin().await;
    let ids = a_admin.ids().await;
    let b_lab = b_admin.ids().await.unit("Bravo Lab");

    let r = a_admin.gql(UPDATE_UNIT, json!({ "input": { "id": b_lab, "name": "Hijacked" } })).await;
    expect_error(&r, "NOT_FOUND", None);
    let unchanged = b_admin.ok(UNIT, json!({ "id": b_lab })).await;
    assert_eq!(unchanged["node"], json!({ "name": "Bravo Lab", "version": 1 }));
    // Positive control: the same mutation on A's own unit.
    let r = a_admin
        .gql(UPDATE_UNIT, json!({ "input": { "id": ids.unit("Platform"), "name": "Platform Team" } }))
        .await;
    assert_eq!(expect_data(&r)["updateUnit"]["unit"], json!({ "name": "Platform Team", "version": 2 }));
}

pub async fn conflict_on_stale_versions_and_duplicate_emails(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;

    // Optimistic concurrency: the version read, then a second writer with the same.
    let mobile = ids.unit("Mobile");
    let read = admin.ok(UNIT, json!({ "id": mobile })).await["node"]["version"].as_i64().expect("version");
    let first = admin
        .gql(
            UPDATE_UNIT,
            json!({ "input": { "id": mobile, "name": "Mobile Apps", "expectedVersion": read } }),
        )
        .await;
    assert_eq!(
        expect_data(&first)["updateUnit"]["unit"],
        json!({ "name": "Mobile Apps", "version": read + 1 })
    );
    let stale = admin
        .gql(UPDATE_UNIT, json!({ "input": { "id": mobile, "name": "Mobile Web", "expectedVersion": read } }))
        .await;
    expect_error(&stale, "CONFLICT", None);
    let now = admin.ok(UNIT, json!({ "id": mobile })).await;
    assert_eq!(now["node"], json!({ "name": "Mobile Apps", "version": read + 1 }));

    // E-mail addresses are unique in a tenant, whatever their case.
    let people = w.a.people.len() as u64;
    let platform = ids.unit("Platform");
    let dup =
        json!({ "input": { "name": "Mia Again", "email": "MIA.Member@Alpha.example", "unitId": platform } });
    expect_error(&admin.gql(CREATE_PERSON, dup).await, "CONFLICT", None);
    assert_eq!(admin.count("people").await, people, "a rejected createPerson wrote a person");
    // Positive controls: a fresh address in A, and the same address in B.
    let fresh =
        json!({ "input": { "name": "Mia Again", "email": "mia.again@alpha.example", "unitId": platform } });
    let r = admin.gql(CREATE_PERSON, fresh).await;
    assert_eq!(
        expect_data(&r)["createPerson"]["person"],
        json!({ "name": "Mia Again", "email": "mia.again@alpha.example", "roles": ["MEMBER"] })
    );
    assert_eq!(admin.count("people").await, people + 1);
    let b_admin = w.b_admin().await;
    let b_lab = b_admin.ids().await.unit("Bravo Lab");
    let in_b =
        json!({ "input": { "name": "Mia Twin", "email": "mia.member@alpha.example", "unitId": b_lab } });
    assert_eq!(
        expect_data(&b_admin.gql(CREATE_PERSON, in_b).await)["createPerson"]["person"]["name"],
        "Mia Twin"
    );
}
