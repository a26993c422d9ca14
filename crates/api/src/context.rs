//! What every resolver of one request can reach: the store, the actor and
//! the request's DataLoaders (built per request, so batching and caching
//! never cross actors).

use crate::AppSchema;
use crate::error::{ApiError, ApiResult};
use crate::loaders::Loaders;
use crate::waves::Waves;
use async_graphql::Context;
use goalgraph_domain::model::Person;
use goalgraph_domain::policy::Actor;
use goalgraph_domain::settings::OrganizationSettings;
use goalgraph_persistence::Store;

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
    let data = RequestData { store: store.clone(), ctx, loaders, now };
    waves.run(schema.execute(request.data(data))).await
}

/// Runs one operation as a stream of responses (a subscription yields one
/// per event; a query or mutation yields one and ends). The WebSocket
/// transport drives it; nothing here knows the socket.
pub fn execute_stream(
    schema: &AppSchema,
    store: &Store,
    ctx: RequestContext,
    request: async_graphql::Request,
) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
    use futures_util::StreamExt;
    let schema = schema.clone();
    let store = store.clone();
    // A query or mutation sent over the socket runs like one over HTTP (with
    // its loaders in waves); a subscription streams.
    let is_subscription = async_graphql::parser::parse_query(&request.query).ok().is_some_and(|doc| {
        use async_graphql::parser::types::{DocumentOperations, OperationType};
        match (&doc.operations, &request.operation_name) {
            (DocumentOperations::Single(op), _) => op.node.ty == OperationType::Subscription,
            (DocumentOperations::Multiple(ops), Some(name)) => {
                ops.get(name.as_str()).is_some_and(|op| op.node.ty == OperationType::Subscription)
            }
            (DocumentOperations::Multiple(ops), None) => {
                ops.len() == 1 && ops.values().all(|op| op.node.ty == OperationType::Subscription)
            }
        }
    });
    if !is_subscription {
        return futures_util::stream::once(async move { execute(&schema, &store, ctx, request).await })
            .boxed();
    }
    let now = chrono::Utc::now();
    let waves = Waves::default();
    let loaders = Loaders::new(store.clone(), ctx.actor.clone(), ctx.settings.clone(), now, &waves);
    let data = RequestData { store, ctx, loaders, now };
    schema.execute_stream(request.data(data)).boxed()
}
