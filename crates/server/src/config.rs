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
use std::time::Duration;

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
    /// Largest body of a request whose every operation is a bulk ingestion
    /// (`recordKpiMeasurements`, `syncDirectory`), in bytes.
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
    /// Seconds a WebSocket client has to send `connection_init` before the
    /// connection is closed with 4408 (fractions allowed).
    pub ws_init_timeout_seconds: f64,
    /// Seconds between the server's WebSocket Ping frames; a connection from
    /// which nothing arrived for two intervals is dropped (fractions allowed).
    pub ws_ping_interval_seconds: f64,
    /// Messages queued for one WebSocket connection; when the queue is full
    /// the client reads too slowly and is closed with 1013.
    pub ws_send_buffer: usize,
    /// Operations running at once on one WebSocket connection.
    pub ws_max_operations: usize,
    /// Hours live events stay in the outbox for subscribers that resume
    /// with a cursor; older ones are pruned hourly (at least 1).
    pub live_retention_hours: u32,
    /// Encrypts check-in notes and objective descriptions at rest
    /// (AES-256-GCM): `id:base64key[,id:base64key…]`, the current key first,
    /// older keys after it for reading. Unset: stored as plain text.
    pub encryption_keys: Option<SecretString>,
    /// Answer introspection (`__schema`, `__type`) and suggest field names
    /// in validation errors. Turn off in production: the schema is the
    /// committed SDL, and suggestions would leak it field by field.
    pub introspection: bool,
    /// Answer the unit trees the compiled read path recognises (`node` on a
    /// unit → people → objectives → key results → newest check-in) with one
    /// SQL statement that builds the JSON, on PostgreSQL. Off: every query
    /// runs through the executor (the answers are the same).
    pub compiled_reads: bool,
    /// Most aliased fields one document may hold.
    pub max_aliases: usize,
    /// Most directives one document may hold.
    pub max_directives: usize,
    /// Most operations in one batch request (a JSON array).
    pub max_batch: usize,
    /// A JSON file mapping the SHA-256 (hex) of each trusted document to its
    /// text; when set, only those documents run.
    pub trusted_documents: Option<PathBuf>,
    /// Seconds one request (an HTTP request, or a query or mutation over a
    /// WebSocket) may run before it is cancelled (fractions allowed).
    pub request_timeout_seconds: f64,
    /// Seconds a report export's statement may run (PostgreSQL's
    /// `statement_timeout` for it): a whole organization's report takes
    /// longer than a request.
    pub export_timeout_seconds: f64,
    /// Query-cost budgets (the validated complexity of each operation).
    pub rate_limit: RateLimitSettings,
    /// PEM certificate chain: with `tls_key_path`, the server speaks HTTPS
    /// and WSS (rustls) instead of plain HTTP.
    pub tls_cert_path: Option<PathBuf>,
    /// PEM private key of the certificate.
    pub tls_key_path: Option<PathBuf>,
}

/// Budgets of query cost (the complexity async-graphql computes while
/// validating, one per selected field) per actor and per tenant.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default)]
pub struct RateLimitSettings {
    /// Cost one actor (a person's token, an API key) may spend per period; 0: unlimited.
    pub actor_cost: u32,
    /// Cost one tenant's actors together may spend per period; 0: unlimited.
    pub tenant_cost: u32,
    /// The period in seconds over which a budget refills (fractions allowed).
    pub period_seconds: f64,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        // Generous: 500 operations of the largest complexity a minute per
        // actor; lower them to what your clients really need.
        Self { actor_cost: 1_000_000, tenant_cost: 10_000_000, period_seconds: 60.0 }
    }
}

impl RateLimitSettings {
    /// The refill period (within (0, a day]).
    pub fn period(&self) -> Duration {
        seconds(self.period_seconds)
    }
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
            ws_init_timeout_seconds: 10.0,
            ws_ping_interval_seconds: 30.0,
            ws_send_buffer: 256,
            ws_max_operations: 100,
            live_retention_hours: 24,
            encryption_keys: None,
            introspection: true,
            compiled_reads: true,
            max_aliases: 100,
            max_directives: 100,
            max_batch: 10,
            trusted_documents: None,
            request_timeout_seconds: 30.0,
            export_timeout_seconds: 600.0,
            rate_limit: RateLimitSettings::default(),
            tls_cert_path: None,
            tls_key_path: None,
        }
    }
}

/// Upper bounds of the WebSocket settings: a day, and a count far beyond
/// any sensible queue (tokio's channels refuse larger ones).
const MAX_WS_SECONDS: f64 = 86_400.0;
const MAX_WS_COUNT: usize = 1 << 20;

/// Seconds as a duration within (0, a day]; [`Config::validate`] refuses
/// other values from files and the environment, this keeps a configuration
/// built in code from panicking the timers.
fn seconds(value: f64) -> Duration {
    let value = if value.is_nan() { 0.0 } else { value };
    let value = value.clamp(0.001, MAX_WS_SECONDS);
    Duration::from_secs_f64(value)
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
    /// The encryption keys, parsed; `None` when none are configured.
    pub fn keyring(&self) -> Result<Option<goalgraph_persistence::Keyring>, crate::app::ServerError> {
        self.encryption_keys
            .as_ref()
            .map(|spec| {
                goalgraph_persistence::Keyring::parse(spec.expose_secret())
                    .map_err(|e| crate::app::ServerError::Other(format!("encryption_keys: {e}")))
            })
            .transpose()
    }

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
        let config: Self = figment.extract().map_err(|e| ConfigError(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Refuses values the server cannot run with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, seconds) in [
            ("ws_init_timeout_seconds", self.ws_init_timeout_seconds),
            ("ws_ping_interval_seconds", self.ws_ping_interval_seconds),
            ("request_timeout_seconds", self.request_timeout_seconds),
            ("export_timeout_seconds", self.export_timeout_seconds),
            ("rate_limit.period_seconds", self.rate_limit.period_seconds),
        ] {
            if !(seconds > 0.0 && seconds <= MAX_WS_SECONDS) {
                return Err(ConfigError(format!("{name} must be above 0 and at most {MAX_WS_SECONDS}")));
            }
        }
        for (name, value) in
            [("ws_send_buffer", self.ws_send_buffer), ("ws_max_operations", self.ws_max_operations)]
        {
            if value == 0 || value > MAX_WS_COUNT {
                return Err(ConfigError(format!("{name} must be between 1 and {MAX_WS_COUNT}")));
            }
        }
        for (name, value) in [
            ("max_aliases", self.max_aliases),
            ("max_directives", self.max_directives),
            ("max_batch", self.max_batch),
        ] {
            if value == 0 {
                return Err(ConfigError(format!("{name} must be at least 1")));
            }
        }
        if self.tls_cert_path.is_some() != self.tls_key_path.is_some() {
            return Err(ConfigError(
                "tls_cert_path and tls_key_path go together: set both or neither".into(),
            ));
        }
        Ok(())
    }

    /// How long a WebSocket client may take to send `connection_init`.
    pub fn ws_init_timeout(&self) -> Duration {
        seconds(self.ws_init_timeout_seconds)
    }

    /// The interval of the server's WebSocket pings.
    pub fn ws_ping_interval(&self) -> Duration {
        seconds(self.ws_ping_interval_seconds)
    }

    /// How long one request may run.
    pub fn request_timeout(&self) -> Duration {
        seconds(self.request_timeout_seconds)
    }

    /// How long a report export's statement may run.
    pub fn export_timeout(&self) -> Duration {
        seconds(self.export_timeout_seconds)
    }

    /// The per-connection send queue's capacity (at least 1).
    pub fn ws_send_buffer(&self) -> usize {
        self.ws_send_buffer.clamp(1, MAX_WS_COUNT)
    }

    /// Concurrent operations per WebSocket connection (at least 1).
    pub fn ws_max_operations(&self) -> usize {
        self.ws_max_operations.clamp(1, MAX_WS_COUNT)
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
    fn websocket_settings_from_the_environment_and_their_bounds() {
        let c: Config = Figment::new()
            .merge(("ws_init_timeout_seconds", 0.25))
            .merge(("ws_ping_interval_seconds", 5))
            .merge(("ws_send_buffer", 8))
            .extract()
            .map_err(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(c.ws_init_timeout(), Duration::from_millis(250));
        assert_eq!(c.ws_ping_interval(), Duration::from_secs(5));
        assert_eq!(c.ws_send_buffer(), 8);
        assert_eq!(c.ws_max_operations(), 100);
        assert!(c.validate().is_ok());
        for bad in [
            Config { ws_init_timeout_seconds: 0.0, ..Config::default() },
            Config { ws_ping_interval_seconds: f64::NAN, ..Config::default() },
            Config { ws_send_buffer: 0, ..Config::default() },
            Config { ws_max_operations: 0, ..Config::default() },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
            // Built in code, it still runs: the accessors clamp.
            assert!(!bad.ws_init_timeout().is_zero() && !bad.ws_ping_interval().is_zero());
            assert!(bad.ws_send_buffer() >= 1 && bad.ws_max_operations() >= 1);
        }
    }

    #[test]
    fn hardening_settings_nest_and_are_checked() {
        let c: Config = Figment::new()
            .merge(("introspection", false))
            .merge(("rate_limit", serde_json::json!({ "actor_cost": 10, "period_seconds": 0.5 })))
            .merge(("request_timeout_seconds", 2.5))
            .extract()
            .map_err(|e| e.to_string())
            .unwrap_or_default();
        assert!(!c.introspection);
        assert_eq!(c.rate_limit.actor_cost, 10);
        assert_eq!(c.rate_limit.tenant_cost, RateLimitSettings::default().tenant_cost);
        assert_eq!(c.rate_limit.period(), Duration::from_millis(500));
        assert_eq!(c.request_timeout(), Duration::from_millis(2500));
        assert!(c.validate().is_ok());
        for bad in [
            Config { request_timeout_seconds: 0.0, ..Config::default() },
            Config { export_timeout_seconds: -5.0, ..Config::default() },
            Config { max_batch: 0, ..Config::default() },
            Config { max_aliases: 0, ..Config::default() },
            Config { tls_cert_path: Some(PathBuf::from("cert.pem")), ..Config::default() },
            Config {
                rate_limit: RateLimitSettings { period_seconds: -1.0, ..RateLimitSettings::default() },
                ..Config::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
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
