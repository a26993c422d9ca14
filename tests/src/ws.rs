//! A WebSocket client for `/graphql/ws` (the `graphql-transport-ws`
//! protocol), over a real TCP connection with tokio-tungstenite.
//!
//! ```ignore
//! let mut ws = server.ws_session(&token).await;          // connect, init, ack
//! ws.subscribe("1", "{ viewer { name } }", json!({})).await;
//! let payload = ws.expect_next("1").await;              // {"data": …}
//! ws.expect_complete("1").await;
//! // or all three at once:
//! let payload = ws.query("2", "{ viewer { name } }", json!({})).await;
//! ```
//!
//! Every read has a timeout and panics with what arrived instead, so a
//! test fails with a message rather than hanging. Ping and Pong *frames*
//! (the transport's heartbeat) are skipped by the message readers and
//! answered by tungstenite as they are read; `next_frame` shows them.

use crate::{GqlReply, TestServer, reply};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::http::HeaderValue;

pub use tokio_tungstenite::tungstenite::Error as WsError;
pub use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The subprotocol of the endpoint.
pub const GRAPHQL_TRANSPORT_WS: &str = "graphql-transport-ws";

/// How long the readers wait unless told otherwise.
pub const WS_TIMEOUT: Duration = Duration::from_secs(10);

/// How to open the connection.
#[derive(Debug, Clone)]
pub struct WsOptions {
    /// Subprotocols offered in `Sec-WebSocket-Protocol` (none: the header
    /// is left out). Default: `graphql-transport-ws`.
    pub protocols: Vec<String>,
    /// An `Origin` header, as a browser sends it. Default: none.
    pub origin: Option<String>,
    /// The client socket's receive buffer (`SO_RCVBUF`), to make a client
    /// that does not read fill up quickly. Default: the system's.
    pub recv_buffer_bytes: Option<u32>,
}

impl Default for WsOptions {
    fn default() -> Self {
        Self { protocols: vec![GRAPHQL_TRANSPORT_WS.to_owned()], origin: None, recv_buffer_bytes: None }
    }
}

impl WsOptions {
    /// Offers exactly `protocols` (empty: no subprotocol header).
    pub fn protocols(protocols: &[&str]) -> Self {
        Self { protocols: protocols.iter().map(|p| (*p).to_owned()).collect(), ..Self::default() }
    }

    pub fn origin(mut self, origin: &str) -> Self {
        self.origin = Some(origin.to_owned());
        self
    }

    pub fn recv_buffer(mut self, bytes: u32) -> Self {
        self.recv_buffer_bytes = Some(bytes);
        self
    }
}

impl TestServer {
    /// `ws://…/graphql/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql/ws", self.server.addr)
    }

    /// Opens a connection with the default options; panics if refused.
    pub async fn ws_connect(&self) -> WsClient {
        self.ws_connect_with(WsOptions::default()).await
    }

    /// Opens a connection; panics if the server refuses the upgrade.
    pub async fn ws_connect_with(&self, options: WsOptions) -> WsClient {
        WsClient::connect(self.server.addr, &options)
            .await
            .unwrap_or_else(|e| panic!("WebSocket upgrade with {options:?} refused: {e}"))
    }

    /// Connects and completes `connection_init` with `token` as
    /// `Authorization: Bearer <token>`; panics unless acknowledged.
    pub async fn ws_session(&self, token: &str) -> WsClient {
        let mut ws = self.ws_connect().await;
        ws.init_with_token(token).await;
        ws
    }

    /// Sends an upgrade request over plain HTTP and returns the answer, for
    /// refusals (status, headers, the JSON error body). A 101 is returned
    /// as such, without a usable socket: use [`Self::ws_connect_with`].
    pub async fn ws_upgrade(&self, options: WsOptions) -> GqlReply {
        let mut request = self
            .client
            .get(self.url("/graphql/ws"))
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", generate_key());
        if !options.protocols.is_empty() {
            request = request.header("sec-websocket-protocol", options.protocols.join(", "));
        }
        if let Some(origin) = &options.origin {
            request = request.header("origin", origin);
        }
        reply(request.send().await.expect("upgrade request sent")).await
    }
}

/// One client connection.
pub struct WsClient {
    pub stream: WebSocketStream<TcpStream>,
    /// The subprotocol the server selected.
    pub protocol: Option<String>,
}

impl WsClient {
    /// Connects to `/graphql/ws` on `addr`.
    pub async fn connect(addr: SocketAddr, options: &WsOptions) -> Result<Self, WsError> {
        let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        if let Some(bytes) = options.recv_buffer_bytes {
            socket.set_recv_buffer_size(bytes)?;
        }
        let tcp = socket.connect(addr).await?;
        let mut request = format!("ws://{addr}/graphql/ws").into_client_request()?;
        let headers = request.headers_mut();
        if !options.protocols.is_empty() {
            let offered = HeaderValue::from_str(&options.protocols.join(", ")).expect("protocol header");
            headers.insert("sec-websocket-protocol", offered);
        }
        if let Some(origin) = &options.origin {
            headers.insert("origin", HeaderValue::from_str(origin).expect("origin header"));
        }
        let (stream, response) = tokio_tungstenite::client_async(request, tcp).await?;
        let protocol =
            response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Self { stream, protocol })
    }

    /// Sends one frame as it is (text, binary, ping…).
    pub async fn send(&mut self, message: WsMessage) {
        self.stream.send(message).await.expect("WebSocket send");
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.send(WsMessage::text(text)).await;
    }

    /// Sends a JSON message as a text frame.
    pub async fn send_json(&mut self, message: &Value) {
        self.send_text(&message.to_string()).await;
    }

    /// Sends several messages in one write, so that the server finds them
    /// in its buffer together and reads them all before anything else
    /// (e.g. before a quick operation of the first one ends).
    pub async fn send_burst(&mut self, messages: &[Value]) {
        for message in messages {
            self.stream.feed(WsMessage::text(message.to_string())).await.expect("WebSocket feed");
        }
        self.stream.flush().await.expect("WebSocket flush");
    }

    /// `connection_init` with `payload` (`Value::Null`: without one).
    pub async fn init(&mut self, payload: Value) {
        let message = if payload.is_null() {
            json!({ "type": "connection_init" })
        } else {
            json!({ "type": "connection_init", "payload": payload })
        };
        self.send_json(&message).await;
    }

    /// `connection_init` with `Authorization: Bearer <token>`, then expects
    /// `connection_ack`.
    pub async fn init_with_token(&mut self, token: &str) {
        self.init(json!({ "Authorization": format!("Bearer {token}") })).await;
        self.expect("connection_ack", None).await;
    }

    /// The `subscribe` message of one operation.
    pub fn subscribe_message(id: &str, query: &str, variables: Value) -> Value {
        json!({ "type": "subscribe", "id": id, "payload": { "query": query, "variables": variables } })
    }

    /// Starts an operation (query, mutation or subscription) under `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send_json(&Self::subscribe_message(id, query, variables)).await;
    }

    /// Stops the operation `id`.
    pub async fn complete(&mut self, id: &str) {
        self.send_json(&json!({ "type": "complete", "id": id })).await;
    }

    /// A protocol-level `ping` (with a payload unless `Value::Null`).
    pub async fn ping(&mut self, payload: Value) {
        let message = if payload.is_null() {
            json!({ "type": "ping" })
        } else {
            json!({ "type": "ping", "payload": payload })
        };
        self.send_json(&message).await;
    }

    /// The next frame of any kind; `None` once the connection has ended.
    /// Panics when nothing arrives `within`.
    pub async fn next_frame(&mut self, within: Duration) -> Option<WsMessage> {
        match tokio::time::timeout(within, self.stream.next()).await {
            Ok(Some(Ok(message))) => Some(message),
            Ok(Some(Err(_)) | None) => None,
            Err(_) => panic!("no WebSocket frame within {within:?}"),
        }
    }

    /// The next protocol message as JSON, skipping Ping and Pong frames.
    /// Panics on a close, the end of the connection, a non-JSON frame, or
    /// when nothing arrives `within`.
    pub async fn next_message(&mut self, within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = tokio::time::timeout(left, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("no WebSocket message within {within:?}"));
            match frame {
                Some(Ok(WsMessage::Text(text))) => {
                    return serde_json::from_str(text.as_str())
                        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text.as_str()));
                }
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                Some(Ok(WsMessage::Close(frame))) => panic!("closed while a message was expected: {frame:?}"),
                Some(Ok(other)) => panic!("unexpected frame: {other:?}"),
                Some(Err(e)) => panic!("the connection failed while a message was expected: {e}"),
                None => panic!("the connection ended while a message was expected"),
            }
        }
    }

    /// The next message, which must be of `kind` (and for `id`); returns it.
    pub async fn expect(&mut self, kind: &str, id: Option<&str>) -> Value {
        let message = self.next_message(WS_TIMEOUT).await;
        assert_eq!(message["type"], kind, "expected {kind}: {message}");
        if let Some(id) = id {
            assert_eq!(message["id"], id, "expected {kind} for {id}: {message}");
        }
        message
    }

    /// The payload of the next message, a `next` for `id`.
    pub async fn expect_next(&mut self, id: &str) -> Value {
        self.expect("next", Some(id)).await["payload"].clone()
    }

    /// The next message is `complete` for `id`.
    pub async fn expect_complete(&mut self, id: &str) {
        self.expect("complete", Some(id)).await;
    }

    /// The errors of the next message, an `error` for `id`.
    pub async fn expect_error(&mut self, id: &str) -> Value {
        let payload = self.expect("error", Some(id)).await["payload"].clone();
        assert!(payload.is_array(), "an error's payload is a list of GraphQL errors: {payload}");
        payload
    }

    /// Runs a query or mutation: `subscribe`, one `next`, `complete`;
    /// returns the `next` payload (`{"data": …, "errors"?: …}`).
    pub async fn query(&mut self, id: &str, query: &str, variables: Value) -> Value {
        self.subscribe(id, query, variables).await;
        let payload = self.expect_next(id).await;
        self.expect_complete(id).await;
        payload
    }

    /// Sends a `ping` and expects the `pong`: the connection is open and
    /// everything the server sent before is read.
    pub async fn round_trip(&mut self) {
        self.ping(Value::Null).await;
        self.expect("pong", None).await;
    }

    /// Reads until the connection closes; returns the close code and reason
    /// (1005 for a close frame without a code, 1006 when the connection
    /// ended without a close frame, as browsers report them). Messages
    /// before the close are skipped. Panics when it stays open `within`.
    pub async fn expect_close(&mut self, within: Duration) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = tokio::time::timeout(left, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("the connection is still open after {within:?}"));
            match frame {
                Some(Ok(WsMessage::Close(Some(frame)))) => {
                    return (frame.code.into(), frame.reason.to_string());
                }
                Some(Ok(WsMessage::Close(None))) => return (1005, String::new()),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return (1006, String::new()),
            }
        }
    }
}
