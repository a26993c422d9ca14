//! Validated values: raw input becomes one of these once, at the edge, and
//! the rest of the code takes the validated type.

use crate::error::{DomainError, DomainResult};
use serde::{Deserialize, Serialize};

/// A trimmed, non-empty display text of bounded length (names, titles).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 200;

    /// Trims `raw` and checks it holds 1 to 200 characters.
    pub fn parse(field: &str, raw: &str) -> DomainResult<Self> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(DomainError::invalid(field, "must not be empty"));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(DomainError::invalid(
                field,
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(DomainError::invalid(field, "must not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A free text of bounded length; empty after trimming means "none".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 10_000;

    pub fn parse(field: &str, raw: Option<&str>) -> DomainResult<Option<Self>> {
        let Some(raw) = raw else { return Ok(None) };
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(DomainError::invalid(
                field,
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Some(Self(trimmed.to_owned())))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An e-mail address, lower-cased. Only the shape is checked: an address is
/// proven by delivering to it, which is the identity provider's business.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> DomainResult<Self> {
        let value = raw.trim().to_lowercase();
        let bad = || DomainError::invalid(field, "must be an e-mail address like name@example.com");
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = value.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(bad());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A URL-safe tenant handle (`acme`, `acme-corp`): what the tenant claim of
/// a token names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(field: &str, raw: &str) -> DomainResult<Self> {
        let value = raw.trim();
        let ok = (2..=63).contains(&value.len())
            && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !value.starts_with('-')
            && !value.ends_with('-');
        // A slug that reads as a UUID would shadow the organization with
        // that id, since tokens may name their tenant either way.
        if ok && uuid::Uuid::parse_str(value).is_err() {
            Ok(Self(value.to_owned()))
        } else {
            Err(DomainError::invalid(
                field,
                "must be 2-63 lower-case letters, digits or dashes, not starting or ending with a dash, and not a UUID",
            ))
        }
    }

    /// Derives a slug from a display name: "Acme Corp." becomes "acme-corp".
    pub fn from_name(name: &str) -> DomainResult<Self> {
        let mut out = String::new();
        for c in name.trim().chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        let out = out.trim_end_matches('-');
        let out: String = out.chars().take(63).collect();
        Self::parse("slug", out.trim_end_matches('-'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An IANA time zone name such as `Europe/Berlin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(String, #[serde(skip)] chrono_tz::Tz);

impl TimeZoneName {
    pub fn parse(field: &str, raw: &str) -> DomainResult<Self> {
        let tz: chrono_tz::Tz = raw
            .trim()
            .parse()
            .map_err(|_| DomainError::invalid(field, "must be an IANA time zone name like Europe/Berlin"))?;
        Ok(Self(tz.name().to_owned(), tz))
    }

    pub fn utc() -> Self {
        Self("UTC".to_owned(), chrono_tz::UTC)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.1
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("timeZone", &value)
    }
}

impl From<TimeZoneName> for String {
    fn from(value: TimeZoneName) -> Self {
        value.0
    }
}

/// A number that must be finite (NaN and infinities are rejected).
pub fn finite(field: &str, value: f64) -> DomainResult<f64> {
    if value.is_finite() { Ok(value) } else { Err(DomainError::invalid(field, "must be a finite number")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("name", "  Sales  ").map(|n| n.into_inner()), Ok("Sales".into()));
        assert!(Name::parse("name", "   ").is_err());
        assert!(Name::parse("name", &"x".repeat(200)).is_ok());
        assert!(Name::parse("name", &"x".repeat(201)).is_err());
        assert!(Name::parse("name", "a\u{0}b").is_err());
        let err = Name::parse("input.name", "").err();
        assert!(matches!(err, Some(DomainError::Invalid { field, .. }) if field == "input.name"));
    }

    #[test]
    fn emails_are_lower_cased_and_shaped() {
        assert_eq!(
            Email::parse("e", " Ada@Example.COM ").map(|e| e.into_inner()),
            Ok("ada@example.com".into())
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
            "a@.com",
            "a@example..com",
        ] {
            assert!(Email::parse("e", bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(Slug::from_name("Acme Corp.").map(|s| s.into_inner()), Ok("acme-corp".into()));
        assert!(Slug::parse("s", "Acme").is_err());
        assert!(Slug::parse("s", "-acme").is_err());
        assert!(Slug::parse("s", "a").is_err());
        assert!(Slug::parse("s", "acme-2").is_ok());
        assert!(Slug::parse("s", "01a20333-a2f1-715b-a4ea-9762208afae1").is_err());
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            TimeZoneName::parse("tz", "Europe/Berlin").map(|t| t.as_str().to_owned()),
            Ok("Europe/Berlin".into())
        );
        assert!(TimeZoneName::parse("tz", "Mars/Olympus").is_err());
        assert!(TimeZoneName::parse("tz", "").is_err());
    }

    #[test]
    fn finite_numbers_only() {
        assert_eq!(finite("v", 1.5), Ok(1.5));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(finite("v", bad).is_err());
        }
    }
}
