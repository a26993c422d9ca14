//! GraphQL over WebSocket at `/graphql/ws`: the `graphql-transport-ws`
//! protocol (PROTOCOL.md of enisdenjo/graphql-ws) over axum's WebSocket.
//!
//! A connection is one task running two futures. The controller reads the
//! client's messages, authenticates `connection_init` (browsers cannot set
//! headers on a WebSocket, so the token travels in its payload), starts and
//! cancels operations and keeps the timers: the init timeout, the token's
//! expiry and the heartbeat (Ping frames; a connection from which nothing
//! arrived for two intervals is half-open and dropped). The writer alone owns
//! the sink and drains one bounded queue. Every operation runs in a task of
//! its own and `try_send`s its results into that queue: a full queue means
//! the client reads too slowly, and the connection is closed with 1013
//! instead of buffering without bound.
//!
//! Close codes are the protocol's: 4400 malformed message, 4401 `subscribe`
//! before `connection_ack`, 4403 refused or expired credential, 4408 no
//! `connection_init` in time, 4409 an id still in use, 4429 a second
//! `connection_init`, 4500 an internal failure; and RFC 6455's 1001 (no sign
//! of life), 1002 (broken frames), 1009 (message too big) and 1013 (slow
//! consumer).

use crate::document::{Prepared, WireRequest};
use crate::http::{
    AppState, AuthFailure, Authenticated, authenticate_token, bearer_token, count_auth_failure,
    count_operation, error_response, finish_errors, timeout_error,
};
use crate::rate::RateScope;
use async_graphql::ServerError;
use async_graphql::parser::types::OperationType;
use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use futures_util::stream::{BoxStream, SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use goalgraph_api::{ErrorCode, RequestContext, StreamItem};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::task::{AbortHandle, JoinError, JoinSet};
use tokio::time::{Instant, sleep_until, timeout};
use tower_http::request_id::RequestId;
use tracing::{Instrument, field};

/// The one subprotocol spoken here.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Socket buffers sized for many idle connections: a small read buffer, no
/// write batching, and a cap on what may wait in the write buffer (which
/// bounds the largest message sent, see [`MAX_RESULT_BYTES`]). Tungstenite
/// grows the read buffer for a larger frame and keeps it, so a connection
/// holds its largest client message (usually `connection_init`, with its
/// token) plus this; it also reads at most this much per call.
const READ_BUFFER_BYTES: usize = 128;
const WRITE_BUFFER_BYTES: usize = 0;
const MAX_WRITE_BUFFER_BYTES: usize = 256 * 1024;
/// Client messages carry operations, not data: 64 KiB is plenty.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The largest `next` message: a result must fit into the write buffer
/// with room for a control frame queued beside it. Larger results are
/// answered with an `error` pointing at `POST /graphql`.
const MAX_RESULT_BYTES: usize = MAX_WRITE_BUFFER_BYTES - 4096;

/// How long a closing connection waits to write its close frame and for
/// the client's reply, before it simply drops the socket.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// RFC 6455 allows 123 bytes of close reason.
const MAX_REASON_BYTES: usize = 123;

/// `GET /graphql/ws`: checks the Origin and the subprotocol, then upgrades.
pub async fn upgrade(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    request_id: Option<Extension<RequestId>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => {
            let message = format!("GET /graphql/ws takes a WebSocket upgrade: {}", rejection.body_text());
            return error_response(rejection.status(), ErrorCode::BadUserInput, &message);
        }
    };
    // Any page can make a browser open a WebSocket to any host: only the
    // configured origins and the server's own may.
    if !origin_allowed(&headers, &state.config.cors_origins) {
        return error_response(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "this origin may not open a WebSocket to goalgraph",
        );
    }
    if !ws.requested_protocols().any(|p| p.as_bytes() == PROTOCOL.as_bytes()) {
        return error_response(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            "offer the graphql-transport-ws subprotocol (Sec-WebSocket-Protocol)",
        );
    }
    let request_id = crate::http::request_id(&headers, request_id.as_ref().map(|Extension(id)| id));
    let span = tracing::info_span!(
        "ws_connection",
        request_id = %request_id,
        tenant = field::Empty,
        actor = field::Empty,
    );
    ws.protocols([PROTOCOL])
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "WebSocket upgrade failed"))
        .on_upgrade(move |socket| {
            // A task of its own, sized to the connection: axum's upgrade task
            // would keep its own state beside it for the connection's life.
            tokio::spawn(serve(socket, state, request_id).instrument(span));
            std::future::ready(())
        })
}

/// No Origin (a non-browser client), a configured one, or the server's own
/// (the Origin's host and port are the Host the request was sent to).
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let authority = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

/// Why this side closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CloseCode {
    GoingAway,
    ProtocolError,
    MessageTooBig,
    SlowConsumer,
    BadRequest,
    Unauthorized,
    Forbidden,
    InitTimeout,
    SubscriberExists,
    TooManyInits,
    Internal,
}

impl CloseCode {
    fn code(self) -> u16 {
        match self {
            Self::GoingAway => 1001,
            Self::ProtocolError => 1002,
            Self::MessageTooBig => 1009,
            Self::SlowConsumer => 1013,
            Self::BadRequest => 4400,
            Self::Unauthorized => 4401,
            Self::Forbidden => 4403,
            Self::InitTimeout => 4408,
            Self::SubscriberExists => 4409,
            Self::TooManyInits => 4429,
            Self::Internal => 4500,
        }
    }

    /// The metric label: the code itself, from this fixed set.
    fn label(self) -> &'static str {
        match self {
            Self::GoingAway => "1001",
            Self::ProtocolError => "1002",
            Self::MessageTooBig => "1009",
            Self::SlowConsumer => "1013",
            Self::BadRequest => "4400",
            Self::Unauthorized => "4401",
            Self::Forbidden => "4403",
            Self::InitTimeout => "4408",
            Self::SubscriberExists => "4409",
            Self::TooManyInits => "4429",
            Self::Internal => "4500",
        }
    }
}

/// How a connection ends.
#[derive(Debug)]
enum End {
    /// This side closes with a code and a reason.
    Close(CloseCode, Cow<'static, str>),
    /// The client closed.
    ClientClosed,
    /// The transport failed, or the peer went away without a close.
    Lost,
}

impl End {
    fn close(code: CloseCode, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Close(code, reason.into())
    }

    fn label(&self) -> &'static str {
        match self {
            Self::Close(code, _) => code.label(),
            Self::ClientClosed => "client",
            Self::Lost => "lost",
        }
    }
}

/// A client message (`type` names the variant). `next`, `error` and
/// `connection_ack` only travel the other way and are refused like any
/// unknown type.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Map<String, Value>>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Map<String, Value>>,
    },
    Pong {
        // Checked like a ping's, never read.
        #[serde(default, rename = "payload")]
        _payload: Option<Map<String, Value>>,
    },
    Subscribe {
        id: String,
        payload: SubscribePayload,
    },
    Complete {
        id: String,
    },
}

/// The operation of a `subscribe` message: a query, or a persisted
/// document's hash (`extensions.persistedQuery.sha256Hash`, `documentId`).
type SubscribePayload = WireRequest;

/// A server message.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ServerMessage<'a> {
    ConnectionAck,
    Pong {
        #[serde(skip_serializing_if = "Option::is_none")]
        payload: Option<Map<String, Value>>,
    },
    Next {
        id: &'a str,
        payload: &'a async_graphql::Response,
    },
    Error {
        id: &'a str,
        payload: &'a [ServerError],
    },
    Complete {
        id: &'a str,
    },
}

impl ServerMessage<'_> {
    fn encode(&self) -> Result<Message, End> {
        match serde_json::to_string(self) {
            Ok(text) => Ok(Message::Text(text.into())),
            Err(e) => {
                tracing::error!(error = %e, "serialising a WebSocket message failed");
                Err(End::close(CloseCode::Internal, "Internal server error"))
            }
        }
    }
}

/// Counts the open connections while it lives.
struct ConnectionGauge;

impl ConnectionGauge {
    fn open() -> Self {
        metrics::gauge!("goalgraph_ws_connections").increment(1.0);
        Self
    }
}

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        metrics::gauge!("goalgraph_ws_connections").decrement(1.0);
    }
}

/// One upgraded connection, to its end.
///
/// This future lives as long as the connection, idle or not, so it is kept
/// small: the rare large steps (authentication, the close) are boxed, and it
/// is built from `async` blocks rather than `async fn`s, whose arguments
/// would stay in the future beside the moved copies.
fn serve(socket: WebSocket, state: Arc<AppState>, request_id: String) -> impl Future<Output = ()> {
    let gauge = ConnectionGauge::open();
    let (sink, mut stream) = socket.split();
    let (queue, reader) = SendQueue::new(state.config.ws_send_buffer());
    let mut connection = Connection {
        state,
        request_id,
        queue,
        ctx: None,
        rate_key: None,
        operations: JoinSet::new(),
        running: Running::None,
    };
    let controller = async move {
        let end = connection.run(&mut stream).await;
        // Cancel every operation before anything else is written.
        connection.operations.abort_all();
        let ending = connection.queue.clone();
        drop(connection);
        metrics::counter!("goalgraph_ws_closes_total", "code" => end.label()).increment(1);
        tracing::debug!(end = ?end, "WebSocket connection ends");
        match end {
            End::Close(code, reason) => {
                let reason = truncate(reason, MAX_REASON_BYTES);
                ending.finish(Some(CloseFrame { code: code.code(), reason: Utf8Bytes::from(reason) }));
                // Read on until the client answers the close: dropping a socket
                // with unread input resets it, and the client may lose the frame.
                let drain = async { while let Some(Ok(_)) = stream.next().await {} };
                let _ = Box::pin(timeout(CLOSE_TIMEOUT, drain)).await;
            }
            End::ClientClosed | End::Lost => ending.finish(None),
        }
    };
    // The gauge counts the connection until both halves are done.
    futures_util::future::join(write(sink, reader), controller).map(move |((), ())| drop(gauge))
}

/// The writer: drains the queue into the socket until told to finish (the
/// close frame jumps the queue; whatever is still queued is dropped) or
/// until the socket fails.
fn write(mut sink: SplitSink<WebSocket, Message>, queue: QueueReader) -> impl Future<Output = ()> {
    async fn send_close(sink: &mut SplitSink<WebSocket, Message>, frame: Option<CloseFrame>) {
        if let Some(frame) = frame {
            let _ = timeout(CLOSE_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
        }
    }
    async move {
        let close = loop {
            let message = match queue.next().await {
                Next::Message(message) => message,
                Next::Finish(close) => break close,
            };
            // A client that does not read blocks this send: the close must be
            // able to interrupt it (the half-written frame is finished first).
            tokio::select! {
                biased;
                close = queue.finished() => break close,
                sent = sink.send(message) => if sent.is_err() { return },
            }
        };
        // Boxed: its timer is no part of an idle connection.
        Box::pin(send_close(&mut sink, close)).await;
    }
}

/// The bounded queue from the controller and the operations to the writer.
/// Empty, it holds no buffer (tokio's mpsc allocates a block of 32 slots up
/// front: 1.5 KiB per idle connection). `try_send` never waits: a full
/// queue means the client reads too slowly.
#[derive(Clone)]
struct SendQueue(Arc<std::sync::Mutex<QueueState>>);

/// The writer's end. Dropping it (the writer failed or ended) closes the
/// queue.
struct QueueReader(Arc<std::sync::Mutex<QueueState>>);

struct QueueState {
    messages: VecDeque<Message>,
    bound: usize,
    /// Set by the controller when the connection ends; then `close` is the
    /// frame to send first, if any (boxed: it is rare, the queue is not).
    finished: bool,
    close: Option<Box<CloseFrame>>,
    writer_gone: bool,
    /// The writer's task while it waits for a message or the finish.
    writer: Option<Waker>,
    /// The task waiting in [`SendQueue::closed`] (the controller: one at a time).
    closed: Option<Waker>,
}

#[derive(Debug)]
enum TrySendError {
    Full,
    Closed,
}

/// What the writer does next.
enum Next {
    Message(Message),
    Finish(Option<CloseFrame>),
}

fn lock(state: &std::sync::Mutex<QueueState>) -> std::sync::MutexGuard<'_, QueueState> {
    // Nothing panics under this lock: a poisoned state is still whole.
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Remembers `cx`'s task in `slot`, to be woken.
fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
        *slot = Some(cx.waker().clone());
    }
}

impl SendQueue {
    fn new(bound: usize) -> (Self, QueueReader) {
        let state = Arc::new(std::sync::Mutex::new(QueueState {
            messages: VecDeque::new(),
            bound,
            finished: false,
            close: None,
            writer_gone: false,
            writer: None,
            closed: None,
        }));
        (Self(state.clone()), QueueReader(state))
    }

    fn try_send(&self, message: Message) -> Result<(), TrySendError> {
        let mut state = lock(&self.0);
        if state.writer_gone || state.finished {
            return Err(TrySendError::Closed);
        }
        if state.messages.len() >= state.bound {
            return Err(TrySendError::Full);
        }
        state.messages.push_back(message);
        let writer = state.writer.take();
        drop(state);
        if let Some(writer) = writer {
            writer.wake();
        }
        Ok(())
    }

    /// Tells the writer to send `close` (if any) and stop; queued messages
    /// are dropped.
    fn finish(&self, close: Option<CloseFrame>) {
        let mut state = lock(&self.0);
        if !state.finished {
            state.finished = true;
            state.close = close.map(Box::new);
        }
        state.messages = VecDeque::new();
        let writer = state.writer.take();
        drop(state);
        if let Some(writer) = writer {
            writer.wake();
        }
    }

    /// Resolves once the writer is gone.
    fn closed(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|cx| {
            let mut state = lock(&self.0);
            if state.writer_gone {
                return Poll::Ready(());
            }
            register(&mut state.closed, cx);
            Poll::Pending
        })
    }
}

impl QueueReader {
    /// The finish first, else the oldest message.
    fn next(&self) -> impl Future<Output = Next> + '_ {
        std::future::poll_fn(|cx| {
            let mut state = lock(&self.0);
            if state.finished {
                return Poll::Ready(Next::Finish(state.close.take().map(|close| *close)));
            }
            if let Some(message) = state.messages.pop_front() {
                // Drained: an idle queue holds no buffer.
                if state.messages.is_empty() {
                    state.messages = VecDeque::new();
                }
                return Poll::Ready(Next::Message(message));
            }
            register(&mut state.writer, cx);
            Poll::Pending
        })
    }

    /// Resolves once the controller finishes the queue.
    fn finished(&self) -> impl Future<Output = Option<CloseFrame>> + '_ {
        std::future::poll_fn(|cx| {
            let mut state = lock(&self.0);
            if state.finished {
                return Poll::Ready(state.close.take().map(|close| *close));
            }
            register(&mut state.writer, cx);
            Poll::Pending
        })
    }
}

impl Drop for QueueReader {
    fn drop(&mut self) {
        let mut state = lock(&self.0);
        state.writer_gone = true;
        state.messages = VecDeque::new();
        let waiting = state.closed.take();
        drop(state);
        if let Some(waiting) = waiting {
            waiting.wake();
        }
    }
}

/// What a client message asks of the controller's loop.
enum Step {
    Continue,
    /// `connection_init`: authenticate its payload.
    Init(Option<Map<String, Value>>),
}

/// What the controller arms its deadline for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    Init,
    Expiry,
}

/// How an operation task ended.
#[derive(Debug)]
enum OperationEnd {
    /// Its stream ended: the controller sends `complete`.
    Completed,
    /// It failed before producing a result: the controller sends `error`.
    Failed(Vec<ServerError>),
    /// The send queue was full.
    Overflow,
    /// The writer is gone.
    Gone,
}

/// The controller's state. Small on purpose: an idle connection holds its
/// context, an empty map and an empty task set.
struct Connection {
    state: Arc<AppState>,
    request_id: String,
    queue: SendQueue,
    /// Set once `connection_ack` was sent. A refused `connection_init` ends
    /// the connection, so this also tells whether one was seen.
    ctx: Option<RequestContext>,
    /// The key of the actor's cost budget, from its credential.
    rate_key: Option<Arc<str>>,
    operations: JoinSet<(String, OperationEnd)>,
    /// Running operations by client id, with the task that runs each.
    running: Running,
}

/// A running operation's task.
type RunningTask = (tokio::task::Id, AbortHandle);

/// Running operations by client id. Most connections run one subscription:
/// it is kept inline, where a map would allocate room for four.
#[derive(Default)]
enum Running {
    #[default]
    None,
    One(String, RunningTask),
    // Boxed: this enum is part of every connection's future, and the map
    // inline would make it 16 bytes larger (for a rare case).
    #[allow(clippy::box_collection)]
    Many(Box<HashMap<String, RunningTask>>),
}

impl Running {
    fn len(&self) -> usize {
        match self {
            Self::None => 0,
            Self::One(..) => 1,
            Self::Many(map) => map.len(),
        }
    }

    fn contains_key(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    fn get(&self, id: &str) -> Option<&RunningTask> {
        match self {
            Self::None => None,
            Self::One(one, task) => (one == id).then_some(task),
            Self::Many(map) => map.get(id),
        }
    }

    fn insert(&mut self, id: String, task: RunningTask) {
        match std::mem::take(self) {
            Self::None => *self = Self::One(id, task),
            Self::One(one, _) if one == id => *self = Self::One(id, task),
            Self::One(one, one_task) => {
                *self = Self::Many(Box::new(HashMap::from([(one, one_task), (id, task)])));
            }
            Self::Many(mut map) => {
                map.insert(id, task);
                *self = Self::Many(map);
            }
        }
    }

    fn remove(&mut self, id: &str) -> Option<RunningTask> {
        match std::mem::take(self) {
            Self::One(one, task) if one == id => Some(task),
            Self::Many(mut map) => {
                let removed = map.remove(id);
                // Back inline once one is left: the map's room goes.
                *self = match map.len() {
                    0 => Self::None,
                    1 => map.drain().next().map_or(Self::None, |(one, task)| Self::One(one, task)),
                    _ => Self::Many(map),
                };
                removed
            }
            other => {
                *self = other;
                None
            }
        }
    }

    fn clear(&mut self) {
        *self = Self::None;
    }

    /// The client id of the operation run by `task`.
    fn id_of(&self, task: tokio::task::Id) -> Option<String> {
        match self {
            Self::None => None,
            Self::One(id, (t, _)) => (*t == task).then(|| id.clone()),
            Self::Many(map) => map.iter().find(|(_, (t, _))| *t == task).map(|(id, _)| id.clone()),
        }
    }
}

impl Connection {
    async fn run(&mut self, stream: &mut SplitStream<WebSocket>) -> End {
        let started = Instant::now();
        let mut last_seen = started;
        let mut next_ping = started + self.state.config.ws_ping_interval();
        let mut deadline = Some((Deadline::Init, started + self.state.config.ws_init_timeout()));
        // One timer serves the heartbeat and the deadline: it wakes at the
        // earlier, and whatever is not due yet re-arms it.
        let wake_at = |next_ping: Instant, deadline: Option<(Deadline, Instant)>| {
            deadline.map_or(next_ping, |(_, at)| at.min(next_ping))
        };
        let timer = sleep_until(wake_at(next_ping, deadline));
        tokio::pin!(timer);
        let mut client_closed = false;
        loop {
            let step = tokio::select! {
                biased;
                () = self.queue.closed() => return End::Lost,
                frame = stream.next() => {
                    last_seen = Instant::now();
                    match frame {
                        None => return if client_closed { End::ClientClosed } else { End::Lost },
                        Some(Err(e)) => return read_error(&e),
                        // Read on: the reply to the close goes out on the next read.
                        Some(Ok(Message::Close(_))) => {
                            client_closed = true;
                            self.operations.abort_all();
                            self.running.clear();
                            Step::Continue
                        }
                        Some(Ok(_)) if client_closed => Step::Continue,
                        Some(Ok(message)) => match self.on_message(message) {
                            Ok(step) => step,
                            Err(end) => return end,
                        },
                    }
                }
                // A bare `poll_fn`: `join_next_with_id`'s future is larger.
                Some(joined) = std::future::poll_fn(|cx| self.operations.poll_join_next_with_id(cx)),
                    if !self.operations.is_empty() => {
                    if let Err(end) = self.on_operation_end(joined) {
                        return end;
                    }
                    Step::Continue
                }
                () = &mut timer => {
                    let now = Instant::now();
                    // Read from the configuration rather than kept: this
                    // future's every byte stays while the connection idles.
                    let interval = self.state.config.ws_ping_interval();
                    let silent_until = last_seen + interval * 2;
                    if now >= silent_until {
                        return End::close(CloseCode::GoingAway, "no ping answer");
                    }
                    if now >= next_ping {
                        if let Err(end) = self.enqueue(Message::Ping(Bytes::new())) {
                            return end;
                        }
                        next_ping = now + interval;
                    }
                    match deadline {
                        Some((Deadline::Expiry, at)) if now >= at => {
                            count_auth_failure("expired");
                            return End::close(CloseCode::Forbidden, "Forbidden");
                        }
                        Some((Deadline::Init, at)) if now >= at => {
                            return End::close(CloseCode::InitTimeout, "Connection initialisation timeout");
                        }
                        _ => {}
                    }
                    timer.as_mut().reset(wake_at(next_ping.min(silent_until), deadline));
                    Step::Continue
                }
            };
            // Out of the `select!`, whose state would be kept beside it
            // otherwise; boxed, as authentication's future (token
            // verification, store queries) is larger than all the rest of an
            // idle connection.
            if let Step::Init(payload) = step {
                match Box::pin(self.on_init(payload)).await {
                    // The deadline now watches the credential's expiry (none
                    // for an API key).
                    Ok(expiry) => {
                        deadline = expiry.map(|at| (Deadline::Expiry, at));
                        timer.as_mut().reset(wake_at(next_ping, deadline));
                    }
                    Err(end) => return end,
                }
            }
        }
    }

    /// Handles one client frame; `connection_init` is left to the caller.
    fn on_message(&mut self, message: Message) -> Result<Step, End> {
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(_) => {
                return Err(End::close(CloseCode::BadRequest, "Binary messages are not supported"));
            }
            // Ping and Pong frames only show the peer is alive.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => return Ok(Step::Continue),
        };
        let message: ClientMessage = serde_json::from_str(text.as_str())
            .map_err(|e| End::close(CloseCode::BadRequest, format!("Invalid message received: {e}")))?;
        match message {
            ClientMessage::ConnectionInit { payload } => Ok(Step::Init(payload)),
            ClientMessage::Ping { payload } => {
                self.enqueue(ServerMessage::Pong { payload }.encode()?)?;
                Ok(Step::Continue)
            }
            ClientMessage::Pong { .. } => Ok(Step::Continue),
            ClientMessage::Subscribe { id, payload } => {
                let id = non_empty(id)?;
                if payload.query.is_none() && !payload.names_a_document() {
                    return Err(End::close(
                        CloseCode::BadRequest,
                        "Invalid message received: the payload has no query",
                    ));
                }
                self.on_subscribe(id, payload)?;
                Ok(Step::Continue)
            }
            ClientMessage::Complete { id } => {
                // Unknown ids are ignored: the operation may have just ended.
                if let Some((_, task)) = self.running.remove(&non_empty(id)?) {
                    task.abort();
                }
                Ok(Step::Continue)
            }
        }
    }

    /// Authenticates the token of `connection_init` and acknowledges it; the
    /// answer is when the credential expires.
    async fn on_init(&mut self, payload: Option<Map<String, Value>>) -> Result<Option<Instant>, End> {
        if self.ctx.is_some() {
            return Err(End::close(CloseCode::TooManyInits, "Too many initialisation requests"));
        }
        let forbidden = || End::close(CloseCode::Forbidden, "Forbidden");
        let token = match init_token(payload.as_ref()) {
            Ok(token) => token,
            Err(reason) => {
                count_auth_failure(reason);
                return Err(forbidden());
            }
        };
        let Authenticated { ctx, expires_at, rate_key } =
            match authenticate_token(&self.state, token, &self.request_id).await {
                Ok(authenticated) => authenticated,
                Err(AuthFailure::Refused { reason, .. }) => {
                    count_auth_failure(reason);
                    return Err(forbidden());
                }
                Err(AuthFailure::Internal) => {
                    return Err(End::close(CloseCode::Internal, "Internal server error"));
                }
            };
        self.ctx = Some(ctx);
        self.rate_key = Some(rate_key);
        self.enqueue(ServerMessage::ConnectionAck.encode()?)?;
        Ok(expires_at.and_then(|exp| expiry_instant(exp, self.state.config.auth.leeway_seconds)))
    }

    fn on_subscribe(&mut self, id: String, payload: SubscribePayload) -> Result<(), End> {
        let Some(ctx) = &self.ctx else {
            return Err(End::close(CloseCode::Unauthorized, "Unauthorized"));
        };
        if self.running.contains_key(&id) {
            return Err(End::close(
                CloseCode::SubscriberExists,
                format!("Subscriber for {id} already exists"),
            ));
        }
        let max = self.state.config.ws_max_operations();
        if self.running.len() >= max {
            let message = format!("too many operations on this connection: at most {max} may run at once");
            return self.send_errors(&id, vec![ServerError::new(message, None)]);
        }
        // The same checks on the document as over HTTP, before anything runs.
        let Prepared { request, kind, .. } = match self.state.documents.prepare(payload) {
            Ok(prepared) => prepared,
            Err(error) => {
                count_operation(None, true);
                return self.send_errors(&id, vec![error]);
            }
        };
        let span = tracing::info_span!(
            "operation",
            id = %id,
            kind = kind_label(kind),
            operation = field::Empty,
        );
        if let Some(name) = &request.operation_name {
            span.record("operation", field::display(name));
        }
        let request = request.data(RateScope {
            actor: self.rate_key.clone().unwrap_or_else(|| Arc::from("")),
            tenant: Some(ctx.actor.organization_id.to_string()),
            cost: Default::default(),
        });
        // A query or mutation has the time budget of an HTTP request; a
        // subscription lives as long as the client wants it.
        let budget = (kind != Some(OperationType::Subscription)).then(|| self.state.config.request_timeout());
        let actor = ctx.actor.label();
        let stream =
            goalgraph_api::execute_stream(&self.state.schema, &self.state.store, ctx.clone(), request);
        let task = self.operations.spawn(
            run_operation(
                id.clone(),
                kind,
                stream,
                self.queue.clone(),
                Reporter { request_id: self.request_id.clone(), actor, budget },
            )
            .instrument(span),
        );
        self.running.insert(id, (task.id(), task));
        Ok(())
    }

    fn on_operation_end(
        &mut self,
        joined: Result<(tokio::task::Id, (String, OperationEnd)), JoinError>,
    ) -> Result<(), End> {
        let (task, (id, end)) = match joined {
            Ok(joined) => joined,
            // Cancelled by the client's `complete` (already forgotten).
            Err(e) if e.is_cancelled() => return Ok(()),
            Err(e) => {
                tracing::error!(error = %e, "a WebSocket operation panicked");
                let task = e.id();
                let Some(id) = self.running.id_of(task) else {
                    return Ok(());
                };
                self.running.remove(&id);
                return self.send_errors(&id, vec![internal_error()]);
            }
        };
        match end {
            OperationEnd::Overflow => return Err(End::close(CloseCode::SlowConsumer, "slow consumer")),
            OperationEnd::Gone => return Err(End::Lost),
            OperationEnd::Completed | OperationEnd::Failed(_) => {}
        }
        // The client may have completed it meanwhile, and even reused its id.
        if self.running.get(&id).is_none_or(|(t, _)| *t != task) {
            return Ok(());
        }
        // Forgotten before `complete` goes out: the client may reuse the id
        // as soon as it reads it.
        self.running.remove(&id);
        match end {
            // Finished by the operation's task already.
            OperationEnd::Failed(errors) => {
                self.enqueue(ServerMessage::Error { id: &id, payload: &errors }.encode()?)
            }
            _ => self.enqueue(ServerMessage::Complete { id: &id }.encode()?),
        }
    }

    /// An `error` message for `id`, with codes (and internal errors
    /// censored) as over HTTP.
    fn send_errors(&self, id: &str, mut errors: Vec<ServerError>) -> Result<(), End> {
        let actor = self.ctx.as_ref().map(|ctx| ctx.actor.label());
        finish_errors(&mut errors, &self.request_id, actor.as_deref());
        self.enqueue(ServerMessage::Error { id, payload: &errors }.encode()?)
    }

    fn enqueue(&self, message: Message) -> Result<(), End> {
        enqueue(&self.queue, message)
    }
}

fn enqueue(queue: &SendQueue, message: Message) -> Result<(), End> {
    queue.try_send(message).map_err(|e| match e {
        TrySendError::Full => End::close(CloseCode::SlowConsumer, "slow consumer"),
        TrySendError::Closed => End::Lost,
    })
}

/// Runs one operation, forwarding each result as `next`. It never sends
/// `complete` or `error` itself: the controller does, after forgetting the
/// id, so that a client may reuse an id the moment it learns it is free.
/// What an operation's task reports with: its request id and actor for
/// errors, and its time budget (none for a subscription).
struct Reporter {
    request_id: String,
    actor: String,
    budget: Option<Duration>,
}

async fn run_operation(
    id: String,
    kind: Option<OperationType>,
    mut stream: BoxStream<'static, StreamItem>,
    queue: SendQueue,
    reporter: Reporter,
) -> (String, OperationEnd) {
    let mut outcome = OperationOutcome { kind: kind_label(kind), failed: false };
    let mut first = true;
    loop {
        let item = match reporter.budget {
            None => stream.next().await,
            Some(budget) => match timeout(budget, stream.next()).await {
                Ok(item) => item,
                Err(_) => {
                    // Dropping the stream cancels the operation where it waits.
                    metrics::counter!("goalgraph_request_timeouts_total").increment(1);
                    outcome.failed = true;
                    let mut errors = vec![timeout_error(budget)];
                    finish_errors(&mut errors, &reporter.request_id, Some(&reporter.actor));
                    return (id, OperationEnd::Failed(errors));
                }
            },
        };
        let Some(item) = item else { break };
        let message = match item {
            // A shared subscription's event: serialised once for all its
            // subscribers; only the envelope is this one's.
            StreamItem::Shared(payload) => shared_next(&id, &payload),
            StreamItem::Response(mut response) => {
                finish_errors(&mut response.errors, &reporter.request_id, Some(&reporter.actor));
                outcome.failed |= !response.errors.is_empty();
                if first && failed_before_execution(&response, kind) {
                    return (id, OperationEnd::Failed(response.errors));
                }
                match (ServerMessage::Next { id: &id, payload: &response }).encode() {
                    Ok(message) => message,
                    Err(_) => {
                        let mut errors = vec![internal_error()];
                        finish_errors(&mut errors, &reporter.request_id, Some(&reporter.actor));
                        return (id, OperationEnd::Failed(errors));
                    }
                }
            }
        };
        first = false;
        if let Message::Text(text) = &message
            && text.len() > MAX_RESULT_BYTES
        {
            let error = ServerError::new(
                format!(
                    "the result is larger than {MAX_RESULT_BYTES} bytes, the WebSocket limit: \
                     send this operation to POST /graphql"
                ),
                None,
            );
            let mut errors = vec![error];
            finish_errors(&mut errors, &reporter.request_id, Some(&reporter.actor));
            return (id, OperationEnd::Failed(errors));
        }
        match enqueue(&queue, message) {
            Ok(()) => {}
            Err(End::Lost) => return (id, OperationEnd::Gone),
            Err(_) => return (id, OperationEnd::Overflow),
        }
    }
    (id, OperationEnd::Completed)
}

/// `{"id":…,"type":"next","payload":…}` around an already serialised payload.
fn shared_next(id: &str, payload: &str) -> Message {
    let id = serde_json::to_string(id).unwrap_or_else(|_| "\"\"".to_owned());
    let mut text = String::with_capacity(payload.len() + id.len() + 32);
    text.push_str("{\"id\":");
    text.push_str(&id);
    text.push_str(",\"type\":\"next\",\"payload\":");
    text.push_str(payload);
    text.push('}');
    Message::Text(text.into())
}

fn internal_error() -> ServerError {
    let mut error = ServerError::new("internal", None);
    error.extensions.get_or_insert_with(Default::default).set("code", ErrorCode::Internal.as_str());
    error
}

/// Whether a first response failed before anything ran: a parse or
/// validation error (no data, errors without a path), or a subscription
/// whose stream could not start (no data).
fn failed_before_execution(response: &async_graphql::Response, kind: Option<OperationType>) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && (kind == Some(OperationType::Subscription) || response.errors.iter().all(|e| e.path.is_empty()))
}

/// Counts an operation in `goalgraph_graphql_operations_total` when it ends,
/// however it ends (cancelled ones too).
struct OperationOutcome {
    kind: &'static str,
    failed: bool,
}

impl Drop for OperationOutcome {
    fn drop(&mut self) {
        let outcome = if self.failed { "error" } else { "ok" };
        metrics::counter!("goalgraph_graphql_operations_total", "type" => self.kind, "outcome" => outcome)
            .increment(1);
    }
}

fn kind_label(kind: Option<OperationType>) -> &'static str {
    match kind {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "invalid",
    }
}

/// The credential of `connection_init`: `{"Authorization": "Bearer <token>"}`
/// (or lower-case `authorization`) or `{"token": "<token>"}`; on failure the
/// metric label of why.
fn init_token(payload: Option<&Map<String, Value>>) -> Result<&str, &'static str> {
    let Some(payload) = payload else { return Err("missing_credentials") };
    if let Some(value) = payload.get("Authorization").or_else(|| payload.get("authorization")) {
        return value.as_str().and_then(bearer_token).ok_or("malformed_header");
    }
    match payload.get("token") {
        Some(value) => value.as_str().map(str::trim).filter(|t| !t.is_empty()).ok_or("malformed_header"),
        None => Err("missing_credentials"),
    }
}

/// The moment a token with `exp` stops being accepted over HTTP (`exp`
/// plus the configured leeway); `None` when that is beyond any clock.
fn expiry_instant(expires_at: i64, leeway_seconds: u64) -> Option<Instant> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    let until = Duration::from_secs(u64::try_from(expires_at).unwrap_or(0).saturating_add(leeway_seconds));
    Instant::now().checked_add(until.saturating_sub(now))
}

fn non_empty(id: String) -> Result<String, End> {
    if id.is_empty() {
        return Err(End::close(CloseCode::BadRequest, "Invalid message received: the id is empty"));
    }
    Ok(id)
}

/// Read failures: a vanished peer, a message beyond the size limit (1009)
/// or broken frames (1002). axum hides tungstenite's error type, so the
/// I/O cause is found in the source chain and the rest by tungstenite's
/// wording (the malformed-message test pins the 1009).
fn read_error(error: &axum::Error) -> End {
    let text = error.to_string();
    tracing::debug!(error = %text, "reading a WebSocket frame failed");
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<std::io::Error>() {
            return End::Lost;
        }
        source = e.source();
    }
    if text.contains("without closing handshake") {
        return End::Lost;
    }
    if text.contains("Message too long") || text.contains("Space limit exceeded") {
        return End::close(
            CloseCode::MessageTooBig,
            format!("messages are limited to {MAX_MESSAGE_BYTES} bytes"),
        );
    }
    End::close(CloseCode::ProtocolError, text)
}

/// At most `max` bytes, cut at a character boundary.
fn truncate(text: Cow<'static, str>, max: usize) -> String {
    if text.len() <= max {
        return text.into_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap_or(HeaderValue::from_static("x")));
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap_or(HeaderValue::from_static("x")));
        }
        h
    }

    #[test]
    fn origins() {
        let allowed = vec!["https://app.example".to_owned()];
        assert!(origin_allowed(&headers(None, "api.example"), &allowed));
        assert!(origin_allowed(&headers(Some("https://app.example"), "api.example"), &allowed));
        assert!(origin_allowed(&headers(Some("https://api.example:8443"), "api.example:8443"), &allowed));
        assert!(!origin_allowed(&headers(Some("https://api.example:8443"), "api.example"), &allowed));
        assert!(!origin_allowed(&headers(Some("https://evil.example"), "api.example"), &allowed));
        assert!(!origin_allowed(&headers(Some("null"), "api.example"), &allowed));
    }

    #[test]
    fn tokens_of_connection_init() {
        let map = |v: Value| v.as_object().cloned().unwrap_or_default();
        let bearer = map(serde_json::json!({ "Authorization": "Bearer abc" }));
        assert_eq!(init_token(Some(&bearer)), Ok("abc"));
        let lower = map(serde_json::json!({ "authorization": "bearer abc" }));
        assert_eq!(init_token(Some(&lower)), Ok("abc"));
        let token = map(serde_json::json!({ "token": "abc" }));
        assert_eq!(init_token(Some(&token)), Ok("abc"));
        let basic = map(serde_json::json!({ "Authorization": "Basic abc" }));
        assert_eq!(init_token(Some(&basic)), Err("malformed_header"));
        assert_eq!(init_token(Some(&Map::new())), Err("missing_credentials"));
        assert_eq!(init_token(None), Err("missing_credentials"));
    }

    fn text(s: &str) -> Message {
        Message::Text(Utf8Bytes::from(s))
    }

    #[tokio::test]
    async fn the_send_queue_is_bounded_and_the_close_jumps_it() {
        let (queue, reader) = SendQueue::new(2);
        assert!(queue.try_send(text("a")).is_ok());
        assert!(queue.try_send(text("b")).is_ok());
        assert!(matches!(queue.try_send(text("c")), Err(TrySendError::Full)));
        assert!(matches!(reader.next().await, Next::Message(m) if m == text("a")));
        assert!(queue.try_send(text("c")).is_ok());
        queue.finish(Some(CloseFrame { code: 1000, reason: Utf8Bytes::from("bye") }));
        assert!(matches!(reader.next().await, Next::Finish(Some(f)) if f.code == 1000));
        assert!(matches!(queue.try_send(text("d")), Err(TrySendError::Closed)));
        let state = lock(&queue.0);
        assert!(state.messages.is_empty() && state.messages.capacity() == 0);
    }

    #[tokio::test]
    async fn the_writer_wakes_for_a_message_and_the_close_for_a_lost_writer() {
        let (queue, reader) = SendQueue::new(4);
        let writer = tokio::spawn(async move {
            let first = matches!(reader.next().await, Next::Message(m) if m == text("a"));
            let finished = reader.finished().await;
            (first, finished.map(|f| f.code))
        });
        tokio::task::yield_now().await;
        assert!(queue.try_send(text("a")).is_ok());
        tokio::task::yield_now().await;
        queue.finish(Some(CloseFrame { code: 4400, reason: Utf8Bytes::from("") }));
        let joined = timeout(Duration::from_secs(5), writer).await;
        assert!(matches!(joined, Ok(Ok((true, Some(4400))))), "{joined:?}");
        // The writer's end is gone: the controller learns it.
        assert!(timeout(Duration::from_secs(5), queue.closed()).await.is_ok());
        assert!(matches!(queue.try_send(text("b")), Err(TrySendError::Closed)));
    }

    #[tokio::test]
    async fn running_operations_by_id() {
        let task = || {
            let handle = tokio::spawn(std::future::pending::<()>());
            (handle.id(), handle.abort_handle())
        };
        let mut running = Running::None;
        let (a, b) = (task(), task());
        running.insert("a".to_owned(), a.clone());
        assert!(
            matches!(running, Running::One(..)) && running.contains_key("a") && !running.contains_key("b")
        );
        running.insert("b".to_owned(), b.clone());
        assert_eq!(running.len(), 2);
        assert_eq!(running.id_of(b.0).as_deref(), Some("b"));
        assert!(running.remove("a").is_some_and(|(id, _)| id == a.0));
        assert!(matches!(running, Running::One(ref id, _) if id == "b"));
        assert!(running.remove("a").is_none());
        assert_eq!(running.get("b").map(|(id, _)| *id), Some(b.0));
        running.clear();
        assert_eq!(running.len(), 0);
        a.1.abort();
        b.1.abort();
    }

    /// An idle connection's task holds this future for as long as it lives:
    /// rare large steps (authentication, the close) must stay boxed. It was
    /// 4.9 KB with authentication inline; 1,136 bytes, with the span and
    /// tokio's task header, fill a 1,280-byte task allocation.
    #[test]
    fn an_idle_connection_future_is_small() {
        fn output_size<A, B, C, F>(_: fn(A, B, C) -> F) -> usize {
            std::mem::size_of::<F>()
        }
        let size = output_size(serve);
        assert!(size <= 1280, "the connection's future is {size} bytes");
    }

    #[tokio::test]
    async fn a_query_past_its_time_budget_fails_with_timeout_and_a_subscription_has_none() {
        let (queue, _reader) = SendQueue::new(4);
        let reporter =
            |budget| Reporter { request_id: "r1".to_owned(), actor: "person:x".to_owned(), budget };
        let pending = || futures_util::stream::pending::<StreamItem>().boxed();
        let started = Instant::now();
        let (id, end) = run_operation(
            "q".to_owned(),
            Some(OperationType::Query),
            pending(),
            queue.clone(),
            reporter(Some(Duration::from_millis(20))),
        )
        .await;
        assert_eq!(id, "q");
        let OperationEnd::Failed(errors) = end else { unreachable!("{end:?}") };
        let code = errors[0].extensions.as_ref().and_then(|e| e.get("code").cloned());
        assert_eq!(code, Some(async_graphql::Value::from("TIMEOUT")));
        assert!(started.elapsed() < Duration::from_secs(5));
        // A subscription waits for its events as long as it takes.
        let waiting = run_operation(
            "s".to_owned(),
            Some(OperationType::Subscription),
            pending(),
            queue,
            reporter(None),
        );
        assert!(timeout(Duration::from_millis(100), waiting).await.is_err());
    }

    #[test]
    fn reasons_are_cut_at_character_boundaries() {
        let long = "é".repeat(100);
        let cut = truncate(Cow::Owned(long), MAX_REASON_BYTES);
        assert!(cut.len() <= MAX_REASON_BYTES && cut.len() >= MAX_REASON_BYTES - 1);
        assert_eq!(truncate(Cow::Borrowed("short"), MAX_REASON_BYTES), "short");
    }
}
