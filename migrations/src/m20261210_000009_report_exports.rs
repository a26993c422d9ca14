//! One-time download links of report exports: a browser cannot send a
//! bearer header, so a person asks for a link that carries a random token
//! (stored only as its hash) standing in for their credential, for one
//! export of one report definition, for a few minutes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("report_exports")
                    .col(uuid("organization_id"))
                    .col(uuid("id"))
                    .col(string("token_hash"))
                    .col(uuid("person_id"))
                    .col(text("extra_roles"))
                    .col(text("definition"))
                    .col(string("format"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("organization_id").col("id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_report_exports_person")
                            .from("report_exports", ("organization_id", "person_id"))
                            .to("people", ("organization_id", "id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Looked up by the token alone (a link names no tenant); 256 random
        // bits do not collide, so no unique constraint outside the tenant.
        manager
            .create_index(
                Index::create()
                    .name("idx_report_exports_token")
                    .table("report_exports")
                    .col("token_hash")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("report_exports").to_owned()).await
    }
}
