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

/// `column IN (ids)` with the whole list bound as ONE parameter, so a batch
/// is never capped by the bind-parameter limit: `= ANY($1)` on PostgreSQL,
/// `json_each` on SQLite (where UUIDs are stored as 16-byte blobs).
pub fn id_in(backend: DbBackend, column: &str, ids: &[Uuid]) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => {
            Expr::cust_with_values(format!("{column} = ANY($1)"), [Value::from(ids.to_vec())])
        }
        _ => {
            let json =
                serde_json::Value::from(ids.iter().map(|id| id.simple().to_string()).collect::<Vec<_>>())
                    .to_string();
            Expr::cust_with_values(
                format!("{column} IN (SELECT unhex(value) FROM json_each(?))"),
                [Value::from(json)],
            )
        }
    }
}
