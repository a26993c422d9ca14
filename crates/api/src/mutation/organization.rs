use crate::context::data;
use crate::error::ApiResult;
use crate::types::OrganizationNode;
use async_graphql::{Context, InputObject, Object, SimpleObject};
use goalgraph_domain::settings::SettingsPatch;
use goalgraph_persistence::OrganizationPatch;

#[derive(Default)]
pub struct OrganizationMutation;

/// Settings to change; absent fields keep their value.
#[derive(InputObject, Default)]
pub struct OrganizationSettingsInput {
    pub time_zone: Option<String>,
    pub on_track_max_gap: Option<f64>,
    pub at_risk_max_gap: Option<f64>,
    pub confidence_at_risk_below: Option<f64>,
    pub confidence_off_track_below: Option<f64>,
    pub check_in_cadence_days: Option<u32>,
    pub max_objectives_per_owner: Option<u32>,
    pub max_key_results_per_objective: Option<u32>,
    pub max_kpis_per_unit: Option<u32>,
    pub kpi_breach_days_before_objective: Option<u32>,
    pub max_page_size: Option<u32>,
}

#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    pub name: Option<String>,
    pub settings: Option<OrganizationSettingsInput>,
    /// The version you read; a stale one answers CONFLICT.
    pub expected_version: Option<i32>,
}

#[derive(SimpleObject)]
pub struct UpdateOrganizationPayload {
    pub organization: OrganizationNode,
}

#[Object]
impl OrganizationMutation {
    /// Renames the organization or changes its settings (ADMIN).
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationInput,
    ) -> ApiResult<UpdateOrganizationPayload> {
        let d = data(ctx)?;
        let s = input.settings.unwrap_or_default();
        let patch = OrganizationPatch {
            name: input.name,
            settings: SettingsPatch {
                time_zone: s.time_zone,
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
            },
            expected_version: input.expected_version,
        };
        let organization = d.store.update_organization(&d.ctx.actor, patch).await?;
        Ok(UpdateOrganizationPayload { organization: OrganizationNode(organization) })
    }
}
