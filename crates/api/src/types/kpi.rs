//! KPIs and measurements as GraphQL types.

use super::PersonNode;
use super::UnitNode;
use super::enums::{Bucket, Cadence, KpiCategory, KpiDirection, KpiStatus, TrendDirection};
use crate::connection::{self, Conn};
use crate::context::data;
use crate::error::{ApiError, ApiResult};
use crate::ids::{NodeType, encode_id};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use goalgraph_domain::kpi::{Kpi, Measurement, Tolerance, kpi_status, series, trend};
use goalgraph_persistence::Page;

/// An ongoing health metric ("how we are doing").
#[derive(Clone)]
pub struct KpiNode(pub Kpi);

/// One bucket of a series: for sparklines.
#[derive(SimpleObject)]
pub struct SeriesPoint {
    pub start: DateTime<Utc>,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
    /// The latest point of the bucket by observed time.
    pub last: f64,
    pub count: u32,
}

/// How the last points move.
#[derive(SimpleObject)]
pub struct Trend {
    /// Least-squares slope, in units per day.
    pub slope_per_day: f64,
    pub direction: TrendDirection,
    /// How many points it was computed from.
    pub points: u32,
}

#[Object(name = "Kpi")]
impl KpiNode {
    pub async fn id(&self) -> ID {
        encode_id(NodeType::Kpi, self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn category(&self) -> KpiCategory {
        self.0.category.into()
    }
    async fn unit(&self, ctx: &Context<'_>) -> ApiResult<Option<UnitNode>> {
        Ok(data(ctx)?.loaders.units.load_one(self.0.unit_id).await?.map(UnitNode))
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<PersonNode>> {
        Ok(data(ctx)?.loaders.people.load_one(self.0.owner_id).await?.map(PersonNode))
    }
    async fn unit_label(&self) -> &str {
        &self.0.unit_label
    }
    async fn direction(&self) -> KpiDirection {
        self.0.direction.into()
    }
    async fn target(&self) -> Option<f64> {
        self.0.target
    }
    /// Inclusive lower bound of the healthy range.
    async fn healthy_lower(&self) -> Option<f64> {
        self.0.range.lower
    }
    /// Inclusive upper bound of the healthy range.
    async fn healthy_upper(&self) -> Option<f64> {
        self.0.range.upper
    }
    /// How far beyond a bound is still AT_RISK: an absolute amount …
    async fn tolerance_absolute(&self) -> Option<f64> {
        match self.0.tolerance {
            Tolerance::Absolute(a) => Some(a),
            Tolerance::Percent(_) => None,
        }
    }
    /// … or a percentage of the violated bound.
    async fn tolerance_percent(&self) -> Option<f64> {
        match self.0.tolerance {
            Tolerance::Percent(p) => Some(p),
            Tolerance::Absolute(_) => None,
        }
    }
    async fn cadence(&self) -> Cadence {
        self.0.cadence.into()
    }
    async fn archived(&self) -> bool {
        self.0.archived
    }
    /// The key of this KPI in a partner system, unique in the organization.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// From the latest measurement by observed time: NO_DATA, STALE,
    /// HEALTHY, AT_RISK or BREACHED (first match wins).
    async fn status(&self, ctx: &Context<'_>) -> ApiResult<KpiStatus> {
        let d = data(ctx)?;
        let state = d.loaders.kpi_states.load_one(self.0.id).await?;
        let latest = state.and_then(|s| s.latest);
        Ok(kpi_status(latest, &self.0.range, &self.0.tolerance, self.0.cadence, d.now).into())
    }
    /// When the current run of points outside the healthy range began; null
    /// when the latest point is inside.
    async fn breached_since(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(data(ctx)?.loaders.kpi_states.load_one(self.0.id).await?.and_then(|s| s.breached_since))
    }
    /// The latest value by observed time.
    async fn current(&self, ctx: &Context<'_>) -> ApiResult<Option<f64>> {
        Ok(data(ctx)?.loaders.kpi_states.load_one(self.0.id).await?.and_then(|s| s.latest).map(|p| p.value))
    }
    async fn last_observed_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(data(ctx)?
            .loaders
            .kpi_states
            .load_one(self.0.id)
            .await?
            .and_then(|s| s.latest)
            .map(|p| p.observed_at))
    }
    /// Measurements, newest observed first (corrections included).
    async fn measurements(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<MeasurementNode>> {
        let d = data(ctx)?;
        let had_cursor = after.is_some();
        let args = connection::page_args(ctx, first, after)?;
        let page = d
            .loaders
            .measurement_pages
            .load_one((self.0.id, args))
            .await?
            .unwrap_or(Page { items: vec![], has_next_page: false });
        let total = if connection::wants_total(ctx) {
            d.loaders.measurement_counts.load_one(self.0.id).await?.unwrap_or(0)
        } else {
            0
        };
        Ok(connection::build(page, had_cursor, total, MeasurementNode))
    }
    /// Min/max/avg/last per bucket in [from, to), in the organization's time zone.
    async fn series(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket: Bucket,
    ) -> ApiResult<Vec<SeriesPoint>> {
        if to <= from {
            return Err(ApiError::bad_input("to", "must be after from"));
        }
        let d = data(ctx)?;
        let points =
            d.store.kpi_points(self.0.organization_id, self.0.id, Some(from), Some(to), None).await?;
        Ok(series(&points, bucket.into(), d.ctx.settings.time_zone.tz())
            .into_iter()
            .map(|b| SeriesPoint {
                start: b.start,
                min: b.min,
                max: b.max,
                avg: b.avg,
                last: b.last,
                count: b.count,
            })
            .collect())
    }
    /// The trend over the last `points` points (default 10); null with fewer than 2.
    async fn trend(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] points: u32,
    ) -> ApiResult<Option<Trend>> {
        if !(2..=1000).contains(&points) {
            return Err(ApiError::bad_input("points", "must be from 2 to 1000"));
        }
        let d = data(ctx)?;
        let pts = d
            .store
            .kpi_points(self.0.organization_id, self.0.id, None, None, Some(u64::from(points)))
            .await?;
        Ok(trend(&pts, self.0.direction, &self.0.range).map(|(slope, direction)| Trend {
            slope_per_day: slope,
            direction: direction.into(),
            points: pts.len() as u32,
        }))
    }
    /// The key results that follow this KPI.
    async fn linked_key_results(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::KeyResultNode>> {
        let found = data(ctx)?.loaders.linked_key_results.load_one(self.0.id).await?.unwrap_or_default();
        Ok(found.into_iter().map(super::KeyResultNode::new).collect())
    }
    /// Objectives created to fix this KPI.
    async fn objectives(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::ObjectiveNode>> {
        let found = data(ctx)?.loaders.kpi_objectives.load_one(self.0.id).await?.unwrap_or_default();
        Ok(found.into_iter().map(super::ObjectiveNode).collect())
    }
    /// The key result this KPI was promoted from.
    async fn promoted_from(&self, ctx: &Context<'_>) -> ApiResult<Option<super::KeyResultNode>> {
        let Some(kr) = self.0.promoted_from else { return Ok(None) };
        Ok(data(ctx)?.loaders.key_results.load_one(kr).await?.map(super::KeyResultNode::new))
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One data point of a KPI; append-only.
#[derive(Clone)]
pub struct MeasurementNode(pub Measurement);

#[Object(name = "Measurement")]
impl MeasurementNode {
    async fn id(&self) -> ID {
        encode_id(NodeType::Measurement, self.0.id.0)
    }
    async fn observed_at(&self) -> DateTime<Utc> {
        self.0.observed_at
    }
    async fn value(&self) -> f64 {
        self.0.value
    }
    /// When it was recorded; a later value for the same observed time corrects it.
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.recorded_at
    }
    /// Null when an integration recorded it.
    async fn author(&self, ctx: &Context<'_>) -> ApiResult<Option<PersonNode>> {
        let Some(a) = self.0.author_id else { return Ok(None) };
        Ok(data(ctx)?.loaders.people.load_one(a).await?.map(PersonNode))
    }
}
