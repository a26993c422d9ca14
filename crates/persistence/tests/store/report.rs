//! The report builder against an independent recomputation: generated
//! organizations (random data sets: the generator's seed) are loaded row by
//! row, every number is recomputed in Rust from the domain's formulas and
//! the policy's `can_read`, aggregated per group, and compared with what
//! the database's GROUP BY statements return, for an admin, a manager and
//! a member, over reports that use every measure and dimension.

use chrono::{DateTime, TimeZone, Utc};
use goalgraph_domain::formulas::{
    Health, Numbers, PeriodWindow, TreeGoal, TreeKeyResult, goal_numbers, is_stale, key_result_progress,
};
use goalgraph_domain::kpi::{Cadence, Direction, HealthyRange, KpiCategory, KpiStatus, Point, Tolerance};
use goalgraph_domain::kpi::{breached_since, kpi_status, latest};
use goalgraph_domain::model::{Role, RoleSet};
use goalgraph_domain::okr::{ObjectiveKind, ObjectiveStatus};
use goalgraph_domain::policy::{Actor, GoalFacts, KpiFacts, Resource, can_read};
use goalgraph_domain::report::{
    DimensionValue as V, ObjectiveLevel, ReportDimension as D, ReportFilter, ReportMeasure as M, ReportSpec,
};
use goalgraph_domain::settings::OrganizationSettings;
use goalgraph_domain::{KpiId, ObjectiveId, PeriodId, PersonId, UnitId};
use goalgraph_persistence::entity::{
    check_in, key_result, kpi, kpi_measurement, objective, period, person, unit, unit_manager,
};
use goalgraph_persistence::{Backend, GenerateOptions, Store};
use goalgraph_testkit::TestDb;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;
use uuid::Uuid;

/// Everything of one tenant, as stored.
struct World {
    org: goalgraph_domain::OrganizationId,
    units: HashMap<Uuid, unit::Model>,
    periods: HashMap<Uuid, PeriodWindow>,
    objectives: Vec<objective::Model>,
    key_results: Vec<key_result::Model>,
    check_ins: HashMap<Uuid, u64>,
    /// Every check-in and measurement, for replays.
    check_in_rows: Vec<check_in::Model>,
    measurement_rows: Vec<kpi_measurement::Model>,
    kpis: Vec<kpi::Model>,
    points: HashMap<Uuid, Vec<Point>>,
}

macro_rules! rows_of {
    ($store:expr, $entity:ident, $org:expr) => {
        $entity::Entity::find()
            .filter($entity::Column::OrganizationId.eq($org))
            .all($store.connection())
            .await
            .unwrap()
    };
}

async fn load(
    store: &Store,
    org: goalgraph_domain::OrganizationId,
    settings: &OrganizationSettings,
) -> World {
    let o = org.0;
    let tz = settings.time_zone.tz();
    let check_in_rows = rows_of!(store, check_in, o);
    let measurement_rows = rows_of!(store, kpi_measurement, o);
    World {
        check_ins: counts(&check_in_rows),
        points: effective_points(&measurement_rows),
        check_in_rows,
        measurement_rows,
        org,
        units: rows_of!(store, unit, o).into_iter().map(|u| (u.id, u)).collect(),
        periods: rows_of!(store, period, o)
            .into_iter()
            .map(|p| (p.id, PeriodWindow::new(p.start_date, p.end_date, tz)))
            .collect(),
        objectives: rows_of!(store, objective, o),
        key_results: rows_of!(store, key_result, o),
        kpis: rows_of!(store, kpi, o),
    }
}

fn counts(check_ins: &[check_in::Model]) -> HashMap<Uuid, u64> {
    let mut out: HashMap<Uuid, u64> = HashMap::new();
    for c in check_ins {
        *out.entry(c.key_result_id).or_default() += 1;
    }
    out
}

/// The effective points: for each observed time the latest correction.
fn effective_points(rows: &[kpi_measurement::Model]) -> HashMap<Uuid, Vec<Point>> {
    let mut by_time: HashMap<(Uuid, DateTime<Utc>), &kpi_measurement::Model> = HashMap::new();
    for m in rows {
        let key = (m.kpi_id, m.observed_at);
        let newer = by_time.get(&key).is_none_or(|b| (m.recorded_at, m.id) > (b.recorded_at, b.id));
        if newer {
            by_time.insert(key, m);
        }
    }
    let mut points: HashMap<Uuid, Vec<Point>> = HashMap::new();
    for ((k, t), m) in by_time {
        points.entry(k).or_default().push(Point { observed_at: t, value: m.value });
    }
    points
}

/// The tenant as it stood at `at`, replayed by hand: each key result's
/// value is its latest check-in made by then (the generator links none to
/// a KPI), objectives' progress follows by the domain's tree evaluation,
/// scores hold once their period has ended, and only the check-ins and
/// KPI points known by then count.
fn as_of(world: &World, settings: &OrganizationSettings, at: DateTime<Utc>) -> World {
    let known: Vec<check_in::Model> =
        world.check_in_rows.iter().filter(|c| c.created_at <= at).cloned().collect();
    let mut latest: HashMap<Uuid, &check_in::Model> = HashMap::new();
    for c in &known {
        let newer = latest.get(&c.key_result_id).is_none_or(|b| (c.created_at, c.id) > (b.created_at, b.id));
        if newer {
            latest.insert(c.key_result_id, c);
        }
    }
    let key_results: Vec<key_result::Model> = world
        .key_results
        .iter()
        .map(|k| {
            let mut k = k.clone();
            let (cur, conf, last) = match latest.get(&k.id) {
                Some(c) => (c.value, c.confidence, Some(c.created_at)),
                None => (k.start_value, None, None),
            };
            k.current_value = cur;
            k.confidence = conf;
            k.last_check_in_at = last;
            k.progress = key_result_progress(k.measure.parse().unwrap(), k.start_value, k.target_value, cur);
            k
        })
        .collect();
    let measurement_rows: Vec<kpi_measurement::Model> = world
        .measurement_rows
        .iter()
        .filter(|m| m.recorded_at <= at && m.observed_at <= at)
        .cloned()
        .collect();
    let mut then = World {
        org: world.org,
        units: world.units.clone(),
        periods: world.periods.clone(),
        objectives: world.objectives.clone(),
        key_results,
        check_ins: counts(&known),
        points: effective_points(&measurement_rows),
        check_in_rows: known,
        measurement_rows,
        kpis: world.kpis.clone(),
    };
    let goals = tree_goals(&then);
    let mut memo = HashMap::new();
    for o in &mut then.objectives {
        o.progress = goal_numbers(&goals, ObjectiveId(o.id), at, settings, &mut memo)
            .map(|n| n.progress)
            .unwrap_or(0.0);
        if !world.periods[&o.period_id].has_ended(at) {
            o.score = None;
        }
    }
    then
}

/// The sums a row's measures are made of, recomputed item by item.
#[derive(Default, Clone)]
struct Acc {
    objectives: Vec<(f64, Option<f64>, Option<Health>)>,
    key_results: u64,
    stale: u64,
    check_ins: u64,
    kpis: Vec<(KpiStatus, Option<f64>)>,
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = xs.collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn share<T>(items: &[T], with: impl Fn(&T) -> bool, of: impl Fn(&T) -> bool) -> Option<f64> {
    let base: Vec<&T> = items.iter().filter(|i| of(i)).collect();
    (!base.is_empty()).then(|| base.iter().filter(|i| with(i)).count() as f64 / base.len() as f64)
}

impl Acc {
    fn value(&self, m: M) -> Option<f64> {
        let has = |h: &(f64, Option<f64>, Option<Health>)| h.2.is_some();
        let krs = self.key_results as f64;
        let per_kr = |n: u64| (self.key_results > 0).then(|| n as f64 / krs);
        match m {
            M::ObjectiveCount => Some(self.objectives.len() as f64),
            M::AverageProgress => mean(self.objectives.iter().map(|o| o.0)),
            M::AverageScore => mean(self.objectives.iter().filter_map(|o| o.1)),
            M::ShareOnTrack => share(&self.objectives, |o| o.2 == Some(Health::OnTrack), has),
            M::ShareAtRisk => share(&self.objectives, |o| o.2 == Some(Health::AtRisk), has),
            M::ShareOffTrack => share(&self.objectives, |o| o.2 == Some(Health::OffTrack), has),
            M::KeyResultCount => Some(krs),
            M::ShareStaleKeyResults => per_kr(self.stale),
            M::CheckInsPerKeyResult => per_kr(self.check_ins),
            M::KpiCount => Some(self.kpis.len() as f64),
            M::KpiShareHealthy => share(&self.kpis, |k| k.0 == KpiStatus::Healthy, |_| true),
            M::KpiShareAtRisk => share(&self.kpis, |k| k.0 == KpiStatus::AtRisk, |_| true),
            M::KpiShareBreached => share(&self.kpis, |k| k.0 == KpiStatus::Breached, |_| true),
            M::KpiDaysInBreach => mean(self.kpis.iter().filter_map(|k| k.1)),
        }
    }
}

/// The unit a unit folds into under `anchor` (its child on the path), or
/// None outside the anchor's subtree.
fn fold(world: &World, unit: Uuid, anchor: Uuid) -> Option<Uuid> {
    let mut path = vec![unit];
    let mut at = unit;
    while at != anchor {
        at = world.units.get(&at)?.parent_id?;
        path.push(at);
    }
    // path: unit … child-of-anchor, anchor
    Some(if path.len() >= 2 { path[path.len() - 2] } else { anchor })
}

fn root(world: &World) -> Uuid {
    world.units.values().find(|u| u.parent_id.is_none()).unwrap().id
}

/// A row: dimension values and measure values.
type Row = (Vec<V>, Vec<Option<f64>>);

/// The goal tree of every objective, as `goal_numbers` reads it.
fn tree_goals(world: &World) -> HashMap<ObjectiveId, TreeGoal> {
    let mut krs_of: HashMap<Uuid, Vec<&key_result::Model>> = HashMap::new();
    for k in &world.key_results {
        krs_of.entry(k.objective_id).or_default().push(k);
    }
    world
        .objectives
        .iter()
        .map(|o| {
            let children = world
                .objectives
                .iter()
                .filter(|c| c.parent_id == Some(o.id) && c.status != "CANCELLED")
                .map(|c| ObjectiveId(c.id))
                .collect();
            let key_results = krs_of
                .get(&o.id)
                .map(|ks| {
                    ks.iter()
                        .map(|k| TreeKeyResult {
                            measure: k.measure.parse().unwrap(),
                            progress: k.progress,
                            weight: k.weight,
                            confidence: k.confidence,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let goal = TreeGoal {
                driver: o.progress_driver.as_deref().map(|d| d.parse().unwrap()),
                window: world.periods[&o.period_id],
                key_results,
                children,
            };
            (ObjectiveId(o.id), goal)
        })
        .collect()
}

/// The report recomputed in Rust: (rows sorted by dimension values, totals).
fn recompute(
    world: &World,
    actor: &Actor,
    spec: &ReportSpec,
    settings: &OrganizationSettings,
    now: DateTime<Utc>,
) -> (Vec<Row>, Vec<Option<f64>>) {
    let f = &spec.filter;
    let anchor = f.unit_id.map(|u| u.0).unwrap_or_else(|| root(world));
    let unit_value = |u: Uuid| -> Option<Uuid> {
        if spec.roll_up || f.unit_id.is_some() {
            let bucket = fold(world, u, anchor)?;
            Some(if spec.roll_up { bucket } else { u })
        } else {
            Some(u)
        }
    };
    let wants_okr = spec.measures.iter().any(|m| m.family() == goalgraph_domain::report::Family::Okr);
    let wants_kpi = spec.measures.iter().any(|m| m.family() == goalgraph_domain::report::Family::Kpi);
    let mut groups: HashMap<Vec<V>, Acc> = HashMap::new();
    let mut total = Acc::default();

    if wants_okr {
        // Health: the domain's bottom-up tree evaluation over every objective.
        let mut krs_of: HashMap<Uuid, Vec<&key_result::Model>> = HashMap::new();
        for k in &world.key_results {
            krs_of.entry(k.objective_id).or_default().push(k);
        }
        let goals = tree_goals(world);
        let mut memo: HashMap<ObjectiveId, Numbers> = HashMap::new();
        for o in &world.objectives {
            let facts = GoalFacts {
                owning_unit: UnitId(o.owner_unit_id),
                owner_person: o.owner_person_id.map(PersonId),
                visibility: o.visibility.parse().unwrap(),
            };
            if !can_read(actor, &Resource::Objective { organization_id: world.org, goal: facts }) {
                continue;
            }
            let status: ObjectiveStatus = o.status.parse().unwrap();
            let kind: ObjectiveKind = o.kind.parse().unwrap();
            let level = if o.owner_person_id.is_some() {
                ObjectiveLevel::Person
            } else if world.units[&o.owner_unit_id].kind == "COMPANY" {
                ObjectiveLevel::Company
            } else {
                ObjectiveLevel::Unit
            };
            if (!f.period_ids.is_empty() && !f.period_ids.contains(&PeriodId(o.period_id)))
                || f.owner_person_id.is_some_and(|p| o.owner_person_id != Some(p.0))
                || (!f.statuses.is_empty() && !f.statuses.contains(&status))
                || (!f.kinds.is_empty() && !f.kinds.contains(&kind))
                || (!f.levels.is_empty() && !f.levels.contains(&level))
            {
                continue;
            }
            let Some(unit) = unit_value(o.owner_unit_id) else { continue };
            let health =
                goal_numbers(&goals, ObjectiveId(o.id), now, settings, &mut memo).and_then(|n| n.health);
            let window = world.periods[&o.period_id];
            let dims: Vec<V> = spec
                .dimensions
                .iter()
                .map(|d| match d {
                    D::Period => V::Period(PeriodId(o.period_id)),
                    D::Unit => V::Unit(UnitId(unit)),
                    D::Owner => o.owner_person_id.map(|p| V::Person(PersonId(p))).unwrap_or(V::Absent),
                    D::Level => V::Level(level),
                    D::Status => V::Status(status),
                    D::Kind => V::Kind(kind),
                    D::Health => health.map(V::Health).unwrap_or(V::Absent),
                    D::KpiCategory | D::KpiStatus => unreachable!("not an OKR dimension"),
                })
                .collect();
            let mut acc = Acc::default();
            acc.objectives.push((o.progress, o.score, health));
            for k in krs_of.get(&o.id).into_iter().flatten() {
                acc.key_results += 1;
                acc.check_ins += world.check_ins.get(&k.id).copied().unwrap_or(0);
                let since = k.created_at.max(window.start);
                if is_stale(
                    status == ObjectiveStatus::Active,
                    k.last_check_in_at,
                    since,
                    settings.check_in_cadence_days,
                    now,
                ) {
                    acc.stale += 1;
                }
            }
            for target in [groups.entry(dims).or_default(), &mut total] {
                target.objectives.extend(acc.objectives.iter().copied());
                target.key_results += acc.key_results;
                target.check_ins += acc.check_ins;
                target.stale += acc.stale;
            }
        }
    }
    if wants_kpi {
        for k in world.kpis.iter().filter(|k| !k.archived) {
            let facts = KpiFacts {
                id: KpiId(k.id),
                unit: UnitId(k.unit_id),
                owner: PersonId(k.owner_id),
                sensitive: k.category == "PEOPLE",
            };
            if !can_read(actor, &Resource::Kpi { organization_id: world.org, kpi: facts }) {
                continue;
            }
            let category: KpiCategory = k.category.parse().unwrap();
            if f.owner_person_id.is_some_and(|p| k.owner_id != p.0)
                || (!f.categories.is_empty() && !f.categories.contains(&category))
            {
                continue;
            }
            let Some(unit) = unit_value(k.unit_id) else { continue };
            let direction: Direction = k.direction.parse().unwrap();
            let range = HealthyRange::parse(direction, k.healthy_lower, k.healthy_upper).unwrap();
            let tolerance = Tolerance::parse(k.tolerance_absolute, k.tolerance_percent).unwrap();
            let cadence: Cadence = k.cadence.parse().unwrap();
            let pts = world.points.get(&k.id).cloned().unwrap_or_default();
            let status = kpi_status(latest(&pts), &range, &tolerance, cadence, now);
            let days =
                breached_since(&pts, &range).map(|s| (now - s).num_milliseconds() as f64 / 86_400_000.0);
            let dims: Vec<V> = spec
                .dimensions
                .iter()
                .map(|d| match d {
                    D::Unit => V::Unit(UnitId(unit)),
                    D::Owner => V::Person(PersonId(k.owner_id)),
                    D::KpiCategory => V::Category(category),
                    D::KpiStatus => V::KpiStatus(status),
                    _ => unreachable!("not a KPI dimension"),
                })
                .collect();
            groups.entry(dims).or_default().kpis.push((status, days));
            total.kpis.push((status, days));
        }
    }
    if spec.dimensions.is_empty() {
        groups.entry(vec![]).or_default();
    }
    let values = |a: &Acc| spec.measures.iter().map(|m| a.value(*m)).collect::<Vec<_>>();
    let mut rows: Vec<Row> = groups.iter().map(|(k, a)| (k.clone(), values(a))).collect();
    rows.sort_by_key(|r| format!("{:?}", r.0));
    (rows, values(&total))
}

fn close(a: Option<f64>, b: Option<f64>, m: M) -> bool {
    let eps = if m == M::KpiDaysInBreach { 1e-3 } else { 1e-9 };
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => (x - y).abs() <= eps * (1.0 + x.abs()),
        _ => false,
    }
}

async fn check(
    store: &Store,
    world: &World,
    actor: &Actor,
    who: &str,
    spec: &ReportSpec,
    settings: &OrganizationSettings,
    now: DateTime<Utc>,
) -> Vec<Row> {
    check_at(store, world, actor, who, spec, settings, now, None).await
}

/// `check` of the report as of `at` against the replayed tenant.
#[allow(clippy::too_many_arguments)]
async fn check_at(
    store: &Store,
    world: &World,
    actor: &Actor,
    who: &str,
    spec: &ReportSpec,
    settings: &OrganizationSettings,
    now: DateTime<Utc>,
    at: Option<DateTime<Utc>>,
) -> Vec<Row> {
    let report = store
        .report_at(actor, spec, settings, now, at)
        .await
        .unwrap_or_else(|e| panic!("{who} {spec:?} as of {at:?}: {e}"));
    let now = at.unwrap_or(now);
    let who = &format!("{who} (as of {at:?})");
    let (rows, totals) = recompute(world, actor, spec, settings, now);
    let mut got: Vec<Row> = report.rows.iter().map(|r| (r.dimensions.clone(), r.values.clone())).collect();
    got.sort_by_key(|r| format!("{:?}", r.0));
    let keys = |rs: &[Row]| rs.iter().map(|r| format!("{:?}", r.0)).collect::<Vec<_>>();
    assert_eq!(keys(&got), keys(&rows), "{who}: row keys of {spec:?}");
    for ((k, g), (_, e)) in got.iter().zip(&rows) {
        for (i, m) in spec.measures.iter().enumerate() {
            assert!(
                close(g[i], e[i], *m),
                "{who}: {m:?} of row {k:?}: report {:?}, recomputed {:?}",
                g[i],
                e[i]
            );
        }
    }
    for (i, m) in spec.measures.iter().enumerate() {
        assert!(
            close(report.totals[i], totals[i], *m),
            "{who}: total {m:?}: {:?} vs {:?}",
            report.totals[i],
            totals[i]
        );
    }
    rows
}

fn specs(world: &World) -> Vec<ReportSpec> {
    let okr: Vec<M> =
        M::ALL.iter().copied().filter(|m| m.family() == goalgraph_domain::report::Family::Okr).collect();
    let kpis: Vec<M> =
        M::ALL.iter().copied().filter(|m| m.family() == goalgraph_domain::report::Family::Kpi).collect();
    let division = world.units.values().find(|u| u.parent_id == Some(root(world))).unwrap();
    let period = world.periods.keys().next().copied().unwrap();
    let spec = |measures: &[M], dimensions: &[D]| ReportSpec {
        measures: measures.to_vec(),
        dimensions: dimensions.to_vec(),
        ..Default::default()
    };
    vec![
        spec(&okr, &[D::Period, D::Unit]),
        spec(&okr, &[D::Level, D::Status, D::Kind]),
        spec(&okr, &[D::Health, D::Owner]),
        spec(&okr, &[]),
        spec(&kpis, &[D::Unit, D::KpiCategory, D::KpiStatus]),
        spec(&kpis, &[D::Owner]),
        ReportSpec { roll_up: true, ..spec(M::ALL, &[D::Unit]) },
        ReportSpec {
            roll_up: true,
            filter: ReportFilter {
                unit_id: Some(UnitId(division.id)),
                period_ids: vec![PeriodId(period)],
                statuses: vec![ObjectiveStatus::Active, ObjectiveStatus::Completed],
                kinds: vec![ObjectiveKind::Committed],
                categories: vec![KpiCategory::Operational, KpiCategory::People],
                ..Default::default()
            },
            ..spec(
                &[M::ObjectiveCount, M::AverageProgress, M::ShareOffTrack, M::KpiCount, M::KpiShareBreached],
                &[D::Unit],
            )
        },
        ReportSpec {
            filter: ReportFilter {
                unit_id: Some(UnitId(division.id)),
                levels: vec![ObjectiveLevel::Person, ObjectiveLevel::Company],
                ..Default::default()
            },
            ..spec(&[M::ObjectiveCount, M::ShareStaleKeyResults], &[D::Unit, D::Level])
        },
    ]
}

pub async fn reports_equal_a_recomputation_for_every_role(db: TestDb) {
    let store = crate::common::connect(&db).await;
    let now = Utc.with_ymd_and_hms(2026, 11, 15, 12, 0, 0).single().unwrap();
    for (seed, people) in [(11_u64, 40_u32), (3, 24)] {
        let opts =
            GenerateOptions { now, ..GenerateOptions::new(people, 2, seed, &format!("report-{seed}")) };
        let generated = store.generate(&opts, &|_, _, _| {}).await.unwrap();
        let org = generated.organization.id;
        let settings = generated.organization.settings.clone();
        let world = load(&store, org, &settings).await;
        let admin = store.person_actor(&generated.admin, &RoleSet::new([])).await.unwrap();
        // A team lead (a manager of a unit at the bottom of the tree) and a
        // member of a team.
        let managers = rows_of!(store, unit_manager, org.0);
        let depth = |u: Uuid| {
            let mut d = 0;
            let mut at = u;
            while let Some(p) = world.units[&at].parent_id {
                d += 1;
                at = p;
            }
            d
        };
        let head = managers.iter().max_by_key(|m| (depth(m.unit_id), m.unit_id)).unwrap().person_id;
        let people_rows = rows_of!(store, person, org.0);
        let member_row = people_rows
            .iter()
            .find(|p| {
                p.roles.contains("MEMBER")
                    && !p.roles.contains("ADMIN")
                    && !p.roles.contains("HR")
                    && managers.iter().all(|m| m.person_id != p.id)
            })
            .unwrap();
        let actor_of = |id: Uuid| {
            let store = &store;
            let admin = &admin;
            async move {
                let p = store.person(admin, PersonId(id)).await.unwrap();
                store.person_actor(&p, &RoleSet::new([])).await.unwrap()
            }
        };
        let manager = actor_of(head).await;
        assert!(manager.has_role(Role::Manager), "the department head is a manager");
        let member = actor_of(member_row.id).await;
        let thens: Vec<(DateTime<Utc>, World)> =
            [now - chrono::Duration::days(200), now - chrono::Duration::days(25), now]
                .into_iter()
                .map(|at| (at, as_of(&world, &settings, at)))
                .collect();
        let all_specs = specs(&world);
        // Every measure and dimension, as of each instant.
        let history_specs: Vec<ReportSpec> = [0, 2, 4, 6].iter().map(|i| all_specs[*i].clone()).collect();
        for spec in all_specs {
            let all = check(&store, &world, &admin, "admin", &spec, &settings, now).await;
            let managed = check(&store, &world, &manager, "manager", &spec, &settings, now).await;
            check(&store, &world, &member, "member", &spec, &settings, now).await;
            // History: the same report as of three instants, against a
            // replay by hand of what was known then (the first before any
            // check-in, the last at the end of history, where the replay
            // and the stored values must agree).
            if history_specs.contains(&spec) {
                for (at, then) in &thens {
                    for (who, actor) in [("admin", &admin), ("manager", &manager)] {
                        check_at(&store, then, actor, who, &spec, &settings, now, Some(*at)).await;
                    }
                }
            }
            if spec.dimensions.is_empty() {
                // The admin counts exactly what the manager may not see on
                // top of the manager's count (positive control: there is
                // something hidden from the manager).
                let hidden = world
                    .objectives
                    .iter()
                    .filter(|o| {
                        let facts = GoalFacts {
                            owning_unit: UnitId(o.owner_unit_id),
                            owner_person: o.owner_person_id.map(PersonId),
                            visibility: o.visibility.parse().unwrap(),
                        };
                        !can_read(&manager, &Resource::Objective { organization_id: org, goal: facts })
                    })
                    .count() as f64;
                assert!(hidden > 0.0, "seed {seed}: the manager sees everything; the data tests nothing");
                let count = |rows: &[Row]| rows[0].1[0].unwrap();
                assert_eq!(count(&all) - count(&managed), hidden, "seed {seed}");
            }
        }
        // A statement limit given to the rows applies to their statement:
        // on PostgreSQL 1 ms cancels a report as of an instant, a minute
        // does not; SQLite has no statement limit.
        let at = Some(now - chrono::Duration::days(25));
        for (limit, cancelled) in [(1, store.backend() == Backend::Postgres), (60_000, false)] {
            let query = store.prepare_report(&admin, &history_specs[0], &settings, now, at).await.unwrap();
            let rows = query.rows(&store, Some(std::time::Duration::from_millis(limit))).await.unwrap();
            match rows.collect().await {
                Ok(_) => assert!(!cancelled, "seed {seed}: a {limit} ms limit was not applied"),
                Err(e) => {
                    assert!(cancelled, "seed {seed}: {limit} ms: {e}");
                    assert!(e.to_string().contains("statement timeout"), "{e}");
                }
            }
        }
    }
    // Reports never cross tenants: a third tenant's admin sees none of it.
    let now_opts = GenerateOptions { now, ..GenerateOptions::new(10, 1, 99, "report-other") };
    let other = store.generate(&now_opts, &|_, _, _| {}).await.unwrap();
    let other_admin = store.person_actor(&other.admin, &RoleSet::new([])).await.unwrap();
    let spec = ReportSpec { measures: vec![M::ObjectiveCount], ..Default::default() };
    let own = store.report_at(&other_admin, &spec, &other.organization.settings, now, None).await.unwrap();
    let stored = rows_of!(store, objective, other.organization.id.0).len() as f64;
    assert_eq!(own.totals[0], Some(stored), "only the tenant's own objectives");
}
