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

use crate::http::{
    AppState, AuthFailure, Authenticated, authenticate_token, bearer_token, count_auth_failure,
    error_response, finish_errors, operation_type,
};
use async_graphql::parser::types::OperationType;
use async_graphql::{ServerError, Variables};
use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use futures_util::stream::{BoxStream, SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use goalgraph_api::{ErrorCode, RequestContext, StreamItem};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{AbortHandle, JoinError, JoinSet};
use tokio::time::{Instant, sleep_until, timeout};
use tower_http::request_id::RequestId;
use tracing::{Instrument, field};

/// The one subprotocol spoken here.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Socket buffers sized for many idle connections: a small read buffer, no
/// write batching, and a cap on what may wait in the write buffer (which
/// bounds the largest message sent, see [`MAX_RESULT_BYTES`]).
const READ_BUFFER_BYTES: usize = 4096;
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
        .on_upgrade(move |socket| serve(socket, state, request_id).instrument(span))
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

/// The operation of a `subscribe` message.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscribePayload {
    query: String,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Variables,
    #[serde(default)]
    extensions: Option<HashMap<String, async_graphql::Value>>,
}

impl SubscribePayload {
    fn into_request(self) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(self.query).variables(self.variables);
        if let Some(name) = self.operation_name.filter(|n| !n.is_empty()) {
            request = request.operation_name(name);
        }
        if let Some(extensions) = self.extensions {
            request.extensions = async_graphql::Extensions(extensions);
        }
        request
    }
}

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
async fn serve(socket: WebSocket, state: Arc<AppState>, request_id: String) {
    let _gauge = ConnectionGauge::open();
    let (sink, mut stream) = socket.split();
    let (queue, queued) = mpsc::channel(state.config.ws_send_buffer());
    let (close_tx, close_rx) = oneshot::channel();
    let mut connection = Connection {
        state,
        request_id,
        queue,
        ctx: None,
        init_seen: false,
        operations: JoinSet::new(),
        running: HashMap::new(),
    };
    let controller = async move {
        let end = connection.run(&mut stream).await;
        // Cancel every operation before anything else is written.
        connection.operations.abort_all();
        drop(connection);
        metrics::counter!("goalgraph_ws_closes_total", "code" => end.label()).increment(1);
        tracing::debug!(end = ?end, "WebSocket connection ends");
        match end {
            End::Close(code, reason) => {
                let reason = truncate(reason, MAX_REASON_BYTES);
                let _ = close_tx.send(CloseFrame { code: code.code(), reason: Utf8Bytes::from(reason) });
                // Read on until the client answers the close: dropping a socket
                // with unread input resets it, and the client may lose the frame.
                let _ =
                    timeout(CLOSE_TIMEOUT, async { while let Some(Ok(_)) = stream.next().await {} }).await;
            }
            End::ClientClosed | End::Lost => drop(close_tx),
        }
    };
    tokio::join!(write(sink, queued, close_rx), controller);
}

/// The writer: drains the queue into the socket until told to close (the
/// close frame jumps the queue; whatever is still queued is dropped) or
/// until the socket fails.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut queued: mpsc::Receiver<Message>,
    mut close: oneshot::Receiver<CloseFrame>,
) {
    async fn send_close(
        sink: &mut SplitSink<WebSocket, Message>,
        frame: Result<CloseFrame, oneshot::error::RecvError>,
    ) {
        if let Ok(frame) = frame {
            let _ = timeout(CLOSE_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
        }
    }
    loop {
        let message = tokio::select! {
            biased;
            frame = &mut close => return send_close(&mut sink, frame).await,
            message = queued.recv() => match message {
                Some(message) => message,
                None => return,
            },
        };
        // A client that does not read blocks this send: the close must be
        // able to interrupt it (the half-written frame is finished first).
        tokio::select! {
            biased;
            frame = &mut close => return send_close(&mut sink, frame).await,
            sent = sink.send(message) => if sent.is_err() { return },
        }
    }
}

/// What a client message asks of the controller's loop.
enum Step {
    Continue,
    /// `connection_ack` went out: the deadline now watches the credential's
    /// expiry (none for an API key).
    Acknowledged(Option<Instant>),
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
    queue: mpsc::Sender<Message>,
    /// Set once `connection_ack` was sent.
    ctx: Option<RequestContext>,
    init_seen: bool,
    operations: JoinSet<(String, OperationEnd)>,
    /// Running operations by client id, with the task that runs each.
    running: HashMap<String, (tokio::task::Id, AbortHandle)>,
}

impl Connection {
    async fn run(&mut self, stream: &mut SplitStream<WebSocket>) -> End {
        let interval = self.state.config.ws_ping_interval();
        let started = Instant::now();
        let mut last_seen = started;
        let mut next_ping = started + interval;
        let heartbeat = sleep_until(next_ping);
        tokio::pin!(heartbeat);
        let deadline = sleep_until(started + self.state.config.ws_init_timeout());
        tokio::pin!(deadline);
        let mut armed = Some(Deadline::Init);
        let mut client_closed = false;
        loop {
            tokio::select! {
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
                        }
                        Some(Ok(_)) if client_closed => {}
                        Some(Ok(message)) => match self.on_message(message).await {
                            Ok(Step::Continue) => {}
                            Ok(Step::Acknowledged(Some(expiry))) => {
                                deadline.as_mut().reset(expiry);
                                armed = Some(Deadline::Expiry);
                            }
                            Ok(Step::Acknowledged(None)) => armed = None,
                            Err(end) => return end,
                        },
                    }
                }
                Some(joined) = self.operations.join_next_with_id(), if !self.operations.is_empty() => {
                    if let Err(end) = self.on_operation_end(joined) {
                        return end;
                    }
                }
                () = &mut heartbeat => {
                    let now = Instant::now();
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
                    heartbeat.as_mut().reset(next_ping.min(silent_until));
                }
                () = &mut deadline, if armed.is_some() => {
                    return match armed {
                        Some(Deadline::Expiry) => {
                            count_auth_failure("expired");
                            End::close(CloseCode::Forbidden, "Forbidden")
                        }
                        _ => End::close(CloseCode::InitTimeout, "Connection initialisation timeout"),
                    };
                }
            }
        }
    }

    /// Handles one client frame.
    async fn on_message(&mut self, message: Message) -> Result<Step, End> {
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
            ClientMessage::ConnectionInit { payload } => self.on_init(payload).await.map(Step::Acknowledged),
            ClientMessage::Ping { payload } => {
                self.enqueue(ServerMessage::Pong { payload }.encode()?)?;
                Ok(Step::Continue)
            }
            ClientMessage::Pong { .. } => Ok(Step::Continue),
            ClientMessage::Subscribe { id, payload } => {
                self.on_subscribe(non_empty(id)?, payload)?;
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
        if self.init_seen {
            return Err(End::close(CloseCode::TooManyInits, "Too many initialisation requests"));
        }
        self.init_seen = true;
        let forbidden = || End::close(CloseCode::Forbidden, "Forbidden");
        let token = match init_token(payload.as_ref()) {
            Ok(token) => token,
            Err(reason) => {
                count_auth_failure(reason);
                return Err(forbidden());
            }
        };
        let Authenticated { ctx, expires_at } =
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
        let request = payload.into_request();
        let kind = operation_type(&request);
        let span = tracing::info_span!(
            "operation",
            id = %id,
            kind = kind_label(kind),
            operation = field::Empty,
        );
        if let Some(name) = &request.operation_name {
            span.record("operation", field::display(name));
        }
        let stream =
            goalgraph_api::execute_stream(&self.state.schema, &self.state.store, ctx.clone(), request);
        let task = self.operations.spawn(
            run_operation(id.clone(), kind, stream, self.queue.clone(), self.request_id.clone())
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
                let Some(id) = self.running.iter().find(|(_, (t, _))| *t == task).map(|(id, _)| id.clone())
                else {
                    return Ok(());
                };
                self.running.remove(&id);
                let mut errors = vec![ServerError::new("internal", None)];
                errors[0]
                    .extensions
                    .get_or_insert_with(Default::default)
                    .set("code", ErrorCode::Internal.as_str());
                return self.send_errors(&id, errors);
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
            OperationEnd::Failed(errors) => self.send_errors(&id, errors),
            _ => self.enqueue(ServerMessage::Complete { id: &id }.encode()?),
        }
    }

    /// An `error` message for `id`, with codes (and internal errors
    /// censored) as over HTTP.
    fn send_errors(&self, id: &str, mut errors: Vec<ServerError>) -> Result<(), End> {
        finish_errors(&mut errors, &self.request_id);
        self.enqueue(ServerMessage::Error { id, payload: &errors }.encode()?)
    }

    fn enqueue(&self, message: Message) -> Result<(), End> {
        enqueue(&self.queue, message)
    }
}

fn enqueue(queue: &mpsc::Sender<Message>, message: Message) -> Result<(), End> {
    queue.try_send(message).map_err(|e| match e {
        mpsc::error::TrySendError::Full(_) => End::close(CloseCode::SlowConsumer, "slow consumer"),
        mpsc::error::TrySendError::Closed(_) => End::Lost,
    })
}

/// Runs one operation, forwarding each result as `next`. It never sends
/// `complete` or `error` itself: the controller does, after forgetting the
/// id, so that a client may reuse an id the moment it learns it is free.
async fn run_operation(
    id: String,
    kind: Option<OperationType>,
    mut stream: BoxStream<'static, StreamItem>,
    queue: mpsc::Sender<Message>,
    request_id: String,
) -> (String, OperationEnd) {
    let mut outcome = OperationOutcome { kind: kind_label(kind), failed: false };
    let mut first = true;
    while let Some(item) = stream.next().await {
        let message = match item {
            // A shared subscription's event: serialised once for all its
            // subscribers; only the envelope is this one's.
            StreamItem::Shared(payload) => shared_next(&id, &payload),
            StreamItem::Response(mut response) => {
                finish_errors(&mut response.errors, &request_id);
                outcome.failed |= !response.errors.is_empty();
                if first && failed_before_execution(&response, kind) {
                    return (id, OperationEnd::Failed(response.errors));
                }
                match (ServerMessage::Next { id: &id, payload: &response }).encode() {
                    Ok(message) => message,
                    Err(_) => return (id, OperationEnd::Failed(vec![internal_error()])),
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
            return (id, OperationEnd::Failed(vec![error]));
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

    #[test]
    fn reasons_are_cut_at_character_boundaries() {
        let long = "é".repeat(100);
        let cut = truncate(Cow::Owned(long), MAX_REASON_BYTES);
        assert!(cut.len() <= MAX_REASON_BYTES && cut.len() >= MAX_REASON_BYTES - 1);
        assert_eq!(truncate(Cow::Borrowed("short"), MAX_REASON_BYTES), "short");
    }
}
