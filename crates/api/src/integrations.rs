//! Partner integrations over GraphQL (ADMIN only).

use crate::context::data;
use crate::error::ApiResult;
use crate::ids::{NodeType, decode_id, encode_id};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use goalgraph_persistence::Integration;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::policy::Scope")]
pub enum IntegrationScope {
    /// Read PUBLIC objectives and their key results.
    #[graphql(name = "OKR_READ")]
    OkrRead,
    /// Record measurements of KPIs.
    #[graphql(name = "KPI_WRITE")]
    KpiWrite,
    /// Create and update units and people (HRIS sync).
    #[graphql(name = "DIRECTORY_WRITE")]
    DirectoryWrite,
}

/// A partner system (HRIS, ATS, BI) with a scoped API key.
pub struct IntegrationNode(pub Integration);

#[Object(name = "Integration")]
impl IntegrationNode {
    async fn id(&self) -> ID {
        encode_id(NodeType::Integration, self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn scopes(&self) -> Vec<IntegrationScope> {
        self.0.scopes.iter().copied().map(Into::into).collect()
    }
    /// The KPIs it may feed, when it was given a list (null: all).
    async fn kpi_ids(&self) -> Option<Vec<ID>> {
        self.0.kpis.as_ref().map(|k| k.iter().map(|id| encode_id(NodeType::Kpi, id.0)).collect())
    }
    /// The first characters of its key, to tell keys apart.
    async fn key_prefix(&self) -> &str {
        &self.0.key_prefix
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(Default)]
pub struct IntegrationQuery;

#[Object]
impl IntegrationQuery {
    /// The organization's integrations (ADMIN).
    async fn integrations(&self, ctx: &Context<'_>) -> ApiResult<Vec<IntegrationNode>> {
        let d = data(ctx)?;
        Ok(d.store.list_integrations(&d.ctx.actor).await?.into_iter().map(IntegrationNode).collect())
    }
}

#[derive(Default)]
pub struct IntegrationMutation;

#[derive(InputObject)]
pub struct CreateIntegrationInput {
    pub name: String,
    pub scopes: Vec<IntegrationScope>,
    /// With KPI_WRITE: the KPIs it may feed (and read); omit for all.
    pub kpi_ids: Option<Vec<ID>>,
}

#[derive(InputObject)]
pub struct RevokeIntegrationInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct CreateIntegrationPayload {
    pub integration: IntegrationNode,
    /// The API key, shown this once: send it as `Authorization: Bearer <key>`.
    pub api_key: String,
}

#[derive(SimpleObject)]
pub struct RevokeIntegrationPayload {
    pub integration: IntegrationNode,
}

#[Object]
impl IntegrationMutation {
    /// Creates an integration and its API key (ADMIN).
    async fn create_integration(
        &self,
        ctx: &Context<'_>,
        input: CreateIntegrationInput,
    ) -> ApiResult<CreateIntegrationPayload> {
        let d = data(ctx)?;
        let scopes: Vec<goalgraph_domain::policy::Scope> = input.scopes.into_iter().map(Into::into).collect();
        let kpis: Option<Vec<goalgraph_domain::KpiId>> = input
            .kpi_ids
            .map(|ids| {
                ids.iter()
                    .enumerate()
                    .map(|(i, id)| decode_id(&format!("kpiIds[{i}]"), NodeType::Kpi, id))
                    .collect::<ApiResult<Vec<_>>>()
            })
            .transpose()?;
        let (integration, key) =
            d.store.create_integration(&d.ctx.actor, &input.name, &scopes, kpis.as_deref()).await?;
        Ok(CreateIntegrationPayload { integration: IntegrationNode(integration), api_key: key })
    }

    /// Revokes an integration's key with immediate effect (ADMIN).
    async fn revoke_integration(
        &self,
        ctx: &Context<'_>,
        input: RevokeIntegrationInput,
    ) -> ApiResult<RevokeIntegrationPayload> {
        let d = data(ctx)?;
        let id = decode_id("id", NodeType::Integration, &input.id)?;
        Ok(RevokeIntegrationPayload {
            integration: IntegrationNode(d.store.revoke_integration(&d.ctx.actor, id).await?),
        })
    }
}
