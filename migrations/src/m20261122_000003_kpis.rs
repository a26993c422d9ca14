//! KPIs, their measurements (append-only; corrections are new rows), and
//! the links between KPIs and goals: a key result following a KPI, and an
//! objective created to fix one. Links are tables of their own, so their
//! foreign keys include `organization_id` on SQLite too (which cannot add
//! a constraint to an existing table).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("kpis")
                    .col(uuid("organization_id"))
                    .col(uuid("id"))
                    .col(uuid("unit_id"))
                    .col(uuid("owner_id"))
                    .col(string("name"))
                    .col(text_null("description"))
                    .col(string("category"))
                    .col(string("unit_label"))
                    .col(string("direction"))
                    .col(double_null("target"))
                    .col(double_null("healthy_lower"))
                    .col(double_null("healthy_upper"))
                    .col(double_null("tolerance_absolute"))
                    .col(double_null("tolerance_percent"))
                    .col(string("cadence"))
                    .col(boolean("archived"))
                    .col(string_null("external_id"))
                    .col(uuid_null("promoted_from_key_result_id"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("organization_id").col("id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_kpis_unit")
                            .from("kpis", ("organization_id", "unit_id"))
                            .to("units", ("organization_id", "id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_kpis_owner")
                            .from("kpis", ("organization_id", "owner_id"))
                            .to("people", ("organization_id", "id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_kpis_promoted_from")
                            .from("kpis", ("organization_id", "promoted_from_key_result_id"))
                            .to("key_results", ("organization_id", "id")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_kpis_external_id")
                    .table("kpis")
                    .col("organization_id")
                    .col("external_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_kpis_unit")
                    .table("kpis")
                    .col("organization_id")
                    .col("unit_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("kpi_measurements")
                    .col(uuid("organization_id"))
                    .col(uuid("id"))
                    .col(uuid("kpi_id"))
                    .col(timestamp_with_time_zone("observed_at"))
                    .col(double("value"))
                    .col(timestamp_with_time_zone("recorded_at"))
                    .col(uuid_null("author_id"))
                    .primary_key(Index::create().col("organization_id").col("id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_kpi_measurements_kpi")
                            .from("kpi_measurements", ("organization_id", "kpi_id"))
                            .to("kpis", ("organization_id", "id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_kpi_measurements_author")
                            .from("kpi_measurements", ("organization_id", "author_id"))
                            .to("people", ("organization_id", "id")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_kpi_measurements_kpi_observed")
                    .table("kpi_measurements")
                    .col("organization_id")
                    .col("kpi_id")
                    .col("observed_at")
                    .col("recorded_at")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("key_result_kpi_links")
                    .col(uuid("organization_id"))
                    .col(uuid("key_result_id"))
                    .col(uuid("kpi_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("organization_id").col("key_result_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_kr_kpi_links_key_result")
                            .from("key_result_kpi_links", ("organization_id", "key_result_id"))
                            .to("key_results", ("organization_id", "id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_kr_kpi_links_kpi")
                            .from("key_result_kpi_links", ("organization_id", "kpi_id"))
                            .to("kpis", ("organization_id", "id")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_kr_kpi_links_kpi")
                    .table("key_result_kpi_links")
                    .col("organization_id")
                    .col("kpi_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("objective_kpi_sources")
                    .col(uuid("organization_id"))
                    .col(uuid("objective_id"))
                    .col(uuid("kpi_id"))
                    .primary_key(Index::create().col("organization_id").col("objective_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_objective_kpi_sources_objective")
                            .from("objective_kpi_sources", ("organization_id", "objective_id"))
                            .to("objectives", ("organization_id", "id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_objective_kpi_sources_kpi")
                            .from("objective_kpi_sources", ("organization_id", "kpi_id"))
                            .to("kpis", ("organization_id", "id")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_objective_kpi_sources_kpi")
                    .table("objective_kpi_sources")
                    .col("organization_id")
                    .col("kpi_id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["objective_kpi_sources", "key_result_kpi_links", "kpi_measurements", "kpis"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
