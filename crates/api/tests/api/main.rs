//! The API suite: operations executed against the schema as people of two
//! tenants, on a fresh database per test, twice — on SQLite and (when
//! `TEST_DATABASE_URL` is set at build time) on PostgreSQL. Expectations
//! come from PRODUCT.md and the fixture, never from the code under test;
//! every negative case has a positive control in the same test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod access_table;
mod audit;
mod audit_cases;
mod authz;
mod batching;
mod compiled_reads;
mod connections;
mod errors;
mod history;
mod internal;
mod kpi_errors;
mod kpi_idempotency;
mod kpi_numbers;
mod kpi_support;
mod kpi_visibility;
mod node;
mod okr_batching;
mod okr_concurrency;
mod okr_idempotency;
mod okr_insights;
mod okr_mutations;
mod okr_numbers;
mod okr_support;
mod okr_visibility;
mod reports;
mod review;
mod saved_reports;
mod sdl;
mod support;
mod tenancy;
mod trajectory;
mod viewer;

use access::{
    access_follows_role_and_unit_changes_on_the_next_request,
    access_input_never_chooses_the_tenant_or_a_role, access_table_holds_on_every_path,
};
use audit::{
    mutations_leave_one_event_and_failures_none, notes_and_descriptions_are_encrypted_at_rest,
    verify_audit_trail_finds_edited_reordered_and_deleted_rows,
};
use audit_cases::every_mutation_has_an_audit_case;
use authz::authorization_matrix_of_directory_and_period_mutations;
use batching::statement_count_does_not_grow_with_the_data;
use compiled_reads::compiled_unit_trees_answer_like_the_executor;
use connections::{
    first_is_bounded_by_the_organization_setting, garbage_cursors_are_bad_input,
    pages_walk_the_whole_ordered_list, people_search_matches_name_or_email,
};
use errors::{
    bad_user_input_names_the_field, conflict_on_stale_versions_and_duplicate_emails,
    forbidden_for_those_who_may_see_but_not_change, not_found_for_another_tenants_object,
};
use history::as_of_replays_the_check_ins_up_to_each_instant;
use internal::internal_errors_do_not_leak;
use kpi_errors::{kpi_mutations_name_the_bad_field, single_measurement_names_its_own_field};
use kpi_idempotency::{measurement_keys_are_scoped_to_the_mutation, measurement_keys_replay_and_conflict};
use kpi_numbers::{
    bulk_backfill_sets_status_current_and_breached_since, series_buckets_follow_the_organizations_time_zone,
    series_trend_staleness_and_status_filter, status_filter_pages_keep_the_total,
    trend_reads_the_last_effective_points,
};
use kpi_visibility::people_kpi_is_hidden_like_a_missing_one;
use node::{
    malformed_ids_are_null_without_error, node_refetches_every_type, nodes_keep_order_and_null_the_unknown,
    other_tenants_ids_are_null_like_missing_ones,
};
use okr_batching::okr_statement_count_does_not_grow_with_the_data;
use okr_concurrency::stale_versions_conflict_and_check_ins_never_do;
use okr_idempotency::{
    check_in_idempotency_keys_replay_conflict_and_stay_in_the_tenant,
    replaying_someone_elses_check_in_key_is_still_forbidden,
};
use okr_insights::okr_insights_follow_the_thresholds_in_the_settings;
use okr_mutations::{
    cancelling_an_objective_needs_a_reason, check_in_rights_follow_key_result_ownership,
    create_objective_checks_owner_title_and_rights, reparenting_into_a_cycle_is_bad_input,
};
use okr_numbers::{
    key_results_go_stale_after_the_cadence, progress_expected_progress_and_health_follow_the_brief,
    score_grade_and_success_appear_when_the_period_closes,
};
use okr_visibility::{
    private_objective_is_hidden_on_every_read_path, unit_objective_is_seen_by_its_units_lineage,
    viewer_sees_only_public_objectives,
};
use reports::reports_count_by_hand_and_by_visibility;
use review::period_review_counts_what_the_reader_may_see;
use saved_reports::{
    a_saved_reports_result_counts_what_the_reader_may_see,
    saved_reports_are_saved_listed_changed_and_deleted,
    shared_reports_are_read_by_the_tenant_and_private_ones_by_their_owner,
};
use tenancy::{
    lists_hold_only_the_tenants_own_rows, mutations_with_other_tenants_ids_write_nothing,
    nested_fields_stay_in_the_tenant,
};
use trajectory::{
    forecasts_and_series_of_a_list_are_batched, forecasts_project_the_check_in_trend_to_the_period_end,
    progress_series_buckets_follow_the_time_zone,
};
use viewer::viewer_and_organization_for_each_role;

goalgraph_testkit::db_tests!(
    compiled_unit_trees_answer_like_the_executor,
    as_of_replays_the_check_ins_up_to_each_instant,
    reports_count_by_hand_and_by_visibility,
    node_refetches_every_type,
    nodes_keep_order_and_null_the_unknown,
    malformed_ids_are_null_without_error,
    other_tenants_ids_are_null_like_missing_ones,
    bad_user_input_names_the_field,
    forbidden_for_those_who_may_see_but_not_change,
    not_found_for_another_tenants_object,
    conflict_on_stale_versions_and_duplicate_emails,
    pages_walk_the_whole_ordered_list,
    first_is_bounded_by_the_organization_setting,
    garbage_cursors_are_bad_input,
    people_search_matches_name_or_email,
    viewer_and_organization_for_each_role,
    lists_hold_only_the_tenants_own_rows,
    nested_fields_stay_in_the_tenant,
    mutations_with_other_tenants_ids_write_nothing,
    internal_errors_do_not_leak,
    statement_count_does_not_grow_with_the_data,
    authorization_matrix_of_directory_and_period_mutations,
    private_objective_is_hidden_on_every_read_path,
    unit_objective_is_seen_by_its_units_lineage,
    viewer_sees_only_public_objectives,
    create_objective_checks_owner_title_and_rights,
    reparenting_into_a_cycle_is_bad_input,
    check_in_rights_follow_key_result_ownership,
    cancelling_an_objective_needs_a_reason,
    check_in_idempotency_keys_replay_conflict_and_stay_in_the_tenant,
    replaying_someone_elses_check_in_key_is_still_forbidden,
    stale_versions_conflict_and_check_ins_never_do,
    progress_expected_progress_and_health_follow_the_brief,
    score_grade_and_success_appear_when_the_period_closes,
    key_results_go_stale_after_the_cadence,
    okr_statement_count_does_not_grow_with_the_data,
    okr_insights_follow_the_thresholds_in_the_settings,
    people_kpi_is_hidden_like_a_missing_one,
    bulk_backfill_sets_status_current_and_breached_since,
    series_trend_staleness_and_status_filter,
    kpi_mutations_name_the_bad_field,
    single_measurement_names_its_own_field,
    trend_reads_the_last_effective_points,
    series_buckets_follow_the_organizations_time_zone,
    measurement_keys_replay_and_conflict,
    measurement_keys_are_scoped_to_the_mutation,
    status_filter_pages_keep_the_total,
    access_table_holds_on_every_path,
    access_follows_role_and_unit_changes_on_the_next_request,
    access_input_never_chooses_the_tenant_or_a_role,
    mutations_leave_one_event_and_failures_none,
    verify_audit_trail_finds_edited_reordered_and_deleted_rows,
    notes_and_descriptions_are_encrypted_at_rest,
    every_mutation_has_an_audit_case,
    forecasts_project_the_check_in_trend_to_the_period_end,
    progress_series_buckets_follow_the_time_zone,
    forecasts_and_series_of_a_list_are_batched,
    period_review_counts_what_the_reader_may_see,
    saved_reports_are_saved_listed_changed_and_deleted,
    shared_reports_are_read_by_the_tenant_and_private_ones_by_their_owner,
    a_saved_reports_result_counts_what_the_reader_may_see,
);
