//! The numbers the API computes, as pure functions of stored facts (the
//! product brief's table "Numbers the API computes"). Tested against
//! hand-computed cases; nothing here touches a database.

use crate::ObjectiveId;
use crate::okr::{Measure, ObjectiveKind, ProgressDriver};
use crate::settings::OrganizationSettings;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// ON_TRACK < AT_RISK < OFF_TRACK: the order is "how bad".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Health {
    OnTrack,
    AtRisk,
    OffTrack,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Grade {
    Red,
    Yellow,
    Green,
}

fn clamp01(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

/// A key result's progress, clamped to [0, 1]. Without a check-in the
/// caller passes `current = start`.
pub fn key_result_progress(measure: Measure, start: f64, target: f64, current: f64) -> f64 {
    match measure {
        Measure::Increase | Measure::Decrease => {
            let span = target - start;
            if span == 0.0 {
                // A zero-width range (only reachable through data written
                // outside the API): reached or not.
                let reached = match measure {
                    Measure::Increase => current >= target,
                    _ => current <= target,
                };
                return if reached { 1.0 } else { 0.0 };
            }
            clamp01((current - start) / span)
        }
        Measure::MaintainAbove => f64::from(u8::from(current >= target)),
        Measure::MaintainBelow => f64::from(u8::from(current <= target)),
        Measure::Milestone => f64::from(u8::from(current >= 1.0)),
    }
}

/// The instants a period spans: its first day's midnight to the midnight
/// after its (inclusive) last day, in the organization's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeriodWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl PeriodWindow {
    pub fn new(start_date: NaiveDate, end_date: NaiveDate, tz: chrono_tz::Tz) -> Self {
        let midnight = |d: NaiveDate| {
            let local = d.and_hms_opt(0, 0, 0).unwrap_or_default();
            // A midnight skipped by a DST change falls back to the earliest
            // valid instant after it.
            tz.from_local_datetime(&local)
                .earliest()
                .or_else(|| tz.from_local_datetime(&(local + chrono::Duration::hours(1))).earliest())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&local))
        };
        let after_end = end_date.succ_opt().unwrap_or(end_date);
        Self { start: midnight(start_date), end: midnight(after_end) }
    }

    /// The elapsed fraction, clamped to [0, 1].
    pub fn elapsed(&self, now: DateTime<Utc>) -> f64 {
        let total = (self.end - self.start).num_milliseconds() as f64;
        if total <= 0.0 {
            return 1.0;
        }
        clamp01((now - self.start).num_milliseconds() as f64 / total)
    }

    pub fn has_ended(&self, now: DateTime<Utc>) -> bool {
        now >= self.end
    }
}

/// Where a key result should be by now.
pub fn key_result_expected(measure: Measure, window: &PeriodWindow, now: DateTime<Utc>) -> f64 {
    match measure {
        Measure::Increase | Measure::Decrease => window.elapsed(now),
        Measure::MaintainAbove | Measure::MaintainBelow => 1.0,
        Measure::Milestone => f64::from(u8::from(window.has_ended(now))),
    }
}

/// A key result's health: the gap between expected and actual progress,
/// lowered by the latest confidence.
pub fn key_result_health(
    measure: Measure,
    progress: f64,
    expected: f64,
    confidence: Option<f64>,
    period_ended: bool,
    settings: &OrganizationSettings,
) -> Health {
    let by_progress = match measure {
        Measure::Milestone if !period_ended => Health::OnTrack,
        Measure::Milestone => {
            if progress >= 1.0 {
                Health::OnTrack
            } else {
                Health::OffTrack
            }
        }
        _ => {
            let gap = expected - progress;
            // A small epsilon keeps 0.35 - 0.25 from landing beyond 0.10.
            if gap <= settings.on_track_max_gap + 1e-9 {
                Health::OnTrack
            } else if gap <= settings.at_risk_max_gap + 1e-9 {
                Health::AtRisk
            } else {
                Health::OffTrack
            }
        }
    };
    match confidence {
        Some(c) if c < settings.confidence_off_track_below => Health::OffTrack,
        Some(c) if c < settings.confidence_at_risk_below => by_progress.max(Health::AtRisk),
        _ => by_progress,
    }
}

/// The driver in force: the explicit one, else KEY_RESULTS when the
/// objective has key results and ALIGNED_OBJECTIVES when it has none.
pub fn effective_driver(explicit: Option<ProgressDriver>, has_key_results: bool) -> ProgressDriver {
    explicit.unwrap_or(if has_key_results {
        ProgressDriver::KeyResults
    } else {
        ProgressDriver::AlignedObjectives
    })
}

/// One input of an objective's rollup.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RollupInput {
    pub value: f64,
    pub weight: f64,
}

/// Which inputs an objective's numbers are made of, by its driver: its key
/// results (with their weights) and/or its aligned children (weight 1 each).
pub fn rollup_inputs(
    driver: ProgressDriver,
    key_results: impl IntoIterator<Item = RollupInput>,
    children: impl IntoIterator<Item = f64>,
) -> Vec<RollupInput> {
    let mut inputs = Vec::new();
    if matches!(driver, ProgressDriver::KeyResults | ProgressDriver::Both) {
        inputs.extend(key_results);
    }
    if matches!(driver, ProgressDriver::AlignedObjectives | ProgressDriver::Both) {
        inputs.extend(children.into_iter().map(|value| RollupInput { value, weight: 1.0 }));
    }
    inputs
}

/// The weighted average of the inputs; 0 when there are none. Used for
/// progress, expected progress and scores alike.
pub fn weighted_average(inputs: &[RollupInput]) -> f64 {
    let total: f64 = inputs.iter().map(|i| i.weight).sum();
    if inputs.is_empty() || total <= 0.0 {
        return 0.0;
    }
    clamp01(inputs.iter().map(|i| i.value * i.weight).sum::<f64>() / total)
}

/// An objective's health: the worst of its inputs' ("the weakest key
/// result"); none when it has no inputs.
pub fn worst(healths: impl IntoIterator<Item = Health>) -> Option<Health> {
    healths.into_iter().max()
}

/// The lowest YELLOW score (below it: RED).
pub const YELLOW_FROM: f64 = 0.4;
/// The lowest GREEN score.
pub const GREEN_FROM: f64 = 0.7;

/// Half-open bands: below 0.4 RED, below 0.7 YELLOW, else GREEN.
pub fn grade(score: f64) -> Grade {
    if score < YELLOW_FROM {
        Grade::Red
    } else if score < GREEN_FROM {
        Grade::Yellow
    } else {
        Grade::Green
    }
}

/// COMMITTED succeeds only at 1.0; ASPIRATIONAL at 0.7 (a stretch goal at
/// 70 % is a success: the seeds' "100 % fallacy").
pub fn success(kind: ObjectiveKind, score: f64) -> bool {
    score >= success_from(kind)
}

/// The lowest score that counts as a success for `kind` (a hair below the
/// nominal 1.0 and 0.7, so that sums of weights like 0.1 + 0.2 still reach).
pub fn success_from(kind: ObjectiveKind) -> f64 {
    match kind {
        ObjectiveKind::Committed => 1.0 - 1e-9,
        ObjectiveKind::Aspirational => 0.7 - 1e-9,
    }
}

/// A key result as the tree evaluation needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeKeyResult {
    pub measure: Measure,
    pub progress: f64,
    pub weight: f64,
    pub confidence: Option<f64>,
}

/// An objective as the tree evaluation needs it: its driver, its period,
/// its key results and its (not cancelled) children.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeGoal {
    pub driver: Option<ProgressDriver>,
    pub window: PeriodWindow,
    pub key_results: Vec<TreeKeyResult>,
    pub children: Vec<ObjectiveId>,
}

/// The computed numbers of a key result or an objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Numbers {
    pub progress: f64,
    pub expected: f64,
    /// None for an objective without inputs.
    pub health: Option<Health>,
}

/// A key result's numbers in its period at `now`.
pub fn key_result_numbers(
    kr: &TreeKeyResult,
    window: &PeriodWindow,
    now: DateTime<Utc>,
    settings: &OrganizationSettings,
) -> Numbers {
    let expected = key_result_expected(kr.measure, window, now);
    let health =
        key_result_health(kr.measure, kr.progress, expected, kr.confidence, window.has_ended(now), settings);
    Numbers { progress: kr.progress, expected, health: Some(health) }
}

/// An objective's numbers, computed bottom-up through its subtree: progress
/// and expected progress as the driver's weighted average of its inputs,
/// health as the worst of theirs. Children missing from `goals` are left
/// out; `memo` keeps each objective's numbers for its ancestors.
pub fn goal_numbers(
    goals: &HashMap<ObjectiveId, TreeGoal>,
    id: ObjectiveId,
    now: DateTime<Utc>,
    settings: &OrganizationSettings,
    memo: &mut HashMap<ObjectiveId, Numbers>,
) -> Option<Numbers> {
    goal_numbers_at(goals, id, now, settings, memo, 0)
}

fn goal_numbers_at(
    goals: &HashMap<ObjectiveId, TreeGoal>,
    id: ObjectiveId,
    now: DateTime<Utc>,
    settings: &OrganizationSettings,
    memo: &mut HashMap<ObjectiveId, Numbers>,
    depth: usize,
) -> Option<Numbers> {
    if let Some(n) = memo.get(&id) {
        return Some(*n);
    }
    // A cycle cannot be stored through the API; stop rather than recurse forever.
    if depth > 10_000 {
        return None;
    }
    let goal = goals.get(&id)?;
    let driver = effective_driver(goal.driver, !goal.key_results.is_empty());
    let krs: Vec<(Numbers, f64)> = if matches!(driver, ProgressDriver::KeyResults | ProgressDriver::Both) {
        goal.key_results
            .iter()
            .map(|k| (key_result_numbers(k, &goal.window, now, settings), k.weight))
            .collect()
    } else {
        vec![]
    };
    let children: Vec<(Numbers, f64)> =
        if matches!(driver, ProgressDriver::AlignedObjectives | ProgressDriver::Both) {
            goal.children
                .iter()
                .filter_map(|c| goal_numbers_at(goals, *c, now, settings, memo, depth + 1))
                .map(|n| (n, 1.0))
                .collect()
        } else {
            vec![]
        };
    let inputs: Vec<(Numbers, f64)> = krs.into_iter().chain(children).collect();
    let avg = |f: fn(&Numbers) -> f64| {
        weighted_average(
            &inputs.iter().map(|(n, w)| RollupInput { value: f(n), weight: *w }).collect::<Vec<_>>(),
        )
    };
    let numbers = Numbers {
        progress: avg(|n| n.progress),
        expected: avg(|n| n.expected),
        health: worst(inputs.iter().filter_map(|(n, _)| n.health)),
    };
    memo.insert(id, numbers);
    Some(numbers)
}

/// A key result of an ACTIVE objective is stale when no check-in came
/// within the cadence; before its first check-in the clock starts at
/// `since` (its creation, or its period's start if later).
pub fn is_stale(
    objective_active: bool,
    last_check_in: Option<DateTime<Utc>>,
    since: DateTime<Utc>,
    cadence_days: u32,
    now: DateTime<Utc>,
) -> bool {
    objective_active && now - last_check_in.unwrap_or(since) > chrono::Duration::days(i64::from(cadence_days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Measure::*;

    #[test]
    fn key_result_progress_table() {
        // (measure, start, target, current, expected progress)
        let cases = [
            (Increase, 0.0, 100.0, 0.0, 0.0),
            (Increase, 0.0, 100.0, 25.0, 0.25),
            (Increase, 0.0, 100.0, 100.0, 1.0),
            (Increase, 0.0, 100.0, 150.0, 1.0),  // clamped above
            (Increase, 0.0, 100.0, -10.0, 0.0),  // clamped below
            (Increase, 50.0, 150.0, 75.0, 0.25), // offset start
            (Decrease, 100.0, 50.0, 75.0, 0.5),
            (Decrease, 100.0, 50.0, 40.0, 1.0),
            (Decrease, 100.0, 50.0, 120.0, 0.0),
            (Increase, 10.0, 10.0, 10.0, 1.0), // zero width, reached
            (Increase, 10.0, 10.0, 9.0, 0.0),  // zero width, not reached
            (Decrease, 10.0, 10.0, 10.0, 1.0),
            (Decrease, 10.0, 10.0, 11.0, 0.0),
            (MaintainAbove, 0.0, 95.0, 95.0, 1.0),
            (MaintainAbove, 0.0, 95.0, 94.9, 0.0),
            (MaintainBelow, 0.0, 2.0, 2.0, 1.0),
            (MaintainBelow, 0.0, 2.0, 2.1, 0.0),
            (Milestone, 0.0, 1.0, 0.0, 0.0),
            (Milestone, 0.0, 1.0, 0.99, 0.0),
            (Milestone, 0.0, 1.0, 1.0, 1.0),
        ];
        for (m, s, t, c, want) in cases {
            let got = key_result_progress(m, s, t, c);
            assert!((got - want).abs() < 1e-12, "{m:?} {s}->{t} at {c}: got {got}, want {want}");
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn period_windows_use_the_time_zone_and_an_inclusive_end() {
        // April (30 days) in UTC: 2026-04-01T00:00Z to 2026-05-01T00:00Z.
        let w = PeriodWindow::new(d(2026, 4, 1), d(2026, 4, 30), chrono_tz::UTC);
        assert_eq!(w.start, at("2026-04-01T00:00:00Z"));
        assert_eq!(w.end, at("2026-05-01T00:00:00Z"));
        assert_eq!(w.elapsed(at("2026-03-15T00:00:00Z")), 0.0);
        assert!((w.elapsed(at("2026-04-16T00:00:00Z")) - 0.5).abs() < 1e-12);
        assert_eq!(w.elapsed(at("2026-06-01T00:00:00Z")), 1.0);
        // Berlin is UTC+2 in April: the period starts at 22:00Z the day before.
        let b = PeriodWindow::new(d(2026, 4, 1), d(2026, 4, 30), chrono_tz::Europe::Berlin);
        assert_eq!(b.start, at("2026-03-31T22:00:00Z"));
        assert_eq!(b.end, at("2026-04-30T22:00:00Z"));
    }

    #[test]
    fn expected_progress_by_measure() {
        let w = PeriodWindow::new(d(2026, 4, 1), d(2026, 4, 30), chrono_tz::UTC);
        let mid = at("2026-04-16T00:00:00Z");
        let after = at("2026-05-01T00:00:00Z");
        assert!((key_result_expected(Increase, &w, mid) - 0.5).abs() < 1e-12);
        assert!((key_result_expected(Decrease, &w, mid) - 0.5).abs() < 1e-12);
        assert_eq!(key_result_expected(MaintainAbove, &w, mid), 1.0);
        assert_eq!(key_result_expected(MaintainBelow, &w, mid), 1.0);
        assert_eq!(key_result_expected(Milestone, &w, mid), 0.0);
        assert_eq!(key_result_expected(Milestone, &w, after), 1.0);
    }

    #[test]
    fn key_result_health_table() {
        use Health::*;
        let s = OrganizationSettings::default();
        // (measure, progress, expected, confidence, ended, health)
        let cases = [
            (Increase, 0.5, 0.5, None, false, OnTrack),
            (Increase, 0.4, 0.5, None, false, OnTrack), // gap 0.10: the edge is ON_TRACK
            (Increase, 0.39, 0.5, None, false, AtRisk), // gap 0.11
            (Increase, 0.25, 0.5, None, false, AtRisk), // gap 0.25: the edge is AT_RISK
            (Increase, 0.24, 0.5, None, false, OffTrack), // gap 0.26
            (Increase, 0.9, 0.5, None, false, OnTrack), // ahead
            (Increase, 0.9, 0.5, Some(0.49), false, AtRisk), // confidence below 0.5: at most AT_RISK
            (Increase, 0.9, 0.5, Some(0.5), false, OnTrack), // 0.5 itself does not lower
            (Increase, 0.9, 0.5, Some(0.19), false, OffTrack), // below 0.2: OFF_TRACK
            (Increase, 0.9, 0.5, Some(0.2), false, AtRisk),
            (Increase, 0.0, 0.5, Some(0.4), false, OffTrack), // already worse than AT_RISK stays
            (MaintainAbove, 1.0, 1.0, None, false, OnTrack),
            (MaintainAbove, 0.0, 1.0, None, false, OffTrack),
            (Milestone, 0.0, 0.0, None, false, OnTrack), // before the end
            (Milestone, 0.0, 0.0, Some(0.3), false, AtRisk), // unless confidence lowers it
            (Milestone, 0.0, 0.0, Some(0.1), false, OffTrack),
            (Milestone, 0.0, 1.0, None, true, OffTrack), // after the end, not done
            (Milestone, 1.0, 1.0, None, true, OnTrack),  // after the end, done
        ];
        for (m, p, e, c, ended, want) in cases {
            assert_eq!(
                key_result_health(m, p, e, c, ended, &s),
                want,
                "{m:?} p={p} e={e} c={c:?} ended={ended}"
            );
        }
    }

    #[test]
    fn health_thresholds_come_from_settings() {
        let s = OrganizationSettings { on_track_max_gap: 0.2, at_risk_max_gap: 0.4, ..Default::default() };
        assert_eq!(key_result_health(Increase, 0.35, 0.5, None, false, &s), Health::OnTrack);
        assert_eq!(key_result_health(Increase, 0.15, 0.5, None, false, &s), Health::AtRisk);
        assert_eq!(key_result_health(Increase, 0.05, 0.5, None, false, &s), Health::OffTrack);
    }

    #[test]
    fn drivers_and_rollups() {
        use ProgressDriver::*;
        assert_eq!(effective_driver(None, true), KeyResults);
        assert_eq!(effective_driver(None, false), AlignedObjectives);
        assert_eq!(effective_driver(Some(Both), false), Both);
        let krs = [RollupInput { value: 1.0, weight: 3.0 }, RollupInput { value: 0.0, weight: 1.0 }];
        let children = [0.5, 0.1];
        // KEY_RESULTS: (1*3 + 0*1) / 4 = 0.75
        assert!((weighted_average(&rollup_inputs(KeyResults, krs, children)) - 0.75).abs() < 1e-12);
        // ALIGNED_OBJECTIVES: (0.5 + 0.1) / 2 = 0.3
        assert!((weighted_average(&rollup_inputs(AlignedObjectives, krs, children)) - 0.3).abs() < 1e-12);
        // BOTH: (3 + 0 + 0.5 + 0.1) / (3 + 1 + 1 + 1) = 0.6
        assert!((weighted_average(&rollup_inputs(Both, krs, children)) - 0.6).abs() < 1e-12);
        // No inputs: 0.
        assert_eq!(weighted_average(&rollup_inputs(KeyResults, [], children)), 0.0);
        assert_eq!(weighted_average(&rollup_inputs(AlignedObjectives, krs, [])), 0.0);
        // Equal weights reduce to a plain average.
        let equal = [RollupInput { value: 0.2, weight: 2.0 }, RollupInput { value: 0.4, weight: 2.0 }];
        assert!((weighted_average(&equal) - 0.3).abs() < 1e-12);
    }

    #[test]
    fn worst_health() {
        use Health::*;
        assert_eq!(worst([OnTrack, OffTrack, AtRisk]), Some(OffTrack));
        assert_eq!(worst([OnTrack, AtRisk]), Some(AtRisk));
        assert_eq!(worst([]), None);
    }

    #[test]
    fn grade_band_edges() {
        assert_eq!(grade(0.0), Grade::Red);
        assert_eq!(grade(0.399_999), Grade::Red);
        assert_eq!(grade(0.4), Grade::Yellow);
        assert_eq!(grade(0.699_999), Grade::Yellow);
        assert_eq!(grade(0.7), Grade::Green);
        assert_eq!(grade(1.0), Grade::Green);
    }

    #[test]
    fn success_by_kind() {
        assert!(success(ObjectiveKind::Aspirational, 0.7));
        assert!(!success(ObjectiveKind::Aspirational, 0.69));
        assert!(success(ObjectiveKind::Committed, 1.0));
        assert!(!success(ObjectiveKind::Committed, 0.99));
        assert!(!success(ObjectiveKind::Committed, 0.7));
    }

    fn window() -> PeriodWindow {
        PeriodWindow::new(d(2026, 4, 1), d(2026, 4, 30), chrono_tz::UTC)
    }

    fn kr(measure: Measure, progress: f64, weight: f64) -> TreeKeyResult {
        TreeKeyResult { measure, progress, weight, confidence: None }
    }

    #[test]
    fn goal_numbers_roll_up_through_the_tree() {
        let s = OrganizationSettings::default();
        let mid = at("2026-04-16T00:00:00Z"); // half of April elapsed
        let (company, team, person) = (ObjectiveId::new(), ObjectiveId::new(), ObjectiveId::new());
        let mut goals = HashMap::new();
        // Individual: two INCREASE key results, weights 3 and 1, at 0.5 and 0.1.
        goals.insert(
            person,
            TreeGoal {
                driver: None,
                window: window(),
                key_results: vec![kr(Increase, 0.5, 3.0), kr(Increase, 0.1, 1.0)],
                children: vec![],
            },
        );
        // Team: a MAINTAIN_ABOVE key result that holds, plus the individual (BOTH).
        goals.insert(
            team,
            TreeGoal {
                driver: Some(ProgressDriver::Both),
                window: window(),
                key_results: vec![kr(MaintainAbove, 1.0, 1.0)],
                children: vec![person],
            },
        );
        // Company: no key results, so ALIGNED_OBJECTIVES by default.
        goals.insert(
            company,
            TreeGoal { driver: None, window: window(), key_results: vec![], children: vec![team] },
        );
        let mut memo = HashMap::new();
        let p = goal_numbers(&goals, person, mid, &s, &mut memo).unwrap_or(Numbers {
            progress: -1.0,
            expected: -1.0,
            health: None,
        });
        // progress (0.5*3 + 0.1*1)/4 = 0.4; expected 0.5; KR healths: gap 0 ON_TRACK, gap 0.4 OFF_TRACK.
        assert!((p.progress - 0.4).abs() < 1e-12);
        assert!((p.expected - 0.5).abs() < 1e-12);
        assert_eq!(p.health, Some(Health::OffTrack));
        let t = goal_numbers(&goals, team, mid, &s, &mut memo).unwrap_or(p);
        // BOTH: (1*1 + 0.4*1)/2 = 0.7; expected (1 + 0.5)/2 = 0.75; worst OFF_TRACK.
        assert!((t.progress - 0.7).abs() < 1e-12);
        assert!((t.expected - 0.75).abs() < 1e-12);
        assert_eq!(t.health, Some(Health::OffTrack));
        let c = goal_numbers(&goals, company, mid, &s, &mut memo).unwrap_or(p);
        assert!((c.progress - 0.7).abs() < 1e-12);
        assert_eq!(c.health, Some(Health::OffTrack));
        // An objective without inputs: progress 0 and no health.
        let lonely = ObjectiveId::new();
        goals.insert(
            lonely,
            TreeGoal { driver: None, window: window(), key_results: vec![], children: vec![] },
        );
        let l = goal_numbers(&goals, lonely, mid, &s, &mut HashMap::new());
        assert_eq!(l.map(|n| (n.progress, n.health)), Some((0.0, None)));
    }

    #[test]
    fn staleness() {
        let now = at("2026-04-20T00:00:00Z");
        let eight_days_ago = at("2026-04-12T00:00:00Z");
        let six_days_ago = at("2026-04-14T00:00:00Z");
        assert!(is_stale(true, Some(eight_days_ago), eight_days_ago, 7, now));
        assert!(!is_stale(true, Some(six_days_ago), eight_days_ago, 7, now));
        assert!(!is_stale(false, Some(eight_days_ago), eight_days_ago, 7, now), "only ACTIVE objectives");
        assert!(is_stale(true, None, eight_days_ago, 7, now), "never checked in since creation");
        assert!(!is_stale(true, None, six_days_ago, 7, now));
    }
}
