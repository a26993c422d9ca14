//! The request workloads on the data set ([`crate::dataset`]), against one
//! server process ([`crate::serve`]) seeded once before anything is timed:
//!
//! - W1 `team`: a random TEAM unit → its people → each one's objectives of
//!   the active period → key results → the latest check-in of each; one
//!   query per request.
//! - W2 `department`: the same for a random DEPARTMENT, through its
//!   sub-units (`children`, as deep as the deepest department goes).
//! - W3 `alignment`: the active period's whole `alignmentTree`, every page
//!   of it per request.
//! - W4 `checkin`: `checkIn` on a random open key result of the active
//!   period, as the admin; beside it the raw insert.
//! - W4's ceiling (run with `checkin`): `{ __typename }` as the admin, the
//!   least an authenticated GraphQL request costs (HTTP, the token, parsing
//!   and validation, the actor's lookup, no other SQL); beside it the raw
//!   insert again. No check-in can be served faster than this.
//! - W5 `mix`: 90 % W1 reads, 10 % W4 check-ins.
//!
//! (W7 is W1 on SQLite: the same workload without `--database-url`.)
//!
//! Every workload finds what it needs (units, the period, key results) by
//! querying, as the admin over GraphQL or in SQL, never from the seeding.
//! The read workloads run their SQL floor ([`crate::floor`]) at the same
//! concurrency on the same random choices, after checking once that the
//! floor and the GraphQL answer hold the same rows.

use crate::floor::{Counts, Floor, RawInsert, Tree, counts};
use crate::load::{self, LoadOptions, Sample, ServerCost, TIMED_BASE};
use crate::serve::{Ready, ServerProcess, Tenant};
use crate::{Fallible, load::pick};
use goalgraph_api::ids::{NodeType, decode_any, encode_id};
use goalgraph_persistence::{Store, StoreOptions};
use sea_orm::{ConnectionTrait, Statement, Value as SqlValue};
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;

/// A workload of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Team,
    Department,
    Alignment,
    CheckIn,
    Ceiling,
    Mix,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Team => "W1 team",
            Kind::Department => "W2 department",
            Kind::Alignment => "W3 alignment",
            Kind::CheckIn => "W4 checkin",
            Kind::Ceiling => "W4 ceiling",
            Kind::Mix => "W5 mix",
        }
    }

    /// Concurrencies run when `--concurrency` does not say.
    fn default_concurrency(self, smoke: bool) -> Vec<usize> {
        match (self, smoke) {
            (Kind::Mix, true) => vec![2],
            (_, true) => vec![1, 2],
            (Kind::Team, false) => vec![1, 8, 32],
            (Kind::Mix, false) => vec![8],
            (_, false) => vec![1, 8],
        }
    }

    fn tree(self) -> Option<Tree> {
        match self {
            Kind::Team => Some(Tree::Team),
            Kind::Department => Some(Tree::Department),
            Kind::Alignment => Some(Tree::Alignment),
            Kind::CheckIn | Kind::Ceiling | Kind::Mix => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct OkrOptions {
    /// People of the data set.
    pub people: u32,
    pub seed: u64,
    pub load: LoadOptions,
    /// Overrides every workload's concurrencies.
    pub concurrency: Option<Vec<usize>>,
    pub smoke: bool,
}

/// One workload at one concurrency.
#[derive(Debug)]
pub struct Row {
    pub workload: &'static str,
    pub concurrency: usize,
    pub sample: Sample,
    pub cost: Option<ServerCost>,
    /// The floor (reads) or the raw insert (check-ins) at the same
    /// concurrency.
    pub reference: Option<(&'static str, Sample)>,
}

impl Row {
    /// Why the run fails: an error, or no throughput, here or in the
    /// reference.
    pub fn failure(&self) -> Option<String> {
        let bad = |what: &str, s: &Sample| {
            if s.errors > 0 {
                Some(format!(
                    "{what} at concurrency {}: {} of {} requests failed, first: {}",
                    self.concurrency,
                    s.errors,
                    s.requests,
                    s.first_error.as_deref().unwrap_or("?")
                ))
            } else if s.throughput() <= 0.0 {
                Some(format!("{what} at concurrency {}: no throughput", self.concurrency))
            } else {
                None
            }
        };
        bad(self.workload, &self.sample).or_else(|| {
            self.reference.as_ref().and_then(|(name, s)| bad(&format!("{} {name}", self.workload), s))
        })
    }
}

/// Starts one server process on `database_url` with the data set, runs
/// `kinds` at their concurrencies, and stops it.
pub async fn run(
    database_url: &str,
    data_dir: &Path,
    kinds: &[Kind],
    options: &OkrOptions,
) -> Fallible<Vec<Row>> {
    eprintln!(
        "seeding the data set ({} people, seed {}) in the bench process …",
        options.people, options.seed
    );
    crate::dataset::seed_database(database_url, options.people, options.seed).await?;
    let server = ServerProcess::spawn(database_url, data_dir, Tenant::Existing).await?;
    let result = run_on(&server, database_url, kinds, options).await;
    server.stop().await;
    result
}

async fn run_on(
    server: &ServerProcess,
    database_url: &str,
    kinds: &[Kind],
    options: &OkrOptions,
) -> Fallible<Vec<Row>> {
    let most = kinds
        .iter()
        .flat_map(|k| options.concurrency.clone().unwrap_or_else(|| k.default_concurrency(options.smoke)))
        .max()
        .unwrap_or(1);
    // The client's own connections: the floor and the raw insert, never
    // waiting for a connection at the highest concurrency.
    let store = Store::connect(
        database_url,
        &StoreOptions { max_connections: u32::try_from(most).unwrap_or(64) + 1, ..StoreOptions::default() },
    )
    .await
    .map_err(|e| format!("the bench's own connection: {e}"))?;
    let http = reqwest::Client::new();
    let target = Arc::new(Target::discover(http.clone(), server.ready.clone(), &store).await?);
    eprintln!(
        "found {} teams, {} departments (the deepest with {} levels of units below it), {} open key results of the active period",
        target.teams.len(),
        target.departments.len(),
        target.department_levels,
        target.key_results.len()
    );
    let mut rows = Vec::new();
    for &kind in kinds {
        if let Some(tree) = kind.tree() {
            let (graphql, floor) = target.verify(kind, tree).await?;
            if graphql != floor {
                return Err(format!(
                    "{}: the floor and the GraphQL answer differ for the same choice: GraphQL {graphql}; SQL {floor}",
                    kind.name()
                ));
            }
            eprintln!("{}: the floor holds what GraphQL answers ({graphql})", kind.name());
        }
        let raw = match kind {
            Kind::CheckIn | Kind::Ceiling => {
                Some(Arc::new(RawInsert::create(store.connection().clone()).await?))
            }
            _ => None,
        };
        let concurrencies =
            options.concurrency.clone().unwrap_or_else(|| kind.default_concurrency(options.smoke));
        let measured = async {
            for &c in &concurrencies {
                eprintln!("{} at concurrency {c} …", kind.name());
                let (sample, cost) = match kind {
                    Kind::Team => {
                        drive(
                            server,
                            &http,
                            c,
                            options,
                            &target,
                            |t, i| async move { t.team(i).await.map(drop) },
                        )
                        .await?
                    }
                    Kind::Department => {
                        drive(server, &http, c, options, &target, |t, i| async move {
                            t.department(i).await.map(drop)
                        })
                        .await?
                    }
                    Kind::Alignment => {
                        drive(server, &http, c, options, &target, |t, _| async move {
                            t.alignment().await.map(drop)
                        })
                        .await?
                    }
                    Kind::CheckIn => {
                        drive(server, &http, c, options, &target, |t, i| async move { t.check_in(i).await })
                            .await?
                    }
                    Kind::Ceiling => {
                        drive(server, &http, c, options, &target, |t, _| async move { t.ceiling().await })
                            .await?
                    }
                    Kind::Mix => {
                        drive(server, &http, c, options, &target, |t, i| async move { t.mix(i).await })
                            .await?
                    }
                };
                let reference = match (kind.tree(), &raw) {
                    (Some(tree), _) => {
                        let t = target.clone();
                        let op = Arc::new(move |i| {
                            let t = t.clone();
                            async move { t.floor(tree, i).await.map(drop) }
                        });
                        Some(("floor", load::drive(c, &options.load, None, op).await?.0))
                    }
                    (None, Some(raw)) => {
                        let (t, raw) = (target.clone(), raw.clone());
                        let op = Arc::new(move |i| {
                            let (t, raw) = (t.clone(), raw.clone());
                            async move {
                                let (key_result, value) = t.check_in_choice(i)?;
                                raw.insert(key_result, value).await
                            }
                        });
                        Some(("raw insert", load::drive(c, &options.load, None, op).await?.0))
                    }
                    (None, None) => None,
                };
                rows.push(Row { workload: kind.name(), concurrency: c, sample, cost, reference });
            }
            Ok::<(), String>(())
        }
        .await;
        if let Some(raw) = raw {
            match Arc::into_inner(raw) {
                Some(raw) => raw.drop().await?,
                None => eprintln!("warning: the raw insert's scratch table is still in use and stays"),
            }
        }
        measured?;
    }
    Ok(rows)
}

/// [`load::drive`] of a [`Target`] method against the server.
async fn drive<F, Fut>(
    server: &ServerProcess,
    http: &reqwest::Client,
    concurrency: usize,
    options: &OkrOptions,
    target: &Arc<Target>,
    request: F,
) -> Fallible<(Sample, Option<ServerCost>)>
where
    F: Fn(Arc<Target>, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Fallible<()>> + Send + 'static,
{
    let t = target.clone();
    let op = Arc::new(move |i| request(t.clone(), i));
    load::drive(concurrency, &options.load, Some((server, http)), op).await
}

const PERSON_FIELDS: &str = "id name objectives(periodId: $period) { id title progress parent { id } \
    keyResults { id title current progress latestCheckIn { id value createdAt } } }";

/// A unit's own fields and people, and `levels` levels of sub-units below.
fn unit_fields(levels: usize) -> String {
    let own =
        format!("id name people(first: 1000) {{ pageInfo {{ hasNextPage }} nodes {{ {PERSON_FIELDS} }} }}");
    if levels == 0 { own } else { format!("{own} children {{ {} }}", unit_fields(levels - 1)) }
}

fn unit_query(name: &str, levels: usize) -> String {
    format!(
        "query {name}($unit: ID!, $period: ID!) {{ node(id: $unit) {{ ... on Unit {{ {} }} }} }}",
        unit_fields(levels)
    )
}

const ALIGNMENT: &str = "query Alignment($period: ID!, $first: Int!, $after: String) { \
    alignmentTree(periodId: $period, first: $first, after: $after) { pageInfo { hasNextPage endCursor } \
    edges { node { depth parentId objective { id title progress \
    keyResults { id title current progress latestCheckIn { id value createdAt } } } } } } }";

const CHECK_IN: &str = "mutation CheckIn($k: ID!, $v: Float!, $i: String!) { checkIn(input: { keyResultId: $k, \
    value: $v, confidence: 0.7, idempotencyKey: $i }) { checkIn { id } keyResult { id progress } } }";

/// What the workloads found, and how they ask.
struct Target {
    http: reqwest::Client,
    ready: Ready,
    organization: Uuid,
    /// The active period: global id and uuid.
    period: (String, Uuid),
    teams: Vec<(String, Uuid)>,
    departments: Vec<(String, Uuid)>,
    /// Sub-unit levels below the deepest department.
    department_levels: usize,
    team_query: String,
    department_query: String,
    /// Open key results of the active period (global ids).
    key_results: Vec<String>,
    page_size: u64,
    floor: Floor,
    check_ins: AtomicU64,
}

/// Units of the tenant: global id, uuid, kind, parent's uuid.
type UnitRow = (String, Uuid, String, Option<Uuid>);

impl Target {
    async fn discover(http: reqwest::Client, ready: Ready, store: &Store) -> Fallible<Self> {
        let mut t = Self {
            http,
            ready,
            organization: Uuid::nil(),
            period: (String::new(), Uuid::nil()),
            teams: Vec::new(),
            departments: Vec::new(),
            department_levels: 0,
            team_query: unit_query("Team", 0),
            department_query: String::new(),
            key_results: Vec::new(),
            page_size: 100,
            floor: Floor::new(store.connection().clone()),
            check_ins: AtomicU64::new(0),
        };
        let found = t
            .graphql(
                "{ organization { id settings { maxPageSize } } periods(status: ACTIVE, first: 10) { nodes { id } } }",
                json!({}),
            )
            .await?;
        t.organization = uuid_of(&found["data"]["organization"]["id"], NodeType::Organization)?;
        t.page_size = found["data"]["organization"]["settings"]["maxPageSize"].as_u64().unwrap_or(100).max(1);
        let periods = found["data"]["periods"]["nodes"].as_array().cloned().unwrap_or_default();
        let period = periods.first().ok_or("the tenant has no ACTIVE period")?;
        if periods.len() > 1 {
            eprintln!("warning: {} ACTIVE periods; using the first", periods.len());
        }
        t.period = (global(&period["id"])?, uuid_of(&period["id"], NodeType::Period)?);

        let units = t.units().await?;
        let mut children: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (_, id, _, parent) in &units {
            if let Some(p) = parent {
                children.entry(*p).or_default().push(*id);
            }
        }
        // W2's departments are those two levels below the company (below a
        // division: about 500 people in the generated organization); a tree
        // without such units uses every department.
        let parent_of: HashMap<Uuid, Option<Uuid>> = units.iter().map(|(_, id, _, p)| (*id, *p)).collect();
        let depth = |mut id: Uuid| {
            let mut d = 0;
            while let Some(Some(p)) = parent_of.get(&id) {
                id = *p;
                d += 1;
                if d > units.len() {
                    break;
                }
            }
            d
        };
        let departments: Vec<&UnitRow> = units.iter().filter(|u| u.2 == "DEPARTMENT").collect();
        let second_level: Vec<&UnitRow> = departments.iter().copied().filter(|u| depth(u.1) == 2).collect();
        let chosen = if second_level.is_empty() { departments } else { second_level };
        for (gid, id, _, _) in chosen {
            t.department_levels = t.department_levels.max(height(&children, *id, units.len()));
            t.departments.push((gid.clone(), *id));
        }
        for (gid, id, kind, _) in &units {
            if kind == "TEAM" {
                t.teams.push((gid.clone(), *id));
            }
        }
        if t.teams.is_empty() || t.departments.is_empty() {
            return Err(format!(
                "the data set has {} teams and {} departments: the workloads need both",
                t.teams.len(),
                t.departments.len()
            ));
        }
        t.department_query = unit_query("Department", t.department_levels);
        t.key_results = open_key_results(store, t.organization, t.period.1).await?;
        if t.key_results.is_empty() {
            return Err("the active period has no open key result to check in on".to_owned());
        }
        Ok(t)
    }

    /// Every unit, page by page.
    async fn units(&self) -> Fallible<Vec<UnitRow>> {
        let mut units = Vec::new();
        let mut after = Json::Null;
        loop {
            let page = self
                .graphql(
                    "query Units($first: Int!, $after: String) { units(first: $first, after: $after) { \
                     pageInfo { hasNextPage endCursor } nodes { id kind parent { id } } } }",
                    json!({ "first": self.page_size, "after": after }),
                )
                .await?;
            let conn = &page["data"]["units"];
            for u in conn["nodes"].as_array().map_or(&[][..], Vec::as_slice) {
                let parent = match &u["parent"]["id"] {
                    Json::Null => None,
                    id => Some(uuid_of(id, NodeType::Unit)?),
                };
                let kind = u["kind"].as_str().unwrap_or_default().to_owned();
                units.push((global(&u["id"])?, uuid_of(&u["id"], NodeType::Unit)?, kind, parent));
            }
            if conn["pageInfo"]["hasNextPage"] != json!(true) {
                return Ok(units);
            }
            after = conn["pageInfo"]["endCursor"].clone();
        }
    }

    /// One GraphQL request as the admin; an HTTP error or any GraphQL
    /// error is a failure.
    async fn graphql(&self, query: &str, variables: Json) -> Fallible<Json> {
        let response = self
            .http
            .post(format!("http://{}/graphql", self.ready.addr))
            .bearer_auth(&self.ready.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| format!("POST /graphql: {e}"))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| format!("POST /graphql: {e}"))?;
        let parsed: Json =
            serde_json::from_slice(&body).map_err(|e| format!("HTTP {status}: not JSON ({e})"))?;
        if !status.is_success() || parsed.get("errors").is_some_and(|e| !e.is_null()) {
            let text: String = String::from_utf8_lossy(&body).chars().take(400).collect();
            return Err(format!("HTTP {status}: {text}"));
        }
        Ok(parsed)
    }

    async fn unit_tree(&self, query: &str, unit: &str) -> Fallible<Json> {
        let answer = self.graphql(query, json!({ "unit": unit, "period": self.period.0 })).await?;
        let data = answer.get("data").cloned().unwrap_or(Json::Null);
        if !data["node"].is_object() {
            return Err(format!("the unit {unit} was not found"));
        }
        Ok(data)
    }

    /// W1: request `index`'s team.
    async fn team(&self, index: u64) -> Fallible<Json> {
        let (team, _) = pick(&self.teams, index)?;
        self.unit_tree(&self.team_query, team).await
    }

    /// W2: request `index`'s department.
    async fn department(&self, index: u64) -> Fallible<Json> {
        let (department, _) = pick(&self.departments, index)?;
        self.unit_tree(&self.department_query, department).await
    }

    /// W3: every page of the tree, as a list of answers.
    async fn alignment(&self) -> Fallible<Json> {
        let mut pages = Vec::new();
        let mut after = Json::Null;
        loop {
            let page = self
                .graphql(
                    ALIGNMENT,
                    json!({ "period": self.period.0, "first": self.page_size, "after": after }),
                )
                .await?;
            let data = page.get("data").cloned().unwrap_or(Json::Null);
            let info = data["alignmentTree"]["pageInfo"].clone();
            pages.push(data);
            if info["hasNextPage"] != json!(true) {
                return Ok(Json::Array(pages));
            }
            after = info["endCursor"].clone();
        }
    }

    /// The key result and value request `index` checks in.
    fn check_in_choice(&self, index: u64) -> Fallible<(&str, f64)> {
        let key_result = pick(&self.key_results, index)?;
        Ok((key_result.as_str(), load::draw(index, 1000) as f64 / 10.0))
    }

    /// W4: a check-in with a key of its own.
    async fn check_in(&self, index: u64) -> Fallible<()> {
        let (key_result, value) = self.check_in_choice(index)?;
        let n = self.check_ins.fetch_add(1, Ordering::Relaxed);
        let key = format!("bench-{}-{n}", std::process::id());
        let answer = self.graphql(CHECK_IN, json!({ "k": key_result, "v": value, "i": key })).await?;
        if answer["data"]["checkIn"]["checkIn"]["id"].is_null() {
            return Err(format!("checkIn answered {answer}"));
        }
        Ok(())
    }

    /// W4's ceiling: the least request, with the same token.
    async fn ceiling(&self) -> Fallible<()> {
        let answer = self.graphql("{ __typename }", json!({})).await?;
        if answer["data"]["__typename"] != json!("Query") {
            return Err(format!("{{ __typename }} answered {answer}"));
        }
        Ok(())
    }

    /// W5: one request in ten a check-in, the others W1.
    async fn mix(&self, index: u64) -> Fallible<()> {
        // Salted: the choice of team must not decide reads from writes.
        if load::draw(index ^ 0x6D69_7800, 10) == 0 {
            self.check_in(index).await
        } else {
            self.team(index).await.map(drop)
        }
    }

    /// The floor of `tree` for request `index`'s unit.
    async fn floor(&self, tree: Tree, index: u64) -> Fallible<Json> {
        let unit = match tree {
            Tree::Team => Some(pick(&self.teams, index)?.1),
            Tree::Department => Some(pick(&self.departments, index)?.1),
            Tree::Alignment => None,
        };
        self.floor.fetch(tree, self.organization, self.period.1, unit).await
    }

    /// The counts of the GraphQL answer and of the floor for the first
    /// timed choice.
    async fn verify(&self, kind: Kind, tree: Tree) -> Fallible<(Counts, Counts)> {
        let answer = match kind {
            Kind::Team => self.team(TIMED_BASE).await?,
            Kind::Department => self.department(TIMED_BASE).await?,
            _ => self.alignment().await?,
        };
        if answer.to_string().contains("\"hasNextPage\":true") && kind != Kind::Alignment {
            return Err(format!("{}: a unit has more people than one page holds", kind.name()));
        }
        Ok((counts(&answer), counts(&self.floor(tree, TIMED_BASE).await?)))
    }
}

/// Levels of units below `unit` (0 for a leaf); `limit` stops a cycle.
fn height(children: &HashMap<Uuid, Vec<Uuid>>, unit: Uuid, limit: usize) -> usize {
    if limit == 0 {
        return 0;
    }
    children
        .get(&unit)
        .map_or(0, |kids| kids.iter().map(|k| 1 + height(children, *k, limit - 1)).max().unwrap_or(0))
}

fn global(id: &Json) -> Fallible<String> {
    id.as_str().map(str::to_owned).ok_or_else(|| format!("not an id: {id}"))
}

fn uuid_of(id: &Json, node: NodeType) -> Fallible<Uuid> {
    match id.as_str().and_then(decode_any) {
        Some((n, uuid)) if n == node => Ok(uuid),
        _ => Err(format!("not a {node:?} id: {id}")),
    }
}

/// Key results of `period` whose objective is open (DRAFT, ACTIVE) and
/// that follow no KPI: those a check-in may move.
async fn open_key_results(store: &Store, organization: Uuid, period: Uuid) -> Fallible<Vec<String>> {
    let db = store.connection();
    let backend = db.get_database_backend();
    let sql = "SELECT k.id AS id FROM key_results k \
               JOIN objectives o ON o.organization_id = k.organization_id AND o.id = k.objective_id \
               WHERE k.organization_id = $1 AND o.period_id = $2 AND o.status IN ('DRAFT', 'ACTIVE') \
               AND NOT EXISTS (SELECT 1 FROM key_result_kpi_links l \
                 WHERE l.organization_id = k.organization_id AND l.key_result_id = k.id) \
               ORDER BY k.id";
    let sql = if backend == sea_orm::DbBackend::Postgres { sql.to_owned() } else { sql.replace('$', "?") };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [SqlValue::from(organization), SqlValue::from(period)],
        ))
        .await
        .map_err(|e| format!("listing key results: {e}"))?;
    rows.into_iter()
        .map(|row| {
            let id: Uuid = row.try_get("", "id").map_err(|e| format!("a key result's id: {e}"))?;
            Ok(encode_id(NodeType::KeyResult, id).0)
        })
        .collect()
}

/// Prints the rows of one database.
pub fn print(database: &str, options: &OkrOptions, rows: &[Row]) {
    let phase = |p: load::Phase| match p {
        load::Phase::Duration(d) => format!("{:.0} s", d.as_secs_f64()),
        load::Phase::Requests(n) => format!("{n} requests"),
    };
    println!(
        "requests on {database}: data set seeded with --people {} --seed {}, warm-up {}, timed {} per row; \
         CPU and SQL are the server process's per request; ratios: p50 / reference p50, req/s / reference req/s",
        options.people,
        options.seed,
        phase(options.load.warmup),
        phase(options.load.timed)
    );
    println!(
        "  {:<14} {:>4} {:>8} {:>6} {:>9} {:>9} {:>9} {:>10} {:>9} {:>11} {:>9} {:>10} {:>9} {:>9}",
        "workload",
        "conc",
        "requests",
        "errors",
        "p50 ms",
        "p99 ms",
        "req/s",
        "CPU ms/req",
        "SQL/req",
        "reference",
        "ref p50",
        "ref req/s",
        "p50 ×",
        "req/s ×"
    );
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
    for r in rows {
        let (cpu, sql) = r.cost.map_or(("-".to_owned(), "-".to_owned()), |c| {
            (format!("{:.2}", c.cpu_ms_per_request), format!("{:.2}", c.statements_per_request))
        });
        let (name, ref_p50, ref_rps, p50_ratio, rps_ratio) = match &r.reference {
            Some((name, s)) => {
                let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) if b > 0.0 && a / b < 1.0 => format!("{:.3}", a / b),
                    (Some(a), Some(b)) if b > 0.0 => format!("{:.1}", a / b),
                    _ => "-".to_owned(),
                };
                (
                    *name,
                    ms(s.percentile_ms(0.5)),
                    format!("{:.1}", s.throughput()),
                    ratio(r.sample.percentile_ms(0.5), s.percentile_ms(0.5)),
                    ratio(Some(r.sample.throughput()), Some(s.throughput())),
                )
            }
            None => ("-", "-".to_owned(), "-".to_owned(), "-".to_owned(), "-".to_owned()),
        };
        println!(
            "  {:<14} {:>4} {:>8} {:>6} {:>9} {:>9} {:>9.1} {:>10} {:>9} {:>11} {:>9} {:>10} {:>9} {:>9}",
            r.workload,
            r.concurrency,
            r.sample.requests,
            r.sample.errors,
            ms(r.sample.percentile_ms(0.5)),
            ms(r.sample.percentile_ms(0.99)),
            r.sample.throughput(),
            cpu,
            sql,
            name,
            ref_p50,
            ref_rps,
            p50_ratio,
            rps_ratio
        );
    }
}
