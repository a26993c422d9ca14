//! The end-to-end suite: the real server on port 0 against a fresh
//! database per test, over real HTTP and WebSocket, twice — on SQLite and (when
//! `TEST_DATABASE_URL` is set at build time) on PostgreSQL. Every refusal
//! has a positive control: the same request with a valid credential works.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod concurrency;
mod directory;
mod errors;
mod hardening;
mod http;
mod idp;
mod integrations;
mod kpis;
mod live;
mod ops;
mod ownership;
mod reports;
mod tenancy;
mod tokens;
mod ws;

use concurrency::concurrent_mutations_all_succeed;
use directory::a_directory_integration_syncs_people_who_then_sign_in;
use errors::internal_errors_name_only_the_request_id;
use hardening::{
    a_request_past_its_time_budget_is_cancelled_and_commits_nothing, bad_input_is_refused_before_any_sql,
    introspection_and_suggestions_switch_off, only_trusted_documents_run_when_an_allowlist_is_set,
    rate_limits_charge_the_query_cost_per_actor_and_per_tenant,
    the_limits_apply_over_websocket_before_any_sql, tls_serves_https_and_wss,
};
use http::{
    a_refused_body_does_not_break_keep_alive, compiled_reads_send_what_the_executor_sends,
    cors_allows_only_configured_origins, get_selects_the_operation_by_operation_name,
    get_serves_graphiql_and_queries_but_not_mutations,
    oversized_bodies_are_refused_and_the_server_keeps_serving, posts_must_be_json,
    request_ids_on_every_response,
};
use idp::{external_provider_keys_rotate_without_restart, external_provider_roles_and_claims};
use integrations::integration_keys_do_what_their_scopes_name;
use kpis::measurements_drive_linked_goals_and_insights;
use live::{
    every_subscription_delivers_over_a_websocket, identical_subscriptions_share_one_execution,
    limits_apply_to_documents_over_the_socket, subscribers_see_only_what_the_policy_lets_them,
};
use ops::{
    health_and_readiness, metrics_labels_are_bounded, metrics_labels_ignore_unknown_methods,
    readiness_fails_with_pending_migrations,
};
use ownership::orphaned_goals_are_listed_and_handed_over;
use reports::reports_export_as_csv_with_a_token_or_a_one_time_link;
use tenancy::tenants_cannot_reach_each_other;
use tokens::{identities_outside_the_tenant_are_refused, invalid_tokens_are_refused_before_execution};
use ws::{
    ws_answers_ping_with_pong, ws_authenticates_connection_init, ws_closes_4400_on_malformed_messages,
    ws_closes_4401_on_subscribe_before_ack, ws_closes_4403_when_the_token_expires,
    ws_closes_4408_without_connection_init, ws_closes_4409_on_a_reused_running_id,
    ws_closes_4429_on_a_second_connection_init, ws_closes_slow_consumers_with_1013,
    ws_pings_and_drops_half_open_connections, ws_refuses_foreign_origins,
    ws_refuses_operations_beyond_the_cap, ws_runs_queries_and_mutations_as_next_then_complete,
    ws_sends_request_errors_as_error_messages, ws_upgrade_requires_the_graphql_transport_ws_subprotocol,
};

goalgraph_testkit::db_tests!(
    reports_export_as_csv_with_a_token_or_a_one_time_link,
    every_subscription_delivers_over_a_websocket,
    subscribers_see_only_what_the_policy_lets_them,
    identical_subscriptions_share_one_execution,
    limits_apply_to_documents_over_the_socket,
    orphaned_goals_are_listed_and_handed_over,
    integration_keys_do_what_their_scopes_name,
    a_directory_integration_syncs_people_who_then_sign_in,
    measurements_drive_linked_goals_and_insights,
    invalid_tokens_are_refused_before_execution,
    identities_outside_the_tenant_are_refused,
    external_provider_roles_and_claims,
    external_provider_keys_rotate_without_restart,
    health_and_readiness,
    readiness_fails_with_pending_migrations,
    metrics_labels_are_bounded,
    metrics_labels_ignore_unknown_methods,
    request_ids_on_every_response,
    get_serves_graphiql_and_queries_but_not_mutations,
    get_selects_the_operation_by_operation_name,
    posts_must_be_json,
    oversized_bodies_are_refused_and_the_server_keeps_serving,
    a_refused_body_does_not_break_keep_alive,
    cors_allows_only_configured_origins,
    compiled_reads_send_what_the_executor_sends,
    concurrent_mutations_all_succeed,
    tenants_cannot_reach_each_other,
    internal_errors_name_only_the_request_id,
    ws_upgrade_requires_the_graphql_transport_ws_subprotocol,
    ws_refuses_foreign_origins,
    ws_closes_4408_without_connection_init,
    ws_closes_4401_on_subscribe_before_ack,
    ws_closes_4409_on_a_reused_running_id,
    ws_closes_4400_on_malformed_messages,
    ws_authenticates_connection_init,
    ws_closes_4429_on_a_second_connection_init,
    ws_closes_4403_when_the_token_expires,
    ws_answers_ping_with_pong,
    ws_runs_queries_and_mutations_as_next_then_complete,
    ws_sends_request_errors_as_error_messages,
    ws_refuses_operations_beyond_the_cap,
    ws_pings_and_drops_half_open_connections,
    ws_closes_slow_consumers_with_1013,
    bad_input_is_refused_before_any_sql,
    the_limits_apply_over_websocket_before_any_sql,
    introspection_and_suggestions_switch_off,
    only_trusted_documents_run_when_an_allowlist_is_set,
    a_request_past_its_time_budget_is_cancelled_and_commits_nothing,
    rate_limits_charge_the_query_cost_per_actor_and_per_tenant,
    tls_serves_https_and_wss,
);

/// Tests that only make sense on PostgreSQL.
mod postgres_only {
    use goalgraph_testkit::{Backend, TestDb};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(goalgraph_pg_tests), ignore = "TEST_DATABASE_URL is unset: PostgreSQL suite skipped")]
    async fn readiness_fails_when_the_database_disappears() {
        super::ops::readiness_fails_when_the_database_disappears(TestDb::new(Backend::Postgres).await).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(goalgraph_pg_tests), ignore = "TEST_DATABASE_URL is unset: PostgreSQL suite skipped")]
    async fn replicas_share_events_and_lose_none() {
        super::live::replicas_share_events_and_lose_none(TestDb::new(Backend::Postgres).await).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(goalgraph_pg_tests), ignore = "TEST_DATABASE_URL is unset: PostgreSQL suite skipped")]
    async fn a_timed_out_statement_is_cancelled_on_postgres() {
        super::hardening::a_timed_out_statement_is_cancelled_on_postgres(TestDb::new(Backend::Postgres).await)
            .await
    }
}
