//! docs/access.md through the GraphQL API. Every cell of the hand-written
//! copy of its tables (`access_table.rs`) runs as its role against one
//! tenant: reads on every path that can reach the object (a hidden one
//! must be absent from all of them and named in no response), each
//! subscription at subscribe time, and each mutation on an object that no
//! other cell touches. Every disagreement is collected, so a wrong rule in
//! the policy shows all the cells it breaks. Also here: role and unit
//! changes apply on the next request, and input never chooses the tenant
//! or a role.
//!
//! The tenant (names as in the fixture):
//! ```text
//! Access Co (company)       Ada Admin [ADMIN], Hal Hr [HR]
//! ├── Dept A                Lena Lead [MANAGER], manages Dept A
//! │   └── Team A1           Owen Owner [MEMBER] (owns the objects), Una Unitmate [MEMBER],
//! │                         Vera Viewer [VIEWER]
//! ├── Dept B                Omar Other [MANAGER], manages Dept B
//! │   └── Team B1           Eli Elsewhere [MEMBER]
//! └── Sandbox (dept)        Sid Sandbox [MEMBER]; the directory cells write here
//! period "Access Q" (ACTIVE, around today); settings: at most 2 objectives
//! per owner and 1 KPI per unit, so `insights` names every object below
//! Orion public goal   Owen, PUBLIC, driver BOTH   key result "Orion KR", check-in "orion-note"
//! ├── Lyra unit goal  Owen, UNIT                  "Lyra KR", "lyra-note"
//! └── Vega private goal Owen, PRIVATE             "Vega KR", "vega-note"
//! Draco team goal     Team A1, UNIT               "Draco KR" (owned by Owen), "draco-note"
//! KPIs of Team A1 owned by Owen: "Deploy rate" (OPERATIONAL), "Attrition rate" (PEOPLE)
//! integrations: one API key each with okr:read, kpi:write, kpi:write given only
//! "Deploy rate", directory:write
//! ```

use crate::access_table::{Act, COLUMNS, Object, Outcome, TABLE, Who, expected};
use crate::kpi_support::{RECORD_ONE, kpi_input, rfc3339};
use crate::okr_support::{CHECK_IN, create_key_result, create_objective, period_around_today, random_id};
use crate::support::{Ids, Session, Tenant, connect, error_code, expect_data, schema};
use async_graphql::{Request, Variables};
use chrono::{Duration, Utc};
use futures_util::StreamExt;
use goalgraph_api::ids::NodeType;
use goalgraph_api::{RequestContext, StreamItem};
use goalgraph_domain::model::{Role, RoleSet, UnitKind};
use goalgraph_domain::policy::Actor;
use goalgraph_persistence::{PersonPatch, Store};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};
use std::collections::HashMap;

/// How long an allowed subscription may stay silent before it counts as
/// accepted: a refusal comes back at once (the subscribe-time check), an
/// accepted one yields nothing until an event. All subscription cells wait
/// at the same time, so the test pays this once.
const SUBSCRIBE_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// An objective of the fixture with its key result and check-in.
#[derive(Clone)]
struct Goal {
    id: String,
    title: &'static str,
    kr: String,
    kr_title: &'static str,
    check_in: String,
    note: &'static str,
}

impl Goal {
    fn secrets(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.title.to_owned(),
            self.kr.clone(),
            self.kr_title.to_owned(),
            self.check_in.clone(),
            self.note.to_owned(),
        ]
    }
}

#[derive(Clone)]
struct KpiRef {
    id: String,
    name: &'static str,
    external_id: &'static str,
}

struct Fixture {
    store: Store,
    tenant: Tenant,
    admin_actor: Actor,
    ids: Ids,
    org_id: String,
    sessions: HashMap<Who, Session>,
    period: String,
    goals: HashMap<Object, Goal>,
    kpis: HashMap<Object, KpiRef>,
    /// (id, name) of the integrations the columns use.
    integrations: Vec<(String, String)>,
}

/// (name, unit, role) of everyone but the admin, who comes with the tenant.
const PEOPLE: [(&str, &str, Role); 8] = [
    ("Hal Hr", "Access Co", Role::Hr),
    ("Lena Lead", "Dept A", Role::Manager),
    ("Omar Other", "Dept B", Role::Manager),
    ("Una Unitmate", "Team A1", Role::Member),
    ("Eli Elsewhere", "Team B1", Role::Member),
    ("Owen Owner", "Team A1", Role::Member),
    ("Vera Viewer", "Team A1", Role::Viewer),
    ("Sid Sandbox", "Sandbox", Role::Member),
];

/// The person who plays `who`.
fn name_of(who: Who) -> &'static str {
    match who {
        Who::Admin => "Ada Admin",
        Who::Hr => "Hal Hr",
        Who::ManagerOfA => "Lena Lead",
        Who::ManagerOfB => "Omar Other",
        Who::MemberOfA1 => "Una Unitmate",
        Who::MemberOfB1 => "Eli Elsewhere",
        Who::Owner => "Owen Owner",
        Who::Viewer => "Vera Viewer",
        Who::OkrRead | Who::KpiWrite | Who::KpiWriteOfKpi | Who::DirectoryWrite => {
            unreachable!("an integration")
        }
    }
}

impl Fixture {
    fn s(&self, who: Who) -> &Session {
        &self.sessions[&who]
    }

    fn admin(&self) -> &Session {
        self.s(Who::Admin)
    }

    fn goal(&self, object: Object) -> &Goal {
        self.goals.get(&object).unwrap_or_else(|| panic!("{object:?} is not an objective of the fixture"))
    }

    fn kpi(&self, object: Object) -> &KpiRef {
        self.kpis.get(&object).unwrap_or_else(|| panic!("{object:?} is not a KPI of the fixture"))
    }

    fn unit(&self, name: &str) -> String {
        self.ids.unit(name)
    }

    fn person(&self, name: &str) -> String {
        self.ids.person(name)
    }
}

async fn fixture(store: &Store, slug: &str) -> Fixture {
    let store = store.clone();
    let mut t = Tenant::create(&store, "Access Co", slug, "Ada Admin").await;
    t.add_unit(&store, UnitKind::Department, "Dept A", "Access Co").await;
    t.add_unit(&store, UnitKind::Team, "Team A1", "Dept A").await;
    t.add_unit(&store, UnitKind::Department, "Dept B", "Access Co").await;
    t.add_unit(&store, UnitKind::Team, "Team B1", "Dept B").await;
    t.add_unit(&store, UnitKind::Department, "Sandbox", "Access Co").await;
    for (name, unit, role) in PEOPLE {
        t.add_person(&store, name, unit, None, &[role]).await;
    }
    t.set_managers(&store, "Dept A", &["Lena Lead"]).await;
    t.set_managers(&store, "Dept B", &["Omar Other"]).await;
    let (start, end) = period_around_today(45);
    t.add_period(&store, "Access Q", &start.to_string(), &end.to_string()).await;
    let admin_actor = store.person_actor(&t.admin, &RoleSet::default()).await.expect("admin actor");

    let admin = t.session(&store, "Ada Admin").await;
    let ids = admin.ids().await;
    let period = ids.period("Access Q");
    admin
        .ok(
            "mutation($id: ID!) { transitionPeriod(input: {id: $id, status: ACTIVE}) { period { id } } }",
            json!({ "id": period }),
        )
        .await;
    // Low thresholds: the owner's three objectives and the team's two KPIs
    // are flagged by `insights`, which then names each visible one.
    admin
        .ok(
            "mutation { updateOrganization(input: {settings: {maxObjectivesPerOwner: 2, maxKpisPerUnit: 1}}) {
               organization { id } } }",
            json!({}),
        )
        .await;
    // The settings are read per request: sessions from here on see them.
    let admin = t.session(&store, "Ada Admin").await;

    let owen = ids.person("Owen Owner");
    let a1 = ids.unit("Team A1");
    let objective = |owner: (&str, &str), title: &str, visibility: &str, parent: Option<&str>| {
        let mut input = json!({ "periodId": period, "title": title, "visibility": visibility,
                                "parentObjectiveId": parent, "status": "ACTIVE" });
        input[owner.0] = json!(owner.1);
        input
    };
    let by_owen = ("ownerPersonId", owen.as_str());
    let mut public_input = objective(by_owen, "Orion public goal", "PUBLIC", None);
    public_input["progressDriver"] = json!("BOTH");
    let public = create_objective(&admin, public_input).await;
    let specs = [
        (Object::PublicObjective, public.clone(), "Orion public goal", "Orion KR", "orion-note"),
        (
            Object::UnitObjective,
            create_objective(&admin, objective(by_owen, "Lyra unit goal", "UNIT", Some(&public))).await,
            "Lyra unit goal",
            "Lyra KR",
            "lyra-note",
        ),
        (
            Object::PrivateObjective,
            create_objective(&admin, objective(by_owen, "Vega private goal", "PRIVATE", Some(&public))).await,
            "Vega private goal",
            "Vega KR",
            "vega-note",
        ),
        (
            Object::TeamObjective,
            create_objective(
                &admin,
                objective(("ownerUnitId", a1.as_str()), "Draco team goal", "UNIT", None),
            )
            .await,
            "Draco team goal",
            "Draco KR",
            "draco-note",
        ),
    ];
    let mut goals = HashMap::new();
    for (object, id, title, kr_title, note) in specs {
        let kr = create_key_result(
            &admin,
            json!({ "objectiveId": id, "ownerId": owen, "title": kr_title, "measure": "INCREASE",
                    "start": 0.0, "target": 10.0 }),
        )
        .await;
        let done =
            admin.ok(CHECK_IN, json!({ "input": { "keyResultId": kr, "value": 4.0, "note": note } })).await;
        let check_in = done["checkIn"]["checkIn"]["id"].as_str().expect("check-in id").to_owned();
        goals.insert(object, Goal { id, title, kr, kr_title, check_in, note });
    }

    let mut kpis = HashMap::new();
    let yesterday = rfc3339(Utc::now() - Duration::days(1));
    for (object, name, category, external_id) in [
        (Object::Kpi, "Deploy rate", "OPERATIONAL", "ext-deploys"),
        (Object::PeopleKpi, "Attrition rate", "PEOPLE", "ext-attrition"),
    ] {
        let id = crate::kpi_support::create_kpi(
            &admin,
            kpi_input(&a1, &owen, name, json!({ "category": category, "externalId": external_id })),
        )
        .await;
        admin
            .ok(RECORD_ONE, json!({ "input": { "kpiId": id, "observedAt": yesterday, "value": 95.0 } }))
            .await;
        kpis.insert(object, KpiRef { id, name, external_id });
    }

    let mut sessions = HashMap::new();
    for who in COLUMNS {
        let session = match who {
            Who::OkrRead | Who::KpiWrite | Who::KpiWriteOfKpi | Who::DirectoryWrite => {
                integration(&store, &admin, who, &kpis[&Object::Kpi].id).await
            }
            _ => t.session(&store, name_of(who)).await,
        };
        sessions.insert(who, session);
    }
    let listed = admin.ok("{ integrations { id name } }", json!({})).await;
    let integrations = listed["integrations"]
        .as_array()
        .expect("integrations")
        .iter()
        .map(|i| (i["id"].as_str().expect("id").to_owned(), i["name"].as_str().expect("name").to_owned()))
        .collect();
    let org_id = ids.org.clone();
    Fixture { store, tenant: t, admin_actor, ids, org_id, sessions, period, goals, kpis, integrations }
}

/// The session of a new integration with the scope of `who` (given only
/// `kpi` for [`Who::KpiWriteOfKpi`]), as the server builds it from the key.
async fn integration(store: &Store, admin: &Session, who: Who, kpi: &str) -> Session {
    let (scope, name, kpis) = match who {
        Who::OkrRead => ("OKR_READ", "Okr reader", Value::Null),
        Who::KpiWrite => ("KPI_WRITE", "Kpi feeder", Value::Null),
        Who::KpiWriteOfKpi => ("KPI_WRITE", "Deploy feeder", json!([kpi])),
        Who::DirectoryWrite => ("DIRECTORY_WRITE", "Hris sync", Value::Null),
        _ => unreachable!("not an integration"),
    };
    let created = admin
        .ok(
            "mutation($n: String!, $s: IntegrationScope!, $k: [ID!]) {
               createIntegration(input: {name: $n, scopes: [$s], kpiIds: $k}) { apiKey } }",
            json!({ "n": name, "s": scope, "k": kpis }),
        )
        .await;
    let key = created["createIntegration"]["apiKey"].as_str().expect("apiKey");
    let (org, actor) =
        store.resolve_integration_actor(key).await.expect("resolve the key").expect("a live key");
    let ctx = RequestContext { actor, person: None, settings: org.settings, request_id: "test".into() };
    Session { store: store.clone(), ctx }
}

fn outcome_of(response: &Value) -> Result<Outcome, String> {
    match error_code(response).as_deref() {
        None if response["errors"].as_array().is_none_or(Vec::is_empty) => Ok(Outcome::Yes),
        Some("NOT_FOUND") => Ok(Outcome::No),
        Some("FORBIDDEN") => Ok(Outcome::Forbidden),
        _ => Err(format!("neither an answer nor NOT_FOUND/FORBIDDEN: {response}")),
    }
}

/// The number of the fixture's objects among `objects` hidden from `who`.
fn hidden_among(who: Who, objects: &[Object]) -> usize {
    objects.iter().filter(|o| expected(**o, Act::Read, who) == Outcome::No).count()
}

/// One read path: its name and what it answered.
type Answers = Vec<(String, Value)>;

const NODE_OBJECTIVE: &str = "query($id: ID!) { node(id: $id) { id ... on Objective { title
    keyResults { id title checkIns(first: 10) { edges { node { id note } } } } } } }";
const NODE_KEY_RESULT: &str = "query($id: ID!) { node(id: $id) { id ... on KeyResult { title
    objective { id } checkIns(first: 10) { edges { node { id note } } } } } }";
const NODE_CHECK_IN: &str =
    "query($id: ID!) { node(id: $id) { id ... on CheckIn { note keyResult { id } } } }";
const NODE_KPI: &str =
    "query($id: ID!) { node(id: $id) { id ... on Kpi { name measurements(first: 10) { totalCount } } } }";

/// Every read path, once, as `s`.
async fn read_all(fx: &Fixture, s: &Session) -> Answers {
    let mut out: Answers = Vec::new();
    let node = "query($id: ID!) { node(id: $id) { id
        ... on Unit { name } ... on Person { name } ... on Period { name } } }";
    let org_id = &fx.org_id;
    let simple: [(&str, &str, Value); 8] = [
        ("organization", "{ organization { id name } }", json!({})),
        ("node(organization)", node, json!({ "id": org_id })),
        ("units", "{ units(first: 100) { edges { node { id name } } } }", json!({})),
        ("node(Team A1)", node, json!({ "id": fx.unit("Team A1") })),
        ("people", "{ people(first: 100) { edges { node { id name } } } }", json!({})),
        ("node(Owen Owner)", node, json!({ "id": fx.person("Owen Owner") })),
        ("periods", "{ periods(first: 100) { edges { node { id name } } } }", json!({})),
        ("node(Access Q)", node, json!({ "id": fx.period })),
    ];
    for (path, query, vars) in simple {
        out.push((path.to_owned(), s.gql(query, vars).await));
    }
    let mut all_ids: Vec<String> = Vec::new();
    for object in GOALS {
        let g = fx.goal(object);
        out.push((format!("node({})", g.title), s.gql(NODE_OBJECTIVE, json!({ "id": g.id })).await));
        out.push((format!("node({})", g.kr_title), s.gql(NODE_KEY_RESULT, json!({ "id": g.kr })).await));
        out.push((format!("node({})", g.note), s.gql(NODE_CHECK_IN, json!({ "id": g.check_in })).await));
        all_ids.extend([g.id.clone(), g.kr.clone(), g.check_in.clone()]);
    }
    for object in KPIS {
        let k = fx.kpi(object);
        out.push((format!("node({})", k.name), s.gql(NODE_KPI, json!({ "id": k.id })).await));
        let by_key = "query($k: String!) { kpiByExternalId(externalId: $k) { id name } }";
        out.push((
            format!("kpiByExternalId({})", k.name),
            s.gql(by_key, json!({ "k": k.external_id })).await,
        ));
        all_ids.push(k.id.clone());
    }
    let queries: [(&str, &str, Value); 8] = [
        (
            "nodes",
            "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Objective { title } ... on KeyResult { title }
               ... on CheckIn { note } ... on Kpi { name } } }",
            json!({ "ids": all_ids }),
        ),
        (
            "objectives",
            "query($p: ID!) { objectives(first: 100, filter: {periodId: $p}) {
               totalCount edges { node { id title } } } }",
            json!({ "p": fx.period }),
        ),
        (
            "Person.objectives",
            "query($id: ID!, $p: ID!) { node(id: $id) { ... on Person {
               objectives(periodId: $p) { id title } } } }",
            json!({ "id": fx.person("Owen Owner"), "p": fx.period }),
        ),
        (
            "Unit.objectives, Unit.kpis",
            "query($id: ID!, $p: ID!) { node(id: $id) { ... on Unit { objectives(periodId: $p) { id title }
               kpis { id name } } } }",
            json!({ "id": fx.unit("Team A1"), "p": fx.period }),
        ),
        (
            "children, progressExplanation",
            "query($id: ID!) { node(id: $id) { ... on Objective { children { id title } hiddenChildrenCount
               progressExplanation { hiddenInputs inputs { id title } } } } }",
            json!({ "id": fx.goal(Object::PublicObjective).id }),
        ),
        (
            "alignmentTree",
            "query($p: ID!) { alignmentTree(periodId: $p) {
               hiddenCount edges { node { objective { id title } } } } }",
            json!({ "p": fx.period }),
        ),
        (
            "insights",
            "query($p: ID!) { insights(periodId: $p) { kind hiddenCount message
               owner { __typename ... on Person { id name } ... on Unit { id name } }
               objectives { id title } keyResults { id title } kpis { id name } } }",
            json!({ "p": fx.period }),
        ),
        ("kpis", "{ kpis(first: 100) { edges { node { id name } } } }", json!({})),
    ];
    for (path, query, vars) in queries {
        out.push((path.to_owned(), s.gql(query, vars).await));
    }
    out.push(("integrations".to_owned(), s.gql("{ integrations { id name } }", json!({})).await));
    out
}

const GOALS: [Object; 4] =
    [Object::PublicObjective, Object::UnitObjective, Object::PrivateObjective, Object::TeamObjective];
const KPIS: [Object; 2] = [Object::Kpi, Object::PeopleKpi];

/// The paths on which `object` must appear when `who` may read it, each
/// with the ids it must contain there. A nested path counts only when the
/// table lets `who` read its container.
fn paths_of(fx: &Fixture, who: Who, object: Object) -> Vec<(String, Vec<String>)> {
    let reads = |o: Object| expected(o, Act::Read, who) == Outcome::Yes;
    let mut paths: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |path: &str, ids: &[&String]| {
        paths.push((path.to_owned(), ids.iter().map(|s| (*s).clone()).collect()));
    };
    match object {
        Object::Organization => {
            add("organization", &[&fx.org_id]);
            add("node(organization)", &[&fx.org_id]);
        }
        Object::Units => {
            let a1 = fx.unit("Team A1");
            add("units", &[&a1]);
            add("node(Team A1)", &[&a1]);
        }
        Object::People => {
            let owen = fx.person("Owen Owner");
            add("people", &[&owen]);
            add("node(Owen Owner)", &[&owen]);
        }
        Object::Periods => {
            add("periods", &[&fx.period]);
            add("node(Access Q)", &[&fx.period]);
        }
        Object::PublicObjective
        | Object::UnitObjective
        | Object::PrivateObjective
        | Object::TeamObjective => {
            let g = fx.goal(object);
            add(&format!("node({})", g.title), &[&g.id, &g.kr, &g.check_in]);
            add(&format!("node({})", g.kr_title), &[&g.kr, &g.id, &g.check_in]);
            add(&format!("node({})", g.note), &[&g.check_in, &g.kr]);
            add("nodes", &[&g.id, &g.kr, &g.check_in]);
            add("objectives", &[&g.id]);
            if object == Object::TeamObjective {
                if reads(Object::Units) {
                    add("Unit.objectives, Unit.kpis", &[&g.id]);
                }
            } else if reads(Object::People) {
                add("Person.objectives", &[&g.id]);
            }
            if matches!(object, Object::UnitObjective | Object::PrivateObjective)
                && reads(Object::PublicObjective)
            {
                add("children, progressExplanation", &[&g.id]);
            }
            if object == Object::PublicObjective {
                // Its own key result is an input of its explanation.
                add("children, progressExplanation", &[&g.kr]);
            }
            if reads(Object::Periods) {
                add("alignmentTree", &[&g.id]);
                add("insights", &[&g.id]);
            }
        }
        Object::Kpi | Object::PeopleKpi => {
            let k = fx.kpi(object);
            add(&format!("node({})", k.name), &[&k.id]);
            add(&format!("kpiByExternalId({})", k.name), &[&k.id]);
            add("nodes", &[&k.id]);
            add("kpis", &[&k.id]);
            if reads(Object::Units) {
                add("Unit.objectives, Unit.kpis", &[&k.id]);
            }
            if reads(Object::Periods) {
                add("insights", &[&k.id]);
            }
        }
        Object::Integrations => {
            let ids: Vec<&String> = fx.integrations.iter().map(|(id, _)| id).collect();
            add("integrations", &ids);
        }
        Object::UnitA1 => unreachable!("no read row"),
    }
    paths
}

/// What no response may contain when `object` is hidden.
fn secrets_of(fx: &Fixture, object: Object) -> Vec<String> {
    match object {
        Object::Organization => vec![fx.tenant.org.name.clone()],
        Object::Units => vec![fx.unit("Team A1"), "Team A1".into()],
        Object::People => vec![fx.person("Owen Owner"), "Owen Owner".into()],
        Object::Periods => vec![fx.period.clone(), "Access Q".into()],
        Object::PublicObjective
        | Object::UnitObjective
        | Object::PrivateObjective
        | Object::TeamObjective => fx.goal(object).secrets(),
        Object::Kpi | Object::PeopleKpi => {
            let k = fx.kpi(object);
            vec![k.id.clone(), k.name.to_owned()]
        }
        Object::Integrations => {
            fx.integrations.iter().flat_map(|(id, name)| [id.clone(), name.clone()]).collect()
        }
        Object::UnitA1 => vec![],
    }
}

fn answer<'a>(answers: &'a Answers, path: &str) -> &'a Value {
    answers.iter().find(|(p, _)| p == path).map(|(_, v)| v).unwrap_or_else(|| panic!("no read path {path}"))
}

/// The outcome of a read cell as observed, or why it is neither.
fn observe_read(fx: &Fixture, who: Who, object: Object, answers: &Answers) -> Result<Outcome, String> {
    let paths = paths_of(fx, who, object);
    let missing: Vec<&str> = paths
        .iter()
        .filter(|(path, ids)| {
            let r = answer(answers, path);
            let text = r["data"].to_string();
            r["data"].is_null()
                || !r["errors"].as_array().is_none_or(Vec::is_empty)
                || ids.iter().any(|id| !text.contains(id.as_str()))
        })
        .map(|(path, _)| path.as_str())
        .collect();
    let secrets = secrets_of(fx, object);
    let leaks: Vec<String> = answers
        .iter()
        .filter(|(_, r)| {
            let text = r.to_string();
            secrets.iter().any(|s| text.contains(s.as_str()))
        })
        .map(|(path, _)| path.clone())
        .collect();
    match (missing.is_empty(), leaks.is_empty()) {
        (true, _) => Ok(Outcome::Yes),
        (false, true) => Ok(Outcome::No),
        (false, false) => Err(format!("missing from {missing:?}, named by {leaks:?}")),
    }
}

/// The counts of hidden inputs the aggregates must give, from the table.
fn check_counts(who: Who, answers: &Answers, mismatches: &mut Vec<String>) {
    let reads = |o: Object| expected(o, Act::Read, who) == Outcome::Yes;
    let mut want = |what: &str, got: &Value, n: usize| {
        if *got != json!(n) {
            mismatches.push(format!("{who:?}: {what} is {got}, the table makes it {n}"));
        }
    };
    if reads(Object::PublicObjective) {
        let node = &answer(answers, "children, progressExplanation")["data"]["node"];
        let children = [Object::UnitObjective, Object::PrivateObjective];
        want("hiddenChildrenCount", &node["hiddenChildrenCount"], hidden_among(who, &children));
        want(
            "progressExplanation.hiddenInputs",
            &node["progressExplanation"]["hiddenInputs"],
            hidden_among(who, &children),
        );
    }
    if reads(Object::Periods) {
        let tree = &answer(answers, "alignmentTree")["data"]["alignmentTree"];
        want("alignmentTree.hiddenCount", &tree["hiddenCount"], hidden_among(who, &GOALS));
        let insights =
            answer(answers, "insights")["data"]["insights"].as_array().cloned().unwrap_or_default();
        let owners = [Object::PublicObjective, Object::UnitObjective, Object::PrivateObjective];
        let too_many: Vec<&Value> = insights.iter().filter(|i| i["kind"] == "TOO_MANY_OBJECTIVES").collect();
        // Flagged only while the reader sees one of the owner's objectives.
        let flagged = usize::from(hidden_among(who, &owners) < owners.len());
        want("TOO_MANY_OBJECTIVES insights", &json!(too_many.len()), flagged);
        if let Some(i) = too_many.first() {
            want("TOO_MANY_OBJECTIVES.hiddenCount", &i["hiddenCount"], hidden_among(who, &owners));
        }
        for i in insights.iter().filter(|i| i["kind"] == "TOO_MANY_KPIS") {
            want("TOO_MANY_KPIS.hiddenCount", &i["hiddenCount"], hidden_among(who, &KPIS));
        }
    }
}

/// One subscription attempt: `Yes` when no refusal comes within the wait.
async fn subscribe(
    store: Store,
    ctx: RequestContext,
    query: &'static str,
    vars: Value,
) -> Result<Outcome, String> {
    let request = Request::new(query).variables(Variables::from_json(vars));
    let mut stream = goalgraph_api::execute_stream(schema(), &store, ctx, request);
    match tokio::time::timeout(SUBSCRIBE_WAIT, stream.next()).await {
        Err(_) | Ok(Some(StreamItem::Shared(_))) => Ok(Outcome::Yes),
        Ok(None) => Err("the stream ended without a word".into()),
        Ok(Some(StreamItem::Response(r))) => {
            let errors = serde_json::to_value(&r.errors).expect("errors as JSON");
            outcome_of(&json!({ "data": null, "errors": errors }))
        }
    }
}

fn subscriptions(fx: &Fixture, object: Object) -> Vec<(&'static str, Value)> {
    const OBJECTIVE: &str = "subscription($id: ID!) { objectiveProgress(objectiveId: $id) { objectiveId } }";
    const KRS_OF: &str = "subscription($id: ID!) { keyResultProgress(objectiveId: $id) { keyResultId } }";
    const KR: &str = "subscription($id: ID!) { keyResultProgress(keyResultId: $id) { keyResultId } }";
    const KPI: &str = "subscription($id: ID!) { kpiStatus(kpiId: $id) { kpiId } }";
    const PERIOD: &str = "subscription($id: ID!) { alignmentChanged(periodId: $id) { objectiveId } }";
    const KRS_OF_UNIT: &str = "subscription($id: ID!) { keyResultProgress(unitId: $id) { keyResultId } }";
    const KPIS_OF_UNIT: &str = "subscription($id: ID!) { kpiStatus(unitId: $id) { kpiId } }";
    match object {
        Object::PublicObjective
        | Object::UnitObjective
        | Object::PrivateObjective
        | Object::TeamObjective => {
            let g = fx.goal(object);
            vec![
                (OBJECTIVE, json!({ "id": g.id })),
                (KRS_OF, json!({ "id": g.id })),
                (KR, json!({ "id": g.kr })),
            ]
        }
        Object::Kpi | Object::PeopleKpi => vec![(KPI, json!({ "id": fx.kpi(object).id }))],
        Object::Periods => vec![(PERIOD, json!({ "id": fx.period }))],
        Object::UnitA1 => {
            let a1 = fx.unit("Team A1");
            vec![(KRS_OF_UNIT, json!({ "id": a1 })), (KPIS_OF_UNIT, json!({ "id": a1 }))]
        }
        other => unreachable!("no subscription on {other:?}"),
    }
}

/// Something a mutation cell wrote (or must not have), checked at the end.
enum Probe {
    Description { id: String, marker: String },
    Status { id: String },
    Parentless { id: String },
}

/// One mutation: its name, the answer, and what it must not name when it
/// refuses (the ids among them are replayed as missing ones).
type Try = (&'static str, Value, Vec<String>);

/// The session of a cell, keeping each operation it ran (in the order of
/// the cell's [`Try`]s), so that a refusal can be replayed on missing ids.
struct Recorder<'a> {
    session: &'a Session,
    log: std::sync::Mutex<Vec<(String, Value)>>,
}

impl Recorder<'_> {
    async fn gql(&self, query: &str, vars: Value) -> Value {
        self.log.lock().expect("log").push((query.to_owned(), vars.clone()));
        self.session.gql(query, vars).await
    }
}

/// `vars` with each global id among `secrets` replaced by a fresh id of the
/// same type that names nothing; `None` when it holds none.
fn with_missing_ids(vars: &Value, secrets: &[String]) -> Option<Value> {
    fn walk(v: &Value, secrets: &[String], hit: &mut bool) -> Value {
        match v {
            Value::String(s) if secrets.contains(s) => match goalgraph_api::ids::decode_any(s) {
                Some((node, _)) => {
                    *hit = true;
                    Value::String(random_id(node))
                }
                None => v.clone(),
            },
            Value::Array(items) => Value::Array(items.iter().map(|i| walk(i, secrets, hit)).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, i)| (k.clone(), walk(i, secrets, hit))).collect())
            }
            other => other.clone(),
        }
    }
    let mut hit = false;
    let out = walk(vars, secrets, &mut hit);
    hit.then_some(out)
}

/// GraphQL documents of the mutation cells: `$` variables only, so a refusal
/// can be replayed with other ids.
mod ops {
    pub const UPDATE_ORGANIZATION: &str =
        "mutation($n: String!) { updateOrganization(input: {name: $n}) { organization { id } } }";
    pub const CREATE_UNIT: &str = "mutation($n: String!, $p: ID!) {
        createUnit(input: {kind: TEAM, name: $n, parentId: $p}) { unit { id } } }";
    pub const UPDATE_UNIT: &str =
        "mutation($u: ID!, $x: String!) { updateUnit(input: {id: $u, externalId: $x}) { unit { id } } }";
    pub const SET_MANAGERS: &str = "mutation($u: ID!, $m: ID!) {
        setUnitManagers(input: {unitId: $u, managerIds: [$m]}) { unit { id } } }";
    pub const MOVE_UNIT: &str =
        "mutation($u: ID!, $p: ID!) { moveUnit(input: {id: $u, parentId: $p}) { unit { id } } }";
    pub const DELETE_UNIT: &str = "mutation($u: ID!) { deleteUnit(input: {id: $u}) { deletedUnitId } }";
    pub const CREATE_PERSON: &str = "mutation($n: String!, $e: String!, $u: ID!, $r: [Role!]) {
        createPerson(input: {name: $n, email: $e, unitId: $u, roles: $r}) { person { id } } }";
    pub const RENAME_PERSON: &str =
        "mutation($p: ID!, $n: String!) { updatePerson(input: {id: $p, name: $n}) { person { id } } }";
    pub const SET_ROLES: &str =
        "mutation($p: ID!, $r: [Role!]) { updatePerson(input: {id: $p, roles: $r}) { person { roles } } }";
    pub const CREATE_PERIOD: &str = "mutation($n: String!) {
        createPeriod(input: {name: $n, startDate: \"2027-01-01\", endDate: \"2027-03-31\"}) {
          period { id } } }";
    pub const UPDATE_PERIOD: &str =
        "mutation($p: ID!, $n: String!) { updatePeriod(input: {id: $p, name: $n}) { period { id } } }";
    pub const ACTIVATE_PERIOD: &str =
        "mutation($p: ID!) { transitionPeriod(input: {id: $p, status: ACTIVE}) { period { id } } }";
    pub const CLOSE_BY_TRANSITION: &str =
        "mutation($p: ID!) { transitionPeriod(input: {id: $p, status: CLOSED}) { period { id } } }";
    pub const CLOSE_PERIOD: &str =
        "mutation($p: ID!) { closePeriod(input: {periodId: $p}) { period { id } } }";
    pub const CREATE_OBJECTIVE: &str =
        "mutation($input: CreateObjectiveInput!) { createObjective(input: $input) { objective { id } } }";
    pub const DESCRIBE_OBJECTIVE: &str = "mutation($o: ID!, $d: String!) {
        updateObjective(input: {id: $o, description: $d}) { objective { id } } }";
    pub const ACTIVATE_OBJECTIVE: &str =
        "mutation($o: ID!) { transitionObjective(input: {id: $o, status: ACTIVE}) { objective { id } } }";
    pub const UNALIGN_OBJECTIVE: &str = "mutation($o: ID!) {
        reparentObjective(input: {id: $o, parentObjectiveId: null}) { objective { id } } }";
    pub const CREATE_KEY_RESULT: &str = "mutation($o: ID!, $w: ID!, $t: String!) {
        createKeyResult(input: {objectiveId: $o, ownerId: $w, title: $t, measure: INCREASE,
          start: 0, target: 10}) { keyResult { id } } }";
    pub const LABEL_KEY_RESULT: &str = "mutation($k: ID!, $l: String!) {
        updateKeyResult(input: {id: $k, unitLabel: $l}) { keyResult { id } } }";
    pub const CHECK_IN: &str =
        "mutation($k: ID!) { checkIn(input: {keyResultId: $k, value: 5}) { checkIn { id } } }";
    pub const LINK: &str = "mutation($k: ID!, $i: ID!) {
        linkKeyResultToKpi(input: {keyResultId: $k, kpiId: $i}) { keyResult { id } } }";
    pub const PROMOTE: &str = "mutation($k: ID!) {
        promoteKeyResultToKpi(input: {keyResultId: $k, cadence: DAILY, healthyLower: 5}) { kpi { id } } }";
    pub const DESCRIBE_KPI: &str =
        "mutation($k: ID!, $d: String!) { updateKpi(input: {id: $k, description: $d}) { kpi { id } } }";
    pub const OBJECTIVE_FROM_KPI: &str = "mutation($k: ID!, $p: ID!) {
        createObjectiveFromKpi(input: {kpiId: $k, periodId: $p, target: 99}) { objective { id } } }";
    pub const CREATE_INTEGRATION: &str = "mutation($n: String!) {
        createIntegration(input: {name: $n, scopes: [OKR_READ]}) { integration { id } } }";
    pub const SYNC_DIRECTORY: &str =
        "mutation($units: [DirectoryUnitInput!]!, $people: [DirectoryPersonInput!]!) {
        syncDirectory(input: {units: $units, people: $people}) { unitsCreated peopleCreated } }";
    pub const TRANSFER: &str = "mutation($f: ID!, $t: ID!) {
        transferOwnership(input: {fromPersonId: $f, toPersonId: $t}) { objectives { id } } }";
    pub const REVOKE_INTEGRATION: &str =
        "mutation($i: ID!) { revokeIntegration(input: {id: $i}) { integration { id } } }";
}

/// The id at `path` of a mutation's data.
fn created(data: &Value, path: [&str; 3]) -> String {
    data[path[0]][path[1]][path[2]]
        .as_str()
        .unwrap_or_else(|| panic!("no id at {path:?} in {data}"))
        .to_owned()
}

/// Runs the mutations of one cell as `s`, after preparing fresh objects as
/// the admin where a success would change what later cells see. `seq`
/// numbers the cell (distinct measurement times); `want` is kept with the
/// probes of what the cell wrote, checked at the end.
async fn attempt(
    fx: &Fixture,
    (object, act): (Object, Act),
    s: &Recorder<'_>,
    (tag, seq): (&str, i64),
    probes: &mut Vec<(Outcome, Probe)>,
    want: Outcome,
) -> Vec<Try> {
    let admin = fx.admin();
    let sandbox = fx.unit("Sandbox");
    let owen = fx.person("Owen Owner");
    match (object, act) {
        (Object::Organization, Act::Edit) => {
            vec![(
                "updateOrganization",
                s.gql(ops::UPDATE_ORGANIZATION, json!({ "n": "Access Co" })).await,
                vec![],
            )]
        }
        (Object::Units, Act::Create) => {
            let vars = json!({ "n": format!("Unit {tag}"), "p": sandbox });
            vec![("createUnit", s.gql(ops::CREATE_UNIT, vars).await, vec![])]
        }
        (Object::Units, Act::Edit) => {
            let edit = json!({ "u": sandbox, "x": format!("ext-{tag}") });
            let managers = json!({ "u": sandbox, "m": fx.person("Hal Hr") });
            vec![
                ("updateUnit", s.gql(ops::UPDATE_UNIT, edit).await, vec![]),
                ("setUnitManagers", s.gql(ops::SET_MANAGERS, managers).await, vec![]),
            ]
        }
        (Object::Units, Act::Move | Act::Delete) => {
            let name = format!("Fresh {tag}");
            let data = admin.ok(ops::CREATE_UNIT, json!({ "n": name, "p": sandbox })).await;
            let id = created(&data, ["createUnit", "unit", "id"]);
            let (op, response) = if act == Act::Move {
                ("moveUnit", s.gql(ops::MOVE_UNIT, json!({ "u": id, "p": fx.unit("Access Co") })).await)
            } else {
                ("deleteUnit", s.gql(ops::DELETE_UNIT, json!({ "u": id })).await)
            };
            vec![(op, response, vec![name, id])]
        }
        (Object::Units, Act::Sync) => {
            let unit = json!({
                "externalId": format!("sync-{tag}"), "name": format!("Synced {tag}"), "kind": "TEAM"
            });
            let vars = json!({ "units": [unit], "people": [] });
            vec![("syncDirectory", s.gql(ops::SYNC_DIRECTORY, vars).await, vec![])]
        }
        (Object::People, Act::Transfer) => {
            // A fresh leaver in A1 with a PUBLIC objective of their own.
            let vars = json!({ "n": format!("Leaver {tag}"), "e": format!("leaver.{tag}@x.example"),
                "u": fx.unit("Team A1") });
            let leaver = created(&admin.ok(ops::CREATE_PERSON, vars).await, ["createPerson", "person", "id"]);
            let title = format!("Left {tag}");
            let input = json!({ "periodId": fx.period, "ownerPersonId": leaver, "title": title });
            let objective = created(
                &admin.ok(ops::CREATE_OBJECTIVE, json!({ "input": input })).await,
                ["createObjective", "objective", "id"],
            );
            let vars = json!({ "f": leaver, "t": fx.person("Una Unitmate") });
            vec![("transferOwnership", s.gql(ops::TRANSFER, vars).await, vec![title, objective])]
        }
        (Object::People, Act::Create) => {
            let vars =
                json!({ "n": format!("Hire {tag}"), "e": format!("hire.{tag}@x.example"), "u": sandbox });
            vec![("createPerson", s.gql(ops::CREATE_PERSON, vars).await, vec![])]
        }
        (Object::People, Act::Edit) => {
            let vars = json!({ "p": fx.person("Sid Sandbox"), "n": format!("Sid Sandbox {tag}") });
            vec![("updatePerson", s.gql(ops::RENAME_PERSON, vars).await, vec![])]
        }
        (Object::People, Act::ChangeRoles) => {
            // A fresh person: granting the roles someone has is no change.
            let vars =
                json!({ "n": format!("Promo {tag}"), "e": format!("promo.{tag}@x.example"), "u": sandbox });
            let id = created(&admin.ok(ops::CREATE_PERSON, vars).await, ["createPerson", "person", "id"]);
            let new = json!({
                "n": format!("Vip {tag}"), "e": format!("vip.{tag}@x.example"), "u": sandbox, "r": ["VIEWER"]
            });
            let person = json!({
                "externalId": format!("sync-vip-{tag}"), "name": format!("Synced Vip {tag}"),
                "email": format!("svip.{tag}@x.example"), "roles": ["VIEWER"]
            });
            let synced = json!({ "units": [], "people": [person] });
            vec![
                (
                    "updatePerson(roles)",
                    s.gql(ops::SET_ROLES, json!({ "p": id, "r": ["VIEWER"] })).await,
                    vec![],
                ),
                ("createPerson(roles)", s.gql(ops::CREATE_PERSON, new).await, vec![]),
                ("syncDirectory(roles)", s.gql(ops::SYNC_DIRECTORY, synced).await, vec![]),
            ]
        }
        (Object::Periods, Act::Create) => {
            vec![(
                "createPeriod",
                s.gql(ops::CREATE_PERIOD, json!({ "n": format!("Period {tag}") })).await,
                vec![],
            )]
        }
        (Object::Periods, Act::Edit | Act::Close) => {
            let mut fresh = Vec::new();
            for name in ["Planned", "Closing"] {
                let data = admin.ok(ops::CREATE_PERIOD, json!({ "n": format!("{name} {tag}") })).await;
                fresh.push(created(&data, ["createPeriod", "period", "id"]));
            }
            let (first, second) = (fresh[0].clone(), fresh[1].clone());
            if act == Act::Edit {
                let rename = json!({ "p": first, "n": format!("Renamed {tag}") });
                vec![
                    ("updatePeriod", s.gql(ops::UPDATE_PERIOD, rename).await, vec![first.clone()]),
                    (
                        "transitionPeriod(ACTIVE)",
                        s.gql(ops::ACTIVATE_PERIOD, json!({ "p": first })).await,
                        vec![first],
                    ),
                ]
            } else {
                vec![
                    (
                        "transitionPeriod(CLOSED)",
                        s.gql(ops::CLOSE_BY_TRANSITION, json!({ "p": first })).await,
                        vec![first],
                    ),
                    ("closePeriod", s.gql(ops::CLOSE_PERIOD, json!({ "p": second })).await, vec![second]),
                ]
            }
        }
        (goal, Act::Create) if GOALS.contains(&goal) => {
            let title = format!("New {tag}");
            let input = goal_input(fx, goal, &title, None);
            vec![(
                "createObjective",
                s.gql(ops::CREATE_OBJECTIVE, json!({ "input": input })).await,
                vec![title],
            )]
        }
        (goal, Act::Edit | Act::Transition | Act::Reparent) if GOALS.contains(&goal) => {
            // A fresh objective like the fixture's: DRAFT, aligned to Orion.
            let title = format!("Fresh {tag}");
            let parent = fx.goal(Object::PublicObjective).id.clone();
            let input = goal_input(fx, goal, &title, Some(&parent));
            let data = admin.ok(ops::CREATE_OBJECTIVE, json!({ "input": input })).await;
            let id = created(&data, ["createObjective", "objective", "id"]);
            let secrets = vec![title, id.clone()];
            let (op, response, probe) = match act {
                Act::Edit => {
                    let marker = format!("edited {tag}");
                    let r = s.gql(ops::DESCRIBE_OBJECTIVE, json!({ "o": id, "d": marker })).await;
                    ("updateObjective", r, Probe::Description { id, marker })
                }
                Act::Transition => {
                    let r = s.gql(ops::ACTIVATE_OBJECTIVE, json!({ "o": id })).await;
                    ("transitionObjective", r, Probe::Status { id })
                }
                _ => {
                    let r = s.gql(ops::UNALIGN_OBJECTIVE, json!({ "o": id })).await;
                    ("reparentObjective", r, Probe::Parentless { id })
                }
            };
            probes.push((want, probe));
            vec![(op, response, secrets)]
        }
        (goal, Act::AddKeyResult | Act::EditKeyResult | Act::CheckIn) if GOALS.contains(&goal) => {
            let g = fx.goal(goal);
            let (op, query, vars) = match act {
                Act::AddKeyResult => (
                    "createKeyResult",
                    ops::CREATE_KEY_RESULT,
                    json!({ "o": g.id, "w": owen, "t": format!("KR {tag}") }),
                ),
                Act::EditKeyResult => {
                    ("updateKeyResult", ops::LABEL_KEY_RESULT, json!({ "k": g.kr, "l": format!("u{tag}") }))
                }
                _ => ("checkIn", ops::CHECK_IN, json!({ "k": g.kr })),
            };
            vec![(op, s.gql(query, vars).await, g.secrets())]
        }
        (Object::PublicObjective, Act::LinkKeyResultToKpi) => {
            // A key result of its own: a linked one takes no check-ins.
            let g = fx.goal(Object::PublicObjective);
            let kr = create_key_result(
                admin,
                json!({ "objectiveId": g.id, "ownerId": owen, "title": format!("Link {tag}"),
                        "measure": "INCREASE", "start": 0.0, "target": 100.0 }),
            )
            .await;
            let vars = json!({ "k": kr, "i": fx.kpi(Object::Kpi).id });
            vec![("linkKeyResultToKpi", s.gql(ops::LINK, vars).await, [g.secrets(), vec![kr]].concat())]
        }
        (Object::PublicObjective, Act::PromoteKeyResultToKpi) => {
            let g = fx.goal(Object::PublicObjective);
            vec![("promoteKeyResultToKpi", s.gql(ops::PROMOTE, json!({ "k": g.kr })).await, g.secrets())]
        }
        (kpi, Act::Create) if KPIS.contains(&kpi) => {
            let category = if kpi == Object::PeopleKpi { "PEOPLE" } else { "OPERATIONAL" };
            let name = format!("Kpi {tag}");
            let input = kpi_input(&fx.unit("Team A1"), &owen, &name, json!({ "category": category }));
            vec![(
                "createKpi",
                s.gql(crate::kpi_support::CREATE_KPI, json!({ "input": input })).await,
                vec![],
            )]
        }
        (kpi, Act::Edit | Act::RecordMeasurement | Act::ObjectiveFromKpi) if KPIS.contains(&kpi) => {
            let k = fx.kpi(kpi);
            let secrets = vec![k.id.clone(), k.name.to_owned()];
            match act {
                Act::Edit => {
                    let vars = json!({ "k": k.id, "d": format!("edited {tag}") });
                    vec![("updateKpi", s.gql(ops::DESCRIBE_KPI, vars).await, secrets)]
                }
                Act::RecordMeasurement => {
                    // Distinct times: a second value at the same time corrects the first.
                    let at =
                        |n: i64| rfc3339(Utc::now() - Duration::hours(2) - Duration::minutes(4 * seq + n));
                    let one = json!({ "input": { "kpiId": k.id, "observedAt": at(0), "value": 96.0 } });
                    let many = json!({
                        "input": { "kpiId": k.id, "points": [{ "observedAt": at(2), "value": 97.0 }] }
                    });
                    vec![
                        ("recordKpiMeasurement", s.gql(RECORD_ONE, one).await, secrets.clone()),
                        (
                            "recordKpiMeasurements",
                            s.gql(crate::kpi_support::RECORD_MANY, many).await,
                            secrets,
                        ),
                    ]
                }
                _ => {
                    let vars = json!({ "k": k.id, "p": fx.period });
                    vec![("createObjectiveFromKpi", s.gql(ops::OBJECTIVE_FROM_KPI, vars).await, secrets)]
                }
            }
        }
        (Object::Integrations, Act::Create) => {
            let vars = json!({ "n": format!("Int {tag}") });
            vec![("createIntegration", s.gql(ops::CREATE_INTEGRATION, vars).await, vec![])]
        }
        (Object::Integrations, Act::Revoke) => {
            let data = admin.ok(ops::CREATE_INTEGRATION, json!({ "n": format!("Doomed {tag}") })).await;
            let id = created(&data, ["createIntegration", "integration", "id"]);
            vec![("revokeIntegration", s.gql(ops::REVOKE_INTEGRATION, json!({ "i": id })).await, vec![id])]
        }
        (object, act) => panic!("no operation for the cell ({object:?}, {act:?}): add one"),
    }
}

/// A new objective like the fixture's `goal` (same owner and visibility).
fn goal_input(fx: &Fixture, goal: Object, title: &str, parent: Option<&str>) -> Value {
    let (owner, visibility) = match goal {
        Object::PublicObjective => (("ownerPersonId", fx.person("Owen Owner")), "PUBLIC"),
        Object::UnitObjective => (("ownerPersonId", fx.person("Owen Owner")), "UNIT"),
        Object::PrivateObjective => (("ownerPersonId", fx.person("Owen Owner")), "PRIVATE"),
        _ => (("ownerUnitId", fx.unit("Team A1")), "UNIT"),
    };
    let mut input = json!({
        "periodId": fx.period, "title": title, "visibility": visibility, "parentObjectiveId": parent
    });
    input[owner.0] = json!(owner.1);
    input
}

/// Every cell of docs/access.md, as its role, through the API.
pub async fn access_table_holds_on_every_path(db: TestDb) {
    let fx = fixture(&connect(&db).await, "access").await;
    let mut mismatches: Vec<String> = Vec::new();
    let mut cells = 0usize;
    let cell_name = |object: Object, act: Act, who: Who| format!("({object:?}, {act:?}) as {who:?}");

    // Reads first, while the fixture is as the module doc draws it.
    for who in COLUMNS {
        let answers = read_all(&fx, fx.s(who)).await;
        for row in TABLE.iter().filter(|r| r.act == Act::Read) {
            let want = expected(row.object, row.act, who);
            cells += 1;
            match observe_read(&fx, who, row.object, &answers) {
                Ok(got) if got == want => {}
                Ok(got) => mismatches
                    .push(format!("{}: expected {want:?}, got {got:?}", cell_name(row.object, row.act, who))),
                Err(why) => mismatches
                    .push(format!("{}: expected {want:?}, {why}", cell_name(row.object, row.act, who))),
            }
        }
        check_counts(who, &answers, &mut mismatches);
    }

    // Subscriptions: all at once, so the silent wait of the accepted ones
    // is paid once.
    let mut pending = Vec::new();
    for row in TABLE.iter().filter(|r| r.act == Act::Subscribe) {
        for who in COLUMNS {
            cells += 1;
            let (object, want) = (row.object, expected(row.object, row.act, who));
            for (query, vars) in subscriptions(&fx, object) {
                let (store, ctx) = (fx.store.clone(), fx.s(who).ctx.clone());
                pending.push(
                    async move { (object, who, query, want, subscribe(store, ctx, query, vars).await) },
                );
            }
        }
    }
    for (object, who, query, want, got) in futures_util::future::join_all(pending).await {
        match got {
            Ok(got) if got == want => {}
            Ok(got) => mismatches.push(format!(
                "{} `{query}`: expected {want:?}, got {got:?}",
                cell_name(object, Act::Subscribe, who)
            )),
            Err(why) => mismatches.push(format!(
                "{} `{query}`: expected {want:?}, {why}",
                cell_name(object, Act::Subscribe, who)
            )),
        }
    }

    // Changes: each cell on objects of its own, so no success leaks into
    // another cell.
    let mut probes: Vec<(Outcome, Probe)> = Vec::new();
    let before = state(&fx).await;
    let mut yes_count: HashMap<(Object, Act), usize> = HashMap::new();
    for (r, row) in TABLE.iter().enumerate().filter(|(_, r)| !matches!(r.act, Act::Read | Act::Subscribe)) {
        for (c, who) in COLUMNS.into_iter().enumerate() {
            let want = row.cells[c];
            cells += 1;
            let tag = format!("r{r}-c{c}");
            let seq = (r * COLUMNS.len() + c) as i64;
            let recorder = Recorder { session: fx.s(who), log: Default::default() };
            let tries = attempt(&fx, (row.object, row.act), &recorder, (&tag, seq), &mut probes, want).await;
            let log = recorder.log.into_inner().expect("log");
            assert_eq!(log.len(), tries.len(), "one operation per try");
            for ((name, response, secrets), (query, vars)) in tries.into_iter().zip(log) {
                let cell = format!("{} `{name}`", cell_name(row.object, row.act, who));
                match outcome_of(&response) {
                    Ok(got) if got == want => {}
                    Ok(got) => mismatches.push(format!("{cell}: expected {want:?}, got {got:?}: {response}")),
                    Err(why) => mismatches.push(format!("{cell}: expected {want:?}, {why}")),
                }
                if want != Outcome::Yes {
                    let text = response.to_string();
                    if let Some(s) = secrets.iter().find(|s| text.contains(s.as_str())) {
                        mismatches.push(format!("{cell}: the refusal names {s:?}: {text}"));
                    }
                }
                // A hidden object answers exactly like a missing one: the
                // same operation on ids that name nothing. (Not where the
                // refusal is about what would be created from a visible one.)
                if want == Outcome::No
                    && expected(row.object, Act::Read, who) == Outcome::No
                    && let Some(missing) = with_missing_ids(&vars, &secrets)
                {
                    let twin = fx.s(who).gql(&query, missing).await;
                    if twin != response {
                        mismatches.push(format!("{cell}: hidden answers {response}, missing {twin}"));
                    }
                }
            }
            if want == Outcome::Yes {
                *yes_count.entry((row.object, row.act)).or_default() += 1;
            }
        }
    }

    // What the changes wrote: exactly the allowed ones.
    let after = state(&fx).await;
    for goal in GOALS {
        let n = yes_count.get(&(goal, Act::CheckIn)).copied().unwrap_or(0);
        let key = format!("check-ins of {}", fx.goal(goal).kr_title);
        if after[&key] != before[&key] + n as u64 {
            mismatches.push(format!("{key}: {} before, {} after, {n} allowed", before[&key], after[&key]));
        }
    }
    for kpi in KPIS {
        // Two points per allowed cell (one per mutation).
        let n = 2 * yes_count.get(&(kpi, Act::RecordMeasurement)).copied().unwrap_or(0);
        let key = format!("measurements of {}", fx.kpi(kpi).name);
        if after[&key] != before[&key] + n as u64 {
            mismatches.push(format!("{key}: {} before, {} after, {n} allowed", before[&key], after[&key]));
        }
    }
    let ids: Vec<String> = probes
        .iter()
        .map(|(_, p)| match p {
            Probe::Description { id, .. } | Probe::Status { id } | Probe::Parentless { id } => id.clone(),
        })
        .collect();
    let nodes = fx
        .admin()
        .ok(
            "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Objective {
               description status parent { id } } } }",
            json!({ "ids": ids }),
        )
        .await;
    for ((want, probe), node) in probes.iter().zip(nodes["nodes"].as_array().expect("nodes")) {
        let allowed = *want == Outcome::Yes;
        let (what, written) = match probe {
            Probe::Description { marker, .. } => ("description", node["description"] == json!(marker)),
            Probe::Status { .. } => ("status", node["status"] == "ACTIVE"),
            Probe::Parentless { .. } => ("parent", node["parent"].is_null()),
        };
        if written != allowed {
            mismatches.push(format!("objective {what}: written {written}, allowed {allowed}: {node}"));
        }
    }

    assert_eq!(cells, TABLE.len() * COLUMNS.len(), "every cell of the table ran");
    assert!(
        mismatches.is_empty(),
        "{} disagreements with docs/access.md (of {cells} cells):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// Counts of the append-only writes the cells may make.
async fn state(fx: &Fixture) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for goal in GOALS {
        let g = fx.goal(goal);
        let data = fx
            .admin()
            .ok(
                "query($id: ID!) { node(id: $id) { ... on KeyResult {
                   checkIns(first: 1) { totalCount } } } }",
                json!({ "id": g.kr }),
            )
            .await;
        let n = data["node"]["checkIns"]["totalCount"].as_u64().expect("count");
        out.insert(format!("check-ins of {}", g.kr_title), n);
    }
    for kpi in KPIS {
        let k = fx.kpi(kpi);
        let data = fx.admin().ok(NODE_KPI, json!({ "id": k.id })).await;
        let n = data["node"]["measurements"]["totalCount"].as_u64().expect("count");
        out.insert(format!("measurements of {}", k.name), n);
    }
    out
}

/// A request as the server makes it: the person looked up by the token's
/// tenant and subject, and the actor built from the directory as it is now.
async fn request_as(fx: &Fixture, name: &str) -> Session {
    let email = fx.tenant.email_of(name);
    let (org, actor, person) = fx
        .store
        .resolve_person_actor(&fx.tenant.slug, &email, &RoleSet::default())
        .await
        .expect("resolve the subject")
        .expect("an active person");
    let ctx =
        RequestContext { actor, person: Some(person), settings: org.settings, request_id: "test".into() };
    Session { store: fx.store.clone(), ctx }
}

/// (sees Draco team goal, sees Vega private goal, checking in on Draco's key
/// result) for one request.
async fn view(s: &Session, fx: &Fixture) -> (bool, bool, Result<Outcome, String>) {
    let team = fx.goal(Object::TeamObjective);
    let private = fx.goal(Object::PrivateObjective);
    let seen = |r: Value| !expect_data(&r)["node"].is_null();
    let sees_team = seen(s.gql(NODE_OBJECTIVE, json!({ "id": team.id })).await);
    let sees_private = seen(s.gql(NODE_OBJECTIVE, json!({ "id": private.id })).await);
    let check_in = s.gql(CHECK_IN, json!({ "input": { "keyResultId": team.kr, "value": 1.0 } })).await;
    (sees_team, sees_private, outcome_of(&check_in))
}

/// "Role and unit changes take effect on the next request": Eli's unit,
/// manager rights and roles change through the store between requests.
pub async fn access_follows_role_and_unit_changes_on_the_next_request(db: TestDb) {
    let fx = fixture(&connect(&db).await, "access").await;
    let eli = fx.tenant.person("Eli Elsewhere").id;
    let patch = |unit, roles| PersonPatch { unit_id: unit, roles, ..PersonPatch::default() };
    use Outcome::{Forbidden as F, No as N, Yes as Y};

    // A MEMBER of B1: the team objective of A1 is hidden.
    let s = request_as(&fx, "Eli Elsewhere").await;
    assert_eq!(view(&s, &fx).await, (false, false, Ok(N)), "a MEMBER of B1");

    // Moved to A1: the UNIT objective shows, changing it is FORBIDDEN.
    fx.store
        .update_person(&fx.admin_actor, eli, patch(Some(fx.tenant.unit("Team A1").id), None))
        .await
        .expect("move");
    let s = request_as(&fx, "Eli Elsewhere").await;
    assert_eq!(view(&s, &fx).await, (true, false, Ok(F)), "a MEMBER of A1");

    // Made a manager of Dept A while only a MEMBER: nothing more.
    let dept_a = fx.tenant.unit("Dept A").id;
    let lena = fx.tenant.person("Lena Lead").id;
    fx.store.set_unit_managers(&fx.admin_actor, dept_a, &[lena, eli]).await.expect("managers");
    let s = request_as(&fx, "Eli Elsewhere").await;
    assert_eq!(view(&s, &fx).await, (true, false, Ok(F)), "managing without the MANAGER role grants nothing");

    // Given the MANAGER role: a line manager of A1, PRIVATE included.
    fx.store
        .update_person(&fx.admin_actor, eli, patch(None, Some(RoleSet::new([Role::Manager]))))
        .await
        .expect("role");
    let s = request_as(&fx, "Eli Elsewhere").await;
    assert_eq!(view(&s, &fx).await, (true, true, Ok(Y)), "a MANAGER of Dept A");

    // Down to VIEWER: PUBLIC only again.
    fx.store
        .update_person(&fx.admin_actor, eli, patch(None, Some(RoleSet::new([Role::Viewer]))))
        .await
        .expect("role");
    let s = request_as(&fx, "Eli Elsewhere").await;
    assert_eq!(view(&s, &fx).await, (false, false, Ok(N)), "a VIEWER");
    let public = fx.goal(Object::PublicObjective);
    assert!(
        !expect_data(&s.gql(NODE_OBJECTIVE, json!({ "id": public.id })).await)["node"].is_null(),
        "PUBLIC stays"
    );
}

/// Replaces every occurrence of `from` in `value`'s strings by `to`.
fn substitute(value: &Value, from: &str, to: &str) -> Value {
    match value {
        Value::String(s) if s == from => Value::String(to.to_owned()),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, from, to)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), substitute(v, from, to))).collect())
        }
        other => other.clone(),
    }
}

/// "Input never chooses the tenant or an actor's role". No argument or
/// input field of the schema names a tenant, and `roles` is the only input
/// naming a role; OKR and KPI mutations naming another tenant's objects
/// answer exactly as for ids that name nothing and write nothing (the
/// directory and period mutations: tenancy.rs); a role asked for in input
/// is granted only by an ADMIN.
pub async fn access_input_never_chooses_the_tenant_or_a_role(db: TestDb) {
    // The schema: what input could name a tenant or a role.
    let doc = async_graphql::parser::parse_schema(goalgraph_api::sdl()).expect("the SDL parses");
    let mut role_inputs = Vec::new();
    let mut tenant_inputs = Vec::new();
    let mut consider = |owner: String, name: &str, ty: &str| {
        let lower = name.to_lowercase();
        if lower.contains("organization") || lower.contains("tenant") || lower == "orgid" {
            tenant_inputs.push(format!("{owner}.{name}"));
        }
        if ty.trim_matches(|c| matches!(c, '[' | ']' | '!')) == "Role" {
            role_inputs.push(format!("{owner}.{name}"));
        }
    };
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    for def in &doc.definitions {
        let TypeSystemDefinition::Type(t) = def else { continue };
        let t = &t.node;
        match &t.kind {
            TypeKind::InputObject(input) => {
                for f in &input.fields {
                    consider(t.name.node.to_string(), &f.node.name.node, &f.node.ty.node.to_string());
                }
            }
            TypeKind::Object(object) => {
                for f in &object.fields {
                    for a in &f.node.arguments {
                        let owner = format!("{}.{}", t.name.node, f.node.name.node);
                        consider(owner, &a.node.name.node, &a.node.ty.node.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    assert_eq!(tenant_inputs, Vec::<String>::new(), "input that names a tenant");
    // Each is run by the table's row "grant or withdraw roles".
    role_inputs.sort();
    assert_eq!(
        role_inputs,
        ["CreatePersonInput.roles", "DirectoryPersonInput.roles", "UpdatePersonInput.roles"],
        "input that names a role"
    );

    // Two tenants; B's objects carry the same external id as A's KPI.
    let store = connect(&db).await;
    let a = fixture(&store, "access").await;
    let b = fixture(&store, "bravo").await;
    let admin = a.admin();
    let b_goal = b.goal(Object::PublicObjective);
    let b_kpi = b.kpi(Object::Kpi);
    let b_ids = [
        (b.period.clone(), NodeType::Period),
        (b.unit("Team A1"), NodeType::Unit),
        (b.person("Owen Owner"), NodeType::Person),
        (b.person("Una Unitmate"), NodeType::Person),
        (b_goal.id.clone(), NodeType::Objective),
        (b_goal.kr.clone(), NodeType::KeyResult),
        (b_kpi.id.clone(), NodeType::Kpi),
        (b.integrations[0].0.clone(), NodeType::Integration),
    ];
    let a_goal = a.goal(Object::PublicObjective);
    let a_kpi = a.kpi(Object::Kpi);
    let (a_period, a_unit, a_owner) = (a.period.clone(), a.unit("Team A1"), a.person("Owen Owner"));
    let at = rfc3339(Utc::now() - Duration::hours(3));
    // (mutation, input with exactly one of B's ids).
    let cases: Vec<(&str, Value)> = vec![
        ("createObjective", json!({ "periodId": b.period, "ownerUnitId": a_unit, "title": "Stray" })),
        (
            "createObjective",
            json!({ "periodId": a_period, "ownerUnitId": b.unit("Team A1"), "title": "Stray" }),
        ),
        (
            "createObjective",
            json!({ "periodId": a_period, "ownerPersonId": b.person("Owen Owner"), "title": "Stray" }),
        ),
        (
            "createObjective",
            json!({
                "periodId": a_period, "ownerUnitId": a_unit, "title": "Stray", "parentObjectiveId": b_goal.id
            }),
        ),
        ("updateObjective", json!({ "id": b_goal.id, "description": "hijacked" })),
        ("transitionObjective", json!({ "id": b_goal.id, "status": "COMPLETED" })),
        ("reparentObjective", json!({ "id": b_goal.id, "parentObjectiveId": null })),
        ("reparentObjective", json!({ "id": a_goal.id, "parentObjectiveId": b_goal.id })),
        (
            "createKeyResult",
            json!({
                "objectiveId": b_goal.id, "ownerId": a_owner, "title": "Stray",
                "measure": "INCREASE", "start": 0, "target": 1
            }),
        ),
        (
            "createKeyResult",
            json!({
                "objectiveId": a_goal.id, "ownerId": b.person("Owen Owner"), "title": "Stray",
                "measure": "INCREASE", "start": 0, "target": 1
            }),
        ),
        ("updateKeyResult", json!({ "id": b_goal.kr, "title": "hijacked" })),
        ("updateKeyResult", json!({ "id": a_goal.kr, "ownerId": b.person("Owen Owner") })),
        ("checkIn", json!({ "keyResultId": b_goal.kr, "value": 9 })),
        ("linkKeyResultToKpi", json!({ "keyResultId": a_goal.kr, "kpiId": b_kpi.id })),
        ("promoteKeyResultToKpi", json!({ "keyResultId": b_goal.kr, "cadence": "DAILY", "healthyLower": 1 })),
        ("createKpi", kpi_input(&b.unit("Team A1"), &a_owner, "Stray", json!({}))),
        ("createKpi", kpi_input(&a_unit, &b.person("Owen Owner"), "Stray", json!({}))),
        ("updateKpi", json!({ "id": b_kpi.id, "description": "hijacked" })),
        ("updateKpi", json!({ "id": a_kpi.id, "ownerId": b.person("Owen Owner") })),
        ("recordKpiMeasurement", json!({ "kpiId": b_kpi.id, "observedAt": at, "value": 1 })),
        ("recordKpiMeasurements", json!({ "kpiId": b_kpi.id, "points": [{ "observedAt": at, "value": 1 }] })),
        ("createObjectiveFromKpi", json!({ "kpiId": b_kpi.id, "periodId": a_period, "target": 99 })),
        ("createObjectiveFromKpi", json!({ "kpiId": a_kpi.id, "periodId": b.period, "target": 99 })),
        ("closePeriod", json!({ "periodId": b.period })),
        ("revokeIntegration", json!({ "id": b.integrations[0].0 })),
        (
            "transferOwnership",
            json!({ "fromPersonId": b.person("Owen Owner"), "toPersonId": a.person("Una Unitmate") }),
        ),
        ("transferOwnership", json!({ "fromPersonId": a_owner, "toPersonId": b.person("Una Unitmate") })),
    ];
    // B's team has the external id A's directory sync will send.
    b.admin()
        .ok(
            "mutation($u: ID!) { updateUnit(input: {id: $u, externalId: \"hris-team\"}) { unit { id } } }",
            json!({ "u": b.unit("Team A1") }),
        )
        .await;
    let a_before = snapshot(&a).await;
    let b_before = snapshot(&b).await;
    for (mutation, input) in &cases {
        let input_type = match *mutation {
            "checkIn" => "CheckInInputObject".to_owned(),
            "recordKpiMeasurement" => "RecordKpiMeasurementInput".to_owned(),
            "recordKpiMeasurements" => "RecordKpiMeasurementsInput".to_owned(),
            m => format!("{}{}Input", m[..1].to_uppercase(), &m[1..]),
        };
        let query = format!("mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ __typename }} }}");
        let foreign = admin.gql(&query, json!({ "i": input })).await;
        // The same input with B's id replaced by one that names nothing.
        let (b_id, node) =
            b_ids.iter().find(|(id, _)| input.to_string().contains(id.as_str())).expect("a B id");
        let missing = admin.gql(&query, json!({ "i": substitute(input, b_id, &random_id(*node)) })).await;
        assert!(error_code(&foreign).is_some(), "{mutation} {input}: B's id was accepted: {foreign}");
        assert_eq!(foreign, missing, "{mutation} {input}: B's id answers unlike a missing one");
        let text = foreign.to_string();
        for fingerprint in [b_goal.id.as_str(), b_goal.kr.as_str(), b_kpi.id.as_str(), "bravo"] {
            assert!(!text.contains(fingerprint), "{mutation}: names {fingerprint}: {text}");
        }
    }
    assert_eq!(snapshot(&b).await, b_before, "B changed");
    assert_eq!(snapshot(&a).await, a_before, "A changed");
    // External ids are the tenant's own: A's sync with B's creates A's unit.
    let unit = json!({ "externalId": "hris-team", "name": "Hris team", "kind": "TEAM" });
    let synced = admin.ok(ops::SYNC_DIRECTORY, json!({ "units": [unit], "people": [] })).await;
    assert_eq!(synced["syncDirectory"]["unitsCreated"], json!(1));
    assert_eq!(snapshot(&b).await, b_before, "A's sync changed B");
    // Positive control: the external id both tenants use names A's KPI for A.
    let by_key = admin
        .ok(
            RECORD_ONE,
            json!({ "input": { "externalId": a_kpi.external_id, "observedAt": at, "value": 91.0 } }),
        )
        .await;
    assert_eq!(by_key["recordKpiMeasurement"]["kpi"]["id"], json!(a_kpi.id));
    assert_ne!(snapshot(&a).await, a_before, "the snapshot misses A's write");
    assert_eq!(snapshot(&b).await, b_before, "A's write changed B");

    // Roles: asked for in input, granted only by an ADMIN, and the next
    // request still has the roles of the record.
    let roles_of =
        |s: Session| async move { s.ok("{ viewer { roles } }", json!({})).await["viewer"]["roles"].clone() };
    let update_roles =
        "mutation($p: ID!, $r: [Role!]) { updatePerson(input: {id: $p, roles: $r}) { person { roles } } }";
    let hr = a.s(Who::Hr);
    let denied = [
        (hr, "Hal Hr", json!(["ADMIN", "HR"])),
        (a.s(Who::MemberOfA1), "Una Unitmate", json!(["ADMIN"])),
        (a.s(Who::DirectoryWrite), "Una Unitmate", json!(["ADMIN"])),
        (hr, "Una Unitmate", json!(["MANAGER"])),
    ];
    for (s, target, roles) in denied {
        let r = s.gql(update_roles, json!({ "p": a.person(target), "r": roles })).await;
        assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "{target} given {roles}: {r}");
    }
    assert_eq!(roles_of(request_as(&a, "Hal Hr").await).await, json!(["HR"]));
    assert_eq!(roles_of(request_as(&a, "Una Unitmate").await).await, json!(["MEMBER"]));
    for s in [hr, a.s(Who::DirectoryWrite)] {
        let r = s
            .gql(
                ops::CREATE_PERSON,
                json!({ "n": "Eve Admin", "e": "eve@x.example", "u": a.unit("Sandbox"), "r": ["ADMIN"] }),
            )
            .await;
        assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "createPerson with ADMIN: {r}");
    }
    let people =
        admin.ok("{ people(first: 1, filter: {search: \"Eve Admin\"}) { totalCount } }", json!({})).await;
    assert_eq!(people["people"]["totalCount"], json!(0), "a refused createPerson wrote a person");
    // Positive controls: the roles a person already has are no change, and
    // the ADMIN grants.
    let same = hr.gql(update_roles, json!({ "p": a.person("Una Unitmate"), "r": ["MEMBER"] })).await;
    assert_eq!(expect_data(&same)["updatePerson"]["person"]["roles"], json!(["MEMBER"]));
    admin.ok(update_roles, json!({ "p": a.person("Una Unitmate"), "r": ["MANAGER"] })).await;
    assert_eq!(roles_of(request_as(&a, "Una Unitmate").await).await, json!(["MANAGER"]));
}

/// Everything of a tenant a mutation of these tests could change, as its
/// admin sees it.
async fn snapshot(fx: &Fixture) -> Value {
    fx.admin()
        .ok(
            "{ objectives(first: 1000) { totalCount edges { node { id title description status version
                 parent { id } keyResults { id title current version owner { id } kpi { id }
                 checkIns(first: 1) { totalCount } } } } }
               kpis(first: 1000) { totalCount edges { node { id name description version owner { id }
                 measurements(first: 1) { totalCount } } } }
               periods(first: 100) { edges { node { id status version } } }
               units(first: 1000) { edges { node { id name externalId version parent { id } } } }
               people(first: 1000) { edges { node { id name roles active version unit { id } } } }
               integrations { id revokedAt } }",
            json!({}),
        )
        .await
}
