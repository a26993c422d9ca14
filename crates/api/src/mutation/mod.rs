//! Mutations, one object per feature, merged into the root. Each takes one
//! input object, runs as one transaction and returns a payload with the
//! changed objects.

mod organization;
mod people;
mod periods;
mod units;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Mutation(
    organization::OrganizationMutation,
    units::UnitMutation,
    people::PersonMutation,
    periods::PeriodMutation,
    crate::goals::GoalMutation,
    crate::kpis::KpiMutation,
    crate::integrations::IntegrationMutation,
    crate::directory::DirectoryMutation,
    crate::reports::ReportMutation,
    crate::saved_reports::SavedReportMutation,
);
