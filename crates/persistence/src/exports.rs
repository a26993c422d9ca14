//! Report exports: the audit event of each export, and one-time download
//! links. A link carries a random 256-bit token (stored only as its
//! SHA-256) standing in for a person's credential, for one export of one
//! report definition, until it expires. Links live in the database, so any
//! replica redeems them; redeeming marks the link used in the same
//! transaction as the export's audit event, so a link serves once.

use crate::audit::AuditRecord;
use crate::checkins::request_hash;
use crate::convert::now;
use crate::entity::report_export;
use crate::error::StoreResult;
use crate::store::Store;
use chrono::{DateTime, Duration, Utc};
use goalgraph_domain::model::RoleSet;
use goalgraph_domain::policy::{self, Actor};
use goalgraph_domain::report::ReportSpec;
use goalgraph_domain::{DomainError, OrganizationId, PersonId};
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

/// A link just issued: the token is shown once.
#[derive(Debug, Clone)]
pub struct ExportLink {
    pub id: Uuid,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// What a redeemed link stands for.
#[derive(Debug, Clone)]
pub struct RedeemedLink {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub person_id: PersonId,
    /// The roles the issuing credential granted on top of the person's own.
    pub extra_roles: RoleSet,
    pub spec: ReportSpec,
    pub format: String,
}

fn token_hash(token: &str) -> String {
    request_hash(&serde_json::Value::String(token.to_owned()))
}

fn invalid_link() -> DomainError {
    DomainError::not_found("download link")
}

impl Store {
    /// Issues a link for one export of `spec` as `actor`, valid for `ttl`.
    pub async fn create_export_link(
        &self,
        actor: &Actor,
        extra_roles: &RoleSet,
        spec: &ReportSpec,
        format: &str,
        ttl: Duration,
    ) -> StoreResult<ExportLink> {
        policy::authorize_download_link(actor)?;
        spec.validate()?;
        let person = actor.person_id().ok_or_else(|| DomainError::forbidden("issue a download link"))?;
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let token: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let at = now();
        let tx = self.write().await?;
        let m = report_export::ActiveModel {
            organization_id: Set(actor.organization_id.0),
            id: Set(Uuid::now_v7()),
            token_hash: Set(token_hash(&token)),
            person_id: Set(person.0),
            extra_roles: Set(extra_roles.to_json()),
            definition: Set(
                serde_json::to_string(spec).map_err(|e| crate::StoreError::corrupt(e.to_string()))?
            ),
            format: Set(format.to_owned()),
            expires_at: Set(at + ttl),
            used_at: Set(None),
            created_at: Set(at),
        }
        .insert(tx.conn())
        .await?;
        tx.audit(actor, AuditRecord::new("createReportExportLink", "ReportExport", m.id).created(&m));
        tx.commit().await?;
        Ok(ExportLink { id: m.id, token, expires_at: m.expires_at })
    }

    /// The unexpired, unused link of `token`; NOT_FOUND otherwise (an
    /// unknown, expired and used link look the same).
    pub async fn find_export_link(&self, token: &str) -> StoreResult<RedeemedLink> {
        let m = report_export::Entity::find()
            .filter(report_export::Column::TokenHash.eq(token_hash(token)))
            .one(&self.db)
            .await?
            .filter(|m| m.used_at.is_none() && m.expires_at > now())
            .ok_or_else(invalid_link)?;
        let spec: ReportSpec = serde_json::from_str(&m.definition)
            .map_err(|_| crate::StoreError::corrupt(format!("definition of export {}", m.id)))?;
        Ok(RedeemedLink {
            id: m.id,
            organization_id: OrganizationId(m.organization_id),
            person_id: PersonId(m.person_id),
            extra_roles: RoleSet::from_json(&m.extra_roles),
            spec,
            format: m.format,
        })
    }

    /// Records an export by `actor` (its audit event); with `link`, marks
    /// the link used in the same transaction, and fails NOT_FOUND when a
    /// concurrent download used it first.
    pub async fn record_export(
        &self,
        actor: &Actor,
        spec: &ReportSpec,
        format: &str,
        link: Option<Uuid>,
    ) -> StoreResult<()> {
        let tx = self.write().await?;
        let at = now();
        if let Some(id) = link {
            let done = report_export::Entity::update_many()
                .col_expr(report_export::Column::UsedAt, Expr::value(at))
                .filter(report_export::Column::OrganizationId.eq(actor.organization_id.0))
                .filter(report_export::Column::Id.eq(id))
                .filter(report_export::Column::UsedAt.is_null())
                .filter(report_export::Column::ExpiresAt.gt(at))
                .exec(tx.conn())
                .await?;
            if done.rows_affected != 1 {
                return Err(invalid_link().into());
            }
        }
        let after = serde_json::json!({ "format": format, "definition": spec, "link": link });
        tx.audit(actor, AuditRecord::new("exportReport", "Report", link).created(&after));
        tx.commit().await?;
        Ok(())
    }
}
