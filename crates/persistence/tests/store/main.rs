//! The store suite: every command of `goalgraph-persistence` against a
//! fresh database per test, twice — on SQLite and (when
//! `TEST_DATABASE_URL` is set at build time) on PostgreSQL. Expectations
//! come from the product brief and the domain rules; every negative case
//! has a positive control in the same test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod batch;
mod checkins;
mod common;
mod concurrency;
mod directory;
mod encryption;
mod generate;
mod goals;
mod goals_fixture;
mod goals_visibility;
mod kpi_bridge;
mod kpi_definitions;
mod kpi_fixture;
mod kpi_measurements;
mod kpi_status_agreement;
mod kpi_visibility;
mod lineage;
mod live;
mod paging;
mod people;
mod periods;
mod report;
mod rollup;
mod rollup_concurrency;
mod rollup_property;
mod schema;
mod tenancy;
mod tree;
mod versions;

use access::policy_decides_directory_and_periods;
use batch::key_lists_are_one_statement;
use checkins::{
    batched_check_ins_answer_each_on_its_own, check_in_idempotency_keys, check_ins_are_append_only,
    check_ins_set_current_and_progress, closing_a_period_freezes_scores, concurrent_idempotent_check_ins,
    idempotent_replays_are_authorized, retries_answer_after_the_period_closes,
};
use concurrency::{
    concurrent_creates_all_succeed, concurrent_updates_are_not_lost,
    concurrent_updates_of_one_version_conflict,
};
use directory::{
    absent_people_stay_and_deactivated_people_keep_their_rows, every_bad_row_is_named_and_nothing_is_written,
    only_the_directory_scope_syncs_and_only_admins_grant_roles, twenty_thousand_people_sync_in_one_call,
};
use encryption::rotation_reseals_rows_and_status_counts_every_key;
use generate::generated_counts_are_pinned_and_the_data_keeps_the_rules;
use goals::{
    key_result_without_check_in_follows_its_start, key_results_follow_their_rules,
    objectives_follow_their_rules, stale_goal_versions_conflict,
};
use goals_visibility::hidden_objectives_stay_hidden_in_lists;
use kpi_bridge::{
    key_results_are_promoted_to_kpis, linked_key_results_follow_their_kpi, objectives_are_drafted_from_kpis,
};
use kpi_definitions::kpi_definitions_follow_their_rules;
use kpi_measurements::{
    archived_kpis_and_strangers_record_nothing, bad_points_write_nothing_and_are_named,
    bulk_measurements_are_idempotent_and_complete, concurrent_retries_write_once,
};
use kpi_status_agreement::{breached_since_by_hand, kpi_states_agree_with_the_domain};
use kpi_visibility::people_kpis_are_seen_by_hr_admin_and_line_managers_only;
use lineage::{actors_follow_directory_changes_made_anywhere, managed_units_and_lineage};
use live::{
    alignment_and_directory_changes_are_events, check_in_notes_are_sealed_in_the_outbox,
    delivery_costs_the_same_for_one_or_a_thousand_subscribers, live_events_follow_each_committed_change,
};
use paging::{bad_cursors_are_rejected, pages_follow_the_cursor, search_matches_literally};
use people::{
    deactivated_people_do_not_resolve, emails_are_unique_per_tenant_and_lower_cased, managers_form_no_loop,
};
use periods::{period_dates_must_be_ordered, period_status_moves_forward_only};
use report::reports_equal_a_recomputation_for_every_role;
use rollup::{check_ins_do_not_bump_versions, progress_rolls_up_the_alignment_chain};
use rollup_concurrency::concurrent_check_ins_keep_rollups_exact;
use rollup_property::rollup_equals_recomputation;
use schema::{migrations_round_trip, organization_creation};
use tenancy::tenants_are_isolated;
use tree::{company_cannot_be_deleted, unit_tree_rules};
use versions::stale_versions_conflict;

goalgraph_testkit::db_tests!(
    reports_equal_a_recomputation_for_every_role,
    generated_counts_are_pinned_and_the_data_keeps_the_rules,
    rotation_reseals_rows_and_status_counts_every_key,
    linked_key_results_follow_their_kpi,
    objectives_are_drafted_from_kpis,
    key_results_are_promoted_to_kpis,
    migrations_round_trip,
    organization_creation,
    unit_tree_rules,
    company_cannot_be_deleted,
    tenants_are_isolated,
    policy_decides_directory_and_periods,
    emails_are_unique_per_tenant_and_lower_cased,
    managers_form_no_loop,
    deactivated_people_do_not_resolve,
    period_dates_must_be_ordered,
    period_status_moves_forward_only,
    stale_versions_conflict,
    pages_follow_the_cursor,
    bad_cursors_are_rejected,
    search_matches_literally,
    concurrent_creates_all_succeed,
    concurrent_updates_are_not_lost,
    concurrent_updates_of_one_version_conflict,
    managed_units_and_lineage,
    actors_follow_directory_changes_made_anywhere,
    key_lists_are_one_statement,
    objectives_follow_their_rules,
    key_results_follow_their_rules,
    key_result_without_check_in_follows_its_start,
    stale_goal_versions_conflict,
    check_ins_set_current_and_progress,
    check_ins_are_append_only,
    check_in_idempotency_keys,
    concurrent_idempotent_check_ins,
    batched_check_ins_answer_each_on_its_own,
    retries_answer_after_the_period_closes,
    idempotent_replays_are_authorized,
    closing_a_period_freezes_scores,
    progress_rolls_up_the_alignment_chain,
    check_ins_do_not_bump_versions,
    concurrent_check_ins_keep_rollups_exact,
    rollup_equals_recomputation,
    hidden_objectives_stay_hidden_in_lists,
    kpi_definitions_follow_their_rules,
    bulk_measurements_are_idempotent_and_complete,
    bad_points_write_nothing_and_are_named,
    archived_kpis_and_strangers_record_nothing,
    kpi_states_agree_with_the_domain,
    breached_since_by_hand,
    people_kpis_are_seen_by_hr_admin_and_line_managers_only,
    concurrent_retries_write_once,
    live_events_follow_each_committed_change,
    check_in_notes_are_sealed_in_the_outbox,
    alignment_and_directory_changes_are_events,
    delivery_costs_the_same_for_one_or_a_thousand_subscribers,
    twenty_thousand_people_sync_in_one_call,
    every_bad_row_is_named_and_nothing_is_written,
    absent_people_stay_and_deactivated_people_keep_their_rows,
    only_the_directory_scope_syncs_and_only_admins_grant_roles,
);

/// Cases only PostgreSQL has: transactions committing out of order,
/// LISTEN/NOTIFY connections, replicas on one database.
mod postgres_only {
    use goalgraph_testkit::{Backend, TestDb};

    macro_rules! pg_only {
        ($($name:ident),* $(,)?) => {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(goalgraph_pg_tests), ignore = "TEST_DATABASE_URL is unset: PostgreSQL suite skipped")]
                async fn $name() {
                    super::live::$name(TestDb::new(Backend::Postgres).await).await
                }
            )*
        };
    }

    pg_only!(
        a_transaction_committing_late_is_delivered,
        a_lost_listener_connection_loses_no_event,
        replicas_on_one_database_share_events,
    );
}
