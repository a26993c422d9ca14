//! The report builder's vocabulary: measures, dimensions and filters over
//! a tenant's objectives, key results and KPIs, and the rules a report
//! definition must follow. The store computes reports in the database;
//! this module only says what a valid definition is and what each number
//! means.
//!
//! Measures come in two families. OKR measures count objectives and their
//! key results and check-ins; they group by any of PERIOD, UNIT, OWNER,
//! LEVEL, STATUS, HEALTH and KIND, always by the objective's values (a key
//! result's measures sit in its objective's row). KPI measures count KPIs
//! in use (not archived); they group by UNIT, OWNER, KPI_CATEGORY and
//! KPI_STATUS. One report may mix both families when it groups only by
//! dimensions both have (UNIT, OWNER).

use crate::error::{DomainError, DomainResult};
use crate::formulas::Health;
use crate::kpi::{KpiCategory, KpiStatus};
use crate::okr::{ObjectiveKind, ObjectiveStatus};
use crate::text_enum::string_enum;
use crate::{OrganizationId, PeriodId, PersonId, SavedReportId, UnitId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

string_enum!(
    /// What a report counts or averages.
    ReportMeasure, "measures" {
        ObjectiveCount => "OBJECTIVE_COUNT",
        AverageProgress => "AVERAGE_PROGRESS",
        AverageScore => "AVERAGE_SCORE",
        ShareOnTrack => "SHARE_ON_TRACK",
        ShareAtRisk => "SHARE_AT_RISK",
        ShareOffTrack => "SHARE_OFF_TRACK",
        KeyResultCount => "KEY_RESULT_COUNT",
        ShareStaleKeyResults => "SHARE_STALE_KEY_RESULTS",
        CheckInsPerKeyResult => "CHECK_INS_PER_KEY_RESULT",
        KpiCount => "KPI_COUNT",
        KpiShareHealthy => "KPI_SHARE_HEALTHY",
        KpiShareAtRisk => "KPI_SHARE_AT_RISK",
        KpiShareBreached => "KPI_SHARE_BREACHED",
        KpiDaysInBreach => "KPI_DAYS_IN_BREACH",
    }
);

string_enum!(
    /// What a report's rows are grouped by.
    ReportDimension, "dimensions" {
        Period => "PERIOD",
        Unit => "UNIT",
        Owner => "OWNER",
        Level => "LEVEL",
        Status => "STATUS",
        Health => "HEALTH",
        Kind => "KIND",
        KpiCategory => "KPI_CATEGORY",
        KpiStatus => "KPI_STATUS",
    }
);

string_enum!(
    /// Where an objective sits: owned by the company unit, by another unit,
    /// or by a person.
    ObjectiveLevel, "level" { Company => "COMPANY", Unit => "UNIT", Person => "PERSON" }
);

/// The two kinds of facts a report reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Okr,
    Kpi,
}

impl ReportMeasure {
    pub fn family(self) -> Family {
        match self {
            Self::KpiCount
            | Self::KpiShareHealthy
            | Self::KpiShareAtRisk
            | Self::KpiShareBreached
            | Self::KpiDaysInBreach => Family::Kpi,
            _ => Family::Okr,
        }
    }

    /// Counts are 0 (not absent) in a row where nothing was counted.
    pub fn is_count(self) -> bool {
        matches!(self, Self::ObjectiveCount | Self::KeyResultCount | Self::KpiCount)
    }
}

impl ReportDimension {
    pub fn applies_to(self, family: Family) -> bool {
        match self {
            Self::Unit | Self::Owner => true,
            Self::Period | Self::Level | Self::Status | Self::Health | Self::Kind => family == Family::Okr,
            Self::KpiCategory | Self::KpiStatus => family == Family::Kpi,
        }
    }
}

/// Narrows the facts a report reads. Empty lists do not narrow. Period,
/// level, status and kind narrow the OKR facts; categories the KPI facts;
/// unit (its whole subtree) and owner narrow both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReportFilter {
    pub period_ids: Vec<PeriodId>,
    pub unit_id: Option<UnitId>,
    pub owner_person_id: Option<PersonId>,
    pub levels: Vec<ObjectiveLevel>,
    pub statuses: Vec<ObjectiveStatus>,
    pub kinds: Vec<ObjectiveKind>,
    pub categories: Vec<KpiCategory>,
}

/// A report definition: what to measure, how to group it, over what.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReportSpec {
    pub measures: Vec<ReportMeasure>,
    pub dimensions: Vec<ReportDimension>,
    pub filter: ReportFilter,
    /// With the UNIT dimension: one row per child of the filter's unit (the
    /// company when none), each folding its whole subtree; what the unit
    /// owns itself stays in its own row.
    pub roll_up: bool,
}

pub const MAX_MEASURES: usize = 14;
pub const MAX_DIMENSIONS: usize = 4;

fn no_repeats<T: PartialEq + Copy>(
    items: &[T],
    field: &str,
    name: impl Fn(T) -> &'static str,
) -> DomainResult<()> {
    for (i, a) in items.iter().enumerate() {
        if items[..i].contains(a) {
            return Err(DomainError::invalid(field, format!("{} is given twice", name(*a))));
        }
    }
    Ok(())
}

impl ReportSpec {
    /// The families the measures read.
    pub fn families(&self) -> Vec<Family> {
        let mut out = Vec::new();
        for m in &self.measures {
            if !out.contains(&m.family()) {
                out.push(m.family());
            }
        }
        out
    }

    pub fn validate(&self) -> DomainResult<()> {
        if self.measures.is_empty() {
            return Err(DomainError::invalid("measures", "name at least one measure"));
        }
        if self.measures.len() > MAX_MEASURES {
            return Err(DomainError::invalid("measures", format!("at most {MAX_MEASURES} measures")));
        }
        if self.dimensions.len() > MAX_DIMENSIONS {
            return Err(DomainError::invalid("dimensions", format!("at most {MAX_DIMENSIONS} dimensions")));
        }
        no_repeats(&self.measures, "measures", ReportMeasure::as_str)?;
        no_repeats(&self.dimensions, "dimensions", ReportDimension::as_str)?;
        for d in &self.dimensions {
            for m in &self.measures {
                if !d.applies_to(m.family()) {
                    return Err(DomainError::invalid(
                        "dimensions",
                        format!("{} does not apply to the measure {}", d.as_str(), m.as_str()),
                    ));
                }
            }
        }
        if self.roll_up && !self.dimensions.contains(&ReportDimension::Unit) {
            return Err(DomainError::invalid("rollUp", "rolls up the UNIT dimension, which is not given"));
        }
        Ok(())
    }
}

/// A report definition kept under a name by the person who owns it, for
/// themselves or (`shared`) for everyone in the tenant. Running it always
/// counts what the reader may see, never what the owner may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedReport {
    pub id: SavedReportId,
    pub organization_id: OrganizationId,
    pub owner_id: PersonId,
    pub name: String,
    pub spec: ReportSpec,
    pub shared: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One dimension value of a row. `Absent` is the empty value: no owner
/// person (a unit's objective), no health (an objective without inputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DimensionValue {
    Absent,
    Period(PeriodId),
    Unit(UnitId),
    Person(PersonId),
    Level(ObjectiveLevel),
    Status(ObjectiveStatus),
    Health(Health),
    Kind(ObjectiveKind),
    Category(KpiCategory),
    KpiStatus(KpiStatus),
}

/// A row: one value per dimension, one per measure (absent where the
/// measure is undefined, e.g. an average of nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub dimensions: Vec<DimensionValue>,
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub rows: Vec<ReportRow>,
    /// The measures over everything the report counts (not a sum of rows:
    /// an average of averages would be wrong).
    pub totals: Vec<Option<f64>>,
}

/// The raw sums of the OKR facts of one row, from which its measures are
/// derived.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OkrSums {
    pub objectives: u64,
    pub progress_sum: f64,
    pub scored: u64,
    pub score_sum: f64,
    /// Objectives with a health (with inputs), and how many of each.
    pub with_health: u64,
    pub on_track: u64,
    pub at_risk: u64,
    pub off_track: u64,
    pub key_results: u64,
    pub stale_key_results: u64,
    pub check_ins: u64,
}

/// The raw sums of the KPI facts of one row.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KpiSums {
    pub kpis: u64,
    pub healthy: u64,
    pub at_risk: u64,
    pub breached: u64,
    /// KPIs out of their healthy range now, and the sum of the days since
    /// each one's `breachedSince`.
    pub out_of_range: u64,
    pub days_out_sum: f64,
}

/// The rows of a GROUP BY partition the facts, so the sums of all of them
/// are the sums of the rows.
impl std::ops::AddAssign for OkrSums {
    fn add_assign(&mut self, o: Self) {
        self.objectives += o.objectives;
        self.progress_sum += o.progress_sum;
        self.scored += o.scored;
        self.score_sum += o.score_sum;
        self.with_health += o.with_health;
        self.on_track += o.on_track;
        self.at_risk += o.at_risk;
        self.off_track += o.off_track;
        self.key_results += o.key_results;
        self.stale_key_results += o.stale_key_results;
        self.check_ins += o.check_ins;
    }
}

impl std::ops::AddAssign for KpiSums {
    fn add_assign(&mut self, o: Self) {
        self.kpis += o.kpis;
        self.healthy += o.healthy;
        self.at_risk += o.at_risk;
        self.breached += o.breached;
        self.out_of_range += o.out_of_range;
        self.days_out_sum += o.days_out_sum;
    }
}

fn ratio(part: f64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part / whole as f64)
}

/// A measure's value from its family's sums. Shares of health divide by the
/// objectives that have a health; KPI shares by all KPIs counted (NO_DATA
/// and STALE ones included); days in breach average over the KPIs out of
/// range.
pub fn measure_value(measure: ReportMeasure, okr: &OkrSums, kpi: &KpiSums) -> Option<f64> {
    use ReportMeasure::*;
    match measure {
        ObjectiveCount => Some(okr.objectives as f64),
        AverageProgress => ratio(okr.progress_sum, okr.objectives),
        AverageScore => ratio(okr.score_sum, okr.scored),
        ShareOnTrack => ratio(okr.on_track as f64, okr.with_health),
        ShareAtRisk => ratio(okr.at_risk as f64, okr.with_health),
        ShareOffTrack => ratio(okr.off_track as f64, okr.with_health),
        KeyResultCount => Some(okr.key_results as f64),
        ShareStaleKeyResults => ratio(okr.stale_key_results as f64, okr.key_results),
        CheckInsPerKeyResult => ratio(okr.check_ins as f64, okr.key_results),
        KpiCount => Some(kpi.kpis as f64),
        KpiShareHealthy => ratio(kpi.healthy as f64, kpi.kpis),
        KpiShareAtRisk => ratio(kpi.at_risk as f64, kpi.kpis),
        KpiShareBreached => ratio(kpi.breached as f64, kpi.kpis),
        KpiDaysInBreach => ratio(kpi.days_out_sum, kpi.out_of_range),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(measures: &[ReportMeasure], dimensions: &[ReportDimension]) -> ReportSpec {
        ReportSpec { measures: measures.to_vec(), dimensions: dimensions.to_vec(), ..Default::default() }
    }

    #[test]
    fn definitions_are_checked_and_name_the_field() {
        use ReportDimension as D;
        use ReportMeasure as M;
        assert!(spec(&[M::ObjectiveCount, M::KpiCount], &[D::Unit, D::Owner]).validate().is_ok());
        let field = |s: ReportSpec| match s.validate() {
            Err(DomainError::Invalid { field, .. }) => Some(field),
            _ => None,
        };
        assert_eq!(field(spec(&[], &[])), Some("measures".into()));
        assert_eq!(field(spec(&[M::KpiCount], &[D::Period])), Some("dimensions".into()));
        assert_eq!(field(spec(&[M::ObjectiveCount], &[D::KpiCategory])), Some("dimensions".into()));
        assert_eq!(field(spec(&[M::ObjectiveCount, M::ObjectiveCount], &[])), Some("measures".into()));
        assert_eq!(field(spec(&[M::ObjectiveCount], &[D::Kind, D::Kind])), Some("dimensions".into()));
        let mut rolled = spec(&[M::ObjectiveCount], &[D::Period]);
        rolled.roll_up = true;
        assert_eq!(field(rolled.clone()), Some("rollUp".into()));
        rolled.dimensions.push(D::Unit);
        assert!(rolled.validate().is_ok());
    }

    #[test]
    fn measures_from_sums() {
        let okr = OkrSums {
            objectives: 4,
            progress_sum: 2.0,
            scored: 0,
            score_sum: 0.0,
            with_health: 3,
            on_track: 1,
            at_risk: 2,
            off_track: 0,
            key_results: 8,
            stale_key_results: 2,
            check_ins: 20,
        };
        let kpi =
            KpiSums { kpis: 5, healthy: 2, at_risk: 1, breached: 1, out_of_range: 2, days_out_sum: 30.0 };
        use ReportMeasure::*;
        let v = |m| measure_value(m, &okr, &kpi);
        assert_eq!(v(ObjectiveCount), Some(4.0));
        assert_eq!(v(AverageProgress), Some(0.5));
        assert_eq!(v(AverageScore), None, "nothing scored: no average");
        assert_eq!(v(ShareOnTrack), Some(1.0 / 3.0));
        assert_eq!(v(ShareAtRisk), Some(2.0 / 3.0));
        assert_eq!(v(ShareOffTrack), Some(0.0));
        assert_eq!(v(ShareStaleKeyResults), Some(0.25));
        assert_eq!(v(CheckInsPerKeyResult), Some(2.5));
        assert_eq!(v(KpiShareHealthy), Some(0.4));
        assert_eq!(v(KpiDaysInBreach), Some(15.0));
        let none = OkrSums::default();
        assert_eq!(measure_value(ObjectiveCount, &none, &kpi), Some(0.0));
        assert_eq!(measure_value(AverageProgress, &none, &kpi), None);
    }
}
