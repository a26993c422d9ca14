//! The KPIs a `kpi:write` integration may feed, when it was given a list
//! (no rows: every KPI of the tenant).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("integration_kpis")
                    .col(uuid("organization_id"))
                    .col(uuid("integration_id"))
                    .col(uuid("kpi_id"))
                    .primary_key(Index::create().col("organization_id").col("integration_id").col("kpi_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_integration_kpis_integration")
                            .from("integration_kpis", ("organization_id", "integration_id"))
                            .to("integrations", ("organization_id", "id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_integration_kpis_kpi")
                            .from("integration_kpis", ("organization_id", "kpi_id"))
                            .to("kpis", ("organization_id", "id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("integration_kpis").to_owned()).await
    }
}
