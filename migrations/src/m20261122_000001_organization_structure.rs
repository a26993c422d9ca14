//! Organizations, units (a tree with one COMPANY root), unit managers,
//! people and periods.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("organizations")
                    .col(uuid("id").primary_key())
                    .col(string("name"))
                    .col(string_uniq("slug"))
                    .col(text("settings"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("units")
                    .col(uuid("organization_id"))
                    .col(uuid("id"))
                    .col(string("kind"))
                    .col(string("name"))
                    .col(uuid_null("parent_id"))
                    .col(string_null("external_id"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("organization_id").col("id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_units_organization")
                            .from("units", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_units_parent")
                            .from("units", ("organization_id", "parent_id"))
                            .to("units", ("organization_id", "id")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_units_parent")
                    .table("units")
                    .col("organization_id")
                    .col("parent_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_units_external_id")
                    .table("units")
                    .col("organization_id")
                    .col("external_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Exactly one COMPANY root per organization, enforced by the
        // database as well as by the domain rules.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_units_one_company ON units (organization_id) WHERE kind = 'COMPANY'",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("people")
                    .col(uuid("organization_id"))
                    .col(uuid("id"))
                    .col(string("name"))
                    .col(string("email"))
                    .col(uuid("unit_id"))
                    .col(uuid_null("manager_id"))
                    .col(text("roles"))
                    .col(string("subject"))
                    .col(string_null("external_id"))
                    .col(boolean("active"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("organization_id").col("id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_people_organization")
                            .from("people", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_people_unit")
                            .from("people", ("organization_id", "unit_id"))
                            .to("units", ("organization_id", "id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_people_manager")
                            .from("people", ("organization_id", "manager_id"))
                            .to("people", ("organization_id", "id")),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            ("uq_people_email", &["organization_id", "email"][..], true),
            ("uq_people_subject", &["organization_id", "subject"][..], true),
            ("uq_people_external_id", &["organization_id", "external_id"][..], true),
            ("idx_people_unit", &["organization_id", "unit_id"][..], false),
            ("idx_people_manager", &["organization_id", "manager_id"][..], false),
            ("idx_people_name", &["organization_id", "name", "id"][..], false),
        ] {
            let mut index = Index::create();
            index.name(name).table("people");
            for col in cols {
                index.col(*col);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("unit_managers")
                    .col(uuid("organization_id"))
                    .col(uuid("unit_id"))
                    .col(uuid("person_id"))
                    .primary_key(Index::create().col("organization_id").col("unit_id").col("person_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_unit_managers_unit")
                            .from("unit_managers", ("organization_id", "unit_id"))
                            .to("units", ("organization_id", "id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_unit_managers_person")
                            .from("unit_managers", ("organization_id", "person_id"))
                            .to("people", ("organization_id", "id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_unit_managers_person")
                    .table("unit_managers")
                    .col("organization_id")
                    .col("person_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("periods")
                    .col(uuid("organization_id"))
                    .col(uuid("id"))
                    .col(string("name"))
                    .col(date("start_date"))
                    .col(date("end_date"))
                    .col(string("status"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("organization_id").col("id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_periods_organization")
                            .from("periods", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_periods_start")
                    .table("periods")
                    .col("organization_id")
                    .col("start_date")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["periods", "unit_managers", "people", "units", "organizations"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
