//! The HTTP surface: `/graphql` (POST JSON; GET for GraphiQL and queries),
//! `/graphql/ws` (upgraded in [`crate::ws`]), `/healthz`, `/readyz`,
//! `/metrics`, with authentication before any resolver, request ids,
//! tracing spans, CORS, a body limit, a time budget, panics caught, and
//! metrics. Nothing touches the database for a request that the checks
//! without it (media type, credential, body, batch, document, validation)
//! refuse.

use crate::auth::{AuthError, KeyStore, VerifiedToken};
use crate::config::Config;
use crate::document::{Documents, Prepared, WireRequest, sha256_hex};
use crate::rate::{RateLimiter, RateScope};
use crate::telemetry;
use crate::ws;
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::OperationType;
use async_graphql::{Response as GqlResponse, ServerError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::FutureExt as _;
use goalgraph_api::{Answer, AppSchema, DeferredContext, ErrorCode, INTERNAL_MESSAGE, RequestContext};
use goalgraph_domain::model::RoleSet;
use goalgraph_persistence::Store;
use secrecy::{ExposeSecret as _, SecretString};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tower_http::catch_panic::CatchPanicLayer;
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
    /// The checks every document passes before the schema sees it.
    pub documents: Documents,
    /// Query-cost budgets per actor and per tenant.
    pub limiter: Arc<RateLimiter>,
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
        .route("/reports/export", get(crate::export::export))
        .route_layer(middleware::from_fn(record_metrics))
        .fallback(not_found)
        .with_state(state);
    if let Some(cors) = cors {
        app = app.layer(cors);
    }
    // Inside the request-id layers, so that a panic's 500 carries the id.
    app.layer(CatchPanicLayer::custom(panic_response))
        .layer(PropagateRequestIdLayer::x_request_id())
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

/// A credential checked without the database.
pub(crate) enum Credential {
    /// A JWT whose signature and claims verified.
    Token(VerifiedToken),
    /// An integration's API key, recognised by its prefix; whether it
    /// exists is looked up with the actor.
    ApiKey(SecretString),
}

impl Credential {
    /// The key of the actor's cost budget, the same for every request with
    /// this credential (never the credential itself: an API key's hash).
    pub(crate) fn rate_key(&self) -> Arc<str> {
        match self {
            Self::Token(token) => format!("jwt:{}:{}", token.tenant, token.subject).into(),
            Self::ApiKey(key) => format!("key:{}", &sha256_hex(key.expose_secret())[..32]).into(),
        }
    }

    /// A JWT's `exp` (seconds since the Unix epoch); `None` for an API key,
    /// which lives until it is revoked.
    pub(crate) fn expires_at(&self) -> Option<i64> {
        match self {
            Self::Token(token) => Some(token.expires_at),
            Self::ApiKey(_) => None,
        }
    }
}

/// A caller whose credential was accepted and whose actor was found.
pub(crate) struct Authenticated {
    pub ctx: RequestContext,
    pub expires_at: Option<i64>,
    pub rate_key: Arc<str>,
}

/// Why a credential did not authenticate.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AuthFailure {
    /// The credential is refused: `reason` is the bounded metric label,
    /// `message` the text the client may see.
    Refused { reason: &'static str, message: &'static str },
    /// Verification or the database failed; already logged.
    Internal,
}

/// Checks a raw credential (a JWT or an integration's API key) without the
/// database: a JWT's signature and claims, an API key's form.
pub(crate) async fn verify_credential(state: &AppState, token: &str) -> Result<Credential, AuthFailure> {
    // Partner integrations present an API key, recognised by its prefix.
    if token.starts_with(goalgraph_persistence::KEY_PREFIX) {
        return Ok(Credential::ApiKey(SecretString::from(token.to_owned())));
    }
    match state.keys.verify(token).await {
        Ok(verified) => Ok(Credential::Token(verified)),
        Err(AuthError::Internal) => Err(AuthFailure::Internal),
        Err(e) => Err(AuthFailure::Refused { reason: e.reason(), message: "invalid token" }),
    }
}

/// Finds the actor of a checked credential in the database (its person, or
/// the integration of the API key), recording tenant and actor on the
/// current span.
pub(crate) async fn resolve_actor(
    state: &AppState,
    credential: &Credential,
    request_id: &str,
) -> Result<RequestContext, AuthFailure> {
    let found = match credential {
        Credential::ApiKey(key) => match state.store.resolve_integration_actor(key.expose_secret()).await {
            Ok(Some((org, actor))) => Ok((org, actor, None)),
            Ok(None) => Err(AuthFailure::Refused { reason: "unknown_api_key", message: "invalid API key" }),
            Err(e) => {
                tracing::error!(error = %e, "resolving an API key failed");
                Err(AuthFailure::Internal)
            }
        },
        Credential::Token(verified) => {
            let roles = RoleSet::from_names(verified.roles.iter().map(String::as_str));
            match state.store.resolve_person_actor(&verified.tenant, &verified.subject, &roles).await {
                Ok(Some((org, actor, person))) => Ok((org, actor, Some(person))),
                Ok(None) => Err(AuthFailure::Refused { reason: "unknown_subject", message: "invalid token" }),
                Err(e) => {
                    tracing::error!(error = %e, "resolving the actor failed");
                    Err(AuthFailure::Internal)
                }
            }
        }
    };
    let (org, actor, person) = found?;
    let span = Span::current();
    span.record("tenant", field::display(&org.slug));
    span.record("actor", field::display(actor.label()));
    Ok(RequestContext { actor, person, settings: org.settings, request_id: request_id.to_owned() })
}

/// Both steps at once, for `connection_init` (a socket's actor is known
/// before its first operation).
pub(crate) async fn authenticate_token(
    state: &AppState,
    token: &str,
    request_id: &str,
) -> Result<Authenticated, AuthFailure> {
    let credential = verify_credential(state, token).await?;
    let ctx = resolve_actor(state, &credential, request_id).await?;
    Ok(Authenticated { ctx, expires_at: credential.expires_at(), rate_key: credential.rate_key() })
}

/// The request's bearer credential, checked without the database, or the
/// 401 answer.
pub(crate) async fn bearer_credential(state: &AppState, headers: &HeaderMap) -> Result<Credential, Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthenticated(
            "missing_credentials",
            "authentication required: send Authorization: Bearer <token>",
        ));
    };
    let Some(token) = value.to_str().ok().and_then(bearer_token) else {
        return Err(unauthenticated("malformed_header", "the Authorization header must be: Bearer <token>"));
    };
    verify_credential(state, token).await.map_err(auth_failure_response)
}

pub(crate) fn auth_failure_response(failure: AuthFailure) -> Response {
    match failure {
        AuthFailure::Refused { reason, message } => unauthenticated(reason, message),
        AuthFailure::Internal => {
            error_response(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, INTERNAL_MESSAGE)
        }
    }
}

/// Every error leaves with a code; internal ones carry nothing but the
/// request id. Refusals of the authorization policy are counted and
/// logged with the request id and the actor.
pub(crate) fn finish_errors(errors: &mut [ServerError], request_id: &str, actor: Option<&str>) {
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
        } else if code == ErrorCode::Forbidden.as_str() {
            metrics::counter!("goalgraph_authorization_denied_total").increment(1);
            tracing::info!(request_id, actor = actor.unwrap_or("unknown"), "authorization denied");
        }
    }
}

/// An INTERNAL error (the request id is added by [`finish_errors`]).
pub(crate) fn internal_error() -> ServerError {
    let mut error = ServerError::new(INTERNAL_MESSAGE, None);
    error.extensions.get_or_insert_with(Default::default).set("code", ErrorCode::Internal.as_str());
    error
}

/// Runs an operation; a panic in it (a resolver's bug) becomes an INTERNAL
/// error with the request id, and the process serves on. Unwinding drops
/// the operation's state, which rolls its write transaction back.
pub(crate) async fn catch_panics<T: From<GqlResponse>>(
    operation: impl std::future::Future<Output = T>,
    request_id: &str,
) -> T {
    match AssertUnwindSafe(operation).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            metrics::counter!("goalgraph_panics_total").increment(1);
            tracing::error!(request_id, panic = %message, "an operation panicked");
            T::from(GqlResponse::from_errors(vec![internal_error()]))
        }
    }
}

/// The outermost net: a panic outside an operation (in a handler or a
/// layer) answers 500 INTERNAL; the request id travels in `x-request-id`.
pub(crate) fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic_message(panic.as_ref());
    metrics::counter!("goalgraph_panics_total").increment(1);
    tracing::error!(panic = %message, "a request handler panicked");
    error_response(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, INTERNAL_MESSAGE)
}

/// The text a panic carried (`panic!` with a literal or a formatted message).
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// The error of a request cancelled by its time budget.
pub(crate) fn timeout_error(limit: Duration) -> ServerError {
    crate::document::refusal(
        ErrorCode::Timeout,
        format!("the request did not finish within {} s and was cancelled", limit.as_secs_f64()),
    )
}

pub(crate) fn count_operation(kind: Option<OperationType>, failed: bool) {
    let kind = match kind {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "invalid",
    };
    let outcome = if failed { "error" } else { "ok" };
    metrics::counter!("goalgraph_graphql_operations_total", "type" => kind, "outcome" => outcome)
        .increment(1);
}

/// One HTTP request's caller: its checked credential, and its actor once
/// looked up (at most once, for the first of its operations that passed
/// validation; never for a request none of whose operations did).
struct Caller {
    credential: Credential,
    rate_key: Arc<str>,
    request_id: String,
    actor: tokio::sync::OnceCell<Result<RequestContext, AuthFailure>>,
}

impl Caller {
    async fn context(&self, state: &AppState) -> Result<RequestContext, AuthFailure> {
        self.actor.get_or_init(|| resolve_actor(state, &self.credential, &self.request_id)).await.clone()
    }

    fn actor_label(&self) -> Option<String> {
        self.actor.get().and_then(|found| found.as_ref().ok()).map(|ctx| ctx.actor.label())
    }
}

/// Runs one checked operation: validation (and the cost charged to the
/// actor), then the actor's lookup and the tenant's charge, then execution.
async fn execute(state: &Arc<AppState>, caller: &Arc<Caller>, prepared: Prepared) -> Answer {
    let Prepared { request, kind, .. } = prepared;
    if let Some(name) = &request.operation_name {
        Span::current().record("operation", field::display(name));
    }
    let cost = Arc::new(AtomicUsize::new(0));
    let request =
        request.data(RateScope { actor: caller.rate_key.clone(), tenant: None, cost: cost.clone() });
    let context: DeferredContext = {
        let (state, caller) = (state.clone(), caller.clone());
        Box::pin(async move {
            let ctx = caller.context(&state).await.map_err(|_| {
                crate::document::refusal(ErrorCode::Unauthenticated, "authentication required")
            })?;
            let tenant = ctx.actor.organization_id.to_string();
            state
                .limiter
                .check_tenant(&tenant, cost.load(Ordering::Relaxed))
                .map_err(|r| r.into_error("tenant"))?;
            Ok(ctx)
        })
    };
    let run = goalgraph_api::execute_deferred(&state.schema, &state.store, context, request);
    let mut answer: Answer = catch_panics(run, &caller.request_id).await;
    finish_errors(&mut answer.response.errors, &caller.request_id, caller.actor_label().as_deref());
    count_operation(kind, !answer.response.errors.is_empty());
    answer
}

/// One operation of a request: checked and ready to run, or already
/// answered with its refusal.
enum Operation {
    Ready(Prepared),
    Refused(GqlResponse),
}

/// Runs a request's operations in order within the time budget, and
/// answers: 401 when the credential's actor does not exist, 504 past the
/// budget, 429 when the rate limit refused every operation.
async fn respond(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    credential: Credential,
    request_id: String,
    single: bool,
    items: Vec<Operation>,
) -> Response {
    let caller = Arc::new(Caller {
        rate_key: credential.rate_key(),
        credential,
        request_id,
        actor: Default::default(),
    });
    let run = async {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(match item {
                Operation::Ready(prepared) => execute(state, &caller, prepared).await,
                Operation::Refused(refused) => Answer::from(refused),
            });
        }
        out
    };
    let limit = state.config.request_timeout();
    // Past the budget the operations are dropped where they wait: a write
    // transaction rolls back, and on PostgreSQL the server cancels the
    // statement itself (statement_timeout).
    let Ok(responses) = tokio::time::timeout(limit, run).await else {
        metrics::counter!("goalgraph_request_timeouts_total").increment(1);
        tracing::warn!(request_id = %caller.request_id, "the request timed out and was cancelled");
        let mut errors = vec![timeout_error(limit)];
        finish_errors(&mut errors, &caller.request_id, None);
        let body = serde_json::json!({ "errors": errors });
        return (StatusCode::GATEWAY_TIMEOUT, [(header::CONTENT_TYPE, "application/json")], body.to_string())
            .into_response();
    };
    if let Some(Err(failure)) = caller.actor.get() {
        return auth_failure_response(*failure);
    }
    let single = single && responses.len() == 1;
    json_response(headers, single, &responses)
}

fn wants_graphql_response_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/graphql-response+json"))
}

/// The `retryAfterSeconds` of a response's RATE_LIMITED error, if any.
fn retry_after(response: &GqlResponse) -> Option<u64> {
    response.errors.iter().find_map(|e| {
        let ext = e.extensions.as_ref()?;
        match (ext.get("code"), ext.get("retryAfterSeconds")) {
            (Some(async_graphql::Value::String(code)), Some(async_graphql::Value::Number(n)))
                if code == ErrorCode::RateLimited.as_str() =>
            {
                n.as_u64()
            }
            _ => None,
        }
    })
}

/// A response as it is sent: without `data` when the request failed before
/// execution (the GraphQL spec: "the data entry should not be present").
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Sent<'a> {
    Executed(&'a GqlResponse),
    Refused { errors: &'a [ServerError] },
}

impl<'a> Sent<'a> {
    fn of(response: &'a GqlResponse) -> Self {
        let refused = response.data == async_graphql::Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|e| e.path.is_empty());
        if refused { Self::Refused { errors: &response.errors } } else { Self::Executed(response) }
    }
}

/// One answer as JSON: a compiled read's data as the text it already is
/// (`{"data":<text>}`, never read again), any other as [`Sent`].
fn answer_json(answer: &Answer) -> serde_json::Result<Vec<u8>> {
    match &answer.data {
        Some(data) => {
            let mut body = Vec::with_capacity(data.len() + 9);
            body.extend_from_slice(b"{\"data\":");
            body.extend_from_slice(data);
            body.push(b'}');
            Ok(body)
        }
        None => serde_json::to_vec(&Sent::of(&answer.response)),
    }
}

/// The HTTP response of a request's answers: one object when the request
/// held `single` operation, else an array.
fn json_response(headers: &HeaderMap, single: bool, answers: &[Answer]) -> Response {
    let modern = wants_graphql_response_json(headers);
    let responses: Vec<&GqlResponse> = answers.iter().map(|a| &a.response).collect();
    // Refused by the rate limit, all of them: 429 with the longest wait.
    let waits: Vec<Option<u64>> = responses.iter().map(|r| retry_after(r)).collect();
    let rate_limited = waits.iter().all(Option::is_some);
    let retry = waits.iter().flatten().max().copied();
    // With the GraphQL-over-HTTP media type, a request that failed before
    // execution (no data) is a 400; with plain JSON it is always 200.
    let failed = single
        && answers
            .iter()
            .all(|a| a.response.data == async_graphql::Value::Null && !a.response.errors.is_empty());
    let status = if rate_limited {
        StatusCode::TOO_MANY_REQUESTS
    } else if modern && failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let content_type =
        if modern { "application/graphql-response+json; charset=utf-8" } else { "application/json" };
    let serialised = match answers {
        [one] if single => answer_json(one),
        all => all.iter().map(answer_json).collect::<serde_json::Result<Vec<_>>>().map(|each| {
            let mut body = vec![b'['];
            body.extend_from_slice(&each.join(&b','));
            body.push(b']');
            body
        }),
    };
    match serialised {
        Ok(body) => {
            let mut response = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
            if let Some(seconds) = retry {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
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

/// A POST body: one request object, or a batch (an array of them).
fn parse_body(bytes: &[u8]) -> Result<(bool, Vec<WireRequest>), String> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let parsed = if first == Some(&b'[') {
        serde_json::from_slice::<Vec<WireRequest>>(bytes).map(|batch| (false, batch))
    } else {
        serde_json::from_slice::<WireRequest>(bytes).map(|one| (true, vec![one]))
    };
    parsed.map_err(|e| format!("the body is not a GraphQL request: {e}"))
}

/// A refused document as its operation's response.
fn refused(error: ServerError, request_id: &str, kind: Option<OperationType>) -> GqlResponse {
    let mut errors = vec![error];
    finish_errors(&mut errors, request_id, None);
    count_operation(kind, true);
    GqlResponse::from_errors(errors)
}

/// `POST /graphql`. Everything that can refuse a request without the
/// database does so first, in this order: the media type (415), the
/// credential (401, a JWT's signature and claims), the body's size (413),
/// its JSON (400), the batch's size (400), then each operation's document
/// (trusted documents, nesting, parse, static limits) and its validation.
/// Only an operation that passed them all looks its actor up and runs.
async fn graphql_post(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let request_id = request_id(&headers, parts.extensions.get::<RequestId>());
    if !is_json(&headers) {
        return closing(error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            "POST /graphql takes Content-Type: application/json",
        ));
    }
    let credential = match bearer_credential(&state, &headers).await {
        Ok(credential) => credential,
        Err(response) => return closing(response),
    };
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
    let (single, wires) = match parse_body(&bytes) {
        Ok(parsed) => parsed,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, &message),
    };
    if let Some(missing) = wires.iter().position(|w| !w.names_a_document()) {
        let message =
            format!("operation {missing} of the request has no query (nor a persisted document's hash)");
        return error_response(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, &message);
    }
    let max_batch = state.config.max_batch;
    if wires.is_empty() || wires.len() > max_batch {
        let message = format!("a batch holds 1 to {max_batch} operations; this one has {}", wires.len());
        return error_response(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, &message);
    }
    let items: Vec<Operation> = wires
        .into_iter()
        .map(|wire| match state.documents.prepare(wire) {
            Ok(prepared) => Operation::Ready(prepared),
            Err(e) => Operation::Refused(refused(e, &request_id, None)),
        })
        .collect();
    if bytes.len() > state.config.body_limit_bytes
        && !items.iter().all(|i| matches!(i, Operation::Ready(p) if p.bulk))
    {
        return too_large(state.config.body_limit_bytes);
    }
    drop(bytes);
    respond(&state, &headers, credential, request_id, single, items).await
}

/// The parameters of a GET request, as the GraphQL-over-HTTP spec names them.
#[derive(serde::Deserialize)]
struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
    #[serde(rename = "documentId")]
    document_id: Option<String>,
}

fn get_request(uri: &axum::http::Uri) -> Result<WireRequest, String> {
    let Query(params) =
        Query::<GetParams>::try_from_uri(uri).map_err(|e| format!("not a GraphQL request: {e}"))?;
    let mut request = WireRequest {
        query: params.query,
        operation_name: params.operation_name.filter(|n| !n.is_empty()),
        document_id: params.document_id.filter(|d| !d.is_empty()),
        ..WireRequest::default()
    };
    if let Some(vars) = params.variables.filter(|v| !v.is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(&vars).map_err(|e| format!("variables is not JSON: {e}"))?;
        if !value.is_object() && !value.is_null() {
            return Err("variables must be a JSON object".to_owned());
        }
        request.variables = Some(async_graphql::Variables::from_json(value));
    }
    if let Some(ext) = params.extensions.filter(|v| !v.is_empty()) {
        request.extensions =
            Some(serde_json::from_str(&ext).map_err(|e| format!("extensions is not a JSON object: {e}"))?);
    }
    Ok(request)
}

/// `GET /graphql`: GraphiQL for a browser, else a query (never a
/// mutation: 405), with the same checks as a POST.
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
    let wire = match get_request(&parts.uri) {
        Ok(r) => r,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, &message),
    };
    if !wire.names_a_document() {
        return error_response(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, "the request has no query");
    }
    let request_id = request_id(&headers, parts.extensions.get::<RequestId>());
    let prepared = match state.documents.prepare(wire) {
        Ok(prepared) => prepared,
        Err(e) => return json_response(&headers, true, &[Answer::from(refused(e, &request_id, None))]),
    };
    if matches!(prepared.kind, Some(OperationType::Mutation | OperationType::Subscription)) {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::BadUserInput,
            "mutations are not allowed over GET; use POST",
        );
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let credential = match bearer_credential(&state, &headers).await {
        Ok(credential) => credential,
        Err(response) => return response,
    };
    respond(&state, &headers, credential, request_id, true, vec![Operation::Ready(prepared)]).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[tokio::test]
    async fn a_panicking_operation_answers_internal_with_the_request_id_and_the_next_one_runs() {
        let panicking = async {
            let explode = true;
            if explode {
                panic!("a resolver's bug");
            }
            GqlResponse::new(async_graphql::Value::Null)
        };
        let mut response = catch_panics(panicking, "req-42").await;
        finish_errors(&mut response.errors, "req-42", None);
        assert_eq!(response.errors.len(), 1);
        let error = &response.errors[0];
        assert_eq!(error.message, "internal error (request id req-42)");
        let ext = error.extensions.as_ref().unwrap();
        assert_eq!(ext.get("code"), Some(&async_graphql::Value::from("INTERNAL")));
        assert_eq!(ext.get("requestId"), Some(&async_graphql::Value::from("req-42")));
        assert!(!error.message.contains("bug"), "the panic's text stays in the log");
        // The positive control: a well-behaved operation answers as it is.
        let fine = catch_panics(async { GqlResponse::new(async_graphql::Value::from(1)) }, "req-43").await;
        assert!(fine.errors.is_empty() && fine.data == async_graphql::Value::from(1));
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_the_router_serves_on() {
        use tower::ServiceExt as _;
        let app: Router = Router::new()
            .route(
                "/boom",
                get(|| async {
                    let explode = true;
                    if explode {
                        panic!("a handler's bug");
                    }
                    "unreachable"
                }),
            )
            .route("/fine", get(|| async { "fine" }))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response));
        let request = |path: &str| axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
        let boom = app.clone().oneshot(request("/boom")).await.unwrap();
        assert_eq!(boom.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(boom.into_body(), 1024).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL");
        assert!(!body.to_string().contains("bug"));
        let fine = app.oneshot(request("/fine")).await.unwrap();
        assert_eq!(fine.status(), StatusCode::OK);
    }

    #[test]
    fn batches_and_single_requests_are_told_apart() {
        let (single, one) = parse_body(br#" {"query":"{ a }"}"#).unwrap();
        assert!(single && one.len() == 1);
        let (single, many) = parse_body(br#" [{"query":"{ a }"},{"documentId":"sha256:ab"}]"#).unwrap();
        assert!(!single && many.len() == 2 && many[1].document_id.as_deref() == Some("sha256:ab"));
        for bad in [&b"\"x\""[..], b"{\"query\": 1}", b"{\"variables\": 1, \"query\": \"{a}\"}", b"[1]"] {
            assert!(parse_body(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
