//! Encryption at rest of free text that may hold sensitive content: check-in
//! notes and objective descriptions, in their rows and in the audit trail.
//!
//! With a [`Keyring`] configured, such a value is stored as
//! `gg1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`: AES-256-GCM with a
//! fresh 96-bit random nonce per value, and the field's name as associated
//! data (a note's ciphertext does not open as a description). The key id
//! names the key that sealed the value, so keys rotate: the first key of the
//! ring seals, every key of the ring opens, and `goalgraph encryption
//! rotate` re-seals the rows under the current key. Audit rows are never
//! rewritten: they keep the key id they were written under, so a key leaves
//! the ring only once no audit row needs it (`goalgraph encryption status`
//! counts them); dropping it on purpose makes those values unreadable.
//!
//! A value without the prefix is plain text (written before a key was set)
//! and is read as it is.

use crate::error::{StoreError, StoreResult};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde_json::Value;

const PREFIX: &str = "gg1:";
const NONCE_LEN: usize = 12;

/// JSON keys whose string values are sealed inside audit before/after
/// values (the columns' names, as the rows serialise).
pub(crate) const SEALED_FIELDS: [&str; 2] = ["note", "description"];

/// The configured keys; the first seals.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key ids only: key material never reaches a log.
        f.debug_struct("Keyring").field("key_ids", &self.key_ids()).finish()
    }
}

impl Keyring {
    /// Parses `id:base64key[,id:base64key…]`, the current key first. Each
    /// key is 32 bytes, in standard or URL-safe base64; ids are letters,
    /// digits, `-` and `_`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut keys: Vec<(String, Aes256Gcm)> = Vec::new();
        for (i, entry) in spec.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
            let (id, material) =
                entry.split_once(':').ok_or_else(|| format!("key {}: expected <id>:<base64 key>", i + 1))?;
            if id.is_empty()
                || id.len() > 32
                || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!("key {}: the id must be 1-32 letters, digits, '-' or '_'", i + 1));
            }
            if keys.iter().any(|(k, _)| k == id) {
                return Err(format!("key id {id} appears twice"));
            }
            let bytes = decode_key(material.trim())
                .ok_or_else(|| format!("key {id}: not base64 of exactly 32 bytes"))?;
            let cipher =
                Aes256Gcm::new_from_slice(&bytes).map_err(|_| format!("key {id}: not a 256-bit key"))?;
            keys.push((id.to_owned(), cipher));
        }
        if keys.is_empty() {
            return Err("no key given".to_owned());
        }
        Ok(Self { keys })
    }

    /// A new random key in the form [`Keyring::parse`] reads.
    pub fn generate(id: &str) -> String {
        let mut key = [0_u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        format!("{id}:{}", base64::engine::general_purpose::STANDARD.encode(key))
    }

    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(id, _)| id.as_str()).collect()
    }

    pub fn current_key_id(&self) -> &str {
        self.keys.first().map_or("", |(id, _)| id.as_str())
    }

    /// Seals `plain` as the field `field` under the current key.
    pub fn seal(&self, field: &str, plain: &str) -> StoreResult<String> {
        let (id, cipher) = self.keys.first().ok_or_else(|| StoreError::corrupt("empty keyring"))?;
        let mut nonce = [0_u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plain.as_bytes(), aad: field.as_bytes() })
            .map_err(|_| StoreError::corrupt("encryption failed"))?;
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{id}:{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Opens a value sealed by any key of the ring; plain text comes back
    /// as it is.
    pub fn open(&self, field: &str, stored: &str) -> StoreResult<String> {
        let Some((id, body)) = sealed_parts(stored) else { return Ok(stored.to_owned()) };
        let (_, cipher) = self.keys.iter().find(|(k, _)| k == id).ok_or_else(|| {
            StoreError::corrupt(format!("a {field} is sealed under key {id}, which is not configured"))
        })?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| StoreError::corrupt(format!("a sealed {field} is not base64")))?;
        if bytes.len() < NONCE_LEN {
            return Err(StoreError::corrupt(format!("a sealed {field} is too short")));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] =
            nonce.try_into().map_err(|_| StoreError::corrupt(format!("a sealed {field} is too short")))?;
        let plain = cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: field.as_bytes() })
            .map_err(|_| StoreError::corrupt(format!("a sealed {field} does not open under key {id}")))?;
        String::from_utf8(plain).map_err(|_| StoreError::corrupt(format!("a sealed {field} is not UTF-8")))
    }
}

fn decode_key(material: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let bytes = STANDARD
        .decode(material)
        .or_else(|_| URL_SAFE.decode(material))
        .or_else(|_| URL_SAFE_NO_PAD.decode(material))
        .ok()?;
    (bytes.len() == 32).then_some(bytes)
}

/// The key id and body of a sealed value; `None` for plain text.
fn sealed_parts(stored: &str) -> Option<(&str, &str)> {
    stored.strip_prefix(PREFIX)?.split_once(':')
}

/// The key id a stored value is sealed under; `None` for plain text.
pub fn sealed_key_id(stored: &str) -> Option<&str> {
    sealed_parts(stored).map(|(id, _)| id)
}

/// Seals `plain` when a ring is configured.
pub(crate) fn seal_opt(
    ring: Option<&Keyring>,
    field: &str,
    plain: Option<String>,
) -> StoreResult<Option<String>> {
    match (ring, plain) {
        (Some(ring), Some(p)) => ring.seal(field, &p).map(Some),
        (_, p) => Ok(p),
    }
}

/// Opens a stored value; a sealed one without a ring is an error (the key
/// is missing from the configuration).
pub(crate) fn open_opt(
    ring: Option<&Keyring>,
    field: &str,
    stored: Option<String>,
) -> StoreResult<Option<String>> {
    match (ring, stored) {
        (Some(ring), Some(s)) => ring.open(field, &s).map(Some),
        (None, Some(s)) if sealed_parts(&s).is_some() => {
            Err(StoreError::corrupt(format!("a {field} is encrypted but no encryption key is configured")))
        }
        (_, s) => Ok(s),
    }
}

/// Applies `f` to the string values of [`SEALED_FIELDS`] in a JSON object
/// (an audit before/after value), one level down too (`{"checkIn": {…}}`).
pub(crate) fn map_sealed_fields(
    value: Value,
    f: &dyn Fn(&str, String) -> StoreResult<String>,
) -> StoreResult<Value> {
    fn walk(value: Value, f: &dyn Fn(&str, String) -> StoreResult<String>, depth: u8) -> StoreResult<Value> {
        let Value::Object(map) = value else { return Ok(value) };
        let mut out = serde_json::Map::with_capacity(map.len());
        for (key, v) in map {
            let v = match v {
                Value::String(s) if SEALED_FIELDS.contains(&key.as_str()) => Value::String(f(&key, s)?),
                Value::Object(_) if depth == 0 => walk(v, f, 1)?,
                other => other,
            };
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
    walk(value, f, 0)
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn ring(spec: &str) -> Keyring {
        Keyring::parse(spec).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn sealed_text_opens_and_does_not_show_the_plain_text() {
        let k = ring(&Keyring::generate("k1"));
        let sealed = k.seal("note", "salary talk with Ann").unwrap_or_default();
        assert!(sealed.starts_with("gg1:k1:"), "{sealed}");
        assert!(!sealed.contains("salary"));
        assert_eq!(k.open("note", &sealed).ok().as_deref(), Some("salary talk with Ann"));
        // A fresh nonce each time: the same text seals differently.
        assert_ne!(k.seal("note", "x").ok(), k.seal("note", "x").ok());
    }

    #[test]
    fn a_value_opens_only_as_its_own_field_and_untampered() {
        let k = ring(&Keyring::generate("k1"));
        let sealed = k.seal("note", "secret").unwrap_or_default();
        assert!(k.open("description", &sealed).is_err());
        let mut tampered = sealed.clone();
        let last = tampered.pop().map_or('A', |c| if c == 'A' { 'B' } else { 'A' });
        tampered.push(last);
        assert!(k.open("note", &tampered).is_err());
        assert!(k.open("note", &sealed).is_ok(), "positive control");
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_seals_under_the_new_key() {
        let old = Keyring::generate("old");
        let new = Keyring::generate("new");
        let before = ring(&old);
        let sealed_old = before.seal("note", "q3 plan").unwrap_or_default();
        let rotated = ring(&format!("{new},{old}"));
        assert_eq!(rotated.current_key_id(), "new");
        assert_eq!(rotated.open("note", &sealed_old).ok().as_deref(), Some("q3 plan"));
        let sealed_new = rotated.seal("note", "q3 plan").unwrap_or_default();
        assert_eq!(sealed_key_id(&sealed_new), Some("new"));
        // Without the old key the old value is unreadable, with a clear error.
        let only_new = ring(&new);
        assert!(only_new.open("note", &sealed_old).is_err());
        assert!(only_new.open("note", &sealed_new).is_ok());
    }

    #[test]
    fn plain_text_passes_through_and_sealed_text_needs_a_key() {
        let k = ring(&Keyring::generate("k1"));
        assert_eq!(k.open("note", "written before the key").ok().as_deref(), Some("written before the key"));
        let sealed = k.seal("note", "x").ok();
        assert!(open_opt(None, "note", sealed.clone()).is_err());
        assert_eq!(open_opt(Some(&k), "note", sealed).ok().flatten().as_deref(), Some("x"));
        assert_eq!(open_opt(None, "note", Some("plain".to_owned())).ok().flatten().as_deref(), Some("plain"));
    }

    #[test]
    fn bad_key_specs_are_refused() {
        for spec in [
            "",
            "nokey",
            "k1:short",
            "k 1:AAAA",
            &format!("{},{}", Keyring::generate("a"), Keyring::generate("a")),
        ] {
            assert!(Keyring::parse(spec).is_err(), "{spec}");
        }
        assert!(Keyring::parse(&Keyring::generate("a")).is_ok(), "positive control");
    }

    #[test]
    fn audit_values_seal_only_the_sensitive_fields() {
        let k = ring(&Keyring::generate("k1"));
        let value = serde_json::json!({"title": "Grow", "description": "private plan", "checkIn": {"note": "n", "value": 3}});
        let sealed = map_sealed_fields(value.clone(), &|f, s| k.seal(f, &s)).unwrap_or_default();
        let text = sealed.to_string();
        assert!(text.contains("Grow") && !text.contains("private plan") && !text.contains("\"n\""), "{text}");
        let opened = map_sealed_fields(sealed, &|f, s| k.open(f, &s)).unwrap_or_default();
        assert_eq!(opened, value);
    }
}
