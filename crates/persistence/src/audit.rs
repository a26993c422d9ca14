//! The audit trail: every command records what it changed on its write
//! transaction ([`WriteTx::audit`]); the commit appends the records to the
//! tenant's hash chain in the same transaction, so a rolled-back command
//! leaves no event and a replayed idempotent one (which writes nothing)
//! leaves none either.
//!
//! Appending locks the tenant's head row (`audit_heads`): concurrent
//! commits of one tenant chain one after the other; other tenants are not
//! held up. Rows are never updated or deleted (triggers refuse it); the
//! chain's rules live in [`goalgraph_domain::audit`].

use crate::convert::now;
use crate::crypto::{Keyring, map_sealed_fields, sealed_key_id};
use crate::entity::{audit_event, audit_head};
use crate::error::{StoreError, StoreResult};
use crate::page::{CursorKey, Page, PageArgs, SortDirection, SortSpec, fetch_page};
use crate::store::{Store, WriteTx};
use goalgraph_domain::audit::{AuditActor, AuditEvent, ChainCheck, ChainReport, GENESIS};
use goalgraph_domain::policy::{self, Action, Actor, Resource};
use goalgraph_domain::{DomainError, OrganizationId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::{Map, Value};
use std::sync::Mutex;
use uuid::Uuid;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `f` with `request_id` as the request id of every audit event its
/// commands record (the API wraps each operation in it).
pub async fn with_request_id<F: std::future::Future>(request_id: String, f: F) -> F::Output {
    REQUEST_ID.scope(request_id, f).await
}

pub(crate) fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok().filter(|id| !id.is_empty())
}

/// Columns never copied into an audit row: they are secrets (an API key's
/// hash) or the tenant, which the row carries anyway.
const LEFT_OUT: [&str; 2] = ["organization_id", "key_hash"];

/// What one command changed, before it is chained.
#[derive(Debug, Clone)]
pub(crate) struct AuditRecord {
    action: &'static str,
    object_type: &'static str,
    object_id: Option<Uuid>,
    before: Option<Value>,
    after: Option<Value>,
}

impl AuditRecord {
    /// A change of `object_type` `object_id` made by the mutation `action`.
    pub(crate) fn new(
        action: &'static str,
        object_type: &'static str,
        object_id: impl Into<Option<Uuid>>,
    ) -> Self {
        Self { action, object_type, object_id: object_id.into(), before: None, after: None }
    }

    /// A created object: its row as `after`.
    pub(crate) fn created(mut self, row: &impl serde::Serialize) -> Self {
        self.after = Some(row_value(row));
        self
    }

    /// A deleted object: its row as `before`.
    pub(crate) fn deleted(mut self, row: &impl serde::Serialize) -> Self {
        self.before = Some(row_value(row));
        self
    }

    /// An updated object: the columns that changed, before and after.
    pub(crate) fn changed(mut self, before: &impl serde::Serialize, after: &impl serde::Serialize) -> Self {
        let (b, a) = diff(row_value(before), row_value(after));
        self.before = Some(b);
        self.after = Some(a);
        self
    }

    /// Adds `key: value` to `before` (for what is not a row: a list of
    /// managers, a summary).
    pub(crate) fn before_field(mut self, key: &str, value: impl serde::Serialize) -> Self {
        insert(&mut self.before, key, value);
        self
    }

    /// Adds `key: value` to `after`.
    pub(crate) fn after_field(mut self, key: &str, value: impl serde::Serialize) -> Self {
        insert(&mut self.after, key, value);
        self
    }
}

fn insert(slot: &mut Option<Value>, key: &str, value: impl serde::Serialize) {
    let value = serde_json::to_value(value).unwrap_or(Value::Null);
    match slot {
        Some(Value::Object(map)) => {
            map.insert(key.to_owned(), value);
        }
        _ => {
            let mut map = Map::new();
            map.insert(key.to_owned(), value);
            *slot = Some(Value::Object(map));
        }
    }
}

/// A row as JSON, without the left-out columns.
pub(crate) fn row_value(row: &impl serde::Serialize) -> Value {
    let mut value = serde_json::to_value(row).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        for key in LEFT_OUT {
            map.remove(key);
        }
    }
    value
}

/// The keys whose values differ, on each side (the `id` stays on both).
fn diff(before: Value, after: Value) -> (Value, Value) {
    match (before, after) {
        (Value::Object(b), Value::Object(mut a)) => {
            let mut b_out = Map::new();
            let mut a_out = Map::new();
            for (key, old) in b {
                let new = a.remove(&key).unwrap_or(Value::Null);
                if old != new || key == "id" {
                    b_out.insert(key.clone(), old);
                    a_out.insert(key, new);
                }
            }
            for (key, new) in a {
                b_out.insert(key.clone(), Value::Null);
                a_out.insert(key, new);
            }
            (Value::Object(b_out), Value::Object(a_out))
        }
        (b, a) => (b, a),
    }
}

/// One record as queued: its tenant, who made it, and the request it was
/// recorded under (a transaction may carry the commands of several).
type Queued = (OrganizationId, AuditActor, AuditRecord, Option<String>);

/// The records of one write transaction, chained by its commit.
#[derive(Default)]
pub(crate) struct AuditLog {
    queued: Mutex<Vec<Queued>>,
}

impl AuditLog {
    /// Queues a record under the current request id.
    pub(crate) fn push(&self, org: OrganizationId, actor: AuditActor, record: AuditRecord) {
        self.push_for(org, actor, record, current_request_id());
    }

    /// Queues a record under `request_id`.
    pub(crate) fn push_for(
        &self,
        org: OrganizationId,
        actor: AuditActor,
        record: AuditRecord,
        request_id: Option<String>,
    ) {
        if let Ok(mut q) = self.queued.lock() {
            q.push((org, actor, record, request_id));
        }
    }

    fn take(&self) -> Vec<Queued> {
        self.queued.lock().map(|mut q| std::mem::take(&mut *q)).unwrap_or_default()
    }

    /// The statements that append the queued records to their tenants'
    /// chains, each tenant's head locked (and read) on `conn` first: per
    /// tenant, the events' insert and the head's move.
    pub(crate) async fn statements<C: ConnectionTrait>(
        &self,
        conn: &C,
        ring: Option<&Keyring>,
    ) -> StoreResult<Vec<sea_orm::Statement>> {
        use sea_orm::QueryTrait;
        let records = self.take();
        let backend = conn.get_database_backend();
        let at = now();
        let mut out = Vec::new();
        // Grouped by tenant, in the order recorded: one head lock and one
        // insert a tenant.
        for (org, records) in crate::store::by_tenant(records, |q| q.0) {
            let (mut seq, mut prev) = lock_head(conn, org).await?;
            let mut rows = Vec::with_capacity(records.len());
            for (_, actor, record, request_id) in records {
                seq += 1;
                let text = |v: Option<Value>| -> StoreResult<Option<String>> {
                    v.map(|v| seal_value(ring, v).map(|v| v.to_string())).transpose()
                };
                let mut event = AuditEvent {
                    organization_id: org,
                    seq,
                    id: Uuid::now_v7(),
                    occurred_at: at,
                    actor,
                    action: record.action.to_owned(),
                    object_type: record.object_type.to_owned(),
                    object_id: record.object_id,
                    before: text(record.before)?,
                    after: text(record.after)?,
                    request_id,
                    prev_hash: String::new(),
                    hash: String::new(),
                };
                event.seal(&prev);
                prev.clone_from(&event.hash);
                rows.push(active(event));
            }
            out.push(audit_event::Entity::insert_many(rows).build(backend));
            out.push(
                audit_head::Entity::update_many()
                    .col_expr(audit_head::Column::Seq, seq.into())
                    .col_expr(audit_head::Column::Hash, prev.into())
                    .filter(audit_head::Column::OrganizationId.eq(org.0))
                    .build(backend),
            );
        }
        Ok(out)
    }
}

/// Seals the sensitive fields of an audit value; values their rows already
/// hold sealed are copied as they are.
fn seal_value(ring: Option<&Keyring>, value: Value) -> StoreResult<Value> {
    let Some(ring) = ring else { return Ok(value) };
    map_sealed_fields(value, &|field, s| {
        if sealed_key_id(&s).is_some() { Ok(s) } else { ring.seal(field, &s) }
    })
}

/// The tenant's head, locked until the commit (created on first use).
async fn lock_head<C: ConnectionTrait>(conn: &C, org: OrganizationId) -> StoreResult<(i64, String)> {
    let locked = || audit_head::Entity::find_by_id(org.0).lock_exclusive().one(conn);
    // One statement once the tenant has a head (the head only moves
    // forward, so no upsert can lock it without moving it).
    if let Some(head) = locked().await? {
        return Ok((head.seq, head.hash));
    }
    audit_head::Entity::insert(audit_head::ActiveModel {
        organization_id: Set(org.0),
        seq: Set(0),
        hash: Set(GENESIS.to_owned()),
    })
    .on_conflict(OnConflict::column(audit_head::Column::OrganizationId).do_nothing().to_owned())
    .exec_without_returning(conn)
    .await?;
    let head = locked().await?.ok_or_else(|| StoreError::corrupt("audit head vanished"))?;
    Ok((head.seq, head.hash))
}

fn active(e: AuditEvent) -> audit_event::ActiveModel {
    audit_event::ActiveModel {
        organization_id: Set(e.organization_id.0),
        seq: Set(e.seq),
        id: Set(e.id),
        occurred_at: Set(e.occurred_at),
        actor_kind: Set(e.actor.kind().to_owned()),
        actor_id: Set(e.actor.id()),
        action: Set(e.action),
        object_type: Set(e.object_type),
        object_id: Set(e.object_id),
        before_value: Set(e.before),
        after_value: Set(e.after),
        request_id: Set(e.request_id),
        prev_hash: Set(e.prev_hash),
        hash: Set(e.hash),
    }
}

fn event(m: audit_event::Model) -> StoreResult<AuditEvent> {
    let actor = AuditActor::from_parts(&m.actor_kind, m.actor_id)
        .ok_or_else(|| StoreError::corrupt(format!("audit actor {} {:?}", m.actor_kind, m.actor_id)))?;
    Ok(AuditEvent {
        organization_id: OrganizationId(m.organization_id),
        seq: m.seq,
        id: m.id,
        occurred_at: m.occurred_at,
        actor,
        action: m.action,
        object_type: m.object_type,
        object_id: m.object_id,
        before: m.before_value,
        after: m.after_value,
        request_id: m.request_id,
        prev_hash: m.prev_hash,
        hash: m.hash,
    })
}

/// Which events `auditEvents` lists (all of them: none set).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<Uuid>,
    pub object_id: Option<Uuid>,
    pub action: Option<String>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

/// An event as the API shows it: `before` and `after` parsed, encrypted
/// values opened.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub event: AuditEvent,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Events read per statement while verifying a chain.
const VERIFY_CHUNK: u64 = 1000;

impl WriteTx {
    /// Records what a command of `actor` changed: chained at the commit, or
    /// dropped with the rollback.
    pub(crate) fn audit(&self, actor: &Actor, record: AuditRecord) {
        self.audit_log.push(actor.organization_id, AuditActor::of(actor), record);
    }

    /// [`WriteTx::audit`] for a command of another request (a batch).
    pub(crate) fn audit_for(&self, actor: &Actor, record: AuditRecord, request_id: Option<String>) {
        self.audit_log.push_for(actor.organization_id, AuditActor::of(actor), record, request_id);
    }

    /// Records a change made by an operator's command.
    pub(crate) fn audit_system(&self, org: OrganizationId, record: AuditRecord) {
        self.audit_log.push(org, AuditActor::System, record);
    }
}

impl Store {
    /// The tenant's events the filter selects, for ADMIN and HR.
    fn filtered_audit_events(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
    ) -> StoreResult<sea_orm::Select<audit_event::Entity>> {
        let org = actor.organization_id;
        policy::authorize(actor, Action::Read, &Resource::AuditTrail { organization_id: org })?;
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from > to
        {
            return Err(DomainError::invalid("filter.to", "must not be before filter.from").into());
        }
        let mut select = audit_event::Entity::find().filter(audit_event::Column::OrganizationId.eq(org.0));
        if let Some(id) = filter.actor_id {
            select = select.filter(audit_event::Column::ActorId.eq(id));
        }
        if let Some(id) = filter.object_id {
            select = select.filter(audit_event::Column::ObjectId.eq(id));
        }
        if let Some(action) = &filter.action {
            select = select.filter(audit_event::Column::Action.eq(action.as_str()));
        }
        if let Some(from) = filter.from {
            select = select.filter(audit_event::Column::OccurredAt.gte(from));
        }
        if let Some(to) = filter.to {
            select = select.filter(audit_event::Column::OccurredAt.lte(to));
        }
        Ok(select)
    }

    /// The tenant's events, newest first, for ADMIN and HR.
    pub async fn audit_events(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
        args: &PageArgs,
    ) -> StoreResult<Page<AuditEntry>> {
        let select = self.filtered_audit_events(actor, filter)?;
        let sort = SortSpec {
            column: audit_event::Column::Seq,
            id_column: audit_event::Column::Id,
            direction: SortDirection::Desc,
            parse: |s| s.parse::<i64>().ok().map(sea_orm::Value::from),
            key_of: |m: &audit_event::Model| CursorKey { key: m.seq.to_string(), id: m.id },
        };
        let page = fetch_page(&self.db, select, sort, args).await?;
        page.try_map(|m| {
            let e = event(m)?;
            let before = self.open_audit_value(e.before.as_deref())?;
            let after = self.open_audit_value(e.after.as_deref())?;
            Ok(AuditEntry { event: e, before, after })
        })
    }

    pub async fn count_audit_events(&self, actor: &Actor, filter: &AuditFilter) -> StoreResult<u64> {
        use sea_orm::PaginatorTrait;
        Ok(self.filtered_audit_events(actor, filter)?.count(&self.db).await?)
    }

    fn open_audit_value(&self, text: Option<&str>) -> StoreResult<Option<Value>> {
        let Some(text) = text else { return Ok(None) };
        let value: Value =
            serde_json::from_str(text).map_err(|e| StoreError::corrupt(format!("audit value: {e}")))?;
        self.open_value(value).map(Some)
    }

    /// Walks the tenant's whole chain and reports the first broken link.
    pub async fn verify_audit_trail(&self, actor: &Actor) -> StoreResult<ChainReport> {
        let org = actor.organization_id;
        policy::authorize(actor, Action::Read, &Resource::AuditTrail { organization_id: org })?;
        self.verify_chain(org).await
    }

    /// [`Store::verify_audit_trail`] for operators' commands.
    pub async fn verify_chain(&self, org: OrganizationId) -> StoreResult<ChainReport> {
        use sea_orm::{AccessMode, IsolationLevel, TransactionTrait};
        // One snapshot for the head and the walk: events appended meanwhile
        // are not seen, and an event beyond the head is one nobody appended.
        let snapshot = self
            .db
            .begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly))
            .await?;
        let head = audit_head::Entity::find_by_id(org.0).one(&snapshot).await?;
        let mut check = ChainCheck::default();
        let mut after = 0_i64;
        'walk: loop {
            let rows = audit_event::Entity::find()
                .filter(audit_event::Column::OrganizationId.eq(org.0))
                .filter(audit_event::Column::Seq.gt(after))
                .order_by_asc(audit_event::Column::Seq)
                .limit(VERIFY_CHUNK)
                .all(&snapshot)
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.seq;
            for m in rows {
                if !check.push(&event(m)?) {
                    break 'walk;
                }
            }
        }
        snapshot.commit().await?;
        Ok(check.finish(head.as_ref().map(|h| (h.seq, h.hash.as_str()))))
    }
}
