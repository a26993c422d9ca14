//! The transactional outbox of live events: every mutation that changes
//! what a subscription reports writes its events here in its own
//! transaction, and every server process reads them once, by cursor, to fan
//! them out to its subscribers.
//!
//! The cursor is `(tx, seq)`. On PostgreSQL `tx` is the writing
//! transaction's id and readers only take rows of transactions older than
//! every one still running (`pg_snapshot_xmin`), in `(tx, seq)` order: a row
//! written by a transaction that commits late is never behind the cursor.
//! On SQLite writers are serialised, so `seq` alone is the commit order and
//! `tx` stays 0.
//!
//! `seq` is the key: the outbox is one queue for the deployment, read by
//! cursor across tenants; every row still carries `organization_id` and is
//! dropped with its tenant.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements: &[&str] = match manager.get_database_backend() {
            DbBackend::Postgres => &[
                "CREATE TABLE live_events ( \
                   seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
                   tx BIGINT NOT NULL, \
                   organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE, \
                   topic VARCHAR(32) NOT NULL, \
                   subject_id UUID NOT NULL, \
                   payload TEXT NOT NULL, \
                   created_at TIMESTAMPTZ NOT NULL)",
                "CREATE TABLE live_event_horizon ( \
                   id INTEGER PRIMARY KEY, tx BIGINT NOT NULL, seq BIGINT NOT NULL)",
            ],
            _ => &[
                "CREATE TABLE live_events ( \
                   seq INTEGER PRIMARY KEY AUTOINCREMENT, \
                   tx INTEGER NOT NULL, \
                   organization_id uuid_text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE, \
                   topic VARCHAR(32) NOT NULL, \
                   subject_id uuid_text NOT NULL, \
                   payload TEXT NOT NULL, \
                   created_at timestamp_with_timezone_text NOT NULL)",
                "CREATE TABLE live_event_horizon ( \
                   id INTEGER PRIMARY KEY, tx INTEGER NOT NULL, seq INTEGER NOT NULL)",
            ],
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        // Readers follow the cursor; reconnecting subscribers replay one
        // subject; pruning goes by age.
        for sql in [
            "CREATE INDEX ix_live_events_cursor ON live_events (tx, seq)",
            "CREATE INDEX ix_live_events_subject ON live_events (organization_id, topic, subject_id, tx, seq)",
            "CREATE INDEX ix_live_events_created_at ON live_events (created_at)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        // One row: the newest cursor pruned so far (0, 0 before any).
        db.execute_unprepared("INSERT INTO live_event_horizon (id, tx, seq) VALUES (1, 0, 0)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP TABLE live_event_horizon").await?;
        db.execute_unprepared("DROP TABLE live_events").await?;
        Ok(())
    }
}
