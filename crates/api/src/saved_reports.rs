//! Saved reports: `saveReport`, `deleteSavedReport`, `savedReports` and the
//! `SavedReport` node. A saved report keeps a definition under a name, for
//! its owner or shared with the tenant; its `result` (and `report(savedReportId:)`)
//! runs the definition over what the caller may see, so sharing a report
//! never shares its owner's view.

use crate::connection::{self, Conn};
use crate::context::data;
use crate::error::{ApiError, ApiResult};
use crate::ids::{NodeType, decode_id, encode_id};
use crate::reports::{LabeledReport, ObjectiveLevel, ReportDimension, ReportInput, ReportMeasure};
use crate::types::PersonNode;
use crate::types::enums::{KpiCategory, ObjectiveKind, ObjectiveStatus};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use goalgraph_domain::report::{ReportSpec, SavedReport};
use goalgraph_domain::{DomainError, SavedReportId};
use goalgraph_persistence::{SavedReportInput, StoreError};

/// Field names of `saveReport` and `deleteSavedReport` errors start here.
const PREFIX: &str = "input";

/// A store error with the field of a broken rule named under `input`.
fn under_input(e: StoreError) -> ApiError {
    match e {
        StoreError::Domain(e @ DomainError::Invalid { .. }) => StoreError::Domain(e.in_field(PREFIX)).into(),
        other => other.into(),
    }
}

/// A saved report definition in the shape of `ReportInput`, so a client can
/// feed it back to `report` or `saveReport`.
#[derive(SimpleObject)]
pub struct ReportDefinition {
    pub measures: Vec<ReportMeasure>,
    pub dimensions: Vec<ReportDimension>,
    pub filter: ReportFilterDefinition,
    pub roll_up: bool,
}

/// The filter of a saved definition, in the shape of `ReportFilterInput`;
/// an empty list does not narrow.
#[derive(SimpleObject)]
pub struct ReportFilterDefinition {
    pub period_ids: Vec<ID>,
    pub unit_id: Option<ID>,
    pub owner_id: Option<ID>,
    pub levels: Vec<ObjectiveLevel>,
    pub statuses: Vec<ObjectiveStatus>,
    pub kinds: Vec<ObjectiveKind>,
    pub categories: Vec<KpiCategory>,
}

impl From<&ReportSpec> for ReportDefinition {
    fn from(spec: &ReportSpec) -> Self {
        let f = &spec.filter;
        Self {
            measures: spec.measures.iter().map(|m| (*m).into()).collect(),
            dimensions: spec.dimensions.iter().map(|d| (*d).into()).collect(),
            filter: ReportFilterDefinition {
                period_ids: f.period_ids.iter().map(|p| encode_id(NodeType::Period, p.0)).collect(),
                unit_id: f.unit_id.map(|u| encode_id(NodeType::Unit, u.0)),
                owner_id: f.owner_person_id.map(|p| encode_id(NodeType::Person, p.0)),
                levels: f.levels.iter().map(|l| (*l).into()).collect(),
                statuses: f.statuses.iter().map(|s| (*s).into()).collect(),
                kinds: f.kinds.iter().map(|k| (*k).into()).collect(),
                categories: f.categories.iter().map(|c| (*c).into()).collect(),
            },
            roll_up: spec.roll_up,
        }
    }
}

/// A report definition saved under a name. Its owner and ADMIN change it;
/// its owner, ADMIN and HR read it, and everyone in the tenant when shared.
pub struct SavedReportNode(pub SavedReport);

#[Object(name = "SavedReport")]
impl SavedReportNode {
    pub async fn id(&self) -> ID {
        encode_id(NodeType::SavedReport, self.0.id.0)
    }
    /// Unique among its owner's saved reports.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The person who saved it.
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<PersonNode>> {
        Ok(data(ctx)?.loaders.people.load_one(self.0.owner_id).await?.map(PersonNode))
    }
    /// Readable (and runnable) by everyone in the tenant.
    async fn shared(&self) -> bool {
        self.0.shared
    }
    async fn definition(&self) -> ReportDefinition {
        ReportDefinition::from(&self.0.spec)
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The definition run now over what the caller may see (not what its
    /// owner may).
    /// With `asOf`, the numbers that held at that instant (as `report`).
    async fn result(&self, ctx: &Context<'_>, as_of: Option<DateTime<Utc>>) -> ApiResult<LabeledReport> {
        let d = data(ctx)?;
        let spec = self.0.spec.clone();
        LabeledReport::run_at("definition", &d.store, &d.ctx.actor, spec, &d.ctx.settings, d.now, as_of).await
    }
}

#[derive(InputObject)]
pub struct SaveReportInput {
    /// The saved report to replace; absent: a new one owned by the caller.
    pub id: Option<ID>,
    /// 1 to 200 characters, trimmed; unique among the owner's saved reports.
    pub name: String,
    pub definition: ReportInput,
    /// Whether everyone in the tenant may read and run it.
    #[graphql(default)]
    pub shared: bool,
    /// With `id`: the version the change is based on.
    pub expected_version: Option<i32>,
}

#[derive(InputObject)]
pub struct DeleteSavedReportInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct SaveReportPayload {
    pub saved_report: SavedReportNode,
}

#[derive(SimpleObject)]
pub struct DeleteSavedReportPayload {
    pub deleted_id: ID,
}

#[derive(Default)]
pub struct SavedReportMutation;

#[Object]
impl SavedReportMutation {
    /// Saves a report definition: a new one owned by the caller without
    /// `id`, otherwise replaces the name, definition and sharing of that
    /// one (its owner or ADMIN). The definition follows `report`'s rules.
    async fn save_report(&self, ctx: &Context<'_>, input: SaveReportInput) -> ApiResult<SaveReportPayload> {
        let d = data(ctx)?;
        let id = input
            .id
            .as_ref()
            .map(|id| decode_id::<SavedReportId>(&format!("{PREFIX}.id"), NodeType::SavedReport, id))
            .transpose()?;
        let spec = input.definition.to_spec(&format!("{PREFIX}.definition"))?;
        let save = SavedReportInput { name: input.name, spec, shared: input.shared };
        let saved = match id {
            Some(id) => d.store.update_saved_report(&d.ctx.actor, id, save, input.expected_version).await,
            None if input.expected_version.is_some() => {
                return Err(ApiError::bad_input(
                    format!("{PREFIX}.expectedVersion"),
                    "only with an id: a new report has no version yet",
                ));
            }
            None => d.store.create_saved_report(&d.ctx.actor, save).await,
        }
        .map_err(under_input)?;
        Ok(SaveReportPayload { saved_report: SavedReportNode(saved) })
    }

    /// Deletes a saved report (its owner or ADMIN).
    async fn delete_saved_report(
        &self,
        ctx: &Context<'_>,
        input: DeleteSavedReportInput,
    ) -> ApiResult<DeleteSavedReportPayload> {
        let d = data(ctx)?;
        let id: SavedReportId = decode_id(&format!("{PREFIX}.id"), NodeType::SavedReport, &input.id)?;
        let deleted = d.store.delete_saved_report(&d.ctx.actor, id).await.map_err(under_input)?;
        Ok(DeleteSavedReportPayload { deleted_id: encode_id(NodeType::SavedReport, deleted.id.0) })
    }
}

#[derive(Default)]
pub struct SavedReportQuery;

#[Object]
impl SavedReportQuery {
    /// The caller's own saved reports and every shared one, by name.
    async fn saved_reports(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<SavedReportNode>> {
        let d = data(ctx)?;
        let had_cursor = after.is_some();
        let args = connection::page_args(ctx, first, after)?;
        let page = d.store.list_saved_reports(&d.ctx.actor, &args).await?;
        let total =
            if connection::wants_total(ctx) { d.store.count_saved_reports(&d.ctx.actor).await? } else { 0 };
        Ok(connection::build(page, had_cursor, total, SavedReportNode))
    }
}
