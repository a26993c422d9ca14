//! What every resolver of one request can reach: the store, the actor and
//! the request's DataLoaders (built per request, so batching and caching
//! never cross actors).

use crate::AppSchema;
use crate::compiled::Plan;
use crate::error::{ApiError, ApiResult};
use crate::loaders::Loaders;
use crate::waves::Waves;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Context, ServerError, ServerResult, ValidationResult, Variables};
use goalgraph_domain::model::Person;
use goalgraph_domain::policy::Actor;
use goalgraph_domain::settings::OrganizationSettings;
use goalgraph_persistence::Store;
use std::sync::Arc;

/// The authenticated side of one request, built by the server.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub actor: Actor,
    /// The person behind the actor (none for integrations).
    pub person: Option<Person>,
    pub settings: OrganizationSettings,
    pub request_id: String,
}

/// Everything a request needs, inserted into the request's data.
pub struct RequestData {
    pub store: Store,
    pub ctx: RequestContext,
    pub loaders: Loaders,
    /// The request's one "now": every computed number uses it.
    pub now: chrono::DateTime<chrono::Utc>,
    /// How subscriptions treat live events.
    pub live: LiveMode,
}

/// Shorthand for resolvers.
pub(crate) fn data<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a RequestData> {
    // Missing only if the server forgot to authenticate: never serve then.
    ctx.data::<RequestData>().map_err(|_| ApiError::Unauthenticated)
}

/// Executes one operation as `ctx`'s actor, with fresh DataLoaders whose
/// fetches run in level-synchronous waves (see [`crate::waves`]).
pub async fn execute(
    schema: &AppSchema,
    store: &Store,
    ctx: RequestContext,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let waves = Waves::default();
    let now = chrono::Utc::now();
    let loaders = Loaders::new(store.clone(), ctx.actor.clone(), ctx.settings.clone(), now, &waves);
    // Every audit event the operation's mutations write names its request.
    let request_id = ctx.request_id.clone();
    let data = RequestData { store: store.clone(), ctx, loaders, now, live: LiveMode::Filtered };
    // Boxed: an operation's future is large and would otherwise sit on the
    // caller's stack.
    let run = Box::pin(waves.run(schema.execute(request.data(data))));
    goalgraph_persistence::with_request_id(request_id, run).await
}

/// The actor of a request, resolved by the server once its document has
/// passed parsing and validation: a document refused by the limits or the
/// validation rules never reaches the database (looking up the person or
/// the API key is SQL). An error is the operation's only error.
pub type DeferredContext =
    futures_util::future::BoxFuture<'static, Result<RequestContext, async_graphql::ServerError>>;

/// An operation's answer from [`execute_deferred`].
#[derive(Debug)]
pub struct Answer {
    pub response: async_graphql::Response,
    /// The `data` of a query the compiled read path answered, as the JSON
    /// text to send as it is ([`crate::compiled`]; valid JSON, UTF-8, by
    /// construction); `response` then holds neither data nor errors.
    pub data: Option<Vec<u8>>,
}

impl From<async_graphql::Response> for Answer {
    fn from(response: async_graphql::Response) -> Self {
        Self { response, data: None }
    }
}

impl Answer {
    /// The response with its data in it (parsed, when it is text).
    pub fn into_response(self) -> async_graphql::Response {
        match self.data {
            Some(data) => parsed_response(&data),
            None => self.response,
        }
    }
}

/// A compiled read's data text as a response, read into a value.
fn parsed_response(data: &[u8]) -> async_graphql::Response {
    match serde_json::from_slice::<async_graphql::Value>(data) {
        Ok(value) => async_graphql::Response::new(value),
        Err(_) => internal_response(),
    }
}

/// A response with the one INTERNAL error.
fn internal_response() -> async_graphql::Response {
    let error = async_graphql::Error::from(ApiError::Internal);
    let mut error_out = ServerError::new(error.message, None);
    error_out.extensions = error.extensions;
    async_graphql::Response::from_errors(vec![error_out])
}

/// Executes one operation like [`execute`], but with an actor that
/// [`RequestGate`] resolves only when execution starts.
pub async fn execute_deferred(
    schema: &AppSchema,
    store: &Store,
    context: DeferredContext,
    request: async_graphql::Request,
) -> Answer {
    let waves = Waves::default();
    let compiled = Arc::new(std::sync::Mutex::new(None));
    let deferred = Deferred {
        store: store.clone(),
        waves: waves.clone(),
        context: std::sync::Mutex::new(Some(context)),
        compiled: compiled.clone(),
    };
    // Boxed like [`execute`]'s.
    let response = Box::pin(waves.run(schema.execute(request.data(deferred)))).await;
    let data = compiled.lock().ok().and_then(|mut c| c.take());
    Answer { response, data }
}

/// What [`execute_deferred`] leaves for [`RequestGate`].
struct Deferred {
    store: Store,
    waves: Waves,
    context: std::sync::Mutex<Option<DeferredContext>>,
    /// Where the gate leaves a compiled answer's data.
    compiled: Arc<std::sync::Mutex<Option<Vec<u8>>>>,
}

/// What the server checks once an operation has passed validation, given
/// its complexity (the rate budgets); an error refuses the operation.
pub trait CostCheck: Send + Sync + 'static {
    fn check(&self, ctx: &ExtensionContext<'_>, complexity: usize) -> Result<(), Vec<ServerError>>;
}

/// The schema's one extension: it charges a validated operation's cost
/// ([`CostCheck`]), builds a deferred request's data when execution
/// starts, after every check on the document, and answers a query the
/// compiled read path recognises ([`crate::compiled`]) with one statement.
///
/// One extension, not one per concern: with any extension installed,
/// async-graphql runs every field's resolution through the chain of all of
/// them, one boxed future per extension and field.
pub(crate) struct RequestGate {
    pub(crate) cost: Option<Arc<dyn CostCheck>>,
    /// Whether recognised queries take the compiled read path.
    pub(crate) compiled_reads: bool,
    /// The compiled plan of this request's document, if any.
    plan: std::sync::Mutex<Option<Plan>>,
}

impl RequestGate {
    pub(crate) fn new(cost: Option<Arc<dyn CostCheck>>, compiled_reads: bool) -> Self {
        Self { cost, compiled_reads, plan: std::sync::Mutex::new(None) }
    }

    fn take_plan(&self) -> Option<Plan> {
        self.plan.lock().ok().and_then(|mut p| p.take())
    }
}

impl ExtensionFactory for RequestGate {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestGate::new(self.cost.clone(), self.compiled_reads))
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequestGate {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        if self.compiled_reads
            && let Some(plan) = Plan::of(&ctx.schema_env.registry, &doc, variables)
            && let Ok(mut slot) = self.plan.lock()
        {
            *slot = Some(plan);
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if let Some(cost) = &self.cost {
            cost.check(ctx, result.complexity)?;
        }
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> async_graphql::Response {
        // Runs only once the document passed parsing and validation.
        let plan = self.take_plan();
        let Some(deferred) = ctx.data_opt::<Deferred>() else {
            if let (Some(plan), Some(data)) = (&plan, ctx.data_opt::<RequestData>())
                && let Some(answer) = plan.run(operation_name, data).await
            {
                return parsed_response(&answer);
            }
            return next.run(ctx, operation_name).await;
        };
        let context = deferred.context.lock().ok().and_then(|mut c| c.take());
        let Some(context) = context else {
            // Executed twice: never happens, as each request executes once.
            return internal_response();
        };
        let ctx_data = match context.await {
            Ok(request_ctx) => request_ctx,
            Err(error) => return async_graphql::Response::from_errors(vec![error]),
        };
        let now = chrono::Utc::now();
        let loaders = Loaders::new(
            deferred.store.clone(),
            ctx_data.actor.clone(),
            ctx_data.settings.clone(),
            now,
            &deferred.waves,
        );
        // Every audit event the operation's mutations write names its request.
        let request_id = ctx_data.request_id.clone();
        let request_data = RequestData {
            store: deferred.store.clone(),
            ctx: ctx_data,
            loaders,
            now,
            live: LiveMode::Filtered,
        };
        if let Some(plan) = &plan
            && let Some(answer) = plan.run(operation_name, &request_data).await
            && let Ok(mut slot) = deferred.compiled.lock()
        {
            // Sent as it is by the server: see [`Answer`].
            *slot = Some(answer);
            return async_graphql::Response::new(async_graphql::Value::Null);
        }
        let mut data = async_graphql::Data::default();
        data.insert(request_data);
        goalgraph_persistence::with_request_id(request_id, next.run_with_data(ctx, operation_name, data))
            .await
    }
}

/// What an operation streamed over a socket yields.
#[derive(Debug)]
pub enum StreamItem {
    Response(Box<async_graphql::Response>),
    /// The `payload` of a `next` message, already serialised once for
    /// every subscriber of a shared subscription that may see it.
    Shared(std::sync::Arc<str>),
}

/// How a subscription resolver treats live events.
#[derive(Clone, Default)]
pub enum LiveMode {
    /// One subscriber: every event decided for its actor (the default).
    #[default]
    Filtered,
    /// Only the subscribe-time checks run; the stream is empty.
    Probe,
    /// The one execution of a shared subscription: events are not filtered
    /// (each member decides for itself) and each is recorded in the slot.
    Group(std::sync::Arc<crate::shared::GroupSlot>),
}

/// Runs one operation as a stream (a subscription yields one item per
/// event; a query or mutation one and ends). The WebSocket transport drives
/// it; nothing here knows the socket. Subscriptions that many clients make
/// alike run once per process and are shared (see [`crate::shared`]).
pub fn execute_stream(
    schema: &AppSchema,
    store: &Store,
    ctx: RequestContext,
    request: async_graphql::Request,
) -> futures_util::stream::BoxStream<'static, StreamItem> {
    use futures_util::StreamExt;
    let schema = schema.clone();
    let store = store.clone();
    let doc = async_graphql::parser::parse_query(&request.query).ok();
    let operation =
        doc.as_ref().and_then(|doc| crate::shared::operation(doc, request.operation_name.as_deref()));
    let is_subscription =
        operation.is_some_and(|op| op.node.ty == async_graphql::parser::types::OperationType::Subscription);
    // A query or mutation sent over the socket runs like one over HTTP (with
    // its loaders in waves); a subscription streams.
    if !is_subscription {
        return futures_util::stream::once(async move {
            StreamItem::Response(Box::new(execute(&schema, &store, ctx, request).await))
        })
        .boxed();
    }
    if operation.is_some_and(|op| crate::shared::shareable(op, &request.variables)) {
        return crate::shared::member_stream(schema, store, ctx, request);
    }
    subscription_stream(&schema, &store, ctx, request, LiveMode::Filtered)
        .map(|r| StreamItem::Response(Box::new(r)))
        .boxed()
}

/// A subscription executed for one request data.
pub(crate) fn subscription_stream(
    schema: &AppSchema,
    store: &Store,
    ctx: RequestContext,
    request: async_graphql::Request,
    live: LiveMode,
) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
    use futures_util::StreamExt;
    let now = chrono::Utc::now();
    let waves = Waves::default();
    let loaders = Loaders::new(store.clone(), ctx.actor.clone(), ctx.settings.clone(), now, &waves);
    let data = RequestData { store: store.clone(), ctx, loaders, now, live };
    schema.execute_stream(request.data(data)).boxed()
}
