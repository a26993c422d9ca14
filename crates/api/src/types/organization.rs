use super::UnitNode;
use crate::context::data;
use crate::error::ApiResult;
use crate::ids::{NodeType, encode_id};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use goalgraph_domain::model::Organization;
use goalgraph_domain::settings::OrganizationSettings;

/// The tenant: everything else belongs to exactly one organization.
pub struct OrganizationNode(pub Organization);

#[Object(name = "Organization")]
impl OrganizationNode {
    pub async fn id(&self) -> ID {
        encode_id(NodeType::Organization, self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The handle tokens name in their tenant claim.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn settings(&self) -> Settings {
        Settings::from(&self.0.settings)
    }
    /// Counts edits of the organization's own fields.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The root of the unit tree.
    async fn company_unit(&self, ctx: &Context<'_>) -> ApiResult<UnitNode> {
        let d = data(ctx)?;
        Ok(UnitNode(d.store.company_unit(&d.ctx.actor).await?))
    }
}

/// Thresholds and the time zone; see the product brief for each default.
#[derive(SimpleObject)]
#[graphql(name = "OrganizationSettings")]
pub struct Settings {
    /// IANA time zone name; dates and buckets use it.
    pub time_zone: String,
    /// Health is ON_TRACK while expected minus actual progress is at most this.
    pub on_track_max_gap: f64,
    /// Health is AT_RISK while the gap is at most this, OFF_TRACK beyond.
    pub at_risk_max_gap: f64,
    /// A latest confidence below this makes a key result at most AT_RISK.
    pub confidence_at_risk_below: f64,
    /// A latest confidence below this makes a key result OFF_TRACK.
    pub confidence_off_track_below: f64,
    /// Days without a check-in after which a key result is stale.
    pub check_in_cadence_days: u32,
    /// Active objectives per owner and period before an insight warns.
    pub max_objectives_per_owner: u32,
    /// Key results per objective before an insight warns.
    pub max_key_results_per_objective: u32,
    /// Active KPIs per unit before an insight warns.
    pub max_kpis_per_unit: u32,
    /// Days out of the healthy range before a KPI calls for an objective.
    pub kpi_breach_days_before_objective: u32,
    /// The largest `first` a connection accepts.
    pub max_page_size: u32,
}

impl From<&OrganizationSettings> for Settings {
    fn from(s: &OrganizationSettings) -> Self {
        Self {
            time_zone: s.time_zone.as_str().to_owned(),
            on_track_max_gap: s.on_track_max_gap,
            at_risk_max_gap: s.at_risk_max_gap,
            confidence_at_risk_below: s.confidence_at_risk_below,
            confidence_off_track_below: s.confidence_off_track_below,
            check_in_cadence_days: s.check_in_cadence_days,
            max_objectives_per_owner: s.max_objectives_per_owner,
            max_key_results_per_objective: s.max_key_results_per_objective,
            max_kpis_per_unit: s.max_kpis_per_unit,
            kpi_breach_days_before_objective: s.kpi_breach_days_before_objective,
            max_page_size: s.max_page_size,
        }
    }
}
