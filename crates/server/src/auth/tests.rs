//! Tests of token verification, key rotation and local keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::{EncodePublicKey as _, LineEnding};
use serde_json::{Value, json};

use super::jwks::{parse_key_set, validation};
use super::*;

/// One generated key with everything the tests sign with.
struct TestKey {
    local: LocalKeys,
    encoding: EncodingKey,
    public_pem: String,
}

fn make_key() -> TestKey {
    let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    TestKey {
        local: LocalKeys::from_private_key(&private).unwrap(),
        encoding: EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes()),
        public_pem: private.to_public_key().to_public_key_pem(LineEnding::LF).unwrap(),
    }
}

// Key generation is the slow part: one key per role, shared by all tests.
fn key_a() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(make_key)
}

fn key_b() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(make_key)
}

/// A directory under the system temp dir, removed on drop (even on failure).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("goalgraph-auth-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_jwks(path: &Path, keys: &[&TestKey]) {
    let set = json!({ "keys": keys.iter().flat_map(|k| k.local.jwks().keys).collect::<Vec<_>>() });
    std::fs::write(path, serde_json::to_vec(&set).unwrap()).unwrap();
}

fn settings_for(file: &Path) -> AuthSettings {
    AuthSettings { jwks_file: Some(file.to_path_buf()), ..AuthSettings::default() }
}

/// A store over a JWKS file holding `keys`; the file may be rewritten.
async fn store_with(
    keys: &[&TestKey],
    tweak: impl FnOnce(&mut AuthSettings),
) -> (TempDir, PathBuf, Arc<KeyStore>) {
    let dir = TempDir::new();
    let file = dir.path().join("jwks.json");
    write_jwks(&file, keys);
    let mut settings = settings_for(&file);
    tweak(&mut settings);
    let store = KeyStore::load(&settings).await.unwrap();
    (dir, file, store)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims that pass every rule with the default settings.
fn good_claims() -> Value {
    json!({
        "iss": "goalgraph",
        "aud": "goalgraph",
        "sub": "user-1",
        "org": "acme",
        "iat": now(),
        "exp": now() + 300,
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

fn sign(key: &TestKey, alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

fn sign_a(claims: &Value) -> String {
    sign(key_a(), Algorithm::RS256, Some(&key_a().local.kid), claims)
}

/// A token assembled by hand, for headers the library refuses to produce.
fn forge(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

async fn store_a() -> (TempDir, PathBuf, Arc<KeyStore>) {
    store_with(&[key_a()], |_| {}).await
}

#[tokio::test]
async fn valid_token_verifies() {
    let (_dir, _file, store) = store_a().await;
    let exp = now() + 300;
    let token = sign_a(&with(good_claims(), "exp", json!(exp)));
    let verified = store.verify(&token).await.unwrap();
    assert_eq!(
        verified,
        VerifiedToken {
            subject: "user-1".to_owned(),
            tenant: "acme".to_owned(),
            roles: vec![],
            expires_at: exp,
        }
    );
}

#[tokio::test]
async fn minted_token_verifies() {
    let (_dir, _file, store) = store_a().await;
    let token = key_a()
        .local
        .mint("goalgraph", "goalgraph", "alice", "org", "acme", chrono::Duration::minutes(5))
        .unwrap();
    let verified = store.verify(&token).await.unwrap();
    assert_eq!(verified.subject, "alice");
    assert_eq!(verified.tenant, "acme");
    assert!(verified.expires_at > now());

    let expired = key_a()
        .local
        .mint("goalgraph", "goalgraph", "alice", "org", "acme", chrono::Duration::minutes(-5))
        .unwrap();
    assert_eq!(store.verify(&expired).await, Err(AuthError::Expired));
}

#[tokio::test]
async fn roles_are_read_when_configured() {
    let (_dir, _file, store) = store_with(&[key_a()], |s| s.roles_claim = Some("roles".to_owned())).await;
    let roles = |value: Value| {
        let token = sign_a(&with(good_claims(), "roles", value));
        let store = Arc::clone(&store);
        async move { store.verify(&token).await.map(|v| v.roles) }
    };
    assert_eq!(roles(json!(["admin", "editor"])).await.unwrap(), ["admin", "editor"]);
    assert_eq!(roles(json!("admin, editor viewer,admin")).await.unwrap(), ["admin", "editor", "viewer"]);
    assert_eq!(roles(json!("")).await.unwrap(), Vec::<String>::new());
    assert_eq!(roles(json!(42)).await, Err(AuthError::InvalidClaim("roles")));
    assert_eq!(roles(json!(["admin", 1])).await, Err(AuthError::InvalidClaim("roles")));
    let absent = store.verify(&sign_a(&good_claims())).await.unwrap();
    assert!(absent.roles.is_empty());
}

#[tokio::test]
async fn nested_and_namespaced_claims_are_found() {
    let (_dir, _file, store) = store_with(&[key_a()], |s| {
        s.roles_claim = Some("realm_access.roles".to_owned());
        s.tenant_claim = "https://example.com/org".to_owned();
    })
    .await;
    let claims = with(
        with(without(good_claims(), "org"), "https://example.com/org", json!("acme")),
        "realm_access",
        json!({ "roles": ["admin"] }),
    );
    let verified = store.verify(&sign_a(&claims)).await.unwrap();
    assert_eq!(verified.tenant, "acme");
    assert_eq!(verified.roles, ["admin"]);
}

#[tokio::test]
async fn roles_ignored_when_not_configured() {
    let (_dir, _file, store) = store_a().await;
    let token = sign_a(&with(good_claims(), "roles", json!(["admin"])));
    assert!(store.verify(&token).await.unwrap().roles.is_empty());
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let (_dir, _file, store) = store_a().await;
    let kid = &key_a().local.kid;
    for alg in ["none", "None", "NONE"] {
        let token = forge(&json!({ "alg": alg, "kid": kid }), &good_claims(), b"");
        assert_eq!(store.verify(&token).await, Err(AuthError::UnsupportedAlgorithm), "{alg}");
    }
}

#[tokio::test]
async fn hs256_with_the_public_key_as_secret_is_rejected() {
    let (_dir, _file, store) = store_a().await;
    let key = key_a();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.local.kid.clone());
    let token =
        jsonwebtoken::encode(&header, &good_claims(), &EncodingKey::from_secret(key.public_pem.as_bytes()))
            .unwrap();
    assert_eq!(store.verify(&token).await, Err(AuthError::UnsupportedAlgorithm));

    // Second line of defence: even past the header check, the library's
    // validation refuses the algorithm for both kinds of key.
    let settings = AuthSettings::default();
    let rsa_key = DecodingKey::from_rsa_pem(key.public_pem.as_bytes()).unwrap();
    assert!(jsonwebtoken::decode::<Value>(&token, &rsa_key, &validation(&settings)).is_err());
    let hmac_key = DecodingKey::from_secret(key.public_pem.as_bytes());
    assert!(jsonwebtoken::decode::<Value>(&token, &hmac_key, &validation(&settings)).is_err());
}

#[tokio::test]
async fn other_rsa_and_ec_algorithms_are_rejected() {
    let (_dir, _file, store) = store_a().await;
    let kid = key_a().local.kid.as_str();
    for alg in [Algorithm::RS384, Algorithm::RS512, Algorithm::PS256] {
        let token = sign(key_a(), alg, Some(kid), &good_claims());
        assert_eq!(store.verify(&token).await, Err(AuthError::UnsupportedAlgorithm), "{alg:?}");
    }
    for alg in ["ES256", "EdDSA", "HS512", "rs256", "XX"] {
        let token = forge(&json!({ "alg": alg, "kid": kid }), &good_claims(), &[7; 64]);
        assert_eq!(store.verify(&token).await, Err(AuthError::UnsupportedAlgorithm), "{alg}");
    }
}

#[tokio::test]
async fn expiry_honours_the_leeway() {
    let (_dir, _file, store) = store_a().await; // leeway 30 s
    let within = sign_a(&with(good_claims(), "exp", json!(now() - 10)));
    assert!(store.verify(&within).await.is_ok());
    let beyond = sign_a(&with(good_claims(), "exp", json!(now() - 120)));
    assert_eq!(store.verify(&beyond).await, Err(AuthError::Expired));
}

#[tokio::test]
async fn exp_must_be_a_number() {
    let (_dir, _file, store) = store_a().await;
    let far = (now() + 300).to_string();
    for exp in [json!(far), json!("soon"), json!(true)] {
        let token = sign_a(&with(good_claims(), "exp", exp.clone()));
        assert_eq!(store.verify(&token).await, Err(AuthError::InvalidClaim("exp")), "{exp}");
    }
    // serde_json cannot resume after the library's visitor refuses an array
    // or object, so those surface as parse failures; refused all the same.
    for exp in [json!([now() + 300]), json!({ "at": now() + 300 })] {
        let token = sign_a(&with(good_claims(), "exp", exp));
        assert!(matches!(
            store.verify(&token).await,
            Err(AuthError::InvalidClaim("exp") | AuthError::Malformed)
        ));
    }
    let missing = sign_a(&without(good_claims(), "exp"));
    assert_eq!(store.verify(&missing).await, Err(AuthError::MissingClaim("exp")));
}

#[tokio::test]
async fn nbf_is_checked_when_present() {
    let (_dir, _file, store) = store_a().await;
    let future = sign_a(&with(good_claims(), "nbf", json!(now() + 600)));
    assert_eq!(store.verify(&future).await, Err(AuthError::NotYetValid));
    let past = sign_a(&with(good_claims(), "nbf", json!(now() - 600)));
    assert!(store.verify(&past).await.is_ok());
}

#[tokio::test]
async fn issuer_must_match() {
    let (_dir, _file, store) = store_a().await;
    let wrong = sign_a(&with(good_claims(), "iss", json!("someone-else")));
    assert_eq!(store.verify(&wrong).await, Err(AuthError::InvalidIssuer));
    let array = sign_a(&with(good_claims(), "iss", json!(["goalgraph"])));
    assert_eq!(store.verify(&array).await, Err(AuthError::InvalidIssuer));
    let missing = sign_a(&without(good_claims(), "iss"));
    assert_eq!(store.verify(&missing).await, Err(AuthError::MissingClaim("iss")));
}

#[tokio::test]
async fn audience_must_be_contained() {
    let (_dir, _file, store) = store_a().await;
    let wrong = sign_a(&with(good_claims(), "aud", json!("other-api")));
    assert_eq!(store.verify(&wrong).await, Err(AuthError::InvalidAudience));
    let wrong_list = sign_a(&with(good_claims(), "aud", json!(["a", "b"])));
    assert_eq!(store.verify(&wrong_list).await, Err(AuthError::InvalidAudience));
    let list = sign_a(&with(good_claims(), "aud", json!(["other-api", "goalgraph"])));
    assert!(store.verify(&list).await.is_ok());
    let missing = sign_a(&without(good_claims(), "aud"));
    assert_eq!(store.verify(&missing).await, Err(AuthError::MissingClaim("aud")));
}

#[tokio::test]
async fn kid_is_required_and_must_be_known() {
    let (_dir, _file, store) = store_a().await;
    let no_kid = sign(key_a(), Algorithm::RS256, None, &good_claims());
    assert_eq!(store.verify(&no_kid).await, Err(AuthError::MissingKid));
    let empty_kid = sign(key_a(), Algorithm::RS256, Some(""), &good_claims());
    assert_eq!(store.verify(&empty_kid).await, Err(AuthError::MissingKid));
    let unknown = sign(key_a(), Algorithm::RS256, Some("no-such-key"), &good_claims());
    assert_eq!(store.verify(&unknown).await, Err(AuthError::UnknownKid));
}

#[tokio::test]
async fn subject_is_required() {
    let (_dir, _file, store) = store_a().await;
    let missing = sign_a(&without(good_claims(), "sub"));
    assert_eq!(store.verify(&missing).await, Err(AuthError::MissingClaim("sub")));
    let empty = sign_a(&with(good_claims(), "sub", json!("")));
    assert_eq!(store.verify(&empty).await, Err(AuthError::InvalidClaim("sub")));
    let number = sign_a(&with(good_claims(), "sub", json!(12)));
    assert!(matches!(
        store.verify(&number).await,
        Err(AuthError::MissingClaim("sub") | AuthError::InvalidClaim("sub"))
    ));
}

#[tokio::test]
async fn tenant_is_required() {
    let (_dir, _file, store) = store_a().await;
    let missing = sign_a(&without(good_claims(), "org"));
    assert_eq!(store.verify(&missing).await, Err(AuthError::MissingClaim("tenant")));
    let empty = sign_a(&with(good_claims(), "org", json!(" ")));
    assert_eq!(store.verify(&empty).await, Err(AuthError::InvalidClaim("tenant")));
    let number = sign_a(&with(good_claims(), "org", json!(7)));
    assert_eq!(store.verify(&number).await, Err(AuthError::InvalidClaim("tenant")));
}

#[tokio::test]
async fn garbage_is_malformed() {
    let (_dir, _file, store) = store_a().await;
    let valid = sign_a(&good_claims());
    let (_, rest) = valid.split_once('.').unwrap();
    let cases = [
        String::new(),
        "garbage".to_owned(),
        "a.b".to_owned(),
        "a.b.c".to_owned(),
        "a.b.c.d".to_owned(),
        "...".to_owned(),
        format!("{valid}.extra"),
        format!("{}.{rest}", URL_SAFE_NO_PAD.encode(b"not json")),
        format!("{}.{rest}", URL_SAFE_NO_PAD.encode(b"[\"RS256\"]")),
        "x".repeat(20_000),
    ];
    for token in cases {
        let shown: String = token.chars().take(40).collect();
        assert_eq!(store.verify(&token).await, Err(AuthError::Malformed), "{shown}");
    }
}

#[tokio::test]
async fn crit_header_is_refused() {
    let (_dir, _file, store) = store_a().await;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key_a().local.kid.clone());
    header.crit = Some(vec!["exp".to_owned()]);
    let token = jsonwebtoken::encode(&header, &good_claims(), &key_a().encoding).unwrap();
    assert_eq!(store.verify(&token).await, Err(AuthError::Malformed));
}

#[tokio::test]
async fn tampering_breaks_the_signature() {
    let (_dir, _file, store) = store_a().await;
    let token = sign_a(&good_claims());
    let (message, signature) = token.rsplit_once('.').unwrap();

    // A flipped character in the middle of the signature.
    let mut bytes = signature.as_bytes().to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    let flipped = format!("{message}.{}", String::from_utf8(bytes).unwrap());
    assert_eq!(store.verify(&flipped).await, Err(AuthError::BadSignature));

    // Claims swapped for others under the original signature.
    let (header, _) = message.split_once('.').unwrap();
    let forged_claims =
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&with(good_claims(), "sub", json!("admin"))).unwrap());
    let swapped = format!("{header}.{forged_claims}.{signature}");
    assert_eq!(store.verify(&swapped).await, Err(AuthError::BadSignature));

    // Signed by another key under key A's kid.
    let impostor = sign(key_b(), Algorithm::RS256, Some(&key_a().local.kid), &good_claims());
    assert_eq!(store.verify(&impostor).await, Err(AuthError::BadSignature));

    // No signature at all.
    let stripped = format!("{message}.");
    assert_eq!(store.verify(&stripped).await, Err(AuthError::BadSignature));
}

#[tokio::test]
async fn rotated_key_is_picked_up_on_unknown_kid() {
    let (_dir, file, store) = store_a().await;
    write_jwks(&file, &[key_b()]);
    let token_b = sign(key_b(), Algorithm::RS256, Some(&key_b().local.kid), &good_claims());
    assert_eq!(store.verify(&token_b).await.unwrap().subject, "user-1");
    // Key A left the set with the reload.
    let token_a = sign_a(&good_claims());
    assert_eq!(store.verify(&token_a).await, Err(AuthError::UnknownKid));
}

#[tokio::test]
async fn unknown_kid_reloads_are_rate_limited() {
    let (_dir, file, store) = store_a().await;
    let bogus = sign(key_a(), Algorithm::RS256, Some("bogus"), &good_claims());
    assert_eq!(store.verify(&bogus).await, Err(AuthError::UnknownKid));

    // The reload above was the one allowed in this window.
    write_jwks(&file, &[key_a(), key_b()]);
    let token_b = sign(key_b(), Algorithm::RS256, Some(&key_b().local.kid), &good_claims());
    assert_eq!(store.verify(&token_b).await, Err(AuthError::UnknownKid));

    store.reload().await.unwrap();
    assert!(store.verify(&token_b).await.is_ok());
}

#[tokio::test]
async fn failed_reload_keeps_the_last_good_set() {
    let (_dir, file, store) = store_a().await;
    let token = sign_a(&good_claims());

    std::fs::write(&file, b"{ this is not json").unwrap();
    assert!(matches!(store.reload().await, Err(AuthSetupError::InvalidJwks(_))));
    assert!(store.verify(&token).await.is_ok());

    std::fs::write(&file, br#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"}]}"#).unwrap();
    assert!(matches!(store.reload().await, Err(AuthSetupError::NoUsableKeys)));
    assert!(store.verify(&token).await.is_ok());

    std::fs::remove_file(&file).unwrap();
    assert!(matches!(store.reload().await, Err(AuthSetupError::ReadJwks { .. })));
    assert!(store.verify(&token).await.is_ok());
}

#[tokio::test]
async fn periodic_refresh_picks_up_new_keys() {
    let (_dir, file, store) = store_with(&[key_a()], |s| s.refresh_seconds = 1).await;
    // Use up the on-demand reload so only the periodic one can help.
    let bogus = sign(key_a(), Algorithm::RS256, Some("bogus"), &good_claims());
    assert_eq!(store.verify(&bogus).await, Err(AuthError::UnknownKid));

    store.spawn_refresh();
    write_jwks(&file, &[key_b()]);
    let token_b = sign(key_b(), Algorithm::RS256, Some(&key_b().local.kid), &good_claims());
    let mut verified = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if store.verify(&token_b).await.is_ok() {
            verified = true;
            break;
        }
    }
    assert!(verified, "the periodic refresh did not load key B");
}

#[tokio::test]
async fn setup_errors() {
    let dir = TempDir::new();
    let file = dir.path().join("jwks.json");

    let none = AuthSettings::default();
    assert!(matches!(KeyStore::load(&none).await, Err(AuthSetupError::NoKeySource)));

    let both =
        AuthSettings { jwks_url: Some("https://issuer.example/jwks".to_owned()), ..settings_for(&file) };
    assert!(matches!(KeyStore::load(&both).await, Err(AuthSetupError::ConflictingKeySources)));

    let bad_url =
        AuthSettings { jwks_url: Some("ftp://issuer.example/jwks".to_owned()), ..AuthSettings::default() };
    assert!(matches!(KeyStore::load(&bad_url).await, Err(AuthSetupError::InvalidJwksUrl)));

    // The first load must succeed.
    assert!(matches!(KeyStore::load(&settings_for(&file)).await, Err(AuthSetupError::ReadJwks { .. })));
    std::fs::write(&file, br#"{"keys":[]}"#).unwrap();
    assert!(matches!(KeyStore::load(&settings_for(&file)).await, Err(AuthSetupError::NoUsableKeys)));
    std::fs::write(&file, b"[]").unwrap();
    assert!(matches!(KeyStore::load(&settings_for(&file)).await, Err(AuthSetupError::InvalidJwks(_))));
}

#[test]
fn only_usable_keys_are_kept() {
    let good = key_a().local.jwks().keys.remove(0);
    let good_json = serde_json::to_value(&good).unwrap();
    let variant = |edit: &dyn Fn(&mut Value)| {
        let mut key = good_json.clone();
        edit(&mut key);
        key
    };
    let document = json!({ "keys": [
        variant(&|k| { k.as_object_mut().unwrap().remove("kid"); }),
        variant(&|k| k["kid"] = json!("enc") ),
        variant(&|k| { k["kid"] = json!("enc"); k["use"] = json!("enc"); }),
        variant(&|k| { k["kid"] = json!("rs512"); k["alg"] = json!("RS512"); }),
        variant(&|k| { k["kid"] = json!("short"); k["n"] = json!(URL_SAFE_NO_PAD.encode([0xff_u8; 128])); }),
        variant(&|k| { k["kid"] = json!("bad-n"); k["n"] = json!("!!!"); }),
        json!({ "kty": "EC", "crv": "P-256", "kid": "ec", "x": "AA", "y": "AA" }),
        json!({ "kty": "oct", "kid": "hmac", "k": "c2VjcmV0" }),
        json!("not an object"),
        variant(&|k| { k.as_object_mut().unwrap().remove("alg"); k.as_object_mut().unwrap().remove("use"); k["kid"] = json!("bare"); }),
    ]});
    let set = parse_key_set(&serde_json::to_vec(&document).unwrap()).unwrap();
    let mut kids: Vec<&str> = set.keys().map(String::as_str).collect();
    kids.sort_unstable();
    // "enc" appears first without `use` (kept), then as an encryption key (skipped as a duplicate anyway).
    assert_eq!(kids, ["bare", "enc"]);
}

#[tokio::test]
async fn local_keys_are_created_then_reused() {
    let dir = TempDir::new();
    let data_dir = dir.path().join("nested").join("data");
    let first = LocalKeys::load_or_create(&data_dir).unwrap();

    let key_file = data_dir.join("jwt-private.pem");
    let pem = std::fs::read_to_string(&key_file).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let jwks: Value = serde_json::from_slice(&std::fs::read(jwks_path(&data_dir)).unwrap()).unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["kid"], first.kid.as_str());
    assert_eq!(key["e"], "AQAB");
    let n = key["n"].as_str().unwrap();
    assert!(!n.contains('=') && !n.contains('+') && !n.contains('/'));
    assert_eq!(URL_SAFE_NO_PAD.decode(n).unwrap().len(), 256);
    assert!(key.get("d").is_none(), "the JWKS must not hold private parts");

    // A restart reads the same key, keeps the kid and rewrites the JWKS.
    std::fs::remove_file(jwks_path(&data_dir)).unwrap();
    let second = LocalKeys::load_or_create(&data_dir).unwrap();
    assert_eq!(second.kid, first.kid);
    assert_eq!(LocalKeys::jwks_path(&data_dir), jwks_path(&data_dir));

    // The published set verifies the minted tokens.
    let store = KeyStore::load(&settings_for(&jwks_path(&data_dir))).await.unwrap();
    let token =
        second.mint("goalgraph", "goalgraph", "dev", "org", "local", chrono::Duration::hours(1)).unwrap();
    let verified = store.verify(&token).await.unwrap();
    assert_eq!((verified.subject.as_str(), verified.tenant.as_str()), ("dev", "local"));
}

#[test]
fn local_keys_refuse_garbage_key_files() {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("jwt-private.pem"), "not a key").unwrap();
    assert!(matches!(LocalKeys::load_or_create(dir.path()), Err(AuthSetupError::LocalKey(_))));
}

#[test]
fn mint_refuses_a_tenant_claim_shadowing_a_registered_one() {
    let result =
        key_a().local.mint("goalgraph", "goalgraph", "u", "sub", "acme", chrono::Duration::minutes(1));
    assert!(matches!(result, Err(AuthSetupError::Signing(_))));
}

#[test]
fn local_keys_debug_hides_the_key() {
    let shown = format!("{:?}", key_a().local);
    assert!(shown.contains(&key_a().local.kid));
    assert!(!shown.contains("PRIVATE"));
}

#[tokio::test]
async fn keys_can_come_from_a_url() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let body = serde_json::to_vec(&key_a().local.jwks()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = vec![0_u8; 4096];
        let _ = socket.read(&mut request).await.unwrap();
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(&body).await.unwrap();
        socket.shutdown().await.unwrap();
    });

    let settings = AuthSettings {
        jwks_url: Some(format!("http://{address}/.well-known/jwks.json")),
        ..AuthSettings::default()
    };
    let store = KeyStore::load(&settings).await.unwrap();
    server.await.unwrap();
    assert!(store.verify(&sign_a(&good_claims())).await.is_ok());

    // The server is gone: a reload fails and keeps the set.
    assert!(matches!(store.reload().await, Err(AuthSetupError::FetchJwks { .. })));
    assert!(store.verify(&sign_a(&good_claims())).await.is_ok());
}

#[test]
fn settings_defaults_and_partial_documents() {
    let defaults: AuthSettings = serde_json::from_str("{}").unwrap();
    assert_eq!(defaults, AuthSettings::default());
    assert_eq!(defaults.issuer, "goalgraph");
    assert_eq!(defaults.audience, "goalgraph");
    assert_eq!(defaults.leeway_seconds, 30);
    assert_eq!(defaults.refresh_seconds, 300);
    assert_eq!(defaults.tenant_claim, "org");
    assert_eq!(defaults.roles_claim, None);
    assert_eq!((defaults.jwks_file, defaults.jwks_url), (None, None));

    let partial: AuthSettings =
        serde_json::from_str(r#"{"issuer":"https://id.example","roles_claim":"roles"}"#).unwrap();
    assert_eq!(partial.issuer, "https://id.example");
    assert_eq!(partial.roles_claim.as_deref(), Some("roles"));
    assert_eq!(partial.audience, "goalgraph");
}

#[test]
fn reasons_are_distinct_stable_labels() {
    let all = [
        AuthError::Malformed,
        AuthError::UnsupportedAlgorithm,
        AuthError::MissingKid,
        AuthError::UnknownKid,
        AuthError::BadSignature,
        AuthError::Expired,
        AuthError::NotYetValid,
        AuthError::InvalidIssuer,
        AuthError::InvalidAudience,
        AuthError::MissingClaim("sub"),
        AuthError::InvalidClaim("sub"),
        AuthError::Internal,
    ];
    let reasons: std::collections::BTreeSet<&str> = all.iter().map(AuthError::reason).collect();
    assert_eq!(reasons.len(), all.len());
    assert!(reasons.iter().all(|r| r.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    assert_eq!(AuthError::MissingClaim("tenant").reason(), AuthError::MissingClaim("sub").reason());
}

#[tokio::test]
async fn a_verified_token_is_remembered_until_its_key_set_changes() {
    let (_dir, file, store) = store_a().await;
    let token = sign_a(&good_claims());
    assert_eq!(store.remembered_count(), 0);
    assert_eq!(store.verify(&token).await.unwrap().subject, "user-1");
    assert_eq!(store.remembered_count(), 1, "remembered after its first check");
    assert_eq!(store.verify(&token).await.unwrap().subject, "user-1");
    // A tampered copy is a different text: checked, and refused.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] =
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&with(good_claims(), "sub", json!("admin"))).unwrap());
    assert_eq!(store.verify(&parts.join(".")).await, Err(AuthError::BadSignature));
    // Key A leaves the set: the remembered token is checked again, and refused.
    write_jwks(&file, &[key_b()]);
    store.reload().await.unwrap();
    assert_eq!(store.verify(&token).await, Err(AuthError::UnknownKid));
}

#[tokio::test]
async fn a_remembered_token_still_expires() {
    let (_dir, _file, store) = store_a().await; // leeway 30 s
    let token = sign_a(&with(good_claims(), "exp", json!(now() - 29)));
    assert!(store.verify(&token).await.is_ok(), "within the leeway");
    assert_eq!(store.remembered_count(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(store.verify(&token).await, Err(AuthError::Expired), "expired while remembered");
    assert_eq!(store.remembered_count(), 0, "and forgotten");
}
