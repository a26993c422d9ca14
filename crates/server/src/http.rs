//! The HTTP surface: `/graphql` (POST JSON; GET for GraphiQL and queries),
//! `/graphql/ws` (upgraded in [`crate::ws`]), `/healthz`, `/readyz`,
//! `/metrics`, with authentication before any resolver, request ids,
//! tracing spans, CORS, a body limit and metrics.

use crate::auth::{AuthError, KeyStore};
use crate::config::Config;
use crate::telemetry;
use crate::ws;
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Response as GqlResponse, ServerError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use goalgraph_api::{AppSchema, ErrorCode, INTERNAL_MESSAGE, RequestContext};
use goalgraph_domain::model::RoleSet;
use goalgraph_persistence::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::{Span, field};

/// Shared by every request.
pub struct AppState {
    pub store: Store,
    pub schema: AppSchema,
    pub keys: Arc<KeyStore>,
    pub config: Arc<Config>,
}

pub fn router(state: Arc<AppState>) -> Router {
    // Install the recorder now: requests before the first scrape count too.
    let _ = telemetry::metrics_handle();
    let cors = cors_layer(&state.config.cors_origins);
    let mut app = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        // The upgrade is one request here (status 101); the connection's
        // life is measured by the WebSocket metrics.
        .route("/graphql/ws", get(ws::upgrade))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn(record_metrics))
        .fallback(not_found)
        .with_state(state);
    if let Some(cors) = cors {
        app = app.layer(cors);
    }
    app.layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let request_id =
                req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
            tracing::info_span!(
                "request",
                method = %req.method(),
                path = %req.uri().path(),
                request_id = %request_id,
                operation = field::Empty,
                tenant = field::Empty,
                actor = field::Empty,
            )
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let list: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                "x-request-id".parse().unwrap_or(header::ACCEPT),
            ])
            .expose_headers(["x-request-id".parse().unwrap_or(header::ACCEPT)])
            .max_age(Duration::from_secs(3600)),
    )
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(req.method());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("goalgraph_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("goalgraph_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Methods as a bounded label set: a client cannot mint new series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::OPTIONS => "OPTIONS",
        Method::HEAD => "HEAD",
        _ => "OTHER",
    }
}

/// Unknown paths, counted under one label.
async fn not_found(req: Request) -> Response {
    metrics::counter!("goalgraph_http_requests_total", "route" => "unmatched", "method" => method_label(req.method()), "status" => "404")
        .increment(1);
    (StatusCode::NOT_FOUND, "not found").into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.store.ready().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
        }
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    match telemetry::metrics_handle() {
        Some(handle) => {
            telemetry::record_store_counters(&state.store).await;
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render())
                .into_response()
        }
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable").into_response(),
    }
}

pub(crate) fn request_id(headers: &HeaderMap, req_id: Option<&RequestId>) -> String {
    req_id
        .and_then(|r| r.header_value().to_str().ok())
        .or_else(|| headers.get("x-request-id").and_then(|v| v.to_str().ok()))
        .unwrap_or_default()
        .to_owned()
}

/// A GraphQL-shaped error response outside execution (401, 405, 413, 415).
pub(crate) fn error_response(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code.as_str() } }]
    });
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// Counts and logs a refused credential (HTTP and WebSocket alike).
pub(crate) fn count_auth_failure(reason: &'static str) {
    metrics::counter!("goalgraph_auth_failures_total", "reason" => reason).increment(1);
    tracing::info!(reason, "authentication refused");
}

fn unauthenticated(reason: &'static str, message: &str) -> Response {
    count_auth_failure(reason);
    let mut response = error_response(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated, message);
    let challenge = if reason == "missing_credentials" {
        "Bearer realm=\"goalgraph\""
    } else {
        "Bearer realm=\"goalgraph\", error=\"invalid_token\""
    };
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}

/// The token of a `Bearer <token>` credential (scheme case-insensitive).
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
}

/// A caller whose credential was accepted.
pub(crate) struct Authenticated {
    pub ctx: RequestContext,
    /// A JWT's `exp` (seconds since the Unix epoch); `None` for an API key,
    /// which lives until it is revoked.
    pub expires_at: Option<i64>,
}

/// Why a credential did not authenticate.
pub(crate) enum AuthFailure {
    /// The credential is refused: `reason` is the bounded metric label,
    /// `message` the text the client may see.
    Refused { reason: &'static str, message: &'static str },
    /// Verification or the database failed; already logged.
    Internal,
}

/// Turns a raw credential (a JWT or an integration's API key) into the
/// caller's context, recording tenant and actor on the current span. Shared
/// by HTTP (the Authorization header) and WebSocket (`connection_init`).
pub(crate) async fn authenticate_token(
    state: &AppState,
    token: &str,
    request_id: &str,
) -> Result<Authenticated, AuthFailure> {
    // Partner integrations present an API key, recognised by its prefix.
    if token.starts_with(goalgraph_persistence::KEY_PREFIX) {
        return match state.store.resolve_integration_actor(token).await {
            Ok(Some((org, actor))) => {
                let span = Span::current();
                span.record("tenant", field::display(&org.slug));
                span.record("actor", field::display(actor.label()));
                let ctx = RequestContext {
                    actor,
                    person: None,
                    settings: org.settings,
                    request_id: request_id.to_owned(),
                };
                Ok(Authenticated { ctx, expires_at: None })
            }
            Ok(None) => Err(AuthFailure::Refused { reason: "unknown_api_key", message: "invalid API key" }),
            Err(e) => {
                tracing::error!(error = %e, "resolving an API key failed");
                Err(AuthFailure::Internal)
            }
        };
    }
    let verified = match state.keys.verify(token).await {
        Ok(v) => v,
        Err(AuthError::Internal) => return Err(AuthFailure::Internal),
        Err(e) => return Err(AuthFailure::Refused { reason: e.reason(), message: "invalid token" }),
    };
    let roles = RoleSet::from_names(verified.roles.iter().map(String::as_str));
    match state.store.resolve_person_actor(&verified.tenant, &verified.subject, &roles).await {
        Ok(Some((org, actor, person))) => {
            let span = Span::current();
            span.record("tenant", field::display(&org.slug));
            span.record("actor", field::display(actor.label()));
            let ctx = RequestContext {
                actor,
                person: Some(person),
                settings: org.settings,
                request_id: request_id.to_owned(),
            };
            Ok(Authenticated { ctx, expires_at: Some(verified.expires_at) })
        }
        Ok(None) => Err(AuthFailure::Refused { reason: "unknown_subject", message: "invalid token" }),
        Err(e) => {
            tracing::error!(error = %e, "resolving the actor failed");
            Err(AuthFailure::Internal)
        }
    }
}

/// Turns the bearer credential into the request's actor, or the 401 answer.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    request_id: &str,
) -> Result<RequestContext, Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthenticated(
            "missing_credentials",
            "authentication required: send Authorization: Bearer <token>",
        ));
    };
    let Some(token) = value.to_str().ok().and_then(bearer_token) else {
        return Err(unauthenticated("malformed_header", "the Authorization header must be: Bearer <token>"));
    };
    match authenticate_token(state, token, request_id).await {
        Ok(authenticated) => Ok(authenticated.ctx),
        Err(AuthFailure::Refused { reason, message }) => Err(unauthenticated(reason, message)),
        Err(AuthFailure::Internal) => {
            Err(error_response(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, INTERNAL_MESSAGE))
        }
    }
}

/// Every error leaves with a code; internal ones carry nothing but the
/// request id.
pub(crate) fn finish_errors(errors: &mut [ServerError], request_id: &str) {
    for error in errors {
        let ext = error.extensions.get_or_insert_with(Default::default);
        let code = match ext.get("code") {
            Some(async_graphql::Value::String(code)) => code.clone(),
            // Parse and validation errors of async-graphql itself.
            _ => {
                ext.set("code", ErrorCode::BadUserInput.as_str());
                ErrorCode::BadUserInput.as_str().to_owned()
            }
        };
        if code == ErrorCode::Internal.as_str() {
            error.message = format!("{INTERNAL_MESSAGE} (request id {request_id})");
            ext.set("requestId", request_id);
        }
    }
}

async fn execute(state: &AppState, ctx: &RequestContext, request: async_graphql::Request) -> GqlResponse {
    if let Some(name) = &request.operation_name {
        Span::current().record("operation", field::display(name));
    }
    let kind = match operation_type(&request) {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "invalid",
    };
    let mut response = goalgraph_api::execute(&state.schema, &state.store, ctx.clone(), request).await;
    finish_errors(&mut response.errors, &ctx.request_id);
    let outcome = if response.errors.is_empty() { "ok" } else { "error" };
    metrics::counter!("goalgraph_graphql_operations_total", "type" => kind, "outcome" => outcome)
        .increment(1);
    response
}

fn wants_graphql_response_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/graphql-response+json"))
}

fn json_response(headers: &HeaderMap, batch: BatchResponse) -> Response {
    let modern = wants_graphql_response_json(headers);
    // With the GraphQL-over-HTTP media type, a request that failed before
    // execution (no data) is a 400; with plain JSON it is always 200.
    let failed = matches!(&batch, BatchResponse::Single(r) if r.data == async_graphql::Value::Null && !r.errors.is_empty());
    let status = if modern && failed { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let content_type =
        if modern { "application/graphql-response+json; charset=utf-8" } else { "application/json" };
    match serde_json::to_vec(&batch) {
        Ok(body) => (status, [(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "serialising a response failed");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, INTERNAL_MESSAGE)
        }
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// An answer sent before the request body was read: the connection is
/// closed after it, or a keep-alive client would send its next request
/// into the unread rest of this body.
fn closing(mut response: Response) -> Response {
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

async fn graphql_post(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let request_id = request_id(&headers, parts.extensions.get::<RequestId>());
    let ctx = match authenticate(&state, &headers, &request_id).await {
        Ok(ctx) => ctx,
        Err(response) => return closing(response),
    };
    if !is_json(&headers) {
        return closing(error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            "POST /graphql takes Content-Type: application/json",
        ));
    }
    // Bulk ingestion (KPI measurements, directory syncs) may send more than
    // other requests: read up to the larger limit, and hold any other
    // request to the normal one once its operations are known.
    let limit = state.config.body_limit_bytes.max(state.config.bulk_body_limit_bytes);
    let too_large = |limit: usize| {
        closing(error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BadUserInput,
            &format!("the request body exceeds {limit} bytes"),
        ))
    };
    let bytes: Bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return too_large(limit),
    };
    let parsed = serde_json::from_slice::<BatchRequest>(&bytes);
    if bytes.len() > state.config.body_limit_bytes && !matches!(&parsed, Ok(b) if is_bulk_ingestion(b)) {
        return too_large(state.config.body_limit_bytes);
    }
    let batch: BatchRequest = match parsed {
        Ok(b) => b,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                &format!("the body is not a GraphQL request: {e}"),
            );
        }
    };
    let response = match batch {
        BatchRequest::Single(request) => BatchResponse::Single(execute(&state, &ctx, request).await),
        BatchRequest::Batch(requests) => {
            let mut out = Vec::with_capacity(requests.len());
            for request in requests {
                out.push(execute(&state, &ctx, request).await);
            }
            BatchResponse::Batch(out)
        }
    };
    json_response(&headers, response)
}

/// Root fields whose input may exceed the normal body limit: bulk KPI
/// measurements and HRIS directory syncs (20,000 people take several MB).
const BULK_FIELDS: [&str; 2] = ["recordKpiMeasurements", "syncDirectory"];

/// Whether every operation of the request is a bulk ingestion: a mutation
/// whose root fields are all [`BULK_FIELDS`].
fn is_bulk_ingestion(batch: &BatchRequest) -> bool {
    use async_graphql::parser::types::Selection;
    let requests: Vec<&async_graphql::Request> = match batch {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(rs) => rs.iter().collect(),
    };
    requests.iter().all(|r| {
        let Ok(doc) = async_graphql::parser::parse_query(&r.query) else { return false };
        if !doc.fragments.is_empty() {
            return false;
        }
        let ops: Vec<_> = match &doc.operations {
            DocumentOperations::Single(op) => vec![op],
            DocumentOperations::Multiple(ops) => ops.values().collect(),
        };
        ops.iter().all(|op| {
            op.node.ty == OperationType::Mutation
                && op.node.selection_set.node.items.iter().all(|sel| {
                    matches!(&sel.node, Selection::Field(f) if BULK_FIELDS.contains(&f.node.name.node.as_str()))
                })
        })
    })
}

/// The operation a request would run, when its document parses.
pub(crate) fn operation_type(request: &async_graphql::Request) -> Option<OperationType> {
    let doc = async_graphql::parser::parse_query(&request.query).ok()?;
    match (&doc.operations, &request.operation_name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name.as_str()).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        _ => None,
    }
}

/// The parameters of a GET request, as the GraphQL-over-HTTP spec names them.
#[derive(serde::Deserialize)]
struct GetParams {
    query: String,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

fn get_request(uri: &axum::http::Uri) -> Result<async_graphql::Request, String> {
    let Query(params) =
        Query::<GetParams>::try_from_uri(uri).map_err(|e| format!("not a GraphQL request: {e}"))?;
    let mut request = async_graphql::Request::new(params.query);
    if let Some(name) = params.operation_name.filter(|n| !n.is_empty()) {
        request = request.operation_name(name);
    }
    if let Some(vars) = params.variables.filter(|v| !v.is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(&vars).map_err(|e| format!("variables is not JSON: {e}"))?;
        request = request.variables(async_graphql::Variables::from_json(value));
    }
    if let Some(ext) = params.extensions.filter(|v| !v.is_empty()) {
        request.extensions =
            serde_json::from_str(&ext).map_err(|e| format!("extensions is not a JSON object: {e}"))?;
    }
    Ok(request)
}

async fn graphql_get(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let (parts, _body) = req.into_parts();
    let headers = parts.headers;
    let accepts_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    let query_string = parts.uri.query().unwrap_or_default();
    if accepts_html && query_string.is_empty() {
        if !state.config.graphiql {
            return (StatusCode::NOT_FOUND, "GraphiQL is disabled").into_response();
        }
        return Html(GraphiQLSource::build().endpoint("/graphql").title("goalgraph").finish())
            .into_response();
    }
    let request = match get_request(&parts.uri) {
        Ok(r) => r,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, &message),
    };
    if matches!(operation_type(&request), Some(OperationType::Mutation | OperationType::Subscription)) {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::BadUserInput,
            "mutations are not allowed over GET; use POST",
        );
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let request_id = request_id(&headers, parts.extensions.get::<RequestId>());
    let ctx = match authenticate(&state, &headers, &request_id).await {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    let response = execute(&state, &ctx, request).await;
    json_response(&headers, BatchResponse::Single(response))
}
