//! Builders for the KPI tests: KPI definitions created through the store's
//! own API, points at fixed times, and raw counts of the stored
//! measurement rows (bypassing visibility).

use chrono::{DateTime, Duration, TimeZone, Utc};
use goalgraph_domain::kpi::{Cadence, Direction, Kpi, KpiCategory};
use goalgraph_domain::policy::Actor;
use goalgraph_domain::{KpiId, OrganizationId, PersonId, UnitId};
use goalgraph_persistence::entity::{kpi, kpi_measurement};
use goalgraph_persistence::{KpiRef, NewKpi, Store};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

/// A HIGHER_IS_BETTER OPERATIONAL KPI, healthy at >= 90, daily, no tolerance.
pub fn new_kpi(unit: UnitId, owner: PersonId, name: &str) -> NewKpi {
    NewKpi {
        unit_id: unit,
        owner_id: owner,
        name: name.to_owned(),
        description: None,
        category: KpiCategory::Operational,
        unit_label: Some("%".to_owned()),
        direction: Direction::HigherIsBetter,
        target: Some(95.0),
        healthy_lower: Some(90.0),
        healthy_upper: None,
        tolerance_absolute: None,
        tolerance_percent: None,
        cadence: Cadence::Daily,
        external_id: None,
    }
}

/// A KPI created by `actor`, which must succeed.
pub async fn create_kpi(store: &Store, actor: &Actor, new: NewKpi) -> Kpi {
    let name = new.name.clone();
    store.create_kpi(actor, new).await.unwrap_or_else(|e| panic!("create KPI {name}: {e:?}"))
}

/// Midnight UTC of a fixed day in the past.
pub fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().expect("a valid day")
}

/// `base` plus `n` days.
pub fn plus_days(base: DateTime<Utc>, n: i64) -> DateTime<Utc> {
    base + Duration::days(n)
}

/// Records `points` as `actor` (no idempotency key), which must succeed;
/// returns how many points were written.
pub async fn record(store: &Store, actor: &Actor, kpi: KpiId, points: &[(DateTime<Utc>, f64)]) -> u64 {
    store
        .record_measurements(actor, KpiRef::Id(kpi), points, None)
        .await
        .unwrap_or_else(|e| panic!("record {} point(s) on {kpi:?}: {e:?}", points.len()))
        .written
}

/// How many measurement rows a KPI has, whoever may see it.
pub async fn measurement_rows(store: &Store, org: OrganizationId, kpi: KpiId) -> u64 {
    kpi_measurement::Entity::find()
        .filter(kpi_measurement::Column::OrganizationId.eq(org.0))
        .filter(kpi_measurement::Column::KpiId.eq(kpi.0))
        .count(store.connection())
        .await
        .unwrap()
}

/// How many measurement rows an organization has, whoever may see them.
pub async fn all_measurement_rows(store: &Store, org: OrganizationId) -> u64 {
    kpi_measurement::Entity::find()
        .filter(kpi_measurement::Column::OrganizationId.eq(org.0))
        .count(store.connection())
        .await
        .unwrap()
}

/// How many KPIs an organization has, whoever may see them.
pub async fn kpi_rows(store: &Store, org: OrganizationId) -> u64 {
    kpi::Entity::find().filter(kpi::Column::OrganizationId.eq(org.0)).count(store.connection()).await.unwrap()
}
