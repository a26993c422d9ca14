//! The connection pool, migrations, readiness, and write transactions.

use crate::audit::AuditLog;
use crate::error::{StoreError, StoreResult};
use crate::live::Outbox;
use goalgraph_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Which database engine the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// How long a SQLite writer waits for another process's lock.
    pub busy_timeout: Duration,
    pub acquire_timeout: Duration,
    /// How often the live reader looks at the outbox without a signal (a
    /// rolled-back transaction sends none).
    pub live_poll_interval: Duration,
    /// Seals check-in notes and objective descriptions at rest; `None`:
    /// stored as plain text.
    pub encryption: Option<crate::crypto::Keyring>,
    /// PostgreSQL only: the server cancels any statement running longer
    /// (`statement_timeout` of every pool connection), so a request that
    /// timed out does not leave its statement running. None: no limit.
    pub statement_timeout: Option<Duration>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(10),
            live_poll_interval: Duration::from_secs(1),
            encryption: None,
            statement_timeout: None,
        }
    }
}

/// The handle every command goes through. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
    backend: Backend,
    /// SQLite allows one writer at a time; writers of this process queue
    /// here instead of spinning on the busy handler, so read-then-write
    /// transactions never fail with "database is locked".
    sqlite_writer: Option<Arc<Mutex<()>>>,
    statements: Arc<AtomicU64>,
    /// The live hub, started on first use ([`Store::live`]).
    pub(crate) live: Arc<tokio::sync::OnceCell<Arc<crate::live::HubInner>>>,
    /// Woken by every local commit that wrote live events.
    pub(crate) live_wake: Arc<tokio::sync::Notify>,
    pub(crate) live_poll: Duration,
    pub(crate) keyring: Option<Arc<crate::crypto::Keyring>>,
    /// The tenants' unit trees the actors are built from.
    pub(crate) directories: crate::unit_sets::Directories,
    /// Check-ins waiting to be written together.
    pub(crate) check_in_queue: Arc<crate::checkins::CheckInQueue>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl Store {
    /// Connects to `url`: `sqlite://path` (the file and its directory are
    /// created when missing) or `postgres://…`.
    pub async fn connect(url: &str, options: &StoreOptions) -> StoreResult<Self> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::Domain(goalgraph_domain::DomainError::invalid(
                "databaseUrl",
                "must start with sqlite:// or postgres://",
            )));
        };
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.max_connections(options.max_connections)
            .min_connections(0)
            .acquire_timeout(options.acquire_timeout)
            .sqlx_logging(false);
        if backend == Backend::Sqlite {
            if let Some(dir) = sqlite_path(url).and_then(|p| p.parent().map(Path::to_owned))
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(&dir).map_err(|e| {
                    StoreError::Database(sea_orm::DbErr::Custom(format!(
                        "cannot create the data directory {}: {e}",
                        dir.display()
                    )))
                })?;
            }
            let busy = options.busy_timeout;
            opts.map_sqlx_sqlite_opts(move |o| {
                o.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(busy)
                    .foreign_keys(true)
            });
        }
        if backend == Backend::Postgres
            && let Some(limit) = options.statement_timeout
        {
            let millis = limit.as_millis().max(1);
            opts.map_sqlx_postgres_opts(move |o| o.options([("statement_timeout", format!("{millis}ms"))]));
        }
        let mut db = Database::connect(opts).await?;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        db.set_metric_callback(move |info| {
            counter.fetch_add(1, Ordering::Relaxed);
            tracing::trace!(target: "goalgraph::sql", elapsed = ?info.elapsed, failed = info.failed, sql = %info.statement.sql);
        });
        Ok(Self {
            db,
            backend,
            sqlite_writer: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            statements,
            live: Arc::new(tokio::sync::OnceCell::new()),
            live_wake: Arc::new(tokio::sync::Notify::new()),
            live_poll: options.live_poll_interval,
            keyring: options.encryption.clone().map(Arc::new),
            directories: Default::default(),
            check_in_queue: Default::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn db_backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// The raw connection, for tests and maintenance commands.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// SQL statements executed through this store so far.
    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> StoreResult<()> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// Reverts every migration (tests and `goalgraph migrate down`).
    pub async fn migrate_down(&self, steps: Option<u32>) -> StoreResult<()> {
        Migrator::down(&self.db, steps).await?;
        Ok(())
    }

    /// Names of applied and pending migrations.
    pub async fn migration_status(&self) -> StoreResult<(Vec<String>, Vec<String>)> {
        let applied = Migrator::get_applied_migrations(&self.db)
            .await?
            .into_iter()
            .map(|m| m.name().to_owned())
            .collect();
        let pending = Migrator::get_pending_migrations(&self.db)
            .await?
            .into_iter()
            .map(|m| m.name().to_owned())
            .collect();
        Ok((applied, pending))
    }

    /// Ready to serve: the database answers and no migration is pending.
    pub async fn ready(&self) -> StoreResult<()> {
        self.db.execute_unprepared("SELECT 1").await?;
        let pending = Migrator::get_pending_migrations(&self.db).await?;
        if pending.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Database(sea_orm::DbErr::Custom(format!(
                "{} migration(s) pending",
                pending.len()
            ))))
        }
    }

    /// Starts a write transaction: `BEGIN IMMEDIATE` behind the process's
    /// writer queue on SQLite, a plain transaction on PostgreSQL. Dropping
    /// it without [`WriteTx::commit`] rolls back.
    pub async fn write(&self) -> StoreResult<WriteTx> {
        let guard = match &self.sqlite_writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let options = TransactionOptions {
            sqlite_transaction_mode: (self.backend == Backend::Sqlite)
                .then_some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        let txn = self.db.begin_with_options(options).await?;
        Ok(WriteTx {
            txn,
            _guard: guard,
            outbox: Outbox::default(),
            audit_log: AuditLog::default(),
            deferred: Default::default(),
            wake: self.live_wake.clone(),
            keyring: self.keyring.clone(),
        })
    }

    /// Creates a database on this PostgreSQL server (benchmarks, operators'
    /// tools). The name is checked: lower-case letters, digits, underscores.
    pub async fn create_database(&self, name: &str) -> StoreResult<()> {
        let name = database_name(name)?;
        self.db.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
        Ok(())
    }

    /// Drops a database of this PostgreSQL server, disconnecting its users.
    pub async fn drop_database(&self, name: &str) -> StoreResult<()> {
        let name = database_name(name)?;
        self.db.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        Ok(())
    }

    /// The rows of `select` whose `column` is one of `ids`, in one statement
    /// (the list bound as one parameter); none, without a statement, for no ids.
    pub(crate) async fn rows_with<E: sea_orm::EntityTrait>(
        &self,
        select: sea_orm::Select<E>,
        column: &str,
        ids: impl IntoIterator<Item = uuid::Uuid>,
    ) -> StoreResult<Vec<E::Model>> {
        self.rows_with_on(&self.db, select, column, ids).await
    }

    /// [`Store::rows_with`] on `conn` (a transaction).
    pub(crate) async fn rows_with_on<E: sea_orm::EntityTrait, C: ConnectionTrait>(
        &self,
        conn: &C,
        select: sea_orm::Select<E>,
        column: &str,
        ids: impl IntoIterator<Item = uuid::Uuid>,
    ) -> StoreResult<Vec<E::Model>> {
        use sea_orm::QueryFilter;
        let ids: Vec<uuid::Uuid> = ids.into_iter().collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(select.filter(crate::sql::id_in(self.db_backend(), column, &ids)).all(conn).await?)
    }

    /// Opens a stored sensitive text field.
    pub(crate) fn open(&self, field: &str, stored: Option<String>) -> StoreResult<Option<String>> {
        crate::crypto::open_opt(self.keyring.as_deref(), field, stored)
    }

    /// An objective row as the domain sees it (its description opened).
    pub(crate) fn objective_model(
        &self,
        mut m: crate::entity::objective::Model,
    ) -> StoreResult<goalgraph_domain::okr::Objective> {
        m.description = self.open("description", m.description.take())?;
        crate::convert::objective(m)
    }

    /// A check-in row as the domain sees it (its note opened).
    pub(crate) fn check_in_model(
        &self,
        mut m: crate::entity::check_in::Model,
    ) -> StoreResult<goalgraph_domain::okr::CheckIn> {
        m.note = self.open("note", m.note.take())?;
        Ok(crate::convert::check_in(m))
    }

    /// Opens the sealed fields of an audit before/after value.
    pub(crate) fn open_value(&self, value: serde_json::Value) -> StoreResult<serde_json::Value> {
        crate::crypto::map_sealed_fields(value, &|field, s| {
            crate::crypto::open_opt(self.keyring.as_deref(), field, Some(s)).map(Option::unwrap_or_default)
        })
    }

    /// Closes the pool (graceful shutdown, tests).
    pub async fn close(self) -> StoreResult<()> {
        self.db.close().await?;
        Ok(())
    }
}

/// One write transaction; every mutation is exactly one of these.
pub struct WriteTx {
    pub(crate) txn: DatabaseTransaction,
    _guard: Option<OwnedMutexGuard<()>>,
    /// Live events of this transaction, written by the commit.
    outbox: Outbox,
    /// Audit records of this transaction, chained by the commit.
    pub(crate) audit_log: AuditLog,
    /// Writes sent with the commit's.
    deferred: std::sync::Mutex<Vec<sea_orm::Statement>>,
    wake: Arc<tokio::sync::Notify>,
    keyring: Option<Arc<crate::crypto::Keyring>>,
}

impl WriteTx {
    /// Appends the audit records to the chain, writes the queued live
    /// events, commits, and wakes this process's live reader.
    ///
    /// The deferred writes, the audit rows and the live events go to the
    /// database together: on PostgreSQL as one statement, on SQLite one by
    /// one (after the audit heads are locked, on both).
    pub async fn commit(self) -> StoreResult<()> {
        let backend = self.txn.get_database_backend();
        let mut writes = self.deferred.lock().map(|mut d| std::mem::take(&mut *d)).unwrap_or_default();
        writes.extend(self.audit_log.statements(&self.txn, self.keyring.as_deref()).await?);
        let events = self.outbox.statement(backend)?;
        let wrote = events.is_some();
        match backend {
            DbBackend::Postgres => {
                let tail = events.is_some().then(|| crate::live::notify(&format!("w{}", writes.len())));
                writes.extend(events);
                if !writes.is_empty() {
                    self.txn.query_all_raw(crate::sql::joined(writes, tail)).await?;
                }
            }
            _ => {
                for write in writes.into_iter().chain(events) {
                    self.txn.execute_raw(write).await?;
                }
            }
        }
        self.txn.commit().await?;
        if wrote {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// A write that depends on nothing else of the transaction and that
    /// nothing in it reads: sent with the commit's own (see
    /// [`WriteTx::commit`]).
    pub(crate) fn defer(&self, write: sea_orm::Statement) {
        if let Ok(mut d) = self.deferred.lock() {
            d.push(write);
        }
    }

    /// Queues a live event: written with the transaction, or not at all.
    pub(crate) fn emit(&self, org: goalgraph_domain::OrganizationId, body: goalgraph_domain::live::LiveBody) {
        self.outbox.push(org, body);
    }

    pub fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Seals a sensitive text field for storage (as it is without a key).
    pub(crate) fn seal(&self, field: &str, plain: Option<String>) -> StoreResult<Option<String>> {
        crate::crypto::seal_opt(self.keyring.as_deref(), field, plain)
    }
}

/// `items` grouped by tenant: tenants in the order they first come, each
/// tenant's items in their order.
pub(crate) fn by_tenant<T>(
    items: impl IntoIterator<Item = T>,
    org: impl Fn(&T) -> goalgraph_domain::OrganizationId,
) -> Vec<(goalgraph_domain::OrganizationId, Vec<T>)> {
    let mut groups: Vec<(goalgraph_domain::OrganizationId, Vec<T>)> = Vec::new();
    for item in items {
        let o = org(&item);
        match groups.iter_mut().find(|(g, _)| *g == o) {
            Some((_, list)) => list.push(item),
            None => groups.push((o, vec![item])),
        }
    }
    groups
}

fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

fn database_name(name: &str) -> StoreResult<&str> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(name)
    } else {
        Err(StoreError::Domain(goalgraph_domain::DomainError::invalid("name", "not a plain database name")))
    }
}
