//! Small helpers for the few statements written by hand (recursive tree
//! walks, key lists bound as one array parameter).

use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{DbBackend, Statement, Value};
use uuid::Uuid;

/// A statement written with `$1`, `$2` … placeholders, which SQLite reads as
/// `?1`, `?2` ….
pub fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// `IN <list>` for a key list bound as ONE parameter `$n`, so a batch is
/// never capped by the bind-parameter limit: `= ANY($n)` on PostgreSQL,
/// `json_each` on SQLite (where UUIDs are stored as 16-byte blobs).
pub fn in_list(backend: DbBackend, column: &str, param: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("{column} = ANY(${param})"),
        _ => format!("{column} IN (SELECT unhex(value) FROM json_each(${param}))"),
    }
}

/// The value bound to an [`in_list`] parameter.
pub fn list_value(backend: DbBackend, ids: &[Uuid]) -> Value {
    match backend {
        DbBackend::Postgres => Value::from(ids.to_vec()),
        _ => Value::from(
            serde_json::Value::from(ids.iter().map(|id| id.simple().to_string()).collect::<Vec<_>>())
                .to_string(),
        ),
    }
}

/// [`in_list`] as a query-builder filter.
pub fn id_in(backend: DbBackend, column: &str, ids: &[Uuid]) -> SimpleExpr {
    let sql = in_list(backend, column, 1);
    // sea-query numbers `$1` itself on PostgreSQL and reads `?` on SQLite.
    let sql = match backend {
        DbBackend::Postgres => sql,
        _ => sql.replace("$1", "?"),
    };
    Expr::cust_with_values(sql, [list_value(backend, ids)])
}

/// Updates rows of one tenant's `table` by id, each row with values of its
/// own for `columns`, in one statement: `WITH v(id, …) AS (VALUES …) UPDATE
/// … FROM v`, which PostgreSQL and SQLite both read. `rows` is never empty.
pub fn update_by_id(
    backend: DbBackend,
    table: &str,
    organization: Uuid,
    columns: &[&str],
    rows: Vec<(Uuid, Vec<Value>)>,
) -> Statement {
    let mut values: Vec<Value> = Vec::with_capacity(1 + rows.len() * (columns.len() + 1));
    values.push(organization.into());
    let mut tuples = Vec::with_capacity(rows.len());
    for (id, row) in rows {
        let first = values.len() + 1;
        values.push(id.into());
        values.extend(row);
        let params: Vec<String> = (first..=values.len()).map(|n| format!("${n}")).collect();
        tuples.push(format!("({})", params.join(", ")));
    }
    let sets: Vec<String> = columns.iter().map(|c| format!("{c} = v.{c}")).collect();
    let sql = format!(
        "WITH v(id, {}) AS (VALUES {}) UPDATE {table} SET {} FROM v \
         WHERE {table}.organization_id = $1 AND {table}.id = v.id",
        columns.join(", "),
        tuples.join(", "),
        sets.join(", ")
    );
    stmt(backend, &sql, values)
}
