//! The HTTP surface of `/graphql`: request ids, GraphiQL and queries over
//! GET (never mutations), JSON only, a body limit, CORS.

use goalgraph_e2e::{TestServer, WHO_AM_I, create_org, reply, start, start_with};
use goalgraph_testkit::{Backend, TestDb};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashSet;

pub async fn request_ids_on_every_response(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    let graphql = server.graphql_url();
    let who_am_i = json!({ "query": WHO_AM_I });
    let c = &server.client;

    // (label, request, expected status)
    let requests = |client_id: Option<&str>| {
        let mut list = vec![
            ("GET /healthz", c.get(server.url("/healthz")), StatusCode::OK),
            ("GET /readyz", c.get(server.url("/readyz")), StatusCode::OK),
            ("GET /metrics", c.get(server.url("/metrics")), StatusCode::OK),
            ("GET of an unknown path", c.get(server.url("/nowhere")), StatusCode::NOT_FOUND),
            ("POST without a token", c.post(&graphql).json(&who_am_i), StatusCode::UNAUTHORIZED),
            ("POST with a token", c.post(&graphql).bearer_auth(&token).json(&who_am_i), StatusCode::OK),
            (
                "GET of a mutation",
                c.get(&graphql).query(&[("query", "mutation { __typename }")]),
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            (
                "POST as text/plain",
                c.post(&graphql)
                    .bearer_auth(&token)
                    .header("content-type", "text/plain")
                    .body(who_am_i.to_string()),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
        ];
        if let Some(id) = client_id {
            list = list.into_iter().map(|(label, r, s)| (label, r.header("x-request-id", id), s)).collect();
        }
        list
    };

    let mut generated = HashSet::new();
    for (label, request, status) in requests(None) {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{label}");
        let id = response.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_owned());
        let id = id.unwrap_or_else(|| panic!("{label}: no x-request-id"));
        assert!(!id.is_empty(), "{label}: empty x-request-id");
        assert!(generated.insert(id.clone()), "{label}: x-request-id {id} was used before");
    }
    let client_id = format!("e2e-{}", uuid::Uuid::new_v4());
    for (label, request, status) in requests(Some(&client_id)) {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{label}");
        assert_eq!(
            response.headers().get("x-request-id").and_then(|v| v.to_str().ok()),
            Some(client_id.as_str()),
            "{label}: the client's request id is echoed"
        );
    }
    // The audit event of a mutation names the request that made it.
    let company = server.company_unit_id(&token).await;
    let mutation = json!({
        "query": "mutation($p: ID!) { createUnit(input: { kind: DEPARTMENT, name: \"Audited\", parentId: $p }) { unit { id } } }",
        "variables": { "p": company },
    });
    let created = reply(
        c.post(&graphql)
            .bearer_auth(&token)
            .header("x-request-id", &client_id)
            .json(&mutation)
            .send()
            .await
            .unwrap(),
    )
    .await
    .assert_ok();
    let unit = created["createUnit"]["unit"]["id"].clone();
    let events = server
        .gql_ok(
            &token,
            "query($id: ID!) { auditEvents(filter: { objectId: $id }) { edges { node { action requestId } } } }",
            json!({ "id": unit }),
        )
        .await;
    let node = &events["auditEvents"]["edges"][0]["node"];
    assert_eq!(node["action"], "createUnit", "{events:#}");
    assert_eq!(node["requestId"], client_id.as_str(), "{events:#}");
    server.stop().await;
}

pub async fn get_serves_graphiql_and_queries_but_not_mutations(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    let c = &server.client;
    let graphql = server.graphql_url();

    let response = c.get(&graphql).header("accept", "text/html").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.unwrap();
    assert!(html.to_lowercase().contains("graphiql"), "{html}");

    // A query over GET runs with a token...
    let get_query = c.get(&graphql).query(&[("query", "{organization{name}}")]);
    let ok = reply(get_query.try_clone().unwrap().bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(ok.assert_ok()["organization"]["name"], "Acme Corp");
    // ...and not without one.
    reply(get_query.send().await.unwrap()).await.assert_unauthenticated("GET without a token");

    // Mutations never run over GET.
    let company = server.company_unit_id(&token).await;
    let units = server.unit_count(&token).await;
    let mutation = format!(
        "mutation {{ createUnit(input: {{ kind: DEPARTMENT, name: \"Via GET\", parentId: \"{company}\" }}) {{ unit {{ id }} }} }}"
    );
    let refused =
        reply(c.get(&graphql).bearer_auth(&token).query(&[("query", &mutation)]).send().await.unwrap()).await;
    assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED, "{}", refused.body);
    assert_eq!(refused.header("allow"), Some("POST"));
    assert!(refused.body.get("data").is_none(), "{}", refused.body);
    assert_eq!(server.unit_count(&token).await, units, "a mutation ran over GET");

    // Positive control: the same mutation over POST.
    let data = server.gql_ok(&token, &mutation, json!({})).await;
    assert!(data["createUnit"]["unit"]["id"].is_string());
    assert_eq!(server.unit_count(&token).await, units + 1);
    server.stop().await;
}

/// GraphQL over HTTP names the operation of a GET request `operationName`.
pub async fn get_selects_the_operation_by_operation_name(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    let company = server.company_unit_id(&token).await;
    let units = server.unit_count(&token).await;
    let document = format!(
        "query Read {{ organization {{ name }} }} \
         mutation Write {{ createUnit(input: {{ kind: DEPARTMENT, name: \"Via GET\", parentId: \"{company}\" }}) {{ unit {{ id }} }} }}"
    );
    let get = |params: &[(&str, &str)]| {
        server
            .client
            .get(server.graphql_url())
            .bearer_auth(&token)
            .query(&[("query", document.as_str())])
            .query(params)
    };

    // Whatever the spelling, the mutation never runs over GET.
    for name in ["operationName", "operation_name"] {
        let reply = reply(get(&[(name, "Write")]).send().await.unwrap()).await;
        assert!(reply.body["data"]["createUnit"].is_null(), "{name}: {}", reply.body);
        assert_eq!(server.unit_count(&token).await, units, "{name}: a mutation ran over GET");
    }
    let read = reply(get(&[("operationName", "Read")]).send().await.unwrap()).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body["data"]["organization"]["name"], "Acme Corp", "operationName=Read: {}", read.body);
    let write = reply(get(&[("operationName", "Write")]).send().await.unwrap()).await;
    assert_eq!(write.status, StatusCode::METHOD_NOT_ALLOWED, "operationName=Write: {}", write.body);
    assert_eq!(write.header("allow"), Some("POST"));
    server.stop().await;
}

pub async fn posts_must_be_json(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    let body = json!({ "query": WHO_AM_I }).to_string();
    let post = |content_type: &str| {
        server
            .client
            .post(server.graphql_url())
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body.clone())
    };

    for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/jsonp"] {
        let refused = reply(post(content_type).send().await.unwrap()).await;
        assert_eq!(refused.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}: {}", refused.body);
        assert!(refused.body.get("data").is_none(), "{content_type}: {}", refused.body);
    }
    for content_type in ["application/json", "application/json; charset=utf-8"] {
        let data = reply(post(content_type).send().await.unwrap()).await.assert_ok();
        assert_eq!(data["viewer"]["name"], "Acme Admin", "{content_type}");
        assert_eq!(data["organization"]["name"], "Acme Corp", "{content_type}");
    }
    server.stop().await;
}

const LIMIT: usize = 4096;

/// A query padded with a comment to `size` bytes of JSON.
fn body_of(size: usize) -> String {
    let bare = json!({ "query": format!("#\n{WHO_AM_I}") }).to_string();
    let body = json!({ "query": format!("#{}\n{WHO_AM_I}", "x".repeat(size - bare.len())) }).to_string();
    assert_eq!(body.len(), size);
    body
}

pub async fn oversized_bodies_are_refused_and_the_server_keeps_serving(db: TestDb) {
    let server = start_with(&db, |config| config.body_limit_bytes = LIMIT).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    // A new client (connection) for every request: whether a connection
    // survives a 413 is the business of the next test.
    let post = |body: String| {
        goalgraph_e2e::client()
            .post(server.graphql_url())
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
    };

    // Up to the limit: served.
    for size in [200, LIMIT - 100, LIMIT] {
        let data = reply(post(body_of(size)).send().await.unwrap()).await.assert_ok();
        assert_eq!(data["viewer"]["name"], "Acme Admin", "{size} bytes");
    }
    // Beyond it, also far beyond it: 413, and the server keeps serving.
    for size in [LIMIT + 1, 3 * LIMIT, 16 * LIMIT] {
        let refused = reply(post(body_of(size)).send().await.unwrap()).await;
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE, "{size} bytes: {}", refused.body);
        assert!(refused.body.get("data").is_none(), "{size} bytes: {}", refused.body);
        let data = reply(post(body_of(200)).send().await.unwrap()).await.assert_ok();
        assert_eq!(data["organization"]["name"], "Acme Corp", "after {size} bytes");
    }

    // Bulk KPI ingestion may exceed the limit (up to the bulk limit): the
    // same size that was refused above for a query is accepted for it.
    let company = server.company_unit_id(&token).await;
    let viewer = server.gql_ok(&token, "{ viewer { id } }", json!({})).await;
    let kpi = server
        .gql_ok(
            &token,
            "mutation($u: ID!, $o: ID!) { createKpi(input: { unitId: $u, ownerId: $o, name: \"Uptime\", \
             category: OPERATIONAL, direction: HIGHER_IS_BETTER, healthyLower: 99, cadence: DAILY }) { kpi { id } } }",
            json!({ "u": company, "o": viewer["viewer"]["id"] }),
        )
        .await;
    let kpi_id = kpi["createKpi"]["kpi"]["id"].clone();
    let now = chrono::Utc::now();
    let points: Vec<serde_json::Value> = (0..200)
        .map(|i| json!({ "observedAt": (now - chrono::Duration::hours(i)).to_rfc3339(), "value": 99.5 }))
        .collect();
    let bulk = json!({
        "query": "mutation($k: ID!, $p: [MeasurementPointInput!]!) { recordKpiMeasurements(input: { kpiId: $k, points: $p }) { written } }",
        "variables": { "k": kpi_id, "p": points },
    })
    .to_string();
    assert!(bulk.len() > 3 * LIMIT, "the bulk body ({} bytes) must exceed the normal limit", bulk.len());
    let data = reply(post(bulk).send().await.unwrap()).await.assert_ok();
    assert_eq!(data["recordKpiMeasurements"]["written"], 200);
    server.stop().await;
}

/// One HTTP/1.1 connection over a plain socket, to control exactly which
/// bytes the server has received when it answers.
struct RawConnection {
    stream: std::net::TcpStream,
    buffer: Vec<u8>,
}

/// Status, lower-cased headers, body.
type RawResponse = (u16, Vec<(String, String)>, Vec<u8>);

impl RawConnection {
    fn connect(addr: std::net::SocketAddr) -> Self {
        let stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
        Self { stream, buffer: Vec::new() }
    }

    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write as _;
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    fn fill(&mut self) -> std::io::Result<()> {
        use std::io::Read as _;
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk)? {
            0 => Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                self.buffer.extend_from_slice(&chunk[..n]);
                Ok(())
            }
        }
    }

    /// Reads one response with a `content-length`.
    fn response(&mut self) -> std::io::Result<RawResponse> {
        let head_end = loop {
            if let Some(i) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            self.fill()?;
        };
        let head = String::from_utf8_lossy(&self.buffer[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while self.buffer.len() < head_end + 4 + length {
            self.fill()?;
        }
        let body = self.buffer[head_end + 4..head_end + 4 + length].to_vec();
        self.buffer.drain(..head_end + 4 + length);
        Ok((status, headers, body))
    }
}

fn post_head(addr: std::net::SocketAddr, token: &str, content_type: &str, length: usize) -> String {
    format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    )
}

/// A refusal sent before the server has read the whole body (413 over
/// the limit; 401 and 415, which answer before reading it at all). The
/// server may then close the connection, but it must say so (`Connection:
/// close`), or a client that keeps connections alive sends its next
/// request into a closed socket; otherwise the connection must stay usable.
pub async fn a_refused_body_does_not_break_keep_alive(db: TestDb) {
    // With no larger allowance for bulk ingestion, the server refuses as
    // soon as the body passes the limit, before it has all of it.
    let server = start_with(&db, |config| {
        config.body_limit_bytes = LIMIT;
        config.bulk_body_limit_bytes = LIMIT;
    })
    .await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    let expired = server.token_with_ttl(&acme.admin.subject, "acme", chrono::Duration::hours(-1));
    let addr = server.server.addr;
    let outcome = tokio::task::spawn_blocking(move || {
        let small = body_of(200);
        let next_request = format!("{}{small}", post_head(addr, &token, "application/json", small.len()));
        // Positive control: two requests on one connection.
        let mut conn = RawConnection::connect(addr);
        for _ in 0..2 {
            conn.send(next_request.as_bytes()).unwrap();
            let (status, _, body) = conn.response().unwrap();
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        }

        let mut failures = Vec::new();
        for (label, credential, content_type, expected) in [
            ("413, body over the limit", &token, "application/json", 413),
            ("401, expired token", &expired, "application/json", 401),
            ("415, text/plain", &token, "text/plain", 415),
        ] {
            // A body of 16 limits, of which the server has 2 when it answers.
            let big = body_of(16 * LIMIT);
            let mut conn = RawConnection::connect(addr);
            conn.send(post_head(addr, credential, content_type, big.len()).as_bytes()).unwrap();
            conn.send(&big.as_bytes()[..2 * LIMIT]).unwrap();
            let (status, headers, body) = conn.response().unwrap();
            assert_eq!(status, expected, "{label}: {}", String::from_utf8_lossy(&body));
            if headers.iter().any(|(k, v)| k == "connection" && v.eq_ignore_ascii_case("close")) {
                continue;
            }
            // Kept alive, as announced: the rest of the body, then the next request.
            let next = conn
                .send(&big.as_bytes()[2 * LIMIT..])
                .and_then(|()| conn.send(next_request.as_bytes()))
                .and_then(|()| conn.response());
            match next {
                Ok((200, _, _)) => {}
                Ok((status, _, body)) => {
                    failures.push(format!("{label}: then {status}: {}", String::from_utf8_lossy(&body)))
                }
                Err(e) => failures.push(format!(
                    "{label}: no `Connection: close` (headers {headers:?}), \
                     yet the connection is unusable: {e}"
                )),
            }
        }
        failures
    })
    .await
    .unwrap();
    assert!(outcome.is_empty(), "{}", outcome.join("\n"));
    server.stop().await;
}

pub async fn cors_allows_only_configured_origins(db: TestDb) {
    let server = start_with(&db, |config| config.cors_origins = vec!["https://app.example".to_owned()]).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    let preflight = async |origin: &str| {
        server
            .client
            .request(reqwest::Method::OPTIONS, server.graphql_url())
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type")
            .send()
            .await
            .unwrap()
    };
    let allowed_origin = |r: &reqwest::Response| {
        r.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned())
    };

    let ok = preflight("https://app.example").await;
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(allowed_origin(&ok).as_deref(), Some("https://app.example"));
    let methods = ok.headers()["access-control-allow-methods"].to_str().unwrap().to_uppercase();
    assert!(methods.contains("POST"), "{methods}");
    let headers = ok.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    assert!(headers.contains("authorization") && headers.contains("content-type"), "{headers}");

    for origin in ["https://evil.example", "https://app.example.evil.example", "http://app.example"] {
        let refused = preflight(origin).await;
        assert_eq!(allowed_origin(&refused), None, "{origin} is allowed");
    }

    // Actual requests: the header only for the configured origin.
    for (origin, expected) in
        [("https://app.example", Some("https://app.example")), ("https://evil.example", None)]
    {
        let response = server
            .client
            .post(server.graphql_url())
            .bearer_auth(&token)
            .header("origin", origin)
            .json(&json!({ "query": WHO_AM_I }))
            .send()
            .await
            .unwrap();
        assert_eq!(allowed_origin(&response).as_deref(), expected, "{origin}");
    }
    server.stop().await;
}

/// A unit's tree, as the compiled read path answers it on PostgreSQL.
const TREE: &str = "query Tree($unit: ID!) { node(id: $unit) { ... on Unit { __typename id name
    people(first: 3) { pageInfo { hasNextPage hasPreviousPage } nodes { id name objectives { id title progress } } }
    children { id } } } }";

/// A query the compiled read path answers is sent with the answer the
/// executor would send, alone and in a batch beside an executed one, its
/// fields in the order the query asks for them (the executor sends them in
/// the order they finish: async-graphql#612); on PostgreSQL the request
/// then costs two statements (the person, the tree).
pub async fn compiled_reads_send_what_the_executor_sends(db: TestDb) {
    let compiled = start(&db).await;
    let executed = start_with(&db, |c| c.compiled_reads = false).await;
    let acme = create_org(compiled.store(), "acme").await;
    let token = compiled.token(&acme, &acme.admin);
    let unit = compiled.company_unit_id(&token).await;
    let single = json!({ "query": TREE, "variables": { "unit": unit } });
    let batch = json!([single, { "query": WHO_AM_I }]);
    let send = async |server: &TestServer, body: &serde_json::Value| {
        let before = server.store().statement_count();
        let response =
            server.client.post(server.graphql_url()).bearer_auth(&token).json(body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        let bytes = response.bytes().await.unwrap();
        (bytes, server.store().statement_count() - before)
    };
    // Each server's first request reads the tenant's unit tree for actors.
    send(&compiled, &single).await;
    send(&executed, &single).await;
    let (fast, fast_sql) = send(&compiled, &single).await;
    let (slow, slow_sql) = send(&executed, &single).await;
    let json = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes).unwrap();
    assert_eq!(json(&fast), json(&slow));
    let tree = json(&fast);
    assert_eq!(tree["data"]["node"]["name"], "Acme Corp", "{tree}");
    assert_eq!(tree["data"]["node"]["people"]["nodes"].as_array().map(Vec::len), Some(3), "{tree}");
    assert_eq!(
        tree["data"]["node"]["people"]["pageInfo"]["hasNextPage"], true,
        "five people, pages of three"
    );
    if db.backend == Backend::Postgres {
        let text = String::from_utf8_lossy(&fast);
        let at = |key: &str| text.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("{key} in {text}"));
        assert!(
            at("__typename") < at("id") && at("name") < at("people") && at("people") < at("children"),
            "{text}"
        );
        assert!(at("hasNextPage") < at("hasPreviousPage") && at("pageInfo") < at("nodes"), "{text}");
        assert_eq!(fast_sql, 2, "the person and the tree");
        assert!(slow_sql > 2, "the executor's loads: {slow_sql}");
    } else {
        assert_eq!(fast_sql, slow_sql, "SQLite executes every query");
    }
    let (fast, _) = send(&compiled, &batch).await;
    let (slow, _) = send(&executed, &batch).await;
    assert_eq!(json(&fast), json(&slow));
    let answers = json(&fast);
    assert_eq!(answers[0], tree, "the same answer inside a batch");
    assert_eq!(answers[1]["data"]["viewer"]["name"], "Acme Admin");
}
