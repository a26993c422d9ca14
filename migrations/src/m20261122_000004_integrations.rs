//! Partner integrations: scoped API keys, stored as a SHA-256 hash only
//! (the key is shown once), revocable, with their last use.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("integrations")
                    .col(uuid("organization_id"))
                    .col(uuid("id"))
                    .col(string("name"))
                    .col(text("scopes"))
                    .col(string("key_prefix"))
                    .col(string("key_hash"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("organization_id").col("id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_integrations_organization")
                            .from("integrations", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A presented key is looked up by its hash, before its tenant is known.
        manager
            .create_index(
                Index::create()
                    .name("uq_integrations_key_hash")
                    .table("integrations")
                    .col("key_hash")
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("integrations").to_owned()).await
    }
}
