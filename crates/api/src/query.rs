//! The root query.

use crate::connection::{self, Conn, OrderDirection};
use crate::context::data;
use crate::error::{ApiError, ApiResult};
use crate::ids::{NodeType, decode_any, decode_id};
use crate::types::enums::{PeriodStatus, UnitKind};
use crate::types::unit::{PersonOrderBy, UnitOrderBy, people_connection};
use crate::types::{
    CheckInNode, KeyResultNode, Node, ObjectiveNode, OrganizationNode, PeriodNode, PersonNode, UnitNode,
};
use async_graphql::{Context, Enum, ID, InputObject, MergedObject, Object};
use goalgraph_domain::{CheckInId, KeyResultId, ObjectiveId, PeriodId, PersonId, UnitId};
use goalgraph_persistence::{PeopleFilter, PeriodOrder, StoreError, UnitFilter};

/// The root query: one object per feature, merged.
#[derive(MergedObject, Default)]
pub struct Query(
    DirectoryQuery,
    crate::goals::GoalQuery,
    crate::kpis::KpiQuery,
    crate::integrations::IntegrationQuery,
    crate::audit::AuditQuery,
    crate::review::ReviewQuery,
    crate::reports::ReportQuery,
    crate::saved_reports::SavedReportQuery,
);

#[derive(Default)]
pub struct DirectoryQuery;

/// Narrows a list of units.
#[derive(InputObject, Clone, Debug, Default)]
pub struct UnitFilterInput {
    /// Only the direct children of this unit.
    pub parent_id: Option<ID>,
    pub kind: Option<UnitKind>,
    /// Case-insensitive substring of the name.
    pub search: Option<String>,
}

/// Narrows a list of people.
#[derive(InputObject, Clone, Debug, Default)]
pub struct PeopleQueryFilter {
    /// Only the people of this unit (not of its sub-units).
    pub unit_id: Option<ID>,
    /// Only the direct reports of this person.
    pub manager_id: Option<ID>,
    pub active: Option<bool>,
    /// Case-insensitive substring of the name or e-mail address.
    pub search: Option<String>,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum PeriodOrderField {
    #[default]
    StartDate,
    Name,
}

#[derive(InputObject, Clone, Copy, Debug, Default)]
pub struct PeriodOrderBy {
    #[graphql(default)]
    pub field: PeriodOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Missing and invisible are the same to a reader: `None`.
fn found<T>(result: Result<T, StoreError>) -> ApiResult<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(StoreError::Domain(goalgraph_domain::DomainError::NotFound { .. })) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Objects by global id, in the order asked: each type loaded in one
/// batch; null for what does not exist or is hidden (the same answer).
async fn load_nodes(ctx: &Context<'_>, ids: &[ID]) -> ApiResult<Vec<Option<Node>>> {
    let d = data(ctx)?;
    let decoded: Vec<Option<(NodeType, uuid::Uuid)>> = ids.iter().map(|id| decode_any(id)).collect();
    let of = |t: NodeType| decoded.iter().flatten().filter(move |(n, _)| *n == t).map(|(_, u)| *u);
    let units = d.loaders.units.load_many(of(NodeType::Unit).map(UnitId::from)).await?;
    let people = d.loaders.people.load_many(of(NodeType::Person).map(PersonId::from)).await?;
    let periods = d.loaders.periods.load_many(of(NodeType::Period).map(PeriodId::from)).await?;
    let objectives = d.loaders.objectives.load_many(of(NodeType::Objective).map(ObjectiveId::from)).await?;
    let key_results = d.loaders.key_results.load_many(of(NodeType::KeyResult).map(KeyResultId::from)).await?;
    let check_in_ids: Vec<CheckInId> = of(NodeType::CheckIn).map(CheckInId::from).collect();
    let check_ins = d.store.check_ins_by_ids(&d.ctx.actor, &check_in_ids).await?;
    let saved_report_ids: Vec<goalgraph_domain::SavedReportId> =
        of(NodeType::SavedReport).map(goalgraph_domain::SavedReportId::from).collect();
    let saved_reports = if saved_report_ids.is_empty() {
        Default::default()
    } else {
        d.store.saved_reports_by_ids(&d.ctx.actor, &saved_report_ids).await?
    };
    let kpis = d.loaders.kpis.load_many(of(NodeType::Kpi).map(goalgraph_domain::KpiId::from)).await?;
    let organization = if of(NodeType::Organization).next().is_some() {
        found(d.store.organization(&d.ctx.actor).await)?
    } else {
        None
    };
    Ok(decoded
        .into_iter()
        .map(|id| {
            let (node, uuid) = id?;
            match node {
                NodeType::Organization => organization
                    .as_ref()
                    .filter(|o| o.id.0 == uuid)
                    .map(|o| Node::Organization(OrganizationNode(o.clone()))),
                NodeType::Unit => units.get(&UnitId(uuid)).map(|u| Node::Unit(UnitNode(u.clone()))),
                NodeType::Person => people.get(&PersonId(uuid)).map(|p| Node::Person(PersonNode(p.clone()))),
                NodeType::Period => periods.get(&PeriodId(uuid)).map(|p| Node::Period(PeriodNode(p.clone()))),
                NodeType::Objective => {
                    objectives.get(&ObjectiveId(uuid)).map(|o| Node::Objective(ObjectiveNode(o.clone())))
                }
                NodeType::KeyResult => key_results
                    .get(&KeyResultId(uuid))
                    .map(|k| Node::KeyResult(KeyResultNode::new(k.clone()))),
                NodeType::CheckIn => {
                    check_ins.get(&CheckInId(uuid)).map(|c| Node::CheckIn(CheckInNode(c.clone())))
                }
                NodeType::Kpi => kpis
                    .get(&goalgraph_domain::KpiId(uuid))
                    .map(|k| Node::Kpi(crate::types::KpiNode(k.clone()))),
                NodeType::SavedReport => saved_reports
                    .get(&goalgraph_domain::SavedReportId(uuid))
                    .map(|r| Node::SavedReport(crate::saved_reports::SavedReportNode(r.clone()))),
                // Measurements are reached through their KPI; integrations
                // through `integrations`.
                NodeType::Measurement | NodeType::Integration => None,
            }
        })
        .collect())
}

#[Object]
impl DirectoryQuery {
    /// Any object by its global id; null when it does not exist or the
    /// caller may not see it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        Ok(load_nodes(ctx, std::slice::from_ref(&id)).await?.pop().flatten())
    }

    /// Several objects by global id, in the order asked; null for each one
    /// that does not exist or is hidden.
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> ApiResult<Vec<Option<Node>>> {
        let max = data(ctx)?.ctx.settings.max_page_size as usize;
        if ids.len() > max {
            return Err(ApiError::bad_input("ids", format!("at most {max} ids")));
        }
        load_nodes(ctx, &ids).await
    }

    /// The person the request is authenticated as; null for integrations.
    async fn viewer(&self, ctx: &Context<'_>) -> ApiResult<Option<PersonNode>> {
        Ok(data(ctx)?.ctx.person.clone().map(PersonNode))
    }

    /// The caller's organization.
    async fn organization(&self, ctx: &Context<'_>) -> ApiResult<OrganizationNode> {
        let d = data(ctx)?;
        Ok(OrganizationNode(d.store.organization(&d.ctx.actor).await?))
    }

    /// The units of the organization.
    async fn units(
        &self,
        ctx: &Context<'_>,
        filter: Option<UnitFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        order_by: Option<UnitOrderBy>,
    ) -> ApiResult<Conn<UnitNode>> {
        let d = data(ctx)?;
        let filter = filter.unwrap_or_default();
        let store_filter = UnitFilter {
            parent_id: filter
                .parent_id
                .as_ref()
                .map(|id| decode_id::<UnitId>("filter.parentId", NodeType::Unit, id))
                .transpose()?,
            kind: filter.kind.map(Into::into),
            search: filter.search,
        };
        let had_cursor = after.is_some();
        let args = connection::page_args(ctx, first, after)?;
        let order = order_by.unwrap_or_default();
        let page = d
            .store
            .list_units(&d.ctx.actor, &store_filter, order.field.into(), order.direction.into(), &args)
            .await?;
        let total = if connection::wants_total(ctx) {
            d.store.count_units(&d.ctx.actor, &store_filter).await?
        } else {
            0
        };
        Ok(connection::build(page, had_cursor, total, UnitNode))
    }

    /// The people of the organization.
    async fn people(
        &self,
        ctx: &Context<'_>,
        filter: Option<PeopleQueryFilter>,
        first: Option<i32>,
        after: Option<String>,
        order_by: Option<PersonOrderBy>,
    ) -> ApiResult<Conn<PersonNode>> {
        let filter = filter.unwrap_or_default();
        let store_filter = PeopleFilter {
            unit_id: filter
                .unit_id
                .as_ref()
                .map(|id| decode_id::<UnitId>("filter.unitId", NodeType::Unit, id))
                .transpose()?,
            manager_id: filter
                .manager_id
                .as_ref()
                .map(|id| decode_id::<PersonId>("filter.managerId", NodeType::Person, id))
                .transpose()?,
            active: filter.active,
            search: filter.search,
        };
        people_connection(ctx, store_filter, first, after, order_by).await
    }

    /// The goal cycles of the organization.
    async fn periods(
        &self,
        ctx: &Context<'_>,
        status: Option<PeriodStatus>,
        first: Option<i32>,
        after: Option<String>,
        order_by: Option<PeriodOrderBy>,
    ) -> ApiResult<Conn<PeriodNode>> {
        let d = data(ctx)?;
        let status = status.map(Into::into);
        let had_cursor = after.is_some();
        let args = connection::page_args(ctx, first, after)?;
        let order = order_by.unwrap_or_default();
        let field = match order.field {
            PeriodOrderField::StartDate => PeriodOrder::StartDate,
            PeriodOrderField::Name => PeriodOrder::Name,
        };
        let page = d.store.list_periods(&d.ctx.actor, status, field, order.direction.into(), &args).await?;
        let total =
            if connection::wants_total(ctx) { d.store.count_periods(&d.ctx.actor, status).await? } else { 0 };
        Ok(connection::build(page, had_cursor, total, PeriodNode))
    }
}
