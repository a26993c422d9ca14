//! Rows to domain types. A row that does not parse is corrupt: reported as
//! an internal error, never guessed at.

use crate::entity::{organization, period, person, unit};
use crate::error::{StoreError, StoreResult};
use goalgraph_domain::model::{Organization, Period, Person, RoleSet, Unit};
use goalgraph_domain::settings::OrganizationSettings;

pub(crate) fn organization(m: organization::Model) -> StoreResult<Organization> {
    let settings = OrganizationSettings::from_json(&m.settings)
        .map_err(|e| StoreError::corrupt(format!("settings of organization {}: {e}", m.id)))?;
    Ok(Organization {
        id: m.id.into(),
        name: m.name,
        slug: m.slug,
        settings,
        version: m.version,
        created_at: m.created_at,
    })
}

pub(crate) fn unit(m: unit::Model) -> StoreResult<Unit> {
    Ok(Unit {
        id: m.id.into(),
        organization_id: m.organization_id.into(),
        kind: m.kind.parse().map_err(|_| StoreError::corrupt(format!("kind of unit {}", m.id)))?,
        name: m.name,
        parent_id: m.parent_id.map(Into::into),
        external_id: m.external_id,
        version: m.version,
        created_at: m.created_at,
    })
}

pub(crate) fn person(m: person::Model) -> Person {
    Person {
        id: m.id.into(),
        organization_id: m.organization_id.into(),
        name: m.name,
        email: m.email,
        unit_id: m.unit_id.into(),
        manager_id: m.manager_id.map(Into::into),
        roles: RoleSet::from_json(&m.roles),
        subject: m.subject,
        external_id: m.external_id,
        active: m.active,
        version: m.version,
        created_at: m.created_at,
    }
}

pub(crate) fn period(m: period::Model) -> StoreResult<Period> {
    Ok(Period {
        id: m.id.into(),
        organization_id: m.organization_id.into(),
        name: m.name,
        start_date: m.start_date,
        end_date: m.end_date,
        status: m.status.parse().map_err(|_| StoreError::corrupt(format!("status of period {}", m.id)))?,
        version: m.version,
        created_at: m.created_at,
    })
}

/// Now, to the microsecond both databases keep.
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

pub(crate) fn objective(m: crate::entity::objective::Model) -> StoreResult<goalgraph_domain::okr::Objective> {
    use goalgraph_domain::okr::{Objective, Owner};
    let bad = |what: &str| StoreError::corrupt(format!("{what} of objective {}", m.id));
    Ok(Objective {
        id: m.id.into(),
        organization_id: m.organization_id.into(),
        period_id: m.period_id.into(),
        owner: match m.owner_person_id {
            Some(p) => Owner::Person(p.into()),
            None => Owner::Unit(m.owner_unit_id.into()),
        },
        owning_unit: m.owner_unit_id.into(),
        parent_id: m.parent_id.map(Into::into),
        title: m.title,
        description: m.description,
        kind: m.kind.parse().map_err(|_| bad("kind"))?,
        visibility: m.visibility.parse().map_err(|_| bad("visibility"))?,
        progress_driver: m
            .progress_driver
            .map(|d| d.parse())
            .transpose()
            .map_err(|_| bad("progress driver"))?,
        status: m.status.parse().map_err(|_| bad("status"))?,
        cancel_reason: m.cancel_reason,
        progress: m.progress,
        score: m.score,
        version: m.version,
        created_at: m.created_at,
    })
}

pub(crate) fn key_result(
    m: crate::entity::key_result::Model,
) -> StoreResult<goalgraph_domain::okr::KeyResult> {
    Ok(goalgraph_domain::okr::KeyResult {
        id: m.id.into(),
        organization_id: m.organization_id.into(),
        objective_id: m.objective_id.into(),
        owner_id: m.owner_id.into(),
        title: m.title,
        measure: m
            .measure
            .parse()
            .map_err(|_| StoreError::corrupt(format!("measure of key result {}", m.id)))?,
        start: m.start_value,
        target: m.target_value,
        current: m.current_value,
        unit_label: m.unit_label,
        weight: m.weight,
        confidence: m.confidence,
        last_check_in_at: m.last_check_in_at,
        progress: m.progress,
        score: m.score,
        version: m.version,
        created_at: m.created_at,
    })
}

pub(crate) fn check_in(m: crate::entity::check_in::Model) -> goalgraph_domain::okr::CheckIn {
    goalgraph_domain::okr::CheckIn {
        id: m.id.into(),
        organization_id: m.organization_id.into(),
        key_result_id: m.key_result_id.into(),
        value: m.value,
        confidence: m.confidence,
        note: m.note,
        author_id: m.author_id.map(Into::into),
        created_at: m.created_at,
    }
}

pub(crate) fn kpi(m: crate::entity::kpi::Model) -> StoreResult<goalgraph_domain::kpi::Kpi> {
    use goalgraph_domain::kpi::{HealthyRange, Kpi, Tolerance};
    let bad = |what: &str| StoreError::corrupt(format!("{what} of KPI {}", m.id));
    let direction = m.direction.parse().map_err(|_| bad("direction"))?;
    Ok(Kpi {
        id: m.id.into(),
        organization_id: m.organization_id.into(),
        unit_id: m.unit_id.into(),
        owner_id: m.owner_id.into(),
        name: m.name,
        description: m.description,
        category: m.category.parse().map_err(|_| bad("category"))?,
        unit_label: m.unit_label,
        direction,
        target: m.target,
        range: HealthyRange { lower: m.healthy_lower, upper: m.healthy_upper },
        tolerance: match (m.tolerance_absolute, m.tolerance_percent) {
            (_, Some(p)) => Tolerance::Percent(p),
            (Some(a), None) => Tolerance::Absolute(a),
            (None, None) => Tolerance::Absolute(0.0),
        },
        cadence: m.cadence.parse().map_err(|_| bad("cadence"))?,
        archived: m.archived,
        external_id: m.external_id,
        promoted_from: m.promoted_from_key_result_id.map(Into::into),
        version: m.version,
        created_at: m.created_at,
    })
}

pub(crate) fn measurement(m: crate::entity::kpi_measurement::Model) -> goalgraph_domain::kpi::Measurement {
    goalgraph_domain::kpi::Measurement {
        id: m.id.into(),
        kpi_id: m.kpi_id.into(),
        observed_at: m.observed_at,
        value: m.value,
        recorded_at: m.recorded_at,
        author_id: m.author_id.map(Into::into),
    }
}
