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
use crate::okr::Visibility;
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
    Person {
        id: PersonId,
        unit_id: UnitId,
    },
    Integration {
        id: IntegrationId,
        scopes: BTreeSet<Scope>,
        /// The KPIs a `kpi:write` integration may read and feed; `None`:
        /// every KPI of the tenant.
        kpis: Option<BTreeSet<KpiId>>,
    },
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
    /// The person's own unit and everything below it.
    pub unit_subtree: HashSet<UnitId>,
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

    /// A `kpi:write` integration that may feed this KPI (all of the
    /// tenant's, or those it was given).
    fn feeds(&self, kpi: KpiId) -> bool {
        match &self.principal {
            Principal::Integration { scopes, kpis, .. } => {
                scopes.contains(&Scope::KpiWrite) && kpis.as_ref().is_none_or(|k| k.contains(&kpi))
            }
            Principal::Person { .. } => false,
        }
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

    /// A MEMBER-level person: sees beyond PUBLIC and may own goals. A person
    /// with only VIEWER (or no role) is not.
    fn is_member_level(&self) -> bool {
        [Role::Admin, Role::Hr, Role::Manager, Role::Member].into_iter().any(|r| self.has_role(r))
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
    /// Append a check-in to a key result.
    CheckIn,
    /// Record measurements of a KPI.
    RecordMeasurement,
    /// Receive live events about an object: allowed exactly when reading it
    /// is, decided again for every event at delivery.
    Subscribe,
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
            Self::CheckIn => "check in on",
            Self::RecordMeasurement => "record measurements of",
            Self::Subscribe => "subscribe to",
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
    /// An objective (and so its key results' and check-ins' visibility).
    Objective {
        organization_id: OrganizationId,
        goal: GoalFacts,
    },
    /// A key result of an objective; its owner may update it and check in.
    KeyResult {
        organization_id: OrganizationId,
        goal: GoalFacts,
        owner: PersonId,
    },
    /// A KPI and its measurements.
    Kpi {
        organization_id: OrganizationId,
        kpi: KpiFacts,
    },
    /// A partner integration and its API key.
    Integration {
        organization_id: OrganizationId,
    },
    /// The tenant's audit trail: read and verified, never changed.
    AuditTrail {
        organization_id: OrganizationId,
    },
    /// A saved report definition. `owner` is `None` for one not yet
    /// created (the question "may I save a report?").
    SavedReport {
        organization_id: OrganizationId,
        owner: Option<PersonId>,
        shared: bool,
    },
}

/// What decides access to a KPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KpiFacts {
    pub id: KpiId,
    pub unit: UnitId,
    pub owner: PersonId,
    /// PEOPLE KPIs are sensitive.
    pub sensitive: bool,
}

/// What decides access to a goal: where it hangs and who owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GoalFacts {
    /// The owning unit, or the owning person's unit.
    pub owning_unit: UnitId,
    /// Set for a person's goal.
    pub owner_person: Option<PersonId>,
    pub visibility: Visibility,
}

impl Resource {
    fn organization_id(&self) -> OrganizationId {
        match *self {
            Self::Organization { organization_id }
            | Self::Unit { organization_id, .. }
            | Self::Person { organization_id, .. }
            | Self::Period { organization_id }
            | Self::Objective { organization_id, .. }
            | Self::KeyResult { organization_id, .. }
            | Self::Kpi { organization_id, .. }
            | Self::Integration { organization_id }
            | Self::AuditTrail { organization_id }
            | Self::SavedReport { organization_id, .. } => organization_id,
        }
    }

    fn entity(&self) -> &'static str {
        match self {
            Self::Organization { .. } => "organization",
            Self::Unit { .. } => "unit",
            Self::Person { .. } => "person",
            Self::Period { .. } => "period",
            Self::Objective { .. } => "objective",
            Self::KeyResult { .. } => "key result",
            Self::Kpi { .. } => "KPI",
            Self::Integration { .. } => "integration",
            Self::AuditTrail { .. } => "audit trail",
            Self::SavedReport { .. } => "saved report",
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
        Resource::Objective { goal, .. } | Resource::KeyResult { goal, .. } => can_read_goal(actor, goal),
        Resource::Kpi { kpi, .. } => can_read_kpi(actor, kpi),
        // Integrations and their keys are the admins' business.
        Resource::Integration { .. } => actor.is_admin(),
        // Who changed what is for ADMIN and HR.
        Resource::AuditTrail { .. } => actor.is_admin_or_hr(),
        Resource::SavedReport { owner, shared, .. } => can_read_saved_report(actor, *owner, *shared),
    }
}

/// A saved report is read by its owner, by every person of the tenant when
/// shared (a VIEWER included), and by ADMIN and HR always; integrations
/// have no saved reports. One not yet created hides nothing.
fn can_read_saved_report(actor: &Actor, owner: Option<PersonId>, shared: bool) -> bool {
    match owner {
        None => true,
        Some(owner) => {
            actor.is_admin_or_hr() || (actor.is_person() && (shared || actor.person_id() == Some(owner)))
        }
    }
}

/// Which saved reports `savedReports` lists: the person's own and every
/// shared one. Narrower than [`can_read`] for ADMIN and HR on purpose: they
/// reach a colleague's private report by its id, but their list stays
/// theirs. Integrations list none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavedReportListScope {
    Nothing,
    OwnAndShared(PersonId),
}

impl SavedReportListScope {
    pub fn allows(&self, owner: PersonId, shared: bool) -> bool {
        match self {
            Self::Nothing => false,
            Self::OwnAndShared(me) => shared || owner == *me,
        }
    }
}

pub fn saved_report_list_scope(actor: &Actor) -> SavedReportListScope {
    match actor.person_id() {
        Some(me) => SavedReportListScope::OwnAndShared(me),
        None => SavedReportListScope::Nothing,
    }
}

/// KPIs are visible to every person of the tenant, except PEOPLE KPIs:
/// HR, ADMIN and line managers of the owning unit only. Integrations with
/// `kpi:write` see the KPIs they feed.
fn can_read_kpi(actor: &Actor, kpi: &KpiFacts) -> bool {
    if actor.is_admin_or_hr() || actor.feeds(kpi.id) {
        return true;
    }
    match actor.principal {
        Principal::Integration { .. } => false,
        Principal::Person { .. } => !kpi.sensitive || actor.manages_unit(kpi.unit),
    }
}

/// May define or change a KPI, or record its measurements: ADMIN and HR
/// any; a MANAGER those of the subtrees they manage; a MEMBER those they
/// own (measurements also come from `kpi:write` integrations).
fn can_change_kpi(actor: &Actor, kpi: &KpiFacts) -> bool {
    actor.is_admin_or_hr()
        || actor.manages_unit(kpi.unit)
        || (actor.is_member_level() && actor.person_id() == Some(kpi.owner))
}

/// Which KPIs a list may show, as a filter the store turns into SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KpiReadScope {
    All,
    Nothing,
    /// Every non-PEOPLE KPI, and PEOPLE KPIs owned in these units.
    Some {
        sensitive_units: Vec<UnitId>,
    },
    /// These KPIs only (an integration given a list).
    Only(Vec<KpiId>),
}

impl KpiReadScope {
    pub fn allows(&self, kpi: &KpiFacts) -> bool {
        match self {
            Self::All => true,
            Self::Nothing => false,
            Self::Some { sensitive_units } => !kpi.sensitive || sensitive_units.contains(&kpi.unit),
            Self::Only(ids) => ids.contains(&kpi.id),
        }
    }
}

pub fn kpi_read_scope(actor: &Actor) -> KpiReadScope {
    if actor.is_admin_or_hr() {
        return KpiReadScope::All;
    }
    match &actor.principal {
        Principal::Integration { kpis, .. } if actor.has_scope(Scope::KpiWrite) => match kpis {
            None => KpiReadScope::All,
            Some(ids) => KpiReadScope::Only(ids.iter().copied().collect()),
        },
        Principal::Integration { .. } => KpiReadScope::Nothing,
        Principal::Person { .. } => {
            let mut units: Vec<UnitId> = if actor.has_role(Role::Manager) {
                actor.managed_units.iter().copied().collect()
            } else {
                vec![]
            };
            units.sort();
            KpiReadScope::Some { sensitive_units: units }
        }
    }
}

/// The visibility table of the product brief: PUBLIC for everyone in the
/// tenant (integrations with `okr:read`); UNIT for members of the owning
/// unit's subtree and of its ancestors; PRIVATE for the owner; line
/// managers, HR and ADMIN see every visibility.
fn can_read_goal(actor: &Actor, goal: &GoalFacts) -> bool {
    if actor.is_admin_or_hr() {
        return true;
    }
    match &actor.principal {
        Principal::Integration { .. } => {
            goal.visibility == Visibility::Public && actor.has_scope(Scope::OkrRead)
        }
        Principal::Person { id, .. } => {
            if goal.owner_person == Some(*id) || actor.manages_unit(goal.owning_unit) {
                return true;
            }
            match goal.visibility {
                Visibility::Public => true,
                Visibility::Unit => {
                    actor.is_member_level()
                        && (actor.unit_lineage.contains(&goal.owning_unit)
                            || actor.unit_subtree.contains(&goal.owning_unit))
                }
                Visibility::Private => false,
            }
        }
    }
}

/// May change a goal: ADMIN and HR any; a MANAGER those owned in the
/// subtrees they manage; a MEMBER their own.
fn can_change_goal(actor: &Actor, goal: &GoalFacts) -> bool {
    actor.is_admin_or_hr()
        || actor.manages_unit(goal.owning_unit)
        || (actor.is_member_level() && goal.owner_person.is_some() && goal.owner_person == actor.person_id())
}

/// Which goals a list may show, as a filter the store turns into SQL. It
/// must agree with [`can_read`] on every goal (a test checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoalReadScope {
    All,
    Nothing,
    Some {
        /// PUBLIC goals.
        public: bool,
        /// Goals this person owns, any visibility.
        owner: Option<PersonId>,
        /// Goals owned in these units, any visibility (line manager).
        any_visibility_units: Vec<UnitId>,
        /// UNIT goals owned in these units.
        unit_visibility_units: Vec<UnitId>,
    },
}

impl GoalReadScope {
    pub fn allows(&self, goal: &GoalFacts) -> bool {
        match self {
            Self::All => true,
            Self::Nothing => false,
            Self::Some { public, owner, any_visibility_units, unit_visibility_units } => {
                (*public && goal.visibility == Visibility::Public)
                    || (owner.is_some() && goal.owner_person == *owner)
                    || any_visibility_units.contains(&goal.owning_unit)
                    || (goal.visibility == Visibility::Unit
                        && unit_visibility_units.contains(&goal.owning_unit))
            }
        }
    }
}

/// The filter of [`GoalReadScope`] for this actor.
pub fn goal_read_scope(actor: &Actor) -> GoalReadScope {
    if actor.is_admin_or_hr() {
        return GoalReadScope::All;
    }
    match &actor.principal {
        Principal::Integration { .. } => {
            if actor.has_scope(Scope::OkrRead) {
                GoalReadScope::Some {
                    public: true,
                    owner: None,
                    any_visibility_units: vec![],
                    unit_visibility_units: vec![],
                }
            } else {
                GoalReadScope::Nothing
            }
        }
        Principal::Person { id, .. } => {
            let mut managed: Vec<UnitId> = if actor.has_role(Role::Manager) {
                actor.managed_units.iter().copied().collect()
            } else {
                vec![]
            };
            managed.sort();
            let mut unit_units: Vec<UnitId> = if actor.is_member_level() {
                actor.unit_lineage.union(&actor.unit_subtree).copied().collect()
            } else {
                vec![]
            };
            unit_units.sort();
            GoalReadScope::Some {
                public: true,
                owner: Some(*id),
                any_visibility_units: managed,
                unit_visibility_units: unit_units,
            }
        }
    }
}

/// May the actor do `action` to a resource it can see?
fn can_change(actor: &Actor, action: Action, resource: &Resource) -> bool {
    match (resource, action) {
        (_, Action::Read | Action::Subscribe) => true,
        (Resource::Organization { .. }, _) => actor.is_admin(),
        (_, Action::ChangeRoles) => actor.is_admin(),
        (
            Resource::Unit { .. } | Resource::Person { .. },
            Action::Create | Action::Update | Action::Delete,
        ) => actor.is_admin_or_hr() || actor.has_scope(Scope::DirectoryWrite),
        (Resource::Period { .. }, _) => actor.is_admin_or_hr(),
        (
            Resource::Unit { .. } | Resource::Person { .. },
            Action::ClosePeriod | Action::CheckIn | Action::RecordMeasurement,
        ) => false,
        (Resource::Objective { goal, .. }, Action::Create | Action::Update | Action::Delete) => {
            can_change_goal(actor, goal)
        }
        (Resource::Objective { .. }, Action::ClosePeriod | Action::CheckIn | Action::RecordMeasurement) => {
            false
        }
        // A key result's owner updates it and checks in; whoever may change
        // the objective may do everything to its key results.
        (Resource::KeyResult { goal, owner, .. }, Action::Update | Action::CheckIn) => {
            can_change_goal(actor, goal) || (actor.is_member_level() && actor.person_id() == Some(*owner))
        }
        (Resource::KeyResult { goal, .. }, Action::Create | Action::Delete) => can_change_goal(actor, goal),
        (Resource::KeyResult { .. }, Action::ClosePeriod | Action::RecordMeasurement) => false,
        (Resource::Kpi { kpi, .. }, Action::Create | Action::Update | Action::Delete) => {
            can_change_kpi(actor, kpi)
        }
        (Resource::Kpi { kpi, .. }, Action::RecordMeasurement) => {
            actor.feeds(kpi.id) || can_change_kpi(actor, kpi)
        }
        (Resource::Kpi { .. }, Action::ClosePeriod | Action::CheckIn) => false,
        (Resource::Integration { .. }, _) => actor.is_admin(),
        // Append-only: events are written by the commands themselves.
        (Resource::AuditTrail { .. }, _) => false,
        // Any person may save a report (it needs a person as its owner).
        (Resource::SavedReport { .. }, Action::Create) => actor.is_person(),
        // Its owner and ADMIN change or delete it; sharing lets others
        // read and run it, never change it.
        (Resource::SavedReport { owner, .. }, Action::Update | Action::Delete) => {
            actor.is_admin() || (owner.is_some() && actor.person_id() == *owner)
        }
        (Resource::SavedReport { .. }, Action::ClosePeriod | Action::CheckIn | Action::RecordMeasurement) => {
            false
        }
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

/// A download link stands in for a person's credential for one export:
/// people get them (a browser cannot send a bearer header); an integration
/// sends its key with every request and gets none.
pub fn authorize_download_link(actor: &Actor) -> DomainResult<()> {
    match actor.principal {
        Principal::Person { .. } => Ok(()),
        Principal::Integration { .. } => Err(DomainError::forbidden("issue a download link")),
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
            unit_subtree: HashSet::new(),
        }
    }

    fn integration(org: OrganizationId, scopes: &[Scope]) -> Actor {
        Actor {
            organization_id: org,
            principal: Principal::Integration {
                id: IntegrationId::new(),
                scopes: scopes.iter().copied().collect(),
                kpis: None,
            },
            roles: RoleSet::default(),
            managed_units: HashSet::new(),
            unit_lineage: HashSet::new(),
            unit_subtree: HashSet::new(),
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

    /// A small tree: company > sales > (east, west); people placed in it.
    struct Tree {
        org: OrganizationId,
        company: UnitId,
        sales: UnitId,
        east: UnitId,
        west: UnitId,
    }

    fn tree() -> Tree {
        Tree {
            org: OrganizationId::new(),
            company: UnitId::new(),
            sales: UnitId::new(),
            east: UnitId::new(),
            west: UnitId::new(),
        }
    }

    fn placed(t: &Tree, unit: UnitId, roles: &[Role], managed: &[UnitId]) -> Actor {
        let lineage: HashSet<UnitId> = if unit == t.company {
            [t.company].into()
        } else if unit == t.sales {
            [t.sales, t.company].into()
        } else {
            [unit, t.sales, t.company].into()
        };
        let subtree: HashSet<UnitId> = if unit == t.company {
            [t.company, t.sales, t.east, t.west].into()
        } else if unit == t.sales {
            [t.sales, t.east, t.west].into()
        } else {
            [unit].into()
        };
        let mut managed_units = HashSet::new();
        for m in managed {
            if *m == t.sales {
                managed_units.extend([t.sales, t.east, t.west]);
            } else {
                managed_units.insert(*m);
            }
        }
        Actor {
            organization_id: t.org,
            principal: Principal::Person { id: PersonId::new(), unit_id: unit },
            roles: RoleSet::new(roles.iter().copied()),
            managed_units,
            unit_lineage: lineage,
            unit_subtree: subtree,
        }
    }

    /// Hand-written from the product brief's visibility rules: who reads a
    /// goal of the EAST team (or of a person in it) at each visibility.
    #[test]
    fn goal_visibility_table() {
        let t = tree();
        let owner = placed(&t, t.east, &[Role::Member], &[]);
        let owner_id = owner.person_id();
        let actors: Vec<(&str, Actor)> = vec![
            ("owner", owner),
            ("teammate", placed(&t, t.east, &[Role::Member], &[])),
            ("member of the parent unit", placed(&t, t.sales, &[Role::Member], &[])),
            ("member of the company unit", placed(&t, t.company, &[Role::Member], &[])),
            ("member of a sibling team", placed(&t, t.west, &[Role::Member], &[])),
            ("line manager (manages sales)", placed(&t, t.sales, &[Role::Manager], &[t.sales])),
            ("manager of the sibling team", placed(&t, t.west, &[Role::Manager], &[t.west])),
            ("hr", placed(&t, t.company, &[Role::Hr], &[])),
            ("admin", placed(&t, t.company, &[Role::Admin], &[])),
            ("viewer in the team", placed(&t, t.east, &[Role::Viewer], &[])),
            ("okr integration", integration(t.org, &[Scope::OkrRead])),
            ("kpi integration", integration(t.org, &[Scope::KpiWrite])),
        ];
        // [PUBLIC, UNIT, PRIVATE] for a person's goal in EAST.
        let expected: [[bool; 3]; 12] = [
            [true, true, true],
            [true, true, false],
            [true, true, false],
            [true, true, false],
            [true, false, false],
            [true, true, true],
            [true, false, false],
            [true, true, true],
            [true, true, true],
            [true, false, false],
            [true, false, false],
            [false, false, false],
        ];
        for ((who, actor), want) in actors.iter().zip(expected) {
            for (i, visibility) in
                [Visibility::Public, Visibility::Unit, Visibility::Private].into_iter().enumerate()
            {
                let goal = GoalFacts { owning_unit: t.east, owner_person: owner_id, visibility };
                let resource = Resource::Objective { organization_id: t.org, goal };
                assert_eq!(can_read(actor, &resource), want[i], "{who} reading a {visibility:?} goal");
                // The list filter agrees with the point decision.
                assert_eq!(
                    goal_read_scope(actor).allows(&goal),
                    want[i],
                    "{who}: scope vs decision, {visibility:?}"
                );
            }
        }
    }

    #[test]
    fn goal_changes() {
        let t = tree();
        let owner = placed(&t, t.east, &[Role::Member], &[]);
        let goal = GoalFacts {
            owning_unit: t.east,
            owner_person: owner.person_id(),
            visibility: Visibility::Public,
        };
        let unit_goal = GoalFacts { owning_unit: t.east, owner_person: None, visibility: Visibility::Public };
        let objective = |g| Resource::Objective { organization_id: t.org, goal: g };
        let kr_owner = placed(&t, t.east, &[Role::Member], &[]);
        let kr = Resource::KeyResult {
            organization_id: t.org,
            goal,
            owner: kr_owner.person_id().unwrap_or_default(),
        };
        let line_manager = placed(&t, t.sales, &[Role::Manager], &[t.sales]);
        let other_manager = placed(&t, t.west, &[Role::Manager], &[t.west]);
        let teammate = placed(&t, t.east, &[Role::Member], &[]);
        let viewer = placed(&t, t.east, &[Role::Viewer], &[]);
        let hr = placed(&t, t.company, &[Role::Hr], &[]);

        assert_eq!(outcome(authorize(&owner, Action::Update, &objective(goal))), "ok");
        assert_eq!(outcome(authorize(&owner, Action::Update, &objective(unit_goal))), "forbidden");
        assert_eq!(outcome(authorize(&line_manager, Action::Update, &objective(unit_goal))), "ok");
        assert_eq!(outcome(authorize(&other_manager, Action::Update, &objective(goal))), "forbidden");
        assert_eq!(outcome(authorize(&teammate, Action::Update, &objective(goal))), "forbidden");
        assert_eq!(outcome(authorize(&viewer, Action::Update, &objective(goal))), "forbidden");
        assert_eq!(outcome(authorize(&hr, Action::Update, &objective(goal))), "ok");
        // Key results: their owner checks in and edits, but cannot add or remove.
        assert_eq!(outcome(authorize(&kr_owner, Action::CheckIn, &kr)), "ok");
        assert_eq!(outcome(authorize(&kr_owner, Action::Update, &kr)), "ok");
        assert_eq!(outcome(authorize(&kr_owner, Action::Delete, &kr)), "forbidden");
        assert_eq!(outcome(authorize(&owner, Action::CheckIn, &kr)), "ok");
        assert_eq!(outcome(authorize(&teammate, Action::CheckIn, &kr)), "forbidden");
        assert_eq!(outcome(authorize(&line_manager, Action::CheckIn, &kr)), "ok");
        // A PRIVATE goal is not found by those who cannot see it.
        let private = GoalFacts { visibility: Visibility::Private, ..goal };
        assert_eq!(outcome(authorize(&teammate, Action::Update, &objective(private))), "not_found");
        // Another tenant never sees it.
        let mut stranger = placed(&t, t.east, &[Role::Admin], &[]);
        stranger.organization_id = OrganizationId::new();
        assert_eq!(outcome(authorize(&stranger, Action::Read, &objective(goal))), "not_found");
    }

    /// Subscribing is reading: for every role and kind of object, the
    /// decision is the same (hidden objects NOT_FOUND, nothing FORBIDDEN).
    #[test]
    fn subscribing_follows_reading() {
        let t = tree();
        let owner = placed(&t, t.east, &[Role::Member], &[]);
        let actors = [
            placed(&t, t.company, &[Role::Admin], &[]),
            placed(&t, t.company, &[Role::Hr], &[]),
            placed(&t, t.sales, &[Role::Manager], &[t.sales]),
            placed(&t, t.west, &[Role::Manager], &[t.west]),
            placed(&t, t.east, &[Role::Member], &[]),
            placed(&t, t.west, &[Role::Member], &[]),
            placed(&t, t.east, &[Role::Viewer], &[]),
            owner.clone(),
            integration(t.org, &[Scope::OkrRead]),
            integration(t.org, &[Scope::KpiWrite]),
        ];
        let mut resources = vec![Resource::Period { organization_id: t.org }];
        let mut hidden = 0;
        for visibility in Visibility::ALL {
            let goal =
                GoalFacts { owning_unit: t.east, owner_person: owner.person_id(), visibility: *visibility };
            resources.push(Resource::Objective { organization_id: t.org, goal });
            resources.push(Resource::KeyResult {
                organization_id: t.org,
                goal,
                owner: owner.person_id().unwrap_or_default(),
            });
        }
        for sensitive in [false, true] {
            let kpi = KpiFacts {
                id: KpiId::new(),
                unit: t.east,
                owner: owner.person_id().unwrap_or_default(),
                sensitive,
            };
            resources.push(Resource::Kpi { organization_id: t.org, kpi });
        }
        for shared in [false, true] {
            resources.push(Resource::SavedReport {
                organization_id: t.org,
                owner: owner.person_id(),
                shared,
            });
        }
        for actor in &actors {
            for resource in &resources {
                let read = outcome(authorize(actor, Action::Read, resource));
                assert_eq!(
                    outcome(authorize(actor, Action::Subscribe, resource)),
                    read,
                    "{actor:?} {resource:?}"
                );
                assert_ne!(read, "forbidden");
                hidden += usize::from(read == "not_found");
            }
        }
        // The control: some of these are hidden from some actors.
        assert!(hidden > 10, "only {hidden} hidden pairs: the cases do not exercise visibility");
    }

    /// An integration given a list of KPIs reads and feeds those only;
    /// without a list, all of the tenant's.
    #[test]
    fn integrations_feed_the_kpis_they_were_given() {
        let t = tree();
        let mine = KpiId::new();
        let other = KpiId::new();
        let facts = |id| KpiFacts { id, unit: t.east, owner: PersonId::new(), sensitive: false };
        let kpi = |id| Resource::Kpi { organization_id: t.org, kpi: facts(id) };
        let mut listed = integration(t.org, &[Scope::KpiWrite]);
        if let Principal::Integration { kpis, .. } = &mut listed.principal {
            *kpis = Some(BTreeSet::from([mine]));
        }
        assert_eq!(outcome(authorize(&listed, Action::RecordMeasurement, &kpi(mine))), "ok");
        assert_eq!(outcome(authorize(&listed, Action::Read, &kpi(mine))), "ok");
        assert_eq!(outcome(authorize(&listed, Action::RecordMeasurement, &kpi(other))), "not_found");
        assert!(kpi_read_scope(&listed).allows(&facts(mine)));
        assert!(!kpi_read_scope(&listed).allows(&facts(other)));
        // The control: without a list, every KPI.
        let all = integration(t.org, &[Scope::KpiWrite]);
        assert_eq!(outcome(authorize(&all, Action::RecordMeasurement, &kpi(other))), "ok");
        assert!(kpi_read_scope(&all).allows(&facts(other)));
    }

    /// Hand-written from the product brief: PEOPLE KPIs for HR, ADMIN and
    /// line managers of the owning unit only; other KPIs for everyone.
    #[test]
    fn kpi_visibility_and_changes() {
        let t = tree();
        let owner = placed(&t, t.east, &[Role::Member], &[]);
        let kpi_id = KpiId::new();
        let facts = |sensitive| KpiFacts {
            id: kpi_id,
            unit: t.east,
            owner: owner.person_id().unwrap_or_default(),
            sensitive,
        };
        let kpi = |sensitive| Resource::Kpi { organization_id: t.org, kpi: facts(sensitive) };
        let actors: Vec<(&str, Actor, [&str; 4])> = vec![
            // read ops KPI, change ops KPI, read PEOPLE KPI, record on PEOPLE KPI
            ("owner", owner.clone(), ["ok", "ok", "not_found", "not_found"]),
            (
                "teammate",
                placed(&t, t.east, &[Role::Member], &[]),
                ["ok", "forbidden", "not_found", "not_found"],
            ),
            (
                "viewer",
                placed(&t, t.east, &[Role::Viewer], &[]),
                ["ok", "forbidden", "not_found", "not_found"],
            ),
            ("line manager", placed(&t, t.sales, &[Role::Manager], &[t.sales]), ["ok", "ok", "ok", "ok"]),
            (
                "other manager",
                placed(&t, t.west, &[Role::Manager], &[t.west]),
                ["ok", "forbidden", "not_found", "not_found"],
            ),
            ("hr", placed(&t, t.company, &[Role::Hr], &[]), ["ok", "ok", "ok", "ok"]),
            ("admin", placed(&t, t.company, &[Role::Admin], &[]), ["ok", "ok", "ok", "ok"]),
            ("kpi integration", integration(t.org, &[Scope::KpiWrite]), ["ok", "forbidden", "ok", "ok"]),
            (
                "okr integration",
                integration(t.org, &[Scope::OkrRead]),
                ["not_found", "not_found", "not_found", "not_found"],
            ),
        ];
        for (who, actor, want) in actors {
            let got = [
                outcome(authorize(&actor, Action::Read, &kpi(false))),
                outcome(authorize(&actor, Action::Update, &kpi(false))),
                outcome(authorize(&actor, Action::Read, &kpi(true))),
                outcome(authorize(&actor, Action::RecordMeasurement, &kpi(true))),
            ];
            assert_eq!(got, want, "{who}");
            for sensitive in [false, true] {
                assert_eq!(
                    kpi_read_scope(&actor).allows(&facts(sensitive)),
                    can_read(&actor, &kpi(sensitive)),
                    "{who}: scope vs decision (sensitive {sensitive})"
                );
            }
        }
    }

    /// Hand-written from issue 9: a saved report is read by its owner, by
    /// everyone in the tenant when shared, by ADMIN and HR always; changed
    /// and deleted by its owner and ADMIN; created by any person.
    #[test]
    fn saved_report_table() {
        let t = tree();
        let owner = placed(&t, t.east, &[Role::Member], &[]);
        let report =
            |shared| Resource::SavedReport { organization_id: t.org, owner: owner.person_id(), shared };
        let new = Resource::SavedReport { organization_id: t.org, owner: None, shared: false };
        let mut stranger = placed(&t, t.east, &[Role::Admin], &[]);
        stranger.organization_id = OrganizationId::new();
        let actors: Vec<(&str, Actor, [&str; 6])> = vec![
            // read private, update private, read shared, update shared, delete shared, create
            ("owner", owner.clone(), ["ok", "ok", "ok", "ok", "ok", "ok"]),
            (
                "teammate",
                placed(&t, t.east, &[Role::Member], &[]),
                ["not_found", "not_found", "ok", "forbidden", "forbidden", "ok"],
            ),
            (
                "viewer",
                placed(&t, t.west, &[Role::Viewer], &[]),
                ["not_found", "not_found", "ok", "forbidden", "forbidden", "ok"],
            ),
            (
                "line manager",
                placed(&t, t.sales, &[Role::Manager], &[t.sales]),
                ["not_found", "not_found", "ok", "forbidden", "forbidden", "ok"],
            ),
            (
                "hr",
                placed(&t, t.company, &[Role::Hr], &[]),
                ["ok", "forbidden", "ok", "forbidden", "forbidden", "ok"],
            ),
            ("admin", placed(&t, t.company, &[Role::Admin], &[]), ["ok", "ok", "ok", "ok", "ok", "ok"]),
            (
                "integration with every scope",
                integration(t.org, &Scope::ALL),
                ["not_found", "not_found", "not_found", "not_found", "not_found", "forbidden"],
            ),
            ("other tenant's admin", stranger, ["not_found"; 6]),
        ];
        for (who, actor, want) in actors {
            let got = [
                outcome(authorize(&actor, Action::Read, &report(false))),
                outcome(authorize(&actor, Action::Update, &report(false))),
                outcome(authorize(&actor, Action::Read, &report(true))),
                outcome(authorize(&actor, Action::Update, &report(true))),
                outcome(authorize(&actor, Action::Delete, &report(true))),
                outcome(authorize(&actor, Action::Create, &new)),
            ];
            assert_eq!(got, want, "{who}");
            // Within the tenant (the store filters by it), the list shows
            // the own and the shared ones, all of them readable.
            if actor.organization_id != t.org {
                continue;
            }
            let owner_id = owner.person_id().unwrap_or_default();
            for shared in [false, true] {
                let listed = saved_report_list_scope(&actor).allows(owner_id, shared);
                if listed {
                    assert!(can_read(&actor, &report(shared)), "{who}: lists what it cannot read");
                }
                let own_or_shared =
                    actor.person_id().is_some() && (shared || actor.person_id() == Some(owner_id));
                assert_eq!(listed, own_or_shared, "{who}: list, shared {shared}");
            }
        }
    }

    #[test]
    fn integrations_are_for_admins() {
        let org = OrganizationId::new();
        let r = Resource::Integration { organization_id: org };
        assert_eq!(outcome(authorize(&person(org, &[Role::Admin]), Action::Create, &r)), "ok");
        assert_eq!(outcome(authorize(&person(org, &[Role::Hr]), Action::Create, &r)), "not_found");
        assert_eq!(outcome(authorize(&integration(org, &Scope::ALL), Action::Read, &r)), "not_found");
    }

    #[test]
    fn the_audit_trail_is_read_by_admin_and_hr_only_and_changed_by_nobody() {
        let org = OrganizationId::new();
        let trail = Resource::AuditTrail { organization_id: org };
        for (roles, readable) in [
            (&[Role::Admin][..], true),
            (&[Role::Hr][..], true),
            (&[Role::Manager][..], false),
            (&[Role::Member][..], false),
            (&[Role::Viewer][..], false),
        ] {
            let actor = person(org, roles);
            assert_eq!(authorize(&actor, Action::Read, &trail).is_ok(), readable, "{roles:?}");
            for action in [Action::Create, Action::Update, Action::Delete] {
                assert!(authorize(&actor, action, &trail).is_err(), "{roles:?} {action:?}");
            }
        }
        let all_scopes = integration(org, &Scope::ALL);
        assert!(authorize(&all_scopes, Action::Read, &trail).is_err());
        let other_admin = person(OrganizationId::new(), &[Role::Admin]);
        assert!(matches!(authorize(&other_admin, Action::Read, &trail), Err(DomainError::NotFound { .. })));
    }
}
