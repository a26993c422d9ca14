//! KPIs: steady-state health metrics, their measurements, and the numbers
//! computed from them (status, breachedSince, series, trend).

use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::text_enum::string_enum;
use crate::values::finite;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

string_enum!(
    /// PEOPLE KPIs (absenteeism, turnover …) are sensitive.
    KpiCategory, "category" {
        Financial => "FINANCIAL",
        Operational => "OPERATIONAL",
        People => "PEOPLE",
        Customer => "CUSTOMER",
    }
);
string_enum!(
    Direction, "direction" {
        HigherIsBetter => "HIGHER_IS_BETTER",
        LowerIsBetter => "LOWER_IS_BETTER",
        WithinRange => "WITHIN_RANGE",
    }
);
string_enum!(
    /// How often a KPI is expected to be measured.
    Cadence, "cadence" { Daily => "DAILY", Weekly => "WEEKLY", Monthly => "MONTHLY", Quarterly => "QUARTERLY" }
);
string_enum!(
    KpiStatus, "status" {
        NoData => "NO_DATA",
        Stale => "STALE",
        Healthy => "HEALTHY",
        AtRisk => "AT_RISK",
        Breached => "BREACHED",
    }
);
string_enum!(
    Bucket, "bucket" { Day => "DAY", Week => "WEEK", Month => "MONTH" }
);

impl Cadence {
    /// The length of one interval. Months and quarters count their longest
    /// (31 and 92 days) so that a punctual KPI never reads as late.
    pub fn interval(self) -> Duration {
        match self {
            Self::Daily => Duration::days(1),
            Self::Weekly => Duration::days(7),
            Self::Monthly => Duration::days(31),
            Self::Quarterly => Duration::days(92),
        }
    }
}

/// The healthy range: a lower and/or an upper bound, inclusive, consistent
/// with the direction (HIGHER_IS_BETTER needs a lower bound,
/// LOWER_IS_BETTER an upper one, WITHIN_RANGE both).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthyRange {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

impl HealthyRange {
    pub fn parse(direction: Direction, lower: Option<f64>, upper: Option<f64>) -> DomainResult<Self> {
        let lower = lower.map(|v| finite("healthyLower", v)).transpose()?;
        let upper = upper.map(|v| finite("healthyUpper", v)).transpose()?;
        match (direction, lower, upper) {
            (Direction::HigherIsBetter, None, _) => {
                Err(DomainError::invalid("healthyLower", "a HIGHER_IS_BETTER KPI needs a lower bound"))
            }
            (Direction::LowerIsBetter, _, None) => {
                Err(DomainError::invalid("healthyUpper", "a LOWER_IS_BETTER KPI needs an upper bound"))
            }
            (Direction::WithinRange, None, _) | (Direction::WithinRange, _, None) => Err(
                DomainError::invalid("healthyLower", "a WITHIN_RANGE KPI needs a lower and an upper bound"),
            ),
            (_, Some(l), Some(u)) if l > u => {
                Err(DomainError::invalid("healthyUpper", "must not be below the lower bound"))
            }
            _ => Ok(Self { lower, upper }),
        }
    }

    pub fn contains(&self, value: f64) -> bool {
        self.lower.is_none_or(|l| value >= l) && self.upper.is_none_or(|u| value <= u)
    }
}

/// How far beyond a violated bound a value is still AT_RISK rather than
/// BREACHED: an absolute amount, or a percentage of the bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    Absolute(f64),
    Percent(f64),
}

impl Tolerance {
    pub fn parse(absolute: Option<f64>, percent: Option<f64>) -> DomainResult<Self> {
        match (absolute, percent) {
            (Some(_), Some(_)) => Err(DomainError::invalid(
                "tolerancePercent",
                "give an absolute or a percentage tolerance, not both",
            )),
            (Some(a), None) => {
                let a = finite("toleranceAbsolute", a)?;
                if a < 0.0 {
                    return Err(DomainError::invalid("toleranceAbsolute", "must not be negative"));
                }
                Ok(Self::Absolute(a))
            }
            (None, Some(p)) => {
                let p = finite("tolerancePercent", p)?;
                if !(0.0..=1000.0).contains(&p) {
                    return Err(DomainError::invalid("tolerancePercent", "must be from 0 to 1000"));
                }
                Ok(Self::Percent(p))
            }
            (None, None) => Ok(Self::Absolute(0.0)),
        }
    }

    fn band(&self, bound: f64) -> f64 {
        match *self {
            Self::Absolute(a) => a,
            Self::Percent(p) => bound.abs() * p / 100.0,
        }
    }
}

/// One data point.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Point {
    pub observed_at: DateTime<Utc>,
    pub value: f64,
}

/// The status from the latest point by observed time, first match wins:
/// NO_DATA, STALE (older than twice the cadence), HEALTHY (inside the
/// range), AT_RISK (outside but within the tolerance band beyond the
/// violated bound), BREACHED.
pub fn kpi_status(
    latest: Option<Point>,
    range: &HealthyRange,
    tolerance: &Tolerance,
    cadence: Cadence,
    now: DateTime<Utc>,
) -> KpiStatus {
    let Some(p) = latest else { return KpiStatus::NoData };
    if now - p.observed_at > cadence.interval() * 2 {
        return KpiStatus::Stale;
    }
    if range.contains(p.value) {
        return KpiStatus::Healthy;
    }
    let (bound, beyond) = match (range.lower, range.upper) {
        (Some(l), _) if p.value < l => (l, l - p.value),
        (_, Some(u)) => (u, p.value - u),
        (Some(l), None) => (l, l - p.value),
        (None, None) => return KpiStatus::Healthy,
    };
    if beyond <= tolerance.band(bound) + 1e-12 { KpiStatus::AtRisk } else { KpiStatus::Breached }
}

/// The observed time of the first point of the current unbroken run of
/// points outside the healthy range; none when the latest is inside.
/// `points` in any order (backfills arrive late).
pub fn breached_since(points: &[Point], range: &HealthyRange) -> Option<DateTime<Utc>> {
    let mut sorted: Vec<&Point> = points.iter().collect();
    sorted.sort_by_key(|p| p.observed_at);
    let mut since = None;
    for p in sorted.iter().rev() {
        if range.contains(p.value) {
            break;
        }
        since = Some(p.observed_at);
    }
    since
}

/// The latest point by observed time (ties: the later in `points`, i.e. the
/// later correction).
pub fn latest(points: &[Point]) -> Option<Point> {
    points.iter().fold(None, |best: Option<Point>, p| match best {
        Some(b) if b.observed_at > p.observed_at => Some(b),
        _ => Some(*p),
    })
}

/// The instant of local midnight starting `day` in `tz`; a midnight skipped
/// by a DST change falls back to the earliest valid instant after it.
fn local_midnight(day: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&midnight)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(midnight + Duration::hours(1))).earliest())
        .map(|x| x.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// The start of the bucket holding `t`, in the organization's time zone
/// (weeks start on Monday).
pub fn bucket_start(t: DateTime<Utc>, bucket: Bucket, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let local = t.with_timezone(&tz).date_naive();
    let day = match bucket {
        Bucket::Day => local,
        Bucket::Week => local - Duration::days(i64::from(local.weekday().num_days_from_monday())),
        Bucket::Month => NaiveDate::from_ymd_opt(local.year(), local.month(), 1).unwrap_or(local),
    };
    local_midnight(day, tz)
}

/// The start of the bucket after the one holding `t` (a local day, week or
/// month later: not a fixed number of hours across a DST change).
pub fn next_bucket_start(t: DateTime<Utc>, bucket: Bucket, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let first = bucket_start(t, bucket, tz).with_timezone(&tz).date_naive();
    let day = match bucket {
        Bucket::Day => first + Duration::days(1),
        Bucket::Week => first + Duration::days(7),
        Bucket::Month => {
            let (y, m) =
                if first.month() == 12 { (first.year() + 1, 1) } else { (first.year(), first.month() + 1) };
            NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(first + Duration::days(31))
        }
    };
    local_midnight(day, tz)
}

/// One bucket of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesBucket {
    pub start: DateTime<Utc>,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
    /// The latest point by observed time in the bucket.
    pub last: f64,
    pub count: u32,
}

/// Min/max/avg/last per bucket of the points (any order), oldest first;
/// empty buckets are left out.
pub fn series(points: &[Point], bucket: Bucket, tz: chrono_tz::Tz) -> Vec<SeriesBucket> {
    let mut sorted: Vec<&Point> = points.iter().collect();
    sorted.sort_by_key(|p| p.observed_at);
    let mut out: Vec<SeriesBucket> = Vec::new();
    let mut sum = 0.0;
    for p in sorted {
        let start = bucket_start(p.observed_at, bucket, tz);
        match out.last_mut() {
            Some(b) if b.start == start => {
                b.min = b.min.min(p.value);
                b.max = b.max.max(p.value);
                b.last = p.value;
                b.count += 1;
                sum += p.value;
                b.avg = sum / f64::from(b.count);
            }
            _ => {
                sum = p.value;
                out.push(SeriesBucket {
                    start,
                    min: p.value,
                    max: p.value,
                    avg: p.value,
                    last: p.value,
                    count: 1,
                });
            }
        }
    }
    out
}

string_enum!(
    /// Which way the last points move, read against the KPI's direction.
    TrendDirection, "trend" { Improving => "IMPROVING", Worsening => "WORSENING", Flat => "FLAT" }
);

/// The trend of the last points: the least-squares slope per day, and
/// whether it improves the KPI (up for HIGHER_IS_BETTER, down for
/// LOWER_IS_BETTER, towards the middle of the range for WITHIN_RANGE).
pub fn trend(points: &[Point], direction: Direction, range: &HealthyRange) -> Option<(f64, TrendDirection)> {
    let line = crate::regression::least_squares(points)?;
    let (slope, my) = (line.slope_per_day, line.mean);
    let flat = slope.abs() < 1e-9 * (1.0 + my.abs());
    let improving = match direction {
        Direction::HigherIsBetter => slope > 0.0,
        Direction::LowerIsBetter => slope < 0.0,
        Direction::WithinRange => {
            let mid = match (range.lower, range.upper) {
                (Some(l), Some(u)) => (l + u) / 2.0,
                (Some(l), None) => l,
                (None, Some(u)) => u,
                (None, None) => my,
            };
            let last = latest(points).map(|p| p.value).unwrap_or(my);
            (last > mid && slope < 0.0) || (last < mid && slope > 0.0)
        }
    };
    let dir = if flat {
        TrendDirection::Flat
    } else if improving {
        TrendDirection::Improving
    } else {
        TrendDirection::Worsening
    };
    Some((slope, dir))
}

/// A KPI definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Kpi {
    pub id: KpiId,
    pub organization_id: OrganizationId,
    pub unit_id: UnitId,
    pub owner_id: PersonId,
    pub name: String,
    pub description: Option<String>,
    pub category: KpiCategory,
    pub unit_label: String,
    pub direction: Direction,
    pub target: Option<f64>,
    pub range: HealthyRange,
    pub tolerance: Tolerance,
    pub cadence: Cadence,
    pub archived: bool,
    pub external_id: Option<String>,
    /// The key result this KPI was promoted from, if any.
    pub promoted_from: Option<KeyResultId>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

impl Kpi {
    /// The facts the policy decides on.
    pub fn facts(&self) -> crate::policy::KpiFacts {
        crate::policy::KpiFacts {
            id: self.id,
            unit: self.unit_id,
            owner: self.owner_id,
            sensitive: self.category == KpiCategory::People,
        }
    }
}

/// A measurement: append-only; a second value for the same observed time is
/// a correction (the later one counts, the first stays in history).
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub id: MeasurementId,
    pub kpi_id: KpiId,
    pub observed_at: DateTime<Utc>,
    pub value: f64,
    pub recorded_at: DateTime<Utc>,
    pub author_id: Option<PersonId>,
}

/// The largest clock skew tolerated for an observed time in the future.
pub const FUTURE_SKEW: Duration = Duration::minutes(5);

/// Checks one point: a finite value, observed no later than now plus skew.
pub fn check_point(value: f64, observed_at: DateTime<Utc>, now: DateTime<Utc>) -> DomainResult<Point> {
    let value = finite("value", value)?;
    if observed_at > now + FUTURE_SKEW {
        return Err(DomainError::invalid("observedAt", "is in the future"));
    }
    Ok(Point { observed_at, value })
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

    fn range(direction: Direction, lower: Option<f64>, upper: Option<f64>) -> HealthyRange {
        HealthyRange::parse(direction, lower, upper).unwrap_or(HealthyRange { lower: None, upper: None })
    }

    #[test]
    fn ranges_must_fit_the_direction() {
        use Direction::*;
        assert!(HealthyRange::parse(HigherIsBetter, Some(90.0), None).is_ok());
        assert!(HealthyRange::parse(HigherIsBetter, None, Some(90.0)).is_err());
        assert!(HealthyRange::parse(LowerIsBetter, None, Some(5.0)).is_ok());
        assert!(HealthyRange::parse(LowerIsBetter, Some(5.0), None).is_err());
        assert!(HealthyRange::parse(WithinRange, Some(1.0), Some(2.0)).is_ok());
        assert!(HealthyRange::parse(WithinRange, Some(1.0), None).is_err());
        assert!(HealthyRange::parse(WithinRange, Some(3.0), Some(2.0)).is_err());
        assert!(HealthyRange::parse(HigherIsBetter, Some(f64::NAN), None).is_err());
    }

    /// Hand-computed table: (direction, lower, upper, tolerance, value, status).
    #[test]
    fn status_table() {
        use Direction::*;
        use KpiStatus::*;
        let now = at("2026-06-10T00:00:00Z");
        let fresh = "2026-06-09T00:00:00Z";
        let abs = |a| Tolerance::Absolute(a);
        let pct = |p| Tolerance::Percent(p);
        let cases = [
            // One-sided, higher is better: healthy at >= 90.
            (HigherIsBetter, Some(90.0), None, abs(5.0), 95.0, Healthy),
            (HigherIsBetter, Some(90.0), None, abs(5.0), 90.0, Healthy), // the bound is inside
            (HigherIsBetter, Some(90.0), None, abs(5.0), 85.0, AtRisk),  // exactly at the band's edge
            (HigherIsBetter, Some(90.0), None, abs(5.0), 84.9, Breached),
            (HigherIsBetter, Some(90.0), None, pct(10.0), 81.0, AtRisk), // 10 % of 90 = 9
            (HigherIsBetter, Some(90.0), None, pct(10.0), 80.9, Breached),
            // One-sided, lower is better: healthy at <= 5.
            (LowerIsBetter, None, Some(5.0), abs(1.0), 3.0, Healthy),
            (LowerIsBetter, None, Some(5.0), abs(1.0), 6.0, AtRisk),
            (LowerIsBetter, None, Some(5.0), abs(1.0), 6.5, Breached),
            (LowerIsBetter, None, Some(5.0), abs(0.0), 5.1, Breached), // no band
            // Two-sided.
            (WithinRange, Some(10.0), Some(20.0), abs(2.0), 15.0, Healthy),
            (WithinRange, Some(10.0), Some(20.0), abs(2.0), 8.5, AtRisk),
            (WithinRange, Some(10.0), Some(20.0), abs(2.0), 7.0, Breached),
            (WithinRange, Some(10.0), Some(20.0), abs(2.0), 21.0, AtRisk),
            (WithinRange, Some(10.0), Some(20.0), pct(50.0), 29.0, AtRisk), // 50 % of the upper bound 20 = 10
            (WithinRange, Some(10.0), Some(20.0), pct(50.0), 31.0, Breached),
            (WithinRange, Some(10.0), Some(20.0), pct(50.0), 5.0, AtRisk), // 50 % of the lower bound 10 = 5
            (WithinRange, Some(10.0), Some(20.0), pct(50.0), 4.9, Breached),
        ];
        for (direction, lower, upper, tolerance, value, want) in cases {
            let r = range(direction, lower, upper);
            let got = kpi_status(Some(p(fresh, value)), &r, &tolerance, Cadence::Weekly, now);
            assert_eq!(got, want, "{direction:?} [{lower:?}, {upper:?}] {tolerance:?} at {value}");
        }
    }

    #[test]
    fn precedence_no_data_then_stale() {
        let r = range(Direction::HigherIsBetter, Some(90.0), None);
        let now = at("2026-06-30T00:00:00Z");
        let t = Tolerance::Absolute(0.0);
        assert_eq!(kpi_status(None, &r, &t, Cadence::Weekly, now), KpiStatus::NoData);
        // Twice a weekly cadence is 14 days: 15 days old is STALE even when breached.
        assert_eq!(
            kpi_status(Some(p("2026-06-15T00:00:00Z", 10.0)), &r, &t, Cadence::Weekly, now),
            KpiStatus::Stale
        );
        assert_eq!(
            kpi_status(Some(p("2026-06-16T00:00:00Z", 10.0)), &r, &t, Cadence::Weekly, now),
            KpiStatus::Breached,
            "14 days old is not yet stale"
        );
        assert_eq!(
            kpi_status(Some(p("2026-06-01T00:00:00Z", 95.0)), &r, &t, Cadence::Monthly, now),
            KpiStatus::Healthy
        );
    }

    #[test]
    fn breached_since_and_backfill() {
        let r = range(Direction::HigherIsBetter, Some(90.0), None);
        let points = vec![
            p("2026-06-01T00:00:00Z", 95.0),
            p("2026-06-02T00:00:00Z", 80.0),
            p("2026-06-03T00:00:00Z", 92.0),
            p("2026-06-04T00:00:00Z", 85.0),
            p("2026-06-05T00:00:00Z", 70.0),
        ];
        assert_eq!(breached_since(&points, &r), Some(at("2026-06-04T00:00:00Z")));
        // Order of arrival does not matter.
        let mut shuffled = points.clone();
        shuffled.reverse();
        assert_eq!(breached_since(&shuffled, &r), Some(at("2026-06-04T00:00:00Z")));
        // A late backfill inside the run breaks it; one older than the latest
        // does not override the latest.
        let mut backfilled = points.clone();
        backfilled.push(p("2026-06-04T12:00:00Z", 99.0));
        assert_eq!(breached_since(&backfilled, &r), Some(at("2026-06-05T00:00:00Z")));
        assert_eq!(latest(&backfilled).map(|x| x.value), Some(70.0));
        // Latest inside: none.
        let mut recovered = points;
        recovered.push(p("2026-06-06T00:00:00Z", 91.0));
        assert_eq!(breached_since(&recovered, &r), None);
        assert_eq!(breached_since(&[], &r), None);
    }

    #[test]
    fn corrections_at_the_same_time_take_the_later() {
        let a = p("2026-06-01T00:00:00Z", 1.0);
        let b = p("2026-06-01T00:00:00Z", 2.0);
        assert_eq!(latest(&[a, b]).map(|x| x.value), Some(2.0));
    }

    #[test]
    fn series_buckets_in_the_time_zone() {
        let pts = vec![
            p("2026-06-01T08:00:00Z", 4.0),
            p("2026-06-01T20:00:00Z", 2.0),
            p("2026-06-01T23:30:00Z", 9.0), // already June 2nd in Berlin (UTC+2)
            p("2026-06-03T10:00:00Z", 5.0),
        ];
        let utc = series(&pts, Bucket::Day, chrono_tz::UTC);
        assert_eq!(utc.len(), 2);
        assert_eq!((utc[0].min, utc[0].max, utc[0].last, utc[0].count), (2.0, 9.0, 9.0, 3));
        assert!((utc[0].avg - 5.0).abs() < 1e-12);
        let berlin = series(&pts, Bucket::Day, chrono_tz::Europe::Berlin);
        assert_eq!(berlin.len(), 3);
        assert_eq!(berlin[0].start, at("2026-05-31T22:00:00Z"));
        assert_eq!((berlin[1].min, berlin[1].count), (9.0, 1));
        let weeks = series(&pts, Bucket::Week, chrono_tz::UTC);
        assert_eq!(weeks.len(), 1, "June 1st 2026 is a Monday; all in one week");
        assert_eq!(weeks[0].start, at("2026-06-01T00:00:00Z"));
        let months = series(&pts, Bucket::Month, chrono_tz::UTC);
        assert_eq!(months[0].start, at("2026-06-01T00:00:00Z"));
    }

    #[test]
    fn trends_read_against_the_direction() {
        let up =
            [p("2026-06-01T00:00:00Z", 1.0), p("2026-06-02T00:00:00Z", 2.0), p("2026-06-03T00:00:00Z", 3.0)];
        let r = range(Direction::HigherIsBetter, Some(0.0), None);
        let (slope, dir) = trend(&up, Direction::HigherIsBetter, &r).unwrap_or((0.0, TrendDirection::Flat));
        assert!((slope - 1.0).abs() < 1e-9);
        assert_eq!(dir, TrendDirection::Improving);
        let lr = range(Direction::LowerIsBetter, None, Some(10.0));
        assert_eq!(trend(&up, Direction::LowerIsBetter, &lr).map(|t| t.1), Some(TrendDirection::Worsening));
        let flat = [p("2026-06-01T00:00:00Z", 2.0), p("2026-06-02T00:00:00Z", 2.0)];
        assert_eq!(trend(&flat, Direction::HigherIsBetter, &r).map(|t| t.1), Some(TrendDirection::Flat));
        assert_eq!(trend(&up[..1], Direction::HigherIsBetter, &r), None);
        // Within range [10, 20], below the middle and rising: improving.
        let wr = range(Direction::WithinRange, Some(10.0), Some(20.0));
        assert_eq!(trend(&up, Direction::WithinRange, &wr).map(|t| t.1), Some(TrendDirection::Improving));
    }

    #[test]
    fn points_in_the_future_beyond_the_skew_are_refused() {
        let now = at("2026-06-10T12:00:00Z");
        assert!(check_point(1.0, at("2026-06-10T12:04:00Z"), now).is_ok());
        assert!(check_point(1.0, at("2026-06-10T12:06:00Z"), now).is_err());
        assert!(check_point(f64::INFINITY, now, now).is_err());
    }
}
