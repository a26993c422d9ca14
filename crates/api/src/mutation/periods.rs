use crate::context::data;
use crate::error::ApiResult;
use crate::ids::{NodeType, decode_id};
use crate::types::PeriodNode;
use crate::types::enums::PeriodStatus;
use crate::types::scalars::Date;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use goalgraph_domain::PeriodId;
use goalgraph_persistence::{NewPeriod, PeriodPatch};

#[derive(Default)]
pub struct PeriodMutation;

#[derive(InputObject)]
pub struct CreatePeriodInput {
    pub name: String,
    pub start_date: Date,
    /// Inclusive; after the start date.
    pub end_date: Date,
}

#[derive(InputObject)]
pub struct UpdatePeriodInput {
    pub id: ID,
    pub name: Option<String>,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    pub expected_version: Option<i32>,
}

#[derive(InputObject)]
pub struct TransitionPeriodInput {
    pub id: ID,
    /// A later status: PLANNING → ACTIVE → REVIEW → CLOSED.
    pub status: PeriodStatus,
    pub expected_version: Option<i32>,
}

#[derive(SimpleObject)]
pub struct PeriodPayload {
    pub period: PeriodNode,
}

#[Object]
impl PeriodMutation {
    /// Opens a new goal cycle in PLANNING.
    async fn create_period(&self, ctx: &Context<'_>, input: CreatePeriodInput) -> ApiResult<PeriodPayload> {
        let d = data(ctx)?;
        let new = NewPeriod { name: input.name, start_date: input.start_date.0, end_date: input.end_date.0 };
        Ok(PeriodPayload { period: PeriodNode(d.store.create_period(&d.ctx.actor, new).await?) })
    }

    async fn update_period(&self, ctx: &Context<'_>, input: UpdatePeriodInput) -> ApiResult<PeriodPayload> {
        let d = data(ctx)?;
        let id: PeriodId = decode_id("id", NodeType::Period, &input.id)?;
        let patch = PeriodPatch {
            name: input.name,
            start_date: input.start_date.map(|d| d.0),
            end_date: input.end_date.map(|d| d.0),
            expected_version: input.expected_version,
        };
        Ok(PeriodPayload { period: PeriodNode(d.store.update_period(&d.ctx.actor, id, patch).await?) })
    }

    /// Moves a period forward; moving it to CLOSED needs HR or ADMIN.
    async fn transition_period(
        &self,
        ctx: &Context<'_>,
        input: TransitionPeriodInput,
    ) -> ApiResult<PeriodPayload> {
        let d = data(ctx)?;
        let id: PeriodId = decode_id("id", NodeType::Period, &input.id)?;
        let period =
            d.store.transition_period(&d.ctx.actor, id, input.status.into(), input.expected_version).await?;
        Ok(PeriodPayload { period: PeriodNode(period) })
    }
}
