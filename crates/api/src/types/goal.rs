//! Objectives, key results and check-ins as GraphQL types, with the
//! computed numbers of the product brief.

use super::enums::{
    Bucket, Grade, Health, Measure, ObjectiveKind, ObjectiveStatus, ProgressDriver, Visibility,
};
use super::trajectory::{Forecast, ObjectiveForecast, ProgressPoint};
use super::{PeriodNode, PersonNode, UnitNode};
use crate::connection::{self, Conn};
use crate::context::data;
use crate::error::ApiResult;
use crate::ids::{NodeType, encode_id};
use async_graphql::{Context, Enum, ID, Object, SimpleObject, Union};
use chrono::{DateTime, Utc};
use goalgraph_domain::formulas::PeriodWindow;
use goalgraph_domain::formulas::{
    self, Numbers, TreeKeyResult, effective_driver, grade, key_result_numbers, success,
};
use goalgraph_domain::okr::{CheckIn, KeyResult, Measure as DomainMeasure, Objective, Owner};
use goalgraph_domain::trajectory::{key_result_forecast, progress_series};
use goalgraph_persistence::Page;

/// Who owns an objective: a unit or a person.
#[derive(Union)]
pub enum GoalOwner {
    Unit(UnitNode),
    Person(PersonNode),
}

/// An objective: a qualitative, ambitious statement of change.
#[derive(Clone)]
pub struct ObjectiveNode(pub Objective);

async fn numbers(ctx: &Context<'_>, objective: &Objective) -> ApiResult<Option<Numbers>> {
    data(ctx)?.loaders.numbers.load_one(objective.id).await
}

#[Object(name = "Objective")]
impl ObjectiveNode {
    pub async fn id(&self) -> ID {
        encode_id(NodeType::Objective, self.0.id.0)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn kind(&self) -> ObjectiveKind {
        self.0.kind.into()
    }
    async fn visibility(&self) -> Visibility {
        self.0.visibility.into()
    }
    async fn status(&self) -> ObjectiveStatus {
        self.0.status.into()
    }
    /// Why it was cancelled ("kill it mid-quarter", said why).
    async fn cancel_reason(&self) -> Option<&str> {
        self.0.cancel_reason.as_deref()
    }
    /// The driver in force: the one set, or the default (KEY_RESULTS when it
    /// has key results, ALIGNED_OBJECTIVES otherwise).
    async fn progress_driver(&self, ctx: &Context<'_>) -> ApiResult<ProgressDriver> {
        let krs = data(ctx)?.loaders.key_results_of.load_one(self.0.id).await?.unwrap_or_default();
        Ok(effective_driver(self.0.progress_driver, !krs.is_empty()).into())
    }
    /// The driver set explicitly; null means the default.
    async fn progress_driver_setting(&self) -> Option<ProgressDriver> {
        self.0.progress_driver.map(Into::into)
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<GoalOwner>> {
        let d = data(ctx)?;
        Ok(match self.0.owner {
            Owner::Unit(u) => d.loaders.units.load_one(u).await?.map(|u| GoalOwner::Unit(UnitNode(u))),
            Owner::Person(p) => d.loaders.people.load_one(p).await?.map(|p| GoalOwner::Person(PersonNode(p))),
        })
    }
    /// The owning unit, or the owning person's unit.
    async fn owning_unit(&self, ctx: &Context<'_>) -> ApiResult<Option<UnitNode>> {
        Ok(data(ctx)?.loaders.units.load_one(self.0.owning_unit).await?.map(UnitNode))
    }
    async fn period(&self, ctx: &Context<'_>) -> ApiResult<Option<PeriodNode>> {
        Ok(data(ctx)?.loaders.periods.load_one(self.0.period_id).await?.map(PeriodNode))
    }
    /// The objective this one aligns to; null when none or hidden.
    async fn parent(&self, ctx: &Context<'_>) -> ApiResult<Option<ObjectiveNode>> {
        let Some(parent) = self.0.parent_id else { return Ok(None) };
        Ok(data(ctx)?.loaders.objectives.load_one(parent).await?.map(ObjectiveNode))
    }
    /// The visible objectives aligned to this one, by title.
    async fn children(&self, ctx: &Context<'_>) -> ApiResult<Vec<ObjectiveNode>> {
        let found = data(ctx)?.loaders.objective_children.load_one(self.0.id).await?;
        Ok(found.map(|(kids, _)| kids).unwrap_or_default().into_iter().map(ObjectiveNode).collect())
    }
    /// Aligned objectives (not cancelled) the caller may not see: counted,
    /// never named.
    async fn hidden_children_count(&self, ctx: &Context<'_>) -> ApiResult<u64> {
        let found = data(ctx)?.loaders.objective_children.load_one(self.0.id).await?;
        Ok(found
            .map(|(kids, total)| {
                let open = kids
                    .iter()
                    .filter(|k| k.status != goalgraph_domain::okr::ObjectiveStatus::Cancelled)
                    .count();
                total.saturating_sub(open as u64)
            })
            .unwrap_or(0))
    }
    /// Its key results, oldest first.
    async fn key_results(&self, ctx: &Context<'_>) -> ApiResult<Vec<KeyResultNode>> {
        let loaders = &data(ctx)?.loaders;
        if ctx.look_ahead().field("latestCheckIn").exists() {
            // Read with their newest check-ins in the same wave: one load
            // per objective instead of one more per key result.
            let krs = loaders.key_results_with_latest.load_one(self.0.id).await?.unwrap_or_default();
            return Ok(krs.into_iter().map(|(kr, latest)| KeyResultNode(kr, Some(latest))).collect());
        }
        let krs = loaders.key_results_of.load_one(self.0.id).await?.unwrap_or_default();
        Ok(krs.into_iter().map(KeyResultNode::new).collect())
    }
    /// From 0 to 1, by the driver (stored rollup).
    async fn progress(&self) -> f64 {
        self.0.progress
    }
    /// Where it should be by now: the same average of its inputs' expected progress.
    async fn expected_progress(&self, ctx: &Context<'_>) -> ApiResult<f64> {
        Ok(numbers(ctx, &self.0).await?.map(|n| n.expected).unwrap_or(0.0))
    }
    /// The worst health among its inputs; null when it has none.
    async fn health(&self, ctx: &Context<'_>) -> ApiResult<Option<Health>> {
        Ok(numbers(ctx, &self.0).await?.and_then(|n| n.health).map(Into::into))
    }
    /// Its numbers as they stood at `at` (not in the future), replayed from
    /// the check-ins and KPI points known by then; structure (alignment,
    /// drivers, weights, targets) is today's.
    async fn as_of(&self, ctx: &Context<'_>, at: DateTime<Utc>) -> ApiResult<Option<NumbersAsOf>> {
        let d = data(ctx)?;
        let at = past_instant(at, d.now)?;
        let n = d.loaders.objective_numbers_as_of.load_one((self.0.id, at)).await?;
        Ok(n.map(|numbers| NumbersAsOf {
            at,
            numbers,
            current: None,
            confidence: None,
            last_check_in_at: None,
        }))
    }
    /// The progress frozen when the period closed.
    async fn score(&self) -> Option<f64> {
        self.0.score
    }
    /// The score's band: below 0.4 RED, below 0.7 YELLOW, else GREEN.
    async fn grade(&self) -> Option<Grade> {
        self.0.score.map(|s| grade(s).into())
    }
    /// COMMITTED succeeds at 1.0, ASPIRATIONAL at 0.7; null before the review.
    async fn success(&self) -> Option<bool> {
        self.0.score.map(|s| success(self.0.kind, s))
    }
    /// Where the progress comes from: the formula and its visible inputs.
    async fn progress_explanation(&self, ctx: &Context<'_>) -> ApiResult<ProgressExplanation> {
        let d = data(ctx)?;
        let krs = d.loaders.key_results_of.load_one(self.0.id).await?.unwrap_or_default();
        let driver = effective_driver(self.0.progress_driver, !krs.is_empty());
        use goalgraph_domain::okr::ProgressDriver as D;
        let mut inputs = Vec::new();
        let mut hidden = 0u64;
        if matches!(driver, D::KeyResults | D::Both) {
            for k in &krs {
                inputs.push(ExplanationInput {
                    kind: InputKind::KeyResult,
                    id: encode_id(NodeType::KeyResult, k.id.0),
                    title: k.title.clone(),
                    progress: k.progress,
                    weight: k.weight,
                });
            }
        }
        if matches!(driver, D::AlignedObjectives | D::Both) {
            let (kids, total) = d.loaders.objective_children.load_one(self.0.id).await?.unwrap_or_default();
            // Hidden children count too (the aggregate is the objective's),
            // but are never named; cancelled children are left out.
            let visible: Vec<&Objective> = kids
                .iter()
                .filter(|k| k.status != goalgraph_domain::okr::ObjectiveStatus::Cancelled)
                .collect();
            hidden = total.saturating_sub(visible.len() as u64);
            for k in visible {
                inputs.push(ExplanationInput {
                    kind: InputKind::Objective,
                    id: encode_id(NodeType::Objective, k.id.0),
                    title: k.title.clone(),
                    progress: k.progress,
                    weight: 1.0,
                });
            }
        }
        let formula = match driver {
            D::KeyResults => "weighted average of the key results' progress: Σ(progress × weight) / Σ weight",
            D::AlignedObjectives => "average of the aligned objectives' progress",
            D::Both => {
                "weighted average of the key results (by weight) and the aligned objectives (weight 1 each)"
            }
        };
        Ok(ProgressExplanation {
            value: self.0.progress,
            formula: formula.to_owned(),
            driver: Some(driver.into()),
            inputs,
            hidden_inputs: hidden,
        })
    }
    /// The progress projected to the period's end from its inputs' trends
    /// (see ObjectiveForecast). Null when no input has a trend: no key
    /// result in its subtree has two check-ins at different instants inside
    /// its period.
    async fn forecast(&self, ctx: &Context<'_>) -> ApiResult<Option<ObjectiveForecast>> {
        Ok(data(ctx)?.loaders.objective_forecasts.load_one(self.0.id).await?.map(Into::into))
    }
    /// Counts edits of the objective's own fields (rollups never bump it).
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum InputKind {
    KeyResult,
    Objective,
}

/// One visible input of a computed number.
#[derive(SimpleObject, Clone)]
pub struct ExplanationInput {
    pub kind: InputKind,
    pub id: ID,
    pub title: String,
    pub progress: f64,
    pub weight: f64,
}

/// How a progress number was computed.
#[derive(SimpleObject, Clone)]
pub struct ProgressExplanation {
    /// The number explained.
    pub value: f64,
    pub formula: String,
    /// For objectives: the driver in force.
    pub driver: Option<ProgressDriver>,
    pub inputs: Vec<ExplanationInput>,
    /// Inputs the caller may not see: counted, never named.
    pub hidden_inputs: u64,
}

/// A measurable outcome that proves an objective, with its newest check-in
/// when that was read along with it.
#[derive(Clone)]
pub struct KeyResultNode(pub KeyResult, Option<Option<CheckIn>>);

impl KeyResultNode {
    pub fn new(key_result: KeyResult) -> Self {
        Self(key_result, None)
    }

    /// Its period's window (through its objective).
    async fn window(&self, ctx: &Context<'_>) -> ApiResult<Option<PeriodWindow>> {
        let d = data(ctx)?;
        let Some(objective) = d.loaders.objectives.load_one(self.0.objective_id).await? else {
            return Ok(None);
        };
        d.loaders.windows.load_one(objective.period_id).await
    }

    async fn numbers(&self, ctx: &Context<'_>) -> ApiResult<Option<Numbers>> {
        let d = data(ctx)?;
        let Some(window) = self.window(ctx).await? else { return Ok(None) };
        let kr = TreeKeyResult {
            measure: self.0.measure,
            progress: self.0.progress,
            weight: self.0.weight,
            confidence: self.0.confidence,
        };
        Ok(Some(key_result_numbers(&kr, &window, d.now, &d.ctx.settings)))
    }
}

#[Object(name = "KeyResult")]
impl KeyResultNode {
    pub async fn id(&self) -> ID {
        encode_id(NodeType::KeyResult, self.0.id.0)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The one person who owns it.
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<PersonNode>> {
        Ok(data(ctx)?.loaders.people.load_one(self.0.owner_id).await?.map(PersonNode))
    }
    async fn objective(&self, ctx: &Context<'_>) -> ApiResult<Option<ObjectiveNode>> {
        Ok(data(ctx)?.loaders.objectives.load_one(self.0.objective_id).await?.map(ObjectiveNode))
    }
    async fn measure(&self) -> Measure {
        self.0.measure.into()
    }
    async fn start(&self) -> f64 {
        self.0.start
    }
    async fn target(&self) -> f64 {
        self.0.target
    }
    /// The newest check-in's value; the start before any check-in.
    async fn current(&self) -> f64 {
        self.0.current
    }
    async fn unit_label(&self) -> &str {
        &self.0.unit_label
    }
    async fn weight(&self) -> f64 {
        self.0.weight
    }
    /// The latest confidence given in a check-in (0-1); a check-in without one keeps it.
    async fn confidence(&self) -> Option<f64> {
        self.0.confidence
    }
    async fn last_check_in_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_check_in_at
    }
    /// No check-in within the organization's cadence while its objective is ACTIVE.
    async fn is_stale(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let d = data(ctx)?;
        let Some(objective) = d.loaders.objectives.load_one(self.0.objective_id).await? else {
            return Ok(false);
        };
        let Some(window) = d.loaders.windows.load_one(objective.period_id).await? else { return Ok(false) };
        Ok(formulas::is_stale(
            objective.status == goalgraph_domain::okr::ObjectiveStatus::Active,
            self.0.last_check_in_at,
            self.0.created_at.max(window.start),
            d.ctx.settings.check_in_cadence_days,
            d.now,
        ))
    }
    /// From 0 to 1, by its measure.
    async fn progress(&self) -> f64 {
        self.0.progress
    }
    async fn expected_progress(&self, ctx: &Context<'_>) -> ApiResult<f64> {
        Ok(self.numbers(ctx).await?.map(|n| n.expected).unwrap_or(0.0))
    }
    async fn health(&self, ctx: &Context<'_>) -> ApiResult<Option<Health>> {
        Ok(self.numbers(ctx).await?.and_then(|n| n.health).map(Into::into))
    }
    /// Its value and numbers as they stood at `at` (not in the future): the
    /// latest check-in made by then (a linked key result: its KPI's latest
    /// point in the period known by then), else the start value.
    async fn as_of(&self, ctx: &Context<'_>, at: DateTime<Utc>) -> ApiResult<Option<NumbersAsOf>> {
        let d = data(ctx)?;
        let at = past_instant(at, d.now)?;
        let v = d.loaders.key_results_as_of.load_one((self.0.id, at)).await?;
        Ok(v.map(|v| NumbersAsOf {
            at,
            numbers: v.numbers,
            current: Some(v.current),
            confidence: v.confidence,
            last_check_in_at: v.last_check_in_at,
        }))
    }
    /// The progress frozen when the period closed.
    async fn score(&self) -> Option<f64> {
        self.0.score
    }
    async fn grade(&self) -> Option<Grade> {
        self.0.score.map(|s| grade(s).into())
    }
    /// Where the progress comes from.
    async fn progress_explanation(&self) -> ProgressExplanation {
        let formula = match self.0.measure {
            DomainMeasure::Increase | DomainMeasure::Decrease => {
                format!(
                    "clamp((current − start) / (target − start), 0, 1) = clamp(({} − {}) / ({} − {}), 0, 1)",
                    self.0.current, self.0.start, self.0.target, self.0.start
                )
            }
            DomainMeasure::MaintainAbove => {
                format!("1 while current ≥ target ({} ≥ {}), else 0", self.0.current, self.0.target)
            }
            DomainMeasure::MaintainBelow => {
                format!("1 while current ≤ target ({} ≤ {}), else 0", self.0.current, self.0.target)
            }
            DomainMeasure::Milestone => {
                format!("1 when done (current ≥ 1; current = {}), else 0", self.0.current)
            }
        };
        ProgressExplanation {
            value: self.0.progress,
            formula,
            driver: None,
            inputs: vec![],
            hidden_inputs: 0,
        }
    }
    /// Check-ins, newest first.
    async fn check_ins(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<CheckInNode>> {
        let d = data(ctx)?;
        let had_cursor = after.is_some();
        let args = connection::page_args(ctx, first, after)?;
        let page = d
            .loaders
            .check_in_pages
            .load_one((self.0.id, args))
            .await?
            .unwrap_or(Page { items: vec![], has_next_page: false });
        let total = if connection::wants_total(ctx) {
            d.loaders.check_in_counts.load_one(self.0.id).await?.unwrap_or(0)
        } else {
            0
        };
        Ok(connection::build(page, had_cursor, total, CheckInNode))
    }
    /// The newest check-in.
    async fn latest_check_in(&self, ctx: &Context<'_>) -> ApiResult<Option<CheckInNode>> {
        if let Some(latest) = &self.1 {
            return Ok(latest.clone().map(CheckInNode));
        }
        let d = data(ctx)?;
        let page = d.loaders.check_in_pages.load_one((self.0.id, crate::loaders::LATEST)).await?;
        Ok(page.and_then(|p| p.items.into_iter().next()).map(|(_, c)| CheckInNode(c)))
    }
    /// The KPI this key result follows: its current value comes from the
    /// KPI's measurements within the period.
    async fn kpi(&self, ctx: &Context<'_>) -> ApiResult<Option<super::KpiNode>> {
        Ok(data(ctx)?.loaders.key_result_kpis.load_one(self.0.id).await?.map(super::KpiNode))
    }
    /// The value and progress projected to the period's end by a
    /// least-squares line through the newest check-ins (at most 8) inside
    /// the period. Null with fewer than 2 such check-ins (or all at one
    /// instant): no trend, no forecast. A key result that follows a KPI has
    /// no check-ins, so no forecast.
    async fn forecast(&self, ctx: &Context<'_>) -> ApiResult<Option<Forecast>> {
        let d = data(ctx)?;
        let Some(window) = self.window(ctx).await? else { return Ok(None) };
        let points = d.loaders.forecast_points.load_one((self.0.id, window)).await?.unwrap_or_default();
        let k = &self.0;
        Ok(key_result_forecast(k.measure, k.start, k.target, k.current, &points, &window).map(Into::into))
    }
    /// Expected and actual progress per bucket, from the bucket holding the
    /// period's start to the one holding now (or the period's last day once
    /// it has ended), in the organization's time zone; empty before the
    /// period starts. Actual progress reads the latest check-in at or before
    /// each bucket's end (now for the current bucket), the start value
    /// before the first.
    async fn progress_series(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Bucket::Week")] bucket: Bucket,
    ) -> ApiResult<Vec<ProgressPoint>> {
        let d = data(ctx)?;
        let Some(window) = self.window(ctx).await? else { return Ok(vec![]) };
        let history = d.loaders.check_in_history.load_one((self.0.id, window)).await?.unwrap_or_default();
        let k = &self.0;
        Ok(progress_series(
            k.measure,
            k.start,
            k.target,
            &history,
            &window,
            bucket.into(),
            d.ctx.settings.time_zone.tz(),
            d.now,
        )
        .into_iter()
        .map(Into::into)
        .collect())
    }
    /// Counts edits of the key result's own fields (check-ins never bump it).
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A progress update on a key result; append-only.
#[derive(Clone)]
pub struct CheckInNode(pub CheckIn);

#[Object(name = "CheckIn")]
impl CheckInNode {
    pub async fn id(&self) -> ID {
        encode_id(NodeType::CheckIn, self.0.id.0)
    }
    async fn value(&self) -> f64 {
        self.0.value
    }
    async fn confidence(&self) -> Option<f64> {
        self.0.confidence
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Null when an integration checked in.
    async fn author(&self, ctx: &Context<'_>) -> ApiResult<Option<PersonNode>> {
        let Some(author) = self.0.author_id else { return Ok(None) };
        Ok(data(ctx)?.loaders.people.load_one(author).await?.map(PersonNode))
    }
    async fn key_result(&self, ctx: &Context<'_>) -> ApiResult<Option<KeyResultNode>> {
        Ok(data(ctx)?.loaders.key_results.load_one(self.0.key_result_id).await?.map(KeyResultNode::new))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// `at` of a history read: not after the request's now.
pub(crate) fn past_instant(at: DateTime<Utc>, now: DateTime<Utc>) -> ApiResult<DateTime<Utc>> {
    if at > now {
        return Err(crate::error::ApiError::bad_input("at", "must not be in the future"));
    }
    Ok(at)
}

/// An objective's or a key result's numbers at an instant of the past.
pub struct NumbersAsOf {
    at: DateTime<Utc>,
    numbers: goalgraph_domain::formulas::Numbers,
    current: Option<f64>,
    confidence: Option<f64>,
    last_check_in_at: Option<DateTime<Utc>>,
}

impl NumbersAsOf {
    /// An objective's numbers at `at`.
    pub(crate) fn objective(at: DateTime<Utc>, numbers: goalgraph_domain::formulas::Numbers) -> Self {
        Self { at, numbers, current: None, confidence: None, last_check_in_at: None }
    }
}

#[Object]
impl NumbersAsOf {
    /// The instant the numbers held at.
    async fn at(&self) -> DateTime<Utc> {
        self.at
    }
    async fn progress(&self) -> f64 {
        self.numbers.progress
    }
    async fn expected_progress(&self) -> f64 {
        self.numbers.expected
    }
    /// Null for an objective without inputs.
    async fn health(&self) -> Option<Health> {
        self.numbers.health.map(Into::into)
    }
    /// A key result's value then; null for an objective.
    async fn current(&self) -> Option<f64> {
        self.current
    }
    /// The confidence of a key result's latest check-in by then.
    async fn confidence(&self) -> Option<f64> {
        self.confidence
    }
    /// The time of a key result's latest check-in by then.
    async fn last_check_in_at(&self) -> Option<DateTime<Utc>> {
        self.last_check_in_at
    }
}
