//! The subscription root: live key-result progress, objective rollups,
//! KPI status and alignment changes.
//!
//! A subscription is authorized when it starts exactly as a query of the
//! same object would be (a hidden object answers NOT_FOUND), and every event
//! again at delivery, in memory: the event carries the policy's facts, and
//! the subscriber's actor is cached, rebuilt only when the tenant's
//! directory changed. Events come from the process's [`LiveHub`], which
//! reads each one from the database once for all subscribers.

use crate::context::{LiveMode, RequestData, data};
use crate::error::{ApiError, ApiResult};
use crate::ids::{NodeType, decode_id, encode_id};
use crate::types::enums::{Health, KpiStatus, ObjectiveStatus};
use async_graphql::{Context, Enum, ID, Object, Subscription};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use goalgraph_domain::live::{EventCursor, LiveBody};
use goalgraph_domain::model::RoleSet;
use goalgraph_domain::policy::{self, Action, Actor, Resource};
use goalgraph_domain::settings::OrganizationSettings;
use goalgraph_domain::{KeyResultId, KpiId, ObjectiveId, PeriodId, UnitId};
use goalgraph_persistence::{Delivery, KpiRef, LiveError, Route, Store};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Cursors of events: opaque to clients.
fn encode_event_cursor(c: EventCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("ev:{}", c.encode()))
}

fn decode_event_cursor(raw: &str) -> ApiResult<EventCursor> {
    let bad = || ApiError::bad_input("after", "is not an event cursor");
    let bytes = URL_SAFE_NO_PAD.decode(raw.as_bytes()).map_err(|_| bad())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
    let inner = text.strip_prefix("ev:").ok_or_else(bad)?;
    EventCursor::decode(inner).map_err(|_| bad())
}

/// The subscriber's actor, rebuilt when the tenant's directory changed
/// (roles, units, line managers): one statement per change per
/// subscription, never one per event.
pub(crate) struct Principal {
    store: Store,
    actor: Actor,
    /// The person behind the actor (none for integrations), by tenant and id.
    person: Option<(goalgraph_domain::OrganizationId, goalgraph_domain::PersonId)>,
    /// Roles the credential granted beyond the person's record.
    extra_roles: RoleSet,
    seen: u64,
    /// The hub's directory epoch when `seen` was checked.
    epoch: u64,
}

impl Principal {
    fn new(d: &RequestData, hub: &goalgraph_persistence::LiveHub) -> Self {
        Self::from_context(&d.store, d.ctx.clone(), hub)
    }

    /// Taken before any event it decides on is received.
    pub(crate) fn from_context(
        store: &Store,
        ctx: crate::context::RequestContext,
        hub: &goalgraph_persistence::LiveHub,
    ) -> Self {
        let epoch = hub.directory_epoch();
        let seen = hub.directory_version(ctx.actor.organization_id, ctx.actor.person_id());
        let extra_roles = match &ctx.person {
            Some(p) => RoleSet::new(ctx.actor.roles.iter().filter(|r| !p.roles.contains(*r))),
            None => RoleSet::default(),
        };
        let person = ctx.person.map(|p| (p.organization_id, p.id));
        Self { store: store.clone(), actor: ctx.actor, person, extra_roles, seen, epoch }
    }

    /// The actor as the directory holds it now; `None` when the person is gone.
    async fn current(&mut self, hub: &goalgraph_persistence::LiveHub) -> ApiResult<Option<&Actor>> {
        let epoch = hub.directory_epoch();
        if epoch == self.epoch {
            return Ok(Some(&self.actor));
        }
        self.epoch = epoch;
        let version = hub.directory_version(self.actor.organization_id, self.actor.person_id());
        if version != self.seen {
            if let Some((org, person)) = self.person {
                match self.store.refresh_person_actor(org, person, &self.extra_roles).await? {
                    Some((actor, _)) => self.actor = actor,
                    None => return Ok(None),
                }
            }
            self.seen = version;
        }
        Ok(Some(&self.actor))
    }
}

/// Events of `route` the subscriber may see, from after `after` (replayed
/// from the outbox) or from now, in cursor order, each at most once, each
/// rendered with the subscriber's actor as it is at delivery.
async fn events<T: Send + 'static>(
    ctx: &Context<'_>,
    route: Route,
    after: Option<String>,
    mut render: impl FnMut(&Actor, Arc<Delivery>) -> T + Send + 'static,
) -> ApiResult<BoxStream<'static, ApiResult<T>>> {
    let d = data(ctx)?;
    let after = after.as_deref().map(decode_event_cursor).transpose()?;
    let org = d.ctx.actor.organization_id;
    let slot = match &d.live {
        // The subscribe-time checks have passed: nothing to stream.
        LiveMode::Probe => return Ok(Box::pin(futures_util::stream::empty())),
        LiveMode::Group(slot) => Some(slot.clone()),
        LiveMode::Filtered => None,
    };
    let hub = d.store.live().await?;
    if slot.is_some() {
        // The hub's receiver of a shared subscription is the group's, not a
        // subscriber of its own.
        hub.add_members(-1);
    }
    let mut sub = hub.subscribe(org, route);
    if let Some(slot) = slot {
        // A shared subscription's one execution: every event of the route,
        // each member deciding for itself.
        slot.listening();
        let actor = d.ctx.actor.clone();
        let stream = async_stream::stream! {
            let _uncounted = Uncounted(hub);
            loop {
                match sub.receiver.recv().await {
                    Ok(delivery) => {
                        slot.resolving(&delivery);
                        yield Ok(render(&actor, delivery));
                    }
                    Err(RecvError::Lagged(n)) => {
                        yield Err(ApiError::Conflict { message: format!("the shared subscription fell behind by {n} events") });
                        return;
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        };
        return Ok(Box::pin(stream));
    }
    let mut principal = Principal::new(d, &hub);
    let replay = match after {
        Some(after) => match d.store.live_replay(org, route, after, sub.start).await? {
            Ok(events) => events,
            Err(LiveError::Expired) => {
                return Err(ApiError::Conflict {
                    message: "the events after this cursor are no longer retained: refetch the current \
                              state and subscribe again without `after`"
                        .to_owned(),
                });
            }
            Err(e @ LiveError::Lagged(_)) => return Err(ApiError::Conflict { message: e.to_string() }),
        },
        None => Vec::new(),
    };
    let mut last = after.unwrap_or_default().max(sub.start);
    let stream = async_stream::stream! {
        for event in replay {
            last = last.max(event.cursor);
            let delivery = Arc::new(Delivery::new(event));
            match visible(&mut principal, &hub, &delivery).await {
                Ok(true) => yield Ok(render(&principal.actor, delivery)),
                Ok(false) => {}
                Err(e) => { yield Err(e); return; }
            }
        }
        loop {
            let delivery = match sub.receiver.recv().await {
                Ok(d) => d,
                Err(RecvError::Lagged(n)) => {
                    yield Err(ApiError::Conflict {
                        message: format!(
                            "this subscriber fell behind by {n} events: subscribe again with \
                             `after` set to the last cursor received"
                        ),
                    });
                    return;
                }
                Err(RecvError::Closed) => return,
            };
            if delivery.event.cursor <= last {
                continue;
            }
            last = delivery.event.cursor;
            match visible(&mut principal, &hub, &delivery).await {
                Ok(true) => yield Ok(render(&principal.actor, delivery)),
                Ok(false) => {}
                Err(e) => { yield Err(e); return; }
            }
        }
    };
    Ok(Box::pin(stream))
}

/// Gives back the count a group's receiver took out of the hub's
/// subscribers, when the receiver goes.
struct Uncounted(goalgraph_persistence::LiveHub);

impl Drop for Uncounted {
    fn drop(&mut self) {
        self.0.add_members(1);
    }
}

/// May the subscriber see this event now? The policy decides, on the
/// facts the event carries.
pub(crate) async fn visible(
    principal: &mut Principal,
    hub: &goalgraph_persistence::LiveHub,
    d: &Delivery,
) -> ApiResult<bool> {
    let org = d.event.organization_id;
    let Some(actor) = principal.current(hub).await? else {
        return Err(ApiError::Unauthenticated);
    };
    let resource = match &d.event.body {
        LiveBody::KeyResult(k) => k.resource(org),
        LiveBody::Objective(o) => o.resource(org),
        LiveBody::Kpi(k) => k.resource(org),
        LiveBody::Alignment(a) => a.resource(org),
        LiveBody::Directory { .. } => return Ok(false),
    };
    Ok(policy::authorize(actor, Action::Subscribe, &resource).is_ok())
}

/// Checks at subscribe time that the actor may subscribe to `resource`.
fn may_subscribe(actor: &Actor, resource: &Resource) -> ApiResult<()> {
    Ok(policy::authorize(actor, Action::Subscribe, resource)?)
}

/// A check-in as a live event shows it.
pub struct LiveCheckIn(goalgraph_domain::okr::CheckIn);

#[Object]
impl LiveCheckIn {
    async fn id(&self) -> ID {
        encode_id(NodeType::CheckIn, self.0.id.0)
    }
    async fn value(&self) -> f64 {
        self.0.value
    }
    async fn confidence(&self) -> Option<f64> {
        self.0.confidence
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn author_id(&self) -> Option<ID> {
        self.0.author_id.map(|p| encode_id(NodeType::Person, p.0))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A key result moved.
pub struct KeyResultProgressEvent {
    delivery: Arc<Delivery>,
    settings: OrganizationSettings,
}

impl KeyResultProgressEvent {
    fn change(&self) -> ApiResult<&goalgraph_domain::live::KeyResultChange> {
        match &self.delivery.event.body {
            LiveBody::KeyResult(k) => Ok(k),
            _ => Err(ApiError::Internal),
        }
    }
}

#[Object]
impl KeyResultProgressEvent {
    /// Give it as `after` when resubscribing to get what came later.
    async fn cursor(&self) -> String {
        encode_event_cursor(self.delivery.event.cursor)
    }
    /// When the change committed.
    async fn at(&self) -> DateTime<Utc> {
        self.delivery.event.at
    }
    async fn key_result_id(&self) -> ApiResult<ID> {
        Ok(encode_id(NodeType::KeyResult, self.change()?.key_result_id.0))
    }
    async fn objective_id(&self) -> ApiResult<ID> {
        Ok(encode_id(NodeType::Objective, self.change()?.objective_id.0))
    }
    /// The key result's current value.
    async fn value(&self) -> ApiResult<f64> {
        Ok(self.change()?.value)
    }
    async fn progress(&self) -> ApiResult<f64> {
        Ok(self.change()?.progress)
    }
    async fn confidence(&self) -> ApiResult<Option<f64>> {
        Ok(self.change()?.confidence)
    }
    /// Health when the change committed.
    async fn health(&self) -> ApiResult<Health> {
        Ok(self.change()?.health(self.delivery.event.at, &self.settings).into())
    }
    /// The check-in that moved it; null when a KPI measurement or an edit did.
    async fn check_in(&self) -> ApiResult<Option<LiveCheckIn>> {
        Ok(self.change()?.check_in.clone().map(LiveCheckIn))
    }
}

/// An objective's progress or health changed.
pub struct ObjectiveProgressEvent {
    delivery: Arc<Delivery>,
    objective_id: ObjectiveId,
    numbers: Option<goalgraph_domain::formulas::Numbers>,
}

#[Object]
impl ObjectiveProgressEvent {
    async fn cursor(&self) -> String {
        encode_event_cursor(self.delivery.event.cursor)
    }
    async fn at(&self) -> DateTime<Utc> {
        self.delivery.event.at
    }
    async fn objective_id(&self) -> ID {
        encode_id(NodeType::Objective, self.objective_id.0)
    }
    async fn progress(&self) -> f64 {
        self.numbers.map_or(0.0, |n| n.progress)
    }
    async fn expected_progress(&self) -> f64 {
        self.numbers.map_or(0.0, |n| n.expected)
    }
    /// The worst health among its inputs; null when it has none.
    async fn health(&self) -> Option<Health> {
        self.numbers.and_then(|n| n.health).map(Into::into)
    }
}

/// Measurements of a KPI were recorded.
pub struct KpiStatusEvent(Arc<Delivery>);

impl KpiStatusEvent {
    fn change(&self) -> ApiResult<&goalgraph_domain::live::KpiChange> {
        match &self.0.event.body {
            LiveBody::Kpi(k) => Ok(k),
            _ => Err(ApiError::Internal),
        }
    }
}

#[Object]
impl KpiStatusEvent {
    async fn cursor(&self) -> String {
        encode_event_cursor(self.0.event.cursor)
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.event.at
    }
    async fn kpi_id(&self) -> ApiResult<ID> {
        Ok(encode_id(NodeType::Kpi, self.change()?.kpi_id.0))
    }
    /// The status after the measurements.
    async fn status(&self) -> ApiResult<KpiStatus> {
        Ok(self.change()?.status.into())
    }
    async fn previous_status(&self) -> ApiResult<KpiStatus> {
        Ok(self.change()?.previous_status.into())
    }
    /// Whether the measurements changed the status.
    async fn changed(&self) -> ApiResult<bool> {
        let c = self.change()?;
        Ok(c.status != c.previous_status)
    }
    async fn latest_value(&self) -> ApiResult<Option<f64>> {
        Ok(self.change()?.latest_value)
    }
    async fn latest_observed_at(&self) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(self.change()?.latest_observed_at)
    }
    /// Points recorded by the call (one event per call).
    async fn points(&self) -> ApiResult<u64> {
        Ok(self.change()?.points)
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "goalgraph_domain::live::AlignmentChangeKind")]
pub enum AlignmentChangeKind {
    Created,
    Reparented,
    /// Activated, completed or cancelled.
    StatusChanged,
    /// Who may see it changed.
    VisibilityChanged,
}

/// An objective of the period was created, re-parented, finished or
/// cancelled, or changed who may see it.
pub struct AlignmentEvent {
    delivery: Arc<Delivery>,
    /// The parents the subscriber may see; a hidden one is not named.
    parent: Option<ObjectiveId>,
    previous_parent: Option<ObjectiveId>,
}

impl AlignmentEvent {
    fn change(&self) -> ApiResult<&goalgraph_domain::live::AlignmentChange> {
        match &self.delivery.event.body {
            LiveBody::Alignment(a) => Ok(a),
            _ => Err(ApiError::Internal),
        }
    }
}

#[Object]
impl AlignmentEvent {
    async fn cursor(&self) -> String {
        encode_event_cursor(self.delivery.event.cursor)
    }
    async fn at(&self) -> DateTime<Utc> {
        self.delivery.event.at
    }
    async fn kind(&self) -> ApiResult<AlignmentChangeKind> {
        Ok(self.change()?.kind.into())
    }
    async fn objective_id(&self) -> ApiResult<ID> {
        Ok(encode_id(NodeType::Objective, self.change()?.objective_id.0))
    }
    async fn period_id(&self) -> ApiResult<ID> {
        Ok(encode_id(NodeType::Period, self.change()?.period_id.0))
    }
    async fn status(&self) -> ApiResult<ObjectiveStatus> {
        Ok(self.change()?.status.into())
    }
    /// The parent it aligns to now, when the subscriber may see it.
    async fn parent_id(&self) -> Option<ID> {
        self.parent.map(|p| encode_id(NodeType::Objective, p.0))
    }
    /// The parent it aligned to before a re-parenting, when visible.
    async fn previous_parent_id(&self) -> Option<ID> {
        self.previous_parent.map(|p| encode_id(NodeType::Objective, p.0))
    }
}

fn exactly_one<'a>(fields: &[(&'a str, bool)]) -> ApiResult<&'a str> {
    let given: Vec<&str> = fields.iter().filter(|(_, set)| *set).map(|(n, _)| *n).collect();
    match given.as_slice() {
        [one] => Ok(one),
        _ => {
            let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
            Err(ApiError::bad_input(names.join("|"), format!("give exactly one of {}", names.join(", "))))
        }
    }
}

/// Each check-in (or linked-KPI measurement, or edit of its numbers)
/// that moves a key result: of one key result, of an objective's key
/// results, or of the key results of objectives owned in a unit and
/// below it. Give exactly one id.
async fn key_result_progress(
    ctx: &Context<'_>,
    key_result_id: Option<ID>,
    objective_id: Option<ID>,
    unit_id: Option<ID>,
    after: Option<String>,
) -> ApiResult<ApiStream<KeyResultProgressEvent>> {
    let d = data(ctx)?;
    let actor = &d.ctx.actor;
    let org = actor.organization_id;
    let which = exactly_one(&[
        ("keyResultId", key_result_id.is_some()),
        ("objectiveId", objective_id.is_some()),
        ("unitId", unit_id.is_some()),
    ])?;
    let route = match (which, &key_result_id, &objective_id, &unit_id) {
        ("keyResultId", Some(id), _, _) => {
            let id: KeyResultId = decode_id("keyResultId", NodeType::KeyResult, id)?;
            let kr = d.store.key_result(actor, id).await?;
            let o = d.store.objective(actor, kr.objective_id).await?;
            may_subscribe(
                actor,
                &Resource::KeyResult { organization_id: org, goal: o.goal(), owner: kr.owner_id },
            )?;
            Route::KeyResult(id)
        }
        ("objectiveId", _, Some(id), _) => {
            let id: ObjectiveId = decode_id("objectiveId", NodeType::Objective, id)?;
            let o = d.store.objective(actor, id).await?;
            may_subscribe(actor, &Resource::Objective { organization_id: org, goal: o.goal() })?;
            Route::KeyResultsOfObjective(id)
        }
        (_, _, _, Some(id)) => {
            let id: UnitId = decode_id("unitId", NodeType::Unit, id)?;
            d.store.unit(actor, id).await?;
            may_subscribe(actor, &Resource::Unit { organization_id: org, unit_id: Some(id) })?;
            Route::KeyResultsOfUnit(id)
        }
        _ => return Err(ApiError::Internal),
    };
    let settings = d.ctx.settings.clone();
    events(ctx, route, after, move |_, delivery| KeyResultProgressEvent {
        delivery,
        settings: settings.clone(),
    })
    .await
}

/// Fires when an objective's progress or health changes, including
/// changes that roll up from objectives aligned below it.
async fn objective_progress(
    ctx: &Context<'_>,
    objective_id: ID,
    after: Option<String>,
) -> ApiResult<ApiStream<ObjectiveProgressEvent>> {
    let d = data(ctx)?;
    let actor = &d.ctx.actor;
    let org = actor.organization_id;
    let id: ObjectiveId = decode_id("objectiveId", NodeType::Objective, &objective_id)?;
    let o = d.store.objective(actor, id).await?;
    may_subscribe(actor, &Resource::Objective { organization_id: org, goal: o.goal() })?;
    let settings = d.ctx.settings.clone();
    let store = d.store.clone();
    // What the subscriber knows when it starts: only changes from here
    // on are news.
    let mut last = store.objective_numbers(org, &[id], &settings, Utc::now()).await?.remove(&id);
    let mut stream = events(ctx, Route::Objective(id), after.clone(), |_, d| d).await?;
    let resuming = after.is_some();
    Ok(Box::pin(async_stream::stream! {
        let mut first = true;
        while let Some(item) = futures_util::StreamExt::next(&mut stream).await {
            let delivery = match item {
                Ok(d) => d,
                Err(e) => { yield Err(e); return; }
            };
            let numbers = match delivery.objective_numbers(&store, &settings).await {
                Ok(n) => n,
                Err(e) => { yield Err(ApiError::from(e)); return; }
            };
            let same = match (numbers, last) {
                (Some(a), Some(b)) => (a.progress - b.progress).abs() <= 1e-12 && a.health == b.health,
                (None, None) => true,
                _ => false,
            };
            // A resuming subscriber gets its first missed event even if
            // the numbers are back where they were.
            if same && !(resuming && first) {
                continue;
            }
            first = false;
            last = numbers;
            yield Ok(ObjectiveProgressEvent { delivery, objective_id: id, numbers });
        }
    }))
}

/// Each call that recorded measurements of a KPI (one event per call,
/// however many points): of one KPI, or of the KPIs owned in a unit and
/// below it. Give exactly one id.
async fn kpi_status(
    ctx: &Context<'_>,
    kpi_id: Option<ID>,
    unit_id: Option<ID>,
    after: Option<String>,
) -> ApiResult<ApiStream<KpiStatusEvent>> {
    let d = data(ctx)?;
    let actor = &d.ctx.actor;
    let org = actor.organization_id;
    exactly_one(&[("kpiId", kpi_id.is_some()), ("unitId", unit_id.is_some())])?;
    let route = if let Some(id) = &kpi_id {
        let id: KpiId = decode_id("kpiId", NodeType::Kpi, id)?;
        let kpi = d.store.kpi(actor, &KpiRef::Id(id)).await?;
        may_subscribe(actor, &Resource::Kpi { organization_id: org, kpi: kpi.facts() })?;
        Route::Kpi(id)
    } else if let Some(id) = &unit_id {
        let id: UnitId = decode_id("unitId", NodeType::Unit, id)?;
        d.store.unit(actor, id).await?;
        may_subscribe(actor, &Resource::Unit { organization_id: org, unit_id: Some(id) })?;
        Route::KpisOfUnit(id)
    } else {
        return Err(ApiError::Internal);
    };
    events(ctx, route, after, |_, d| KpiStatusEvent(d)).await
}

/// Objectives of a period created, re-parented, finished or cancelled,
/// or whose visibility changed.
async fn alignment_changed(
    ctx: &Context<'_>,
    period_id: ID,
    after: Option<String>,
) -> ApiResult<ApiStream<AlignmentEvent>> {
    let d = data(ctx)?;
    let actor = &d.ctx.actor;
    let org = actor.organization_id;
    let id: PeriodId = decode_id("periodId", NodeType::Period, &period_id)?;
    d.store.period(actor, id).await?;
    may_subscribe(actor, &Resource::Period { organization_id: org })?;
    // Parents are named only when the subscriber may see them now.
    events(ctx, Route::Alignment(id), after, move |actor, delivery| {
        let named = |p: Option<(ObjectiveId, goalgraph_domain::policy::GoalFacts)>| {
            p.filter(|(_, goal)| {
                policy::authorize(
                    actor,
                    Action::Read,
                    &Resource::Objective { organization_id: org, goal: *goal },
                )
                .is_ok()
            })
            .map(|(id, _)| id)
        };
        let (parent, previous_parent) = match &delivery.event.body {
            LiveBody::Alignment(a) => (named(a.parent), named(a.previous_parent)),
            _ => (None, None),
        };
        AlignmentEvent { delivery, parent, previous_parent }
    })
    .await
}

type ApiStream<T> = BoxStream<'static, ApiResult<T>>;
type GqlStream<T> = BoxStream<'static, async_graphql::Result<T>>;

/// Errors leave through the one mapping to `extensions.code`.
fn gql<T: Send + 'static>(r: ApiResult<ApiStream<T>>) -> async_graphql::Result<GqlStream<T>> {
    let stream = r?;
    Ok(Box::pin(futures_util::StreamExt::map(stream, |item| item.map_err(async_graphql::Error::from))))
}

#[derive(Default)]
pub struct LiveSubscription;

#[Subscription]
impl LiveSubscription {
    /// Each check-in (or linked-KPI measurement, or edit of its numbers)
    /// that moves a key result: of one key result, of an objective's key
    /// results, or of the key results of objectives owned in a unit and
    /// below it. Give exactly one id.
    async fn key_result_progress(
        &self,
        ctx: &Context<'_>,
        key_result_id: Option<ID>,
        objective_id: Option<ID>,
        unit_id: Option<ID>,
        #[graphql(desc = "A cursor of an event received before: resume after it.")] after: Option<String>,
    ) -> async_graphql::Result<GqlStream<KeyResultProgressEvent>> {
        gql(key_result_progress(ctx, key_result_id, objective_id, unit_id, after).await)
    }

    /// Fires when an objective's progress or health changes, including
    /// changes that roll up from objectives aligned below it.
    async fn objective_progress(
        &self,
        ctx: &Context<'_>,
        objective_id: ID,
        #[graphql(desc = "A cursor of an event received before: resume after it.")] after: Option<String>,
    ) -> async_graphql::Result<GqlStream<ObjectiveProgressEvent>> {
        gql(objective_progress(ctx, objective_id, after).await)
    }

    /// Each call that recorded measurements of a KPI (one event per call,
    /// however many points), with its status and whether it changed: of one
    /// KPI, or of the KPIs owned in a unit and below it. Give exactly one id.
    async fn kpi_status(
        &self,
        ctx: &Context<'_>,
        kpi_id: Option<ID>,
        unit_id: Option<ID>,
        #[graphql(desc = "A cursor of an event received before: resume after it.")] after: Option<String>,
    ) -> async_graphql::Result<GqlStream<KpiStatusEvent>> {
        gql(kpi_status(ctx, kpi_id, unit_id, after).await)
    }

    /// Objectives of a period created, re-parented, finished or cancelled,
    /// or whose visibility changed.
    async fn alignment_changed(
        &self,
        ctx: &Context<'_>,
        period_id: ID,
        #[graphql(desc = "A cursor of an event received before: resume after it.")] after: Option<String>,
    ) -> async_graphql::Result<GqlStream<AlignmentEvent>> {
        gql(alignment_changed(ctx, period_id, after).await)
    }
}
