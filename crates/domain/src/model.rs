//! The organization structure: organizations, units, people and periods as
//! plain data, with the rules that keep them consistent.

use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::settings::OrganizationSettings;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub slug: String,
    pub settings: OrganizationSettings,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

/// What a unit is; the root of every organization is its one COMPANY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UnitKind {
    Company,
    Department,
    Team,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Company => "COMPANY",
            Self::Department => "DEPARTMENT",
            Self::Team => "TEAM",
        }
    }

    /// Which kinds may sit directly below this one. Teams hold teams (squads)
    /// but never departments, and nothing holds a company.
    pub fn may_contain(self, child: UnitKind) -> bool {
        !matches!((self, child), (_, Self::Company) | (Self::Team, Self::Department))
    }
}

impl FromStr for UnitKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "COMPANY" => Ok(Self::Company),
            "DEPARTMENT" => Ok(Self::Department),
            "TEAM" => Ok(Self::Team),
            other => Err(DomainError::invalid("kind", format!("unknown unit kind {other}"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub id: UnitId,
    pub organization_id: OrganizationId,
    pub kind: UnitKind,
    pub name: String,
    pub parent_id: Option<UnitId>,
    pub external_id: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

/// Checks where a unit may hang in the tree.
///
/// `parent` is the proposed parent with its own ancestors (nearest first);
/// `moving` is the unit being re-parented, if it exists already.
pub fn check_unit_placement(
    kind: UnitKind,
    parent: Option<(&Unit, &[UnitId])>,
    moving: Option<UnitId>,
) -> DomainResult<()> {
    match (kind, parent) {
        (UnitKind::Company, None) => Ok(()),
        (UnitKind::Company, Some(_)) => {
            Err(DomainError::invalid("parentId", "the company unit is the root and has no parent"))
        }
        (_, None) => Err(DomainError::invalid("parentId", "a department or team needs a parent unit")),
        (kind, Some((parent, parent_ancestors))) => {
            if let Some(me) = moving
                && (parent.id == me || parent_ancestors.contains(&me))
            {
                return Err(DomainError::invalid(
                    "parentId",
                    "a unit cannot be placed below itself or its own descendants",
                ));
            }
            if !parent.kind.may_contain(kind) {
                return Err(DomainError::invalid(
                    "parentId",
                    format!("a {} cannot be placed below a {}", kind.as_str(), parent.kind.as_str()),
                ));
            }
            Ok(())
        }
    }
}

/// A role held by a person; what it allows is the policy module's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Admin,
    Hr,
    Manager,
    Member,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [Self::Admin, Self::Hr, Self::Manager, Self::Member, Self::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::Hr => "HR",
            Self::Manager => "MANAGER",
            Self::Member => "MEMBER",
            Self::Viewer => "VIEWER",
        }
    }
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| DomainError::invalid("roles", format!("unknown role {s}")))
    }
}

/// A person's roles: a set, stored as a JSON array of names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoleSet(BTreeSet<Role>);

impl RoleSet {
    pub fn new(roles: impl IntoIterator<Item = Role>) -> Self {
        Self(roles.into_iter().collect())
    }

    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn union(&self, other: &RoleSet) -> RoleSet {
        Self(self.0.union(&other.0).copied().collect())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "[]".to_owned())
    }

    /// Reads a stored set; unknown names (from a newer version) are skipped
    /// rather than granting anything.
    pub fn from_json(raw: &str) -> Self {
        let names: Vec<String> = serde_json::from_str(raw).unwrap_or_default();
        Self(names.iter().filter_map(|n| n.parse().ok()).collect())
    }

    /// Parses role names from token claims, ignoring ones this product does
    /// not know (identity providers carry roles of other applications too).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Self(names.into_iter().filter_map(|n| n.parse().ok()).collect())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: PersonId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub email: String,
    pub unit_id: UnitId,
    pub manager_id: Option<PersonId>,
    pub roles: RoleSet,
    /// The `sub` claim of this person's tokens.
    pub subject: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

/// Checks a person's line manager: not themselves, and no loop of managers.
/// `manager_chain` is the proposed manager's own chain of managers, nearest first.
pub fn check_manager(
    person: Option<PersonId>,
    manager: PersonId,
    manager_chain: &[PersonId],
) -> DomainResult<()> {
    if let Some(me) = person
        && (me == manager || manager_chain.contains(&me))
    {
        return Err(DomainError::invalid(
            "managerId",
            "a person cannot be managed by themselves or by someone they manage",
        ));
    }
    Ok(())
}

/// A goal cycle's status; it only ever moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PeriodStatus {
    Planning,
    Active,
    Review,
    Closed,
}

impl PeriodStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planning => "PLANNING",
            Self::Active => "ACTIVE",
            Self::Review => "REVIEW",
            Self::Closed => "CLOSED",
        }
    }

    fn rank(self) -> u8 {
        match self {
            Self::Planning => 0,
            Self::Active => 1,
            Self::Review => 2,
            Self::Closed => 3,
        }
    }

    /// Forward moves only (skipping a step is allowed: a short cycle may go
    /// straight from ACTIVE to CLOSED); never back, never to itself.
    pub fn check_transition(self, to: PeriodStatus) -> DomainResult<()> {
        if to.rank() > self.rank() {
            Ok(())
        } else {
            Err(DomainError::invalid(
                "status",
                format!(
                    "a period moves only forward (PLANNING, ACTIVE, REVIEW, CLOSED); it cannot go from {} to {}",
                    self.as_str(),
                    to.as_str()
                ),
            ))
        }
    }
}

impl FromStr for PeriodStatus {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "PLANNING" => Ok(Self::Planning),
            "ACTIVE" => Ok(Self::Active),
            "REVIEW" => Ok(Self::Review),
            "CLOSED" => Ok(Self::Closed),
            other => Err(DomainError::invalid("status", format!("unknown period status {other}"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub id: PeriodId,
    pub organization_id: OrganizationId,
    pub name: String,
    /// First day of the period, in the organization's time zone.
    pub start_date: NaiveDate,
    /// Last day of the period (inclusive), in the organization's time zone.
    pub end_date: NaiveDate,
    pub status: PeriodStatus,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

/// A period's dates: the start strictly before the (inclusive) end.
pub fn check_period_dates(start: NaiveDate, end: NaiveDate) -> DomainResult<()> {
    if start < end { Ok(()) } else { Err(DomainError::invalid("endDate", "must be after startDate")) }
}

/// Optimistic concurrency: an update names the version it read.
pub fn check_version(entity: &str, current: i32, expected: Option<i32>) -> DomainResult<()> {
    match expected {
        Some(v) if v != current => Err(DomainError::conflict(format!(
            "{entity} was changed by someone else (version {current}, you sent {v}); reload and retry"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(kind: UnitKind) -> Unit {
        Unit {
            id: UnitId::new(),
            organization_id: OrganizationId::new(),
            kind,
            name: "u".into(),
            parent_id: None,
            external_id: None,
            version: 1,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn unit_placement_rules() {
        let company = unit(UnitKind::Company);
        let dept = unit(UnitKind::Department);
        let team = unit(UnitKind::Team);
        assert!(check_unit_placement(UnitKind::Company, None, None).is_ok());
        assert!(check_unit_placement(UnitKind::Company, Some((&company, &[])), None).is_err());
        assert!(check_unit_placement(UnitKind::Team, None, None).is_err());
        assert!(check_unit_placement(UnitKind::Department, Some((&company, &[])), None).is_ok());
        assert!(check_unit_placement(UnitKind::Team, Some((&dept, &[company.id])), None).is_ok());
        assert!(check_unit_placement(UnitKind::Team, Some((&team, &[dept.id])), None).is_ok());
        assert!(check_unit_placement(UnitKind::Department, Some((&team, &[dept.id])), None).is_err());
    }

    #[test]
    fn a_unit_cannot_move_below_itself() {
        let company = unit(UnitKind::Company);
        let dept = unit(UnitKind::Department);
        let team = unit(UnitKind::Team);
        // Moving dept below its own child team: team's ancestors are [dept, company].
        let err =
            check_unit_placement(UnitKind::Department, Some((&team, &[dept.id, company.id])), Some(dept.id));
        assert!(matches!(err, Err(DomainError::Invalid { field, .. }) if field == "parentId"));
        let err = check_unit_placement(UnitKind::Department, Some((&dept, &[company.id])), Some(dept.id));
        assert!(err.is_err());
        // Positive control: the same move to an unrelated parent is fine.
        assert!(check_unit_placement(UnitKind::Department, Some((&company, &[])), Some(dept.id)).is_ok());
    }

    #[test]
    fn period_status_moves_forward_only() {
        use PeriodStatus::*;
        let all = [Planning, Active, Review, Closed];
        for (i, from) in all.iter().enumerate() {
            for (j, to) in all.iter().enumerate() {
                assert_eq!(from.check_transition(*to).is_ok(), j > i, "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn period_dates() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().unwrap_or_default();
        assert!(check_period_dates(d("2026-01-01"), d("2026-03-31")).is_ok());
        assert!(check_period_dates(d("2026-03-31"), d("2026-03-31")).is_err());
        assert!(check_period_dates(d("2026-04-01"), d("2026-03-31")).is_err());
    }

    #[test]
    fn managers_form_no_loop() {
        let (a, b, c) = (PersonId::new(), PersonId::new(), PersonId::new());
        assert!(check_manager(Some(a), a, &[]).is_err());
        assert!(check_manager(Some(a), b, &[c, a]).is_err());
        assert!(check_manager(Some(a), b, &[c]).is_ok());
    }

    #[test]
    fn roles_round_trip_and_ignore_unknown_names() {
        let set = RoleSet::new([Role::Hr, Role::Admin]);
        assert_eq!(set.to_json(), r#"["ADMIN","HR"]"#);
        assert_eq!(RoleSet::from_json(&set.to_json()), set);
        assert_eq!(RoleSet::from_json(r#"["ADMIN","SUPERUSER"]"#), RoleSet::new([Role::Admin]));
        assert_eq!(RoleSet::from_names(["hr", "billing"]), RoleSet::new([Role::Hr]));
    }

    #[test]
    fn versions() {
        assert!(check_version("unit", 3, Some(3)).is_ok());
        assert!(check_version("unit", 3, None).is_ok());
        assert!(matches!(check_version("unit", 3, Some(2)), Err(DomainError::Conflict { .. })));
    }
}
