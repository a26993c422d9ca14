//! The report builder (`report`): measures over the tenant's objectives,
//! key results, check-ins and KPIs, grouped by dimensions, computed by the
//! database over what the caller may see. [`LabeledReport::prepare`] also
//! builds the statement the CSV export streams, one row at a time.

use crate::context::data;
use crate::error::{ApiError, ApiResult};
use crate::ids::{NodeType, decode_id, encode_id};
use crate::types::enums::{Health, KpiCategory, KpiStatus, ObjectiveKind, ObjectiveStatus};
use crate::types::{PeriodNode, PersonNode, UnitNode};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use goalgraph_domain::formulas::Health as DomainHealth;
use goalgraph_domain::model::RoleSet;
use goalgraph_domain::policy::Actor;
use goalgraph_domain::report::{DimensionValue, ReportFilter, ReportSpec};
use goalgraph_domain::settings::OrganizationSettings;
use goalgraph_domain::{DomainError, PeriodId};
use goalgraph_persistence::{LabeledRow, Store, StoreError};

/// What a report counts or averages. OKR measures (objectives, their key
/// results and check-ins) and KPI measures (KPIs in use) may be mixed when
/// the report groups only by UNIT and/or OWNER.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::report::ReportMeasure")]
pub enum ReportMeasure {
    /// Objectives counted.
    ObjectiveCount,
    /// The mean progress of the objectives (0 to 1).
    AverageProgress,
    /// The mean score of the scored (closed-period) objectives; null when
    /// none is scored.
    AverageScore,
    /// Share of the objectives with a health (with inputs) that are ON_TRACK.
    ShareOnTrack,
    /// Share of the objectives with a health that are AT_RISK.
    ShareAtRisk,
    /// Share of the objectives with a health that are OFF_TRACK.
    ShareOffTrack,
    /// Key results of the objectives counted.
    KeyResultCount,
    /// Share of those key results whose check-in is stale (an ACTIVE
    /// objective's key result without a check-in within the cadence).
    ShareStaleKeyResults,
    /// Check-ins per key result.
    CheckInsPerKeyResult,
    /// KPIs in use (not archived) counted.
    KpiCount,
    /// Share of the KPIs that are HEALTHY (NO_DATA and STALE ones count in
    /// the base).
    KpiShareHealthy,
    /// Share of the KPIs that are AT_RISK.
    KpiShareAtRisk,
    /// Share of the KPIs that are BREACHED.
    KpiShareBreached,
    /// The mean number of days since `breachedSince` over the KPIs now out
    /// of their healthy range; null when none is.
    KpiDaysInBreach,
}

/// What a report's rows are grouped by. An OKR measure's row is its
/// objective's: key results and check-ins count under their objective's
/// period, unit, owner, level, status, health and kind.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::report::ReportDimension")]
pub enum ReportDimension {
    /// OKR measures only.
    Period,
    /// The owning unit (a person's objective: the person's unit; a KPI: its
    /// unit). With `rollUp`, the child of the filter's unit it sits under.
    Unit,
    /// The owning person; empty for a unit's objective. A KPI's owner.
    Owner,
    /// OKR measures only: COMPANY, UNIT or PERSON.
    Level,
    /// OKR measures only: the objective's status.
    Status,
    /// OKR measures only: the objective's health; empty without inputs.
    Health,
    /// OKR measures only: COMMITTED or ASPIRATIONAL.
    Kind,
    /// KPI measures only.
    KpiCategory,
    /// KPI measures only: the KPI's status now.
    KpiStatus,
}

/// Where an objective sits.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::report::ObjectiveLevel")]
pub enum ObjectiveLevel {
    /// Owned by the company unit.
    Company,
    /// Owned by another unit.
    Unit,
    /// Owned by a person.
    Person,
}

/// Narrows what a report reads; an empty or missing list does not narrow.
/// `periodIds`, `levels`, `statuses` and `kinds` narrow the OKR measures,
/// `categories` the KPI measures; `unitId` (the unit's whole subtree) and
/// `ownerId` narrow both.
#[derive(InputObject, Clone, Debug, Default)]
pub struct ReportFilterInput {
    pub period_ids: Option<Vec<ID>>,
    pub unit_id: Option<ID>,
    pub owner_id: Option<ID>,
    pub levels: Option<Vec<ObjectiveLevel>>,
    pub statuses: Option<Vec<ObjectiveStatus>>,
    pub kinds: Option<Vec<ObjectiveKind>>,
    pub categories: Option<Vec<KpiCategory>>,
}

/// A report definition.
#[derive(InputObject, Clone, Debug)]
pub struct ReportInput {
    /// At most 14, each once; the row's values follow this order.
    pub measures: Vec<ReportMeasure>,
    /// At most 4, each once; none gives one row of totals.
    #[graphql(default)]
    pub dimensions: Vec<ReportDimension>,
    pub filter: Option<ReportFilterInput>,
    /// With the UNIT dimension: one row per child of the filter's unit (the
    /// company when none is given), folding its whole subtree; what that
    /// unit owns itself keeps its own row.
    #[graphql(default)]
    pub roll_up: bool,
}

fn list<T: Copy, U: From<T>>(items: &Option<Vec<T>>) -> Vec<U> {
    items.iter().flatten().map(|i| U::from(*i)).collect()
}

impl ReportInput {
    /// The domain's definition; ids that do not decode name their field
    /// under `prefix` (e.g. `input`).
    pub fn to_spec(&self, prefix: &str) -> ApiResult<ReportSpec> {
        let f = self.filter.clone().unwrap_or_default();
        let field = |name: &str| format!("{prefix}.filter.{name}");
        let period_ids = f
            .period_ids
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, id)| decode_id::<PeriodId>(&field(&format!("periodIds[{i}]")), NodeType::Period, id))
            .collect::<ApiResult<Vec<_>>>()?;
        let filter = ReportFilter {
            period_ids,
            unit_id: f
                .unit_id
                .as_ref()
                .map(|u| decode_id(&field("unitId"), NodeType::Unit, u))
                .transpose()?,
            owner_person_id: f
                .owner_id
                .as_ref()
                .map(|p| decode_id(&field("ownerId"), NodeType::Person, p))
                .transpose()?,
            levels: list(&f.levels),
            statuses: list(&f.statuses),
            kinds: list(&f.kinds),
            categories: list(&f.categories),
        };
        let spec = ReportSpec {
            measures: self.measures.iter().map(|m| (*m).into()).collect(),
            dimensions: self.dimensions.iter().map(|d| (*d).into()).collect(),
            filter,
            roll_up: self.roll_up,
        };
        spec.validate().map_err(|e| e.in_field(prefix))?;
        Ok(spec)
    }
}

/// The words a dimension value prints as (enum values as in the schema).
fn health_word(h: DomainHealth) -> &'static str {
    match h {
        DomainHealth::OnTrack => "ON_TRACK",
        DomainHealth::AtRisk => "AT_RISK",
        DomainHealth::OffTrack => "OFF_TRACK",
    }
}

/// A report with the names of the periods, units and people its rows
/// name (read by the report's own statement).
pub struct LabeledReport {
    pub spec: ReportSpec,
    pub rows: Vec<LabeledRow>,
    pub totals: Vec<Option<f64>>,
    pub generated_at: DateTime<Utc>,
    /// The instant the numbers hold at, when not now.
    pub as_of: Option<DateTime<Utc>>,
}

impl LabeledReport {
    /// Runs the definition with the numbers that held at `as_of` (the
    /// argument `asOf`: not in the future; none: now); a rule it breaks
    /// names its field under `prefix`.
    #[allow(clippy::too_many_arguments)]
    pub async fn run_at(
        prefix: &str,
        store: &Store,
        actor: &Actor,
        spec: ReportSpec,
        settings: &OrganizationSettings,
        now: DateTime<Utc>,
        as_of: Option<DateTime<Utc>>,
    ) -> ApiResult<Self> {
        let query = Self::prepare(prefix, store, actor, &spec, settings, now, as_of).await?;
        let (rows, totals) = query.rows(store, None).await?.collect().await?;
        Ok(Self { spec, rows, totals, generated_at: now, as_of })
    }

    /// Checks the definition (a rule it breaks names its field under
    /// `prefix`) and builds its statement, to be run and read row by row.
    #[allow(clippy::too_many_arguments)]
    pub async fn prepare(
        prefix: &str,
        store: &Store,
        actor: &Actor,
        spec: &ReportSpec,
        settings: &OrganizationSettings,
        now: DateTime<Utc>,
        as_of: Option<DateTime<Utc>>,
    ) -> ApiResult<goalgraph_persistence::ReportQuery> {
        if as_of.is_some_and(|t| t > now) {
            return Err(ApiError::bad_input("asOf", "must not be in the future"));
        }
        // A rule of the definition names its field under `prefix`.
        Ok(store.prepare_report(actor, spec, settings, now, as_of).await.map_err(|e| match e {
            StoreError::Domain(e @ DomainError::Invalid { .. }) => StoreError::Domain(e.in_field(prefix)),
            other => other,
        })?)
    }

    /// The value's key: a global id for a period, unit or person, the
    /// schema's word for an enum value, none when empty.
    pub fn key(v: &DimensionValue) -> Option<String> {
        Some(match v {
            DimensionValue::Absent => return None,
            DimensionValue::Period(p) => encode_id(NodeType::Period, p.0).0,
            DimensionValue::Unit(u) => encode_id(NodeType::Unit, u.0).0,
            DimensionValue::Person(p) => encode_id(NodeType::Person, p.0).0,
            DimensionValue::Level(l) => l.as_str().into(),
            DimensionValue::Status(s) => s.as_str().into(),
            DimensionValue::Health(h) => health_word(*h).into(),
            DimensionValue::Kind(k) => k.as_str().into(),
            DimensionValue::Category(c) => c.as_str().into(),
            DimensionValue::KpiStatus(s) => s.as_str().into(),
        })
    }

    /// The value as a person reads it: the name `label` of a period, unit
    /// or person, or the enum's word.
    pub fn label(v: &DimensionValue, label: Option<&str>) -> Option<String> {
        match v {
            DimensionValue::Period(_) | DimensionValue::Unit(_) | DimensionValue::Person(_) => {
                label.map(str::to_owned)
            }
            other => Self::key(other),
        }
    }
}

/// A report's answer.
#[Object(name = "Report")]
impl LabeledReport {
    /// The measures, in the order of every row's `values`.
    async fn measures(&self) -> Vec<ReportMeasure> {
        self.spec.measures.iter().map(|m| (*m).into()).collect()
    }

    /// The dimensions, in the order of every row's `dimensions`.
    async fn dimensions(&self) -> Vec<ReportDimension> {
        self.spec.dimensions.iter().map(|d| (*d).into()).collect()
    }

    /// One row per combination of dimension values that has something to
    /// count.
    async fn rows(&self) -> Vec<ReportRowNode<'_>> {
        self.rows.iter().map(|r| ReportRowNode { report: self, row: r }).collect()
    }

    /// The measures over everything the report counts (averages are taken
    /// over all items, not over the rows' averages).
    async fn totals(&self) -> &[Option<f64>] {
        &self.totals
    }

    /// The instant the numbers hold for.
    async fn generated_at(&self) -> DateTime<Utc> {
        self.generated_at
    }

    /// The past instant the numbers hold at (`asOf`); null for now.
    async fn as_of(&self) -> Option<DateTime<Utc>> {
        self.as_of
    }
}

pub struct ReportRowNode<'a> {
    report: &'a LabeledReport,
    row: &'a LabeledRow,
}

#[Object(name = "ReportRow")]
impl ReportRowNode<'_> {
    async fn dimensions(&self) -> Vec<ReportDimensionValue<'_>> {
        self.report
            .spec
            .dimensions
            .iter()
            .zip(self.row.row.dimensions.iter().zip(&self.row.labels))
            .map(|(d, (v, label))| ReportDimensionValue { dimension: *d, value: *v, label: label.as_deref() })
            .collect()
    }

    /// One value per measure, in the report's order; null where the measure
    /// is undefined (an average of nothing).
    async fn values(&self) -> &[Option<f64>] {
        &self.row.row.values
    }
}

pub struct ReportDimensionValue<'a> {
    label: Option<&'a str>,
    dimension: goalgraph_domain::report::ReportDimension,
    value: DimensionValue,
}

#[Object(name = "ReportDimensionValue")]
impl ReportDimensionValue<'_> {
    async fn dimension(&self) -> ReportDimension {
        self.dimension.into()
    }

    /// A global id (period, unit, person) or the enum's word; null for the
    /// empty value (a unit's objective has no owner person; an objective
    /// without inputs has no health).
    async fn key(&self) -> Option<String> {
        LabeledReport::key(&self.value)
    }

    /// The name of the period, unit or person, or the enum's word.
    async fn label(&self) -> Option<String> {
        LabeledReport::label(&self.value, self.label)
    }

    async fn period(&self, ctx: &Context<'_>) -> ApiResult<Option<PeriodNode>> {
        let DimensionValue::Period(id) = self.value else { return Ok(None) };
        Ok(data(ctx)?.loaders.periods.load_one(id).await?.map(PeriodNode))
    }

    async fn unit(&self, ctx: &Context<'_>) -> ApiResult<Option<UnitNode>> {
        let DimensionValue::Unit(id) = self.value else { return Ok(None) };
        Ok(data(ctx)?.loaders.units.load_one(id).await?.map(UnitNode))
    }

    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<PersonNode>> {
        let DimensionValue::Person(id) = self.value else { return Ok(None) };
        Ok(data(ctx)?.loaders.people.load_one(id).await?.map(PersonNode))
    }

    async fn health(&self) -> Option<Health> {
        match self.value {
            DimensionValue::Health(h) => Some(h.into()),
            _ => None,
        }
    }

    async fn kpi_status(&self) -> Option<KpiStatus> {
        match self.value {
            DimensionValue::KpiStatus(s) => Some(s.into()),
            _ => None,
        }
    }
}

#[derive(Default)]
pub struct ReportQuery;

#[Object]
impl ReportQuery {
    /// Aggregates over the objectives, key results, check-ins and KPIs the
    /// caller may see, grouped by the dimensions. Aggregated numbers of a
    /// visible objective (its health) may include hidden inputs, as
    /// everywhere; hidden objects are never counted or named. Give exactly
    /// one of `input` (a definition) and `savedReportId` (a saved report the
    /// caller may read, run over what the caller may see).
    async fn report(
        &self,
        ctx: &Context<'_>,
        input: Option<ReportInput>,
        saved_report_id: Option<ID>,
        #[graphql(desc = "The numbers that held at this instant (not in the future): key results' values \
                          replayed from the check-ins and KPI points known by then, objective progress \
                          recomputed from them, check-ins and points counted up to then, scores of periods \
                          ended by then. Objectives, KPIs, their owners, status, alignment and targets are \
                          today's.")]
        as_of: Option<DateTime<Utc>>,
    ) -> ApiResult<LabeledReport> {
        let d = data(ctx)?;
        let (prefix, spec) = match (input, saved_report_id) {
            (Some(input), None) => ("input", input.to_spec("input")?),
            (None, Some(id)) => {
                let id = decode_id("savedReportId", NodeType::SavedReport, &id)?;
                ("savedReportId", d.store.saved_report(&d.ctx.actor, id).await?.spec)
            }
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_input(
                    "savedReportId",
                    "give either input or savedReportId, not both",
                ));
            }
            (None, None) => return Err(ApiError::bad_input("input", "give input or savedReportId")),
        };
        LabeledReport::run_at(prefix, &d.store, &d.ctx.actor, spec, &d.ctx.settings, d.now, as_of).await
    }
}

/// How long a download link is valid.
pub const EXPORT_LINK_MINUTES: i64 = 5;

/// The file formats of an export.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum ExportFormat {
    /// Comma-separated values (RFC 4180), UTF-8, with a header row.
    #[default]
    Csv,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
        }
    }
}

#[derive(InputObject)]
pub struct CreateReportExportLinkInput {
    pub report: ReportInput,
    #[graphql(default)]
    pub format: ExportFormat,
}

/// A one-time download link: `GET` it without any header (a browser
/// link) before it expires; it serves one export and is then used up.
#[derive(SimpleObject)]
pub struct ReportExportLink {
    /// The link's id, as the audit trail names it.
    pub id: ID,
    /// The path of the download, relative to the server's base URL.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct ReportMutation;

#[Object]
impl ReportMutation {
    /// Issues a download link for one export of the report, as the caller
    /// (people only: an integration sends its key with the download).
    async fn create_report_export_link(
        &self,
        ctx: &Context<'_>,
        input: CreateReportExportLinkInput,
    ) -> ApiResult<ReportExportLink> {
        let d = data(ctx)?;
        let spec = input.report.to_spec("input.report")?;
        // The roles the caller's token grants beyond the person's own; the
        // person's own are read again when the link is used.
        let own = d.ctx.person.as_ref().map(|p| p.roles.clone()).unwrap_or_default();
        let extra = RoleSet::new(d.ctx.actor.roles.iter().filter(|r| !own.contains(*r)));
        let link = d
            .store
            .create_export_link(
                &d.ctx.actor,
                &extra,
                &spec,
                input.format.as_str(),
                chrono::Duration::minutes(EXPORT_LINK_MINUTES),
            )
            .await?;
        Ok(ReportExportLink {
            id: ID(link.id.to_string()),
            url: format!("/reports/export?link={}", link.token),
            expires_at: link.expires_at,
        })
    }
}
