//! Test support: a fresh, migrated database for every test, on SQLite (a
//! copy of a migrated template file) and on PostgreSQL (a clone of a
//! migrated template database, `CREATE DATABASE … TEMPLATE`), dropped
//! afterwards. Migrating once per run instead of once per test keeps the
//! suites fast on two cores.
//!
//! PostgreSQL runs when `TEST_DATABASE_URL` is set. Test crates set
//! `cfg(goalgraph_pg_tests)` from their build script when it is, and [`db_tests!`] marks the
//! PostgreSQL twins `#[ignore]` with a visible reason when it is unset. When
//! it is set but unreachable, the tests fail.
//!
//! Used only as a dev-dependency.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use goalgraph_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use std::path::PathBuf;
use tokio::sync::OnceCell;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database, removed when dropped.
#[derive(Debug)]
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

const SKIP_REASON: &str = "TEST_DATABASE_URL is unset: PostgreSQL suite skipped";

#[doc(hidden)]
pub const fn skip_reason() -> &'static str {
    SKIP_REASON
}

/// Declares each named `async fn(TestDb)` twice: `sqlite::name` and
/// `postgres::name`.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestDb::new($crate::Backend::Sqlite).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(goalgraph_pg_tests), ignore = "TEST_DATABASE_URL is unset: PostgreSQL suite skipped")]
                async fn $name() {
                    super::$name($crate::TestDb::new($crate::Backend::Postgres).await).await
                }
            )*
        }
    };
}

static SQLITE_TEMPLATE: OnceCell<(tempfile::TempDir, PathBuf)> = OnceCell::const_new();
static PG_TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// Logs of the code under test, only when asked: `TEST_LOG=debug` (or any
/// filter, e.g. `TEST_LOG=goalgraph::sql=trace` for every statement).
pub fn init_test_log() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        init_test_log();
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A copy of a migrated SQLite file in its own temporary directory.
    pub async fn sqlite() -> Self {
        let (_, template) = SQLITE_TEMPLATE
            .get_or_init(|| async {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("template.db");
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let db = Database::connect(&url).await.expect("open template");
                Migrator::up(&db, None).await.expect("migrate template");
                db.close().await.expect("close template");
                (dir, path)
            })
            .await;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("test.db");
        std::fs::copy(template, &path).expect("copy template");
        Self {
            backend: Backend::Sqlite,
            url: format!("sqlite://{}", path.display()),
            _dir: Some(dir),
            pg_name: None,
        }
    }

    /// A clone of a migrated template database on the server that
    /// `TEST_DATABASE_URL` names.
    pub async fn postgres() -> Self {
        let admin_url = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| panic!("{SKIP_REASON}"));
        let template = PG_TEMPLATE.get_or_init(|| async { ensure_pg_template(&admin_url).await }).await;
        let name = format!("goalgraph_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"));
        exec(&admin, &format!("CREATE DATABASE {name} TEMPLATE {template}")).await;
        admin.close().await.ok();
        Self {
            backend: Backend::Postgres,
            url: with_database(&admin_url, &name),
            _dir: None,
            pg_name: Some(name),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else { return };
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else { return };
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let admin = Database::connect(&admin_url).await.ok()?;
                let _ =
                    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                admin.close().await.ok()
            })
        })
        .join();
    }
}

async fn exec(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Creates the migrated template once per migrations version, under an
/// advisory lock so parallel test binaries do not race.
/// How long a template of another migration set is kept unused.
const TEMPLATE_IDLE_SECONDS: u64 = 7 * 24 * 3600;

async fn ensure_pg_template(admin_url: &str) -> String {
    let name = format!("goalgraph_tmpl_{}", env!("GOALGRAPH_MIGRATIONS_HASH"));
    // A session-level lock: the pool has one connection, so lock, work and
    // unlock all happen on it.
    let mut options = sea_orm::ConnectOptions::new(admin_url);
    options.max_connections(1).sqlx_logging(false);
    let conn = Database::connect(options)
        .await
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"));
    exec(&conn, "SELECT pg_advisory_lock(7312026)").await;
    let exists = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT 1 AS one FROM pg_database WHERE datname = '{name}'"),
        ))
        .await
        .expect("look up template")
        .is_some();
    // Templates of other migration sets may belong to another checkout
    // testing at the same moment (CI beside a working tree): each template
    // notes when it was last used, and only those unused for a week go.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let others = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            format!(
                "SELECT datname, COALESCE(shobj_description(oid, 'pg_database'), '') AS used \
                 FROM pg_database WHERE datname LIKE 'goalgraph_tmpl_%' AND datname <> '{name}' \
                 AND datname NOT LIKE '%_building'"
            ),
        ))
        .await
        .expect("list templates");
    for row in others {
        let other: String = row.try_get("", "datname").expect("datname");
        let used: String = row.try_get("", "used").expect("used");
        match used.parse::<u64>() {
            Ok(at) if now.saturating_sub(at) > TEMPLATE_IDLE_SECONDS => {
                exec(&conn, &format!("DROP DATABASE IF EXISTS {other} WITH (FORCE)")).await;
            }
            Ok(_) => {}
            // Made before templates noted their use: start its clock now.
            Err(_) => exec(&conn, &format!("COMMENT ON DATABASE {other} IS '{now}'")).await,
        }
    }
    if !exists {
        let building = format!("{name}_building");
        exec(&conn, &format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)")).await;
        exec(&conn, &format!("CREATE DATABASE {building}")).await;
        let db = Database::connect(&with_database(admin_url, &building)).await.expect("connect to template");
        Migrator::up(&db, None).await.expect("migrate template");
        db.close().await.expect("close template");
        exec(&conn, &format!("ALTER DATABASE {building} RENAME TO {name}")).await;
    }
    exec(&conn, &format!("COMMENT ON DATABASE {name} IS '{now}'")).await;
    exec(&conn, "SELECT pg_advisory_unlock(7312026)").await;
    conn.close().await.ok();
    name
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
