//! The audit trail over GraphQL (ADMIN and HR): `auditEvents` and
//! `verifyAuditTrail`. Events are written by the mutations themselves; no
//! field here changes one.

use crate::connection::{self, Conn};
use crate::context::data;
use crate::error::{ApiError, ApiResult};
use crate::ids::{NodeType, decode_any, encode_id};
use crate::types::PersonNode;
use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use goalgraph_domain::PersonId;
use goalgraph_domain::audit::{AuditActor, BreakKind};
use goalgraph_persistence::{AuditEntry, AuditFilter};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AuditActorKind {
    Person,
    Integration,
    /// An operator's command (e.g. creating the organization).
    System,
}

/// One recorded change.
pub struct AuditEventNode(pub AuditEntry);

/// The global id of a stored object, when its type has global ids.
fn object_global_id(object_type: &str, id: uuid::Uuid) -> ID {
    match NodeType::from_tag(object_type) {
        Some(node) => encode_id(node, id),
        None => ID(id.to_string()),
    }
}

#[Object(name = "AuditEvent")]
impl AuditEventNode {
    /// The event's place in the organization's chain: 1, 2, 3, …
    async fn sequence(&self) -> i64 {
        self.0.event.seq
    }
    async fn id(&self) -> ID {
        ID(self.0.event.id.to_string())
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.event.occurred_at
    }
    async fn actor_kind(&self) -> AuditActorKind {
        match self.0.event.actor {
            AuditActor::Person(_) => AuditActorKind::Person,
            AuditActor::Integration(_) => AuditActorKind::Integration,
            AuditActor::System => AuditActorKind::System,
        }
    }
    /// The person's or the integration's id; null for SYSTEM.
    async fn actor_id(&self) -> Option<ID> {
        match self.0.event.actor {
            AuditActor::Person(p) => Some(encode_id(NodeType::Person, p.0)),
            AuditActor::Integration(i) => Some(encode_id(NodeType::Integration, i.0)),
            AuditActor::System => None,
        }
    }
    /// The person who acted, while they exist.
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<PersonNode>> {
        let AuditActor::Person(id) = self.0.event.actor else { return Ok(None) };
        let d = data(ctx)?;
        Ok(d.loaders.people.load_one(PersonId(id.0)).await?.map(PersonNode))
    }
    /// The mutation, e.g. `checkIn`.
    async fn action(&self) -> &str {
        &self.0.event.action
    }
    /// The type of the object changed, e.g. `KeyResult`.
    async fn object_type(&self) -> &str {
        &self.0.event.object_type
    }
    async fn object_id(&self) -> Option<ID> {
        self.0.event.object_id.map(|id| object_global_id(&self.0.event.object_type, id))
    }
    /// What changed, as it was (the changed fields of an update, the whole
    /// of a deleted object).
    async fn before(&self) -> Option<Json<serde_json::Value>> {
        self.0.before.clone().map(Json)
    }
    /// What changed, as it became.
    async fn after(&self) -> Option<Json<serde_json::Value>> {
        self.0.after.clone().map(Json)
    }
    /// The request that made the change (`x-request-id`).
    async fn request_id(&self) -> Option<&str> {
        self.0.event.request_id.as_deref()
    }
    /// SHA-256 of the event's content, which includes `previousHash`.
    async fn hash(&self) -> &str {
        &self.0.event.hash
    }
    async fn previous_hash(&self) -> &str {
        &self.0.event.prev_hash
    }
}

/// Narrows `auditEvents`; every field given must match.
#[derive(InputObject, Clone, Debug, Default)]
pub struct AuditEventFilter {
    /// The person or integration that acted.
    pub actor_id: Option<ID>,
    /// The object changed.
    pub object_id: Option<ID>,
    /// The mutation, e.g. `checkIn`.
    pub action: Option<String>,
    /// At or after this time.
    pub from: Option<DateTime<Utc>>,
    /// At or before this time.
    pub to: Option<DateTime<Utc>>,
}

fn any_id(field: &str, id: &ID) -> ApiResult<uuid::Uuid> {
    decode_any(id).map(|(_, uuid)| uuid).ok_or_else(|| ApiError::bad_input(field, "is not an id of this API"))
}

impl AuditEventFilter {
    fn into_store(self) -> ApiResult<AuditFilter> {
        Ok(AuditFilter {
            actor_id: self.actor_id.as_ref().map(|id| any_id("filter.actorId", id)).transpose()?,
            object_id: self.object_id.as_ref().map(|id| any_id("filter.objectId", id)).transpose()?,
            action: self.action,
            from: self.from,
            to: self.to,
        })
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::audit::BreakKind")]
pub enum AuditBreakKind {
    /// The event no longer matches its hash: edited, or moved.
    ContentChanged,
    /// The event does not link to the one before it.
    LinkBroken,
    /// Events are missing before this one (deleted).
    Missing,
    /// The newest events are missing.
    Truncated,
}

/// Where the chain does not hold.
#[derive(SimpleObject, Debug)]
pub struct AuditChainBreak {
    /// The sequence number at which the chain breaks.
    pub sequence: i64,
    pub kind: AuditBreakKind,
    pub message: String,
}

/// The result of walking the organization's whole audit chain.
#[derive(SimpleObject, Debug)]
pub struct AuditVerification {
    /// True when every event matches its hash and links to the one before.
    pub valid: bool,
    pub events_checked: u64,
    /// The newest event's sequence number and hash: keep them outside
    /// the database to detect a rewrite of the whole chain later.
    pub last_sequence: i64,
    pub last_hash: String,
    /// The first broken link; null when valid.
    pub first_break: Option<AuditChainBreak>,
}

fn break_message(kind: BreakKind, seq: i64) -> String {
    match kind {
        BreakKind::ContentChanged => {
            format!("event {seq} does not match its hash: it was edited or moved")
        }
        BreakKind::LinkBroken => {
            format!("event {seq} does not link to the event before it: events were replaced or reordered")
        }
        BreakKind::Missing => format!("event {seq} is missing: events were deleted"),
        BreakKind::Truncated => format!("events from {seq} on are missing: the newest events were deleted"),
    }
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The organization's audit events, newest first (ADMIN, HR).
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditEventFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<AuditEventNode>> {
        let d = data(ctx)?;
        let had_cursor = after.is_some();
        let args = connection::page_args(ctx, first, after)?;
        let filter = filter.unwrap_or_default().into_store()?;
        let page = d.store.audit_events(&d.ctx.actor, &filter, &args).await?;
        let total = if connection::wants_total(ctx) {
            d.store.count_audit_events(&d.ctx.actor, &filter).await?
        } else {
            0
        };
        Ok(connection::build(page, had_cursor, total, AuditEventNode))
    }

    /// Walks the organization's whole audit chain and reports the first
    /// event that was edited, deleted or moved behind the application's
    /// back (ADMIN, HR).
    async fn verify_audit_trail(&self, ctx: &Context<'_>) -> ApiResult<AuditVerification> {
        let d = data(ctx)?;
        let report = d.store.verify_audit_trail(&d.ctx.actor).await?;
        Ok(AuditVerification {
            valid: report.broken.is_none(),
            events_checked: report.events_checked,
            last_sequence: report.last_seq,
            last_hash: report.last_hash,
            first_break: report.broken.map(|b| AuditChainBreak {
                sequence: b.seq,
                kind: b.kind.into(),
                message: break_message(b.kind, b.seq),
            }),
        })
    }
}
