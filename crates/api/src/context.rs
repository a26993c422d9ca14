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
