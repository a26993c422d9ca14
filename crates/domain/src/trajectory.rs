//! Where a key result has been and where it is heading: its progress per
//! bucket of its period against the expected progress (`progressSeries`),
//! and the progress projected to the period's end from the trend of its
//! recent check-ins (`forecast`), rolled up to objectives like progress.

use crate::formulas::{
    PeriodWindow, RollupInput, effective_driver, key_result_expected, key_result_progress, rollup_inputs,
    success, weighted_average,
};
use crate::insights::REACHED_FROM;
use crate::kpi::{Bucket, Point, bucket_start, next_bucket_start};
use crate::okr::{Measure, ObjectiveKind, ProgressDriver};
use crate::regression::least_squares;
use crate::text_enum::string_enum;
use crate::{DomainError, ObjectiveId};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::str::FromStr;

/// How many of the newest check-ins inside the period a forecast fits.
pub const FORECAST_POINTS: usize = 8;

string_enum!(
    /// How a forecast was made.
    ForecastMethod, "method" { LeastSquares => "LEAST_SQUARES" }
);

/// A key result's projection to its period's end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forecast {
    pub method: ForecastMethod,
    /// Check-ins the line was fitted to (2 to [`FORECAST_POINTS`]).
    pub points: u32,
    /// The fitted line's slope, in the key result's unit per day.
    pub slope_per_day: f64,
    /// The line's value at the period's end (a MILESTONE's current value).
    pub projected_value: f64,
    /// The key-result progress of the projected value, clamped to [0, 1].
    pub projected_progress: f64,
    /// Whether the projected progress is 1: INCREASE/DECREASE reach the
    /// target, MAINTAIN_* end on the right side of it, a MILESTONE is done.
    pub reaches_target: bool,
    /// The period's end: the instant projected to.
    pub at: DateTime<Utc>,
}

/// The check-ins a forecast fits: those inside the period's window, the
/// newest [`FORECAST_POINTS`], oldest first (at equal times, in the given
/// order).
pub fn forecast_inputs(check_ins: &[Point], window: &PeriodWindow) -> Vec<Point> {
    let mut inside: Vec<Point> = check_ins
        .iter()
        .filter(|p| p.observed_at >= window.start && p.observed_at < window.end)
        .copied()
        .collect();
    inside.sort_by_key(|p| p.observed_at);
    let skip = inside.len().saturating_sub(FORECAST_POINTS);
    inside.split_off(skip)
}

/// A key result's forecast: the least-squares line through its newest
/// check-ins inside the period, evaluated at the period's end and read
/// through the progress formula. None without a line (fewer than two such
/// check-ins, or all at one instant). A MILESTONE does not move along a
/// line: its projection is its current value (done or not).
pub fn key_result_forecast(
    measure: Measure,
    start: f64,
    target: f64,
    current: f64,
    check_ins: &[Point],
    window: &PeriodWindow,
) -> Option<Forecast> {
    let points = forecast_inputs(check_ins, window);
    let line = least_squares(&points)?;
    let at = window.end;
    let projected_value = match measure {
        Measure::Milestone => current,
        _ => line.at(at),
    };
    let projected_progress = key_result_progress(measure, start, target, projected_value);
    Some(Forecast {
        method: ForecastMethod::LeastSquares,
        points: points.len() as u32,
        slope_per_day: line.slope_per_day,
        projected_value,
        projected_progress,
        reaches_target: projected_progress >= REACHED_FROM,
        at,
    })
}

/// A key result as an objective's forecast needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastKeyResult {
    pub weight: f64,
    /// Its progress now.
    pub progress: f64,
    /// Its forecast's projected progress; none without a trend.
    pub projected: Option<f64>,
}

/// An objective as its forecast needs it: driver, kind, period, stored
/// progress, key results and (not cancelled) children.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastGoal {
    pub driver: Option<ProgressDriver>,
    pub kind: ObjectiveKind,
    pub window: PeriodWindow,
    pub progress: f64,
    pub key_results: Vec<ForecastKeyResult>,
    pub children: Vec<ObjectiveId>,
}

/// An objective's projection to its period's end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObjectiveForecast {
    /// The period's end.
    pub at: DateTime<Utc>,
    /// The driver's weighted average of its inputs' projected progress.
    pub projected_progress: f64,
    /// Projected progress of 1.
    pub reaches_target: bool,
    /// The brief's success at the projected progress (COMMITTED 1.0,
    /// ASPIRATIONAL 0.7).
    pub reaches_success: bool,
    /// The inputs averaged.
    pub inputs: u32,
    /// The inputs with a trend; the others count at their current progress.
    pub projected_inputs: u32,
}

/// An objective's forecast, computed bottom-up like its progress: each key
/// result counts with its projected progress (its current progress when it
/// has no trend), each child with its own forecast (its current progress
/// when it has none). None when no input has a trend. Children missing
/// from `goals` are left out.
pub fn objective_forecast(
    goals: &HashMap<ObjectiveId, ForecastGoal>,
    id: ObjectiveId,
    memo: &mut HashMap<ObjectiveId, Option<ObjectiveForecast>>,
) -> Option<ObjectiveForecast> {
    objective_forecast_at(goals, id, memo, 0)
}

fn objective_forecast_at(
    goals: &HashMap<ObjectiveId, ForecastGoal>,
    id: ObjectiveId,
    memo: &mut HashMap<ObjectiveId, Option<ObjectiveForecast>>,
    depth: usize,
) -> Option<ObjectiveForecast> {
    if let Some(f) = memo.get(&id) {
        return *f;
    }
    // A cycle cannot be stored through the API; stop rather than recurse forever.
    if depth > 10_000 {
        return None;
    }
    let goal = goals.get(&id)?;
    let driver = effective_driver(goal.driver, !goal.key_results.is_empty());
    let mut projected_inputs = 0u32;
    let krs: Vec<RollupInput> = goal
        .key_results
        .iter()
        .map(|k| {
            projected_inputs += u32::from(k.projected.is_some());
            RollupInput { value: k.projected.unwrap_or(k.progress), weight: k.weight }
        })
        .collect();
    let mut children = Vec::new();
    if matches!(driver, ProgressDriver::AlignedObjectives | ProgressDriver::Both) {
        for c in &goal.children {
            let Some(child) = goals.get(c) else { continue };
            match objective_forecast_at(goals, *c, memo, depth + 1) {
                Some(f) => {
                    projected_inputs += 1;
                    children.push(f.projected_progress);
                }
                None => children.push(child.progress),
            }
        }
    }
    if !matches!(driver, ProgressDriver::KeyResults | ProgressDriver::Both) {
        // Key results do not count under ALIGNED_OBJECTIVES: neither do their trends.
        projected_inputs -= goal.key_results.iter().filter(|k| k.projected.is_some()).count() as u32;
    }
    let inputs = rollup_inputs(driver, krs, children);
    let forecast = (projected_inputs > 0).then(|| {
        let projected_progress = weighted_average(&inputs);
        ObjectiveForecast {
            at: goal.window.end,
            projected_progress,
            reaches_target: projected_progress >= REACHED_FROM,
            reaches_success: success(goal.kind, projected_progress),
            inputs: inputs.len() as u32,
            projected_inputs,
        }
    });
    memo.insert(id, forecast);
    forecast
}

/// One bucket of a key result's progress history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressPoint {
    /// The bucket's start (local midnight in the organization's time zone).
    pub start: DateTime<Utc>,
    /// The moment read: the bucket's end, or now for the current bucket,
    /// never past the period's end.
    pub at: DateTime<Utc>,
    /// The expected progress at `at`.
    pub expected: f64,
    /// The progress of the value that held at `at`: the latest check-in at
    /// or before it, the start value before the first.
    pub actual: f64,
}

/// A key result's progress per bucket, from the bucket holding the period's
/// start to the one holding `now` (or the period's last instant, once it
/// has ended); empty before the period starts. `check_ins` in any order.
#[allow(clippy::too_many_arguments)]
pub fn progress_series(
    measure: Measure,
    start_value: f64,
    target: f64,
    check_ins: &[Point],
    window: &PeriodWindow,
    bucket: Bucket,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Vec<ProgressPoint> {
    let last_instant = window.end - Duration::milliseconds(1);
    let until = now.min(last_instant);
    if until < window.start {
        return vec![];
    }
    let mut sorted: Vec<Point> = check_ins.to_vec();
    sorted.sort_by_key(|p| p.observed_at);
    let last = bucket_start(until, bucket, tz);
    let mut out = Vec::new();
    let mut b = bucket_start(window.start, bucket, tz);
    while b <= last {
        let next = next_bucket_start(b, bucket, tz);
        let at = next.min(now).min(window.end);
        let value = sorted.iter().rev().find(|p| p.observed_at <= at).map_or(start_value, |p| p.value);
        out.push(ProgressPoint {
            start: b,
            at,
            expected: key_result_expected(measure, window, at),
            actual: key_result_progress(measure, start_value, target, value),
        });
        if next <= b {
            break;
        }
        b = next;
    }
    out
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    fn p(s: &str, value: f64) -> Point {
        Point { observed_at: at(s), value }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    /// April 2026 in UTC: 30 days, 2026-04-01T00:00Z to 2026-05-01T00:00Z.
    fn april() -> PeriodWindow {
        PeriodWindow::new(d(2026, 4, 1), d(2026, 4, 30), chrono_tz::UTC)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn increase_projects_the_line_to_the_period_end() {
        // (day 0, 10), (day 7, 20), (day 14, 30): slope 10/7 per day; day 30
        // (the end): 10 + 30 × 10/7 = 52.857142…; progress 0.528571…
        let check_ins = [
            p("2026-04-01T00:00:00Z", 10.0),
            p("2026-04-08T00:00:00Z", 20.0),
            p("2026-04-15T00:00:00Z", 30.0),
        ];
        let f = key_result_forecast(Measure::Increase, 0.0, 100.0, 30.0, &check_ins, &april());
        let Some(f) = f else { panic!("a forecast from three points") };
        assert_eq!((f.method, f.points, f.at), (ForecastMethod::LeastSquares, 3, at("2026-05-01T00:00:00Z")));
        assert!(close(f.slope_per_day, 10.0 / 7.0));
        assert!(close(f.projected_value, 10.0 + 300.0 / 7.0));
        assert!(close(f.projected_progress, (10.0 + 300.0 / 7.0) / 100.0));
        assert!(!f.reaches_target);
    }

    #[test]
    fn only_the_newest_eight_inside_the_period_count() {
        // Days 0 and 1 far off the line; days 2..9 on y = 2x; one before the
        // period (ignored). The newest eight fit y = 2x exactly: day 30 → 60,
        // beyond the target 50: progress clamped to 1, reached.
        let mut check_ins = vec![
            p("2026-03-31T12:00:00Z", 500.0),
            p("2026-04-01T00:00:00Z", 1000.0),
            p("2026-04-02T00:00:00Z", 1000.0),
        ];
        for day in 2..10u32 {
            check_ins.push(p(&format!("2026-04-{:02}T00:00:00Z", day + 1), 2.0 * f64::from(day)));
        }
        let f = key_result_forecast(Measure::Increase, 0.0, 50.0, 18.0, &check_ins, &april());
        let Some(f) = f else { panic!("a forecast") };
        assert_eq!(f.points, 8);
        assert!(close(f.slope_per_day, 2.0));
        assert!(close(f.projected_value, 60.0));
        assert_eq!(f.projected_progress, 1.0);
        assert!(f.reaches_target);
    }

    #[test]
    fn decrease_and_maintain() {
        let w = april();
        // DECREASE 100 → 50: (day 0, 100), (day 10, 90): slope −1; day 30: 70;
        // progress (70 − 100) / (50 − 100) = 0.6.
        let dec = [p("2026-04-01T00:00:00Z", 100.0), p("2026-04-11T00:00:00Z", 90.0)];
        let f = key_result_forecast(Measure::Decrease, 100.0, 50.0, 90.0, &dec, &w);
        assert_eq!(f.map(|f| (f.points, f.reaches_target)), Some((2, false)));
        assert!(f.is_some_and(|f| close(f.slope_per_day, -1.0)
            && close(f.projected_value, 70.0)
            && close(f.projected_progress, 0.6)));
        // MAINTAIN_ABOVE 95: (day 0, 99), (day 10, 97): slope −0.2; day 30: 93 < 95.
        let above = [p("2026-04-01T00:00:00Z", 99.0), p("2026-04-11T00:00:00Z", 97.0)];
        let f = key_result_forecast(Measure::MaintainAbove, 0.0, 95.0, 97.0, &above, &w);
        assert!(f.is_some_and(|f| close(f.projected_value, 93.0)
            && f.projected_progress == 0.0
            && !f.reaches_target));
        // MAINTAIN_BELOW 2: (day 0, 1.0), (day 20, 1.5): slope 0.025; day 30: 1.75 ≤ 2.
        let below = [p("2026-04-01T00:00:00Z", 1.0), p("2026-04-21T00:00:00Z", 1.5)];
        let f = key_result_forecast(Measure::MaintainBelow, 0.0, 2.0, 1.5, &below, &w);
        assert!(f.is_some_and(|f| close(f.slope_per_day, 0.025)
            && close(f.projected_value, 1.75)
            && f.reaches_target));
    }

    #[test]
    fn a_milestone_is_projected_at_its_current_value() {
        let w = april();
        let pts = [p("2026-04-01T00:00:00Z", 0.0), p("2026-04-11T00:00:00Z", 1.0)];
        let done = key_result_forecast(Measure::Milestone, 0.0, 1.0, 1.0, &pts, &w);
        assert_eq!(
            done.map(|f| (f.projected_value, f.projected_progress, f.reaches_target)),
            Some((1.0, 1.0, true))
        );
        let open = [p("2026-04-01T00:00:00Z", 0.0), p("2026-04-11T00:00:00Z", 0.0)];
        let not_yet = key_result_forecast(Measure::Milestone, 0.0, 1.0, 0.0, &open, &w);
        assert_eq!(not_yet.map(|f| (f.projected_value, f.reaches_target)), Some((0.0, false)));
    }

    #[test]
    fn no_forecast_without_two_instants_inside_the_period() {
        let w = april();
        assert_eq!(key_result_forecast(Measure::Increase, 0.0, 100.0, 0.0, &[], &w), None);
        let one = [p("2026-04-05T00:00:00Z", 10.0)];
        assert_eq!(key_result_forecast(Measure::Increase, 0.0, 100.0, 10.0, &one, &w), None);
        // The second point is outside the period (its end is exclusive).
        let outside = [p("2026-04-05T00:00:00Z", 10.0), p("2026-05-01T00:00:00Z", 20.0)];
        assert_eq!(key_result_forecast(Measure::Increase, 0.0, 100.0, 20.0, &outside, &w), None);
        let same = [p("2026-04-05T00:00:00Z", 10.0), p("2026-04-05T00:00:00Z", 20.0)];
        assert_eq!(key_result_forecast(Measure::Increase, 0.0, 100.0, 20.0, &same, &w), None);
    }

    fn goal(
        driver: Option<ProgressDriver>,
        kind: ObjectiveKind,
        progress: f64,
        key_results: Vec<ForecastKeyResult>,
        children: Vec<ObjectiveId>,
    ) -> ForecastGoal {
        ForecastGoal { driver, kind, window: april(), progress, key_results, children }
    }

    fn kr(weight: f64, progress: f64, projected: Option<f64>) -> ForecastKeyResult {
        ForecastKeyResult { weight, progress, projected }
    }

    #[test]
    fn objective_forecasts_roll_up_like_progress() {
        use ObjectiveKind::*;
        let (committed, stretch, parent, flat, both) = (
            ObjectiveId::new(),
            ObjectiveId::new(),
            ObjectiveId::new(),
            ObjectiveId::new(),
            ObjectiveId::new(),
        );
        let mut goals = HashMap::new();
        // Weights 3 and 1: projected 1.0, and 0.2 without a trend (kept):
        // (3 × 1.0 + 1 × 0.2) / 4 = 0.8.
        goals.insert(
            committed,
            goal(None, Committed, 0.5, vec![kr(3.0, 0.5, Some(1.0)), kr(1.0, 0.2, None)], vec![]),
        );
        goals.insert(
            stretch,
            goal(None, Aspirational, 0.5, vec![kr(3.0, 0.5, Some(1.0)), kr(1.0, 0.2, None)], vec![]),
        );
        // No trend anywhere: no forecast; counts at its progress 0.4 above.
        goals.insert(flat, goal(None, Committed, 0.4, vec![kr(1.0, 0.4, None)], vec![]));
        // ALIGNED_OBJECTIVES by default: (0.8 + 0.4) / 2 = 0.6.
        goals.insert(parent, goal(None, Aspirational, 0.45, vec![], vec![committed, flat]));
        // BOTH: a key result projected at 1.0 (weight 1) and the parent (0.6): 0.8.
        goals.insert(
            both,
            goal(Some(ProgressDriver::Both), Aspirational, 0.0, vec![kr(1.0, 0.9, Some(1.0))], vec![parent]),
        );
        let mut memo = HashMap::new();
        let c = objective_forecast(&goals, committed, &mut memo);
        let Some(c) = c else { panic!("committed has a trend") };
        assert!(close(c.projected_progress, 0.8));
        assert_eq!((c.reaches_target, c.reaches_success, c.inputs, c.projected_inputs), (false, false, 2, 1));
        assert_eq!(c.at, at("2026-05-01T00:00:00Z"));
        let s = objective_forecast(&goals, stretch, &mut memo);
        assert_eq!(
            s.map(|s| (s.reaches_target, s.reaches_success)),
            Some((false, true)),
            "0.8 ≥ 0.7 is an aspirational success"
        );
        assert_eq!(objective_forecast(&goals, flat, &mut memo), None);
        let p = objective_forecast(&goals, parent, &mut memo);
        assert!(
            p.is_some_and(|p| close(p.projected_progress, 0.6) && p.inputs == 2 && p.projected_inputs == 1)
        );
        let b = objective_forecast(&goals, both, &mut memo);
        assert!(
            b.is_some_and(|b| close(b.projected_progress, 0.8) && b.inputs == 2 && b.projected_inputs == 2)
        );
        // No inputs at all: none.
        let empty = ObjectiveId::new();
        goals.insert(empty, goal(None, Committed, 0.0, vec![], vec![]));
        assert_eq!(objective_forecast(&goals, empty, &mut HashMap::new()), None);
        // ALIGNED_OBJECTIVES set explicitly: its key results' trends do not count.
        let aligned = ObjectiveId::new();
        goals.insert(
            aligned,
            goal(
                Some(ProgressDriver::AlignedObjectives),
                Committed,
                0.0,
                vec![kr(1.0, 0.0, Some(1.0))],
                vec![flat],
            ),
        );
        assert_eq!(objective_forecast(&goals, aligned, &mut HashMap::new()), None);
    }

    /// 2026-06-03 (a Wednesday) to 2026-06-16 inclusive: 14 days. Weeks
    /// start on Mondays June 1st, 8th and 15th.
    fn june(tz: chrono_tz::Tz) -> PeriodWindow {
        PeriodWindow::new(d(2026, 6, 3), d(2026, 6, 16), tz)
    }

    #[test]
    fn weekly_series_of_an_ended_period() {
        let w = june(chrono_tz::UTC);
        let check_ins = [
            p("2026-06-10T00:00:00Z", 50.0),
            p("2026-06-05T12:00:00Z", 20.0),
            p("2026-06-16T00:00:00Z", 90.0),
        ];
        let s = progress_series(
            Measure::Increase,
            0.0,
            100.0,
            &check_ins,
            &w,
            Bucket::Week,
            chrono_tz::UTC,
            at("2026-07-01T00:00:00Z"),
        );
        let starts: Vec<DateTime<Utc>> = s.iter().map(|x| x.start).collect();
        assert_eq!(
            starts,
            vec![at("2026-06-01T00:00:00Z"), at("2026-06-08T00:00:00Z"), at("2026-06-15T00:00:00Z")]
        );
        // Week 1 read at June 8th: 5 of 14 days elapsed; value 20.
        assert_eq!(s[0].at, at("2026-06-08T00:00:00Z"));
        assert!(close(s[0].expected, 5.0 / 14.0) && close(s[0].actual, 0.2));
        // Week 2 at June 15th: 12/14; value 50.
        assert!(close(s[1].expected, 12.0 / 14.0) && close(s[1].actual, 0.5));
        // Week 3 at the period's end (June 17th, not the 22nd): 1; value 90.
        assert_eq!(s[2].at, at("2026-06-17T00:00:00Z"));
        assert!(close(s[2].expected, 1.0) && close(s[2].actual, 0.9));
    }

    #[test]
    fn the_current_bucket_is_read_at_now() {
        let w = june(chrono_tz::UTC);
        let check_ins = [p("2026-06-05T12:00:00Z", 20.0), p("2026-06-10T00:00:00Z", 50.0)];
        let now = at("2026-06-11T12:00:00Z");
        let s =
            progress_series(Measure::Increase, 0.0, 100.0, &check_ins, &w, Bucket::Week, chrono_tz::UTC, now);
        assert_eq!(s.len(), 2);
        // 8.5 of 14 days.
        assert_eq!(s[1].at, now);
        assert!(close(s[1].expected, 8.5 / 14.0) && close(s[1].actual, 0.5));
        // Before the period: nothing; before any check-in: the start value.
        assert!(
            progress_series(
                Measure::Increase,
                0.0,
                100.0,
                &check_ins,
                &w,
                Bucket::Week,
                chrono_tz::UTC,
                at("2026-06-02T00:00:00Z")
            )
            .is_empty()
        );
        let days = progress_series(
            Measure::Increase,
            10.0,
            110.0,
            &check_ins,
            &w,
            Bucket::Day,
            chrono_tz::UTC,
            at("2026-06-04T06:00:00Z"),
        );
        assert_eq!(days.len(), 2);
        assert_eq!((days[0].start, days[0].actual), (at("2026-06-03T00:00:00Z"), 0.0));
        assert!(close(days[1].expected, 1.25 / 14.0));
    }

    #[test]
    fn buckets_and_readings_follow_the_time_zone() {
        // 22:30Z on Sunday June 7th is already Monday 00:30 in Berlin (UTC+2).
        let check_ins = [p("2026-06-05T12:00:00Z", 20.0), p("2026-06-07T22:30:00Z", 40.0)];
        let now = at("2026-07-01T00:00:00Z");
        let utc = progress_series(
            Measure::Increase,
            0.0,
            100.0,
            &check_ins,
            &june(chrono_tz::UTC),
            Bucket::Week,
            chrono_tz::UTC,
            now,
        );
        assert!(close(utc[0].actual, 0.4), "in UTC the check-in belongs to the first week");
        let tz = chrono_tz::Europe::Berlin;
        let berlin =
            progress_series(Measure::Increase, 0.0, 100.0, &check_ins, &june(tz), Bucket::Week, tz, now);
        assert_eq!(berlin[0].start, at("2026-05-31T22:00:00Z"));
        assert_eq!(berlin[0].at, at("2026-06-07T22:00:00Z"));
        assert!(close(berlin[0].actual, 0.2), "in Berlin it belongs to the second");
        assert!(close(berlin[1].actual, 0.4));
        assert_eq!(berlin.last().map(|x| x.at), Some(at("2026-06-16T22:00:00Z")));
    }

    #[test]
    fn expected_follows_the_measure() {
        let w = june(chrono_tz::UTC);
        let now = at("2026-07-01T00:00:00Z");
        let m = progress_series(Measure::Milestone, 0.0, 1.0, &[], &w, Bucket::Week, chrono_tz::UTC, now);
        let expected: Vec<f64> = m.iter().map(|x| x.expected).collect();
        assert_eq!(expected, vec![0.0, 0.0, 1.0], "a milestone is expected only at the end");
        let k = progress_series(
            Measure::MaintainAbove,
            0.0,
            95.0,
            &[p("2026-06-09T00:00:00Z", 96.0)],
            &w,
            Bucket::Week,
            chrono_tz::UTC,
            now,
        );
        let pairs: Vec<(f64, f64)> = k.iter().map(|x| (x.expected, x.actual)).collect();
        assert_eq!(pairs, vec![(1.0, 0.0), (1.0, 1.0), (1.0, 1.0)]);
    }

    #[test]
    fn weeks_across_a_dst_change_are_local_weeks() {
        // Berlin moves to summer time on 2026-03-29: the week from Monday
        // March 23rd (23:00Z the day before) ends Monday March 30th 00:00
        // CEST (22:00Z on the 29th), 167 hours later.
        let tz = chrono_tz::Europe::Berlin;
        let start = bucket_start(at("2026-03-25T12:00:00Z"), Bucket::Week, tz);
        assert_eq!(start, at("2026-03-22T23:00:00Z"));
        assert_eq!(next_bucket_start(start, Bucket::Week, tz), at("2026-03-29T22:00:00Z"));
        assert_eq!(
            next_bucket_start(at("2026-12-15T00:00:00Z"), Bucket::Month, chrono_tz::UTC),
            at("2027-01-01T00:00:00Z")
        );
        assert_eq!(
            next_bucket_start(at("2026-06-15T10:00:00Z"), Bucket::Day, chrono_tz::UTC),
            at("2026-06-16T00:00:00Z")
        );
    }
}
