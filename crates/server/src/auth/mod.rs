//! Authentication of bearer JWTs (RS256 only).
//!
//! [`KeyStore`] holds the verification keys (a JWKS read from a file or a
//! URL, refreshed in the background and on unknown `kid`s) and turns a
//! bearer token into a [`VerifiedToken`] or an [`AuthError`] whose
//! [`reason`](AuthError::reason) is a short, bounded label for metrics.
//!
//! [`LocalKeys`] is the development issuer: an RSA key kept in the data
//! directory, its public half published as `jwks.json` for the key store,
//! and a `mint` function for tokens.

mod jwks;
mod local;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use jwks::KeyStore;
pub use local::{LocalKeys, jwks_path, private_key_path};

/// Authentication settings (the `[auth]` section of the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// Expected `iss` claim of every token.
    pub issuer: String,
    /// Audience that the `aud` claim of every token must contain.
    pub audience: String,
    /// Clock skew tolerated when checking `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
    /// Path of a JWKS document holding the verification keys (exclusive with `jwks_url`).
    pub jwks_file: Option<PathBuf>,
    /// URL of a JWKS document holding the verification keys (exclusive with `jwks_file`).
    pub jwks_url: Option<String>,
    /// How often the key set is re-read, in seconds (0 disables periodic re-reads).
    pub refresh_seconds: u64,
    /// Name of the claim carrying the tenant (organization); a non-empty string, required.
    pub tenant_claim: String,
    /// Name of the claim carrying roles (array of strings, or one space/comma-separated string); none read when unset.
    pub roles_claim: Option<String>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: "goalgraph".to_owned(),
            audience: "goalgraph".to_owned(),
            leeway_seconds: 30,
            jwks_file: None,
            jwks_url: None,
            refresh_seconds: 300,
            tenant_claim: "org".to_owned(),
            roles_claim: None,
        }
    }
}

/// The identity a valid token asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The `sub` claim.
    pub subject: String,
    /// The tenant claim (named by [`AuthSettings::tenant_claim`]).
    pub tenant: String,
    /// Roles from [`AuthSettings::roles_claim`]; empty when not configured or absent.
    pub roles: Vec<String>,
    /// The `exp` claim, seconds since the Unix epoch.
    pub expires_at: i64,
}

/// Why a token was refused. Messages never contain the token or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Not three base64url segments of JSON, or too large.
    #[error("malformed token")]
    Malformed,
    /// Header `alg` other than RS256 (including `none` and HMAC).
    #[error("unsupported token algorithm")]
    UnsupportedAlgorithm,
    /// Header without a `kid`.
    #[error("token header has no key id")]
    MissingKid,
    /// Header `kid` not in the key set, even after a reload.
    #[error("token signed with an unknown key")]
    UnknownKid,
    /// Signature does not verify with the key named by `kid`.
    #[error("bad token signature")]
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iss` differs from the configured issuer.
    #[error("invalid token issuer")]
    InvalidIssuer,
    /// `aud` does not contain the configured audience.
    #[error("invalid token audience")]
    InvalidAudience,
    /// A required claim is absent.
    #[error("token lacks required claim {0}")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or an empty value.
    #[error("token claim {0} is invalid")]
    InvalidClaim(&'static str),
    /// The verification machinery failed (not the token's fault).
    #[error("token verification failed internally")]
    Internal,
}

impl AuthError {
    /// A short stable label (bounded set of values) for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::MissingKid => "missing_kid",
            Self::UnknownKid => "unknown_kid",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::InvalidIssuer => "invalid_issuer",
            Self::InvalidAudience => "invalid_audience",
            Self::MissingClaim(_) => "missing_claim",
            Self::InvalidClaim(_) => "invalid_claim",
            Self::Internal => "internal",
        }
    }
}

/// Why the key store or the local keys could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    /// Neither `auth.jwks_file` nor `auth.jwks_url` is set.
    #[error("no key source: set auth.jwks_file or auth.jwks_url")]
    NoKeySource,
    /// Both `auth.jwks_file` and `auth.jwks_url` are set.
    #[error("auth.jwks_file and auth.jwks_url are both set; set exactly one")]
    ConflictingKeySources,
    /// `auth.jwks_url` is not an http(s) URL.
    #[error("auth.jwks_url is not a valid http(s) URL")]
    InvalidJwksUrl,
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client for the JWKS: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// The JWKS file could not be read.
    #[error("cannot read JWKS file {path}: {source}")]
    ReadJwks {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The JWKS URL could not be fetched.
    #[error("cannot fetch JWKS from {url}: {source}")]
    FetchJwks {
        /// The URL.
        url: String,
        /// The HTTP error.
        #[source]
        source: reqwest::Error,
    },
    /// The JWKS document is not valid.
    #[error("invalid JWKS document: {0}")]
    InvalidJwks(String),
    /// The JWKS document holds no RSA signing key with a `kid`.
    #[error("JWKS document holds no usable RS256 key (RSA, with kid, at least 2048 bits)")]
    NoUsableKeys,
    /// A file of the local keys could not be read or written.
    #[error("local key file {path}: {source}")]
    LocalKeyIo {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The local private key is invalid or could not be generated or encoded.
    #[error("local private key: {0}")]
    LocalKey(String),
    /// A token could not be signed.
    #[error("cannot sign token: {0}")]
    Signing(String),
}
