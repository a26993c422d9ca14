//! Where a key result has been (`progressSeries`) and where it, or an
//! objective, is heading (`forecast`).

use async_graphql::{Enum, SimpleObject};
use chrono::{DateTime, Utc};
use goalgraph_domain::trajectory;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::trajectory::ForecastMethod")]
pub enum ForecastMethod {
    /// An ordinary least-squares line through the newest check-ins (at most
    /// 8) inside the key result's period.
    LeastSquares,
}

/// A key result's value and progress projected to its period's end from
/// the trend of its recent check-ins.
#[derive(SimpleObject, Clone, Copy)]
pub struct Forecast {
    pub method: ForecastMethod,
    /// Check-ins the line was fitted to: the newest 8 at most, inside the period.
    pub points: u32,
    /// The line's slope, in the key result's unit per day.
    pub slope: f64,
    /// The line's value at the period's end. A MILESTONE is not projected
    /// along a line: its current value.
    pub projected_value: f64,
    /// The projected value through the key-result progress formula, clamped to [0, 1].
    pub projected_progress: f64,
    /// Projected progress 1: INCREASE/DECREASE reach the target,
    /// MAINTAIN_ABOVE/MAINTAIN_BELOW end on the right side of it, a MILESTONE is already done.
    pub reaches_target: bool,
    /// The instant projected to: the period's end (the midnight after its
    /// last day in the organization's time zone).
    pub at: DateTime<Utc>,
}

impl From<trajectory::Forecast> for Forecast {
    fn from(f: trajectory::Forecast) -> Self {
        Self {
            method: f.method.into(),
            points: f.points,
            slope: f.slope_per_day,
            projected_value: f.projected_value,
            projected_progress: f.projected_progress,
            reaches_target: f.reaches_target,
            at: f.at,
        }
    }
}

/// An objective's progress projected to its period's end: its inputs'
/// projected progress combined by its progress driver and weights, as its
/// progress is. A key result or child without a trend counts at its current
/// progress.
#[derive(SimpleObject, Clone, Copy)]
pub struct ObjectiveForecast {
    pub method: ForecastMethod,
    /// The driver's weighted average of the inputs' projected progress.
    pub projected_progress: f64,
    /// Projected progress 1.
    pub reaches_target: bool,
    /// The success rule at the projected progress: COMMITTED at 1.0,
    /// ASPIRATIONAL at 0.7.
    pub reaches_success: bool,
    /// The inputs averaged (hidden ones included: the aggregate is the objective's).
    pub inputs: u32,
    /// Inputs with a trend of their own.
    pub projected_inputs: u32,
    /// The period's end.
    pub at: DateTime<Utc>,
}

impl From<trajectory::ObjectiveForecast> for ObjectiveForecast {
    fn from(f: trajectory::ObjectiveForecast) -> Self {
        Self {
            method: ForecastMethod::LeastSquares,
            projected_progress: f.projected_progress,
            reaches_target: f.reaches_target,
            reaches_success: f.reaches_success,
            inputs: f.inputs,
            projected_inputs: f.projected_inputs,
            at: f.at,
        }
    }
}

/// A key result's progress in one bucket of its period.
#[derive(SimpleObject, Clone, Copy)]
pub struct ProgressPoint {
    /// The bucket's start: local midnight in the organization's time zone
    /// (weeks start on Monday); the first bucket may start before the period.
    pub start: DateTime<Utc>,
    /// The moment read: the bucket's end, or now for the current bucket,
    /// never past the period's end.
    pub at: DateTime<Utc>,
    /// The expected progress at `at`.
    pub expected: f64,
    /// The progress of the value that held at `at`: the latest check-in at
    /// or before it, or the start value before the first.
    pub actual: f64,
}

impl From<trajectory::ProgressPoint> for ProgressPoint {
    fn from(p: trajectory::ProgressPoint) -> Self {
        Self { start: p.start, at: p.at, expected: p.expected, actual: p.actual }
    }
}
