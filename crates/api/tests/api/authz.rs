//! Who may run the directory and period mutations, by role. The expected
//! table is written by hand from PRODUCT.md's access table: ADMIN changes
//! everything (settings and roles included); HR changes people, units and
//! periods and closes periods, but grants no roles and changes no settings;
//! MANAGER, MEMBER and VIEWER change none of these. Every attempt is also
//! checked for its effect: a FORBIDDEN one must have written nothing.

use crate::support::{Ids, ROLE_HOLDERS, Session, World, error_code, expect_data};
use goalgraph_domain::model::Role;
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    CreateUnit,
    UpdateUnit,
    SetUnitManagers,
    CreatePerson,
    UpdatePersonName,
    UpdatePersonRoles,
    CreatePeriod,
    ActivatePeriod,
    ClosePeriod,
    UpdateOrganization,
}

const OPS: [Op; 10] = [
    Op::CreateUnit,
    Op::UpdateUnit,
    Op::SetUnitManagers,
    Op::CreatePerson,
    Op::UpdatePersonName,
    Op::UpdatePersonRoles,
    Op::CreatePeriod,
    Op::ActivatePeriod,
    Op::ClosePeriod,
    Op::UpdateOrganization,
];

const OK: &str = "ok";
const NO: &str = "FORBIDDEN";

/// Rows in the order of [`OPS`].
const EXPECTED: [(Role, [&str; 10]); 5] = [
    //              unit create, update, managers; person create, name, roles; period create, activate, close; org
    (Role::Admin, [OK, OK, OK, OK, OK, OK, OK, OK, OK, OK]),
    (Role::Hr, [OK, OK, OK, OK, OK, NO, OK, OK, OK, NO]),
    (Role::Manager, [NO, NO, NO, NO, NO, NO, NO, NO, NO, NO]),
    (Role::Member, [NO, NO, NO, NO, NO, NO, NO, NO, NO, NO]),
    (Role::Viewer, [NO, NO, NO, NO, NO, NO, NO, NO, NO, NO]),
];

const PERIOD_STATUS: &str = "query($id: ID!) { node(id: $id) { ... on Period { status } } }";

/// The admin's preparation of one attempt: targets in the state the
/// mutation needs (a period in PLANNING to activate, one in REVIEW to close,
/// a unit without managers, a person with only MEMBER).
async fn prepare(admin: &Session, ids: &Ids, op: Op, tag: &str) -> Value {
    let new_period = |name: String| async move {
        let data = admin
            .ok(
                "mutation($n: String!) { createPeriod(input: {name: $n,
                   startDate: \"2026-07-01\", endDate: \"2026-09-30\"}) { period { id } } }",
                json!({ "n": name }),
            )
            .await;
        data["createPeriod"]["period"]["id"].clone()
    };
    match op {
        Op::ActivatePeriod => new_period(format!("To activate {tag}")).await,
        Op::ClosePeriod => {
            let id = new_period(format!("To close {tag}")).await;
            admin
                .ok(
                    "mutation($id: ID!) { transitionPeriod(input: {id: $id, status: REVIEW}) { period { status } } }",
                    json!({ "id": id }),
                )
                .await;
            id
        }
        Op::SetUnitManagers => {
            admin
                .ok(
                    "mutation($u: ID!) { setUnitManagers(input: {unitId: $u, managerIds: []}) { unit { id } } }",
                    json!({ "u": ids.unit("Mobile") }),
                )
                .await;
            Value::Null
        }
        Op::UpdatePersonRoles => {
            admin
                .ok(
                    "mutation($p: ID!) { updatePerson(input: {id: $p, roles: [MEMBER]}) { person { id } } }",
                    json!({ "p": ids.person("Olga Other") }),
                )
                .await;
            Value::Null
        }
        _ => Value::Null,
    }
}

/// The mutation of `op` as `session`; answers "ok" or the error code.
async fn attempt(session: &Session, ids: &Ids, op: Op, tag: &str, target: &Value) -> String {
    let (query, vars) = match op {
        Op::CreateUnit => (
            "mutation($p: ID!, $n: String!) { createUnit(input: {kind: TEAM, name: $n, parentId: $p}) { unit { id } } }",
            json!({ "p": ids.unit("Engineering"), "n": format!("Unit {tag}") }),
        ),
        Op::UpdateUnit => (
            "mutation($u: ID!, $n: String!) { updateUnit(input: {id: $u, name: $n}) { unit { id } } }",
            json!({ "u": ids.unit("Platform"), "n": format!("Platform {tag}") }),
        ),
        Op::SetUnitManagers => (
            "mutation($u: ID!, $m: ID!) { setUnitManagers(input: {unitId: $u, managerIds: [$m]}) { unit { id } } }",
            json!({ "u": ids.unit("Mobile"), "m": ids.person("Olga Other") }),
        ),
        Op::CreatePerson => (
            "mutation($u: ID!, $n: String!, $e: String!) {
               createPerson(input: {name: $n, email: $e, unitId: $u}) { person { id } } }",
            json!({ "u": ids.unit("Platform"), "n": format!("Hire {tag}"), "e": format!("hire.{tag}@alpha.example") }),
        ),
        Op::UpdatePersonName => (
            "mutation($p: ID!, $n: String!) { updatePerson(input: {id: $p, name: $n}) { person { id } } }",
            json!({ "p": ids.person("Mia Member"), "n": format!("Mia {tag}") }),
        ),
        Op::UpdatePersonRoles => (
            "mutation($p: ID!) { updatePerson(input: {id: $p, roles: [MEMBER, VIEWER]}) { person { id } } }",
            json!({ "p": ids.person("Olga Other") }),
        ),
        Op::CreatePeriod => (
            "mutation($n: String!) { createPeriod(input: {name: $n,
               startDate: \"2026-10-01\", endDate: \"2026-12-31\"}) { period { id } } }",
            json!({ "n": format!("Period {tag}") }),
        ),
        Op::ActivatePeriod => (
            "mutation($id: ID!) { transitionPeriod(input: {id: $id, status: ACTIVE}) { period { status } } }",
            json!({ "id": target }),
        ),
        Op::ClosePeriod => (
            "mutation($id: ID!) { transitionPeriod(input: {id: $id, status: CLOSED}) { period { status } } }",
            json!({ "id": target }),
        ),
        Op::UpdateOrganization => (
            "mutation($n: String!) { updateOrganization(input: {name: $n}) { organization { name } } }",
            json!({ "n": format!("Alpha {tag}") }),
        ),
    };
    let response = session.gql(query, vars).await;
    match error_code(&response) {
        None => {
            expect_data(&response);
            OK.to_owned()
        }
        Some(code) => code,
    }
}

/// Whether the attempt's write is visible to the admin afterwards; "error"
/// when the check itself failed.
async fn effect(admin: &Session, ids: &Ids, op: Op, tag: &str, target: &Value) -> &'static str {
    let now = admin.ids().await;
    let seen = match op {
        Op::CreateUnit => Some(now.units.contains_key(&format!("Unit {tag}"))),
        Op::UpdateUnit => Some(now.units.contains_key(&format!("Platform {tag}"))),
        Op::CreatePerson => Some(now.people.contains_key(&format!("Hire {tag}"))),
        Op::UpdatePersonName => Some(now.people.contains_key(&format!("Mia {tag}"))),
        Op::CreatePeriod => Some(now.periods.contains_key(&format!("Period {tag}"))),
        Op::UpdateOrganization => {
            let data = admin.ok("{ organization { name } }", json!({})).await;
            Some(data["organization"]["name"] == format!("Alpha {tag}"))
        }
        Op::ActivatePeriod | Op::ClosePeriod => {
            let data = admin.ok(PERIOD_STATUS, json!({ "id": target })).await;
            let want = if op == Op::ActivatePeriod { "ACTIVE" } else { "CLOSED" };
            Some(data["node"]["status"] == want)
        }
        Op::UpdatePersonRoles => {
            let data = admin
                .ok(
                    "query($p: ID!) { node(id: $p) { ... on Person { roles } } }",
                    json!({ "p": ids.person("Olga Other") }),
                )
                .await;
            Some(data["node"]["roles"].as_array().expect("roles").contains(&json!("VIEWER")))
        }
        Op::SetUnitManagers => {
            let r = admin
                .gql(
                    "query($u: ID!) { node(id: $u) { ... on Unit { managers { name } } } }",
                    json!({ "u": ids.unit("Mobile") }),
                )
                .await;
            if error_code(&r).is_some() {
                None
            } else {
                Some(r["data"]["node"]["managers"] == json!([{ "name": "Olga Other" }]))
            }
        }
    };
    match seen {
        Some(true) => "written",
        Some(false) => "nothing",
        None => "error",
    }
}

pub async fn authorization_matrix_of_directory_and_period_mutations(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    // Read once: the admin's own attempts rename Platform and Mia.
    let ids = admin.ids().await;
    let mut outcomes = vec![];
    let mut effects = vec![];
    for (role, holder) in ROLE_HOLDERS {
        let session = w.a.session(&w.store, holder).await;
        let mut row = vec![];
        let mut written = vec![];
        for (i, op) in OPS.into_iter().enumerate() {
            let tag = format!("{}{i}", role.as_str().to_lowercase());
            let target = prepare(&admin, &ids, op, &tag).await;
            row.push(attempt(&session, &ids, op, &tag, &target).await);
            written.push(effect(&admin, &ids, op, &tag, &target).await);
        }
        outcomes.push((role, row));
        effects.push((role, written));
    }
    let expected: Vec<(Role, Vec<String>)> =
        EXPECTED.iter().map(|(role, row)| (*role, row.iter().map(|s| (*s).to_owned()).collect())).collect();
    assert_eq!(outcomes, expected, "outcomes by role, columns {OPS:?}");
    // "ok" wrote, FORBIDDEN wrote nothing.
    let expected_effects: Vec<(Role, Vec<&str>)> = EXPECTED
        .iter()
        .map(|(role, row)| {
            (*role, row.iter().map(|s| if *s == OK { "written" } else { "nothing" }).collect())
        })
        .collect();
    assert_eq!(effects, expected_effects, "effects by role, columns {OPS:?}");
}
