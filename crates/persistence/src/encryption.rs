//! Operators' view of encryption at rest: which key seals how many stored
//! values (`goalgraph encryption status`), and re-sealing every row under
//! the current key (`goalgraph encryption rotate`), so that an old key can
//! leave the ring.
//!
//! Rows are re-sealed in batches, one transaction and one UPDATE per tenant
//! each, and a row is only overwritten while it still holds the value read (a note or description
//! changed meanwhile is left as its writer sealed it, under the current
//! key). Audit rows are append-only and hashed into the chain, so they are
//! never rewritten: `status` counts them per key, and a key some audit rows
//! still need has to stay in the ring for their values to stay readable.

use crate::audit::AuditRecord;
use crate::crypto::{Keyring, map_sealed_fields, sealed_key_id};
use crate::entity::{audit_event, check_in, objective};
use crate::error::StoreResult;
use crate::store::Store;
use goalgraph_domain::DomainError;
use goalgraph_domain::OrganizationId;
use sea_orm::prelude::*;
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait};
use sea_orm::{Condition, ConnectionTrait, QueryOrder, QuerySelect};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// Rows read and re-sealed per transaction.
const BATCH: u64 = 500;

/// How many stored values each key seals (`None`: plain text, written
/// before a key was configured), per place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptionStatus {
    /// `check_ins.note`, `objectives.description`, `audit_events` (the
    /// sealed fields inside before/after values).
    pub places: BTreeMap<&'static str, BTreeMap<Option<String>, u64>>,
}

impl EncryptionStatus {
    /// Values sealed under `key` (or plain, for `None`) in `place`.
    pub fn count(&self, place: &str, key: Option<&str>) -> u64 {
        self.places.get(place).and_then(|by_key| by_key.get(&key.map(str::to_owned))).copied().unwrap_or(0)
    }

    fn add(&mut self, place: &'static str, key: Option<&str>) {
        *self.places.entry(place).or_default().entry(key.map(str::to_owned)).or_default() += 1;
    }
}

/// What `rotate` re-sealed, per place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationReport {
    pub key_id: String,
    pub resealed: BTreeMap<&'static str, u64>,
}

/// A column of free text that is sealed at rest.
struct SealedColumn<E: EntityTrait> {
    place: &'static str,
    field: &'static str,
    org: E::Column,
    id: E::Column,
    text: E::Column,
}

fn note_column() -> SealedColumn<check_in::Entity> {
    SealedColumn {
        place: "check_ins.note",
        field: "note",
        org: check_in::Column::OrganizationId,
        id: check_in::Column::Id,
        text: check_in::Column::Note,
    }
}

fn description_column() -> SealedColumn<objective::Entity> {
    SealedColumn {
        place: "objectives.description",
        field: "description",
        org: objective::Column::OrganizationId,
        id: objective::Column::Id,
        text: objective::Column::Description,
    }
}

/// The next `BATCH` rows after `after` (by id) with a value: (tenant, id, text).
async fn scan<E: EntityTrait>(
    db: &impl ConnectionTrait,
    col: &SealedColumn<E>,
    after: Option<Uuid>,
) -> StoreResult<Vec<(Uuid, Uuid, String)>> {
    let mut query = E::find()
        .select_only()
        .column(col.org)
        .column(col.id)
        .column(col.text)
        .filter(col.text.is_not_null())
        .order_by_asc(col.id)
        .limit(BATCH);
    if let Some(after) = after {
        query = query.filter(col.id.gt(after));
    }
    Ok(query.into_tuple::<(Uuid, Uuid, String)>().all(db).await?)
}

impl Store {
    fn keyring_or_err(&self) -> StoreResult<&Keyring> {
        self.keyring.as_deref().ok_or_else(|| {
            DomainError::invalid(
                "encryption_keys",
                "no encryption key is configured (GOALGRAPH_ENCRYPTION_KEYS)",
            )
            .into()
        })
    }

    /// Counts the stored values per key id, audit values included.
    pub async fn encryption_status(&self) -> StoreResult<EncryptionStatus> {
        let mut status = EncryptionStatus::default();
        self.count_column(&note_column(), &mut status).await?;
        self.count_column(&description_column(), &mut status).await?;
        let mut after: Option<(Uuid, i64)> = None;
        loop {
            let mut query = audit_event::Entity::find()
                .select_only()
                .column(audit_event::Column::OrganizationId)
                .column(audit_event::Column::Seq)
                .column(audit_event::Column::BeforeValue)
                .column(audit_event::Column::AfterValue)
                .order_by_asc(audit_event::Column::OrganizationId)
                .order_by_asc(audit_event::Column::Seq)
                .limit(BATCH);
            if let Some((org, seq)) = after {
                query = query.filter(
                    Condition::any().add(audit_event::Column::OrganizationId.gt(org)).add(
                        Condition::all()
                            .add(audit_event::Column::OrganizationId.eq(org))
                            .add(audit_event::Column::Seq.gt(seq)),
                    ),
                );
            }
            let rows: Vec<(Uuid, i64, Option<String>, Option<String>)> =
                query.into_tuple().all(&self.db).await?;
            let Some(last) = rows.last() else { break };
            after = Some((last.0, last.1));
            for text in rows.into_iter().flat_map(|(_, _, b, a)| [b, a]).flatten() {
                let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
                let keys = RefCell::new(Vec::new());
                map_sealed_fields(value, &|_, s| {
                    keys.borrow_mut().push(sealed_key_id(&s).map(str::to_owned));
                    Ok(s)
                })?;
                for key in keys.into_inner() {
                    status.add("audit_events", key.as_deref());
                }
            }
        }
        Ok(status)
    }

    async fn count_column<E: EntityTrait>(
        &self,
        col: &SealedColumn<E>,
        status: &mut EncryptionStatus,
    ) -> StoreResult<()> {
        let mut after = None;
        loop {
            let rows = scan(&self.db, col, after).await?;
            let Some(last) = rows.last() else { return Ok(()) };
            after = Some(last.1);
            for (_, _, text) in &rows {
                status.add(col.place, sealed_key_id(text));
            }
        }
    }

    /// Re-seals every note and description not sealed under the current key
    /// (plain text included) and records one SYSTEM audit event per tenant
    /// whose rows changed.
    pub async fn rotate_encryption(&self) -> StoreResult<RotationReport> {
        let ring = self.keyring_or_err()?;
        let mut report = RotationReport { key_id: ring.current_key_id().to_owned(), ..Default::default() };
        let mut per_tenant: BTreeMap<Uuid, u64> = BTreeMap::new();
        self.reseal_column(ring, &note_column(), &mut report, &mut per_tenant).await?;
        self.reseal_column(ring, &description_column(), &mut report, &mut per_tenant).await?;
        if !per_tenant.is_empty() {
            let tx = self.write().await?;
            for (org, n) in &per_tenant {
                tx.audit_system(
                    OrganizationId(*org),
                    AuditRecord::new("rotateEncryptionKey", "Organization", *org)
                        .after_field("keyId", &report.key_id)
                        .after_field("resealed", n),
                );
            }
            tx.commit().await?;
        }
        Ok(report)
    }

    async fn reseal_column<E: EntityTrait>(
        &self,
        ring: &Keyring,
        col: &SealedColumn<E>,
        report: &mut RotationReport,
        per_tenant: &mut BTreeMap<Uuid, u64>,
    ) -> StoreResult<()> {
        let current = ring.current_key_id();
        let mut after = None;
        loop {
            let rows = scan(&self.db, col, after).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.1);
            let stale: Vec<_> =
                rows.into_iter().filter(|(_, _, t)| sealed_key_id(t) != Some(current)).collect();
            if stale.is_empty() {
                continue;
            }
            // Per tenant of the batch, one UPDATE: each row gets its new
            // value, and only while it still holds the one read.
            let mut by_tenant: BTreeMap<Uuid, Vec<(Uuid, String, String)>> = BTreeMap::new();
            for (org, id, old) in stale {
                let sealed = ring.seal(col.field, &ring.open(col.field, &old)?)?;
                by_tenant.entry(org).or_default().push((id, old, sealed));
            }
            let tx = self.write().await?;
            for (org, rows) in by_tenant {
                let (mut new_value, mut old_value) = (CaseStatement::new(), CaseStatement::new());
                for (id, old, sealed) in &rows {
                    new_value = new_value.case(col.id.eq(*id), Expr::value(sealed.clone()));
                    old_value = old_value.case(col.id.eq(*id), Expr::value(old.clone()));
                }
                let done = E::update_many()
                    .col_expr(col.text, new_value.into())
                    .filter(col.org.eq(org))
                    .filter(col.id.is_in(rows.iter().map(|(id, _, _)| *id)))
                    .filter(ExprTrait::eq(col.text.into_expr(), Into::<Expr>::into(old_value)))
                    .exec(tx.conn())
                    .await?;
                *report.resealed.entry(col.place).or_default() += done.rows_affected;
                *per_tenant.entry(org).or_default() += done.rows_affected;
            }
            tx.commit().await?;
        }
        Ok(())
    }
}
