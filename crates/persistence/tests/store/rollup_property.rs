//! The stored rollup always equals a full recomputation: random alignment
//! forests, random key results of every measure, and random sequences of
//! check-ins, weight changes, re-parentings, driver changes, completions and
//! cancellations, with every stored number compared after each step against
//! a model written here from the product brief's definitions. A seeded
//! xorshift PRNG makes every run the same; the seed is in every failure
//! message (`ROLLUP_SEED=<n>` replays another one).

use crate::common::{Tenant, connect, tenant};
use crate::goals_fixture::*;
use chrono::NaiveDate;
use goalgraph_domain::model::UnitKind;
use goalgraph_domain::okr::{Measure, ObjectiveStatus, Owner, ProgressDriver, Visibility};
use goalgraph_domain::{DomainError, KeyResultId, ObjectiveId, PeriodId};
use goalgraph_persistence::entity::{key_result, objective};
use goalgraph_persistence::{KeyResultPatch, ObjectivePatch, Store, StoreError, StoreResult};
use goalgraph_testkit::TestDb;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::fmt::Debug;

const DEFAULT_SEED: u64 = 0x5EED_2026_0A11_0C8E;
const ITERATIONS: usize = 20;
const OPERATIONS: usize = 30;

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

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

#[derive(Debug, Clone)]
struct MObjective {
    id: ObjectiveId,
    period: usize,
    parent: Option<ObjectiveId>,
    driver: Option<ProgressDriver>,
    status: ObjectiveStatus,
}

#[derive(Debug, Clone)]
struct MKeyResult {
    id: KeyResultId,
    objective: ObjectiveId,
    measure: Measure,
    start: f64,
    target: f64,
    current: f64,
    weight: f64,
}

/// What the test believes is stored.
struct Model {
    periods: Vec<(PeriodId, NaiveDate, NaiveDate)>,
    objectives: Vec<MObjective>,
    key_results: Vec<MKeyResult>,
}

/// The brief: clamped to [0, 1]; INCREASE/DECREASE (current − start) /
/// (target − start); MAINTAIN_ABOVE 1 while current ≥ target; MAINTAIN_BELOW
/// 1 while current ≤ target; MILESTONE 1 when current ≥ 1.
fn kr_progress(k: &MKeyResult) -> f64 {
    let reached = |b: bool| if b { 1.0 } else { 0.0 };
    match k.measure {
        Measure::Increase | Measure::Decrease => {
            ((k.current - k.start) / (k.target - k.start)).clamp(0.0, 1.0)
        }
        Measure::MaintainAbove => reached(k.current >= k.target),
        Measure::MaintainBelow => reached(k.current <= k.target),
        Measure::Milestone => reached(k.current >= 1.0),
    }
}

impl Model {
    fn objective(&self, id: ObjectiveId) -> &MObjective {
        self.objectives.iter().find(|o| o.id == id).expect("objective in the model")
    }

    fn objective_mut(&mut self, id: ObjectiveId) -> &mut MObjective {
        self.objectives.iter_mut().find(|o| o.id == id).expect("objective in the model")
    }

    fn kr_mut(&mut self, id: KeyResultId) -> &mut MKeyResult {
        self.key_results.iter_mut().find(|k| k.id == id).expect("key result in the model")
    }

    fn is_open(&self, id: ObjectiveId) -> bool {
        matches!(self.objective(id).status, ObjectiveStatus::Draft | ObjectiveStatus::Active)
    }

    fn overlap(&self, a: usize, b: usize) -> bool {
        let (_, a_start, a_end) = self.periods[a];
        let (_, b_start, b_end) = self.periods[b];
        a_start <= b_end && b_start <= a_end
    }

    /// Whether `ancestor` is `id` or above it in the alignment tree.
    fn is_at_or_above(&self, ancestor: ObjectiveId, id: ObjectiveId) -> bool {
        let mut cur = Some(id);
        let mut steps = 0;
        while let Some(c) = cur {
            if c == ancestor {
                return true;
            }
            steps += 1;
            assert!(steps < 10_000, "the model has a cycle");
            cur = self.objective(c).parent;
        }
        false
    }

    /// The brief: by the driver (KEY_RESULTS by default with key results,
    /// ALIGNED_OBJECTIVES without): the weight-average of the key results,
    /// the plain average of the non-cancelled children, or both with each
    /// child weighing 1. No inputs: 0.
    fn progress(&self, id: ObjectiveId, memo: &mut HashMap<ObjectiveId, f64>) -> f64 {
        if let Some(p) = memo.get(&id) {
            return *p;
        }
        let krs: Vec<&MKeyResult> = self.key_results.iter().filter(|k| k.objective == id).collect();
        let driver = self.objective(id).driver.unwrap_or(if krs.is_empty() {
            ProgressDriver::AlignedObjectives
        } else {
            ProgressDriver::KeyResults
        });
        let use_krs = matches!(driver, ProgressDriver::KeyResults | ProgressDriver::Both);
        let use_children = matches!(driver, ProgressDriver::AlignedObjectives | ProgressDriver::Both);
        let (mut sum, mut weights) = (0.0, 0.0);
        if use_krs {
            for k in &krs {
                sum += kr_progress(k) * k.weight;
                weights += k.weight;
            }
        }
        if use_children {
            let children: Vec<ObjectiveId> = self
                .objectives
                .iter()
                .filter(|o| o.parent == Some(id) && o.status != ObjectiveStatus::Cancelled)
                .map(|o| o.id)
                .collect();
            for c in children {
                sum += self.progress(c, memo);
                weights += 1.0;
            }
        }
        let p = if weights > 0.0 { sum / weights } else { 0.0 };
        memo.insert(id, p);
        p
    }
}

struct Run<'a> {
    store: &'a Store,
    t: &'a Tenant,
    rng: Rng,
    model: Model,
    seed: u64,
    owners: Vec<Owner>,
    /// Where we are, for failure messages.
    step: String,
    /// How often each kind of operation ran, to show the seed covers them all.
    stats: std::collections::BTreeMap<&'static str, usize>,
}

fn is_invalid<T>(r: &StoreResult<T>) -> bool {
    matches!(r, Err(StoreError::Domain(DomainError::Invalid { .. })))
}

impl Run<'_> {
    fn count(&mut self, what: &'static str) {
        *self.stats.entry(what).or_default() += 1;
    }

    #[track_caller]
    fn fail(&self, what: String) -> ! {
        panic!("seed {} ({:#x}), {}: {what}", self.seed, self.seed, self.step)
    }

    #[track_caller]
    fn expect_ok<T: Debug>(&self, r: StoreResult<T>, what: &str) -> T {
        match r {
            Ok(v) => v,
            Err(e) => self.fail(format!("{what}: expected success, got {e:?}")),
        }
    }

    #[track_caller]
    fn expect_invalid<T: Debug>(&self, r: StoreResult<T>, what: &str) {
        if !is_invalid(&r) {
            self.fail(format!("{what}: expected Invalid, got {r:?}"));
        }
    }

    fn random_measure(&mut self) -> (Measure, f64, f64) {
        let r = &mut self.rng;
        let start = r.int(-50, 50) as f64;
        match r.below(5) {
            0 => (Measure::Increase, start, start + r.int(1, 100) as f64),
            1 => (Measure::Decrease, start, start - r.int(1, 100) as f64),
            2 => (Measure::MaintainAbove, start, r.int(-50, 50) as f64),
            3 => (Measure::MaintainBelow, start, r.int(-50, 50) as f64),
            _ => (Measure::Milestone, 0.0, 1.0),
        }
    }

    fn random_weight(&mut self) -> f64 {
        if self.rng.below(2) == 0 {
            self.rng.pick(&[0.5, 1.0, 2.0, 3.0])
        } else {
            0.1 + self.rng.unit() * 4.9
        }
    }

    fn random_driver(&mut self) -> Option<ProgressDriver> {
        self.rng.pick(&[
            None,
            None,
            Some(ProgressDriver::KeyResults),
            Some(ProgressDriver::AlignedObjectives),
            Some(ProgressDriver::Both),
        ])
    }

    fn random_value(&mut self, k: &MKeyResult) -> f64 {
        match k.measure {
            Measure::Increase | Measure::Decrease => {
                // From 30 % behind the start to 30 % beyond the target.
                let u = -0.3 + self.rng.unit() * 1.6;
                k.start + (k.target - k.start) * u
            }
            Measure::MaintainAbove | Measure::MaintainBelow => k.target + self.rng.int(-2, 2) as f64,
            Measure::Milestone => self.rng.pick(&[0.0, 0.5, 1.0, 1.0]),
        }
    }

    async fn create_objective(
        &mut self,
        iteration: usize,
        n: usize,
        candidates: &[ObjectiveId],
    ) -> ObjectiveId {
        let period = self.rng.below(self.model.periods.len());
        let owner = self.rng.pick(&self.owners);
        let driver = self.random_driver();
        let overlapping: Vec<ObjectiveId> = candidates
            .iter()
            .copied()
            .filter(|c| self.model.overlap(self.model.objective(*c).period, period))
            .collect();
        let parent = if overlapping.is_empty() || self.rng.below(4) == 0 {
            None
        } else {
            Some(self.rng.pick(&overlapping))
        };
        let new = new_objective(self.model.periods[period].0, owner, &format!("it{iteration} o{n}"), parent);
        let visibility = self.rng.pick(&[Visibility::Public, Visibility::Unit, Visibility::Private]);
        let r = self.store.create_objective(
            &self.t.actor,
            goalgraph_persistence::NewObjective { progress_driver: driver, visibility, ..new },
        );
        let o = self.expect_ok(r.await, "create objective");
        self.model.objectives.push(MObjective {
            id: o.id,
            period,
            parent,
            driver,
            status: ObjectiveStatus::Active,
        });
        o.id
    }

    async fn create_key_result(&mut self, objective: ObjectiveId) {
        let (measure, start, target) = self.random_measure();
        let weight = self.random_weight();
        let new = new_key_result(objective, self.t.admin.id, measure, start, target, weight);
        let r = self.store.create_key_result(&self.t.actor, new).await;
        if self.model.is_open(objective) {
            let k = self.expect_ok(r, "create key result");
            self.model.key_results.push(MKeyResult {
                id: k.id,
                objective,
                measure,
                start,
                target,
                current: start,
                weight,
            });
        } else {
            self.expect_invalid(r, "create key result on a finished objective");
            self.count("key result refused (finished objective)");
        }
    }

    /// One random operation on the objectives and key results of `scope`.
    async fn operate(&mut self, scope: &[ObjectiveId]) {
        let krs: Vec<KeyResultId> =
            self.model.key_results.iter().filter(|k| scope.contains(&k.objective)).map(|k| k.id).collect();
        let roll = self.rng.below(100);
        match roll {
            0..=34 if !krs.is_empty() => {
                let id = self.rng.pick(&krs);
                let k = self.model.key_results.iter().find(|k| k.id == id).cloned().expect("kr");
                let value = self.random_value(&k);
                self.step =
                    format!("{} / check-in {value} on {:?} {}->{}", self.step, k.measure, k.start, k.target);
                let r = self.store.check_in(&self.t.actor, check_in_input(id, value)).await;
                if self.model.is_open(k.objective) {
                    self.expect_ok(r, "check-in");
                    self.model.kr_mut(id).current = value;
                    self.count("check-in");
                } else {
                    self.expect_invalid(r, "check-in on a finished objective");
                    self.count("check-in refused (finished objective)");
                }
            }
            35..=44 if !krs.is_empty() => {
                let id = self.rng.pick(&krs);
                let weight = self.random_weight();
                self.step = format!("{} / weight {weight}", self.step);
                let patch = KeyResultPatch { weight: Some(weight), ..Default::default() };
                let r = self.store.update_key_result(&self.t.actor, id, patch).await;
                let objective = self.model.key_results.iter().find(|k| k.id == id).map(|k| k.objective);
                if objective.is_some_and(|o| self.model.is_open(o)) {
                    self.expect_ok(r, "weight change");
                    self.model.kr_mut(id).weight = weight;
                    self.count("weight change");
                } else {
                    self.expect_invalid(r, "weight change on a finished objective");
                    self.count("weight change refused (finished objective)");
                }
            }
            45..=49 if !krs.is_empty() => {
                let id = self.rng.pick(&krs);
                let k = self.model.key_results.iter().find(|k| k.id == id).cloned().expect("kr");
                // A target on the right side of the start, or (for INCREASE/DECREASE) the start itself.
                let step = self.rng.int(1, 60) as f64;
                let (target, valid) = match k.measure {
                    Measure::Increase if self.rng.below(4) == 0 => (k.start, false),
                    Measure::Decrease if self.rng.below(4) == 0 => (k.start, false),
                    Measure::Increase => (k.start + step, true),
                    Measure::Decrease => (k.start - step, true),
                    Measure::MaintainAbove | Measure::MaintainBelow => {
                        (k.target + self.rng.int(-3, 3) as f64, true)
                    }
                    Measure::Milestone => (1.0, true),
                };
                self.step = format!("{} / target {target} for {:?} from {}", self.step, k.measure, k.start);
                let patch = KeyResultPatch { target: Some(target), ..Default::default() };
                let r = self.store.update_key_result(&self.t.actor, id, patch).await;
                if !self.model.is_open(k.objective) {
                    self.expect_invalid(r, "target change on a finished objective");
                    self.count("target change refused (finished objective)");
                } else if !valid {
                    self.expect_invalid(r, "a target equal to the start");
                    self.count("target change refused (direction)");
                } else {
                    self.expect_ok(r, "target change");
                    self.model.kr_mut(id).target = target;
                    self.count("target change");
                }
            }
            0..=69 => {
                let id = self.rng.pick(scope);
                // Mostly within this forest, sometimes anywhere in the organization, sometimes none.
                let parent = match self.rng.below(10) {
                    0..=1 => None,
                    2 => Some(self.rng.pick(&self.model.objectives.iter().map(|o| o.id).collect::<Vec<_>>())),
                    _ => Some(self.rng.pick(scope)),
                };
                self.step = format!(
                    "{} / re-parent under {}",
                    self.step,
                    parent.map_or("nothing".into(), |p| format!("{p:?}"))
                );
                let r = self.store.reparent_objective(&self.t.actor, id, parent, None).await;
                let me = self.model.objective(id).clone();
                match parent {
                    Some(p) if self.model.is_at_or_above(id, p) => {
                        // A cycle (or itself).
                        match r {
                            Err(StoreError::Domain(DomainError::Invalid { field, .. }))
                                if field == "parentObjectiveId" =>
                            {
                                self.count("re-parent refused (cycle)");
                            }
                            other => self.fail(format!(
                                "re-parent making a cycle: expected Invalid parentObjectiveId, got {other:?}"
                            )),
                        }
                    }
                    Some(p) if !self.model.overlap(me.period, self.model.objective(p).period) => {
                        self.expect_invalid(r, "re-parent under a parent whose period does not overlap");
                        self.count("re-parent refused (periods do not overlap)");
                    }
                    _ => {
                        if is_invalid(&r) && !self.model.is_open(id) {
                            // Moving a finished objective may be refused; nothing changes.
                            self.count("re-parent of a finished objective refused");
                        } else {
                            self.expect_ok(r, "re-parent");
                            self.model.objective_mut(id).parent = parent;
                            self.count(if parent.is_some() { "re-parent" } else { "re-parent to nothing" });
                        }
                    }
                }
            }
            70..=81 => {
                let id = self.rng.pick(scope);
                self.step = format!("{} / cancel", self.step);
                let r = self
                    .store
                    .transition_objective(
                        &self.t.actor,
                        id,
                        ObjectiveStatus::Cancelled,
                        Some("random".into()),
                        None,
                    )
                    .await;
                if self.model.is_open(id) {
                    self.expect_ok(r, "cancel");
                    self.model.objective_mut(id).status = ObjectiveStatus::Cancelled;
                    self.count("cancel");
                } else {
                    self.expect_invalid(r, "cancel a finished objective");
                    self.count("cancel refused");
                }
            }
            82..=87 => {
                let id = self.rng.pick(scope);
                self.step = format!("{} / complete", self.step);
                let r = self
                    .store
                    .transition_objective(&self.t.actor, id, ObjectiveStatus::Completed, None, None)
                    .await;
                if self.model.objective(id).status == ObjectiveStatus::Active {
                    self.expect_ok(r, "complete");
                    self.model.objective_mut(id).status = ObjectiveStatus::Completed;
                    self.count("complete");
                } else {
                    self.expect_invalid(r, "complete a cancelled or completed objective");
                    self.count("complete refused");
                }
            }
            88..=94 => {
                let id = self.rng.pick(scope);
                let driver = self.random_driver();
                self.step = format!("{} / driver {driver:?}", self.step);
                let patch = ObjectivePatch { progress_driver: Some(driver), ..Default::default() };
                let r = self.store.update_objective(&self.t.actor, id, patch).await;
                if is_invalid(&r) && !self.model.is_open(id) {
                    // Editing a finished objective may be refused; nothing changes.
                    self.count("driver change of a finished objective refused");
                } else {
                    self.expect_ok(r, "driver change");
                    self.model.objective_mut(id).driver = driver;
                    self.count("driver change");
                }
            }
            _ => {
                let id = self.rng.pick(scope);
                self.step = format!("{} / new key result", self.step);
                self.create_key_result(id).await;
            }
        }
    }

    /// Every stored objective and key result of the organization against the model.
    async fn verify(&self) {
        let org = self.t.org.id;
        let objectives = objective::Entity::find()
            .filter(objective::Column::OrganizationId.eq(org.0))
            .all(self.store.connection())
            .await
            .unwrap();
        let krs = key_result::Entity::find()
            .filter(key_result::Column::OrganizationId.eq(org.0))
            .all(self.store.connection())
            .await
            .unwrap();
        if objectives.len() != self.model.objectives.len() || krs.len() != self.model.key_results.len() {
            self.fail(format!(
                "stored {} objectives and {} key results, the model has {} and {}",
                objectives.len(),
                krs.len(),
                self.model.objectives.len(),
                self.model.key_results.len()
            ));
        }
        for row in &krs {
            let Some(k) = self.model.key_results.iter().find(|k| k.id.0 == row.id) else {
                self.fail(format!("unknown key result {}", row.id));
            };
            let want = kr_progress(k);
            if row.current_value != k.current || row.weight != k.weight || (row.progress - want).abs() > 1e-9
            {
                self.fail(format!(
                    "key result {:?} {}->{}: stored current {} weight {} progress {}, want current {} weight {} progress {want}",
                    k.measure, k.start, k.target, row.current_value, row.weight, row.progress, k.current, k.weight
                ));
            }
        }
        let mut memo = HashMap::new();
        for row in &objectives {
            let Some(o) = self.model.objectives.iter().find(|o| o.id.0 == row.id) else {
                self.fail(format!("unknown objective {}", row.id));
            };
            let driver = o.driver.map(|d| d.as_str().to_owned());
            if row.parent_id != o.parent.map(|p| p.0)
                || row.status != o.status.as_str()
                || row.progress_driver != driver
            {
                self.fail(format!(
                    "objective {}: stored parent {:?} status {} driver {:?}, want {:?} {:?} {:?}",
                    row.title, row.parent_id, row.status, row.progress_driver, o.parent, o.status, o.driver
                ));
            }
            let want = self.model.progress(o.id, &mut memo);
            if (row.progress - want).abs() > 1e-9 {
                let krs: Vec<String> = self
                    .model
                    .key_results
                    .iter()
                    .filter(|k| k.objective == o.id)
                    .map(|k| format!("{:?} p={} w={}", k.measure, kr_progress(k), k.weight))
                    .collect();
                let children: Vec<String> = self
                    .model
                    .objectives
                    .iter()
                    .filter(|c| c.parent == Some(o.id))
                    .map(|c| format!("{:?} p={}", c.status, self.model.progress(c.id, &mut memo.clone())))
                    .collect();
                self.fail(format!(
                    "objective {} ({:?}, driver {:?}): stored progress {}, recomputed {want}; key results {krs:?}; children {children:?}",
                    row.title, o.status, o.driver, row.progress
                ));
            }
        }
    }
}

pub async fn rollup_equals_recomputation(db: TestDb) {
    let seed = std::env::var("ROLLUP_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED);
    let store = connect(&db).await;
    let t = tenant(&store, "rollup-property").await;
    let d1 = t.unit(&store, UnitKind::Department, "One", t.company.id).await;
    let d2 = t.unit(&store, UnitKind::Department, "Two", t.company.id).await;
    // Q2 and the year 2026 overlap; Q1 2027 overlaps neither.
    let mut periods = Vec::new();
    for (name, start, end) in [
        ("Q2 2026", date(2026, 4, 1), date(2026, 6, 30)),
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("Q1 2027", date(2027, 1, 1), date(2027, 3, 31)),
    ] {
        periods.push((period(&store, &t, name, start, end).await.id, start, end));
    }
    let owners =
        vec![Owner::Unit(t.company.id), Owner::Unit(d1.id), Owner::Unit(d2.id), Owner::Person(t.admin.id)];
    let mut run = Run {
        store: &store,
        t: &t,
        rng: Rng::new(seed),
        model: Model { periods, objectives: vec![], key_results: vec![] },
        seed,
        owners,
        step: String::new(),
        stats: Default::default(),
    };
    for iteration in 0..ITERATIONS {
        // A random forest: each objective aligned to an earlier one whose period overlaps.
        let n = 5 + run.rng.below(6);
        let mut scope = Vec::new();
        for i in 0..n {
            run.step = format!("iteration {iteration}, building objective {i}");
            let id = run.create_objective(iteration, i, &scope).await;
            scope.push(id);
            run.verify().await;
        }
        for (i, id) in scope.clone().into_iter().enumerate() {
            for j in 0..run.rng.below(4) {
                run.step = format!("iteration {iteration}, key result {j} of objective {i}");
                run.create_key_result(id).await;
                run.verify().await;
            }
        }
        for op in 0..OPERATIONS {
            run.step = format!("iteration {iteration}, operation {op}");
            run.operate(&scope).await;
            run.verify().await;
        }
    }
    // The default seed exercises every kind of step, accepted and refused.
    eprintln!("seed {seed}: {:?}", run.stats);
    if seed == DEFAULT_SEED {
        for kind in [
            "check-in",
            "check-in refused (finished objective)",
            "weight change",
            "target change",
            "target change refused (direction)",
            "re-parent",
            "re-parent to nothing",
            "re-parent refused (cycle)",
            "re-parent refused (periods do not overlap)",
            "cancel",
            "cancel refused",
            "complete",
            "driver change",
        ] {
            assert!(
                run.stats.get(kind).copied().unwrap_or(0) > 0,
                "seed {seed} never ran a {kind}: {:?}",
                run.stats
            );
        }
    }
}
