//! Organization settings: the thresholds of the product brief, each with its
//! default, and the organization's time zone.

use crate::error::{DomainError, DomainResult};
use crate::values::TimeZoneName;
use serde::{Deserialize, Serialize};

/// Stored as one JSON document per organization; a field missing from the
/// document (written by an older version) takes its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OrganizationSettings {
    /// IANA name; dates and buckets use it.
    pub time_zone: TimeZoneName,
    /// Health: ON_TRACK while `expected - progress` is at most this.
    pub on_track_max_gap: f64,
    /// Health: AT_RISK while the gap is at most this, OFF_TRACK beyond.
    pub at_risk_max_gap: f64,
    /// A latest confidence below this makes a key result at most AT_RISK.
    pub confidence_at_risk_below: f64,
    /// A latest confidence below this makes a key result OFF_TRACK.
    pub confidence_off_track_below: f64,
    /// A key result of an active objective with no check-in for this many days is stale.
    pub check_in_cadence_days: u32,
    /// More active objectives than this for one owner in a period is flagged ("3 to 5").
    pub max_objectives_per_owner: u32,
    /// More key results than this on one objective is flagged.
    pub max_key_results_per_objective: u32,
    /// More active KPIs than this in one unit is flagged ("5-7 core KPIs").
    pub max_kpis_per_unit: u32,
    /// A KPI out of its healthy range longer than this with no objective is flagged.
    pub kpi_breach_days_before_objective: u32,
    /// The largest `first` a connection accepts.
    pub max_page_size: u32,
}

impl Default for OrganizationSettings {
    fn default() -> Self {
        Self {
            time_zone: TimeZoneName::utc(),
            on_track_max_gap: 0.10,
            at_risk_max_gap: 0.25,
            confidence_at_risk_below: 0.5,
            confidence_off_track_below: 0.2,
            check_in_cadence_days: 7,
            max_objectives_per_owner: 5,
            max_key_results_per_objective: 5,
            max_kpis_per_unit: 7,
            kpi_breach_days_before_objective: 60,
            max_page_size: 1000,
        }
    }
}

/// A partial update; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct SettingsPatch {
    pub time_zone: Option<String>,
    pub on_track_max_gap: Option<f64>,
    pub at_risk_max_gap: Option<f64>,
    pub confidence_at_risk_below: Option<f64>,
    pub confidence_off_track_below: Option<f64>,
    pub check_in_cadence_days: Option<u32>,
    pub max_objectives_per_owner: Option<u32>,
    pub max_key_results_per_objective: Option<u32>,
    pub max_kpis_per_unit: Option<u32>,
    pub kpi_breach_days_before_objective: Option<u32>,
    pub max_page_size: Option<u32>,
}

/// The ceiling of `maxPageSize`: a page must stay a page.
pub const MAX_PAGE_SIZE_LIMIT: u32 = 10_000;

impl OrganizationSettings {
    /// Applies `patch` and checks the result as a whole, so that a pair of
    /// thresholds can never end up inverted.
    pub fn apply(&self, patch: SettingsPatch) -> DomainResult<Self> {
        let mut next = self.clone();
        if let Some(tz) = patch.time_zone {
            next.time_zone = TimeZoneName::parse("timeZone", &tz)?;
        }
        macro_rules! take {
            ($($f:ident),*) => {$( if let Some(v) = patch.$f { next.$f = v; } )*};
        }
        take!(
            on_track_max_gap,
            at_risk_max_gap,
            confidence_at_risk_below,
            confidence_off_track_below,
            check_in_cadence_days,
            max_objectives_per_owner,
            max_key_results_per_objective,
            max_kpis_per_unit,
            kpi_breach_days_before_objective,
            max_page_size
        );
        next.validate()?;
        Ok(next)
    }

    pub fn validate(&self) -> DomainResult<()> {
        let fraction = |field: &str, v: f64| {
            if v.is_finite() && (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(DomainError::invalid(field, "must be a number from 0 to 1"))
            }
        };
        fraction("onTrackMaxGap", self.on_track_max_gap)?;
        fraction("atRiskMaxGap", self.at_risk_max_gap)?;
        fraction("confidenceAtRiskBelow", self.confidence_at_risk_below)?;
        fraction("confidenceOffTrackBelow", self.confidence_off_track_below)?;
        if self.on_track_max_gap > self.at_risk_max_gap {
            return Err(DomainError::invalid("atRiskMaxGap", "must be at least onTrackMaxGap"));
        }
        if self.confidence_off_track_below > self.confidence_at_risk_below {
            return Err(DomainError::invalid(
                "confidenceAtRiskBelow",
                "must be at least confidenceOffTrackBelow",
            ));
        }
        let positive = |field: &str, v: u32| {
            if v >= 1 { Ok(()) } else { Err(DomainError::invalid(field, "must be at least 1")) }
        };
        positive("checkInCadenceDays", self.check_in_cadence_days)?;
        positive("maxObjectivesPerOwner", self.max_objectives_per_owner)?;
        positive("maxKeyResultsPerObjective", self.max_key_results_per_objective)?;
        positive("maxKpisPerUnit", self.max_kpis_per_unit)?;
        positive("kpiBreachDaysBeforeObjective", self.kpi_breach_days_before_objective)?;
        positive("maxPageSize", self.max_page_size)?;
        if self.max_page_size > MAX_PAGE_SIZE_LIMIT {
            return Err(DomainError::invalid(
                "maxPageSize",
                format!("must be at most {MAX_PAGE_SIZE_LIMIT}"),
            ));
        }
        Ok(())
    }

    /// Reads a stored document, falling back to defaults for missing fields.
    pub fn from_json(raw: &str) -> DomainResult<Self> {
        let parsed: Self = serde_json::from_str(raw)
            .map_err(|e| DomainError::invalid("settings", format!("unreadable settings: {e}")))?;
        parsed.validate()?;
        Ok(parsed)
    }

    pub fn to_json(&self) -> String {
        // Serialising plain numbers and strings cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_product_brief() {
        let s = OrganizationSettings::default();
        assert_eq!((s.on_track_max_gap, s.at_risk_max_gap), (0.10, 0.25));
        assert_eq!((s.confidence_at_risk_below, s.confidence_off_track_below), (0.5, 0.2));
        assert_eq!(s.check_in_cadence_days, 7);
        assert_eq!(s.max_objectives_per_owner, 5);
        assert_eq!(s.max_key_results_per_objective, 5);
        assert_eq!(s.max_kpis_per_unit, 7);
        assert_eq!(s.kpi_breach_days_before_objective, 60);
        assert_eq!(s.max_page_size, 1000);
        assert_eq!(s.time_zone.as_str(), "UTC");
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn a_partial_document_takes_defaults() {
        let s = OrganizationSettings::from_json(r#"{"timeZone":"Europe/Berlin","maxPageSize":50}"#);
        let s = s.ok();
        assert_eq!(s.as_ref().map(|s| s.time_zone.as_str()), Some("Europe/Berlin"));
        assert_eq!(s.as_ref().map(|s| s.max_page_size), Some(50));
        assert_eq!(s.map(|s| s.check_in_cadence_days), Some(7));
        assert!(OrganizationSettings::from_json(r#"{"timeZone":"Nowhere/City"}"#).is_err());
    }

    #[test]
    fn patches_are_checked_as_a_whole() {
        let base = OrganizationSettings::default();
        let inverted = base.apply(SettingsPatch { on_track_max_gap: Some(0.3), ..Default::default() });
        assert!(matches!(inverted, Err(DomainError::Invalid { field, .. }) if field == "atRiskMaxGap"));
        let ok = base.apply(SettingsPatch {
            on_track_max_gap: Some(0.2),
            at_risk_max_gap: Some(0.3),
            ..Default::default()
        });
        assert_eq!(ok.map(|s| s.on_track_max_gap), Ok(0.2));
        assert!(base.apply(SettingsPatch { max_page_size: Some(0), ..Default::default() }).is_err());
        assert!(
            base.apply(SettingsPatch { max_page_size: Some(MAX_PAGE_SIZE_LIMIT + 1), ..Default::default() })
                .is_err()
        );
        assert!(
            base.apply(SettingsPatch { on_track_max_gap: Some(f64::NAN), ..Default::default() }).is_err()
        );
        assert!(
            base.apply(SettingsPatch { time_zone: Some("Asia/Tokyo".into()), ..Default::default() }).is_ok()
        );
    }
}
