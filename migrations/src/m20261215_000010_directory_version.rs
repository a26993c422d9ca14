//! A tenant's directory version: a counter that every change to its unit
//! tree or its line managers moves forward, in the same transaction, by
//! trigger (so no writer can forget it, bulk loads included).
//!
//! The actor of every request needs the units a person manages, their
//! unit's ancestors and its subtree. The store keeps each tenant's tree in
//! memory and rebuilds it only when the version it reads with the person
//! has moved: a change is seen by the next request, on every server
//! process, without a recursive query per request.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables whose rows shape the actor, and on units the one column.
const WATCHED: [(&str, &str); 2] = [("units", "UPDATE OF parent_id"), ("unit_managers", "UPDATE")];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "ALTER TABLE organizations ADD COLUMN directory_version BIGINT NOT NULL DEFAULT 0",
        )
        .await?;
        let mut statements = Vec::new();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                statements.push(
                    "CREATE FUNCTION goalgraph_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN \
                       UPDATE organizations SET directory_version = directory_version + 1 \
                       WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.organization_id ELSE NEW.organization_id END; \
                       RETURN NULL; \
                     END $$"
                        .to_owned(),
                );
                for (table, update) in WATCHED {
                    statements.push(format!(
                        "CREATE TRIGGER {table}_directory_changed AFTER INSERT OR DELETE OR {update} ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION goalgraph_directory_changed()"
                    ));
                }
            }
            _ => {
                for (table, update) in WATCHED {
                    for (event, row) in [("INSERT", "NEW"), ("DELETE", "OLD"), (update, "NEW")] {
                        let name = event.split(' ').next().unwrap_or(event).to_lowercase();
                        statements.push(format!(
                            "CREATE TRIGGER {table}_directory_{name} AFTER {event} ON {table} BEGIN \
                             UPDATE organizations SET directory_version = directory_version + 1 \
                             WHERE id = {row}.organization_id; END"
                        ));
                    }
                }
            }
        }
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let mut statements = Vec::new();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                for (table, _) in WATCHED {
                    statements.push(format!("DROP TRIGGER {table}_directory_changed ON {table}"));
                }
                statements.push("DROP FUNCTION goalgraph_directory_changed()".to_owned());
            }
            _ => {
                for (table, _) in WATCHED {
                    for name in ["insert", "delete", "update"] {
                        statements.push(format!("DROP TRIGGER {table}_directory_{name}"));
                    }
                }
            }
        }
        statements.push("ALTER TABLE organizations DROP COLUMN directory_version".to_owned());
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}
