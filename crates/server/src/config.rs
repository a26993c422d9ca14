//! Configuration: defaults, then an optional TOML file, then `GOALGRAPH_*`
//! environment variables (nested keys with `__`, e.g.
//! `GOALGRAPH_AUTH__JWKS_URL`), then `DATABASE_URL`, then command-line
//! flags.

use crate::auth::AuthSettings;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Where the embedded database and the local signing key live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: SQLite in the data directory.
    pub database_url: Option<SecretString>,
    /// Address to listen on.
    pub bind: String,
    /// Origins allowed to call the API from a browser (CORS); comma-separated in the environment.
    #[serde(deserialize_with = "string_or_list")]
    pub cors_origins: Vec<String>,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Largest body of a request whose every operation is a bulk KPI
    /// ingestion (`recordKpiMeasurements`), in bytes.
    pub bulk_body_limit_bytes: usize,
    /// Database connection pool size.
    pub max_connections: u32,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// Log filter (`RUST_LOG` syntax); `RUST_LOG` overrides it.
    pub log_level: String,
    /// Serve GraphiQL on `GET /graphql` to browsers.
    pub graphiql: bool,
    /// Token verification.
    pub auth: AuthSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            database_url: None,
            bind: "127.0.0.1:8080".to_owned(),
            cors_origins: Vec::new(),
            body_limit_bytes: 2 * 1024 * 1024,
            bulk_body_limit_bytes: 32 * 1024 * 1024,
            max_connections: 16,
            log_format: LogFormat::Text,
            log_level: "info".to_owned(),
            graphiql: true,
            auth: AuthSettings::default(),
        }
    }
}

fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Either::deserialize(d)? {
        Either::One(s) => s.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect(),
        Either::Many(v) => v,
    })
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Reads defaults, the file (if given), the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError(format!("{} does not exist", file.display())));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment.merge(Env::prefixed("GOALGRAPH_").split("__").ignore(&["config"]));
        if let Ok(url) = std::env::var("DATABASE_URL")
            && !url.is_empty()
        {
            figment = figment.merge(("database_url", url));
        }
        figment.extract().map_err(|e| ConfigError(e.to_string()))
    }

    /// The database URL in force: the configured one, or SQLite in the
    /// data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose_secret().to_owned(),
            None => format!("sqlite://{}", self.data_dir.join("goalgraph.db").display()),
        }
    }

    /// Whether tokens are verified with the key generated in the data
    /// directory (no external identity provider configured).
    pub fn uses_local_keys(&self) -> bool {
        self.auth.jwks_file.is_none() && self.auth.jwks_url.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::default();
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert!(c.database_url().starts_with("sqlite://"));
        assert!(c.database_url().ends_with("goalgraph.db"));
        assert!(c.uses_local_keys());
    }

    #[test]
    fn the_database_url_is_hidden_from_debug_output() {
        let c = Config {
            database_url: Some(SecretString::from("postgres://u:hunter2@db/x")),
            ..Config::default()
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.database_url(), "postgres://u:hunter2@db/x");
    }

    #[test]
    fn origins_from_a_comma_separated_string() {
        let c: Config = Figment::new()
            .merge(("cors_origins", "https://a.example, https://b.example"))
            .extract()
            .map_err(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(c.cors_origins, vec!["https://a.example", "https://b.example"]);
    }
}
