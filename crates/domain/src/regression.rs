//! The least-squares line through points in time, shared by the KPI trend
//! and the key-result forecast.

use crate::kpi::Point;
use chrono::{DateTime, Utc};

/// `value = intercept + slope_per_day × (days since origin)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// The earliest point's time; x is counted in days from here.
    pub origin: DateTime<Utc>,
    pub intercept: f64,
    pub slope_per_day: f64,
    /// The mean of the points' values.
    pub mean: f64,
}

impl Line {
    /// The line's value at `t`.
    pub fn at(&self, t: DateTime<Utc>) -> f64 {
        self.intercept + self.slope_per_day * days_between(self.origin, t)
    }
}

/// Fractional days from `from` to `to`.
pub fn days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 86_400_000.0
}

/// The ordinary least-squares line through `points` (any order); none for
/// fewer than two points or when all share one instant (no slope exists).
pub fn least_squares(points: &[Point]) -> Option<Line> {
    if points.len() < 2 {
        return None;
    }
    let origin = points.iter().map(|p| p.observed_at).min()?;
    let xs: Vec<f64> = points.iter().map(|p| days_between(origin, p.observed_at)).collect();
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = points.iter().map(|p| p.value).sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = xs.iter().zip(points).map(|(x, p)| (x - mx) * (p.value - my)).sum();
    let slope = sxy / sxx;
    Some(Line { origin, intercept: my - slope * mx, slope_per_day: slope, mean: my })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    fn p(s: &str, value: f64) -> Point {
        Point { observed_at: at(s), value }
    }

    #[test]
    fn a_line_through_three_points() {
        // (0, 10), (7, 20), (14, 30): slope 10/7 per day, intercept 10.
        let line = least_squares(&[
            p("2026-04-15T00:00:00Z", 30.0),
            p("2026-04-01T00:00:00Z", 10.0),
            p("2026-04-08T00:00:00Z", 20.0),
        ]);
        let line = line.unwrap_or(Line {
            origin: at("2000-01-01T00:00:00Z"),
            intercept: 0.0,
            slope_per_day: 0.0,
            mean: 0.0,
        });
        assert!((line.slope_per_day - 10.0 / 7.0).abs() < 1e-12);
        assert!((line.intercept - 10.0).abs() < 1e-9);
        assert!((line.mean - 20.0).abs() < 1e-12);
        assert_eq!(line.origin, at("2026-04-01T00:00:00Z"));
        // Day 28: 10 + 28 × 10/7 = 50.
        assert!((line.at(at("2026-04-29T00:00:00Z")) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn points_off_the_line() {
        // x = 0, 1, 2; y = 0, 2, 1: mean x 1, mean y 1, sxy = (−1)(−1) + 0 + (1)(0) = 1,
        // sxx = 2: slope 0.5, intercept 1 − 0.5 = 0.5.
        let line = least_squares(&[
            p("2026-04-01T00:00:00Z", 0.0),
            p("2026-04-02T00:00:00Z", 2.0),
            p("2026-04-03T00:00:00Z", 1.0),
        ]);
        assert_eq!(line.map(|l| (l.slope_per_day, l.intercept)), Some((0.5, 0.5)));
    }

    #[test]
    fn no_line_without_two_instants() {
        assert_eq!(least_squares(&[]), None);
        assert_eq!(least_squares(&[p("2026-04-01T00:00:00Z", 1.0)]), None);
        let same = [p("2026-04-01T00:00:00Z", 1.0), p("2026-04-01T00:00:00Z", 2.0)];
        assert_eq!(least_squares(&same), None);
    }
}
