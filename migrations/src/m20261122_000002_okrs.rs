//! Objectives, key results, check-ins, and idempotency keys.
//!
//! An objective is owned by a unit or by a person: `owner_person_id` is set
//! for a person's objective, and `owner_unit_id` is always the owning unit
//! (the person's unit for a person's objective), so visibility filters run
//! in SQL on one column.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("objectives")
                    .col(uuid("organization_id"))
                    .col(uuid("id"))
                    .col(uuid("period_id"))
                    .col(uuid("owner_unit_id"))
                    .col(uuid_null("owner_person_id"))
                    .col(uuid_null("parent_id"))
                    .col(string("title"))
                    .col(text_null("description"))
                    .col(string("kind"))
                    .col(string("visibility"))
                    .col(string_null("progress_driver"))
                    .col(string("status"))
                    .col(text_null("cancel_reason"))
                    .col(double("progress"))
                    .col(double_null("score"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("organization_id").col("id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_objectives_period")
                            .from("objectives", ("organization_id", "period_id"))
                            .to("periods", ("organization_id", "id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_objectives_owner_unit")
                            .from("objectives", ("organization_id", "owner_unit_id"))
                            .to("units", ("organization_id", "id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_objectives_owner_person")
                            .from("objectives", ("organization_id", "owner_person_id"))
                            .to("people", ("organization_id", "id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_objectives_parent")
                            .from("objectives", ("organization_id", "parent_id"))
                            .to("objectives", ("organization_id", "id")),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_objectives_period", &["organization_id", "period_id", "status"][..]),
            ("idx_objectives_parent", &["organization_id", "parent_id"][..]),
            ("idx_objectives_owner_unit", &["organization_id", "owner_unit_id", "period_id"][..]),
            ("idx_objectives_owner_person", &["organization_id", "owner_person_id", "period_id"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table("objectives");
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("key_results")
                    .col(uuid("organization_id"))
                    .col(uuid("id"))
                    .col(uuid("objective_id"))
                    .col(uuid("owner_id"))
                    .col(string("title"))
                    .col(string("measure"))
                    .col(double("start_value"))
                    .col(double("target_value"))
                    .col(double("current_value"))
                    .col(string("unit_label"))
                    .col(double("weight"))
                    .col(double_null("confidence"))
                    .col(timestamp_with_time_zone_null("last_check_in_at"))
                    .col(double("progress"))
                    .col(double_null("score"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("organization_id").col("id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_key_results_objective")
                            .from("key_results", ("organization_id", "objective_id"))
                            .to("objectives", ("organization_id", "id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_key_results_owner")
                            .from("key_results", ("organization_id", "owner_id"))
                            .to("people", ("organization_id", "id")),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_key_results_objective", &["organization_id", "objective_id"][..]),
            ("idx_key_results_owner", &["organization_id", "owner_id"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table("key_results");
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("check_ins")
                    .col(uuid("organization_id"))
                    .col(uuid("id"))
                    .col(uuid("key_result_id"))
                    .col(double("value"))
                    .col(double_null("confidence"))
                    .col(text_null("note"))
                    .col(uuid_null("author_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("organization_id").col("id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_check_ins_key_result")
                            .from("check_ins", ("organization_id", "key_result_id"))
                            .to("key_results", ("organization_id", "id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_check_ins_author")
                            .from("check_ins", ("organization_id", "author_id"))
                            .to("people", ("organization_id", "id")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_check_ins_key_result")
                    .table("check_ins")
                    .col("organization_id")
                    .col("key_result_id")
                    .col("created_at")
                    .col("id")
                    .to_owned(),
            )
            .await?;

        // A repeated idempotency key returns the first result; kept at
        // least 30 days (pruned by age).
        manager
            .create_table(
                Table::create()
                    .table("idempotency_keys")
                    .col(uuid("organization_id"))
                    .col(string("mutation"))
                    .col(string("key"))
                    .col(string("request_hash"))
                    .col(text("response"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("organization_id").col("mutation").col("key"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_idempotency_keys_organization")
                            .from("idempotency_keys", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_keys_created")
                    .table("idempotency_keys")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["idempotency_keys", "check_ins", "key_results", "objectives"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
