//! A unit's tree read as ONE PostgreSQL statement that builds the answer
//! as one JSON document: the unit, its people (a page), their objectives, those
//! objectives' parents, key results and newest check-ins, the unit's own
//! objectives and its sub-units, at any depth the caller describes.
//!
//! The caller (the api's compiled read path) describes the selection as a
//! tree of [`TreeField`]s: response keys in order, each a constant, a
//! column or a relation. This module knows the tables; the caller knows
//! GraphQL. The rows and their order are those of the store's batched
//! reads ([`Store::people_pages`], [`Store::objectives_of_owners`],
//! [`Store::key_results_of`], [`Store::check_in_pages`],
//! [`Store::children_of`], [`Store::objectives_by_ids`]): the same
//! filters, the same visibility (the policy's [`policy::goal_read_scope`]
//! as the store's own condition, bound once in a `NOT MATERIALIZED` CTE
//! that PostgreSQL inlines where it is used), the same ORDER BY. A test of
//! the api checks answer for answer that the two paths agree.
//!
//! Each object is an array of its fields' values in the order described,
//! constants left out (no keys: the caller has them), and the leaves are
//! the columns as JSON writes them: ids as uuids, timestamps in UTC
//! without an offset, numbers as PostgreSQL writes them. The caller writes
//! the answer from it, keys and constants put back, ids and timestamps
//! formatted as its answers have them; formatting in SQL cost the
//! statement a third of its time, and keys a fifth of the document.

use crate::error::StoreResult;
use crate::store::Store;
use goalgraph_domain::policy::{self, Actor, GoalReadScope, Resource};
use goalgraph_domain::{PeriodId, UnitId};
use sea_orm::{ConnectionTrait, DbBackend, QueryTrait, Statement, Value};

/// One response key of an object, in the order the answer holds them.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeField {
    pub key: String,
    pub value: TreeValue,
}

/// What one response key holds.
#[derive(Debug, Clone, PartialEq)]
pub enum TreeValue {
    /// A constant (`__typename`, `hasPreviousPage` of a first page).
    Text(String),
    Bool(bool),
    /// A column of the row at hand.
    Column(Column),
    /// A unit's people: one page of the given size, by name; the fields
    /// are the connection's ([`TreeValue::Nodes`], [`TreeValue::PageInfo`]).
    People {
        first: u64,
        fields: Vec<TreeField>,
    },
    /// The people of the page (only inside [`TreeValue::People`]).
    Nodes(Vec<TreeField>),
    /// The page's facts (only inside [`TreeValue::People`]).
    PageInfo(Vec<TreeField>),
    /// Whether the page has more (only inside [`TreeValue::PageInfo`]).
    HasNextPage,
    /// A unit's sub-units, by name.
    Children(Vec<TreeField>),
    /// The visible objectives a unit or person owns, by title, optionally
    /// of one period.
    Objectives {
        period: Option<PeriodId>,
        fields: Vec<TreeField>,
    },
    /// An objective's parent, null when it has none or it is hidden.
    Parent(Vec<TreeField>),
    /// An objective's key results, oldest first.
    KeyResults(Vec<TreeField>),
    /// A key result's newest check-in, or null.
    LatestCheckIn(Vec<TreeField>),
}

impl TreeValue {
    /// A constant: not in the statement's rows, which hold the other
    /// fields' values in order.
    pub fn is_constant(&self) -> bool {
        matches!(self, TreeValue::Text(_) | TreeValue::Bool(_))
    }
}

/// The columns a tree may show; each table has its own subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The row's id, a uuid.
    Id,
    /// units, people.
    Name,
    /// objectives, key results.
    Title,
    /// objectives, key results (the stored rollup).
    Progress,
    /// key results.
    Current,
    /// check-ins.
    Value,
    /// check-ins: UTC, no offset (`2026-01-05T09:30:00.5`).
    CreatedAt,
}

/// The tables of a tree, each with its row's alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Unit,
    Person,
    Objective,
    KeyResult,
    CheckIn,
}

impl Table {
    fn tag(self) -> &'static str {
        match self {
            Table::Unit => "Unit",
            Table::Person => "Person",
            Table::Objective => "Objective",
            Table::KeyResult => "KeyResult",
            Table::CheckIn => "CheckIn",
        }
    }

    fn column(self, c: Column) -> Option<&'static str> {
        Some(match (self, c) {
            (Table::Unit | Table::Person, Column::Name) => "name",
            (Table::Objective | Table::KeyResult, Column::Title) => "title",
            (Table::Objective | Table::KeyResult, Column::Progress) => "progress",
            (Table::KeyResult, Column::Current) => "current_value",
            (Table::CheckIn, Column::Value) => "value",
            (Table::CheckIn, Column::CreatedAt) => "created_at",
            _ => return None,
        })
    }
}

/// Why a description cannot be read as one statement: the caller then
/// reads it the usual way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotCompiled(pub String);

/// Builds the statement: parameters in order, aliases numbered.
struct Builder {
    values: Vec<Value>,
    aliases: usize,
    people_readable: bool,
    /// The actor sees every objective of the tenant.
    every_objective: bool,
}

impl Builder {
    fn param(&mut self, v: Value) -> String {
        self.values.push(v);
        format!("${}", self.values.len())
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("t{}", self.aliases)
    }

    /// The row `alias` of `table` as the JSON array of `fields`' values,
    /// in order, constants left out: the caller puts the keys and the
    /// constants back.
    fn object(&mut self, table: Table, alias: &str, fields: &[TreeField]) -> Result<String, NotCompiled> {
        // json_build_array takes at most 100 arguments.
        if fields.len() > 100 {
            return Err(NotCompiled("more than 100 fields in one object".into()));
        }
        let mut values = Vec::with_capacity(fields.len());
        for f in fields.iter().filter(|f| !f.value.is_constant()) {
            values.push(self.value(table, alias, &f.value)?);
        }
        Ok(format!("json_build_array({})", values.join(", ")))
    }

    fn value(&mut self, table: Table, alias: &str, value: &TreeValue) -> Result<String, NotCompiled> {
        let wrong = |what: &str| Err(NotCompiled(format!("{what} on a {} row", table.tag())));
        Ok(match value {
            TreeValue::Column(Column::Id) => format!("{alias}.id"),
            TreeValue::Column(c) => match table.column(*c) {
                // The caller reads it as UTC, whatever the session's zone.
                Some(column) if *c == Column::CreatedAt => format!("({alias}.{column} AT TIME ZONE 'UTC')"),
                Some(column) => format!("{alias}.{column}"),
                None => return wrong(&format!("{c:?}")),
            },
            TreeValue::People { first, fields } if table == Table::Unit => {
                self.people(alias, *first, fields)?
            }
            TreeValue::Children(fields) if table == Table::Unit => {
                // Units are readable here: [`Store::unit_tree`] checked.
                let c = self.alias();
                let object = self.object(Table::Unit, &c, fields)?;
                format!(
                    "COALESCE((SELECT json_agg({object} ORDER BY {c}.name, {c}.id) FROM units {c} \
                     WHERE {c}.organization_id = {alias}.organization_id AND {c}.parent_id = {alias}.id), '[]'::json)"
                )
            }
            TreeValue::Objectives { period, fields } if matches!(table, Table::Unit | Table::Person) => {
                let o = self.alias();
                let object = self.object(Table::Objective, &o, fields)?;
                let owner = if table == Table::Unit {
                    format!("{o}.owner_person_id IS NULL AND {o}.owner_unit_id = {alias}.id")
                } else {
                    format!("{o}.owner_person_id = {alias}.id")
                };
                let period = match period {
                    Some(p) => format!(" AND {o}.period_id = {}", self.param(Value::from(p.0))),
                    None => String::new(),
                };
                format!(
                    "COALESCE((SELECT json_agg({object} ORDER BY {o}.title, {o}.id) FROM visible {o} \
                     WHERE {owner}{period}), '[]'::json)"
                )
            }
            // Every objective is visible and only the parent's id is asked
            // for: the foreign key makes `parent_id` the parent's id.
            TreeValue::Parent(fields)
                if table == Table::Objective
                    && self.every_objective
                    && fields
                        .iter()
                        .all(|f| f.value.is_constant() || f.value == TreeValue::Column(Column::Id)) =>
            {
                let ids: Vec<String> = fields
                    .iter()
                    .filter(|f| !f.value.is_constant())
                    .map(|_| format!("{alias}.parent_id"))
                    .collect();
                format!(
                    "CASE WHEN {alias}.parent_id IS NULL THEN NULL ELSE json_build_array({}) END",
                    ids.join(", ")
                )
            }
            TreeValue::Parent(fields) if table == Table::Objective => {
                let p = self.alias();
                let object = self.object(Table::Objective, &p, fields)?;
                format!("(SELECT {object} FROM visible {p} WHERE {p}.id = {alias}.parent_id)")
            }
            TreeValue::KeyResults(fields) if table == Table::Objective => {
                let k = self.alias();
                let object = self.object(Table::KeyResult, &k, fields)?;
                format!(
                    "COALESCE((SELECT json_agg({object} ORDER BY {k}.created_at, {k}.id) FROM key_results {k} \
                     WHERE {k}.organization_id = {alias}.organization_id AND {k}.objective_id = {alias}.id), \
                     '[]'::json)"
                )
            }
            TreeValue::LatestCheckIn(fields) if table == Table::KeyResult => {
                let c = self.alias();
                let object = self.object(Table::CheckIn, &c, fields)?;
                format!(
                    "(SELECT {object} FROM check_ins {c} WHERE {c}.organization_id = {alias}.organization_id \
                     AND {c}.key_result_id = {alias}.id ORDER BY {c}.created_at DESC, {c}.id DESC LIMIT 1)"
                )
            }
            other => return wrong(&format!("{other:?}")),
        })
    }

    /// A unit's page of people: the first `first` by name, and whether
    /// there are more (one more row read).
    fn people(&mut self, unit: &str, first: u64, fields: &[TreeField]) -> Result<String, NotCompiled> {
        let p = self.alias();
        let mut values = Vec::with_capacity(fields.len());
        for f in fields.iter().filter(|f| !f.value.is_constant()) {
            values.push(match &f.value {
                TreeValue::Nodes(person) => {
                    let object = self.object(Table::Person, &p, person)?;
                    format!(
                        "COALESCE(json_agg({object} ORDER BY {p}.name, {p}.id) FILTER (WHERE {p}.n <= {first}), \
                         '[]'::json)"
                    )
                }
                TreeValue::PageInfo(info) => {
                    let mut facts = Vec::with_capacity(info.len());
                    for i in info.iter().filter(|i| !i.value.is_constant()) {
                        facts.push(match &i.value {
                            TreeValue::HasNextPage => format!("count(*) > {first}"),
                            other => return Err(NotCompiled(format!("{other:?} in a page's facts"))),
                        });
                    }
                    format!("json_build_array({})", facts.join(", "))
                }
                other => return Err(NotCompiled(format!("{other:?} in a page of people"))),
            });
        }
        let values = values.join(", ");
        if !self.people_readable {
            // No person is visible: an empty page, as the store answers.
            return Ok(format!(
                "(SELECT json_build_array({values}) FROM (SELECT NULL::uuid AS id, NULL::text AS name, \
                 NULL::uuid AS organization_id, 0 AS n WHERE false) {p})"
            ));
        }
        Ok(format!(
            "(SELECT json_build_array({values}) FROM (SELECT q.id, q.name, q.organization_id, \
             row_number() OVER (ORDER BY q.name, q.id) AS n FROM people q \
             WHERE q.organization_id = {unit}.organization_id AND q.unit_id = {unit}.id \
             ORDER BY q.name, q.id LIMIT {}) {p})",
            first + 1
        ))
    }
}

impl Store {
    /// Whether [`Store::unit_tree`] can answer on this database.
    pub fn reads_trees(&self) -> bool {
        self.db_backend() == DbBackend::Postgres
    }

    /// Unit `id`'s tree as described by `fields`, as JSON text; `None` when
    /// the unit does not exist in the actor's tenant or the actor may not
    /// read units. One statement.
    pub async fn unit_tree(
        &self,
        actor: &Actor,
        id: UnitId,
        fields: &[TreeField],
    ) -> StoreResult<Result<Option<String>, NotCompiled>> {
        if !self.reads_trees() {
            return Ok(Err(NotCompiled("trees are read as one statement on PostgreSQL only".into())));
        }
        let org = actor.organization_id;
        let units_readable = policy::can_read(actor, &Resource::Unit { organization_id: org, unit_id: None });
        if !units_readable {
            return Ok(Ok(None));
        }
        let (visible, values) =
            self.visible_objectives(actor).as_query().build(sea_orm::sea_query::PostgresQueryBuilder);
        let mut b = Builder {
            values: values.0,
            aliases: 0,
            people_readable: policy::can_read(
                actor,
                &Resource::Person { organization_id: org, person_id: None },
            ),
            every_objective: policy::goal_read_scope(actor) == GoalReadScope::All,
        };
        let object = match b.object(Table::Unit, "t0", fields) {
            Ok(o) => o,
            Err(e) => return Ok(Err(e)),
        };
        let org_param = b.param(Value::from(org.0));
        let unit_param = b.param(Value::from(id.0));
        let sql = format!(
            "WITH visible AS NOT MATERIALIZED ({visible}) \
             SELECT ({object})::text FROM units t0 WHERE t0.organization_id = {org_param} AND t0.id = {unit_param}"
        );
        let row =
            self.db.query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, b.values)).await?;
        Ok(Ok(match row {
            Some(r) => Some(r.try_get_by_index::<String>(0)?),
            None => None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_outside_its_table_is_not_compiled() {
        let mut b = Builder { values: vec![], aliases: 0, people_readable: true, every_objective: true };
        let fields = vec![TreeField { key: "title".into(), value: TreeValue::Column(Column::Title) }];
        assert!(b.object(Table::Unit, "u", &fields).is_err());
        assert!(b.object(Table::Objective, "o", &fields).is_ok());
        let nested = vec![TreeField { key: "k".into(), value: TreeValue::KeyResults(vec![]) }];
        assert!(b.object(Table::Person, "p", &nested).is_err());
    }
}
