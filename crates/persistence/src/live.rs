//! The live-event pipeline.
//!
//! **Outbox.** A command queues its events on its [`WriteTx`]; the commit
//! inserts them in one statement inside the same transaction, so an event
//! exists exactly when its change does. On PostgreSQL the statement also
//! sends `NOTIFY goalgraph_live` with the newest sequence number (an id,
//! never the payload), delivered to every replica at commit.
//!
//! **One reader per process.** [`LiveHub`] reads the outbox by cursor
//! `(tx, seq)` — on a notification, on a local commit, after the listening
//! connection reconnects, and once a second in any case — and fans each
//! event out in memory to the subscribers of the objects it names. The
//! database cost of an event is the same for one subscriber as for ten
//! thousand. On PostgreSQL the reader only takes rows of transactions older
//! than every transaction still running, so a transaction that wrote its
//! event early and commits late is delivered when it commits, not skipped;
//! a notification lost while the connection was down is caught up by the
//! next read, since the cursor, not the notification, says what is new.
//!
//! **Replay.** A subscriber that reconnects with a cursor reads what it
//! missed from the outbox ([`Store::live_replay`]) until events are pruned
//! by age ([`Store::prune_live_events`]); a cursor older than the pruned
//! horizon gets [`LiveError::Expired`].

use crate::crypto::Keyring;
use crate::error::{StoreError, StoreResult};
use crate::sql::stmt;
use crate::store::Store;
use chrono::{DateTime, Utc};
use goalgraph_domain::formulas::Numbers;
use goalgraph_domain::live::{EventCursor, LiveBody, LiveEvent, Topic};
use goalgraph_domain::settings::OrganizationSettings;
use goalgraph_domain::{KeyResultId, KpiId, ObjectiveId, OrganizationId, PeriodId, UnitId};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{Notify, broadcast, watch};
use uuid::Uuid;

/// The PostgreSQL channel every replica listens on.
pub const CHANNEL: &str = "goalgraph_live";

/// Events a subscriber may fall behind by before it is told to resubscribe.
const ROUTE_CAPACITY: usize = 1024;

/// Rows per outbox read.
const READ_BATCH: u64 = 1000;

/// What a subscriber listens to; every event is routed to the keys it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    KeyResult(KeyResultId),
    /// Key results of this objective.
    KeyResultsOfObjective(ObjectiveId),
    /// Key results of objectives owned in this unit or below it.
    KeyResultsOfUnit(UnitId),
    Objective(ObjectiveId),
    Kpi(KpiId),
    /// KPIs owned by this unit or below it.
    KpisOfUnit(UnitId),
    Alignment(PeriodId),
}

impl Route {
    /// The outbox topic and subject a replay of this route reads; the unit
    /// routes read the whole topic and filter by the event's unit path.
    fn replay_filter(self) -> (Topic, Option<Uuid>) {
        match self {
            Self::KeyResult(k) => (Topic::KeyResult, Some(k.0)),
            Self::KeyResultsOfObjective(_) | Self::KeyResultsOfUnit(_) => (Topic::KeyResult, None),
            Self::Objective(o) => (Topic::Objective, Some(o.0)),
            Self::Kpi(k) => (Topic::Kpi, Some(k.0)),
            Self::KpisOfUnit(_) => (Topic::Kpi, None),
            Self::Alignment(p) => (Topic::Alignment, Some(p.0)),
        }
    }

    /// Whether `body` is routed here.
    pub fn matches(self, body: &LiveBody) -> bool {
        routes_of(body).contains(&self)
    }
}

/// The routes an event goes to.
fn routes_of(body: &LiveBody) -> Vec<Route> {
    match body {
        LiveBody::KeyResult(k) => {
            let mut r = vec![Route::KeyResult(k.key_result_id), Route::KeyResultsOfObjective(k.objective_id)];
            r.extend(k.unit_path.iter().map(|u| Route::KeyResultsOfUnit(*u)));
            r
        }
        LiveBody::Objective(o) => vec![Route::Objective(o.objective_id)],
        LiveBody::Kpi(k) => {
            let mut r = vec![Route::Kpi(k.kpi_id)];
            r.extend(k.unit_path.iter().map(|u| Route::KpisOfUnit(*u)));
            r
        }
        LiveBody::Alignment(a) => vec![Route::Alignment(a.period_id)],
        LiveBody::Directory { .. } => vec![],
    }
}

/// Why a subscription cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiveError {
    /// The events after the cursor were pruned: refetch, then subscribe anew.
    #[error("the events after this cursor are no longer retained")]
    Expired,
    /// The subscriber fell too far behind the live stream.
    #[error("the subscriber fell behind by {0} events")]
    Lagged(u64),
}

/// Events queued on a write transaction until it commits.
#[derive(Default)]
pub(crate) struct Outbox {
    queued: Mutex<Vec<(OrganizationId, LiveBody)>>,
}

impl Outbox {
    pub(crate) fn push(&self, org: OrganizationId, body: LiveBody) {
        if let Ok(mut q) = self.queued.lock() {
            q.push((org, body));
        }
    }

    fn take(&self) -> Vec<(OrganizationId, LiveBody)> {
        self.queued.lock().map(|mut q| std::mem::take(&mut *q)).unwrap_or_default()
    }

    /// The queued events' insert, one statement (`RETURNING seq` on
    /// PostgreSQL, for [`notify`]); none when there are none.
    pub(crate) fn statement(&self, backend: DbBackend) -> StoreResult<Option<sea_orm::Statement>> {
        let events = self.take();
        if events.is_empty() {
            return Ok(None);
        }
        let at = Utc::now();
        let mut values: Vec<Value> = Vec::with_capacity(events.len() * 5);
        let mut rows = Vec::with_capacity(events.len());
        let tx = match backend {
            DbBackend::Postgres => "pg_current_xact_id()::text::bigint",
            _ => "0",
        };
        for (i, (org, body)) in events.iter().enumerate() {
            let payload = serde_json::to_string(body)
                .map_err(|e| StoreError::corrupt(format!("live event payload: {e}")))?;
            let n = i * 5;
            rows.push(format!("({tx}, ${}, ${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4, n + 5));
            values.extend([
                org.0.into(),
                body.topic().as_str().into(),
                body.subject(*org).into(),
                payload.into(),
                at.into(),
            ]);
        }
        let returning = match backend {
            DbBackend::Postgres => " RETURNING seq",
            _ => "",
        };
        let sql = format!(
            "INSERT INTO live_events (tx, organization_id, topic, subject_id, payload, created_at) VALUES {}{returning}",
            rows.join(", ")
        );
        Ok(Some(stmt(backend, &sql, values)))
    }
}

/// The query that tells the replicas, at the commit, of the events a
/// PostgreSQL statement's part `part` inserted.
pub(crate) fn notify(part: &str) -> String {
    format!("SELECT pg_notify('{CHANNEL}', (SELECT max(seq) FROM {part})::text)")
}

/// The condition that keeps a PostgreSQL reader behind every running
/// transaction (SQLite commits in sequence order: no condition).
fn settled(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "(tx < pg_snapshot_xmin(pg_current_snapshot())::text::bigint)",
        _ => "(1 = 1)",
    }
}

/// An outbox row as an event, its check-in note opened (notes are sealed in
/// the outbox as in their own rows).
fn event_of(row: &QueryResult, ring: Option<&Keyring>) -> StoreResult<LiveEvent> {
    let payload: String = row.try_get("", "payload")?;
    let mut body: LiveBody = serde_json::from_str(&payload)
        .map_err(|e| StoreError::corrupt(format!("live event payload: {e}")))?;
    if let LiveBody::KeyResult(change) = &mut body
        && let Some(c) = &mut change.check_in
    {
        c.note = crate::crypto::open_opt(ring, "note", c.note.take())?;
    }
    Ok(LiveEvent {
        cursor: EventCursor { tx: row.try_get("", "tx")?, seq: row.try_get("", "seq")? },
        organization_id: OrganizationId(row.try_get("", "organization_id")?),
        at: row.try_get::<DateTime<Utc>>("", "created_at")?,
        body,
    })
}

/// Settled outbox rows after `after`, in cursor order, at most `limit`
/// (the row comparison bounds the cursor index's scan: the same condition
/// spelled with OR read every row before the cursor);
/// and whether rows of transactions still running were held back (they
/// sort after every settled row, so what is taken is a prefix).
async fn read_after(
    db: &DatabaseConnection,
    ring: Option<&Keyring>,
    after: EventCursor,
    limit: u64,
) -> StoreResult<(Vec<LiveEvent>, bool)> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT seq, tx, organization_id, payload, created_at, {} AS settled FROM live_events \
         WHERE (tx, seq) > ($1, $2) ORDER BY tx, seq LIMIT {limit}",
        settled(backend)
    );
    let rows = db.query_all_raw(stmt(backend, &sql, vec![after.tx.into(), after.seq.into()])).await?;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        if !row.try_get::<bool>("", "settled")? {
            return Ok((events, true));
        }
        events.push(event_of(row, ring)?);
    }
    Ok((events, false))
}

/// The newest settled cursor: where a starting reader begins.
async fn newest(db: &DatabaseConnection) -> StoreResult<EventCursor> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT tx, seq FROM live_events WHERE {} ORDER BY tx DESC, seq DESC LIMIT 1",
        settled(backend)
    );
    Ok(match db.query_one_raw(stmt(backend, &sql, vec![])).await? {
        Some(row) => EventCursor { tx: row.try_get("", "tx")?, seq: row.try_get("", "seq")? },
        None => EventCursor::default(),
    })
}

/// An event on its way to this process's subscribers, with what they
/// compute from it computed once.
#[derive(Debug)]
pub struct Delivery {
    pub event: LiveEvent,
    numbers: tokio::sync::OnceCell<Option<Numbers>>,
}

impl Delivery {
    pub fn new(event: LiveEvent) -> Self {
        Self { event, numbers: tokio::sync::OnceCell::new() }
    }

    /// An objective event's numbers (progress, expected progress, health)
    /// as of the event's commit, computed by the first subscriber that asks
    /// and shared with every other: the statements per event do not grow
    /// with the subscribers.
    pub async fn objective_numbers(
        &self,
        store: &Store,
        settings: &OrganizationSettings,
    ) -> StoreResult<Option<Numbers>> {
        let LiveBody::Objective(o) = &self.event.body else { return Ok(None) };
        let org = self.event.organization_id;
        let at = self.event.at;
        self.numbers
            .get_or_try_init(|| async move {
                let mut numbers = store.objective_numbers(org, &[o.objective_id], settings, at).await?;
                Ok::<_, StoreError>(numbers.remove(&o.objective_id))
            })
            .await
            .copied()
    }
}

/// The routing table and the reader's position, changed together: every
/// event at or before `position` has been routed.
struct Routing {
    routes: HashMap<(OrganizationId, Route), broadcast::Sender<Arc<Delivery>>>,
    position: EventCursor,
    directory: HashMap<OrganizationId, DirectoryVersions>,
}

/// Directory changes read so far: tenant-wide ones, and one person's.
#[derive(Default)]
struct DirectoryVersions {
    all: u64,
    people: HashMap<goalgraph_domain::PersonId, u64>,
}

pub(crate) struct HubInner {
    routing: Mutex<Routing>,
    position: watch::Sender<EventCursor>,
    reads: AtomicU64,
    events: AtomicU64,
    /// Subscribers that listen through a shared receiver of an upper layer
    /// (counted here, so `subscribers` tells every one), minus those shared
    /// receivers themselves.
    members: std::sync::atomic::AtomicI64,
    /// Directory changes read so far, of any tenant: a cheap "anything new?"
    /// before the per-person versions are looked up.
    directory_epoch: AtomicU64,
    /// State an upper layer keeps per hub (the API's shared subscriptions).
    extension: std::sync::OnceLock<Arc<dyn std::any::Any + Send + Sync>>,
}

/// A live subscription's receiver, with the position it starts after.
pub struct Subscription {
    pub receiver: broadcast::Receiver<Arc<Delivery>>,
    /// Every event up to here was routed before the receiver existed.
    pub start: EventCursor,
}

/// The process's one reader of the outbox and its fan-out.
#[derive(Clone)]
pub struct LiveHub {
    inner: Arc<HubInner>,
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHub").field("position", &self.position()).finish_non_exhaustive()
    }
}

impl LiveHub {
    /// Listens to `route` of tenant `org` from now on.
    pub fn subscribe(&self, org: OrganizationId, route: Route) -> Subscription {
        let mut routing = self.inner.routing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let start = routing.position;
        let receiver = routing
            .routes
            .entry((org, route))
            .or_insert_with(|| broadcast::channel(ROUTE_CAPACITY).0)
            .subscribe();
        Subscription { receiver, start }
    }

    /// Goes up whenever a directory change reaches `person`'s actor (their
    /// roles, unit or active flag; the tenant's unit tree or line managers):
    /// a cached actor of an older version is rebuilt before its next
    /// decision. `None`: tenant-wide changes only (integrations).
    pub fn directory_version(&self, org: OrganizationId, person: Option<goalgraph_domain::PersonId>) -> u64 {
        let routing = self.inner.routing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        routing
            .directory
            .get(&org)
            .map_or(0, |v| v.all + person.and_then(|p| v.people.get(&p).copied()).unwrap_or(0))
    }

    /// Goes up with every directory change read, of any tenant; while it
    /// stands still, no cached actor is out of date.
    pub fn directory_epoch(&self) -> u64 {
        self.inner.directory_epoch.load(Ordering::Acquire)
    }

    /// The cursor of the newest event routed.
    pub fn position(&self) -> EventCursor {
        *self.inner.position.borrow()
    }

    /// Resolves once the reader has routed every event up to `cursor`.
    pub async fn wait_for(&self, cursor: EventCursor) {
        let mut rx = self.inner.position.subscribe();
        let _ = rx.wait_for(|p| *p >= cursor).await;
    }

    /// Resolves once every event committed before the call has been routed
    /// (tests and benchmarks: a subscriber registered afterwards hears only
    /// of later changes).
    pub async fn caught_up(&self, store: &Store) -> StoreResult<()> {
        let backend = store.db_backend();
        let head = store
            .db
            .query_one_raw(stmt(
                backend,
                "SELECT tx, seq FROM live_events ORDER BY tx DESC, seq DESC LIMIT 1",
                vec![],
            ))
            .await?;
        if let Some(row) = head {
            self.wait_for(EventCursor { tx: row.try_get("", "tx")?, seq: row.try_get("", "seq")? }).await;
        }
        Ok(())
    }

    /// Outbox reads so far (statements, each for any number of subscribers).
    pub fn reads(&self) -> u64 {
        self.inner.reads.load(Ordering::Relaxed)
    }

    /// Events routed so far.
    pub fn events(&self) -> u64 {
        self.inner.events.load(Ordering::Relaxed)
    }

    /// Subscriptions currently listening: receivers over all routes, plus
    /// the members of shared receivers (see [`LiveHub::add_members`]).
    pub fn subscribers(&self) -> usize {
        let routing = self.inner.routing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let receivers: usize = routing.routes.values().map(broadcast::Sender::receiver_count).sum();
        let members = self.inner.members.load(Ordering::Relaxed);
        usize::try_from(i64::try_from(receivers).unwrap_or(i64::MAX).saturating_add(members)).unwrap_or(0)
    }

    /// Receivers of the hub itself, over all routes (a shared receiver of an
    /// upper layer counts once, however many members it has).
    pub fn receivers(&self) -> usize {
        let routing = self.inner.routing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        routing.routes.values().map(broadcast::Sender::receiver_count).sum()
    }

    /// An upper layer fans one receiver out to many subscribers: it adds
    /// each member (+1), and takes the shared receiver itself out (-1).
    pub fn add_members(&self, n: i64) {
        self.inner.members.fetch_add(n, Ordering::Relaxed);
    }

    /// The upper layer's state of type `T` kept with this hub (created on
    /// first use; `None` only if another type was kept first).
    pub fn extension<T: std::any::Any + Send + Sync + Default>(&self) -> Option<Arc<T>> {
        let any = self.inner.extension.get_or_init(|| Arc::new(T::default()));
        any.clone().downcast::<T>().ok()
    }

    fn route(&self, events: Vec<LiveEvent>) {
        let Some(last) = events.last().map(|e| e.cursor) else { return };
        let count = events.len() as u64;
        {
            let mut routing = self.inner.routing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for event in events {
                let org = event.organization_id;
                if let LiveBody::Directory { person_id } = event.body {
                    let versions = routing.directory.entry(org).or_default();
                    match person_id {
                        Some(p) => *versions.people.entry(p).or_insert(0) += 1,
                        None => versions.all += 1,
                    }
                    self.inner.directory_epoch.fetch_add(1, Ordering::Release);
                    continue;
                }
                let targets = routes_of(&event.body);
                let event = Arc::new(Delivery::new(event));
                for route in targets {
                    let key = (org, route);
                    if let Some(sender) = routing.routes.get(&key) {
                        if sender.receiver_count() == 0 {
                            routing.routes.remove(&key);
                        } else {
                            let _ = sender.send(event.clone());
                        }
                    }
                }
            }
            routing.position = last;
        }
        self.inner.events.fetch_add(count, Ordering::Relaxed);
        self.inner.position.send_replace(last);
    }
}

/// Reads the outbox from `hub`'s position until nothing settled is left;
/// true when rows of running transactions wait behind it.
async fn drain(db: &DatabaseConnection, ring: Option<&Keyring>, hub: &LiveHub) -> StoreResult<bool> {
    loop {
        let from = hub.position();
        let (batch, held_back) = read_after(db, ring, from, READ_BATCH).await?;
        hub.inner.reads.fetch_add(1, Ordering::Relaxed);
        let full = batch.len() as u64 == READ_BATCH;
        hub.route(batch);
        if !full || held_back {
            return Ok(held_back);
        }
    }
}

/// How soon to look again when rows wait for an older transaction (their
/// own commit's notification may have come and gone).
const HELD_BACK_RETRY: Duration = Duration::from_millis(20);

/// The reader task: exits when the last store handle is gone.
async fn run_reader(
    db: DatabaseConnection,
    ring: Option<Arc<Keyring>>,
    hub: Weak<HubInner>,
    wake: Arc<Notify>,
    poll: Duration,
) {
    let mut listener = None;
    let mut backoff = HELD_BACK_RETRY;
    loop {
        // Listen before reading: a commit between the read and a later
        // LISTEN would go unnoticed until the next poll.
        if db.get_database_backend() == DbBackend::Postgres && listener.is_none() {
            listener = listen(&db).await;
        }
        let Some(inner) = hub.upgrade() else { return };
        let hub_ref = LiveHub { inner };
        let held_back = match drain(&db, ring.as_deref(), &hub_ref).await {
            Ok(held_back) => held_back,
            Err(e) => {
                tracing::warn!(error = %e, "reading live events failed; retrying");
                false
            }
        };
        drop(hub_ref);
        // Rows waiting for an older transaction: look again soon (backing
        // off while it runs), or as soon as anything is signalled.
        let wait = if held_back {
            let w = backoff;
            backoff = (backoff * 2).min(Duration::from_millis(500)).min(poll);
            w
        } else {
            backoff = HELD_BACK_RETRY;
            poll
        };
        match listener.as_mut() {
            Some(l) => {
                tokio::select! {
                    received = l.try_recv() => match received {
                        Ok(Some(_)) => {}
                        // The connection was lost and has been re-established
                        // (listening again): what was notified meanwhile is
                        // read now, from the cursor.
                        Ok(None) => tracing::info!("live listener reconnected; catching up from the cursor"),
                        Err(e) => {
                            tracing::warn!(error = %e, "live listener failed; reconnecting");
                            listener = None;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    },
                    () = wake.notified() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
            None => {
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

async fn listen(db: &DatabaseConnection) -> Option<sea_orm::sqlx::postgres::PgListener> {
    let pool = db.get_postgres_connection_pool();
    match sea_orm::sqlx::postgres::PgListener::connect_with(pool).await {
        Ok(mut l) => match l.listen(CHANNEL).await {
            Ok(()) => Some(l),
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN failed; polling the outbox");
                None
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the live listener connection; polling the outbox");
            None
        }
    }
}

impl Store {
    /// The process's live hub, started on first use (its reader begins at
    /// the newest settled event: older ones are replays, not news).
    pub async fn live(&self) -> StoreResult<LiveHub> {
        let cell = self.live.clone();
        let db = self.db.clone();
        let wake = self.live_wake.clone();
        let poll = self.live_poll;
        let ring = self.keyring.clone();
        let inner = cell
            .get_or_try_init(|| async move {
                let start = newest(&db).await?;
                let inner = Arc::new(HubInner {
                    routing: Mutex::new(Routing {
                        routes: HashMap::new(),
                        position: start,
                        directory: HashMap::new(),
                    }),
                    position: watch::channel(start).0,
                    reads: AtomicU64::new(0),
                    events: AtomicU64::new(0),
                    members: std::sync::atomic::AtomicI64::new(0),
                    directory_epoch: AtomicU64::new(0),
                    extension: std::sync::OnceLock::new(),
                });
                tokio::spawn(run_reader(db, ring, Arc::downgrade(&inner), wake, poll));
                Ok::<_, StoreError>(inner)
            })
            .await?;
        Ok(LiveHub { inner: inner.clone() })
    }

    /// The events of `route` in tenant `org` after `after` up to `upto`
    /// (both settled), in order; [`LiveError::Expired`] when some were pruned.
    pub async fn live_replay(
        &self,
        org: OrganizationId,
        route: Route,
        after: EventCursor,
        upto: EventCursor,
    ) -> StoreResult<Result<Vec<LiveEvent>, LiveError>> {
        let backend = self.db_backend();
        let horizon = self
            .db
            .query_one_raw(stmt(backend, "SELECT tx, seq FROM live_event_horizon WHERE id = 1", vec![]))
            .await?
            .map(|r| {
                Ok::<_, StoreError>(EventCursor { tx: r.try_get("", "tx")?, seq: r.try_get("", "seq")? })
            })
            .transpose()?
            .unwrap_or_default();
        if after < horizon {
            return Ok(Err(LiveError::Expired));
        }
        if after >= upto {
            return Ok(Ok(Vec::new()));
        }
        let (topic, subject) = route.replay_filter();
        let mut values: Vec<Value> = vec![
            org.0.into(),
            topic.as_str().into(),
            after.tx.into(),
            after.seq.into(),
            upto.tx.into(),
            upto.seq.into(),
        ];
        let mut sql = "SELECT seq, tx, organization_id, payload, created_at FROM live_events \
             WHERE organization_id = $1 AND topic = $2 \
             AND (tx > $3 OR (tx = $3 AND seq > $4)) AND (tx < $5 OR (tx = $5 AND seq <= $6))"
            .to_owned();
        if let Some(subject) = subject {
            sql.push_str(" AND subject_id = $7");
            values.push(subject.into());
        }
        sql.push_str(" ORDER BY tx, seq");
        let rows = self.db.query_all_raw(stmt(backend, &sql, values)).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let event = event_of(row, self.keyring.as_deref())?;
            if route.matches(&event.body) {
                out.push(event);
            }
        }
        Ok(Ok(out))
    }

    /// Deletes live events older than `age` and moves the replay horizon
    /// past them; returns how many went.
    pub async fn prune_live_events(&self, age: chrono::Duration) -> StoreResult<u64> {
        let backend = self.db_backend();
        let cutoff = Utc::now() - age;
        let tx = self.write().await?;
        let newest_pruned = tx
            .conn()
            .query_one_raw(stmt(
                backend,
                "SELECT tx, seq FROM live_events WHERE created_at < $1 ORDER BY tx DESC, seq DESC LIMIT 1",
                vec![cutoff.into()],
            ))
            .await?;
        let Some(row) = newest_pruned else { return Ok(0) };
        let (ptx, pseq): (i64, i64) = (row.try_get("", "tx")?, row.try_get("", "seq")?);
        tx.conn()
            .execute_raw(stmt(
                backend,
                "UPDATE live_event_horizon SET tx = $1, seq = $2 \
                 WHERE id = 1 AND (tx < $1 OR (tx = $1 AND seq < $2))",
                vec![ptx.into(), pseq.into()],
            ))
            .await?;
        let deleted = tx
            .conn()
            .execute_raw(stmt(backend, "DELETE FROM live_events WHERE created_at < $1", vec![cutoff.into()]))
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }
}

// ----- the events of each change, queued on its transaction -----

impl Store {
    /// The unit and its ancestors, nearest first: a unit route of each.
    async fn unit_path<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrganizationId,
        unit: UnitId,
    ) -> StoreResult<Vec<UnitId>> {
        let mut path = vec![unit];
        path.extend(self.unit_ancestors_with(conn, org, unit).await?);
        Ok(path)
    }

    /// A key result moved (check-in, KPI measurement, edit of its numbers).
    pub(crate) async fn emit_key_result(
        &self,
        tx: &crate::store::WriteTx,
        org: OrganizationId,
        kr: &crate::entity::key_result::Model,
        o: &crate::entity::objective::Model,
        check_in: Option<goalgraph_domain::okr::CheckIn>,
        period: Option<&crate::entity::period::Model>,
    ) -> StoreResult<()> {
        use sea_orm::EntityTrait;
        // The caller's period row when it has one, else one lookup.
        let loaded;
        let period = match period {
            Some(p) => p,
            None => {
                loaded = crate::entity::period::Entity::find_by_id((org.0, o.period_id))
                    .one(tx.conn())
                    .await?
                    .ok_or_else(|| StoreError::corrupt("objective without period"))?;
                &loaded
            }
        };
        let unit_path = self.unit_path(tx.conn(), org, UnitId(o.owner_unit_id)).await?;
        self.emit_key_result_on(tx, org, kr, o, check_in, period, unit_path)
    }

    /// [`Store::emit_key_result`] with the period and the owning unit's path
    /// (the unit, then its ancestors) at hand.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn emit_key_result_on(
        &self,
        tx: &crate::store::WriteTx,
        org: OrganizationId,
        kr: &crate::entity::key_result::Model,
        o: &crate::entity::objective::Model,
        check_in: Option<goalgraph_domain::okr::CheckIn>,
        period: &crate::entity::period::Model,
        unit_path: Vec<UnitId>,
    ) -> StoreResult<()> {
        let goal = crate::goals::facts(o)?;
        let measure = kr
            .measure
            .parse()
            .map_err(|_| StoreError::corrupt(format!("measure of key result {}", kr.id)))?;
        let change = goalgraph_domain::live::KeyResultChange {
            key_result_id: KeyResultId(kr.id),
            objective_id: ObjectiveId(o.id),
            owner_id: goalgraph_domain::PersonId(kr.owner_id),
            goal,
            unit_path,
            measure,
            value: kr.current_value,
            progress: kr.progress,
            confidence: kr.confidence,
            period_start: period.start_date,
            period_end: period.end_date,
            check_in,
        };
        let mut change = change;
        if let Some(c) = &mut change.check_in {
            c.note = tx.seal("note", c.note.take())?;
        }
        tx.emit(org, LiveBody::KeyResult(change));
        Ok(())
    }

    /// A KPI's measurements were recorded: its status before and after.
    pub(crate) async fn emit_kpi(
        &self,
        tx: &crate::store::WriteTx,
        kpi: &goalgraph_domain::kpi::Kpi,
        before: Option<goalgraph_domain::kpi::Point>,
        after: Option<goalgraph_domain::kpi::Point>,
        points: u64,
    ) -> StoreResult<()> {
        let org = kpi.organization_id;
        let facts = kpi.facts();
        let now = Utc::now();
        let status = |p| goalgraph_domain::kpi::kpi_status(p, &kpi.range, &kpi.tolerance, kpi.cadence, now);
        let change = goalgraph_domain::live::KpiChange {
            kpi_id: kpi.id,
            facts,
            unit_path: self.unit_path(tx.conn(), org, facts.unit).await?,
            status: status(after),
            previous_status: status(before),
            latest_value: after.map(|p| p.value),
            latest_observed_at: after.map(|p| p.observed_at),
            points,
        };
        tx.emit(org, LiveBody::Kpi(change));
        Ok(())
    }

    /// An objective of a period was created, re-parented, finished or
    /// cancelled, or changed who may see it.
    pub(crate) async fn emit_alignment(
        &self,
        tx: &crate::store::WriteTx,
        org: OrganizationId,
        kind: goalgraph_domain::live::AlignmentChangeKind,
        o: &crate::entity::objective::Model,
        previous_parent: Option<Uuid>,
    ) -> StoreResult<()> {
        use sea_orm::EntityTrait;
        let mut parents = HashMap::new();
        for id in [o.parent_id, previous_parent].into_iter().flatten() {
            if let Some(p) = crate::entity::objective::Entity::find_by_id((org.0, id)).one(tx.conn()).await? {
                parents.insert(id, (ObjectiveId(id), crate::goals::facts(&p)?));
            }
        }
        let change = goalgraph_domain::live::AlignmentChange {
            kind,
            objective_id: ObjectiveId(o.id),
            period_id: PeriodId(o.period_id),
            goal: crate::goals::facts(o)?,
            status: o
                .status
                .parse()
                .map_err(|_| StoreError::corrupt(format!("status of objective {}", o.id)))?,
            parent: o.parent_id.and_then(|p| parents.get(&p).copied()),
            previous_parent: previous_parent.and_then(|p| parents.get(&p).copied()),
        };
        tx.emit(org, LiveBody::Alignment(change));
        Ok(())
    }

    /// Roles, units or line managers changed: cached actors are stale.
    pub(crate) fn emit_directory(
        &self,
        tx: &crate::store::WriteTx,
        org: OrganizationId,
        person: Option<goalgraph_domain::PersonId>,
    ) {
        tx.emit(org, LiveBody::Directory { person_id: person });
    }
}
