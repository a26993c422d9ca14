//! Logs (tracing) and metrics (Prometheus text).

use crate::config::{Config, LogFormat};
use goalgraph_persistence::Store;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global log subscriber once. `RUST_LOG` overrides the
/// configured level; tests call it only when `TEST_LOG` is set.
pub fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match config.log_format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer().json().with_current_span(true).with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(tracing_subscriber::fmt::layer().with_target(false).with_writer(std::io::stderr))
            .try_init(),
    };
}

static METRICS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

const LATENCY_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process's metrics recorder, installed on first use. Labels are
/// bounded by construction: route templates, methods, status codes,
/// operation types and fixed reasons, never client-chosen text.
pub fn metrics_handle() -> Option<PrometheusHandle> {
    METRICS
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".to_owned()), LATENCY_BUCKETS)
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!("goalgraph_http_requests_total", "HTTP requests by route, method and status.");
    metrics::describe_histogram!(
        "goalgraph_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by route and method."
    );
    metrics::describe_counter!(
        "goalgraph_graphql_operations_total",
        "GraphQL operations by type and outcome."
    );
    metrics::describe_counter!("goalgraph_auth_failures_total", "Refused credentials by reason.");
    metrics::describe_counter!(
        "goalgraph_authorization_denied_total",
        "Operations' FORBIDDEN errors: the policy refused an actor a change it may see but not make."
    );
    metrics::describe_counter!(
        "goalgraph_rate_limited_total",
        "Operations refused by a query-cost budget, by budget (actor or tenant)."
    );
    metrics::describe_counter!(
        "goalgraph_request_timeouts_total",
        "Requests (and WebSocket queries and mutations) cancelled past their time budget."
    );
    metrics::describe_counter!("goalgraph_panics_total", "Panics caught while serving a request.");
    metrics::describe_gauge!("goalgraph_ws_connections", "Open WebSocket connections.");
    metrics::describe_counter!(
        "goalgraph_ws_closes_total",
        "Ended WebSocket connections by close code (the server's), client (the client closed) or lost."
    );
    metrics::describe_counter!("goalgraph_sql_statements_total", "SQL statements the store has run.");
    metrics::describe_counter!("goalgraph_live_events_total", "Live events the hub has routed.");
    metrics::describe_counter!(
        "goalgraph_live_outbox_reads_total",
        "Reads of the live-event outbox (each for any number of subscribers)."
    );
    metrics::describe_gauge!("goalgraph_live_subscribers", "Live subscriptions listening to the hub.");
}

/// Copies the store's and the live hub's own counters into the recorder
/// before a scrape: they count whether or not anyone scrapes. The recorder
/// is per process, so with several servers in one process (tests) these
/// show the store scraped last. Starting the hub here is harmless: a
/// server that serves subscriptions starts it anyway.
pub async fn record_store_counters(store: &Store) {
    metrics::counter!("goalgraph_sql_statements_total").absolute(store.statement_count());
    if let Ok(hub) = store.live().await {
        metrics::counter!("goalgraph_live_events_total").absolute(hub.events());
        metrics::counter!("goalgraph_live_outbox_reads_total").absolute(hub.reads());
        metrics::gauge!("goalgraph_live_subscribers").set(hub.subscribers() as f64);
    }
}
