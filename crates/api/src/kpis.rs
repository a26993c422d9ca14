//! The KPI part of the root query and of the mutations.

use crate::connection::{self, Conn, OrderDirection};
use crate::context::data;
use crate::error::{ApiError, ApiResult};
use crate::ids::{NodeType, decode_id};
use crate::types::KpiNode;
use crate::types::enums::{Cadence, KpiCategory, KpiDirection, KpiStatus};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use goalgraph_domain::kpi::kpi_status;
use goalgraph_domain::{KpiId, PersonId, UnitId};
use goalgraph_persistence::{KpiFilter, KpiPatch, KpiRef, NewKpi, PageArgs};

/// Narrows a list of KPIs.
#[derive(InputObject, Clone, Debug, Default)]
pub struct KpiFilterInput {
    pub unit_id: Option<ID>,
    pub category: Option<KpiCategory>,
    /// Computed at the time of the request.
    pub status: Option<KpiStatus>,
    /// Default: only KPIs in use (not archived).
    pub archived: Option<bool>,
    /// Case-insensitive substring of the name.
    pub search: Option<String>,
}

#[derive(Default)]
pub struct KpiQuery;

#[Object]
impl KpiQuery {
    /// KPIs the caller may see, by name.
    async fn kpis(
        &self,
        ctx: &Context<'_>,
        filter: Option<KpiFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default)] direction: OrderDirection,
    ) -> ApiResult<Conn<KpiNode>> {
        let d = data(ctx)?;
        let f = filter.unwrap_or_default();
        let store_filter = KpiFilter {
            unit_id: f
                .unit_id
                .as_ref()
                .map(|u| decode_id::<UnitId>("filter.unitId", NodeType::Unit, u))
                .transpose()?,
            category: f.category.map(Into::into),
            archived: Some(f.archived.unwrap_or(false)),
            search: f.search,
        };
        let had_cursor = after.is_some();
        let args = connection::page_args(ctx, first, after)?;
        let actor = &d.ctx.actor;
        let Some(status) = f.status else {
            let page = d.store.list_kpis(actor, &store_filter, direction.into(), &args).await?;
            let total = if connection::wants_total(ctx) {
                d.store.count_kpis(actor, &store_filter).await?
            } else {
                0
            };
            return Ok(connection::build(page, had_cursor, total, KpiNode));
        };
        // Status is computed, not stored: keep the KPIs whose status matches.
        let wanted: goalgraph_domain::kpi::KpiStatus = status.into();
        let fetch = |page: PageArgs| {
            let store_filter = store_filter.clone();
            async move { Ok(d.store.list_kpis(actor, &store_filter, direction.into(), &page).await?) }
        };
        let keep = |items: Vec<(goalgraph_persistence::CursorKey, goalgraph_domain::kpi::Kpi)>| async move {
            let states = d.loaders.kpi_states.load_many(items.iter().map(|(_, k)| k.id)).await?;
            Ok(items
                .into_iter()
                .map(|(c, k)| {
                    let latest = states.get(&k.id).and_then(|s| s.latest);
                    let kept = kpi_status(latest, &k.range, &k.tolerance, k.cadence, d.now) == wanted;
                    ((c, k), kept)
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
        Ok(connection::build(page, had_cursor, total, KpiNode))
    }

    /// A KPI by a partner system's key.
    async fn kpi_by_external_id(&self, ctx: &Context<'_>, external_id: String) -> ApiResult<Option<KpiNode>> {
        let d = data(ctx)?;
        match d.store.kpi(&d.ctx.actor, &KpiRef::External(external_id)).await {
            Ok(k) => Ok(Some(KpiNode(k))),
            Err(goalgraph_persistence::StoreError::Domain(goalgraph_domain::DomainError::NotFound {
                ..
            })) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[derive(Default)]
pub struct KpiMutation;

#[derive(InputObject)]
pub struct CreateKpiInput {
    pub unit_id: ID,
    pub owner_id: ID,
    pub name: String,
    pub description: Option<String>,
    pub category: KpiCategory,
    pub unit_label: Option<String>,
    pub direction: KpiDirection,
    pub target: Option<f64>,
    /// Inclusive; required for HIGHER_IS_BETTER and WITHIN_RANGE.
    pub healthy_lower: Option<f64>,
    /// Inclusive; required for LOWER_IS_BETTER and WITHIN_RANGE.
    pub healthy_upper: Option<f64>,
    /// The AT_RISK band beyond a violated bound: an absolute amount …
    pub tolerance_absolute: Option<f64>,
    /// … or a percentage of the bound (not both).
    pub tolerance_percent: Option<f64>,
    pub cadence: Cadence,
    /// A partner system's key, unique in the organization.
    pub external_id: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateKpiInput {
    pub id: ID,
    pub name: Option<String>,
    pub description: MaybeUndefined<String>,
    pub owner_id: Option<ID>,
    pub unit_label: Option<String>,
    pub target: MaybeUndefined<f64>,
    /// Give both bounds to change the healthy range.
    pub healthy_lower: MaybeUndefined<f64>,
    pub healthy_upper: MaybeUndefined<f64>,
    /// Give one of these to change the tolerance.
    pub tolerance_absolute: MaybeUndefined<f64>,
    pub tolerance_percent: MaybeUndefined<f64>,
    pub cadence: Option<Cadence>,
    pub archived: Option<bool>,
    pub external_id: MaybeUndefined<String>,
    pub expected_version: Option<i32>,
}

#[derive(InputObject, Clone, Copy)]
pub struct MeasurementPointInput {
    pub observed_at: DateTime<Utc>,
    pub value: f64,
}

#[derive(InputObject)]
pub struct RecordKpiMeasurementInput {
    /// The KPI by id …
    pub kpi_id: Option<ID>,
    /// … or by its external id.
    pub external_id: Option<String>,
    pub observed_at: DateTime<Utc>,
    pub value: f64,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct RecordKpiMeasurementsInput {
    pub kpi_id: Option<ID>,
    pub external_id: Option<String>,
    /// Any order; past points are backfill. All or nothing.
    pub points: Vec<MeasurementPointInput>,
    /// A retry with the same key and input writes nothing.
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct KpiPayload {
    pub kpi: KpiNode,
}

#[derive(SimpleObject)]
pub struct RecordMeasurementsPayload {
    pub kpi: KpiNode,
    /// Points written by this call (0 for a replay).
    pub written: u64,
    /// True when the idempotency key had been used with the same input.
    pub replayed: bool,
}

#[derive(InputObject)]
pub struct LinkKeyResultToKpiInput {
    pub key_result_id: ID,
    /// null unlinks it (check-ins resume).
    pub kpi_id: Option<ID>,
}

#[derive(InputObject)]
pub struct CreateObjectiveFromKpiInput {
    pub kpi_id: ID,
    pub period_id: ID,
    /// Where the KPI should get to.
    pub target: f64,
}

#[derive(InputObject)]
pub struct PromoteKeyResultToKpiInput {
    pub key_result_id: ID,
    pub healthy_lower: Option<f64>,
    pub healthy_upper: Option<f64>,
    pub cadence: Cadence,
    /// Default OPERATIONAL.
    pub category: Option<KpiCategory>,
}

#[derive(SimpleObject)]
pub struct LinkKeyResultToKpiPayload {
    pub key_result: crate::types::KeyResultNode,
}

#[derive(SimpleObject)]
pub struct CreateObjectiveFromKpiPayload {
    pub objective: crate::types::ObjectiveNode,
    pub key_result: crate::types::KeyResultNode,
}

fn kpi_ref(id: &Option<ID>, external: &Option<String>) -> ApiResult<KpiRef> {
    match (id, external) {
        (Some(id), None) => Ok(KpiRef::Id(decode_id("kpiId", NodeType::Kpi, id)?)),
        (None, Some(e)) => Ok(KpiRef::External(e.clone())),
        _ => Err(ApiError::bad_input("kpiId", "give exactly one of kpiId and externalId")),
    }
}

fn maybe<T>(m: MaybeUndefined<T>) -> Option<Option<T>> {
    match m {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

#[Object]
impl KpiMutation {
    async fn create_kpi(&self, ctx: &Context<'_>, input: CreateKpiInput) -> ApiResult<KpiPayload> {
        let d = data(ctx)?;
        let new = NewKpi {
            unit_id: decode_id("unitId", NodeType::Unit, &input.unit_id)?,
            owner_id: decode_id::<PersonId>("ownerId", NodeType::Person, &input.owner_id)?,
            name: input.name,
            description: input.description,
            category: input.category.into(),
            unit_label: input.unit_label,
            direction: input.direction.into(),
            target: input.target,
            healthy_lower: input.healthy_lower,
            healthy_upper: input.healthy_upper,
            tolerance_absolute: input.tolerance_absolute,
            tolerance_percent: input.tolerance_percent,
            cadence: input.cadence.into(),
            external_id: input.external_id,
        };
        Ok(KpiPayload { kpi: KpiNode(d.store.create_kpi(&d.ctx.actor, new).await?) })
    }

    async fn update_kpi(&self, ctx: &Context<'_>, input: UpdateKpiInput) -> ApiResult<KpiPayload> {
        let d = data(ctx)?;
        let id: KpiId = decode_id("id", NodeType::Kpi, &input.id)?;
        let range = match (maybe(input.healthy_lower), maybe(input.healthy_upper)) {
            (None, None) => None,
            (l, u) => Some((l.flatten(), u.flatten())),
        };
        let tolerance = match (maybe(input.tolerance_absolute), maybe(input.tolerance_percent)) {
            (None, None) => None,
            (a, p) => Some((a.flatten(), p.flatten())),
        };
        let patch = KpiPatch {
            name: input.name,
            description: maybe(input.description),
            owner_id: input
                .owner_id
                .as_ref()
                .map(|o| decode_id("ownerId", NodeType::Person, o))
                .transpose()?,
            unit_label: input.unit_label,
            target: maybe(input.target),
            range,
            tolerance,
            cadence: input.cadence.map(Into::into),
            archived: input.archived,
            external_id: maybe(input.external_id),
            expected_version: input.expected_version,
        };
        Ok(KpiPayload { kpi: KpiNode(d.store.update_kpi(&d.ctx.actor, id, patch).await?) })
    }

    /// Makes a key result follow a KPI (no double entry): its current value
    /// becomes the KPI's latest measurement within its period.
    async fn link_key_result_to_kpi(
        &self,
        ctx: &Context<'_>,
        input: LinkKeyResultToKpiInput,
    ) -> ApiResult<LinkKeyResultToKpiPayload> {
        let d = data(ctx)?;
        let kr = decode_id("keyResultId", NodeType::KeyResult, &input.key_result_id)?;
        let kpi = input.kpi_id.as_ref().map(|k| decode_id::<KpiId>("kpiId", NodeType::Kpi, k)).transpose()?;
        let kr = d.store.link_key_result_to_kpi(&d.ctx.actor, kr, kpi).await?;
        Ok(LinkKeyResultToKpiPayload { key_result: crate::types::KeyResultNode::new(kr) })
    }

    /// Drafts an objective owned by the KPI's unit with one key result
    /// "Move <KPI> from <current> to <target>" that follows the KPI.
    async fn create_objective_from_kpi(
        &self,
        ctx: &Context<'_>,
        input: CreateObjectiveFromKpiInput,
    ) -> ApiResult<CreateObjectiveFromKpiPayload> {
        let d = data(ctx)?;
        let kpi: KpiId = decode_id("kpiId", NodeType::Kpi, &input.kpi_id)?;
        let period = decode_id("periodId", NodeType::Period, &input.period_id)?;
        let (o, kr) = d.store.create_objective_from_kpi(&d.ctx.actor, kpi, period, input.target).await?;
        Ok(CreateObjectiveFromKpiPayload {
            objective: crate::types::ObjectiveNode(o),
            key_result: crate::types::KeyResultNode::new(kr),
        })
    }

    /// Creates a standing KPI from a key result, with its check-ins as history.
    async fn promote_key_result_to_kpi(
        &self,
        ctx: &Context<'_>,
        input: PromoteKeyResultToKpiInput,
    ) -> ApiResult<KpiPayload> {
        let d = data(ctx)?;
        let kr = decode_id("keyResultId", NodeType::KeyResult, &input.key_result_id)?;
        let k = d
            .store
            .promote_key_result_to_kpi(
                &d.ctx.actor,
                kr,
                input.healthy_lower,
                input.healthy_upper,
                input.cadence.into(),
                input.category.map(Into::into),
            )
            .await?;
        Ok(KpiPayload { kpi: KpiNode(k) })
    }

    /// Records one point.
    async fn record_kpi_measurement(
        &self,
        ctx: &Context<'_>,
        input: RecordKpiMeasurementInput,
    ) -> ApiResult<RecordMeasurementsPayload> {
        let d = data(ctx)?;
        let reference = kpi_ref(&input.kpi_id, &input.external_id)?;
        let r = d
            .store
            .record_measurements_as(
                "recordKpiMeasurement",
                &d.ctx.actor,
                reference,
                &[(input.observed_at, input.value)],
                input.idempotency_key,
            )
            .await
            .map_err(|e| match e {
                // This input has no list of points: name its own fields.
                goalgraph_persistence::StoreError::Domain(goalgraph_domain::DomainError::Invalid {
                    field,
                    message,
                }) => {
                    let field = field.strip_prefix("points[0].").unwrap_or(&field).to_owned();
                    ApiError::BadUserInput { field, message: message.replace("points[0].", "") }
                }
                other => other.into(),
            })?;
        Ok(RecordMeasurementsPayload { kpi: KpiNode(r.kpi), written: r.written, replayed: r.replayed })
    }

    /// Records many points in one all-or-nothing call (integrations,
    /// backfills): bad points are named by index and nothing is written.
    async fn record_kpi_measurements(
        &self,
        ctx: &Context<'_>,
        input: RecordKpiMeasurementsInput,
    ) -> ApiResult<RecordMeasurementsPayload> {
        let d = data(ctx)?;
        let reference = kpi_ref(&input.kpi_id, &input.external_id)?;
        let points: Vec<(DateTime<Utc>, f64)> =
            input.points.iter().map(|p| (p.observed_at, p.value)).collect();
        let r = d
            .store
            .record_measurements_as(
                "recordKpiMeasurements",
                &d.ctx.actor,
                reference,
                &points,
                input.idempotency_key,
            )
            .await?;
        Ok(RecordMeasurementsPayload { kpi: KpiNode(r.kpi), written: r.written, replayed: r.replayed })
    }
}
