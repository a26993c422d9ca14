//! An external identity provider: keys from a JWKS file, custom issuer,
//! audience and claim names, roles granted by the token, and key rotation
//! without a restart.

use goalgraph_e2e::{Org, TestServer, WHO_AM_I, create_org, generate_keys, start_with};
use goalgraph_server::auth::LocalKeys;
use goalgraph_testkit::TestDb;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

const ISSUER: &str = "https://idp.example/";
const AUDIENCE: &str = "goalgraph-api";
const TENANT_CLAIM: &str = "https://example.com/org";
const ROLES_CLAIM: &str = "roles";

const CREATE_PERIOD: &str = "mutation($name: String!) { \
    createPeriod(input: { name: $name, startDate: \"2031-01-01\", endDate: \"2031-03-31\" }) \
    { period { name status } } }";

/// The provider: a key pair whose public half the server reads from `jwks`.
struct Provider {
    /// Holds the provider's key files.
    _dir: tempfile::TempDir,
    keys: LocalKeys,
}

impl Provider {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let keys = generate_keys(dir.path()).await;
        Self { _dir: dir, keys }
    }

    fn jwks(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(&self.keys.jwks()).unwrap()
    }

    /// A token for a person of `org` as the provider would issue it.
    fn token(&self, org: &Org, subject: &str, roles: Option<Value>) -> String {
        self.keys.sign_claims(&provider_claims(&org.org.slug, subject, roles)).unwrap()
    }
}

fn provider_claims(slug: &str, subject: &str, roles: Option<Value>) -> Map<String, Value> {
    let now = chrono::Utc::now().timestamp();
    let mut claims = Map::new();
    claims.insert("iss".into(), ISSUER.into());
    claims.insert("aud".into(), json!([AUDIENCE, "another-client"]));
    claims.insert("sub".into(), subject.into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + 600).into());
    claims.insert(TENANT_CLAIM.into(), slug.into());
    if let Some(roles) = roles {
        claims.insert(ROLES_CLAIM.into(), roles);
    }
    claims
}

/// Replaces the file the way a deployment would: a new file renamed over it.
fn publish(path: &Path, jwks: &[u8]) {
    let tmp = path.with_extension("json.new");
    std::fs::write(&tmp, jwks).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A server configured for the provider whose JWKS is at `jwks_file`.
async fn start_for_provider(db: &TestDb, jwks_file: PathBuf) -> TestServer {
    let server = start_with(db, |config| {
        config.auth.jwks_file = Some(jwks_file);
        config.auth.issuer = ISSUER.to_owned();
        config.auth.audience = AUDIENCE.to_owned();
        config.auth.tenant_claim = TENANT_CLAIM.to_owned();
        config.auth.roles_claim = Some(ROLES_CLAIM.to_owned());
    })
    .await;
    assert!(server.server.local_keys.is_none(), "an identity provider is configured: no local keys");
    server
}

pub async fn external_provider_roles_and_claims(db: TestDb) {
    let provider = Provider::new().await;
    let idp_dir = tempfile::tempdir().unwrap();
    let jwks_file = idp_dir.path().join("provider-jwks.json");
    publish(&jwks_file, &provider.jwks());
    let server = start_for_provider(&db, jwks_file).await;
    let acme = create_org(server.store(), "acme").await;
    let member = &acme.member;

    // The provider's token, with the custom tenant claim, works.
    let plain = provider.token(&acme, &member.subject, None);
    let data = server.gql_ok(&plain, WHO_AM_I, json!({})).await;
    assert_eq!(data["viewer"]["name"], "Acme Member");
    assert_eq!(data["organization"]["name"], "Acme Corp");

    // A MEMBER may not open periods...
    server.gql(Some(&plain), CREATE_PERIOD, json!({ "name": "2031 Q1" })).await.assert_error("FORBIDDEN");
    // ...unless the provider grants HR in the roles claim (unknown roles of
    // other applications are ignored).
    let hr = provider.token(&acme, &member.subject, Some(json!(["HR", "billing-admin"])));
    let data = server.gql_ok(&hr, CREATE_PERIOD, json!({ "name": "2031 Q1" })).await;
    assert_eq!(data["createPeriod"]["period"]["name"], "2031 Q1");
    assert_eq!(data["createPeriod"]["period"]["status"], "PLANNING");
    // The grant lives in the token, not in the directory.
    server
        .gql(Some(&plain), CREATE_PERIOD, json!({ "name": "2031 Q1 again" }))
        .await
        .assert_error("FORBIDDEN");

    // The local defaults no longer apply: the tenant under `org`, the
    // issuer `goalgraph`, a key that is not the provider's.
    let mut default_tenant_claim = provider_claims("acme", &member.subject, None);
    default_tenant_claim.remove(TENANT_CLAIM);
    default_tenant_claim.insert("org".into(), "acme".into());
    let mut default_issuer = provider_claims("acme", &member.subject, None);
    default_issuer.insert("iss".into(), "goalgraph".into());
    let stranger = Provider::new().await;
    for (label, token) in [
        ("tenant in the default claim", provider.keys.sign_claims(&default_tenant_claim).unwrap()),
        ("the default issuer", provider.keys.sign_claims(&default_issuer).unwrap()),
        ("a key the provider does not publish", stranger.token(&acme, &member.subject, None)),
    ] {
        server.gql(Some(&token), WHO_AM_I, json!({})).await.assert_unauthenticated(label);
    }
    server.stop().await;
}

pub async fn external_provider_keys_rotate_without_restart(db: TestDb) {
    let old = Provider::new().await;
    let idp_dir = tempfile::tempdir().unwrap();
    let jwks_file = idp_dir.path().join("provider-jwks.json");
    publish(&jwks_file, &old.jwks());
    let server = start_for_provider(&db, jwks_file.clone()).await;
    let acme = create_org(server.store(), "acme").await;

    let old_token = old.token(&acme, &acme.member.subject, None);
    let data = server.gql_ok(&old_token, WHO_AM_I, json!({})).await;
    assert_eq!(data["viewer"]["name"], "Acme Member");

    // The provider rotates: the file now holds only the new key.
    let new = Provider::new().await;
    assert_ne!(new.keys.kid, old.keys.kid);
    publish(&jwks_file, &new.jwks());

    let new_token = new.token(&acme, &acme.member.subject, None);
    let data = server.gql_ok(&new_token, WHO_AM_I, json!({})).await;
    assert_eq!(data["viewer"]["name"], "Acme Member");
    assert_eq!(data["organization"]["name"], "Acme Corp");
    // The key set follows the file: the withdrawn key no longer verifies.
    server.gql(Some(&old_token), WHO_AM_I, json!({})).await.assert_unauthenticated("withdrawn key");
    server.stop().await;
}
