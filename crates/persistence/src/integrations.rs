//! Partner integrations: API keys with a recognisable prefix, shown once,
//! stored only as a hash, scoped, revocable with immediate effect.

use crate::audit::AuditRecord;
use crate::checkins::request_hash;
use crate::convert::now;
use crate::entity::{integration, integration_kpi, kpi};
use crate::error::{StoreError, StoreResult};
use crate::store::Store;
use chrono::{DateTime, Utc};
use goalgraph_domain::model::{Organization, RoleSet};
use goalgraph_domain::policy::{self, Action, Actor, Principal, Resource, Scope};
use goalgraph_domain::values::Name;
use goalgraph_domain::{DomainError, IntegrationId, KpiId, OrganizationId};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use std::collections::{BTreeSet, HashSet};

/// The prefix every API key starts with, so scanners and people recognise it.
pub const KEY_PREFIX: &str = "ggk_";

/// An integration as callers see it (never with its key).
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    pub id: IntegrationId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub scopes: BTreeSet<Scope>,
    /// The KPIs it may feed when it was given a list; `None`: all.
    pub kpis: Option<BTreeSet<KpiId>>,
    /// The first characters of the key, to tell keys apart.
    pub key_prefix: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

fn convert(m: integration::Model, kpis: Option<BTreeSet<KpiId>>) -> StoreResult<Integration> {
    let names: Vec<String> = serde_json::from_str(&m.scopes)
        .map_err(|e| StoreError::corrupt(format!("scopes of integration {}: {e}", m.id)))?;
    Ok(Integration {
        id: m.id.into(),
        organization_id: m.organization_id.into(),
        name: m.name,
        scopes: names.iter().filter_map(|n| n.parse().ok()).collect(),
        kpis,
        key_prefix: m.key_prefix,
        last_used_at: m.last_used_at,
        revoked_at: m.revoked_at,
        created_at: m.created_at,
    })
}

/// The stored form of a key: its SHA-256. Keys are 256 random bits, so a
/// fast hash is enough (no password stretching needed).
fn key_hash(key: &str) -> String {
    request_hash(&serde_json::Value::String(key.to_owned()))
}

impl Store {
    /// Creates an integration; returns it and its API key, which is shown
    /// this once and stored only as a hash. A `kpi:write` integration may be
    /// given the KPIs it may feed (and read); without a list, all.
    pub async fn create_integration(
        &self,
        actor: &Actor,
        name: &str,
        scopes: &[Scope],
        kpis: Option<&[KpiId]>,
    ) -> StoreResult<(Integration, String)> {
        let org = actor.organization_id;
        policy::authorize(actor, Action::Create, &Resource::Integration { organization_id: org })?;
        let name = Name::parse("name", name)?;
        if scopes.is_empty() {
            return Err(DomainError::invalid("scopes", "give at least one scope").into());
        }
        let scopes: BTreeSet<Scope> = scopes.iter().copied().collect();
        if let Some(kpis) = kpis {
            if !scopes.contains(&Scope::KpiWrite) {
                return Err(DomainError::invalid("kpiIds", "only a KPI_WRITE integration feeds KPIs").into());
            }
            if kpis.is_empty() {
                return Err(DomainError::invalid("kpiIds", "give at least one KPI, or none for all").into());
            }
        }
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let key = format!("{KEY_PREFIX}{}", secret.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let at = now();
        let tx = self.write().await?;
        let m = integration::ActiveModel {
            organization_id: Set(org.0),
            id: Set(IntegrationId::new().0),
            name: Set(name.into_inner()),
            scopes: Set(serde_json::to_string(&scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>())
                .unwrap_or_default()),
            key_prefix: Set(key.chars().take(KEY_PREFIX.len() + 6).collect()),
            key_hash: Set(key_hash(&key)),
            last_used_at: Set(None),
            revoked_at: Set(None),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(tx.conn())
        .await?;
        let kpis = match kpis {
            Some(ids) => {
                let ids: BTreeSet<KpiId> = ids.iter().copied().collect();
                let raw: Vec<uuid::Uuid> = ids.iter().map(|k| k.0).collect();
                let found: HashSet<uuid::Uuid> = kpi::Entity::find()
                    .filter(kpi::Column::OrganizationId.eq(org.0))
                    .filter(crate::sql::id_in(self.db_backend(), "kpis.id", &raw))
                    .all(tx.conn())
                    .await?
                    .into_iter()
                    .map(|k| k.id)
                    .collect();
                if let Some((i, _)) = ids.iter().enumerate().find(|(_, k)| !found.contains(&k.0)) {
                    return Err(DomainError::invalid(
                        format!("kpiIds[{i}]"),
                        "no such KPI in this organization",
                    )
                    .into());
                }
                integration_kpi::Entity::insert_many(ids.iter().map(|k| integration_kpi::ActiveModel {
                    organization_id: Set(org.0),
                    integration_id: Set(m.id),
                    kpi_id: Set(k.0),
                }))
                .exec_without_returning(tx.conn())
                .await?;
                Some(ids)
            }
            None => None,
        };
        // The row without its key hash (left out of every audit value).
        tx.audit(
            actor,
            AuditRecord::new("createIntegration", "Integration", m.id)
                .created(&m)
                .after_field("kpiIds", kpis.as_ref().map(|ids| ids.iter().map(|k| k.0).collect::<Vec<_>>())),
        );
        tx.commit().await?;
        Ok((convert(m, kpis)?, key))
    }

    /// Revokes an integration's key with immediate effect.
    pub async fn revoke_integration(&self, actor: &Actor, id: IntegrationId) -> StoreResult<Integration> {
        let org = actor.organization_id;
        policy::authorize(actor, Action::Update, &Resource::Integration { organization_id: org })?;
        let tx = self.write().await?;
        let m = integration::Entity::find_by_id((org.0, id.0))
            .one(tx.conn())
            .await?
            .ok_or(DomainError::not_found("integration"))?;
        let mut active: integration::ActiveModel = m.clone().into();
        if m.revoked_at.is_none() {
            active.revoked_at = Set(Some(now()));
            active.version = Set(m.version + 1);
            active.updated_at = Set(now());
        }
        let before = m;
        let m = active.update(tx.conn()).await?;
        let kpis = self.integration_kpis(tx.conn(), org, m.id).await?;
        tx.audit(actor, AuditRecord::new("revokeIntegration", "Integration", m.id).changed(&before, &m));
        tx.commit().await?;
        convert(m, kpis)
    }

    pub async fn list_integrations(&self, actor: &Actor) -> StoreResult<Vec<Integration>> {
        let org = actor.organization_id;
        policy::authorize(actor, Action::Read, &Resource::Integration { organization_id: org })?;
        let rows = integration::Entity::find()
            .filter(integration::Column::OrganizationId.eq(org.0))
            .order_by_asc(integration::Column::Name)
            .all(&self.db)
            .await?;
        let mut out = Vec::new();
        for m in rows {
            let kpis = self.integration_kpis(&self.db, org, m.id).await?;
            out.push(convert(m, kpis)?);
        }
        Ok(out)
    }

    /// The actor of an API key: its integration (not revoked) and scopes.
    /// Records the last use (at most once a minute, to spare writes).
    pub async fn resolve_integration_actor(&self, key: &str) -> StoreResult<Option<(Organization, Actor)>> {
        if !key.starts_with(KEY_PREFIX) {
            return Ok(None);
        }
        let Some(m) = integration::Entity::find()
            .filter(integration::Column::KeyHash.eq(key_hash(key)))
            .filter(integration::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let Some(org) = self.find_organization(&m.organization_id.to_string()).await? else {
            return Ok(None);
        };
        let at = now();
        let last_used = m.last_used_at;
        let kpis = self.integration_kpis(&self.db, OrganizationId(m.organization_id), m.id).await?;
        let i = convert(m, kpis)?;
        let actor = Actor {
            organization_id: i.organization_id,
            principal: Principal::Integration { id: i.id, scopes: i.scopes, kpis: i.kpis },
            roles: RoleSet::default(),
            managed_units: HashSet::new(),
            unit_lineage: HashSet::new(),
            unit_subtree: HashSet::new(),
        };
        if last_used.is_none_or(|t| at - t > chrono::Duration::minutes(1)) {
            // The key's use is on the record too, at the same minute
            // granularity as `lastUsedAt`.
            let tx = self.write().await?;
            integration::Entity::update_many()
                .col_expr(integration::Column::LastUsedAt, sea_orm::sea_query::Expr::value(at))
                .filter(integration::Column::OrganizationId.eq(i.organization_id.0))
                .filter(integration::Column::Id.eq(i.id.0))
                .exec(tx.conn())
                .await?;
            tx.audit(
                &actor,
                AuditRecord::new("useIntegration", "Integration", i.id.0)
                    .before_field("lastUsedAt", last_used)
                    .after_field("lastUsedAt", at),
            );
            tx.commit().await?;
        }
        Ok(Some((org, actor)))
    }

    /// The KPIs an integration was given; `None` when it was given none (all).
    async fn integration_kpis<C: sea_orm::ConnectionTrait>(
        &self,
        conn: &C,
        org: OrganizationId,
        integration: uuid::Uuid,
    ) -> StoreResult<Option<BTreeSet<KpiId>>> {
        let rows = integration_kpi::Entity::find()
            .filter(integration_kpi::Column::OrganizationId.eq(org.0))
            .filter(integration_kpi::Column::IntegrationId.eq(integration))
            .all(conn)
            .await?;
        Ok((!rows.is_empty()).then(|| rows.into_iter().map(|r| KpiId(r.kpi_id)).collect()))
    }
}
