//! GraphQL mirrors of the domain's enums.

use async_graphql::Enum;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::model::UnitKind")]
pub enum UnitKind {
    Company,
    Department,
    Team,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::model::Role")]
pub enum Role {
    Admin,
    Hr,
    Manager,
    Member,
    Viewer,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::model::PeriodStatus")]
pub enum PeriodStatus {
    Planning,
    Active,
    Review,
    Closed,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::okr::ObjectiveKind")]
pub enum ObjectiveKind {
    /// Succeeds only at 100 %.
    Committed,
    /// A stretch goal: succeeds at 70 %.
    Aspirational,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::okr::Visibility")]
pub enum Visibility {
    /// The whole organization.
    Public,
    /// The owning unit's subtree and ancestors' members, and line managers.
    Unit,
    /// The owner, line managers, HR and admins.
    Private,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::okr::ProgressDriver")]
pub enum ProgressDriver {
    KeyResults,
    AlignedObjectives,
    Both,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::okr::ObjectiveStatus")]
pub enum ObjectiveStatus {
    Draft,
    Active,
    Completed,
    Cancelled,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::okr::Measure")]
pub enum Measure {
    Increase,
    Decrease,
    MaintainAbove,
    MaintainBelow,
    Milestone,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::formulas::Health")]
pub enum Health {
    OnTrack,
    AtRisk,
    OffTrack,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::formulas::Grade")]
pub enum Grade {
    Red,
    Yellow,
    Green,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::kpi::KpiCategory")]
pub enum KpiCategory {
    Financial,
    Operational,
    /// Sensitive: visible to HR, admins and line managers of the owning unit only.
    People,
    Customer,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::kpi::Direction")]
pub enum KpiDirection {
    HigherIsBetter,
    LowerIsBetter,
    WithinRange,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::kpi::Cadence")]
pub enum Cadence {
    Daily,
    Weekly,
    Monthly,
    Quarterly,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::kpi::KpiStatus")]
pub enum KpiStatus {
    NoData,
    /// The latest point is older than twice the cadence.
    Stale,
    Healthy,
    /// Outside the healthy range, within the tolerance band.
    AtRisk,
    Breached,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::kpi::Bucket")]
pub enum Bucket {
    Day,
    /// Weeks start on Monday.
    Week,
    Month,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::kpi::TrendDirection")]
pub enum TrendDirection {
    Improving,
    Worsening,
    Flat,
}
