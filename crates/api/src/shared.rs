//! Shared subscriptions: the same subscription made by many clients runs
//! once per process.
//!
//! A dashboard shown to ten thousand people sends ten thousand identical
//! subscription documents. Executing each would keep ten thousand parsed
//! documents and resolver states, and resolve and serialise every event ten
//! thousand times. Instead, subscriptions of one tenant with the same
//! document, operation name and variables form a group: one execution (the
//! group's) resolves each event once, without filtering it, and serialises
//! it once; each member decides through the policy, with its own cached
//! actor and the facts the event carries, whether it may see the event, and
//! forwards the shared payload. Every member is first checked at subscribe
//! time by running its own request in probe mode, exactly as an unshared
//! subscription would be (NOT_FOUND for what it may not see).
//!
//! Shared are subscriptions whose result does not depend on who reads it:
//! `keyResultProgress`, `objectiveProgress` and `kpiStatus` without `after`
//! (a resuming client replays from its own cursor, and `alignmentChanged`
//! names parents by the reader's rights), each alone in its operation.

use crate::AppSchema;
use crate::context::{LiveMode, RequestContext, StreamItem, subscription_stream};
use crate::error::ApiError;
use crate::live::{Principal, visible};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, Selection};
use async_graphql::{Positioned, Value, Variables};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use goalgraph_domain::OrganizationId;
use goalgraph_persistence::{Delivery, LiveHub, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

/// Root fields whose events read the same for everyone allowed to see them.
const SHAREABLE: [&str; 3] = ["keyResultProgress", "objectiveProgress", "kpiStatus"];

/// Events a member may fall behind its group by.
const GROUP_CAPACITY: usize = 1024;

/// The operation a request runs.
pub(crate) fn operation<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    }
}

/// Whether the subscription can run shared: one shareable root field and
/// no `after` (absent, null, or a variable that is null or unset).
pub(crate) fn shareable(op: &Positioned<OperationDefinition>, variables: &Variables) -> bool {
    let items = &op.node.selection_set.node.items;
    let [item] = items.as_slice() else { return false };
    let Selection::Field(field) = &item.node else { return false };
    if !SHAREABLE.contains(&field.node.name.node.as_str()) {
        return false;
    }
    // `after` absent, or null once variables are substituted.
    match field.node.get_argument("after") {
        None => true,
        Some(after) => after
            .node
            .clone()
            .into_const_with(|name| Ok::<_, ()>(variables.get(name.as_str()).cloned().unwrap_or(Value::Null)))
            .is_ok_and(|v| v == Value::Null),
    }
}

/// An event of a group: what a member decides on, and what it forwards.
struct SharedEvent {
    delivery: Arc<Delivery>,
    payload: Arc<str>,
}

/// Filled by the group's execution: the event being resolved, and whether
/// it listens to the hub yet.
pub struct GroupSlot {
    current: Mutex<Option<Arc<Delivery>>>,
    ready: watch::Sender<bool>,
}

impl GroupSlot {
    pub(crate) fn listening(&self) {
        self.ready.send_replace(true);
    }

    pub(crate) fn resolving(&self, delivery: &Arc<Delivery>) {
        if let Ok(mut current) = self.current.lock() {
            *current = Some(delivery.clone());
        }
    }

    fn take(&self) -> Option<Arc<Delivery>> {
        self.current.lock().ok().and_then(|mut c| c.take())
    }
}

/// A running group. Members hold it; the last one to leave stops its
/// execution.
struct Group {
    sender: broadcast::Sender<Arc<SharedEvent>>,
    ready: watch::Receiver<bool>,
    task: tokio::task::AbortHandle,
}

impl Drop for Group {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    org: OrganizationId,
    query: String,
    operation: Option<String>,
    variables: String,
}

/// The groups of one process (kept with its live hub).
#[derive(Default)]
pub(crate) struct Groups {
    groups: Mutex<HashMap<GroupKey, Weak<Group>>>,
}

impl Groups {
    /// The running group of `key`, or a new one executing `request` as `ctx`.
    fn join(
        &self,
        key: GroupKey,
        start: impl FnOnce() -> Group,
    ) -> (Arc<Group>, broadcast::Receiver<Arc<SharedEvent>>) {
        let mut groups = self.groups.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(group) = groups.get(&key).and_then(Weak::upgrade) {
            let receiver = group.sender.subscribe();
            return (group, receiver);
        }
        groups.retain(|_, g| g.strong_count() > 0);
        let group = Arc::new(start());
        let receiver = group.sender.subscribe();
        groups.insert(key, Arc::downgrade(&group));
        (group, receiver)
    }
}

/// A request with the same document, operation and variables (requests
/// carry data, so they are not `Clone`).
fn copy_request(request: &async_graphql::Request) -> async_graphql::Request {
    let mut copy = async_graphql::Request::new(request.query.clone()).variables(request.variables.clone());
    copy.operation_name = request.operation_name.clone();
    copy.extensions = request.extensions.clone();
    copy
}

/// The group's one execution: resolves and serialises each event once.
async fn run_group(
    schema: AppSchema,
    store: Store,
    ctx: RequestContext,
    request: async_graphql::Request,
    slot: Arc<GroupSlot>,
    sender: broadcast::Sender<Arc<SharedEvent>>,
) {
    let mut stream = subscription_stream(&schema, &store, ctx, request, LiveMode::Group(slot.clone()));
    while let Some(response) = stream.next().await {
        let Some(delivery) = slot.take() else { continue };
        if !response.errors.is_empty() {
            // The group's stream fails for everyone alike (it fell behind
            // the hub): members are told to resubscribe.
            tracing::warn!(errors = ?response.errors, "a shared subscription ended");
            return;
        }
        match serde_json::to_string(&response) {
            Ok(payload) => {
                let _ = sender.send(Arc::new(SharedEvent { delivery, payload: payload.into() }));
            }
            Err(e) => tracing::error!(error = %e, "serialising a shared event failed"),
        }
    }
}

/// Counts a member with the hub while it lives.
struct Member(LiveHub);

impl Drop for Member {
    fn drop(&mut self) {
        self.0.add_members(-1);
    }
}

fn failure(error: ApiError) -> StreamItem {
    StreamItem::Response(Box::new(async_graphql::Response::from_errors(vec![
        async_graphql::Error::from(error).into_server_error(async_graphql::Pos::default()),
    ])))
}

/// What a member keeps while it listens: its receiver of the group's
/// events, its actor, and handles. Kept apart from the setup so an idle
/// member's allocation holds only this.
struct Listening {
    receiver: broadcast::Receiver<Arc<SharedEvent>>,
    principal: Principal,
    hub: LiveHub,
    _member: Member,
    _group: Arc<Group>,
}

/// Checks the subscriber, then joins (or starts) its group; an item to end
/// with when it may not listen.
async fn join(
    schema: AppSchema,
    store: Store,
    ctx: RequestContext,
    request: async_graphql::Request,
) -> Result<Box<Listening>, StreamItem> {
    // The subscribe-time checks, for this actor.
    let mut probe =
        subscription_stream(&schema, &store, ctx.clone(), copy_request(&request), LiveMode::Probe);
    if let Some(response) = probe.next().await {
        return Err(StreamItem::Response(Box::new(response)));
    }
    drop(probe);
    let hub = store.live().await.map_err(|e| failure(e.into()))?;
    let groups = hub.extension::<Groups>().ok_or_else(|| failure(ApiError::Internal))?;
    let key = GroupKey {
        org: ctx.actor.organization_id,
        query: request.query.clone(),
        operation: request.operation_name.clone(),
        variables: serde_json::to_string(&request.variables).unwrap_or_default(),
    };
    let (group, receiver) = groups.join(key, || {
        let (sender, _) = broadcast::channel(GROUP_CAPACITY);
        let (ready_tx, ready) = watch::channel(false);
        let slot = Arc::new(GroupSlot { current: Mutex::new(None), ready: ready_tx });
        let task = tokio::spawn(run_group(
            schema.clone(),
            store.clone(),
            ctx.clone(),
            copy_request(&request),
            slot,
            sender.clone(),
        ));
        Group { sender, ready, task: task.abort_handle() }
    });
    // Listening only once the group's execution listens to the hub: no
    // event committed after this point is missed.
    let mut ready = group.ready.clone();
    ready.wait_for(|r| *r).await.map_err(|_| failure(ApiError::Internal))?;
    hub.add_members(1);
    let member = Member(hub.clone());
    let principal = Principal::from_context(&store, ctx, &hub);
    Ok(Box::new(Listening { receiver, principal, hub, _member: member, _group: group }))
}

/// The next event the member may see, or the item it ends with.
async fn next_event(state: &mut Listening) -> Result<StreamItem, StreamItem> {
    loop {
        let event = match state.receiver.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(n)) => {
                return Err(failure(ApiError::Conflict {
                    message: format!(
                        "this subscriber fell behind by {n} events: subscribe again, with `after` \
                         set to the last cursor received"
                    ),
                }));
            }
            Err(RecvError::Closed) => {
                return Err(failure(ApiError::Conflict {
                    message: "the live stream ended: subscribe again".to_owned(),
                }));
            }
        };
        // Boxed: rebuilding the actor is rare, its future large.
        match Box::pin(visible(&mut state.principal, &state.hub, &event.delivery)).await {
            Ok(true) => return Ok(StreamItem::Shared(event.payload.clone())),
            Ok(false) => {}
            Err(e) => return Err(failure(e)),
        }
    }
}

/// One member's stream: checked at subscribe time like any subscription,
/// then the group's events it may see.
pub(crate) fn member_stream(
    schema: AppSchema,
    store: Store,
    ctx: RequestContext,
    request: async_graphql::Request,
) -> BoxStream<'static, StreamItem> {
    // The setup runs in a box of its own, freed once the member listens.
    let setup = Box::pin(join(schema, store, ctx, request));
    futures_util::stream::once(setup)
        .flat_map(|joined| match joined {
            Err(item) => futures_util::stream::once(std::future::ready(item)).boxed(),
            Ok(state) => futures_util::stream::unfold(Some(state), |state| async move {
                let mut state = state?;
                match next_event(&mut state).await {
                    Ok(item) => Some((item, Some(state))),
                    // The last item ends the stream.
                    Err(item) => Some((item, None)),
                }
            })
            .boxed(),
        })
        .boxed()
}
