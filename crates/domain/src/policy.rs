//! The one authorization policy. Every read, write and subscription of the
//! API asks this module; resolvers never decide on their own.
//!
//! Two answers exist for "no": an object the actor may not see is
//! `NotFound`, exactly like a missing one (so ids cannot be probed); an
//! object it may see but not change is `Forbidden`. Another tenant's object
//! is always `NotFound`.

use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::model::{Role, RoleSet};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};
use std::str::FromStr;

/// What an integration's API key may do; each scope names one capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Read PUBLIC objectives and their key results.
    #[serde(rename = "okr:read")]
    OkrRead,
    /// Record measurements of its KPIs.
    #[serde(rename = "kpi:write")]
    KpiWrite,
    /// Create and update units and people (HRIS sync).
    #[serde(rename = "directory:write")]
    DirectoryWrite,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Self::OkrRead, Self::KpiWrite, Self::DirectoryWrite];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OkrRead => "okr:read",
            Self::KpiWrite => "kpi:write",
            Self::DirectoryWrite => "directory:write",
        }
    }
}

impl FromStr for Scope {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| DomainError::invalid("scopes", format!("unknown scope {s}")))
    }
}

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Person { id: PersonId, unit_id: UnitId },
    Integration { id: IntegrationId, scopes: BTreeSet<Scope> },
}

/// The authenticated actor of one request, with the facts the policy needs.
/// Built fresh for every request, so role and unit changes take effect on
/// the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub organization_id: OrganizationId,
    pub principal: Principal,
    pub roles: RoleSet,
    /// The units this person manages and everything below them. Counts only
    /// with the MANAGER role.
    pub managed_units: HashSet<UnitId>,
    /// The person's own unit and all its ancestors.
    pub unit_lineage: HashSet<UnitId>,
}

impl Actor {
    pub fn person_id(&self) -> Option<PersonId> {
        match self.principal {
            Principal::Person { id, .. } => Some(id),
            Principal::Integration { .. } => None,
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        matches!(self.principal, Principal::Person { .. }) && self.roles.contains(role)
    }

    pub fn has_scope(&self, scope: Scope) -> bool {
        matches!(&self.principal, Principal::Integration { scopes, .. } if scopes.contains(&scope))
    }

    fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }

    fn is_admin_or_hr(&self) -> bool {
        self.has_role(Role::Admin) || self.has_role(Role::Hr)
    }

    fn is_person(&self) -> bool {
        matches!(self.principal, Principal::Person { .. })
    }

    /// A line manager of `unit`: manages it or one of its ancestors.
    pub fn manages_unit(&self, unit: UnitId) -> bool {
        self.has_role(Role::Manager) && self.managed_units.contains(&unit)
    }

    /// A short label for logs and audit rows: never a secret.
    pub fn label(&self) -> String {
        match &self.principal {
            Principal::Person { id, .. } => format!("person:{id}"),
            Principal::Integration { id, .. } => format!("integration:{id}"),
        }
    }
}

/// What the actor wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    Create,
    Update,
    Delete,
    /// Grant or withdraw roles.
    ChangeRoles,
    /// Move a period to CLOSED (freezes scores).
    ClosePeriod,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::ChangeRoles => "change roles of",
            Self::ClosePeriod => "close",
        }
    }
}

/// The object acted upon, with the facts that decide access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// The tenant itself: its name and settings.
    Organization {
        organization_id: OrganizationId,
    },
    Unit {
        organization_id: OrganizationId,
        unit_id: Option<UnitId>,
    },
    Person {
        organization_id: OrganizationId,
        person_id: Option<PersonId>,
    },
    Period {
        organization_id: OrganizationId,
    },
}

impl Resource {
    fn organization_id(&self) -> OrganizationId {
        match *self {
            Self::Organization { organization_id }
            | Self::Unit { organization_id, .. }
            | Self::Person { organization_id, .. }
            | Self::Period { organization_id } => organization_id,
        }
    }

    fn entity(&self) -> &'static str {
        match self {
            Self::Organization { .. } => "organization",
            Self::Unit { .. } => "unit",
            Self::Person { .. } => "person",
            Self::Period { .. } => "period",
        }
    }
}

/// May the actor see the resource at all?
pub fn can_read(actor: &Actor, resource: &Resource) -> bool {
    if actor.organization_id != resource.organization_id() {
        return false;
    }
    match resource {
        // Every member of the tenant, and every integration, knows its tenant.
        Resource::Organization { .. } => true,
        // The directory is visible to every person of the tenant (a VIEWER
        // needs it to browse PUBLIC objects); to integrations only when they
        // maintain it.
        Resource::Unit { .. } | Resource::Person { .. } => {
            actor.is_person() || actor.has_scope(Scope::DirectoryWrite)
        }
        // Periods give context to every goal and measurement.
        Resource::Period { .. } => {
            actor.is_person() || actor.has_scope(Scope::OkrRead) || actor.has_scope(Scope::KpiWrite)
        }
    }
}

/// May the actor do `action` to a resource it can see?
fn can_change(actor: &Actor, action: Action, resource: &Resource) -> bool {
    match (resource, action) {
        (_, Action::Read) => true,
        (Resource::Organization { .. }, _) => actor.is_admin(),
        (_, Action::ChangeRoles) => actor.is_admin(),
        (
            Resource::Unit { .. } | Resource::Person { .. },
            Action::Create | Action::Update | Action::Delete,
        ) => actor.is_admin_or_hr() || actor.has_scope(Scope::DirectoryWrite),
        (Resource::Period { .. }, _) => actor.is_admin_or_hr(),
        (Resource::Unit { .. } | Resource::Person { .. }, Action::ClosePeriod) => false,
    }
}

/// The decision: `Ok`, `NotFound` for what the actor may not see, and
/// `Forbidden` for what it may see but not change.
pub fn authorize(actor: &Actor, action: Action, resource: &Resource) -> DomainResult<()> {
    if !can_read(actor, resource) {
        return Err(DomainError::not_found(resource.entity()));
    }
    if can_change(actor, action, resource) {
        Ok(())
    } else {
        Err(DomainError::forbidden(format!("{} this {}", action.verb(), resource.entity())))
    }
}

/// Roles a new person gets when the creator does not say.
pub fn default_roles() -> RoleSet {
    RoleSet::new([Role::Member])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(org: OrganizationId, roles: &[Role]) -> Actor {
        Actor {
            organization_id: org,
            principal: Principal::Person { id: PersonId::new(), unit_id: UnitId::new() },
            roles: RoleSet::new(roles.iter().copied()),
            managed_units: HashSet::new(),
            unit_lineage: HashSet::new(),
        }
    }

    fn integration(org: OrganizationId, scopes: &[Scope]) -> Actor {
        Actor {
            organization_id: org,
            principal: Principal::Integration {
                id: IntegrationId::new(),
                scopes: scopes.iter().copied().collect(),
            },
            roles: RoleSet::default(),
            managed_units: HashSet::new(),
            unit_lineage: HashSet::new(),
        }
    }

    fn outcome(r: DomainResult<()>) -> &'static str {
        match r {
            Ok(()) => "ok",
            Err(DomainError::NotFound { .. }) => "not_found",
            Err(DomainError::Forbidden { .. }) => "forbidden",
            Err(_) => "other",
        }
    }

    /// Hand-written expectations from the product brief's access table.
    #[test]
    fn directory_and_period_table() {
        let org = OrganizationId::new();
        let unit = Resource::Unit { organization_id: org, unit_id: None };
        let period = Resource::Period { organization_id: org };
        let orgr = Resource::Organization { organization_id: org };
        let cases: [(&str, Actor, [&str; 7]); 8] = [
            // read unit, create unit, read period, update period, close period, update org, change roles
            ("admin", person(org, &[Role::Admin]), ["ok", "ok", "ok", "ok", "ok", "ok", "ok"]),
            ("hr", person(org, &[Role::Hr]), ["ok", "ok", "ok", "ok", "ok", "forbidden", "forbidden"]),
            (
                "manager",
                person(org, &[Role::Manager]),
                ["ok", "forbidden", "ok", "forbidden", "forbidden", "forbidden", "forbidden"],
            ),
            (
                "member",
                person(org, &[Role::Member]),
                ["ok", "forbidden", "ok", "forbidden", "forbidden", "forbidden", "forbidden"],
            ),
            (
                "viewer",
                person(org, &[Role::Viewer]),
                ["ok", "forbidden", "ok", "forbidden", "forbidden", "forbidden", "forbidden"],
            ),
            (
                "directory integration",
                integration(org, &[Scope::DirectoryWrite]),
                ["ok", "ok", "not_found", "not_found", "not_found", "forbidden", "forbidden"],
            ),
            (
                "okr integration",
                integration(org, &[Scope::OkrRead]),
                ["not_found", "not_found", "ok", "forbidden", "forbidden", "forbidden", "not_found"],
            ),
            ("other tenant admin", person(OrganizationId::new(), &[Role::Admin]), ["not_found"; 7]),
        ];
        for (who, actor, expected) in cases {
            let got = [
                outcome(authorize(&actor, Action::Read, &unit)),
                outcome(authorize(&actor, Action::Create, &unit)),
                outcome(authorize(&actor, Action::Read, &period)),
                outcome(authorize(&actor, Action::Update, &period)),
                outcome(authorize(&actor, Action::ClosePeriod, &period)),
                outcome(authorize(&actor, Action::Update, &orgr)),
                outcome(authorize(
                    &actor,
                    Action::ChangeRoles,
                    &Resource::Person { organization_id: org, person_id: None },
                )),
            ];
            assert_eq!(got, expected, "{who}");
        }
    }

    #[test]
    fn manager_rights_need_the_role_and_the_unit() {
        let org = OrganizationId::new();
        let team = UnitId::new();
        let mut a = person(org, &[Role::Member]);
        a.managed_units.insert(team);
        assert!(!a.manages_unit(team), "managing a unit without the MANAGER role grants nothing");
        a.roles = RoleSet::new([Role::Manager]);
        assert!(a.manages_unit(team));
        assert!(!a.manages_unit(UnitId::new()));
    }
}
