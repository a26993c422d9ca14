//! The store suite: every command of `goalgraph-persistence` against a
//! fresh database per test, twice — on SQLite and (when
//! `TEST_DATABASE_URL` is set at build time) on PostgreSQL. Expectations
//! come from the product brief and the domain rules; every negative case
//! has a positive control in the same test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod batch;
mod common;
mod concurrency;
mod lineage;
mod paging;
mod people;
mod periods;
mod schema;
mod tenancy;
mod tree;
mod versions;

use access::policy_decides_directory_and_periods;
use batch::key_lists_are_one_statement;
use concurrency::{
    concurrent_creates_all_succeed, concurrent_updates_are_not_lost,
    concurrent_updates_of_one_version_conflict,
};
use lineage::managed_units_and_lineage;
use paging::{bad_cursors_are_rejected, pages_follow_the_cursor, search_matches_literally};
use people::{
    deactivated_people_do_not_resolve, emails_are_unique_per_tenant_and_lower_cased, managers_form_no_loop,
};
use periods::{period_dates_must_be_ordered, period_status_moves_forward_only};
use schema::{migrations_round_trip, organization_creation};
use tenancy::tenants_are_isolated;
use tree::{company_cannot_be_deleted, unit_tree_rules};
use versions::stale_versions_conflict;

goalgraph_testkit::db_tests!(
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
    key_lists_are_one_statement,
);
