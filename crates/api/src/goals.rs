//! The OKR part of the root query and of the mutations.

use crate::connection::{self, Conn, OrderDirection};
use crate::context::data;
use crate::error::{ApiError, ApiResult};
use crate::ids::{NodeType, decode_id, encode_id};
use crate::types::enums::{Health, Measure, ObjectiveKind, ObjectiveStatus, ProgressDriver, Visibility};
use crate::types::goal::GoalOwner;
use crate::types::{CheckInNode, KeyResultNode, ObjectiveNode, PeriodNode, PersonNode, UnitNode};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use goalgraph_domain::insights::{Insight, InsightKind as DomainInsightKind};
use goalgraph_domain::okr::Owner;
use goalgraph_domain::{KeyResultId, ObjectiveId, PeriodId, PersonId, UnitId};
use goalgraph_persistence::{
    CheckInInput, KeyResultPatch, NewKeyResult, NewObjective, ObjectiveFilter, ObjectiveOrder,
    ObjectivePatch, PageArgs,
};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum ObjectiveOrderField {
    #[default]
    CreatedAt,
    Title,
    Progress,
}

#[derive(InputObject, Clone, Copy, Debug, Default)]
pub struct ObjectiveOrderBy {
    #[graphql(default)]
    pub field: ObjectiveOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Narrows a list of objectives.
#[derive(InputObject, Clone, Debug, Default)]
pub struct ObjectiveFilterInput {
    pub period_id: Option<ID>,
    /// Objectives owned by this unit (not by its people).
    pub owner_unit_id: Option<ID>,
    pub owner_person_id: Option<ID>,
    pub status: Option<ObjectiveStatus>,
    /// Computed health at the time of the request.
    pub health: Option<Health>,
    /// Only those aligned to this objective.
    pub parent_objective_id: Option<ID>,
    /// Case-insensitive substring of the title.
    pub search: Option<String>,
}

/// One row of the flattened alignment tree.
#[derive(SimpleObject)]
pub struct AlignmentRow {
    pub objective: ObjectiveNode,
    /// 0 for a root; counts visible ancestors only.
    pub depth: u32,
    /// The nearest visible ancestor.
    pub parent_id: Option<ID>,
    /// With the tree's `asOf`: the objective's numbers at that instant.
    pub as_of: Option<crate::types::goal::NumbersAsOf>,
}

/// Extra fields of the alignment tree.
#[derive(SimpleObject)]
pub struct AlignmentFields {
    /// Rows of the whole tree (all pages).
    pub total_count: u64,
    /// Objectives of the walked tree the caller may not see: left out, their
    /// visible descendants attached to the nearest visible ancestor.
    pub hidden_count: u32,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::insights::InsightKind")]
pub enum InsightKind {
    /// More active objectives for one owner in the period than the setting ("3 to 5").
    TooManyObjectives,
    /// An objective with no key result, or more than the setting.
    KeyResultCount,
    /// A key result with no check-in within the check-in cadence.
    StaleCheckIn,
    /// A non-company objective aligned to nothing.
    UnalignedObjective,
    /// A KPI out of its healthy range longer than the setting with no open objective on it.
    KpiNeedsObjective,
    /// A unit with more active KPIs than the setting ("5-7 core KPIs").
    TooManyKpis,
    /// At review: a key result that reached its target could become a standing KPI.
    PromoteToKpi,
    /// A deactivated person still owns open objectives, key results or KPIs: transfer them.
    OrphanedOwner,
}

/// Guidance from the seeds: a warning, not an error.
pub struct InsightNode(Insight);

#[Object(name = "Insight")]
impl InsightNode {
    async fn kind(&self) -> InsightKind {
        self.0.kind.into()
    }
    /// The threshold in force (organization settings).
    async fn threshold(&self) -> u32 {
        self.0.threshold
    }
    /// What was counted: objectives, key results, or days without a check-in.
    async fn count(&self) -> u32 {
        self.0.count
    }
    async fn message(&self) -> String {
        let i = &self.0;
        match i.kind {
            DomainInsightKind::TooManyObjectives => format!(
                "{} active objectives for one owner; more than {} dilutes focus (\"3 to 5\")",
                i.count, i.threshold
            ),
            DomainInsightKind::KeyResultCount if i.count == 0 => {
                "an objective without key results cannot be measured".to_owned()
            }
            DomainInsightKind::KeyResultCount => {
                format!("{} key results; more than {} blurs what success means", i.count, i.threshold)
            }
            DomainInsightKind::StaleCheckIn => {
                format!("no check-in for {} days (cadence: {} days)", i.count, i.threshold)
            }
            DomainInsightKind::UnalignedObjective => "this objective is aligned to nothing".to_owned(),
            DomainInsightKind::KpiNeedsObjective => format!(
                "out of its healthy range for {} days (more than {}) and no objective addresses it: create one to fix the root cause",
                i.count, i.threshold
            ),
            DomainInsightKind::TooManyKpis => {
                format!(
                    "{} active KPIs in one unit; more than {} leads to metric fatigue",
                    i.count, i.threshold
                )
            }
            DomainInsightKind::PromoteToKpi => {
                "this key result reached its target: should it now become a standing KPI?".to_owned()
            }
            DomainInsightKind::OrphanedOwner => format!(
                "a deactivated person still owns {} open objective(s), key result(s) or KPI(s): \
                 hand them over with transferOwnership",
                i.count
            ),
        }
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<GoalOwner>> {
        let d = data(ctx)?;
        Ok(match self.0.owner {
            Some(Owner::Unit(u)) => d.loaders.units.load_one(u).await?.map(|u| GoalOwner::Unit(UnitNode(u))),
            Some(Owner::Person(p)) => {
                d.loaders.people.load_one(p).await?.map(|p| GoalOwner::Person(PersonNode(p)))
            }
            None => None,
        })
    }
    async fn objectives(&self, ctx: &Context<'_>) -> ApiResult<Vec<ObjectiveNode>> {
        let found = data(ctx)?.loaders.objectives.load_many(self.0.objectives.iter().copied()).await?;
        Ok(self.0.objectives.iter().filter_map(|id| found.get(id).cloned().map(ObjectiveNode)).collect())
    }
    async fn key_results(&self, ctx: &Context<'_>) -> ApiResult<Vec<KeyResultNode>> {
        let found = data(ctx)?.loaders.key_results.load_many(self.0.key_results.iter().copied()).await?;
        Ok(self
            .0
            .key_results
            .iter()
            .filter_map(|id| found.get(id).cloned().map(KeyResultNode::new))
            .collect())
    }
    async fn kpis(&self, ctx: &Context<'_>) -> ApiResult<Vec<crate::types::KpiNode>> {
        let found = data(ctx)?.loaders.kpis.load_many(self.0.kpis.iter().copied()).await?;
        Ok(self.0.kpis.iter().filter_map(|id| found.get(id).cloned().map(crate::types::KpiNode)).collect())
    }
    /// Objects concerned that the caller may not see: counted, never named.
    async fn hidden_count(&self) -> u32 {
        self.0.hidden
    }
}

#[derive(Default)]
pub struct GoalQuery;

fn opt_id<T: From<uuid::Uuid>>(field: &str, node: NodeType, id: &Option<ID>) -> ApiResult<Option<T>> {
    id.as_ref().map(|i| decode_id::<T>(field, node, i)).transpose()
}

// A GraphQL field's arguments are its resolver's: alignmentTree has seven.
#[allow(clippy::too_many_arguments)]
#[Object]
impl GoalQuery {
    /// Objectives the caller may see.
    async fn objectives(
        &self,
        ctx: &Context<'_>,
        filter: Option<ObjectiveFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        order_by: Option<ObjectiveOrderBy>,
    ) -> ApiResult<Conn<ObjectiveNode>> {
        let d = data(ctx)?;
        let f = filter.unwrap_or_default();
        let store_filter = ObjectiveFilter {
            period_id: opt_id::<PeriodId>("filter.periodId", NodeType::Period, &f.period_id)?,
            owner_unit_id: opt_id::<UnitId>("filter.ownerUnitId", NodeType::Unit, &f.owner_unit_id)?,
            owner_person_id: opt_id::<PersonId>(
                "filter.ownerPersonId",
                NodeType::Person,
                &f.owner_person_id,
            )?,
            status: f.status.map(Into::into),
            parent_id: opt_id::<ObjectiveId>(
                "filter.parentObjectiveId",
                NodeType::Objective,
                &f.parent_objective_id,
            )?,
            search: f.search,
        };
        let had_cursor = after.is_some();
        let args = connection::page_args(ctx, first, after)?;
        let order = order_by.unwrap_or_default();
        let field = match order.field {
            ObjectiveOrderField::CreatedAt => ObjectiveOrder::CreatedAt,
            ObjectiveOrderField::Title => ObjectiveOrder::Title,
            ObjectiveOrderField::Progress => ObjectiveOrder::Progress,
        };
        let actor = &d.ctx.actor;
        let Some(health) = f.health else {
            let page =
                d.store.list_objectives(actor, &store_filter, field, order.direction.into(), &args).await?;
            let total = if connection::wants_total(ctx) {
                d.store.count_objectives(actor, &store_filter).await?
            } else {
                0
            };
            return Ok(connection::build(page, had_cursor, total, ObjectiveNode));
        };
        // Health is computed, not stored: keep the objectives whose health matches.
        let wanted: goalgraph_domain::formulas::Health = health.into();
        let fetch = |page: PageArgs| {
            let store_filter = store_filter.clone();
            async move {
                Ok(d.store
                    .list_objectives(actor, &store_filter, field, order.direction.into(), &page)
                    .await?)
            }
        };
        let keep = |items: Vec<(goalgraph_persistence::CursorKey, goalgraph_domain::okr::Objective)>| async move {
            let numbers = d.loaders.numbers.load_many(items.iter().map(|(_, o)| o.id)).await?;
            Ok(items
                .into_iter()
                .map(|(c, o)| {
                    let kept = numbers.get(&o.id).and_then(|n| n.health) == Some(wanted);
                    ((c, o), kept)
                })
                .collect())
        };
        let (page, _) =
            connection::walk_filtered(args.after.clone(), Some(args.first), &fetch, &keep).await?;
        // totalCount counts the whole filtered list, from its start.
        let total = if connection::wants_total(ctx) {
            connection::walk_filtered(None, None, &fetch, &keep).await?.1
        } else {
            0
        };
        Ok(connection::build(page, had_cursor, total, ObjectiveNode))
    }

    /// A period's alignment tree from its company objectives down to
    /// individual ones, as a flat, depth-first, paginated list.
    async fn alignment_tree(
        &self,
        ctx: &Context<'_>,
        period_id: ID,
        root_objective_id: Option<ID>,
        max_depth: Option<u32>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(
            desc = "Each row's `asOf` then holds the objective's numbers at this instant (not in the future), \
                          replayed from the check-ins known by then; the tree itself is today's."
        )]
        as_of: Option<DateTime<Utc>>,
    ) -> ApiResult<Connection<String, AlignmentRow, AlignmentFields>> {
        let d = data(ctx)?;
        let as_of = as_of
            .map(|t| {
                crate::types::goal::past_instant(t, d.now)
                    .map_err(|_| ApiError::bad_input("asOf", "must not be in the future"))
            })
            .transpose()?;
        let period: PeriodId = decode_id("periodId", NodeType::Period, &period_id)?;
        let root = opt_id::<ObjectiveId>("rootObjectiveId", NodeType::Objective, &root_objective_id)?;
        let args = connection::page_args(ctx, first, None)?;
        let offset: usize = match &after {
            None => 0,
            Some(c) => crate::ids::decode_offset_cursor(c)
                .map(|n| n + 1)
                .ok_or_else(|| ApiError::bad_input("after", "is not a cursor of this list"))?,
        };
        let first = usize::try_from(args.first).unwrap_or(usize::MAX);
        let (rows, total, hidden) =
            d.store.alignment_page(&d.ctx.actor, period, root, max_depth, offset, first).await?;
        let end = offset + rows.len();
        let mut history = match as_of {
            Some(at) => {
                let ids: Vec<ObjectiveId> = rows.iter().map(|(_, o)| o.id).collect();
                let numbers = d
                    .store
                    .objective_numbers_at(d.ctx.actor.organization_id, &ids, &d.ctx.settings, at, Some(at))
                    .await?;
                numbers
                    .into_iter()
                    .map(|(id, n)| (id, crate::types::goal::NumbersAsOf::objective(at, n)))
                    .collect()
            }
            None => std::collections::HashMap::new(),
        };
        let mut conn = Connection::with_additional_fields(
            offset > 0,
            end < total,
            AlignmentFields { total_count: total as u64, hidden_count: hidden },
        );
        conn.edges = rows
            .into_iter()
            .enumerate()
            .map(|(k, (row, objective))| {
                Edge::new(
                    crate::ids::encode_offset_cursor(offset + k),
                    AlignmentRow {
                        as_of: history.remove(&objective.id),
                        objective: ObjectiveNode(objective),
                        depth: row.depth,
                        parent_id: row.parent.map(|p| encode_id(NodeType::Objective, p.0)),
                    },
                )
            })
            .collect();
        Ok(conn)
    }

    /// The seeds' guidance for a period (optionally one unit's subtree),
    /// with the thresholds in force.
    async fn insights(
        &self,
        ctx: &Context<'_>,
        period_id: ID,
        unit_id: Option<ID>,
    ) -> ApiResult<Vec<InsightNode>> {
        let d = data(ctx)?;
        let period: PeriodId = decode_id("periodId", NodeType::Period, &period_id)?;
        let unit = opt_id::<UnitId>("unitId", NodeType::Unit, &unit_id)?;
        let mut insights = d.store.okr_insights(&d.ctx.actor, &d.ctx.settings, period, unit, d.now).await?;
        insights.extend(d.store.kpi_insights(&d.ctx.actor, &d.ctx.settings, period, unit, d.now).await?);
        insights.extend(d.store.orphaned_owner_insights(&d.ctx.actor, period, unit).await?);
        Ok(insights.into_iter().map(InsightNode).collect())
    }
}

// ----- mutations -----

#[derive(Default)]
pub struct GoalMutation;

#[derive(InputObject)]
pub struct CreateObjectiveInput {
    pub period_id: ID,
    /// Exactly one of ownerUnitId and ownerPersonId.
    pub owner_unit_id: Option<ID>,
    pub owner_person_id: Option<ID>,
    pub parent_objective_id: Option<ID>,
    pub title: String,
    pub description: Option<String>,
    #[graphql(default_with = "ObjectiveKind::Committed")]
    pub kind: ObjectiveKind,
    #[graphql(default_with = "Visibility::Public")]
    pub visibility: Visibility,
    pub progress_driver: Option<ProgressDriver>,
    /// DRAFT (default) or ACTIVE.
    pub status: Option<ObjectiveStatus>,
}

#[derive(InputObject)]
pub struct UpdateObjectiveInput {
    pub id: ID,
    pub title: Option<String>,
    /// null clears it.
    pub description: async_graphql::MaybeUndefined<String>,
    pub kind: Option<ObjectiveKind>,
    pub visibility: Option<Visibility>,
    /// null returns to the default driver.
    pub progress_driver: async_graphql::MaybeUndefined<ProgressDriver>,
    pub expected_version: Option<i32>,
}

#[derive(InputObject)]
pub struct TransitionObjectiveInput {
    pub id: ID,
    /// ACTIVE, COMPLETED, or CANCELLED (with a reason).
    pub status: ObjectiveStatus,
    pub reason: Option<String>,
    pub expected_version: Option<i32>,
}

#[derive(InputObject)]
pub struct ReparentObjectiveInput {
    pub id: ID,
    /// null aligns it to nothing.
    pub parent_objective_id: Option<ID>,
    pub expected_version: Option<i32>,
}

#[derive(InputObject)]
pub struct CreateKeyResultInput {
    pub objective_id: ID,
    /// The one person who owns it.
    pub owner_id: ID,
    pub title: String,
    pub measure: Measure,
    /// For MILESTONE: 0 (not done); target 1.
    pub start: f64,
    pub target: f64,
    pub unit_label: Option<String>,
    /// Above 0; default 1.
    pub weight: Option<f64>,
}

#[derive(InputObject)]
pub struct UpdateKeyResultInput {
    pub id: ID,
    pub title: Option<String>,
    pub owner_id: Option<ID>,
    pub start: Option<f64>,
    pub target: Option<f64>,
    pub unit_label: Option<String>,
    pub weight: Option<f64>,
    pub expected_version: Option<i32>,
}

#[derive(InputObject)]
pub struct CheckInInputObject {
    pub key_result_id: ID,
    pub value: f64,
    /// From 0 to 1.
    pub confidence: Option<f64>,
    pub note: Option<String>,
    /// Retrying with the same key and input returns the first check-in and
    /// writes nothing; the same key with another input is a CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct ClosePeriodInput {
    pub period_id: ID,
    pub expected_version: Option<i32>,
}

#[derive(SimpleObject)]
pub struct ObjectivePayload {
    pub objective: ObjectiveNode,
}

#[derive(SimpleObject)]
pub struct KeyResultPayload {
    pub key_result: KeyResultNode,
}

#[derive(SimpleObject)]
pub struct CheckInPayload {
    pub check_in: CheckInNode,
    /// The key result with its new value and progress.
    pub key_result: KeyResultNode,
}

#[derive(SimpleObject)]
pub struct ClosePeriodPayload {
    pub period: PeriodNode,
}

fn owner(unit: &Option<ID>, person: &Option<ID>) -> ApiResult<Owner> {
    match (unit, person) {
        (Some(u), None) => Ok(Owner::Unit(decode_id("ownerUnitId", NodeType::Unit, u)?)),
        (None, Some(p)) => Ok(Owner::Person(decode_id("ownerPersonId", NodeType::Person, p)?)),
        _ => Err(ApiError::bad_input("ownerUnitId", "give exactly one of ownerUnitId and ownerPersonId")),
    }
}

#[Object]
impl GoalMutation {
    /// Creates an objective owned by one unit or one person, optionally
    /// aligned to a parent whose period overlaps.
    async fn create_objective(
        &self,
        ctx: &Context<'_>,
        input: CreateObjectiveInput,
    ) -> ApiResult<ObjectivePayload> {
        let d = data(ctx)?;
        let new = NewObjective {
            period_id: decode_id("periodId", NodeType::Period, &input.period_id)?,
            owner: owner(&input.owner_unit_id, &input.owner_person_id)?,
            parent_id: opt_id("parentObjectiveId", NodeType::Objective, &input.parent_objective_id)?,
            title: input.title,
            description: input.description,
            kind: input.kind.into(),
            visibility: input.visibility.into(),
            progress_driver: input.progress_driver.map(Into::into),
            status: input.status.map(Into::into),
        };
        Ok(ObjectivePayload { objective: ObjectiveNode(d.store.create_objective(&d.ctx.actor, new).await?) })
    }

    async fn update_objective(
        &self,
        ctx: &Context<'_>,
        input: UpdateObjectiveInput,
    ) -> ApiResult<ObjectivePayload> {
        use async_graphql::MaybeUndefined as M;
        let d = data(ctx)?;
        let id: ObjectiveId = decode_id("id", NodeType::Objective, &input.id)?;
        let patch = ObjectivePatch {
            title: input.title,
            description: match input.description {
                M::Undefined => None,
                M::Null => Some(None),
                M::Value(v) => Some(Some(v)),
            },
            kind: input.kind.map(Into::into),
            visibility: input.visibility.map(Into::into),
            progress_driver: match input.progress_driver {
                M::Undefined => None,
                M::Null => Some(None),
                M::Value(v) => Some(Some(v.into())),
            },
            expected_version: input.expected_version,
        };
        Ok(ObjectivePayload {
            objective: ObjectiveNode(d.store.update_objective(&d.ctx.actor, id, patch).await?),
        })
    }

    /// DRAFT → ACTIVE → COMPLETED, or CANCELLED from DRAFT/ACTIVE with a reason.
    async fn transition_objective(
        &self,
        ctx: &Context<'_>,
        input: TransitionObjectiveInput,
    ) -> ApiResult<ObjectivePayload> {
        let d = data(ctx)?;
        let id: ObjectiveId = decode_id("id", NodeType::Objective, &input.id)?;
        let o = d
            .store
            .transition_objective(&d.ctx.actor, id, input.status.into(), input.reason, input.expected_version)
            .await?;
        Ok(ObjectivePayload { objective: ObjectiveNode(o) })
    }

    /// Aligns an objective to another parent, or to none.
    async fn reparent_objective(
        &self,
        ctx: &Context<'_>,
        input: ReparentObjectiveInput,
    ) -> ApiResult<ObjectivePayload> {
        let d = data(ctx)?;
        let id: ObjectiveId = decode_id("id", NodeType::Objective, &input.id)?;
        let parent = opt_id("parentObjectiveId", NodeType::Objective, &input.parent_objective_id)?;
        let o = d.store.reparent_objective(&d.ctx.actor, id, parent, input.expected_version).await?;
        Ok(ObjectivePayload { objective: ObjectiveNode(o) })
    }

    async fn create_key_result(
        &self,
        ctx: &Context<'_>,
        input: CreateKeyResultInput,
    ) -> ApiResult<KeyResultPayload> {
        let d = data(ctx)?;
        let new = NewKeyResult {
            objective_id: decode_id("objectiveId", NodeType::Objective, &input.objective_id)?,
            owner_id: decode_id("ownerId", NodeType::Person, &input.owner_id)?,
            title: input.title,
            measure: input.measure.into(),
            start: input.start,
            target: input.target,
            unit_label: input.unit_label,
            weight: input.weight,
        };
        Ok(KeyResultPayload {
            key_result: KeyResultNode::new(d.store.create_key_result(&d.ctx.actor, new).await?),
        })
    }

    async fn update_key_result(
        &self,
        ctx: &Context<'_>,
        input: UpdateKeyResultInput,
    ) -> ApiResult<KeyResultPayload> {
        let d = data(ctx)?;
        let id: KeyResultId = decode_id("id", NodeType::KeyResult, &input.id)?;
        let patch = KeyResultPatch {
            title: input.title,
            owner_id: opt_id("ownerId", NodeType::Person, &input.owner_id)?,
            start: input.start,
            target: input.target,
            unit_label: input.unit_label,
            weight: input.weight,
            expected_version: input.expected_version,
        };
        Ok(KeyResultPayload {
            key_result: KeyResultNode::new(d.store.update_key_result(&d.ctx.actor, id, patch).await?),
        })
    }

    /// Appends a check-in: the key result's new current value, its progress
    /// and every rollup up the alignment chain, in one transaction.
    async fn check_in(&self, ctx: &Context<'_>, input: CheckInInputObject) -> ApiResult<CheckInPayload> {
        let d = data(ctx)?;
        let store_input = CheckInInput {
            key_result_id: decode_id("keyResultId", NodeType::KeyResult, &input.key_result_id)?,
            value: input.value,
            confidence: input.confidence,
            note: input.note,
            idempotency_key: input.idempotency_key,
        };
        let (check_in, kr) = d.store.check_in(&d.ctx.actor, store_input).await?;
        Ok(CheckInPayload { check_in: CheckInNode(check_in), key_result: KeyResultNode::new(kr) })
    }

    /// Closes a period (HR, ADMIN): freezes every objective's and key
    /// result's score.
    async fn close_period(
        &self,
        ctx: &Context<'_>,
        input: ClosePeriodInput,
    ) -> ApiResult<ClosePeriodPayload> {
        let d = data(ctx)?;
        let id: PeriodId = decode_id("periodId", NodeType::Period, &input.period_id)?;
        let period = d.store.close_period(&d.ctx.actor, id, input.expected_version).await?;
        Ok(ClosePeriodPayload { period: PeriodNode(period) })
    }
}
