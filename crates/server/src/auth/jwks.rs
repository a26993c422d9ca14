//! The verification key set and token verification.

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rsa::traits::PublicKeyParts as _;
use rsa::{BigUint, RsaPublicKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{AuthError, AuthSettings, AuthSetupError, VerifiedToken};

/// Tokens larger than this are refused before any parsing (cheap DoS guard).
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// JWKS documents larger than this are refused.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// An unknown `kid` triggers at most one reload per this interval, so a
/// flood of forged kids cannot turn into a flood of JWKS fetches.
const MIN_ON_DEMAND_RELOAD: Duration = Duration::from_secs(10);
/// Whole-request timeout of a JWKS fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Weaker RSA keys are skipped when loading a key set.
const MIN_RSA_BITS: usize = 2048;
/// Verified tokens remembered (least recently used forgotten first).
const VERIFIED_CAPACITY: usize = 4096;

/// A token that passed every check, remembered by the SHA-256 of its text
/// so that the next request with it skips the signature: valid while the
/// key set it was checked against is current and until it expires.
struct Verified {
    token: VerifiedToken,
    generation: u64,
}

/// Where the key set comes from.
enum Source {
    File(PathBuf),
    Url { client: reqwest::Client, url: String },
}

impl Source {
    /// Human-readable location for logs (never key material).
    fn describe(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Url { url, .. } => url.clone(),
        }
    }
}

/// The usable keys of one JWKS document, by `kid`.
type KeySet = HashMap<String, DecodingKey>;

/// The current verification keys, refreshed in the background and on
/// demand, and the rules every token must pass.
pub struct KeyStore {
    source: Source,
    keys: RwLock<Arc<KeySet>>,
    validation: Validation,
    tenant_claim: String,
    roles_claim: Option<String>,
    refresh_every: Duration,
    /// When the last unknown-kid reload ran; the mutex also makes a burst
    /// of unknown-kid requests share one reload.
    last_on_demand_reload: tokio::sync::Mutex<Option<Instant>>,
    /// Bumped by every reload: tokens verified before it are checked again.
    generation: AtomicU64,
    verified: Mutex<lru::LruCache<[u8; 32], Verified>>,
    leeway: i64,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("source", &self.source.describe())
            .field("kids", &self.current().keys().collect::<BTreeSet<_>>())
            .finish_non_exhaustive()
    }
}

impl KeyStore {
    /// Builds the store from `jwks_file` or `jwks_url` (exactly one must be
    /// set) and loads the key set, which must succeed and hold at least one
    /// usable key.
    pub async fn load(settings: &AuthSettings) -> Result<Arc<KeyStore>, AuthSetupError> {
        // An empty value (e.g. an unset environment override) counts as unset.
        let file = settings.jwks_file.as_ref().filter(|p| !p.as_os_str().is_empty());
        let url = settings.jwks_url.as_deref().map(str::trim).filter(|u| !u.is_empty());
        let source = match (file, url) {
            (None, None) => return Err(AuthSetupError::NoKeySource),
            (Some(_), Some(_)) => return Err(AuthSetupError::ConflictingKeySources),
            (Some(path), None) => Source::File(path.clone()),
            (None, Some(url)) => {
                let parsed = reqwest::Url::parse(url).map_err(|_| AuthSetupError::InvalidJwksUrl)?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(AuthSetupError::InvalidJwksUrl);
                }
                let client = reqwest::Client::builder()
                    .timeout(FETCH_TIMEOUT)
                    .connect_timeout(Duration::from_secs(3))
                    .build()
                    .map_err(AuthSetupError::HttpClient)?;
                Source::Url { client, url: url.to_owned() }
            }
        };

        let store = KeyStore {
            source,
            keys: RwLock::new(Arc::new(KeySet::new())),
            validation: validation(settings),
            tenant_claim: settings.tenant_claim.clone(),
            roles_claim: settings.roles_claim.clone().filter(|c| !c.is_empty()),
            refresh_every: Duration::from_secs(settings.refresh_seconds),
            last_on_demand_reload: tokio::sync::Mutex::new(None),
            generation: AtomicU64::new(0),
            verified: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(VERIFIED_CAPACITY).unwrap_or(NonZeroUsize::MIN),
            )),
            leeway: i64::try_from(settings.leeway_seconds).unwrap_or(i64::MAX),
        };
        store.reload().await?;
        Ok(Arc::new(store))
    }

    /// Re-reads the key set. On failure the current set is kept.
    pub async fn reload(&self) -> Result<(), AuthSetupError> {
        let document = self.fetch().await?;
        let fresh = parse_key_set(&document)?;
        let old_kids: BTreeSet<String> = self.current().keys().cloned().collect();
        let new_kids: BTreeSet<String> = fresh.keys().cloned().collect();
        if old_kids != new_kids {
            tracing::info!(
                source = %self.source.describe(),
                kids = ?new_kids,
                "JWT verification keys loaded"
            );
        }
        let fresh = Arc::new(fresh);
        match self.keys.write() {
            Ok(mut guard) => *guard = fresh,
            // A poisoned lock only means a panic elsewhere; the Arc is still whole.
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        // A key may have left or changed: remembered tokens are checked again.
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Starts a background task re-reading the key set every
    /// `refresh_seconds` (no task when that is 0). A failed reload keeps the
    /// last good set and logs a warning. The task ends once the store is dropped.
    pub fn spawn_refresh(self: &Arc<Self>) {
        if self.refresh_every.is_zero() {
            tracing::info!("periodic JWKS refresh disabled (auth.refresh_seconds = 0)");
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no tokio runtime: periodic JWKS refresh not started");
            return;
        };
        // A weak reference so that the task does not keep the store alive.
        let store: Weak<Self> = Arc::downgrade(self);
        let every = self.refresh_every;
        runtime.spawn(async move {
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(store) = store.upgrade() else { break };
                if let Err(error) = store.reload().await {
                    tracing::warn!(
                        source = %store.source.describe(),
                        %error,
                        "JWKS refresh failed; keeping the last good key set"
                    );
                }
            }
        });
    }

    /// Checks a bearer token (without the `Bearer ` prefix) and returns the
    /// identity it asserts.
    ///
    /// A token verified before against the current key set is answered
    /// from memory (its expiry checked again) without the signature.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Malformed);
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let generation = self.generation.load(Ordering::Acquire);
        if let Some(found) = self.remembered(&digest, generation)? {
            return Ok(found);
        }
        let verified = self.verify_signed(token).await?;
        self.lock_verified().put(digest, Verified { token: verified.clone(), generation });
        Ok(verified)
    }

    /// Tokens answered from memory so far (for tests).
    #[cfg(test)]
    pub(crate) fn remembered_count(&self) -> usize {
        self.lock_verified().len()
    }

    fn lock_verified(&self) -> std::sync::MutexGuard<'_, lru::LruCache<[u8; 32], Verified>> {
        // A poisoned lock only means a panic elsewhere; the cache is still whole.
        self.verified.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The remembered identity of a token, if it was verified against this
    /// key set; expired since: refused, as the library refuses it.
    fn remembered(&self, digest: &[u8; 32], generation: u64) -> Result<Option<VerifiedToken>, AuthError> {
        let mut cache = self.lock_verified();
        let Some(entry) = cache.get(digest) else { return Ok(None) };
        if entry.generation != generation {
            cache.pop(digest);
            return Ok(None);
        }
        if entry.token.expires_at.saturating_add(self.leeway) < chrono::Utc::now().timestamp() {
            cache.pop(digest);
            return Err(AuthError::Expired);
        }
        Ok(Some(entry.token.clone()))
    }

    /// The full check: header, key, signature and claims.
    async fn verify_signed(&self, token: &str) -> Result<VerifiedToken, AuthError> {
        // The header is checked before any key is looked up or any signature
        // computed, so only RS256 tokens ever reach the crypto.
        let kid = checked_header_kid(token)?;

        let key = match self.key(&kid) {
            Some(key) => key,
            None => self.reload_for_unknown_kid(&kid).await.ok_or(AuthError::UnknownKid)?,
        };

        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &self.validation)
            .map_err(|error| map_jwt_error(&error, token))?
            .claims;
        self.identity(&claims)
    }

    /// The current key set.
    fn current(&self) -> Arc<KeySet> {
        match self.keys.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.current().get(kid).cloned()
    }

    /// Reloads once (rate-limited) because a token named an unknown key:
    /// the issuer may have rotated keys since the last refresh.
    async fn reload_for_unknown_kid(&self, kid: &str) -> Option<DecodingKey> {
        let mut last = self.last_on_demand_reload.lock().await;
        // Another request may have reloaded while this one waited.
        if let Some(key) = self.key(kid) {
            return Some(key);
        }
        if last.is_some_and(|at| at.elapsed() < MIN_ON_DEMAND_RELOAD) {
            return None;
        }
        *last = Some(Instant::now());
        if let Err(error) = self.reload().await {
            tracing::warn!(
                source = %self.source.describe(),
                %error,
                "JWKS reload for an unknown kid failed; keeping the last good key set"
            );
        }
        self.key(kid)
    }

    async fn fetch(&self) -> Result<Vec<u8>, AuthSetupError> {
        match &self.source {
            Source::File(path) => tokio::fs::read(path)
                .await
                .map_err(|source| AuthSetupError::ReadJwks { path: path.clone(), source }),
            Source::Url { client, url } => {
                let fetch_error = |source| AuthSetupError::FetchJwks { url: url.clone(), source };
                let response = client
                    .get(url)
                    .header(reqwest::header::ACCEPT, "application/json")
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(fetch_error)?;
                if response.content_length().is_some_and(|len| len > MAX_JWKS_BYTES as u64) {
                    return Err(AuthSetupError::InvalidJwks("document too large".to_owned()));
                }
                let body = response.bytes().await.map_err(fetch_error)?;
                Ok(body.to_vec())
            }
        }
    }

    /// Reads the identity out of claims whose signature, `exp`, `nbf`,
    /// `iss` and `aud` the library has already checked; re-checks the types
    /// this module relies on rather than trusting the library's leniency.
    fn identity(&self, claims: &Map<String, Value>) -> Result<VerifiedToken, AuthError> {
        // The library accepts any non-negative number; a string `exp` is
        // refused by it too, but the rule matters enough to state here.
        let expires_at = match claims.get("exp") {
            None | Some(Value::Null) => return Err(AuthError::MissingClaim("exp")),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.is_finite() && *f >= 0.0 && *f < i64::MAX as f64)
                        .map(|f| f as i64)
                })
                .ok_or(AuthError::InvalidClaim("exp"))?,
            Some(_) => return Err(AuthError::InvalidClaim("exp")),
        };
        // The library also accepts an array `iss`; a JWT's issuer is one string.
        match claims.get("iss") {
            Some(Value::String(_)) => {}
            None => return Err(AuthError::MissingClaim("iss")),
            Some(_) => return Err(AuthError::InvalidIssuer),
        }
        let subject = required_string(claims.get("sub"), "sub")?;
        let tenant = required_string(lookup_claim(claims, &self.tenant_claim), "tenant")?;
        let roles = match &self.roles_claim {
            Some(name) => parse_roles(lookup_claim(claims, name))?,
            None => Vec::new(),
        };
        Ok(VerifiedToken { subject, tenant, roles, expires_at })
    }
}

/// The library's validation for this deployment: RS256 only, `exp`, `iss`,
/// `aud` and `sub` required, `nbf` checked when present.
pub(super) fn validation(settings: &AuthSettings) -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.algorithms = vec![Algorithm::RS256];
    validation.leeway = settings.leeway_seconds;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation
}

/// Decodes the header and returns its `kid` if `alg` is RS256.
fn checked_header_kid(token: &str) -> Result<String, AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| AuthError::Malformed)?;
    let Ok(Value::Object(header)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(AuthError::Malformed);
    };
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "RS256" => {}
        Some(Value::String(_)) => return Err(AuthError::UnsupportedAlgorithm),
        _ => return Err(AuthError::Malformed),
    }
    // Critical extensions must be understood (RFC 7515 §4.1.11); we know none.
    if header.contains_key("crit") {
        return Err(AuthError::Malformed);
    }
    match header.get("kid") {
        Some(Value::String(kid)) if !kid.is_empty() => Ok(kid.clone()),
        None | Some(Value::Null) => Err(AuthError::MissingKid),
        Some(_) => Err(AuthError::MissingKid),
    }
}

fn map_jwt_error(error: &jsonwebtoken::errors::Error, token: &str) -> AuthError {
    match error.kind() {
        ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
            AuthError::Malformed
        }
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm => AuthError::UnsupportedAlgorithm,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::InvalidIssuer,
        ErrorKind::InvalidAudience => AuthError::InvalidAudience,
        // The library reports a claim of the wrong type (e.g. a string
        // `exp`) as missing; tell the two apart for the error label.
        ErrorKind::MissingRequiredClaim(claim) if claim_present(token, claim) => {
            AuthError::InvalidClaim(claim_label(claim))
        }
        ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim(claim_label(claim)),
        ErrorKind::InvalidClaimFormat(claim) => AuthError::InvalidClaim(claim_label(claim)),
        _ => AuthError::Internal,
    }
}

/// Whether the payload has a non-null `claim`. Only refines an error label:
/// required claims are checked after the signature, so the payload is the
/// issuer's, but nothing is accepted on the strength of this.
fn claim_present(token: &str, claim: &str) -> bool {
    token
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload).ok())
        .and_then(|bytes| serde_json::from_slice::<Map<String, Value>>(&bytes).ok())
        .is_some_and(|claims| claims.get(claim).is_some_and(|v| !v.is_null()))
}

/// Maps a library claim name onto a static label (bounded set of values).
fn claim_label(claim: &str) -> &'static str {
    match claim {
        "exp" => "exp",
        "nbf" => "nbf",
        "iss" => "iss",
        "aud" => "aud",
        "sub" => "sub",
        _ => "other",
    }
}

/// Finds a claim by its exact name, else (for names such as
/// `realm_access.roles`) by a dotted path through nested objects. The exact
/// name wins because namespaced claims such as `https://x.y/roles` contain dots.
fn lookup_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(name) {
        return Some(value);
    }
    let mut segments = name.split('.');
    let mut value = claims.get(segments.next()?)?;
    for segment in segments {
        value = value.as_object()?.get(segment)?;
    }
    Some(value)
}

fn required_string(value: Option<&Value>, label: &'static str) -> Result<String, AuthError> {
    match value {
        None | Some(Value::Null) => Err(AuthError::MissingClaim(label)),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(_) => Err(AuthError::InvalidClaim(label)),
    }
}

/// Roles as an array of strings or one space/comma-separated string.
fn parse_roles(value: Option<&Value>) -> Result<Vec<String>, AuthError> {
    let raw: Vec<&str> = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) => s.split([' ', ',']).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().ok_or(AuthError::InvalidClaim("roles")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(AuthError::InvalidClaim("roles")),
    };
    let mut roles: Vec<String> = Vec::with_capacity(raw.len());
    for role in raw.into_iter().map(str::trim).filter(|r| !r.is_empty()) {
        if !roles.iter().any(|r| r == role) {
            roles.push(role.to_owned());
        }
    }
    Ok(roles)
}

/// Parses a JWKS document, keeping the RSA signing keys with a `kid` that
/// may be used with RS256. Unusable keys are skipped (an issuer may publish
/// EC or encryption keys too); a set without any usable key is an error.
pub(super) fn parse_key_set(document: &[u8]) -> Result<KeySet, AuthSetupError> {
    if document.len() > MAX_JWKS_BYTES {
        return Err(AuthSetupError::InvalidJwks("document too large".to_owned()));
    }
    #[derive(serde::Deserialize)]
    struct RawSet {
        keys: Vec<Value>,
    }
    let raw: RawSet =
        serde_json::from_slice(document).map_err(|e| AuthSetupError::InvalidJwks(e.to_string()))?;

    let mut set = KeySet::new();
    for raw_key in raw.keys {
        // Parsed one by one so that one odd key does not sink the whole set.
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw_key) else {
            tracing::debug!("skipping unparsable JWK");
            continue;
        };
        let kid = jwk.common.key_id.clone().unwrap_or_default();
        match usable_key(&jwk) {
            Ok(_) if set.contains_key(&kid) => {
                tracing::warn!(%kid, "duplicate kid in JWKS; keeping the first key");
            }
            Ok(key) => {
                set.insert(kid, key);
            }
            Err(why) => tracing::debug!(%kid, why, "skipping JWK"),
        }
    }
    if set.is_empty() {
        return Err(AuthSetupError::NoUsableKeys);
    }
    Ok(set)
}

/// The decoding key of a JWK usable for RS256, or why it is not.
fn usable_key(jwk: &Jwk) -> Result<DecodingKey, &'static str> {
    if jwk.common.key_id.as_deref().is_none_or(str::is_empty) {
        return Err("no kid");
    }
    if !matches!(jwk.common.public_key_use, None | Some(PublicKeyUse::Signature)) {
        return Err("not a signing key");
    }
    if !matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256)) {
        return Err("alg is not RS256");
    }
    let AlgorithmParameters::RSA(params) = &jwk.algorithm else {
        return Err("not an RSA key");
    };
    let n = URL_SAFE_NO_PAD.decode(&params.n).map_err(|_| "bad modulus")?;
    let e = URL_SAFE_NO_PAD.decode(&params.e).map_err(|_| "bad exponent")?;
    // Validated now so that a broken key fails the load, not every request.
    let public = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
        .map_err(|_| "invalid RSA public key")?;
    if public.size() * 8 < MIN_RSA_BITS {
        return Err("RSA key shorter than 2048 bits");
    }
    Ok(DecodingKey::from_rsa_raw_components(&n, &e))
}
