//! DataLoaders: every relation resolves through one of these, so a nested
//! query costs one statement per level, not one per parent.

use crate::error::ApiError;
use crate::waves::Waves;
use async_graphql::dataloader::{DataLoader, Loader};
use chrono::{DateTime, Utc};
use goalgraph_domain::formulas::{Numbers, PeriodWindow};
use goalgraph_domain::kpi::Point;
use goalgraph_domain::model::{Period, Person, Unit};
use goalgraph_domain::okr::{CheckIn, KeyResult, Objective, Owner};
use goalgraph_domain::policy::Actor;
use goalgraph_domain::settings::OrganizationSettings;
use goalgraph_domain::trajectory::ObjectiveForecast;
use goalgraph_domain::{KeyResultId, ObjectiveId};
use goalgraph_domain::{PeriodId, PersonId, UnitId};
use goalgraph_persistence::{Page, PageArgs, PeopleFilter, PeopleParent, PersonOrder, SortDirection, Store};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

/// A DataLoader whose fetches run in the request's waves (see
/// [`Waves`]). Keys bind as one parameter, so batches need no size cap.
pub struct Batched<T> {
    inner: DataLoader<T>,
}

impl<T: Send + Sync + 'static> Batched<T> {
    fn new(inner: T, waves: &Waves) -> Self {
        let loader = DataLoader::new(inner, waves.spawner()).delay(Duration::ZERO).max_batch_size(usize::MAX);
        Self { inner: loader }
    }

    pub async fn load_one<K>(&self, key: K) -> Result<Option<T::Value>, T::Error>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        T: Loader<K>,
    {
        self.inner.load_one(key).await
    }

    pub async fn load_many<K, I>(&self, keys: I) -> Result<HashMap<K, T::Value>, T::Error>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        I: IntoIterator<Item = K>,
        T: Loader<K>,
    {
        self.inner.load_many(keys).await
    }
}

pub struct Loaders {
    pub units: Batched<UnitLoader>,
    pub people: Batched<PersonLoader>,
    pub periods: Batched<PeriodLoader>,
    pub children: Batched<ChildrenLoader>,
    pub unit_managers: Batched<UnitManagersLoader>,
    pub managed_units: Batched<ManagedUnitsLoader>,
    pub ancestors: Batched<AncestorsLoader>,
    pub people_pages: Batched<PeoplePagesLoader>,
    pub people_counts: Batched<PeopleCountsLoader>,
    pub objectives: Batched<ObjectiveLoader>,
    pub key_results: Batched<KeyResultLoader>,
    pub key_results_of: Batched<KeyResultsOfLoader>,
    pub key_results_with_latest: Batched<KeyResultsWithLatestLoader>,
    pub objective_children: Batched<ObjectiveChildrenLoader>,
    pub numbers: Batched<NumbersLoader>,
    pub windows: Batched<WindowLoader>,
    pub check_in_pages: Batched<CheckInPagesLoader>,
    pub check_in_counts: Batched<CheckInCountsLoader>,
    pub owner_objectives: Batched<OwnerObjectivesLoader>,
    pub kpis: Batched<KpiLoader>,
    pub kpi_states: Batched<KpiStateLoader>,
    pub measurement_pages: Batched<MeasurementPagesLoader>,
    pub measurement_counts: Batched<MeasurementCountsLoader>,
    pub unit_kpis: Batched<UnitKpisLoader>,
    pub linked_key_results: Batched<LinkedKeyResultsLoader>,
    pub kpi_objectives: Batched<KpiObjectivesLoader>,
    pub key_result_kpis: Batched<KeyResultKpiLoader>,
    pub forecast_points: Batched<ForecastPointsLoader>,
    pub check_in_history: Batched<CheckInHistoryLoader>,
    pub objective_forecasts: Batched<ObjectiveForecastLoader>,
    pub objective_numbers_as_of: Batched<ObjectiveAsOfLoader>,
    pub key_results_as_of: Batched<KeyResultAsOfLoader>,
}

impl Loaders {
    pub fn new(
        store: Store,
        actor: Actor,
        settings: OrganizationSettings,
        now: DateTime<Utc>,
        waves: &Waves,
    ) -> Self {
        let shared = Shared(Arc::new(SharedParts { store, actor, settings, now }));
        Self {
            units: Batched::new(UnitLoader(shared.clone()), waves),
            people: Batched::new(PersonLoader(shared.clone()), waves),
            periods: Batched::new(PeriodLoader(shared.clone()), waves),
            children: Batched::new(ChildrenLoader(shared.clone()), waves),
            unit_managers: Batched::new(UnitManagersLoader(shared.clone()), waves),
            managed_units: Batched::new(ManagedUnitsLoader(shared.clone()), waves),
            ancestors: Batched::new(AncestorsLoader(shared.clone()), waves),
            people_pages: Batched::new(PeoplePagesLoader(shared.clone()), waves),
            people_counts: Batched::new(PeopleCountsLoader(shared.clone()), waves),
            objectives: Batched::new(ObjectiveLoader(shared.clone()), waves),
            key_results: Batched::new(KeyResultLoader(shared.clone()), waves),
            key_results_of: Batched::new(KeyResultsOfLoader(shared.clone()), waves),
            key_results_with_latest: Batched::new(KeyResultsWithLatestLoader(shared.clone()), waves),
            objective_children: Batched::new(ObjectiveChildrenLoader(shared.clone()), waves),
            numbers: Batched::new(NumbersLoader(shared.clone()), waves),
            windows: Batched::new(WindowLoader(shared.clone()), waves),
            check_in_pages: Batched::new(CheckInPagesLoader(shared.clone()), waves),
            check_in_counts: Batched::new(CheckInCountsLoader(shared.clone()), waves),
            owner_objectives: Batched::new(OwnerObjectivesLoader(shared.clone()), waves),
            kpis: Batched::new(KpiLoader(shared.clone()), waves),
            kpi_states: Batched::new(KpiStateLoader(shared.clone()), waves),
            measurement_pages: Batched::new(MeasurementPagesLoader(shared.clone()), waves),
            measurement_counts: Batched::new(MeasurementCountsLoader(shared.clone()), waves),
            unit_kpis: Batched::new(UnitKpisLoader(shared.clone()), waves),
            linked_key_results: Batched::new(LinkedKeyResultsLoader(shared.clone()), waves),
            kpi_objectives: Batched::new(KpiObjectivesLoader(shared.clone()), waves),
            key_result_kpis: Batched::new(KeyResultKpiLoader(shared.clone()), waves),
            forecast_points: Batched::new(ForecastPointsLoader(shared.clone()), waves),
            check_in_history: Batched::new(CheckInHistoryLoader(shared.clone()), waves),
            objective_forecasts: Batched::new(ObjectiveForecastLoader(shared.clone()), waves),
            objective_numbers_as_of: Batched::new(ObjectiveAsOfLoader(shared.clone()), waves),
            key_results_as_of: Batched::new(KeyResultAsOfLoader(shared), waves),
        }
    }
}

/// What every loader of one request reads, shared (a request builds some
/// thirty loaders; the actor alone holds three sets of units).
#[derive(Clone)]
pub struct Shared(Arc<SharedParts>);

pub struct SharedParts {
    store: Store,
    actor: Actor,
    settings: OrganizationSettings,
    /// One "now" per request, so every computed number agrees.
    now: DateTime<Utc>,
}

impl std::ops::Deref for Shared {
    type Target = SharedParts;
    fn deref(&self) -> &SharedParts {
        &self.0
    }
}

pub struct UnitLoader(Shared);
pub struct PersonLoader(Shared);
pub struct PeriodLoader(Shared);
pub struct UnitManagersLoader(Shared);
pub struct ChildrenLoader(Shared);
pub struct PeoplePagesLoader(Shared);
pub struct AncestorsLoader(Shared);
pub struct PeopleCountsLoader(Shared);
pub struct ManagedUnitsLoader(Shared);
pub struct ObjectiveLoader(Shared);
pub struct KeyResultLoader(Shared);
pub struct KeyResultsOfLoader(Shared);
pub struct ObjectiveChildrenLoader(Shared);
pub struct NumbersLoader(Shared);
pub struct WindowLoader(Shared);
pub struct CheckInPagesLoader(Shared);
pub struct CheckInCountsLoader(Shared);
pub struct OwnerObjectivesLoader(Shared);
pub struct KpiLoader(Shared);
pub struct KpiStateLoader(Shared);
pub struct MeasurementPagesLoader(Shared);
pub struct MeasurementCountsLoader(Shared);
pub struct UnitKpisLoader(Shared);
pub struct LinkedKeyResultsLoader(Shared);
pub struct KpiObjectivesLoader(Shared);
pub struct KeyResultKpiLoader(Shared);
pub struct ForecastPointsLoader(Shared);
pub struct CheckInHistoryLoader(Shared);
pub struct ObjectiveForecastLoader(Shared);
pub struct ObjectiveAsOfLoader(Shared);
pub struct KeyResultAsOfLoader(Shared);

/// The keys of a batch grouped by their instant: one load per instant.
fn by_instant<K: Copy>(keys: &[(K, DateTime<Utc>)]) -> HashMap<DateTime<Utc>, Vec<K>> {
    let mut out: HashMap<DateTime<Utc>, Vec<K>> = HashMap::new();
    for (k, at) in keys {
        out.entry(*at).or_default().push(*k);
    }
    out
}

impl Loader<UnitId> for UnitLoader {
    type Value = Unit;
    type Error = ApiError;
    async fn load(&self, keys: &[UnitId]) -> Result<HashMap<UnitId, Unit>, ApiError> {
        Ok(self.0.store.units_by_ids(&self.0.actor, keys).await?)
    }
}

impl Loader<PersonId> for PersonLoader {
    type Value = Person;
    type Error = ApiError;
    async fn load(&self, keys: &[PersonId]) -> Result<HashMap<PersonId, Person>, ApiError> {
        Ok(self.0.store.people_by_ids(&self.0.actor, keys).await?)
    }
}

impl Loader<PeriodId> for PeriodLoader {
    type Value = Period;
    type Error = ApiError;
    async fn load(&self, keys: &[PeriodId]) -> Result<HashMap<PeriodId, Period>, ApiError> {
        Ok(self.0.store.periods_by_ids(&self.0.actor, keys).await?)
    }
}

impl Loader<UnitId> for UnitManagersLoader {
    type Value = Vec<PersonId>;
    type Error = ApiError;
    async fn load(&self, keys: &[UnitId]) -> Result<HashMap<UnitId, Vec<PersonId>>, ApiError> {
        Ok(self.0.store.unit_managers(&self.0.actor, keys).await?)
    }
}

impl Loader<PersonId> for ManagedUnitsLoader {
    type Value = Vec<UnitId>;
    type Error = ApiError;
    async fn load(&self, keys: &[PersonId]) -> Result<HashMap<PersonId, Vec<UnitId>>, ApiError> {
        Ok(self.0.store.managed_units(&self.0.actor, keys).await?)
    }
}

impl Loader<UnitId> for ChildrenLoader {
    type Value = Vec<Unit>;
    type Error = ApiError;
    async fn load(&self, keys: &[UnitId]) -> Result<HashMap<UnitId, Vec<Unit>>, ApiError> {
        Ok(self.0.store.children_of(&self.0.actor, keys).await?)
    }
}

impl Loader<UnitId> for AncestorsLoader {
    type Value = Vec<UnitId>;
    type Error = ApiError;
    async fn load(&self, keys: &[UnitId]) -> Result<HashMap<UnitId, Vec<UnitId>>, ApiError> {
        Ok(self.0.store.unit_ancestors_many(&self.0.actor, keys).await?)
    }
}

/// What a nested people list asks for, apart from whose people they are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeopleSpec {
    pub active: Option<bool>,
    pub search: Option<String>,
    pub order: PersonOrder,
    pub direction: SortDirection,
    pub args: PageArgs,
}

impl PeopleSpec {
    fn filter(&self) -> PeopleFilter {
        PeopleFilter { active: self.active, search: self.search.clone(), ..Default::default() }
    }
}

/// One page of one parent's people; requests with the same spec are
/// answered by one grouped statement per kind of parent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeoplePageKey {
    pub parent: PeopleParent,
    pub spec: PeopleSpec,
}

/// Groups keys by everything but the parent, and parents by kind.
fn batches<'a>(
    keys: impl Iterator<Item = (&'a PeopleParent, &'a PeopleSpec)>,
) -> HashMap<(bool, &'a PeopleSpec), Vec<PeopleParent>> {
    let mut out: HashMap<(bool, &PeopleSpec), Vec<PeopleParent>> = HashMap::new();
    for (parent, spec) in keys {
        let by_unit = matches!(parent, PeopleParent::Unit(_));
        out.entry((by_unit, spec)).or_default().push(*parent);
    }
    out
}

impl Loader<PeoplePageKey> for PeoplePagesLoader {
    type Value = Page<Person>;
    type Error = ApiError;
    async fn load(&self, keys: &[PeoplePageKey]) -> Result<HashMap<PeoplePageKey, Page<Person>>, ApiError> {
        let mut out = HashMap::new();
        for ((_, spec), parents) in batches(keys.iter().map(|k| (&k.parent, &k.spec))) {
            let pages = self
                .0
                .store
                .people_pages(&self.0.actor, &parents, &spec.filter(), spec.order, spec.direction, &spec.args)
                .await?;
            for parent in parents {
                let page =
                    pages.get(&parent).cloned().unwrap_or(Page { items: vec![], has_next_page: false });
                out.insert(PeoplePageKey { parent, spec: spec.clone() }, page);
            }
        }
        Ok(out)
    }
}

impl Loader<PeoplePageKey> for PeopleCountsLoader {
    type Value = u64;
    type Error = ApiError;
    async fn load(&self, keys: &[PeoplePageKey]) -> Result<HashMap<PeoplePageKey, u64>, ApiError> {
        let mut out = HashMap::new();
        for ((_, spec), parents) in batches(keys.iter().map(|k| (&k.parent, &k.spec))) {
            let counts = self.0.store.people_counts(&self.0.actor, &parents, &spec.filter()).await?;
            for parent in parents {
                out.insert(
                    PeoplePageKey { parent, spec: spec.clone() },
                    counts.get(&parent).copied().unwrap_or(0),
                );
            }
        }
        Ok(out)
    }
}

impl Loader<ObjectiveId> for ObjectiveLoader {
    type Value = Objective;
    type Error = ApiError;
    async fn load(&self, keys: &[ObjectiveId]) -> Result<HashMap<ObjectiveId, Objective>, ApiError> {
        Ok(self.0.store.objectives_by_ids(&self.0.actor, keys).await?)
    }
}

impl Loader<KeyResultId> for KeyResultLoader {
    type Value = KeyResult;
    type Error = ApiError;
    async fn load(&self, keys: &[KeyResultId]) -> Result<HashMap<KeyResultId, KeyResult>, ApiError> {
        Ok(self.0.store.key_results_by_ids(&self.0.actor, keys).await?)
    }
}

impl Loader<ObjectiveId> for KeyResultsOfLoader {
    type Value = Vec<KeyResult>;
    type Error = ApiError;
    async fn load(&self, keys: &[ObjectiveId]) -> Result<HashMap<ObjectiveId, Vec<KeyResult>>, ApiError> {
        Ok(self.0.store.key_results_of(&self.0.actor, keys).await?)
    }
}

/// The page of a key result's newest check-in (`latestCheckIn`).
pub const LATEST: PageArgs = PageArgs { first: 1, after: None };

/// An objective's key results as [`KeyResultsOfLoader`] reads them, each
/// with its newest check-in as [`CheckInPagesLoader`] reads it at
/// [`LATEST`], in one load.
pub struct KeyResultsWithLatestLoader(Shared);

impl Loader<ObjectiveId> for KeyResultsWithLatestLoader {
    type Value = Vec<(KeyResult, Option<CheckIn>)>;
    type Error = ApiError;
    async fn load(&self, keys: &[ObjectiveId]) -> Result<HashMap<ObjectiveId, Self::Value>, ApiError> {
        let of = self.0.store.key_results_of(&self.0.actor, keys).await?;
        let ids: Vec<KeyResultId> = of.values().flatten().map(|kr| kr.id).collect();
        let mut latest = if ids.is_empty() {
            HashMap::new()
        } else {
            self.0.store.check_in_pages(&self.0.actor, &ids, &LATEST).await?
        };
        Ok(of
            .into_iter()
            .map(|(objective, krs)| {
                let with = krs
                    .into_iter()
                    .map(|kr| {
                        let newest =
                            latest.remove(&kr.id).and_then(|p| p.items.into_iter().next()).map(|(_, c)| c);
                        (kr, newest)
                    })
                    .collect();
                (objective, with)
            })
            .collect())
    }
}

impl Loader<ObjectiveId> for ObjectiveChildrenLoader {
    /// The visible children, and how many children there are in all.
    type Value = (Vec<Objective>, u64);
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[ObjectiveId],
    ) -> Result<HashMap<ObjectiveId, (Vec<Objective>, u64)>, ApiError> {
        Ok(self.0.store.children_of_objectives(&self.0.actor, keys).await?)
    }
}

impl Loader<ObjectiveId> for NumbersLoader {
    type Value = Numbers;
    type Error = ApiError;
    async fn load(&self, keys: &[ObjectiveId]) -> Result<HashMap<ObjectiveId, Numbers>, ApiError> {
        Ok(self
            .0
            .store
            .objective_numbers(self.0.actor.organization_id, keys, &self.0.settings, self.0.now)
            .await?)
    }
}

impl Loader<goalgraph_domain::PeriodId> for WindowLoader {
    type Value = PeriodWindow;
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[goalgraph_domain::PeriodId],
    ) -> Result<HashMap<goalgraph_domain::PeriodId, PeriodWindow>, ApiError> {
        Ok(self.0.store.period_windows(self.0.actor.organization_id, keys, &self.0.settings).await?)
    }
}

impl Loader<(KeyResultId, PageArgs)> for CheckInPagesLoader {
    type Value = Page<CheckIn>;
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[(KeyResultId, PageArgs)],
    ) -> Result<HashMap<(KeyResultId, PageArgs), Page<CheckIn>>, ApiError> {
        let mut by_args: HashMap<&PageArgs, Vec<KeyResultId>> = HashMap::new();
        for (kr, args) in keys {
            by_args.entry(args).or_default().push(*kr);
        }
        let mut out = HashMap::new();
        for (args, krs) in by_args {
            let pages = self.0.store.check_in_pages(&self.0.actor, &krs, args).await?;
            for kr in krs {
                let page = pages.get(&kr).cloned().unwrap_or(Page { items: vec![], has_next_page: false });
                out.insert((kr, args.clone()), page);
            }
        }
        Ok(out)
    }
}

impl Loader<KeyResultId> for CheckInCountsLoader {
    type Value = u64;
    type Error = ApiError;
    async fn load(&self, keys: &[KeyResultId]) -> Result<HashMap<KeyResultId, u64>, ApiError> {
        let counts = self.0.store.check_in_counts(&self.0.actor, keys).await?;
        Ok(keys.iter().map(|k| (*k, counts.get(k).copied().unwrap_or(0))).collect())
    }
}

impl Loader<(Owner, Option<goalgraph_domain::PeriodId>)> for OwnerObjectivesLoader {
    type Value = Vec<Objective>;
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[(Owner, Option<goalgraph_domain::PeriodId>)],
    ) -> Result<HashMap<(Owner, Option<goalgraph_domain::PeriodId>), Vec<Objective>>, ApiError> {
        let mut by_period: HashMap<Option<goalgraph_domain::PeriodId>, Vec<Owner>> = HashMap::new();
        for (owner, period) in keys {
            by_period.entry(*period).or_default().push(*owner);
        }
        let mut out = HashMap::new();
        for (period, owners) in by_period {
            let mut found = self.0.store.objectives_of_owners(&self.0.actor, &owners, period).await?;
            for owner in owners {
                out.insert((owner, period), found.remove(&owner).unwrap_or_default());
            }
        }
        Ok(out)
    }
}

impl Loader<goalgraph_domain::KpiId> for KpiLoader {
    type Value = goalgraph_domain::kpi::Kpi;
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[goalgraph_domain::KpiId],
    ) -> Result<HashMap<goalgraph_domain::KpiId, goalgraph_domain::kpi::Kpi>, ApiError> {
        Ok(self.0.store.kpis_by_ids(&self.0.actor, keys).await?)
    }
}

impl Loader<goalgraph_domain::KpiId> for KpiStateLoader {
    type Value = goalgraph_persistence::KpiState;
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[goalgraph_domain::KpiId],
    ) -> Result<HashMap<goalgraph_domain::KpiId, goalgraph_persistence::KpiState>, ApiError> {
        Ok(self.0.store.kpi_states(&self.0.actor, keys).await?)
    }
}

impl Loader<(goalgraph_domain::KpiId, PageArgs)> for MeasurementPagesLoader {
    type Value = Page<goalgraph_domain::kpi::Measurement>;
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[(goalgraph_domain::KpiId, PageArgs)],
    ) -> Result<
        HashMap<(goalgraph_domain::KpiId, PageArgs), Page<goalgraph_domain::kpi::Measurement>>,
        ApiError,
    > {
        let mut by_args: HashMap<&PageArgs, Vec<goalgraph_domain::KpiId>> = HashMap::new();
        for (k, args) in keys {
            by_args.entry(args).or_default().push(*k);
        }
        let mut out = HashMap::new();
        for (args, kpis) in by_args {
            let pages = self.0.store.measurement_pages(&self.0.actor, &kpis, args).await?;
            for k in kpis {
                let page = pages.get(&k).cloned().unwrap_or(Page { items: vec![], has_next_page: false });
                out.insert((k, args.clone()), page);
            }
        }
        Ok(out)
    }
}

impl Loader<goalgraph_domain::KpiId> for MeasurementCountsLoader {
    type Value = u64;
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[goalgraph_domain::KpiId],
    ) -> Result<HashMap<goalgraph_domain::KpiId, u64>, ApiError> {
        let counts = self.0.store.measurement_counts(&self.0.actor, keys).await?;
        Ok(keys.iter().map(|k| (*k, counts.get(k).copied().unwrap_or(0))).collect())
    }
}

impl Loader<UnitId> for UnitKpisLoader {
    type Value = Vec<goalgraph_domain::kpi::Kpi>;
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[UnitId],
    ) -> Result<HashMap<UnitId, Vec<goalgraph_domain::kpi::Kpi>>, ApiError> {
        Ok(self.0.store.kpis_of_units(&self.0.actor, keys).await?)
    }
}

impl Loader<goalgraph_domain::KpiId> for LinkedKeyResultsLoader {
    type Value = Vec<KeyResult>;
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[goalgraph_domain::KpiId],
    ) -> Result<HashMap<goalgraph_domain::KpiId, Vec<KeyResult>>, ApiError> {
        Ok(self.0.store.linked_key_results(&self.0.actor, keys).await?)
    }
}

impl Loader<goalgraph_domain::KpiId> for KpiObjectivesLoader {
    type Value = Vec<Objective>;
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[goalgraph_domain::KpiId],
    ) -> Result<HashMap<goalgraph_domain::KpiId, Vec<Objective>>, ApiError> {
        Ok(self.0.store.objectives_from_kpis(&self.0.actor, keys).await?)
    }
}

impl Loader<KeyResultId> for KeyResultKpiLoader {
    type Value = goalgraph_domain::kpi::Kpi;
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[KeyResultId],
    ) -> Result<HashMap<KeyResultId, goalgraph_domain::kpi::Kpi>, ApiError> {
        Ok(self.0.store.kpis_of_key_results(&self.0.actor, keys).await?)
    }
}

/// The check-ins a key result's forecast fits (the newest inside its
/// period), keyed with the period's window: one statement per window.
impl Loader<(KeyResultId, PeriodWindow)> for ForecastPointsLoader {
    type Value = Vec<Point>;
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[(KeyResultId, PeriodWindow)],
    ) -> Result<HashMap<(KeyResultId, PeriodWindow), Vec<Point>>, ApiError> {
        let points = self.0.store.forecast_points(self.0.actor.organization_id, keys).await?;
        Ok(keys.iter().map(|(k, w)| ((*k, *w), points.get(k).cloned().unwrap_or_default())).collect())
    }
}

/// Every check-in of a key result before its period's end, oldest first
/// (the history a progress series reads): one statement per period end.
impl Loader<(KeyResultId, PeriodWindow)> for CheckInHistoryLoader {
    type Value = Vec<Point>;
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[(KeyResultId, PeriodWindow)],
    ) -> Result<HashMap<(KeyResultId, PeriodWindow), Vec<Point>>, ApiError> {
        let mut by_end: HashMap<DateTime<Utc>, Vec<KeyResultId>> = HashMap::new();
        for (k, w) in keys {
            by_end.entry(w.end).or_default().push(*k);
        }
        let mut points = HashMap::new();
        for (end, krs) in by_end {
            let found = self
                .0
                .store
                .check_in_points(self.0.actor.organization_id, &krs, None, Some(end), None)
                .await?;
            for k in krs {
                points.insert((k, end), found.get(&k).cloned().unwrap_or_default());
            }
        }
        Ok(keys
            .iter()
            .map(|(k, w)| ((*k, *w), points.get(&(*k, w.end)).cloned().unwrap_or_default()))
            .collect())
    }
}

impl Loader<ObjectiveId> for ObjectiveForecastLoader {
    type Value = ObjectiveForecast;
    type Error = ApiError;
    async fn load(&self, keys: &[ObjectiveId]) -> Result<HashMap<ObjectiveId, ObjectiveForecast>, ApiError> {
        Ok(self.0.store.objective_forecasts(self.0.actor.organization_id, keys, &self.0.settings).await?)
    }
}

impl Loader<(ObjectiveId, DateTime<Utc>)> for ObjectiveAsOfLoader {
    type Value = Numbers;
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[(ObjectiveId, DateTime<Utc>)],
    ) -> Result<HashMap<(ObjectiveId, DateTime<Utc>), Numbers>, ApiError> {
        let mut out = HashMap::new();
        for (at, ids) in by_instant(keys) {
            let org = self.0.actor.organization_id;
            for (id, n) in
                self.0.store.objective_numbers_at(org, &ids, &self.0.settings, at, Some(at)).await?
            {
                out.insert((id, at), n);
            }
        }
        Ok(out)
    }
}

impl Loader<(KeyResultId, DateTime<Utc>)> for KeyResultAsOfLoader {
    type Value = goalgraph_persistence::KeyResultAsOf;
    type Error = ApiError;
    async fn load(
        &self,
        keys: &[(KeyResultId, DateTime<Utc>)],
    ) -> Result<HashMap<(KeyResultId, DateTime<Utc>), Self::Value>, ApiError> {
        let mut out = HashMap::new();
        for (at, ids) in by_instant(keys) {
            let org = self.0.actor.organization_id;
            for (id, v) in self.0.store.key_results_as_of(org, &ids, &self.0.settings, at).await? {
                out.insert((id, at), v);
            }
        }
        Ok(out)
    }
}
