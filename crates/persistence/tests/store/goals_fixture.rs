//! Builders for the goal tests: periods, objectives, key results and
//! check-ins created through the store's own API by a tenant's admin, raw
//! reads of the stored rows (bypassing visibility), and float assertions.

use crate::common::Tenant;
use chrono::NaiveDate;
use goalgraph_domain::model::{Period, PeriodStatus};
use goalgraph_domain::okr::{
    CheckIn, KeyResult, Measure, Objective, ObjectiveKind, ObjectiveStatus, Owner, ProgressDriver, Visibility,
};
use goalgraph_domain::policy::Actor;
use goalgraph_domain::{KeyResultId, ObjectiveId, OrganizationId, PeriodId, PersonId};
use goalgraph_persistence::entity::{check_in, key_result, objective};
use goalgraph_persistence::{CheckInInput, NewKeyResult, NewObjective, NewPeriod, Store};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A period created by the tenant's admin (PLANNING).
pub async fn period(store: &Store, t: &Tenant, name: &str, start: NaiveDate, end: NaiveDate) -> Period {
    store
        .create_period(&t.actor, NewPeriod { name: name.to_owned(), start_date: start, end_date: end })
        .await
        .unwrap_or_else(|e| panic!("create period {name}: {e:?}"))
}

/// Q2 2026, moved to ACTIVE.
pub async fn active_quarter(store: &Store, t: &Tenant) -> Period {
    let p = period(store, t, "Q2 2026", date(2026, 4, 1), date(2026, 6, 30)).await;
    store.transition_period(&t.actor, p.id, PeriodStatus::Active, None).await.unwrap()
}

/// Moves a period straight to CLOSED.
pub async fn close(store: &Store, t: &Tenant, p: PeriodId) -> Period {
    store.transition_period(&t.actor, p, PeriodStatus::Closed, None).await.unwrap()
}

/// The input of a PUBLIC, COMMITTED, ACTIVE objective with the default driver.
pub fn new_objective(
    period: PeriodId,
    owner: Owner,
    title: &str,
    parent: Option<ObjectiveId>,
) -> NewObjective {
    NewObjective {
        period_id: period,
        owner,
        parent_id: parent,
        title: title.to_owned(),
        description: None,
        kind: ObjectiveKind::Committed,
        visibility: Visibility::Public,
        progress_driver: None,
        status: Some(ObjectiveStatus::Active),
    }
}

/// An ACTIVE, PUBLIC objective created by `actor`.
pub async fn objective(
    store: &Store,
    actor: &Actor,
    period: PeriodId,
    owner: Owner,
    title: &str,
    parent: Option<ObjectiveId>,
) -> Objective {
    store
        .create_objective(actor, new_objective(period, owner, title, parent))
        .await
        .unwrap_or_else(|e| panic!("create objective {title}: {e:?}"))
}

/// An ACTIVE objective with an explicit driver and visibility.
pub async fn objective_with(
    store: &Store,
    actor: &Actor,
    new: NewObjective,
    driver: Option<ProgressDriver>,
    visibility: Visibility,
) -> Objective {
    let title = new.title.clone();
    store
        .create_objective(actor, NewObjective { progress_driver: driver, visibility, ..new })
        .await
        .unwrap_or_else(|e| panic!("create objective {title}: {e:?}"))
}

pub fn new_key_result(
    objective: ObjectiveId,
    owner: PersonId,
    measure: Measure,
    start: f64,
    target: f64,
    weight: f64,
) -> NewKeyResult {
    NewKeyResult {
        objective_id: objective,
        owner_id: owner,
        title: format!("{} {start} to {target}", measure.as_str()),
        measure,
        start,
        target,
        unit_label: None,
        weight: Some(weight),
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn key_result(
    store: &Store,
    actor: &Actor,
    objective: ObjectiveId,
    owner: PersonId,
    measure: Measure,
    start: f64,
    target: f64,
    weight: f64,
) -> KeyResult {
    store
        .create_key_result(actor, new_key_result(objective, owner, measure, start, target, weight))
        .await
        .unwrap_or_else(|e| panic!("create key result {measure:?} {start}->{target}: {e:?}"))
}

pub fn check_in_input(kr: KeyResultId, value: f64) -> CheckInInput {
    CheckInInput { key_result_id: kr, value, confidence: None, note: None, idempotency_key: None }
}

/// A plain check-in (no key, no confidence) that must succeed.
pub async fn check_in(store: &Store, actor: &Actor, kr: KeyResultId, value: f64) -> (CheckIn, KeyResult) {
    store
        .check_in(actor, check_in_input(kr, value))
        .await
        .unwrap_or_else(|e| panic!("check in {value} on {kr:?}: {e:?}"))
}

/// The stored row of an objective, whoever may see it.
pub async fn objective_row(store: &Store, org: OrganizationId, id: ObjectiveId) -> objective::Model {
    objective::Entity::find_by_id((org.0, id.0))
        .one(store.connection())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("objective {id:?} is not stored"))
}

/// The stored row of a key result, whoever may see it.
pub async fn key_result_row(store: &Store, org: OrganizationId, id: KeyResultId) -> key_result::Model {
    key_result::Entity::find_by_id((org.0, id.0))
        .one(store.connection())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("key result {id:?} is not stored"))
}

/// The stored progress of an objective.
pub async fn progress_of(store: &Store, org: OrganizationId, id: ObjectiveId) -> f64 {
    objective_row(store, org, id).await.progress
}

/// How many check-in rows a key result has.
pub async fn check_in_rows(store: &Store, org: OrganizationId, kr: KeyResultId) -> u64 {
    check_in::Entity::find()
        .filter(check_in::Column::OrganizationId.eq(org.0))
        .filter(check_in::Column::KeyResultId.eq(kr.0))
        .count(store.connection())
        .await
        .unwrap()
}

/// How many objectives an organization has, whoever may see them.
pub async fn objective_rows(store: &Store, org: OrganizationId) -> u64 {
    objective::Entity::find()
        .filter(objective::Column::OrganizationId.eq(org.0))
        .count(store.connection())
        .await
        .unwrap()
}

/// How many key results an objective has.
pub async fn key_result_rows(store: &Store, org: OrganizationId, o: ObjectiveId) -> u64 {
    key_result::Entity::find()
        .filter(key_result::Column::OrganizationId.eq(org.0))
        .filter(key_result::Column::ObjectiveId.eq(o.0))
        .count(store.connection())
        .await
        .unwrap()
}

#[track_caller]
pub fn assert_close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() < 1e-9, "{what}: got {got}, want {want}");
}

/// Any `Invalid` error, for rules whose field name the brief leaves open.
#[track_caller]
pub fn assert_invalid_any<T: std::fmt::Debug>(result: goalgraph_persistence::StoreResult<T>, what: &str) {
    match result {
        Err(goalgraph_persistence::StoreError::Domain(goalgraph_domain::DomainError::Invalid { .. })) => {}
        other => panic!("{what}: expected Invalid, got {other:?}"),
    }
}
