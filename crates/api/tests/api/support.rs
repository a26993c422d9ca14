//! Fixtures and helpers of the API suite: two tenants built through the
//! store's own API, a session per person that executes operations against
//! the schema, and readers of the `{data, errors}` JSON a client sees.

use async_graphql::{Request, Variables};
use chrono::NaiveDate;
use goalgraph_api::{AppSchema, RequestContext};
use goalgraph_domain::model::{Organization, Period, Person, Role, RoleSet, Unit, UnitKind};
use goalgraph_domain::policy::Actor;
use goalgraph_domain::{PersonId, UnitId};
use goalgraph_persistence::{NewOrganization, NewPeriod, NewPerson, NewUnit, Store, StoreOptions};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Built once per test binary: the schema holds no per-request state.
pub fn schema() -> &'static AppSchema {
    static SCHEMA: OnceLock<AppSchema> = OnceLock::new();
    SCHEMA.get_or_init(goalgraph_api::build_schema)
}

pub async fn connect(db: &TestDb) -> Store {
    Store::connect(&db.url, &StoreOptions::default()).await.expect("connect to the test database")
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a test date")
}

/// Executes `query` with `vars` as the person behind `ctx` and answers
/// what a client would see: `{"data": …, "errors": […]}`.
pub async fn gql(store: &Store, ctx: &RequestContext, query: &str, vars: Value) -> Value {
    gql_on(schema(), store, ctx, query, vars).await
}

/// [`gql`] on another schema.
pub async fn gql_on(
    schema: &AppSchema,
    store: &Store,
    ctx: &RequestContext,
    query: &str,
    vars: Value,
) -> Value {
    let request = Request::new(query).variables(Variables::from_json(vars));
    let response = goalgraph_api::execute(schema, store, ctx.clone(), request).await;
    let data = response.data.into_json().expect("data as JSON");
    let errors = serde_json::to_value(&response.errors).expect("errors as JSON");
    json!({ "data": data, "errors": errors })
}

/// [`gql_on`] the way the server runs an operation
/// ([`goalgraph_api::execute_deferred`]), and whether the answer's data
/// came as the compiled read path's text.
pub async fn gql_deferred(
    schema: &AppSchema,
    store: &Store,
    ctx: &RequestContext,
    query: &str,
    vars: Value,
) -> (Value, bool) {
    let request = Request::new(query).variables(Variables::from_json(vars));
    let ctx = ctx.clone();
    let context: goalgraph_api::DeferredContext = Box::pin(async move { Ok(ctx) });
    let answer = goalgraph_api::execute_deferred(schema, store, context, request).await;
    let compiled = answer.data.is_some();
    let response = answer.into_response();
    let data = response.data.into_json().expect("data as JSON");
    let errors = serde_json::to_value(&response.errors).expect("errors as JSON");
    (json!({ "data": data, "errors": errors }), compiled)
}

/// `errors[0].extensions.code`.
pub fn error_code(value: &Value) -> Option<String> {
    value["errors"][0]["extensions"]["code"].as_str().map(str::to_owned)
}

/// `errors[0].extensions.field`.
pub fn error_field(value: &Value) -> Option<String> {
    value["errors"][0]["extensions"]["field"].as_str().map(str::to_owned)
}

fn no_errors(value: &Value) -> bool {
    value["errors"].as_array().is_none_or(Vec::is_empty)
}

/// The data of a response that must have succeeded.
#[track_caller]
pub fn expect_data(value: &Value) -> Value {
    assert!(no_errors(value), "expected no errors, got {value:#}");
    value["data"].clone()
}

/// A response that must have failed with `code` (and, when given, on `field`).
#[track_caller]
pub fn expect_error(value: &Value, code: &str, field: Option<&str>) {
    assert_eq!(error_code(value).as_deref(), Some(code), "expected {code}, got {value:#}");
    if let Some(field) = field {
        assert_eq!(error_field(value).as_deref(), Some(field), "expected field {field}, got {value:#}");
    }
}

/// The names of `conn.edges[].node.name`, in order.
pub fn edge_names(conn: &Value) -> Vec<String> {
    conn["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("not a connection: {conn:#}"))
        .iter()
        .map(|e| e["node"]["name"].as_str().expect("node.name").to_owned())
        .collect()
}

/// One person's view of the API.
#[derive(Clone)]
pub struct Session {
    pub store: Store,
    pub ctx: RequestContext,
}

impl Session {
    /// The session of `person`, with the actor and the organization's
    /// settings read fresh from the store (as the server does per request).
    pub async fn of(store: &Store, person: &Person) -> Self {
        let org = store
            .find_organization(&person.organization_id.to_string())
            .await
            .expect("read organization")
            .expect("organization exists");
        let actor: Actor = store.person_actor(person, &RoleSet::default()).await.expect("actor");
        let ctx = RequestContext {
            actor,
            person: Some(person.clone()),
            settings: org.settings,
            request_id: "test".into(),
        };
        Self { store: store.clone(), ctx }
    }

    pub async fn gql(&self, query: &str, vars: Value) -> Value {
        gql(&self.store, &self.ctx, query, vars).await
    }

    /// Runs an operation that must succeed and returns its data.
    pub async fn ok(&self, query: &str, vars: Value) -> Value {
        let response = self.gql(query, vars).await;
        assert!(no_errors(&response), "`{query}` failed: {response:#}");
        response["data"].clone()
    }

    /// `totalCount` of a root connection (`units`, `people` or `periods`).
    pub async fn count(&self, list: &str) -> u64 {
        let data = self.ok(&format!("{{ {list}(first: 1) {{ totalCount }} }}"), json!({})).await;
        data[list]["totalCount"].as_u64().unwrap_or_else(|| panic!("{list}.totalCount in {data:#}"))
    }

    /// The global ids of everything this session lists, by name.
    pub async fn ids(&self) -> Ids {
        let data = self
            .ok(
                "{ organization { id }
                   units(first: 1000) { edges { node { id name } } }
                   people(first: 1000) { edges { node { id name } } }
                   periods(first: 1000) { edges { node { id name } } } }",
                json!({}),
            )
            .await;
        let map = |list: &str| -> HashMap<String, String> {
            data[list]["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| {
                    let node = &e["node"];
                    (
                        node["name"].as_str().expect("name").to_owned(),
                        node["id"].as_str().expect("id").to_owned(),
                    )
                })
                .collect()
        };
        Ids {
            org: data["organization"]["id"].as_str().expect("organization.id").to_owned(),
            units: map("units"),
            people: map("people"),
            periods: map("periods"),
        }
    }
}

/// Global ids as the API hands them out.
#[derive(Debug, Clone)]
pub struct Ids {
    pub org: String,
    pub units: HashMap<String, String>,
    pub people: HashMap<String, String>,
    pub periods: HashMap<String, String>,
}

impl Ids {
    pub fn unit(&self, name: &str) -> String {
        self.units.get(name).unwrap_or_else(|| panic!("no unit {name} in {:?}", self.units)).clone()
    }
    pub fn person(&self, name: &str) -> String {
        self.people.get(name).unwrap_or_else(|| panic!("no person {name} in {:?}", self.people)).clone()
    }
    pub fn period(&self, name: &str) -> String {
        self.periods.get(name).unwrap_or_else(|| panic!("no period {name} in {:?}", self.periods)).clone()
    }
}

/// One organization as the fixture built it.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub slug: String,
    pub org: Organization,
    pub admin: Person,
    /// Every unit, the company included, in creation order.
    pub units: Vec<Unit>,
    /// Every person, the admin included, in creation order.
    pub people: Vec<Person>,
    pub periods: Vec<Period>,
    /// (unit, its managers) as set by the fixture.
    pub managers: Vec<(UnitId, Vec<PersonId>)>,
    admin_actor: Actor,
}

impl Tenant {
    /// A tenant named `name` with slug `slug`; its admin is `admin_name`,
    /// `admin@<slug>.example`.
    pub async fn create(store: &Store, name: &str, slug: &str, admin_name: &str) -> Self {
        let (org, company, admin) = store
            .create_organization(NewOrganization {
                name: name.to_owned(),
                slug: Some(slug.to_owned()),
                time_zone: None,
                admin_name: admin_name.to_owned(),
                admin_email: format!("admin@{slug}.example"),
            })
            .await
            .expect("create organization");
        let admin_actor = store.person_actor(&admin, &RoleSet::default()).await.expect("admin actor");
        Self {
            slug: slug.to_owned(),
            org,
            admin: admin.clone(),
            units: vec![company],
            people: vec![admin],
            periods: vec![],
            managers: vec![],
            admin_actor,
        }
    }

    pub async fn add_unit(&mut self, store: &Store, kind: UnitKind, name: &str, parent: &str) -> Unit {
        let parent_id = self.unit(parent).id;
        let unit = store
            .create_unit(
                &self.admin_actor,
                NewUnit { kind, name: name.to_owned(), parent_id, external_id: None },
            )
            .await
            .unwrap_or_else(|e| panic!("create unit {name}: {e:?}"));
        self.units.push(unit.clone());
        unit
    }

    /// A person with e-mail `<first>.<last>@<slug>.example`.
    pub async fn add_person(
        &mut self,
        store: &Store,
        name: &str,
        unit: &str,
        manager: Option<&str>,
        roles: &[Role],
    ) -> Person {
        let new = NewPerson {
            name: name.to_owned(),
            email: self.email_of(name),
            unit_id: self.unit(unit).id,
            manager_id: manager.map(|m| self.person(m).id),
            roles: Some(RoleSet::new(roles.iter().copied())),
            subject: None,
            external_id: None,
        };
        let person = store
            .create_person(&self.admin_actor, new)
            .await
            .unwrap_or_else(|e| panic!("create person {name}: {e:?}"));
        self.people.push(person.clone());
        person
    }

    pub async fn set_managers(&mut self, store: &Store, unit: &str, managers: &[&str]) {
        let unit_id = self.unit(unit).id;
        let ids: Vec<PersonId> = managers.iter().map(|m| self.person(m).id).collect();
        store.set_unit_managers(&self.admin_actor, unit_id, &ids).await.expect("set managers");
        self.managers.retain(|(u, _)| *u != unit_id);
        self.managers.push((unit_id, ids));
    }

    pub async fn add_period(&mut self, store: &Store, name: &str, start: &str, end: &str) -> Period {
        let period = store
            .create_period(
                &self.admin_actor,
                NewPeriod { name: name.to_owned(), start_date: date(start), end_date: date(end) },
            )
            .await
            .unwrap_or_else(|e| panic!("create period {name}: {e:?}"));
        self.periods.push(period.clone());
        period
    }

    pub fn email_of(&self, name: &str) -> String {
        format!("{}@{}.example", name.to_lowercase().replace(' ', "."), self.slug)
    }

    pub fn unit(&self, name: &str) -> &Unit {
        self.units.iter().find(|u| u.name == name).unwrap_or_else(|| panic!("fixture has no unit {name}"))
    }

    pub fn person(&self, name: &str) -> &Person {
        self.people.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("fixture has no person {name}"))
    }

    pub fn unit_names(&self) -> Vec<String> {
        sorted(self.units.iter().map(|u| u.name.clone()))
    }

    pub fn person_names(&self) -> Vec<String> {
        sorted(self.people.iter().map(|p| p.name.clone()))
    }

    pub fn period_names(&self) -> Vec<String> {
        sorted(self.periods.iter().map(|p| p.name.clone()))
    }

    /// Every name and e-mail address of this tenant: none may ever show up
    /// in another tenant's responses.
    pub fn fingerprints(&self) -> Vec<String> {
        let mut out = vec![self.org.name.clone(), self.slug.clone()];
        out.extend(self.units.iter().map(|u| u.name.clone()));
        out.extend(self.people.iter().flat_map(|p| [p.name.clone(), p.email.clone()]));
        out.extend(self.periods.iter().map(|p| p.name.clone()));
        out
    }

    pub async fn session(&self, store: &Store, person: &str) -> Session {
        Session::of(store, self.person(person)).await
    }
}

pub fn sorted(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = names.into_iter().collect();
    v.sort();
    v
}

/// Two tenants on one database.
///
/// A, "Alpha Corp" (`alpha`):
/// ```text
/// Alpha Corp (COMPANY)        Ada Admin [ADMIN], Hana Human [HR]
/// ├── Engineering (DEPT)      Max Manager [MANAGER], manages Engineering
/// │   ├── Platform (TEAM)     Mia Member [MEMBER], manager Max
/// │   └── Mobile (TEAM)       Olga Other [MEMBER], manager Max
/// └── Sales (DEPT)            Sam Seller [MANAGER], manages Sales
///     └── Field Sales (TEAM)  Vic Viewer [VIEWER], manager Sam
/// periods: Winter 2026 (2026-01-01..03-31), Autumn 2025 (2025-10-01..12-31),
///          Spring 2026 (2026-04-01..06-30), created in that order
/// ```
/// B, "Bravo Inc" (`bravo`):
/// ```text
/// Bravo Inc (COMPANY)         Bob Admin [ADMIN]
/// └── Bravo Research (DEPT)   Ben Bravo [MANAGER], manages Bravo Research
///     └── Bravo Lab (TEAM)    Bea Bravo [MEMBER], manager Ben
/// period: Bravo Q1 (2026-01-01..03-31)
/// ```
pub struct World {
    pub store: Store,
    pub a: Tenant,
    pub b: Tenant,
}

/// The fixture's holder of each role in tenant A.
pub const ROLE_HOLDERS: [(Role, &str); 5] = [
    (Role::Admin, "Ada Admin"),
    (Role::Hr, "Hana Human"),
    (Role::Manager, "Max Manager"),
    (Role::Member, "Mia Member"),
    (Role::Viewer, "Vic Viewer"),
];

impl World {
    pub async fn new(db: &TestDb) -> Self {
        let store = connect(db).await;
        let mut a = Tenant::create(&store, "Alpha Corp", "alpha", "Ada Admin").await;
        a.add_unit(&store, UnitKind::Department, "Engineering", "Alpha Corp").await;
        a.add_unit(&store, UnitKind::Department, "Sales", "Alpha Corp").await;
        a.add_unit(&store, UnitKind::Team, "Platform", "Engineering").await;
        a.add_unit(&store, UnitKind::Team, "Mobile", "Engineering").await;
        a.add_unit(&store, UnitKind::Team, "Field Sales", "Sales").await;
        a.add_person(&store, "Hana Human", "Alpha Corp", None, &[Role::Hr]).await;
        a.add_person(&store, "Max Manager", "Engineering", None, &[Role::Manager]).await;
        a.add_person(&store, "Sam Seller", "Sales", None, &[Role::Manager]).await;
        a.add_person(&store, "Mia Member", "Platform", Some("Max Manager"), &[Role::Member]).await;
        a.add_person(&store, "Olga Other", "Mobile", Some("Max Manager"), &[Role::Member]).await;
        a.add_person(&store, "Vic Viewer", "Field Sales", Some("Sam Seller"), &[Role::Viewer]).await;
        a.set_managers(&store, "Engineering", &["Max Manager"]).await;
        a.set_managers(&store, "Sales", &["Sam Seller"]).await;
        a.add_period(&store, "Winter 2026", "2026-01-01", "2026-03-31").await;
        a.add_period(&store, "Autumn 2025", "2025-10-01", "2025-12-31").await;
        a.add_period(&store, "Spring 2026", "2026-04-01", "2026-06-30").await;

        let mut b = Tenant::create(&store, "Bravo Inc", "bravo", "Bob Admin").await;
        b.add_unit(&store, UnitKind::Department, "Bravo Research", "Bravo Inc").await;
        b.add_unit(&store, UnitKind::Team, "Bravo Lab", "Bravo Research").await;
        b.add_person(&store, "Ben Bravo", "Bravo Research", None, &[Role::Manager]).await;
        b.add_person(&store, "Bea Bravo", "Bravo Lab", Some("Ben Bravo"), &[Role::Member]).await;
        b.set_managers(&store, "Bravo Research", &["Ben Bravo"]).await;
        b.add_period(&store, "Bravo Q1", "2026-01-01", "2026-03-31").await;
        Self { store, a, b }
    }

    pub async fn a_admin(&self) -> Session {
        self.a.session(&self.store, "Ada Admin").await
    }

    pub async fn b_admin(&self) -> Session {
        self.b.session(&self.store, "Bob Admin").await
    }
}
