//! Partner integrations: API keys with a recognisable prefix, shown once,
//! stored only as a hash, scoped, revocable with immediate effect.

use crate::checkins::request_hash;
use crate::convert::now;
use crate::entity::integration;
use crate::error::{StoreError, StoreResult};
use crate::store::Store;
use chrono::{DateTime, Utc};
use goalgraph_domain::model::{Organization, RoleSet};
use goalgraph_domain::policy::{self, Action, Actor, Principal, Resource, Scope};
use goalgraph_domain::values::Name;
use goalgraph_domain::{DomainError, IntegrationId, OrganizationId};
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
    /// The first characters of the key, to tell keys apart.
    pub key_prefix: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

fn convert(m: integration::Model) -> StoreResult<Integration> {
    let names: Vec<String> = serde_json::from_str(&m.scopes)
        .map_err(|e| StoreError::corrupt(format!("scopes of integration {}: {e}", m.id)))?;
    Ok(Integration {
        id: m.id.into(),
        organization_id: m.organization_id.into(),
        name: m.name,
        scopes: names.iter().filter_map(|n| n.parse().ok()).collect(),
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
    /// this once and stored only as a hash.
    pub async fn create_integration(
        &self,
        actor: &Actor,
        name: &str,
        scopes: &[Scope],
    ) -> StoreResult<(Integration, String)> {
        let org = actor.organization_id;
        policy::authorize(actor, Action::Create, &Resource::Integration { organization_id: org })?;
        let name = Name::parse("name", name)?;
        if scopes.is_empty() {
            return Err(DomainError::invalid("scopes", "give at least one scope").into());
        }
        let scopes: BTreeSet<Scope> = scopes.iter().copied().collect();
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
        tx.commit().await?;
        Ok((convert(m)?, key))
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
        let m = active.update(tx.conn()).await?;
        tx.commit().await?;
        convert(m)
    }

    pub async fn list_integrations(&self, actor: &Actor) -> StoreResult<Vec<Integration>> {
        let org = actor.organization_id;
        policy::authorize(actor, Action::Read, &Resource::Integration { organization_id: org })?;
        integration::Entity::find()
            .filter(integration::Column::OrganizationId.eq(org.0))
            .order_by_asc(integration::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(convert)
            .collect()
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
        if m.last_used_at.is_none_or(|t| at - t > chrono::Duration::minutes(1)) {
            integration::Entity::update_many()
                .col_expr(integration::Column::LastUsedAt, sea_orm::sea_query::Expr::value(at))
                .filter(integration::Column::OrganizationId.eq(m.organization_id))
                .filter(integration::Column::Id.eq(m.id))
                .exec(&self.db)
                .await?;
        }
        let i = convert(m)?;
        let actor = Actor {
            organization_id: i.organization_id,
            principal: Principal::Integration { id: i.id, scopes: i.scopes },
            roles: RoleSet::default(),
            managed_units: HashSet::new(),
            unit_lineage: HashSet::new(),
            unit_subtree: HashSet::new(),
        };
        Ok(Some((org, actor)))
    }
}
