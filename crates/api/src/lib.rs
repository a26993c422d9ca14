//! goalgraph's GraphQL API: object types (separate from the storage
//! entities), queries, one mutation object per feature, DataLoaders, the
//! error mapping to `extensions.code`, and [`build_schema`].
//!
//! Knows no HTTP: it must not depend on axum (`.ci/run` checks). The server
//! authenticates a request, builds its [`RequestContext`] and executes it
//! against the schema built here.

mod audit;
mod compiled;
pub mod connection;
pub mod context;
mod directory;
pub mod error;
mod goals;
pub mod ids;
mod integrations;
mod kpis;
mod live;
pub mod loaders;
mod mutation;
mod query;
pub mod reports;
mod review;
mod saved_reports;
mod shared;
pub mod types;
pub mod waves;

pub use context::{
    Answer, CostCheck, DeferredContext, LiveMode, RequestContext, RequestData, StreamItem, execute,
    execute_deferred, execute_stream,
};
pub use error::{ApiError, ErrorCode, INTERNAL_MESSAGE};

use async_graphql::{Schema, SchemaBuilder};

pub type AppSchema = Schema<query::Query, mutation::Mutation, live::LiveSubscription>;

/// Deepest selection accepted, over HTTP and WebSocket alike (the deepest
/// real query, unit → people → objectives → key results → check-ins through
/// connections, needs 12).
pub const MAX_DEPTH: usize = 16;

/// Largest number of fields one operation may select.
pub const MAX_COMPLEXITY: usize = 2000;

/// The schema builder, with every type registered, the depth and
/// complexity limits, which async-graphql checks before a resolver runs,
/// and the extension that resolves a deferred actor ([`execute_deferred`])
/// once they passed.
pub fn schema_builder() -> SchemaBuilder<query::Query, mutation::Mutation, live::LiveSubscription> {
    schema_builder_with(None, true)
}

/// [`schema_builder`] whose extension also charges each validated
/// operation with `cost` (the server's rate budgets), and answers the unit
/// trees it recognises with one statement when `compiled_reads` (on
/// PostgreSQL; see the `compiled` module). Add no other extension: each one
/// costs a step in every field's resolution.
pub fn schema_builder_with(
    cost: Option<std::sync::Arc<dyn CostCheck>>,
    compiled_reads: bool,
) -> SchemaBuilder<query::Query, mutation::Mutation, live::LiveSubscription> {
    Schema::build(query::Query::default(), mutation::Mutation::default(), live::LiveSubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .extension(context::RequestGate::new(cost, compiled_reads))
}

/// The finished schema with default settings.
pub fn build_schema() -> AppSchema {
    schema_builder().finish()
}

/// The schema as SDL, sorted, as committed in `schema/schema.graphql`.
pub fn sdl() -> String {
    build_schema().sdl_with_options(
        async_graphql::SDLExportOptions::new().sorted_fields().sorted_arguments().sorted_enum_items(),
    )
}
