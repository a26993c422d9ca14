//! Local development keys: an RSA key in the data directory, its public
//! half published as a JWKS, and a token minter.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, RSAKeyParameters,
    RSAKeyType, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::RsaPrivateKey;
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use rsa::traits::PublicKeyParts as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Serialize;
use serde_json::{Map, Value};

use super::AuthSetupError;

const PRIVATE_KEY_FILE: &str = "jwt-private.pem";
const JWKS_FILE: &str = "jwks.json";
const KEY_BITS: usize = 2048;
/// Claims `mint` sets itself; the tenant claim must not shadow them.
const REGISTERED_CLAIMS: [&str; 7] = ["iss", "aud", "sub", "iat", "exp", "nbf", "jti"];

/// Path of the public key set written by [`LocalKeys::load_or_create`].
pub fn jwks_path(data_dir: &Path) -> PathBuf {
    data_dir.join(JWKS_FILE)
}

/// Path of the private key read or written by [`LocalKeys::load_or_create`].
pub fn private_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(PRIVATE_KEY_FILE)
}

/// A development signing key. Its `kid` is the RFC 7638 thumbprint of the
/// public key, so it is stable across restarts.
pub struct LocalKeys {
    /// Key id put in the header of minted tokens and in the JWKS.
    pub kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
}

impl std::fmt::Debug for LocalKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key never appears in logs.
        f.debug_struct("LocalKeys").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl LocalKeys {
    /// Reads `data_dir/jwt-private.pem` (PKCS#8 or PKCS#1 PEM), or generates
    /// an RSA 2048 key and writes it there (mode 0600), then (re)writes
    /// `data_dir/jwks.json` with the public key.
    ///
    /// Blocking (file I/O, and key generation takes a moment): call it at
    /// startup or from `spawn_blocking`.
    pub fn load_or_create(data_dir: &Path) -> Result<LocalKeys, AuthSetupError> {
        fs::create_dir_all(data_dir).map_err(io_error(data_dir))?;
        let key_path = private_key_path(data_dir);
        let private = match read_private_key(&key_path)? {
            Some(private) => private,
            None => create_private_key(&key_path)?,
        };
        let keys = Self::from_private_key(&private)?;
        keys.write_jwks(&jwks_path(data_dir))?;
        Ok(keys)
    }

    /// Path of the public key set (same as [`jwks_path`]).
    pub fn jwks_path(data_dir: &Path) -> PathBuf {
        jwks_path(data_dir)
    }

    /// Wraps an RSA private key.
    pub(crate) fn from_private_key(private: &RsaPrivateKey) -> Result<LocalKeys, AuthSetupError> {
        let der = private.to_pkcs1_der().map_err(|e| AuthSetupError::LocalKey(e.to_string()))?;
        let encoding = EncodingKey::from_rsa_der(der.as_bytes());

        let public = private.to_public_key();
        let mut jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::RS256),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
                key_type: RSAKeyType::RSA,
                n: URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
                e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            }),
        };
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| AuthSetupError::LocalKey(format!("thumbprint: {e}")))?;
        jwk.common.key_id = Some(kid.clone());
        Ok(LocalKeys { kid, encoding, jwk })
    }

    /// The public key as a JWK set (kty RSA, use sig, alg RS256, kid, n, e).
    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: vec![self.jwk.clone()] }
    }

    /// Signs an RS256 token with claims `iss`, `aud`, `sub`, `iat`, `exp`
    /// (now + `ttl`; a negative `ttl` gives an expired token) and
    /// `tenant_claim: tenant`.
    pub fn mint(
        &self,
        issuer: &str,
        audience: &str,
        subject: &str,
        tenant_claim: &str,
        tenant: &str,
        ttl: chrono::Duration,
    ) -> Result<String, AuthSetupError> {
        if REGISTERED_CLAIMS.contains(&tenant_claim) {
            return Err(AuthSetupError::Signing(format!(
                "tenant claim name {tenant_claim:?} collides with a registered claim"
            )));
        }
        let now = chrono::Utc::now().timestamp();
        let mut claims = Map::new();
        claims.insert("iss".to_owned(), issuer.into());
        claims.insert("aud".to_owned(), audience.into());
        claims.insert("sub".to_owned(), subject.into());
        claims.insert("iat".to_owned(), now.into());
        claims.insert("exp".to_owned(), now.saturating_add(ttl.num_seconds()).into());
        claims.insert(tenant_claim.to_owned(), tenant.into());
        self.sign_claims(&Value::Object(claims))
    }

    /// Signs arbitrary claims as an RS256 token with this key's `kid`
    /// (for tokens `mint` cannot express, e.g. with roles).
    pub fn sign_claims<T: Serialize>(&self, claims: &T) -> Result<String, AuthSetupError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| AuthSetupError::Signing(e.to_string()))
    }

    /// Writes the JWKS atomically (temporary file + rename), because a
    /// running key store may be reading it.
    fn write_jwks(&self, path: &Path) -> Result<(), AuthSetupError> {
        let json = serde_json::to_vec_pretty(&self.jwks())
            .map_err(|e| AuthSetupError::LocalKey(format!("encode JWKS: {e}")))?;
        let tmp = temp_sibling(path);
        let result = fs::write(&tmp, &json).and_then(|()| fs::rename(&tmp, path));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(io_error(path))
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> AuthSetupError + '_ {
    move |source| AuthSetupError::LocalKeyIo { path: path.to_path_buf(), source }
}

fn temp_sibling(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", uuid::Uuid::new_v4()));
    path.with_file_name(name)
}

/// Reads the private key, or `None` if the file does not exist.
fn read_private_key(path: &Path) -> Result<Option<RsaPrivateKey>, AuthSetupError> {
    let pem = match fs::read_to_string(path) {
        // Held as a secret so the PEM text is zeroed once parsed.
        Ok(pem) => SecretString::from(pem),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path)(e)),
    };
    warn_if_readable_by_others(path);
    let pem = pem.expose_secret();
    let private =
        RsaPrivateKey::from_pkcs8_pem(pem).or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem)).map_err(|_| {
            AuthSetupError::LocalKey(format!(
                "{} is not an RSA private key in PKCS#8 or PKCS#1 PEM",
                path.display()
            ))
        })?;
    if private.size() * 8 < KEY_BITS {
        return Err(AuthSetupError::LocalKey(format!(
            "{} holds an RSA key shorter than {KEY_BITS} bits",
            path.display()
        )));
    }
    Ok(Some(private))
}

/// Generates a key and publishes it at `path` without ever exposing a
/// half-written file: written to a temporary file first, then hard-linked
/// into place, which fails if another process got there first (its key wins).
fn create_private_key(path: &Path) -> Result<RsaPrivateKey, AuthSetupError> {
    let mut rng = rand::rngs::OsRng;
    let private = RsaPrivateKey::new(&mut rng, KEY_BITS)
        .map_err(|e| AuthSetupError::LocalKey(format!("generate: {e}")))?;
    let pem =
        private.to_pkcs8_pem(LineEnding::LF).map_err(|e| AuthSetupError::LocalKey(format!("encode: {e}")))?;

    let tmp = temp_sibling(path);
    let written = write_private(&tmp, pem.as_bytes()).and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match written {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated a local JWT signing key");
            Ok(private)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read_private_key(path)?
            .ok_or_else(|| AuthSetupError::LocalKey(format!("{} vanished", path.display()))),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// Creates `path` readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "private key file is accessible by group or others");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
