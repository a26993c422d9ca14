//! Saved reports: a report definition (the JSON of a `ReportSpec`) kept
//! under a name by the person who owns it, private or shared with the
//! tenant. A name is unique per owner.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("saved_reports")
                    .col(uuid("organization_id"))
                    .col(uuid("id"))
                    .col(uuid("owner_id"))
                    .col(string_len("name", 200))
                    .col(text("definition"))
                    .col(boolean("shared"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("organization_id").col("id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_saved_reports_owner")
                            .from("saved_reports", ("organization_id", "owner_id"))
                            .to("people", ("organization_id", "id")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_saved_reports_owner_name")
                    .table("saved_reports")
                    .col("organization_id")
                    .col("owner_id")
                    .col("name")
                    .unique()
                    .to_owned(),
            )
            .await?;
        // `savedReports` lists by name within a tenant.
        manager
            .create_index(
                Index::create()
                    .name("idx_saved_reports_name")
                    .table("saved_reports")
                    .col("organization_id")
                    .col("name")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("saved_reports").to_owned()).await
    }
}
