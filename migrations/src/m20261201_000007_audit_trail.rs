//! The audit trail: one append-only row per change, chained per tenant.
//!
//! `audit_events` rows are never changed or removed by the application; a
//! trigger refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL) so that
//! a slip in code cannot either. Each row stores the SHA-256 of its own
//! content and the hash of the tenant's previous row: editing, deleting or
//! reordering rows behind the application's back breaks the chain, which
//! `verifyAuditTrail` walks.
//!
//! `audit_heads` holds each tenant's newest `(seq, hash)`. Appending locks
//! that row, so concurrent writers of one tenant chain one after the other,
//! and it tells a verifier whether rows were cut off the end. A trigger lets
//! it only move forward.
//!
//! The rows are kept when a tenant is deleted (no foreign key): the trail
//! outlives what it describes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        // The same tables on both databases, in each one's column types.
        let (uuid, int, time) = match backend {
            DbBackend::Postgres => ("UUID", "BIGINT", "TIMESTAMPTZ"),
            _ => ("uuid_text", "INTEGER", "timestamp_with_timezone_text"),
        };
        for sql in [
            format!(
                "CREATE TABLE audit_events ( \
                   organization_id {uuid} NOT NULL, \
                   seq {int} NOT NULL, \
                   id {uuid} NOT NULL, \
                   occurred_at {time} NOT NULL, \
                   actor_kind VARCHAR(16) NOT NULL, \
                   actor_id {uuid} NULL, \
                   action VARCHAR(64) NOT NULL, \
                   object_type VARCHAR(32) NOT NULL, \
                   object_id {uuid} NULL, \
                   before_value TEXT NULL, \
                   after_value TEXT NULL, \
                   request_id VARCHAR(200) NULL, \
                   prev_hash VARCHAR(64) NOT NULL, \
                   hash VARCHAR(64) NOT NULL, \
                   PRIMARY KEY (organization_id, seq))"
            ),
            format!(
                "CREATE TABLE audit_heads ( \
                   organization_id {uuid} PRIMARY KEY, \
                   seq {int} NOT NULL, \
                   hash VARCHAR(64) NOT NULL)"
            ),
        ] {
            db.execute_unprepared(&sql).await?;
        }
        // The guards: triggers in each database's dialect.
        let statements: &[&str] = match backend {
            DbBackend::Postgres => &[
                "CREATE FUNCTION goalgraph_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege'; END $$",
                "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events \
                   FOR EACH ROW EXECUTE FUNCTION goalgraph_audit_append_only()",
                "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events \
                   FOR EACH STATEMENT EXECUTE FUNCTION goalgraph_audit_append_only()",
                "CREATE FUNCTION goalgraph_audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN \
                   IF TG_OP = 'DELETE' THEN \
                     RAISE EXCEPTION 'the audit head only moves forward' USING ERRCODE = 'insufficient_privilege'; \
                   END IF; \
                   IF NEW.seq <= OLD.seq OR NEW.organization_id <> OLD.organization_id THEN \
                     RAISE EXCEPTION 'the audit head only moves forward' USING ERRCODE = 'insufficient_privilege'; \
                   END IF; \
                   RETURN NEW; \
                 END $$",
                "CREATE TRIGGER audit_heads_forward BEFORE UPDATE OR DELETE ON audit_heads \
                   FOR EACH ROW EXECUTE FUNCTION goalgraph_audit_head_forward()",
                "CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads \
                   FOR EACH STATEMENT EXECUTE FUNCTION goalgraph_audit_append_only()",
            ],
            _ => &[
                "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events \
                   BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
                "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events \
                   BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
                "CREATE TRIGGER audit_heads_forward BEFORE UPDATE ON audit_heads \
                   WHEN NEW.seq <= OLD.seq OR NEW.organization_id <> OLD.organization_id \
                   BEGIN SELECT RAISE(ABORT, 'the audit head only moves forward'); END",
                "CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads \
                   BEGIN SELECT RAISE(ABORT, 'the audit head only moves forward'); END",
            ],
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        // The filters of `auditEvents`, each newest first within a tenant.
        for sql in [
            "CREATE INDEX ix_audit_events_actor ON audit_events (organization_id, actor_id, seq)",
            "CREATE INDEX ix_audit_events_object ON audit_events (organization_id, object_id, seq)",
            "CREATE INDEX ix_audit_events_action ON audit_events (organization_id, action, seq)",
            "CREATE INDEX ix_audit_events_time ON audit_events (organization_id, occurred_at)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements: &[&str] = match manager.get_database_backend() {
            DbBackend::Postgres => &[
                "DROP TABLE audit_heads",
                "DROP TABLE audit_events",
                "DROP FUNCTION goalgraph_audit_head_forward()",
                "DROP FUNCTION goalgraph_audit_append_only()",
            ],
            _ => &["DROP TABLE audit_heads", "DROP TABLE audit_events"],
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
