//! Live events: what a mutation tells subscribers, as plain data.
//!
//! A mutation writes its events to the outbox in its own transaction; each
//! server process reads every event once and fans it out. An event carries
//! the facts the policy decides on as they were when it committed, so a
//! subscriber's right to see it is decided in memory, with no query per
//! subscriber.

use crate::error::DomainError;
use crate::formulas::{Health, PeriodWindow, key_result_expected, key_result_health};
use crate::ids::*;
use crate::kpi::KpiStatus;
use crate::okr::{CheckIn, Measure, ObjectiveStatus};
use crate::policy::{GoalFacts, KpiFacts, Resource};
use crate::settings::OrganizationSettings;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The position of an event in the outbox: ordered, opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventCursor {
    /// The writing transaction (PostgreSQL), 0 on SQLite.
    pub tx: i64,
    pub seq: i64,
}

impl EventCursor {
    /// `tx.seq`, the wire form clients get (the API encodes it further).
    pub fn encode(self) -> String {
        format!("{}.{}", self.tx, self.seq)
    }

    pub fn decode(s: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::invalid("after", "not a cursor of this subscription");
        let (tx, seq) = s.split_once('.').ok_or_else(bad)?;
        Ok(Self { tx: tx.parse().map_err(|_| bad())?, seq: seq.parse().map_err(|_| bad())? })
    }
}

/// What an outbox row is about; stored as its `topic` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    KeyResult,
    Objective,
    Kpi,
    Alignment,
    Directory,
}

impl Topic {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyResult => "KEY_RESULT",
            Self::Objective => "OBJECTIVE",
            Self::Kpi => "KPI",
            Self::Alignment => "ALIGNMENT",
            Self::Directory => "DIRECTORY",
        }
    }
}

/// A key result moved: a check-in, or a measurement of the KPI it follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyResultChange {
    pub key_result_id: KeyResultId,
    pub objective_id: ObjectiveId,
    pub owner_id: PersonId,
    pub goal: GoalFacts,
    /// The owning unit and its ancestors, nearest first.
    pub unit_path: Vec<UnitId>,
    pub measure: Measure,
    pub value: f64,
    pub progress: f64,
    pub confidence: Option<f64>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// None when a KPI measurement moved it.
    pub check_in: Option<CheckIn>,
}

impl KeyResultChange {
    pub fn resource(&self, org: OrganizationId) -> Resource {
        Resource::KeyResult { organization_id: org, goal: self.goal, owner: self.owner_id }
    }

    /// Its health at `now` under `settings` (pure: no query).
    pub fn health(&self, now: DateTime<Utc>, settings: &OrganizationSettings) -> Health {
        let window = PeriodWindow::new(self.period_start, self.period_end, settings.time_zone.tz());
        let expected = key_result_expected(self.measure, &window, now);
        key_result_health(
            self.measure,
            self.progress,
            expected,
            self.confidence,
            window.has_ended(now),
            settings,
        )
    }
}

/// An objective's stored progress changed, or one of its inputs did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveChange {
    pub objective_id: ObjectiveId,
    pub goal: GoalFacts,
    pub progress: f64,
}

/// Measurements of a KPI were recorded (one event per call).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiChange {
    pub kpi_id: KpiId,
    pub facts: KpiFacts,
    /// The owning unit and its ancestors, nearest first.
    pub unit_path: Vec<UnitId>,
    pub status: KpiStatus,
    pub previous_status: KpiStatus,
    pub latest_value: Option<f64>,
    pub latest_observed_at: Option<DateTime<Utc>>,
    pub points: u64,
}

impl KpiChange {
    pub fn resource(&self, org: OrganizationId) -> Resource {
        Resource::Kpi { organization_id: org, kpi: self.facts }
    }
}

/// How the alignment of a period changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlignmentChangeKind {
    #[serde(rename = "CREATED")]
    Created,
    #[serde(rename = "REPARENTED")]
    Reparented,
    #[serde(rename = "STATUS_CHANGED")]
    StatusChanged,
    /// Its visibility (who may see it) changed.
    #[serde(rename = "VISIBILITY_CHANGED")]
    VisibilityChanged,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlignmentChange {
    pub kind: AlignmentChangeKind,
    pub objective_id: ObjectiveId,
    pub period_id: PeriodId,
    pub goal: GoalFacts,
    pub status: ObjectiveStatus,
    /// The parents with their facts: a subscriber who may not see one is
    /// not told its id.
    pub parent: Option<(ObjectiveId, GoalFacts)>,
    pub previous_parent: Option<(ObjectiveId, GoalFacts)>,
}

impl AlignmentChange {
    pub fn resource(&self, org: OrganizationId) -> Resource {
        Resource::Objective { organization_id: org, goal: self.goal }
    }
}

impl ObjectiveChange {
    pub fn resource(&self, org: OrganizationId) -> Resource {
        Resource::Objective { organization_id: org, goal: self.goal }
    }
}

/// What a live event says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum LiveBody {
    KeyResult(KeyResultChange),
    Objective(ObjectiveChange),
    Kpi(KpiChange),
    Alignment(AlignmentChange),
    /// People's roles, units or line managers changed: cached actors of
    /// this tenant (of this person only, when named) are out of date.
    Directory {
        person_id: Option<PersonId>,
    },
}

impl LiveBody {
    pub fn topic(&self) -> Topic {
        match self {
            Self::KeyResult(_) => Topic::KeyResult,
            Self::Objective(_) => Topic::Objective,
            Self::Kpi(_) => Topic::Kpi,
            Self::Alignment(_) => Topic::Alignment,
            Self::Directory { .. } => Topic::Directory,
        }
    }

    /// The object the event is about (the row's `subject_id`).
    pub fn subject(&self, org: OrganizationId) -> uuid::Uuid {
        match self {
            Self::KeyResult(k) => k.key_result_id.0,
            Self::Objective(o) => o.objective_id.0,
            Self::Kpi(k) => k.kpi_id.0,
            Self::Alignment(a) => a.period_id.0,
            Self::Directory { person_id } => person_id.map_or(org.0, |p| p.0),
        }
    }
}

/// One event as read from the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    pub cursor: EventCursor,
    pub organization_id: OrganizationId,
    pub at: DateTime<Utc>,
    pub body: LiveBody,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cursors_order_by_transaction_then_sequence_and_round_trip() {
        let a = EventCursor { tx: 5, seq: 9 };
        let b = EventCursor { tx: 6, seq: 2 };
        assert!(a < b, "a later transaction sorts after, whatever its sequence");
        assert_eq!(EventCursor::decode(&a.encode()).unwrap(), a);
        assert!(EventCursor::decode("7").is_err());
        assert!(EventCursor::decode("x.1").is_err());
    }
}
