//! The status inputs computed by the database (`kpi_states`: the latest
//! point and `breachedSince`, by window functions in SQL) agree with the
//! domain's pure functions applied to the effective points — for each
//! observed time the later-recorded value (a correction) wins — on random
//! KPIs: random directions, ranges and tolerances, out-of-order backfills
//! split over several calls, and corrections in separate calls. A seeded
//! xorshift PRNG makes every run the same; the seed is in every failure
//! message (`KPI_SEED=<n>` replays another one). A hand-made case pins
//! the definition of PRODUCT.md ("breachedSince": the observed time of the
//! first point of the current unbroken run of points outside the healthy
//! range; null when the latest point is inside).

use crate::common::{connect, tenant};
use crate::kpi_fixture::*;
use chrono::{DateTime, Duration, Utc};
use goalgraph_domain::KpiId;
use goalgraph_domain::kpi::{Direction, HealthyRange, Point, breached_since, latest};
use goalgraph_domain::model::UnitKind;
use goalgraph_domain::policy::Actor;
use goalgraph_persistence::{KpiPatch, KpiState, NewKpi, Store};
use goalgraph_testkit::TestDb;
use std::collections::{BTreeMap, HashSet};

/// xorshift64*: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// A random definition: the direction with the bounds it needs (and
/// sometimes the other one), and no, an absolute or a percentage tolerance.
fn random_definition(rng: &mut Rng, base: NewKpi, name: String) -> NewKpi {
    let direction =
        [Direction::HigherIsBetter, Direction::LowerIsBetter, Direction::WithinRange][rng.below(3) as usize];
    let a = rng.below(400) as f64 * 0.5 - 100.0;
    let width = (1 + rng.below(80)) as f64 * 0.5;
    let (lower, upper) = match direction {
        Direction::HigherIsBetter => (Some(a), rng.chance(30).then_some(a + width)),
        Direction::LowerIsBetter => (rng.chance(30).then_some(a - width), Some(a)),
        Direction::WithinRange => (Some(a), Some(a + width)),
    };
    let (tolerance_absolute, tolerance_percent) = match rng.below(3) {
        0 => (None, None),
        1 => (Some(rng.below(20) as f64 * 0.5), None),
        _ => (None, Some(rng.below(50) as f64)),
    };
    NewKpi {
        name,
        direction,
        healthy_lower: lower,
        healthy_upper: upper,
        tolerance_absolute,
        tolerance_percent,
        ..base
    }
}

/// A value inside the range (bounds included, sometimes exactly on one) or
/// outside it (beyond a bound the range has).
fn random_value(rng: &mut Rng, range: HealthyRange, inside: bool) -> f64 {
    let step = |rng: &mut Rng| rng.below(60) as f64 * 0.25;
    if inside {
        return match (range.lower, range.upper) {
            (Some(l), Some(u)) => {
                let v = l + step(rng);
                if v > u { u } else { v }
            }
            (Some(l), None) => l + step(rng),
            (None, Some(u)) => u - step(rng),
            (None, None) => unreachable!("every direction has a bound"),
        };
    }
    let beyond = |rng: &mut Rng| 0.25 + step(rng);
    match (range.lower, range.upper) {
        (Some(l), Some(u)) => {
            if rng.chance(50) {
                l - beyond(rng)
            } else {
                u + beyond(rng)
            }
        }
        (Some(l), None) => l - beyond(rng),
        (None, Some(u)) => u + beyond(rng),
        (None, None) => unreachable!("every direction has a bound"),
    }
}

/// What one KPI was sent, call by call, and its effective points.
struct Sent {
    kpi: KpiId,
    range: HealthyRange,
    /// Observed time -> value of the latest call that sent it.
    effective: BTreeMap<DateTime<Utc>, f64>,
    /// Observed time -> value of the first call that sent it (what a store
    /// that ignored corrections would use).
    first: BTreeMap<DateTime<Utc>, f64>,
}

impl Sent {
    fn points(&self) -> Vec<Point> {
        self.effective.iter().map(|(t, v)| Point { observed_at: *t, value: *v }).collect()
    }
}

async fn send(store: &Store, t: &crate::common::Tenant, s: &mut Sent, call: &[(DateTime<Utc>, f64)]) {
    assert_eq!(record(store, &t.actor, s.kpi, call).await, call.len() as u64);
    for (at, v) in call {
        s.effective.insert(*at, *v);
        s.first.entry(*at).or_insert(*v);
    }
}

pub async fn kpi_states_agree_with_the_domain(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "kpi-property").await;
    let ops = t.unit(&store, UnitKind::Department, "Ops", t.company.id).await;
    let seeds: Vec<u64> = match std::env::var("KPI_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => vec![seed],
        None => vec![0x5EED_0001, 0xC0FF_EE42, 20_261_122],
    };
    // Every observed time lies within the 120 days before this day.
    let end = day(2026, 9, 1);
    let mut all: Vec<(u64, Sent)> = Vec::new();
    for seed in seeds {
        let mut rng = Rng::new(seed);
        for n in 0..6 {
            let def =
                random_definition(&mut rng, new_kpi(ops.id, t.admin.id, "x"), format!("KPI {seed}-{n}"));
            let k = create_kpi(&store, &t.actor, def).await;
            let mut s =
                Sent { kpi: k.id, range: k.range, effective: BTreeMap::new(), first: BTreeMap::new() };
            // Distinct observed times (to the second), walked oldest first
            // with runs inside and outside the range.
            let count = 2 + rng.below(40) as usize;
            let mut times: Vec<DateTime<Utc>> = (0..count)
                .map(|_| end - Duration::seconds(1 + rng.below(120 * 86_400) as i64))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            times.sort();
            let mut inside = rng.chance(50);
            let mut points: Vec<(DateTime<Utc>, f64)> = Vec::new();
            for at in &times {
                if rng.chance(30) {
                    inside = !inside;
                }
                points.push((*at, random_value(&mut rng, k.range, inside)));
            }
            // The backfill arrives in any order, over one to four calls.
            rng.shuffle(&mut points);
            let calls = 1 + rng.below(4) as usize;
            let size = points.len().div_ceil(calls);
            for call in points.chunks(size) {
                send(&store, &t, &mut s, call).await;
            }
            // Corrections: the same observed time again, in later calls
            // (the newest point often, to move breachedSince), sometimes
            // corrected twice.
            for _ in 0..rng.below(4) {
                let mut call: Vec<(DateTime<Utc>, f64)> = Vec::new();
                let mut used = HashSet::new();
                if rng.chance(60) {
                    let newest = *times.last().unwrap();
                    used.insert(newest);
                    let inside = rng.chance(50);
                    call.push((newest, random_value(&mut rng, k.range, inside)));
                }
                for _ in 0..rng.below(5) {
                    let at = times[rng.below(times.len() as u64) as usize];
                    if used.insert(at) {
                        let inside = rng.chance(50);
                        call.push((at, random_value(&mut rng, k.range, inside)));
                    }
                }
                if !call.is_empty() {
                    send(&store, &t, &mut s, &call).await;
                }
            }
            all.push((seed, s));
        }
    }
    // A KPI without points: no latest point, no breach.
    let empty = create_kpi(&store, &t.actor, new_kpi(ops.id, t.admin.id, "Empty")).await;

    let mut ids: Vec<KpiId> = all.iter().map(|(_, s)| s.kpi).collect();
    ids.push(empty.id);
    let states = store.kpi_states(&t.actor, &ids).await.unwrap();
    assert_eq!(states.len(), ids.len(), "a state for every KPI");
    let (mut breached, mut healthy, mut corrections_matter) = (0, 0, 0);
    for (seed, s) in &all {
        let points = s.points();
        let want_latest = latest(&points);
        let want_since = breached_since(&points, &s.range);
        let got = states[&s.kpi];
        assert_eq!(
            got.latest, want_latest,
            "seed {seed}: latest of {:?} ({:?}) over {points:?}",
            s.kpi, s.range
        );
        assert_eq!(
            got.breached_since, want_since,
            "seed {seed}: breachedSince of {:?} ({:?}) over {points:?}",
            s.kpi, s.range
        );
        // The effective points themselves, oldest first.
        let stored = store.kpi_points(t.org.id, s.kpi, None, None, None).await.unwrap();
        assert_eq!(stored, points, "seed {seed}: effective points of {:?}", s.kpi);
        let uncorrected: Vec<Point> =
            s.first.iter().map(|(t, v)| Point { observed_at: *t, value: *v }).collect();
        if (latest(&uncorrected), breached_since(&uncorrected, &s.range)) != (want_latest, want_since) {
            corrections_matter += 1;
        }
        if want_since.is_some() {
            breached += 1;
        } else {
            healthy += 1;
        }
    }
    // The random cases cover both outcomes.
    assert!(breached > 0 && healthy > 0, "breached {breached}, inside {healthy}: widen the generator");
    assert!(corrections_matter > 0, "no correction changed an outcome: widen the generator");
    let none = states[&empty.id];
    assert_eq!((none.latest, none.breached_since), (None, None));
}

async fn state(store: &Store, actor: &Actor, k: KpiId) -> KpiState {
    store.kpi_states(actor, &[k]).await.unwrap()[&k]
}

/// PRODUCT.md: healthy at >= 90; points 95, 80, 92, 85, 70 on days 1..5:
/// the current run outside the range is 85, 70 → breachedSince = day 4.
/// A correction of day 5 to 95 puts the latest point inside → null.
pub async fn breached_since_by_hand(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "kpi-by-hand").await;
    let ops = t.unit(&store, UnitKind::Department, "Ops", t.company.id).await;
    let k = create_kpi(&store, &t.actor, new_kpi(ops.id, t.admin.id, "Service level")).await;
    let d = |n: i64| plus_days(day(2026, 3, 1), n - 1);
    // Recorded in reverse order, in two calls.
    record(&store, &t.actor, k.id, &[(d(5), 70.0), (d(4), 85.0)]).await;
    record(&store, &t.actor, k.id, &[(d(3), 92.0), (d(2), 80.0), (d(1), 95.0)]).await;
    let s = state(&store, &t.actor, k.id).await;
    assert_eq!(s.latest, Some(Point { observed_at: d(5), value: 70.0 }));
    assert_eq!(s.breached_since, Some(d(4)));

    // A correction of day 5 to 95: the latest point is inside.
    record(&store, &t.actor, k.id, &[(d(5), 95.0)]).await;
    let s = state(&store, &t.actor, k.id).await;
    assert_eq!(s.latest, Some(Point { observed_at: d(5), value: 95.0 }));
    assert_eq!(s.breached_since, None);
    assert_eq!(measurement_rows(&store, t.org.id, k.id).await, 6, "the corrected value stays in history");

    // Correcting it back to 70 starts the run at day 4 again; correcting
    // day 3 to 89 joins it to the run from day 2 (80, 89, 85, 70).
    record(&store, &t.actor, k.id, &[(d(5), 70.0)]).await;
    assert_eq!(state(&store, &t.actor, k.id).await.breached_since, Some(d(4)));
    record(&store, &t.actor, k.id, &[(d(3), 89.0)]).await;
    assert_eq!(state(&store, &t.actor, k.id).await.breached_since, Some(d(2)));
    // A value exactly on the bound is inside: day 5 at 90 ends the run.
    record(&store, &t.actor, k.id, &[(d(5), 90.0)]).await;
    let s = state(&store, &t.actor, k.id).await;
    assert_eq!((s.latest.map(|p| p.value), s.breached_since), (Some(90.0), None));
    // A backfilled point older than everything does not move the latest.
    record(&store, &t.actor, k.id, &[(d(0), 10.0)]).await;
    let s = state(&store, &t.actor, k.id).await;
    assert_eq!(s.latest, Some(Point { observed_at: d(5), value: 90.0 }));
    assert_eq!(s.breached_since, None);

    // The range is read as it is now. Effective points: day 0: 10, 1: 95,
    // 2: 80, 3: 89, 4: 85, 5: 90. Healthy at >= 95: only day 1 is inside →
    // the run starts on day 2. Healthy at >= 96: none is inside → day 0.
    let lower = |l: f64| KpiPatch { range: Some((Some(l), None)), ..Default::default() };
    store.update_kpi(&t.actor, k.id, lower(95.0)).await.unwrap();
    assert_eq!(state(&store, &t.actor, k.id).await.breached_since, Some(d(2)));
    store.update_kpi(&t.actor, k.id, lower(96.0)).await.unwrap();
    assert_eq!(state(&store, &t.actor, k.id).await.breached_since, Some(d(0)));
}
