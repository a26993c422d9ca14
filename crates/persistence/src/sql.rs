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
/// own for `columns`, in one statement: `UPDATE … FROM (VALUES …)` (on
/// SQLite, whose VALUES has no column names, `WITH v(id, …) AS (VALUES …)`).
/// `rows` is never empty.
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
    let (names, tuples, sets) = (columns.join(", "), tuples.join(", "), sets.join(", "));
    let sql = match backend {
        // No WITH of its own, so that it can be one of [`joined`]'s parts.
        DbBackend::Postgres => format!(
            "UPDATE {table} SET {sets} FROM (VALUES {tuples}) AS v(id, {names}) \
             WHERE {table}.organization_id = $1 AND {table}.id = v.id"
        ),
        _ => format!(
            "WITH v(id, {names}) AS (VALUES {tuples}) UPDATE {table} SET {sets} FROM v \
             WHERE {table}.organization_id = $1 AND {table}.id = v.id"
        ),
    };
    stmt(backend, &sql, values)
}

/// `parts` as one PostgreSQL statement: each a data-modifying CTE `w0`,
/// `w1` … (their `$n` renumbered in turn), then `tail`, a query that may
/// read them (`SELECT 1` for none). The parts see one snapshot: none may
/// depend on another's rows. Every part runs to completion, read or not.
pub fn joined(parts: Vec<Statement>, tail: Option<String>) -> Statement {
    let mut values: Vec<Value> = Vec::new();
    let mut ctes = Vec::with_capacity(parts.len());
    for (i, part) in parts.into_iter().enumerate() {
        let offset = values.len();
        let mut sql = String::with_capacity(part.sql.len());
        let mut rest = part.sql.as_str();
        // `$n` is a parameter wherever it stands: no part quotes a dollar.
        while let Some(at) = rest.find('$') {
            sql.push_str(&rest[..at]);
            let digits = rest[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
            match rest[at + 1..at + 1 + digits].parse::<usize>() {
                Ok(n) => sql.push_str(&format!("${}", n + offset)),
                Err(_) => sql.push('$'),
            }
            rest = &rest[at + 1 + digits..];
        }
        sql.push_str(rest);
        values.extend(part.values.map(|v| v.0).unwrap_or_default());
        ctes.push(format!("w{i} AS ({sql})"));
    }
    let tail = tail.unwrap_or_else(|| "SELECT 1".to_owned());
    let sql = if ctes.is_empty() { tail } else { format!("WITH {} {tail}", ctes.join(", ")) };
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}
