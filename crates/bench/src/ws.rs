//! Just enough of a `graphql-transport-ws` client for the live workload:
//! connect, `connection_init` with a bearer token, `subscribe`.

use crate::Fallible;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

pub type Ws = WebSocketStream<TcpStream>;

/// How long the handshake and the `connection_ack` may take (thousands of
/// connections open at once on two cores).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// Opens `/graphql/ws` on `addr` and completes `connection_init`.
pub async fn connect(addr: SocketAddr, token: &str) -> Fallible<Ws> {
    let handshake = async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
        // The events are small; the default 128 KiB read buffer per
        // connection would make the client the memory hog of the run.
        let config = WebSocketConfig::default().read_buffer_size(8 * 1024).write_buffer_size(0);
        let mut request =
            format!("ws://{addr}/graphql/ws").into_client_request().map_err(|e| e.to_string())?;
        request
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
        let (mut ws, _) = tokio_tungstenite::client_async_with_config(request, tcp, Some(config))
            .await
            .map_err(|e| format!("WebSocket upgrade: {e}"))?;
        send(
            &mut ws,
            &json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }),
        )
        .await?;
        loop {
            match next_json(&mut ws).await? {
                m if m["type"] == "connection_ack" => return Ok(ws),
                m if m["type"] == "ping" => send(&mut ws, &json!({ "type": "pong" })).await?,
                m => return Err(format!("expected connection_ack, got {m}")),
            }
        }
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
        .await
        .map_err(|_| format!("no connection_ack within {HANDSHAKE_TIMEOUT:?}"))?
}

/// Starts the operation `id`.
pub async fn subscribe(ws: &mut Ws, id: &str, query: &str, variables: Value) -> Fallible<()> {
    send(ws, &json!({ "type": "subscribe", "id": id, "payload": { "query": query, "variables": variables } }))
        .await
}

async fn send(ws: &mut Ws, message: &Value) -> Fallible<()> {
    ws.send(Message::text(message.to_string())).await.map_err(|e| format!("WebSocket send: {e}"))
}

/// The next protocol message as JSON.
pub async fn next_json(ws: &mut Ws) -> Fallible<Value> {
    let text = next_text(ws).await?;
    serde_json::from_str(text.as_str()).map_err(|e| format!("not JSON ({e}): {}", text.as_str()))
}

/// The next text frame, skipping Ping and Pong frames (tungstenite answers
/// Pings as it reads).
pub async fn next_text(ws: &mut Ws) -> Fallible<Utf8Bytes> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text),
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("the server closed the connection: {frame:?}"));
            }
            Some(Ok(Message::Binary(_))) => return Err("unexpected binary frame".to_owned()),
            Some(Err(e)) => return Err(format!("WebSocket: {e}")),
            None => return Err("the connection ended".to_owned()),
        }
    }
}
