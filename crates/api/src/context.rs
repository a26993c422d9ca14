//! What every resolver of one request can reach: the store, the actor and
//! the request's DataLoaders (built per request, so batching and caching
//! never cross actors).

use crate::error::{ApiError, ApiResult};
use crate::loaders::Loaders;
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
}

impl RequestData {
    pub fn new(store: Store, ctx: RequestContext) -> Self {
        let loaders = Loaders::new(store.clone(), ctx.actor.clone());
        Self { store, ctx, loaders }
    }
}

/// Shorthand for resolvers.
pub(crate) fn data<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a RequestData> {
    // Missing only if the server forgot to authenticate: never serve then.
    ctx.data::<RequestData>().map_err(|_| ApiError::Unauthenticated)
}

/// Attaches a request's data to a GraphQL request.
pub fn attach(request: async_graphql::Request, data: RequestData) -> async_graphql::Request {
    request.data(data)
}
