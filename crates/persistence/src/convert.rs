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
