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
