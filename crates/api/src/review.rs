//! The quarterly review of a period (`periodReview`).

use crate::context::data;
use crate::error::ApiResult;
use crate::ids::{NodeType, decode_id};
use crate::types::goal::GoalOwner;
use crate::types::{KeyResultNode, KpiNode, ObjectiveNode, PeriodNode, PersonNode, UnitNode};
use async_graphql::{Context, ID, Object, SimpleObject};
use goalgraph_domain::PeriodId;
use goalgraph_domain::model::Period;
use goalgraph_domain::okr::Owner;
use goalgraph_persistence::{KindCounts, ReviewCounts, provisional};

#[derive(Default)]
pub struct ReviewQuery;

#[Object]
impl ReviewQuery {
    /// The review of one period over the objectives the caller may see
    /// (cancelled ones are not reviewed). NOT_FOUND for a period that does
    /// not exist or that the caller may not see.
    async fn period_review(&self, ctx: &Context<'_>, period_id: ID) -> ApiResult<Option<PeriodReview>> {
        let d = data(ctx)?;
        let id: PeriodId = decode_id("periodId", NodeType::Period, &period_id)?;
        let period = d.store.period(&d.ctx.actor, id).await?;
        let counts = d.store.review_counts(&d.ctx.actor, &period).await?;
        Ok(Some(PeriodReview { period, counts }))
    }
}

/// A period's review: how its objectives scored, which succeeded, what
/// could become a KPI, which KPIs nobody worked on, and who carries too
/// much. Every count covers only what the caller may see; hidden objects
/// are never named.
pub struct PeriodReview {
    period: Period,
    counts: ReviewCounts,
}

/// Objectives per grade band of their score: RED below 0.4, YELLOW from
/// 0.4 to below 0.7, GREEN from 0.7.
#[derive(SimpleObject)]
pub struct ScoreDistribution {
    pub red: u64,
    pub yellow: u64,
    pub green: u64,
}

/// Objectives per kind that succeeded or missed (COMMITTED succeeds at a
/// score of 1.0, ASPIRATIONAL at 0.7).
pub struct ReviewOutcome {
    period: Period,
    succeeded: bool,
    counts: KindCounts,
}

#[Object]
impl ReviewOutcome {
    async fn committed(&self) -> u64 {
        self.counts.committed
    }
    async fn aspirational(&self) -> u64 {
        self.counts.aspirational
    }
    async fn total(&self) -> u64 {
        self.counts.committed + self.counts.aspirational
    }
    /// The objectives counted, by title.
    async fn objectives(&self, ctx: &Context<'_>) -> ApiResult<Vec<ObjectiveNode>> {
        let d = data(ctx)?;
        let found = d.store.review_objectives(&d.ctx.actor, &self.period, self.succeeded).await?;
        Ok(found.into_iter().map(ObjectiveNode).collect())
    }
}

/// An owner with more ACTIVE objectives in the period than the
/// organization's limit ("3 to 5").
pub struct OverloadedOwner {
    owner: Owner,
    active: u64,
    threshold: u32,
}

#[Object]
impl OverloadedOwner {
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<GoalOwner>> {
        let d = data(ctx)?;
        Ok(match self.owner {
            Owner::Unit(u) => d.loaders.units.load_one(u).await?.map(|u| GoalOwner::Unit(UnitNode(u))),
            Owner::Person(p) => d.loaders.people.load_one(p).await?.map(|p| GoalOwner::Person(PersonNode(p))),
        })
    }
    /// Its ACTIVE objectives in the period that the caller may see.
    async fn active_objectives(&self) -> u64 {
        self.active
    }
    /// The limit in force (organization settings).
    async fn threshold(&self) -> u32 {
        self.threshold
    }
}

#[Object]
impl PeriodReview {
    async fn period(&self) -> PeriodNode {
        PeriodNode(self.period.clone())
    }
    /// True until the period is CLOSED: the scores reviewed are then the
    /// objectives' current progress, not yet the frozen scores.
    async fn provisional(&self) -> bool {
        provisional(&self.period)
    }
    /// The objectives reviewed.
    async fn objective_count(&self) -> u64 {
        self.counts.objectives
    }
    async fn score_distribution(&self) -> ScoreDistribution {
        let g = self.counts.grades;
        ScoreDistribution { red: g.red, yellow: g.yellow, green: g.green }
    }
    async fn succeeded(&self) -> ReviewOutcome {
        ReviewOutcome { period: self.period.clone(), succeeded: true, counts: self.counts.succeeded }
    }
    async fn missed(&self) -> ReviewOutcome {
        ReviewOutcome { period: self.period.clone(), succeeded: false, counts: self.counts.missed }
    }
    /// Key results that reached their target (a MILESTONE is no metric) and
    /// were not promoted to a KPI yet: should they become standing KPIs?
    async fn kpi_candidates(&self, ctx: &Context<'_>) -> ApiResult<Vec<KeyResultNode>> {
        let d = data(ctx)?;
        let found = d.store.review_kpi_candidates(&d.ctx.actor, &self.period).await?;
        Ok(found.into_iter().map(KeyResultNode::new).collect())
    }
    /// KPIs (not archived) out of their healthy range through the whole
    /// period — their run outside, as it stood at the period's end (or now,
    /// if earlier), began at or before its start — with no DRAFT or ACTIVE
    /// objective of the period having a key result linked to them: create
    /// an OKR to address the root cause.
    async fn breached_kpis_without_objective(&self, ctx: &Context<'_>) -> ApiResult<Vec<KpiNode>> {
        let d = data(ctx)?;
        let found = d.store.review_breached_kpis(&d.ctx.actor, &self.period, &d.ctx.settings, d.now).await?;
        Ok(found.into_iter().map(KpiNode).collect())
    }
    /// Owners with more ACTIVE objectives in the period than the limit, most loaded first.
    async fn overloaded_owners(&self, ctx: &Context<'_>) -> ApiResult<Vec<OverloadedOwner>> {
        let d = data(ctx)?;
        let threshold = d.ctx.settings.max_objectives_per_owner;
        let found = d.store.review_overloaded_owners(&d.ctx.actor, &self.period, &d.ctx.settings).await?;
        Ok(found.into_iter().map(|(owner, active)| OverloadedOwner { owner, active, threshold }).collect())
    }
}
