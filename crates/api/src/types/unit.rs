use super::PersonNode;
use super::enums::UnitKind;
use crate::connection::{self, Conn, OrderDirection};
use crate::context::data;
use crate::error::ApiResult;
use crate::ids::{NodeType, encode_id};
use crate::loaders::{PeoplePageKey, PeopleSpec};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use goalgraph_domain::model::Unit;
use goalgraph_persistence::{Page, PeopleFilter, PeopleParent, PersonOrder, UnitOrder};

/// A company, department or team. Units form one tree per organization,
/// rooted at its COMPANY.
pub struct UnitNode(pub Unit);

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum UnitOrderField {
    #[default]
    Name,
    CreatedAt,
}

#[derive(InputObject, Clone, Copy, Debug, Default)]
pub struct UnitOrderBy {
    #[graphql(default)]
    pub field: UnitOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl From<UnitOrderField> for UnitOrder {
    fn from(f: UnitOrderField) -> Self {
        match f {
            UnitOrderField::Name => UnitOrder::Name,
            UnitOrderField::CreatedAt => UnitOrder::CreatedAt,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum PersonOrderField {
    #[default]
    Name,
    Email,
    CreatedAt,
}

#[derive(InputObject, Clone, Copy, Debug, Default)]
pub struct PersonOrderBy {
    #[graphql(default)]
    pub field: PersonOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl From<PersonOrderField> for PersonOrder {
    fn from(f: PersonOrderField) -> Self {
        match f {
            PersonOrderField::Name => PersonOrder::Name,
            PersonOrderField::Email => PersonOrder::Email,
            PersonOrderField::CreatedAt => PersonOrder::CreatedAt,
        }
    }
}

/// Narrows a list of people.
#[derive(InputObject, Clone, Debug, Default)]
pub struct PeopleFilterInput {
    /// Only active (true) or deactivated (false) people.
    pub active: Option<bool>,
    /// Case-insensitive substring of the name or e-mail address.
    pub search: Option<String>,
}

/// One page of the people of a unit or of a manager, batched with every
/// sibling asking the same (one statement per level, whatever the number
/// of parents).
pub(crate) async fn nested_people(
    ctx: &Context<'_>,
    parent: PeopleParent,
    filter: Option<PeopleFilterInput>,
    first: Option<i32>,
    after: Option<String>,
    order_by: Option<PersonOrderBy>,
) -> ApiResult<Conn<PersonNode>> {
    let d = data(ctx)?;
    let filter = filter.unwrap_or_default();
    let had_cursor = after.is_some();
    let order = order_by.unwrap_or_default();
    let spec = PeopleSpec {
        active: filter.active,
        search: filter.search,
        order: order.field.into(),
        direction: order.direction.into(),
        args: connection::page_args(ctx, first, after)?,
    };
    let key = PeoplePageKey { parent, spec };
    let page = d
        .loaders
        .people_pages
        .load_one(key.clone())
        .await?
        .unwrap_or(Page { items: vec![], has_next_page: false });
    let total = if connection::wants_total(ctx) {
        d.loaders.people_counts.load_one(key).await?.unwrap_or(0)
    } else {
        0
    };
    Ok(connection::build(page, had_cursor, total, PersonNode))
}

/// Lists people page by page (top level).
pub(crate) async fn people_connection(
    ctx: &Context<'_>,
    filter: PeopleFilter,
    first: Option<i32>,
    after: Option<String>,
    order_by: Option<PersonOrderBy>,
) -> ApiResult<Conn<PersonNode>> {
    let d = data(ctx)?;
    let had_cursor = after.is_some();
    let args = connection::page_args(ctx, first, after)?;
    let order = order_by.unwrap_or_default();
    let page =
        d.store.list_people(&d.ctx.actor, &filter, order.field.into(), order.direction.into(), &args).await?;
    let total =
        if connection::wants_total(ctx) { d.store.count_people(&d.ctx.actor, &filter).await? } else { 0 };
    Ok(connection::build(page, had_cursor, total, PersonNode))
}

#[Object(name = "Unit")]
impl UnitNode {
    pub async fn id(&self) -> ID {
        encode_id(NodeType::Unit, self.0.id.0)
    }
    async fn kind(&self) -> UnitKind {
        self.0.kind.into()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The key of this unit in a partner system (HRIS), unique in the organization.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// Counts edits of the unit's own fields.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The unit above; none for the company.
    async fn parent(&self, ctx: &Context<'_>) -> ApiResult<Option<UnitNode>> {
        let Some(parent) = self.0.parent_id else { return Ok(None) };
        Ok(data(ctx)?.loaders.units.load_one(parent).await?.map(UnitNode))
    }
    /// The units directly below, by name.
    async fn children(&self, ctx: &Context<'_>) -> ApiResult<Vec<UnitNode>> {
        let units = data(ctx)?.loaders.children.load_one(self.0.id).await?;
        Ok(units.unwrap_or_default().into_iter().map(UnitNode).collect())
    }
    /// The units above, nearest first, up to the company.
    async fn ancestors(&self, ctx: &Context<'_>) -> ApiResult<Vec<UnitNode>> {
        let d = data(ctx)?;
        let ids = d.loaders.ancestors.load_one(self.0.id).await?.unwrap_or_default();
        let found = d.loaders.units.load_many(ids.iter().copied()).await?;
        Ok(ids.iter().filter_map(|id| found.get(id).cloned().map(UnitNode)).collect())
    }
    /// The people who manage this unit (and so its whole subtree).
    async fn managers(&self, ctx: &Context<'_>) -> ApiResult<Vec<PersonNode>> {
        let d = data(ctx)?;
        let ids = d.loaders.unit_managers.load_one(self.0.id).await?.unwrap_or_default();
        let found = d.loaders.people.load_many(ids.iter().copied()).await?;
        let mut people: Vec<PersonNode> =
            ids.iter().filter_map(|id| found.get(id).cloned().map(PersonNode)).collect();
        people.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(people)
    }
    /// The people whose unit this is (not those of sub-units).
    async fn people(
        &self,
        ctx: &Context<'_>,
        filter: Option<PeopleFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        order_by: Option<PersonOrderBy>,
    ) -> ApiResult<Conn<PersonNode>> {
        nested_people(ctx, PeopleParent::Unit(self.0.id), filter, first, after, order_by).await
    }

    /// The KPIs in use that this unit owns, by name.
    async fn kpis(&self, ctx: &Context<'_>) -> crate::error::ApiResult<Vec<crate::types::KpiNode>> {
        let found = data(ctx)?.loaders.unit_kpis.load_one(self.0.id).await?.unwrap_or_default();
        Ok(found.into_iter().map(crate::types::KpiNode).collect())
    }

    /// The objectives this unit owns (optionally in one period), by title.
    async fn objectives(
        &self,
        ctx: &Context<'_>,
        period_id: Option<async_graphql::ID>,
    ) -> crate::error::ApiResult<Vec<crate::types::ObjectiveNode>> {
        let period = period_id
            .as_ref()
            .map(|p| {
                crate::ids::decode_id::<goalgraph_domain::PeriodId>(
                    "periodId",
                    crate::ids::NodeType::Period,
                    p,
                )
            })
            .transpose()?;
        let owner = goalgraph_domain::okr::Owner::Unit(self.0.id);
        let found = data(ctx)?.loaders.owner_objectives.load_one((owner, period)).await?.unwrap_or_default();
        Ok(found.into_iter().map(crate::types::ObjectiveNode).collect())
    }
}
