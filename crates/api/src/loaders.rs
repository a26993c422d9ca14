//! DataLoaders: every relation resolves through one of these, so a nested
//! query costs one statement per level, not one per parent.

use crate::error::ApiError;
use async_graphql::dataloader::{DataLoader, Loader};
use goalgraph_domain::model::{Period, Person, Unit};
use goalgraph_domain::policy::Actor;
use goalgraph_domain::{PeriodId, PersonId, UnitId};
use goalgraph_persistence::Store;
use std::collections::HashMap;
use std::time::Duration;

/// How long a loader waits for more keys after the first: long enough for
/// the sibling fields of one level (polled together) to enqueue theirs,
/// short enough not to add up over levels.
const BATCH_DELAY: Duration = Duration::from_micros(200);

pub struct Loaders {
    pub units: DataLoader<UnitLoader>,
    pub people: DataLoader<PersonLoader>,
    pub periods: DataLoader<PeriodLoader>,
    pub children: DataLoader<ChildrenLoader>,
    pub unit_managers: DataLoader<UnitManagersLoader>,
    pub managed_units: DataLoader<ManagedUnitsLoader>,
}

fn loader<T: Loader<K>, K: Send + Sync + std::hash::Hash + Eq + Clone + 'static>(inner: T) -> DataLoader<T> {
    DataLoader::new(inner, tokio::spawn).delay(BATCH_DELAY)
}

impl Loaders {
    pub fn new(store: Store, actor: Actor) -> Self {
        let shared = Shared { store, actor };
        Self {
            units: loader(UnitLoader(shared.clone())),
            people: loader(PersonLoader(shared.clone())),
            periods: loader(PeriodLoader(shared.clone())),
            children: loader(ChildrenLoader(shared.clone())),
            unit_managers: loader(UnitManagersLoader(shared.clone())),
            managed_units: loader(ManagedUnitsLoader(shared)),
        }
    }
}

#[derive(Clone)]
pub struct Shared {
    store: Store,
    actor: Actor,
}

pub struct UnitLoader(Shared);
pub struct PersonLoader(Shared);
pub struct PeriodLoader(Shared);
pub struct UnitManagersLoader(Shared);
pub struct ChildrenLoader(Shared);
pub struct ManagedUnitsLoader(Shared);

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
