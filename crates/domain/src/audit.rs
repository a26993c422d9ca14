//! The audit trail's rules: who an event names as its actor, what an
//! event's hash covers, and how a tenant's chain of events is checked.
//!
//! Each event stores the SHA-256 of its content, which includes the hash of
//! the tenant's previous event (the first one links to [`GENESIS`]). Editing
//! a stored event changes its content hash; deleting one leaves a gap in
//! the sequence; moving one to another position changes the content its
//! hash covers (the sequence number is part of it) and breaks the link of
//! the event after it. [`ChainCheck`] walks the events in sequence order and
//! names the first link that does not hold.

use crate::ids::{IntegrationId, OrganizationId, PersonId};
use crate::policy::{Actor, Principal};
use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The previous hash of a tenant's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditActor {
    Person(PersonId),
    Integration(IntegrationId),
    /// An operator's command (creating a tenant, a maintenance job).
    System,
}

impl AuditActor {
    pub fn of(actor: &Actor) -> Self {
        match actor.principal {
            Principal::Person { id, .. } => Self::Person(id),
            Principal::Integration { id, .. } => Self::Integration(id),
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Self::Person(_) => "PERSON",
            Self::Integration(_) => "INTEGRATION",
            Self::System => "SYSTEM",
        }
    }

    pub fn id(self) -> Option<Uuid> {
        match self {
            Self::Person(id) => Some(id.0),
            Self::Integration(id) => Some(id.0),
            Self::System => None,
        }
    }

    /// Back from the stored kind and id; `None` for a pair no writer makes.
    pub fn from_parts(kind: &str, id: Option<Uuid>) -> Option<Self> {
        match (kind, id) {
            ("PERSON", Some(id)) => Some(Self::Person(PersonId(id))),
            ("INTEGRATION", Some(id)) => Some(Self::Integration(IntegrationId(id))),
            ("SYSTEM", None) => Some(Self::System),
            _ => None,
        }
    }
}

/// One stored event, as the chain sees it: `before` and `after` are the
/// stored JSON texts, hashed as they are (encrypted values included, so a
/// verifier needs no key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub organization_id: OrganizationId,
    /// 1, 2, 3, … per tenant, in the order events were appended.
    pub seq: i64,
    pub id: Uuid,
    /// Whole microseconds (what both databases store exactly).
    pub occurred_at: DateTime<Utc>,
    pub actor: AuditActor,
    /// The mutation, e.g. `checkIn`.
    pub action: String,
    /// The GraphQL type of the changed object, e.g. `KeyResult`.
    pub object_type: String,
    pub object_id: Option<Uuid>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEvent {
    /// The SHA-256 (lower-case hex) of everything but `hash` itself.
    pub fn content_hash(&self) -> String {
        let content = serde_json::json!([
            "goalgraph-audit-v1",
            self.organization_id.0,
            self.seq,
            self.id,
            self.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            self.actor.kind(),
            self.actor.id(),
            self.action,
            self.object_type,
            self.object_id,
            self.before,
            self.after,
            self.request_id,
            self.prev_hash,
        ]);
        hex(&Sha256::digest(content.to_string().as_bytes()))
    }

    /// Sets `prev_hash` and the event's own `hash`.
    pub fn seal(&mut self, prev_hash: &str) {
        prev_hash.clone_into(&mut self.prev_hash);
        self.hash = self.content_hash();
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// How a chain is broken at an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// The event's content no longer matches its hash: it was edited, or
    /// moved to another position.
    ContentChanged,
    /// The event does not link to the one before it: an event before it
    /// was replaced, or events were reordered.
    LinkBroken,
    /// Events are missing before this sequence number (deleted).
    Missing,
    /// The newest events are missing: the chain ends before the tenant's
    /// recorded head.
    Truncated,
}

impl BreakKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ContentChanged => "CONTENT_CHANGED",
            Self::LinkBroken => "LINK_BROKEN",
            Self::Missing => "MISSING",
            Self::Truncated => "TRUNCATED",
        }
    }
}

/// The first link that does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Break {
    /// The sequence number where the chain breaks.
    pub seq: i64,
    pub kind: BreakKind,
}

/// What a walk over a tenant's chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub events_checked: u64,
    /// The newest event's sequence number and hash (0 and [`GENESIS`] for
    /// none): anchor these outside the database to detect a rewrite of the
    /// whole chain.
    pub last_seq: i64,
    pub last_hash: String,
    pub broken: Option<Break>,
}

/// Walks one tenant's events in sequence order.
#[derive(Debug, Clone)]
pub struct ChainCheck {
    last_seq: i64,
    last_hash: String,
    checked: u64,
    broken: Option<Break>,
}

impl Default for ChainCheck {
    fn default() -> Self {
        Self { last_seq: 0, last_hash: GENESIS.to_owned(), checked: 0, broken: None }
    }
}

impl ChainCheck {
    /// Checks the next event; false once the chain is broken (the rest
    /// need not be read).
    pub fn push(&mut self, event: &AuditEvent) -> bool {
        if self.broken.is_some() {
            return false;
        }
        let expected = self.last_seq + 1;
        let kind = if event.seq != expected {
            Some(BreakKind::Missing)
        } else if event.content_hash() != event.hash {
            Some(BreakKind::ContentChanged)
        } else if event.prev_hash != self.last_hash {
            Some(BreakKind::LinkBroken)
        } else {
            None
        };
        if let Some(kind) = kind {
            self.broken = Some(Break { seq: expected, kind });
            return false;
        }
        self.checked += 1;
        self.last_seq = event.seq;
        self.last_hash.clone_from(&event.hash);
        true
    }

    /// The report, given the tenant's recorded head (`None`: no event was
    /// ever appended).
    pub fn finish(mut self, head: Option<(i64, &str)>) -> ChainReport {
        if self.broken.is_none() {
            let (head_seq, head_hash) = head.unwrap_or((0, GENESIS));
            if head_seq > self.last_seq {
                self.broken = Some(Break { seq: self.last_seq + 1, kind: BreakKind::Truncated });
            } else if head_seq < self.last_seq || head_hash != self.last_hash {
                // Events beyond the head, or a different newest event: the
                // chain was rewritten from somewhere on.
                self.broken = Some(Break { seq: head_seq.max(1), kind: BreakKind::LinkBroken });
            }
        }
        ChainReport {
            events_checked: self.checked,
            last_seq: self.last_seq,
            last_hash: self.last_hash,
            broken: self.broken,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEvent> {
        let org = OrganizationId(Uuid::from_u128(1));
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEvent {
                    organization_id: org,
                    seq,
                    id: Uuid::from_u128(seq as u128),
                    occurred_at: DateTime::from_timestamp(1_800_000_000 + seq, 123_456_000)
                        .unwrap_or_default(),
                    actor: AuditActor::Person(PersonId(Uuid::from_u128(7))),
                    action: "checkIn".to_owned(),
                    object_type: "KeyResult".to_owned(),
                    object_id: Some(Uuid::from_u128(9)),
                    before: Some(r#"{"current_value":1.0}"#.to_owned()),
                    after: Some(format!(r#"{{"current_value":{seq}.0}}"#)),
                    request_id: Some(format!("req-{seq}")),
                    prev_hash: String::new(),
                    hash: String::new(),
                };
                e.seal(&prev);
                prev.clone_from(&e.hash);
                e
            })
            .collect()
    }

    fn check(events: &[AuditEvent], head: Option<(i64, &str)>) -> ChainReport {
        let mut c = ChainCheck::default();
        for e in events {
            if !c.push(e) {
                break;
            }
        }
        c.finish(head)
    }

    fn head(events: &[AuditEvent]) -> Option<(i64, &str)> {
        events.last().map(|e| (e.seq, e.hash.as_str()))
    }

    #[test]
    fn an_intact_chain_verifies() {
        let events = chain(5);
        let report = check(&events, head(&events));
        assert_eq!(report.broken, None);
        assert_eq!(report.events_checked, 5);
        assert_eq!(report.last_seq, 5);
        assert_eq!(check(&[], None).broken, None);
    }

    #[test]
    fn the_hash_is_sha256_hex_and_covers_every_field() {
        let events = chain(1);
        let base = &events[0];
        assert_eq!(base.hash.len(), 64);
        assert!(base.hash.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        let variants: Vec<AuditEvent> = vec![
            AuditEvent { seq: 2, ..base.clone() },
            AuditEvent { id: Uuid::from_u128(99), ..base.clone() },
            AuditEvent { occurred_at: base.occurred_at + chrono::Duration::microseconds(1), ..base.clone() },
            AuditEvent { actor: AuditActor::System, ..base.clone() },
            AuditEvent { action: "updateKeyResult".to_owned(), ..base.clone() },
            AuditEvent { object_type: "Objective".to_owned(), ..base.clone() },
            AuditEvent { object_id: None, ..base.clone() },
            AuditEvent { before: None, ..base.clone() },
            AuditEvent { after: Some("{}".to_owned()), ..base.clone() },
            AuditEvent { request_id: None, ..base.clone() },
            AuditEvent { prev_hash: "1".repeat(64), ..base.clone() },
            AuditEvent { organization_id: OrganizationId(Uuid::from_u128(2)), ..base.clone() },
        ];
        for v in variants {
            assert_ne!(v.content_hash(), base.hash, "{v:?}");
        }
    }

    #[test]
    fn an_edited_event_is_found() {
        let mut events = chain(5);
        events[2].after = Some(r#"{"current_value":1000.0}"#.to_owned());
        let report = check(&events, head(&chain(5)));
        assert_eq!(report.broken, Some(Break { seq: 3, kind: BreakKind::ContentChanged }));
        assert_eq!(report.events_checked, 2);
    }

    #[test]
    fn an_edit_with_a_recomputed_hash_breaks_the_next_link() {
        let mut events = chain(5);
        events[2].after = Some(r#"{"current_value":1000.0}"#.to_owned());
        let prev = events[1].hash.clone();
        events[2].seal(&prev);
        let original = chain(5);
        let report = check(&events, head(&original));
        assert_eq!(report.broken, Some(Break { seq: 4, kind: BreakKind::LinkBroken }));
    }

    #[test]
    fn a_deleted_event_is_found() {
        let mut events = chain(5);
        events.remove(1);
        let report = check(&events, head(&chain(5)));
        assert_eq!(report.broken, Some(Break { seq: 2, kind: BreakKind::Missing }));
    }

    #[test]
    fn reordered_events_are_found() {
        // Two events swap places, each renumbered into the other's slot.
        let mut events = chain(5);
        events.swap(1, 2);
        events[1].seq = 2;
        events[2].seq = 3;
        let report = check(&events, head(&chain(5)));
        assert_eq!(report.broken, Some(Break { seq: 2, kind: BreakKind::ContentChanged }));
    }

    #[test]
    fn cut_off_newest_events_are_found_through_the_head() {
        let original = chain(5);
        let report = check(&original[..3], head(&original));
        assert_eq!(report.broken, Some(Break { seq: 4, kind: BreakKind::Truncated }));
        // Positive control: the same three events against their own head.
        assert_eq!(check(&original[..3], head(&original[..3])).broken, None);
    }

    #[test]
    fn actors_round_trip_through_their_stored_parts() {
        let p = AuditActor::Person(PersonId(Uuid::from_u128(3)));
        let i = AuditActor::Integration(IntegrationId(Uuid::from_u128(4)));
        for a in [p, i, AuditActor::System] {
            assert_eq!(AuditActor::from_parts(a.kind(), a.id()), Some(a));
        }
        assert_eq!(AuditActor::from_parts("PERSON", None), None);
        assert_eq!(AuditActor::from_parts("SYSTEM", Some(Uuid::from_u128(1))), None);
    }
}
