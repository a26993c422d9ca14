//! Objectives, key results and check-ins as plain data, and the rules of
//! their lifecycle.

use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::values::finite;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

use crate::text_enum::string_enum;

string_enum!(
    /// COMMITTED objectives succeed only at 100 %; ASPIRATIONAL ones (stretch
    /// goals) at 70 %.
    ObjectiveKind, "kind" { Committed => "COMMITTED", Aspirational => "ASPIRATIONAL" }
);
string_enum!(
    /// Who may see an objective (and its key results and check-ins).
    Visibility, "visibility" { Public => "PUBLIC", Unit => "UNIT", Private => "PRIVATE" }
);
string_enum!(
    /// What an objective's progress is computed from.
    ProgressDriver, "progressDriver" {
        KeyResults => "KEY_RESULTS",
        AlignedObjectives => "ALIGNED_OBJECTIVES",
        Both => "BOTH",
    }
);
string_enum!(
    ObjectiveStatus, "status" {
        Draft => "DRAFT",
        Active => "ACTIVE",
        Completed => "COMPLETED",
        Cancelled => "CANCELLED",
    }
);
string_enum!(
    /// How a key result's progress reads its current value.
    Measure, "measure" {
        Increase => "INCREASE",
        Decrease => "DECREASE",
        MaintainAbove => "MAINTAIN_ABOVE",
        MaintainBelow => "MAINTAIN_BELOW",
        Milestone => "MILESTONE",
    }
);

impl Objective {
    /// The facts the policy decides on.
    pub fn goal(&self) -> crate::policy::GoalFacts {
        crate::policy::GoalFacts {
            owning_unit: self.owning_unit,
            owner_person: match self.owner {
                Owner::Person(p) => Some(p),
                Owner::Unit(_) => None,
            },
            visibility: self.visibility,
        }
    }
}

impl ObjectiveStatus {
    /// DRAFT → ACTIVE → COMPLETED; DRAFT or ACTIVE → CANCELLED (with a reason).
    pub fn check_transition(self, to: ObjectiveStatus) -> DomainResult<()> {
        use ObjectiveStatus::*;
        let ok = matches!((self, to), (Draft, Active) | (Active, Completed) | (Draft | Active, Cancelled));
        if ok {
            Ok(())
        } else {
            Err(DomainError::invalid(
                "status",
                format!("an objective cannot go from {} to {}", self.as_str(), to.as_str()),
            ))
        }
    }

    /// Key results and check-ins of a finished objective are frozen.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Draft | Self::Active)
    }
}

/// Exactly one owner: a unit or a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    Unit(UnitId),
    Person(PersonId),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    pub id: ObjectiveId,
    pub organization_id: OrganizationId,
    pub period_id: PeriodId,
    pub owner: Owner,
    /// The owning unit, or the owning person's unit (kept in step when
    /// they move): what visibility and line management are decided on.
    pub owning_unit: UnitId,
    pub parent_id: Option<ObjectiveId>,
    pub title: String,
    pub description: Option<String>,
    pub kind: ObjectiveKind,
    pub visibility: Visibility,
    /// Set explicitly, or `None` for the default (by whether it has key results).
    pub progress_driver: Option<ProgressDriver>,
    pub status: ObjectiveStatus,
    pub cancel_reason: Option<String>,
    /// The stored rollup; always equal to a full recomputation.
    pub progress: f64,
    /// Frozen when the period closes.
    pub score: Option<f64>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyResult {
    pub id: KeyResultId,
    pub organization_id: OrganizationId,
    pub objective_id: ObjectiveId,
    pub owner_id: PersonId,
    pub title: String,
    pub measure: Measure,
    pub start: f64,
    pub target: f64,
    pub current: f64,
    pub unit_label: String,
    pub weight: f64,
    /// The latest check-in's confidence.
    pub confidence: Option<f64>,
    pub last_check_in_at: Option<DateTime<Utc>>,
    /// The stored progress (a pure function of measure, start, target, current).
    pub progress: f64,
    /// Frozen when the period closes.
    pub score: Option<f64>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckIn {
    pub id: CheckInId,
    pub organization_id: OrganizationId,
    pub key_result_id: KeyResultId,
    pub value: f64,
    pub confidence: Option<f64>,
    pub note: Option<String>,
    pub author_id: Option<PersonId>,
    pub created_at: DateTime<Utc>,
}

/// A key result's measure with its numbers, checked together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasureSpec {
    pub measure: Measure,
    pub start: f64,
    pub target: f64,
}

impl MeasureSpec {
    /// INCREASE needs target > start, DECREASE target < start; numbers finite.
    pub fn parse(measure: Measure, start: f64, target: f64) -> DomainResult<Self> {
        let start = finite("start", start)?;
        let target = finite("target", target)?;
        match measure {
            Measure::Increase if target <= start => {
                Err(DomainError::invalid("target", "an INCREASE key result needs a target above its start"))
            }
            Measure::Decrease if target >= start => {
                Err(DomainError::invalid("target", "a DECREASE key result needs a target below its start"))
            }
            _ => Ok(Self { measure, start, target }),
        }
    }
}

/// A key result's weight: finite and above zero.
pub fn weight(raw: f64) -> DomainResult<f64> {
    let w = finite("weight", raw)?;
    if w > 0.0 { Ok(w) } else { Err(DomainError::invalid("weight", "must be above 0")) }
}

/// A check-in's confidence: from 0 to 1.
pub fn confidence(raw: f64) -> DomainResult<f64> {
    let c = finite("confidence", raw)?;
    if (0.0..=1.0).contains(&c) {
        Ok(c)
    } else {
        Err(DomainError::invalid("confidence", "must be from 0 to 1"))
    }
}

/// A cancellation needs a reason (the seeds' "kill it mid-quarter", said why).
pub fn cancel_reason(raw: Option<&str>) -> DomainResult<String> {
    match raw.map(str::trim) {
        Some(r) if !r.is_empty() && r.chars().count() <= 2000 => Ok(r.to_owned()),
        Some(r) if !r.is_empty() => Err(DomainError::invalid("reason", "must be at most 2000 characters")),
        _ => Err(DomainError::invalid("reason", "cancelling an objective needs a reason")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objective_status_transitions() {
        use ObjectiveStatus::*;
        let allowed = [(Draft, Active), (Active, Completed), (Draft, Cancelled), (Active, Cancelled)];
        for from in ObjectiveStatus::ALL {
            for to in ObjectiveStatus::ALL {
                let expected = allowed.contains(&(*from, *to));
                assert_eq!(from.check_transition(*to).is_ok(), expected, "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn measures_check_their_direction() {
        assert!(MeasureSpec::parse(Measure::Increase, 0.0, 10.0).is_ok());
        assert!(MeasureSpec::parse(Measure::Increase, 10.0, 10.0).is_err());
        assert!(MeasureSpec::parse(Measure::Increase, 10.0, 5.0).is_err());
        assert!(MeasureSpec::parse(Measure::Decrease, 10.0, 5.0).is_ok());
        assert!(MeasureSpec::parse(Measure::Decrease, 5.0, 10.0).is_err());
        assert!(MeasureSpec::parse(Measure::MaintainAbove, 5.0, 5.0).is_ok());
        assert!(MeasureSpec::parse(Measure::Milestone, 0.0, 1.0).is_ok());
        for bad in [f64::NAN, f64::INFINITY] {
            assert!(MeasureSpec::parse(Measure::MaintainBelow, bad, 1.0).is_err());
            assert!(MeasureSpec::parse(Measure::MaintainBelow, 1.0, bad).is_err());
        }
    }

    #[test]
    fn weights_confidences_and_reasons() {
        assert!(weight(1.0).is_ok());
        assert!(weight(0.0).is_err());
        assert!(weight(-1.0).is_err());
        assert!(weight(f64::NAN).is_err());
        assert!(confidence(0.0).is_ok() && confidence(1.0).is_ok());
        assert!(confidence(1.01).is_err() && confidence(-0.01).is_err() && confidence(f64::NAN).is_err());
        assert!(cancel_reason(Some("market moved")).is_ok());
        assert!(cancel_reason(Some("   ")).is_err());
        assert!(cancel_reason(None).is_err());
    }

    #[test]
    fn enums_round_trip_as_text() {
        for m in Measure::ALL {
            assert_eq!(m.as_str().parse::<Measure>(), Ok(*m));
        }
        assert!("SIDEWAYS".parse::<Measure>().is_err());
    }
}
