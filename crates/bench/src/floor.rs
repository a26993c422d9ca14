//! The floor of the read workloads: the tree a GraphQL query returns,
//! fetched instead as one JSON document by ONE hand-written SQL statement
//! (correlated subqueries with `json_agg`/`json_build_object` on
//! PostgreSQL, `json_group_array`/`json_object` on SQLite), which the
//! bench client runs itself on the same database over loopback: what the
//! database alone needs to answer, with no server, no GraphQL and no ORM.
//!
//! The documents hold the same rows as the GraphQL answers (people,
//! objectives of the active period, key results, the latest check-in of
//! each), in the same order, under the same keys, so [`counts`] reads both.
//! A department's people come as one list (the whole subtree's), where the
//! GraphQL answer nests them unit by unit.
//!
//! Also the raw insert, the write's reference: a single-row INSERT into a
//! scratch table of the bench's own ([`RawInsert`]).

use crate::Fallible;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use serde_json::Value as Json;
use uuid::Uuid;

/// Which tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tree {
    /// A unit's own people → their objectives of the period → key results
    /// → the latest check-in of each.
    Team,
    /// The same for every person of the unit's subtree.
    Department,
    /// Every objective of the period → key results → latest check-in.
    Alignment,
}

/// How many of each the tree holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub people: usize,
    pub objectives: usize,
    pub key_results: usize,
    pub check_ins: usize,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} people, {} objectives, {} key results, {} check-ins",
            self.people, self.objectives, self.key_results, self.check_ins
        )
    }
}

/// Counts a GraphQL answer or a floor document alike: people (`people`, a
/// list or a connection's `nodes`), objectives (`objectives` lists and
/// `objective` objects), key results (`keyResults`) and check-ins (a
/// non-null `latestCheckIn`), at any depth.
pub fn counts(document: &Json) -> Counts {
    let mut c = Counts::default();
    walk(document, &mut c);
    c
}

fn walk(v: &Json, c: &mut Counts) {
    match v {
        Json::Object(fields) => {
            for (key, x) in fields {
                match (key.as_str(), x) {
                    ("people", Json::Array(a)) => c.people += a.len(),
                    ("people", Json::Object(conn)) => {
                        c.people += conn.get("nodes").and_then(Json::as_array).map_or(0, Vec::len);
                    }
                    ("objectives", Json::Array(a)) => c.objectives += a.len(),
                    ("objective", Json::Object(_)) => c.objectives += 1,
                    ("keyResults", Json::Array(a)) => c.key_results += a.len(),
                    ("latestCheckIn", Json::Object(_)) => c.check_ins += 1,
                    _ => {}
                }
                walk(x, c);
            }
        }
        Json::Array(items) => items.iter().for_each(|x| walk(x, c)),
        _ => {}
    }
}

/// The floor's statements for one database, built once.
pub struct Floor {
    db: DatabaseConnection,
    team: String,
    department: String,
    alignment: String,
}

impl Floor {
    pub fn new(db: DatabaseConnection) -> Self {
        let d = Dialect(db.get_database_backend());
        let (team, department, alignment) = (d.team(), d.department(), d.alignment());
        Self { db, team, department, alignment }
    }

    /// The document of `tree` for the tenant `org`, the period `period`
    /// and (Team, Department) the unit `unit`.
    pub async fn fetch(&self, tree: Tree, org: Uuid, period: Uuid, unit: Option<Uuid>) -> Fallible<Json> {
        let (sql, mut values) = match tree {
            Tree::Team => (&self.team, vec![Value::from(org), Value::from(period)]),
            Tree::Department => (&self.department, vec![Value::from(org), Value::from(period)]),
            Tree::Alignment => (&self.alignment, vec![Value::from(org), Value::from(period)]),
        };
        if tree != Tree::Alignment {
            values.push(Value::from(unit.ok_or("the floor of a unit's tree needs the unit")?));
        }
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(backend, placeholders(backend, sql), values))
            .await
            .map_err(|e| format!("the floor's statement: {e}"))?
            .ok_or("the floor's statement returned no row (an unknown unit?)")?;
        let text: String = row.try_get_by_index(0).map_err(|e| format!("the floor's document: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("the floor's document is not JSON ({e})"))
    }
}

/// A statement written with `$1`, `$2` …, which SQLite reads as `?1` ….
fn placeholders(backend: DbBackend, sql: &str) -> String {
    match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => sql.replace('$', "?"),
    }
}

/// The JSON functions of one database.
struct Dialect(DbBackend);

impl Dialect {
    fn postgres(&self) -> bool {
        self.0 == DbBackend::Postgres
    }

    /// A JSON object of `(key, SQL expression)` pairs.
    fn object(&self, fields: &[(&str, String)]) -> String {
        let f = if self.postgres() { "json_build_object" } else { "json_object" };
        let pairs: Vec<String> = fields.iter().map(|(k, v)| format!("'{k}', {v}")).collect();
        format!("{f}({})", pairs.join(", "))
    }

    /// A JSON array of `value` over the rows of `from` (`FROM … WHERE …`),
    /// ordered by `order`; `[]` when there are none.
    fn array(&self, value: &str, order: &str, from: &str) -> String {
        if self.postgres() {
            format!("COALESCE((SELECT json_agg({value} ORDER BY {order}) {from}), '[]'::json)")
        } else {
            // A subquery's result is text to SQLite: json() makes it JSON again.
            format!("json((SELECT json_group_array({value} ORDER BY {order}) {from}))")
        }
    }

    /// `value` of the first row of `from` (with its ORDER BY), or null.
    fn first(&self, value: &str, from: &str) -> String {
        if self.postgres() {
            format!("(SELECT {value} {from} LIMIT 1)")
        } else {
            format!("json((SELECT {value} {from} LIMIT 1))")
        }
    }

    /// A UUID column as text (SQLite stores them as 16-byte blobs).
    fn id(&self, column: &str) -> String {
        if self.postgres() { format!("{column}::text") } else { format!("lower(hex({column}))") }
    }

    /// The statement's one column, as text.
    fn document(&self, value: &str) -> String {
        if self.postgres() { format!("({value})::text") } else { value.to_owned() }
    }

    /// An objective `o` with its key results, oldest first, and the latest
    /// check-in of each.
    fn objective(&self) -> String {
        let check_in = self.first(
            &self.object(&[
                ("id", self.id("c.id")),
                ("value", "c.value".into()),
                ("createdAt", "c.created_at".into()),
            ]),
            "FROM check_ins c WHERE c.organization_id = k.organization_id AND c.key_result_id = k.id \
             ORDER BY c.created_at DESC, c.id DESC",
        );
        let key_results = self.array(
            &self.object(&[
                ("id", self.id("k.id")),
                ("title", "k.title".into()),
                ("current", "k.current_value".into()),
                ("progress", "k.progress".into()),
                ("latestCheckIn", check_in),
            ]),
            "k.created_at, k.id",
            "FROM key_results k WHERE k.organization_id = o.organization_id AND k.objective_id = o.id",
        );
        self.object(&[
            ("id", self.id("o.id")),
            ("title", "o.title".into()),
            ("progress", "o.progress".into()),
            ("parentId", self.id("o.parent_id")),
            ("keyResults", key_results),
        ])
    }

    /// The people `p` matching `which`, by name, each with their
    /// objectives of period `$2`, by title.
    fn people(&self, which: &str) -> String {
        let objectives = self.array(
            &self.objective(),
            "o.title, o.id",
            "FROM objectives o WHERE o.organization_id = p.organization_id AND o.owner_person_id = p.id \
             AND o.period_id = $2",
        );
        self.array(
            &self.object(&[("id", self.id("p.id")), ("name", "p.name".into()), ("objectives", objectives)]),
            "p.name, p.id",
            &format!("FROM people p WHERE p.organization_id = $1 AND {which}"),
        )
    }

    /// Unit `$3` of tenant `$1` with its own people.
    fn team(&self) -> String {
        let unit = self.object(&[
            ("id", self.id("u.id")),
            ("name", "u.name".into()),
            ("people", self.people("p.unit_id = u.id")),
        ]);
        format!("SELECT {} FROM units u WHERE u.organization_id = $1 AND u.id = $3", self.document(&unit))
    }

    /// Unit `$3` of tenant `$1` with the people of its whole subtree.
    fn department(&self) -> String {
        let unit = self.object(&[
            ("id", self.id("u.id")),
            ("name", "u.name".into()),
            ("people", self.people("p.unit_id IN (SELECT id FROM subtree)")),
        ]);
        format!(
            "WITH RECURSIVE subtree(id) AS (\
               SELECT id FROM units WHERE organization_id = $1 AND id = $3 \
               UNION ALL \
               SELECT c.id FROM units c JOIN subtree s ON c.parent_id = s.id WHERE c.organization_id = $1) \
             SELECT {} FROM units u WHERE u.organization_id = $1 AND u.id = $3",
            self.document(&unit)
        )
    }

    /// Every objective of period `$2` of tenant `$1`.
    fn alignment(&self) -> String {
        let objectives = self.array(
            &self.objective(),
            "o.title, o.id",
            "FROM objectives o WHERE o.organization_id = $1 AND o.period_id = $2",
        );
        format!("SELECT {}", self.document(&self.object(&[("objectives", objectives)])))
    }
}

/// The raw insert: a scratch table of the bench's own on the benchmark's
/// database, one single-row INSERT per request; dropped by [`Self::drop`].
pub struct RawInsert {
    db: DatabaseConnection,
    table: String,
}

impl RawInsert {
    /// Creates the scratch table.
    pub async fn create(db: DatabaseConnection) -> Fallible<Self> {
        let table = format!("bench_raw_insert_{}", std::process::id());
        let columns = match db.get_database_backend() {
            DbBackend::Postgres => {
                "id BIGSERIAL PRIMARY KEY, key_result_id TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, \
                 created_at TIMESTAMPTZ NOT NULL DEFAULT now()"
            }
            _ => {
                "id INTEGER PRIMARY KEY, key_result_id TEXT NOT NULL, value REAL NOT NULL, \
                 created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP"
            }
        };
        let raw = Self { db, table };
        raw.execute(&format!("DROP TABLE IF EXISTS {}", raw.table), vec![]).await?;
        raw.execute(&format!("CREATE TABLE {} ({columns})", raw.table), vec![]).await?;
        Ok(raw)
    }

    /// One row.
    pub async fn insert(&self, key_result_id: &str, value: f64) -> Fallible<()> {
        let sql = format!("INSERT INTO {} (key_result_id, value) VALUES ($1, $2)", self.table);
        self.execute(&sql, vec![Value::from(key_result_id.to_owned()), Value::from(value)]).await
    }

    /// Drops the scratch table.
    pub async fn drop(self) -> Fallible<()> {
        self.execute(&format!("DROP TABLE IF EXISTS {}", self.table), vec![]).await
    }

    async fn execute(&self, sql: &str, values: Vec<Value>) -> Fallible<()> {
        let backend = self.db.get_database_backend();
        self.db
            .execute_raw(Statement::from_sql_and_values(backend, placeholders(backend, sql), values))
            .await
            .map(|_| ())
            .map_err(|e| format!("raw insert ({}): {e}", self.table))
    }
}
