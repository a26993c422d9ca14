//! Support for goalgraph's end-to-end suite: the real server on port 0
//! against a fresh database, a real HTTP client and a WebSocket client
//! ([`ws`]), tenants with a person of every role, and tokens signed by the
//! server's development key.
//!
//! Test-only: nothing depends on this crate, and it may depend on anything
//! (server, store, test kit). It must not reach into the server's internals
//! beyond what `goalgraph-server` exports.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod ws;
pub use ws::{GRAPHQL_TRANSPORT_WS, WS_TIMEOUT, WsClient, WsMessage, WsOptions};

use goalgraph_domain::model::{Organization, Person, Role, RoleSet, Unit};
use goalgraph_persistence::{NewOrganization, NewPerson, PersonPatch, Store};
use goalgraph_server::auth::{LocalKeys, private_key_path};
use goalgraph_server::{App, Config, RunningServer};
use goalgraph_testkit::{Backend, TestDb};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// The query every token test sends.
pub const WHO_AM_I: &str = "{ viewer { name } organization { name } }";

/// A running server, its data directory and a client.
pub struct TestServer {
    pub server: RunningServer,
    pub data_dir: tempfile::TempDir,
    pub client: reqwest::Client,
}

/// The server's configuration for a test: port 0, the test's database,
/// a temporary data directory, tokens from the local key.
pub fn test_config(db_url: &str, data_dir: &Path) -> Config {
    Config {
        data_dir: data_dir.to_path_buf(),
        database_url: Some(SecretString::from(db_url.to_owned())),
        bind: "127.0.0.1:0".to_owned(),
        max_connections: 8,
        ..Config::default()
    }
}

/// Starts the server on `db` with the default test configuration.
pub async fn start(db: &TestDb) -> TestServer {
    start_with(db, |_| {}).await
}

/// Starts the server on `db` after `tweak` has adjusted the configuration.
pub async fn start_with(db: &TestDb, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let data_dir = tempfile::tempdir().expect("data dir");
    seed_signing_key(data_dir.path()).await;
    let mut config = test_config(&db.url, data_dir.path());
    tweak(&mut config);
    let server = RunningServer::start(config).await.expect("server starts");
    TestServer { server, data_dir, client: client() }
}

/// Serves an already built app (e.g. one on an un-migrated store).
pub async fn start_app(app: App, data_dir: tempfile::TempDir) -> TestServer {
    let server = RunningServer::start_app(app).await.expect("server starts");
    TestServer { server, data_dir, client: client() }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("http client")
}

static SIGNING_KEY: OnceCell<tempfile::TempDir> = OnceCell::const_new();

/// Puts a development key into `data_dir` so that every server of the run
/// does not generate its own (2048-bit RSA generation is slow on two
/// cores). The server loads it like any key it finds there.
pub async fn seed_signing_key(data_dir: &Path) {
    let source = SIGNING_KEY
        .get_or_init(|| async {
            let dir = tempfile::tempdir().expect("key dir");
            generate_keys(dir.path()).await;
            dir
        })
        .await;
    std::fs::copy(private_key_path(source.path()), private_key_path(data_dir)).expect("copy signing key");
}

/// A development key pair in `dir` (created when missing), as the server
/// would make it: `jwt-private.pem` and `jwks.json`.
pub async fn generate_keys(dir: &Path) -> LocalKeys {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || LocalKeys::load_or_create(&dir))
        .await
        .expect("key task")
        .expect("key pair")
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    pub fn graphql_url(&self) -> String {
        self.url("/graphql")
    }

    pub fn store(&self) -> &Store {
        &self.server.state.store
    }

    pub fn config(&self) -> &Config {
        &self.server.state.config
    }

    /// The development key the server verifies tokens with.
    pub fn keys(&self) -> &Arc<LocalKeys> {
        self.server.local_keys.as_ref().expect("the server uses local keys")
    }

    /// The server's private key file.
    pub fn private_key_pem(&self) -> String {
        std::fs::read_to_string(private_key_path(self.data_dir.path())).expect("private key")
    }

    /// A valid token (one hour) for `subject` in the tenant `slug`.
    pub fn token_for(&self, subject: &str, slug: &str) -> String {
        self.token_with_ttl(subject, slug, chrono::Duration::hours(1))
    }

    /// A token whose `exp` is `ttl` from now (negative: in the past).
    pub fn token_with_ttl(&self, subject: &str, slug: &str, ttl: chrono::Duration) -> String {
        let auth = &self.config().auth;
        self.keys()
            .mint(&auth.issuer, &auth.audience, subject, &auth.tenant_claim, slug, ttl)
            .expect("mint token")
    }

    /// A valid token for a fixture person.
    pub fn token(&self, org: &Org, person: &Person) -> String {
        self.token_for(&person.subject, &org.org.slug)
    }

    /// The claims of a valid token, to be altered by the caller and signed
    /// with [`LocalKeys::sign_claims`].
    pub fn claims(&self, subject: &str, slug: &str) -> Map<String, Value> {
        let auth = &self.config().auth;
        let now = chrono::Utc::now().timestamp();
        let mut claims = Map::new();
        claims.insert("iss".into(), auth.issuer.clone().into());
        claims.insert("aud".into(), auth.audience.clone().into());
        claims.insert("sub".into(), subject.into());
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), (now + 3600).into());
        claims.insert(auth.tenant_claim.clone(), slug.into());
        claims
    }

    /// Signs claims with the server's key (header `alg: RS256`, its `kid`).
    pub fn sign(&self, claims: &Map<String, Value>) -> String {
        self.keys().sign_claims(claims).expect("sign claims")
    }

    /// POSTs a GraphQL request.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> GqlReply {
        gql(&self.client, &self.graphql_url(), token, query, variables).await
    }

    /// POSTs a GraphQL request that must succeed without errors; returns `data`.
    pub async fn gql_ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let reply = self.gql(Some(token), query, variables).await;
        reply.assert_ok()
    }

    /// The global id of the caller's company unit.
    pub async fn company_unit_id(&self, token: &str) -> String {
        let data = self.gql_ok(token, "{ organization { companyUnit { id } } }", json!({})).await;
        data["organization"]["companyUnit"]["id"].as_str().expect("company unit id").to_owned()
    }

    /// `units { totalCount }` as the caller sees it.
    pub async fn unit_count(&self, token: &str) -> u64 {
        let data = self.gql_ok(token, "{ units { totalCount } }", json!({})).await;
        data["units"]["totalCount"].as_u64().expect("totalCount")
    }

    /// Creates a department below `parent` over HTTP; returns its global id.
    pub async fn create_department(&self, token: &str, parent: &str, name: &str) -> String {
        let data = self.gql_ok(token, CREATE_UNIT, json!({ "parent": parent, "name": name })).await;
        data["createUnit"]["unit"]["id"].as_str().expect("unit id").to_owned()
    }

    pub async fn stop(self) {
        self.server.stop().await.expect("server stops cleanly");
    }
}

pub const CREATE_UNIT: &str = "mutation($parent: ID!, $name: String!) { \
    createUnit(input: { kind: DEPARTMENT, name: $name, parentId: $parent }) { unit { id name } } }";

/// Status, headers and JSON body (a JSON string when the body was not JSON).
#[derive(Debug)]
pub struct GqlReply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl GqlReply {
    /// `errors[0].extensions.code`, if any.
    pub fn code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts 200 without errors and returns `data`.
    pub fn assert_ok(self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "expected 200: {}", self.body);
        assert!(self.body.get("errors").is_none(), "unexpected errors: {}", self.body);
        self.body["data"].clone()
    }

    /// Asserts a 200 response whose first error has `code`.
    pub fn assert_error(&self, code: &str) {
        assert_eq!(self.status, StatusCode::OK, "expected 200: {}", self.body);
        assert_eq!(self.code(), Some(code), "expected {code}: {}", self.body);
    }

    /// Asserts the answer to a refused credential: 401, a Bearer challenge,
    /// UNAUTHENTICATED, and no execution at all (no `data`).
    pub fn assert_unauthenticated(&self, label: &str) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{label}: expected 401: {}", self.body);
        let challenge = self.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Bearer"), "{label}: WWW-Authenticate is {challenge:?}");
        assert_eq!(self.code(), Some("UNAUTHENTICATED"), "{label}: {}", self.body);
        assert!(self.body.get("data").is_none(), "{label}: a resolver ran: {}", self.body);
    }
}

/// POSTs `{query, variables}` as JSON, with a bearer token when given.
pub async fn gql(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> GqlReply {
    let mut request = client.post(url).json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    reply(request.send().await.expect("request sent")).await
}

/// Reads a response into a [`GqlReply`].
pub async fn reply(response: reqwest::Response) -> GqlReply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("response body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    GqlReply { status, headers, body }
}

/// A tenant with one person of each role.
#[derive(Debug, Clone)]
pub struct Org {
    pub org: Organization,
    pub company: Unit,
    pub admin: Person,
    pub hr: Person,
    pub manager: Person,
    pub member: Person,
    pub viewer: Person,
}

/// Creates a tenant `slug` ("<Slug> Corp", admin "<Slug> Admin") with an HR,
/// a MANAGER, a MEMBER and a VIEWER in its company unit, e-mail addresses
/// (and token subjects) `<role>@<slug>.example`.
pub async fn create_org(store: &Store, slug: &str) -> Org {
    let title = title_case(slug);
    let (org, company, admin) = store
        .create_organization(NewOrganization {
            name: format!("{title} Corp"),
            slug: Some(slug.to_owned()),
            time_zone: None,
            admin_name: format!("{title} Admin"),
            admin_email: format!("admin@{slug}.example"),
        })
        .await
        .expect("create organization");
    let actor = store.person_actor(&admin, &RoleSet::default()).await.expect("admin actor");
    let person = async |role: Role| {
        let name = role.as_str().to_lowercase();
        store
            .create_person(
                &actor,
                NewPerson {
                    name: format!("{title} {}", title_case(&name)),
                    email: format!("{name}@{slug}.example"),
                    unit_id: company.id,
                    manager_id: None,
                    roles: Some(RoleSet::new([role])),
                    subject: None,
                    external_id: None,
                },
            )
            .await
            .expect("create person")
    };
    let hr = person(Role::Hr).await;
    let manager = person(Role::Manager).await;
    let member = person(Role::Member).await;
    let viewer = person(Role::Viewer).await;
    Org { org, company, admin, hr, manager, member, viewer }
}

fn title_case(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Deactivates a person through the store, as the tenant's admin.
pub async fn deactivate(store: &Store, org: &Org, person: &Person) {
    let actor = store.person_actor(&org.admin, &RoleSet::default()).await.expect("admin actor");
    let updated = store
        .update_person(&actor, person.id, PersonPatch { active: Some(false), ..PersonPatch::default() })
        .await
        .expect("deactivate person");
    assert!(!updated.active);
}

/// Polls `check` until it returns true or `within` has passed; returns the
/// last answer.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::task::yield_now().await;
    }
}

/// The administrative URL of PostgreSQL (`TEST_DATABASE_URL`).
pub fn pg_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL is set for PostgreSQL tests")
}

/// The database name in a PostgreSQL URL.
pub fn pg_database_name(url: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    base.rsplit('/').next().unwrap_or_default().to_owned()
}

/// Runs one statement on the PostgreSQL server as its administrator.
pub async fn pg_admin_exec(sql: &str) {
    let admin = Database::connect(pg_admin_url()).await.expect("connect as administrator");
    admin.execute_unprepared(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    admin.close().await.ok();
}

/// An empty database (no tables, no migrations), removed when dropped.
pub struct EmptyDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl EmptyDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path: PathBuf = dir.path().join("empty.db");
                Self { url: format!("sqlite://{}", path.display()), _dir: Some(dir), pg_name: None }
            }
            Backend::Postgres => {
                let name = format!("goalgraph_empty_{}", uuid::Uuid::new_v4().simple());
                pg_admin_exec(&format!("CREATE DATABASE {name}")).await;
                let url = goalgraph_testkit::with_database(&pg_admin_url(), &name);
                Self { url, _dir: None, pg_name: Some(name) }
            }
        }
    }
}

impl Drop for EmptyDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else { return };
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let admin = Database::connect(pg_admin_url()).await.ok()?;
                let _ =
                    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                admin.close().await.ok()
            })
        })
        .join();
    }
}
