use super::UnitNode;
use super::enums::Role;
use super::unit::{PeopleFilterInput, PersonOrderBy, nested_people};
use crate::connection::Conn;
use crate::context::data;
use crate::error::ApiResult;
use crate::ids::{NodeType, encode_id};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use goalgraph_domain::model::Person;
use goalgraph_domain::policy::{self, Action, Resource};
use goalgraph_persistence::PeopleParent;

/// An employee of the organization.
#[derive(Clone)]
pub struct PersonNode(pub Person);

#[Object(name = "Person")]
impl PersonNode {
    pub async fn id(&self) -> ID {
        encode_id(NodeType::Person, self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn roles(&self) -> Vec<Role> {
        self.0.roles.iter().map(Into::into).collect()
    }
    /// Deactivated people keep their history but cannot sign in.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// The `sub` claim of this person's tokens; shown only to those who may
    /// edit people.
    async fn subject(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        let actor = &data(ctx)?.ctx.actor;
        let resource =
            Resource::Person { organization_id: actor.organization_id, person_id: Some(self.0.id) };
        Ok(policy::authorize(actor, Action::Update, &resource).is_ok().then_some(self.0.subject.as_str()))
    }
    /// The key of this person in a partner system (HRIS), unique in the organization.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// Counts edits of the person's own fields.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn unit(&self, ctx: &Context<'_>) -> ApiResult<Option<UnitNode>> {
        Ok(data(ctx)?.loaders.units.load_one(self.0.unit_id).await?.map(UnitNode))
    }
    /// This person's line manager.
    async fn manager(&self, ctx: &Context<'_>) -> ApiResult<Option<PersonNode>> {
        let Some(manager) = self.0.manager_id else { return Ok(None) };
        Ok(data(ctx)?.loaders.people.load_one(manager).await?.map(PersonNode))
    }
    /// The units this person manages.
    async fn managed_units(&self, ctx: &Context<'_>) -> ApiResult<Vec<UnitNode>> {
        let d = data(ctx)?;
        let ids = d.loaders.managed_units.load_one(self.0.id).await?.unwrap_or_default();
        let found = d.loaders.units.load_many(ids.iter().copied()).await?;
        let mut units: Vec<UnitNode> =
            ids.iter().filter_map(|id| found.get(id).cloned().map(UnitNode)).collect();
        units.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(units)
    }
    /// The people whose line manager this person is.
    async fn direct_reports(
        &self,
        ctx: &Context<'_>,
        filter: Option<PeopleFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        order_by: Option<PersonOrderBy>,
    ) -> ApiResult<Conn<PersonNode>> {
        nested_people(ctx, PeopleParent::Manager(self.0.id), filter, first, after, order_by).await
    }

    /// The objectives this person owns (optionally in one period), by title.
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
        let owner = goalgraph_domain::okr::Owner::Person(self.0.id);
        let found = data(ctx)?.loaders.owner_objectives.load_one((owner, period)).await?.unwrap_or_default();
        Ok(found.into_iter().map(crate::types::ObjectiveNode).collect())
    }
}
