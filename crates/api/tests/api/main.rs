//! The API suite: operations executed against the schema as people of two
//! tenants, on a fresh database per test, twice — on SQLite and (when
//! `TEST_DATABASE_URL` is set at build time) on PostgreSQL. Expectations
//! come from PRODUCT.md and the fixture, never from the code under test;
//! every negative case has a positive control in the same test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod authz;
mod batching;
mod connections;
mod errors;
mod internal;
mod node;
mod sdl;
mod support;
mod tenancy;
mod viewer;

use authz::authorization_matrix_of_directory_and_period_mutations;
use batching::statement_count_does_not_grow_with_the_data;
use connections::{
    first_is_bounded_by_the_organization_setting, garbage_cursors_are_bad_input,
    pages_walk_the_whole_ordered_list, people_search_matches_name_or_email,
};
use errors::{
    bad_user_input_names_the_field, conflict_on_stale_versions_and_duplicate_emails,
    forbidden_for_those_who_may_see_but_not_change, not_found_for_another_tenants_object,
};
use internal::internal_errors_do_not_leak;
use node::{
    malformed_ids_are_null_without_error, node_refetches_every_type, nodes_keep_order_and_null_the_unknown,
    other_tenants_ids_are_null_like_missing_ones,
};
use tenancy::{
    lists_hold_only_the_tenants_own_rows, mutations_with_other_tenants_ids_write_nothing,
    nested_fields_stay_in_the_tenant,
};
use viewer::viewer_and_organization_for_each_role;

goalgraph_testkit::db_tests!(
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
);
