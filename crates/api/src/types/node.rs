//! The Relay `Node` interface.

use super::{
    CheckInNode, KeyResultNode, KpiNode, ObjectiveNode, OrganizationNode, PeriodNode, PersonNode, UnitNode,
};
use async_graphql::{ID, Interface};

/// An object with a global id, fetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global id."))]
#[allow(clippy::large_enum_variant)]
pub enum Node {
    Organization(OrganizationNode),
    Unit(UnitNode),
    Person(PersonNode),
    Period(PeriodNode),
    Objective(ObjectiveNode),
    KeyResult(KeyResultNode),
    CheckIn(CheckInNode),
    Kpi(KpiNode),
    SavedReport(crate::saved_reports::SavedReportNode),
}
