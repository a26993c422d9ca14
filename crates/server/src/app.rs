//! Assembling and running the server: store, migrations, keys, router.

use crate::auth::{AuthSetupError, KeyStore, LocalKeys};
use crate::config::Config;
use crate::document::{Documents, Limits, TrustedDocuments};
use crate::http::{AppState, router};
use crate::rate::{CostGuard, RateLimiter};
use goalgraph_persistence::{Backend, Store, StoreError, StoreOptions};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("authentication setup: {0}")]
    Auth(#[from] AuthSetupError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

/// A ready-to-serve application.
pub struct App {
    pub state: Arc<AppState>,
    /// The development signing key, when no identity provider is configured.
    pub local_keys: Option<Arc<LocalKeys>>,
    /// The TLS acceptor, when a certificate and key are configured.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Opens the configured database and applies pending migrations. On
/// PostgreSQL the serving pool's statements are cancelled by the server
/// past the request timeout; migrations (an index on a large table may
/// take longer) run on a connection of their own without that limit.
pub async fn open_store(config: &Config) -> Result<Store, ServerError> {
    let encryption = config.keyring()?;
    let url = config.database_url();
    let options =
        StoreOptions { max_connections: config.max_connections, encryption, ..StoreOptions::default() };
    let store = Store::connect(&url, &options).await?;
    store.migrate().await?;
    if store.backend() != Backend::Postgres {
        return Ok(store);
    }
    store.close().await?;
    let options = StoreOptions { statement_timeout: Some(config.request_timeout()), ..options };
    Ok(Store::connect(&url, &options).await?)
}

/// Loads the development key from the data directory, creating it on first
/// use (key generation blocks for a moment: off the async threads).
pub async fn local_keys(config: &Config) -> Result<Arc<LocalKeys>, ServerError> {
    let dir = config.data_dir.clone();
    let keys = tokio::task::spawn_blocking(move || LocalKeys::load_or_create(&dir))
        .await
        .map_err(|e| ServerError::Other(format!("key generation failed: {e}")))??;
    Ok(Arc::new(keys))
}

impl App {
    /// Connects, migrates and sets up token verification. Without an
    /// identity provider, tokens are verified against the key generated in
    /// the data directory.
    pub async fn build(config: Config) -> Result<Self, ServerError> {
        let store = open_store(&config).await?;
        Self::with_store(config, store).await
    }

    pub async fn with_store(mut config: Config, store: Store) -> Result<Self, ServerError> {
        let local_keys = if config.uses_local_keys() {
            let keys = local_keys(&config).await?;
            config.auth.jwks_file = Some(crate::auth::jwks_path(&config.data_dir));
            Some(keys)
        } else {
            None
        };
        let keys = KeyStore::load(&config.auth).await?;
        keys.spawn_refresh();
        spawn_housekeeping(store.clone(), config.live_retention_hours.max(1));
        let limiter = Arc::new(RateLimiter::new(&config.rate_limit));
        spawn_forget_idle(&limiter, config.rate_limit.period());
        let mut builder = goalgraph_api::schema_builder_with(
            Some(Arc::new(CostGuard(limiter.clone()))),
            config.compiled_reads,
        );
        if !config.introspection {
            // Suggestions ("did you mean …") would name fields one by one.
            builder = builder.disable_introspection().disable_suggestions();
        }
        let schema = builder.finish();
        let trusted = match &config.trusted_documents {
            Some(path) => Some(
                TrustedDocuments::load(path)
                    .map_err(|e| ServerError::Other(format!("trusted documents: {e}")))?,
            ),
            None => None,
        };
        if let Some(trusted) = &trusted {
            tracing::info!(documents = trusted.len(), "only trusted documents run");
        }
        let documents = Documents {
            limits: Limits {
                max_aliases: config.max_aliases,
                max_directives: config.max_directives,
                max_depth: goalgraph_api::MAX_DEPTH,
                max_fields: goalgraph_api::MAX_COMPLEXITY,
            },
            trusted,
            introspection: config.introspection,
        };
        let tls = match (&config.tls_cert_path, &config.tls_key_path) {
            (Some(cert), Some(key)) => Some(crate::tls::acceptor(cert, key)?),
            _ => None,
        };
        let state = Arc::new(AppState { store, schema, keys, config: Arc::new(config), documents, limiter });
        Ok(Self { state, local_keys, tls })
    }

    /// Serves on `listener` until `shutdown` resolves, then drains.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let app = router(self.state.clone());
        match self.tls {
            Some(acceptor) => crate::tls::serve(listener, acceptor, app, shutdown).await,
            None => {
                axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
                Ok(())
            }
        }
    }
}

/// A server running in the background (tests, benchmarks).
pub struct RunningServer {
    pub addr: SocketAddr,
    /// Whether it speaks HTTPS.
    pub tls: bool,
    pub state: Arc<AppState>,
    pub local_keys: Option<Arc<LocalKeys>>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), ServerError>>>,
}

impl RunningServer {
    /// Builds the app and serves it on `config.bind` (port 0 picks a free one).
    pub async fn start(config: Config) -> Result<Self, ServerError> {
        let app = App::build(config).await?;
        Self::start_app(app).await
    }

    pub async fn start_app(app: App) -> Result<Self, ServerError> {
        let listener = TcpListener::bind(&app.state.config.bind).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let state = app.state.clone();
        let local_keys = app.local_keys.clone();
        let tls = app.tls.is_some();
        let handle = tokio::spawn(app.serve(listener, async {
            let _ = rx.await;
        }));
        Ok(Self { addr, tls, state, local_keys, shutdown: Some(tx), handle: Some(handle) })
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{}", self.addr, path)
    }

    /// Stops accepting, lets requests in flight finish, and waits.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.handle.take() {
            Some(handle) => handle.await.map_err(|e| ServerError::Other(e.to_string()))?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Hourly, from an hour after the start: prunes idempotency keys older than 30 days and live events
/// older than the retention. Any replica may do it: the deletes are
/// idempotent.
fn spawn_housekeeping(store: Store, live_retention_hours: u32) {
    tokio::spawn(async move {
        // The first run an hour after the start, not at it: a starting
        // replica's statements are its requests'.
        let hour = std::time::Duration::from_secs(3600);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + hour, hour);
        loop {
            tick.tick().await;
            match store.prune_idempotency_keys(30).await {
                Ok(n) if n > 0 => tracing::info!(pruned = n, "idempotency keys older than 30 days removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning idempotency keys failed"),
            }
            match store.prune_live_events(chrono::Duration::hours(i64::from(live_retention_hours))).await {
                Ok(n) if n > 0 => tracing::info!(pruned = n, "live events past their retention removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning live events failed"),
            }
        }
    });
}

/// Forgets idle rate-limit keys once a period (at least every minute), so
/// the limiter holds only recent spenders; ends with the server.
fn spawn_forget_idle(limiter: &Arc<RateLimiter>, period: std::time::Duration) {
    let every = period.clamp(std::time::Duration::from_secs(1), std::time::Duration::from_secs(60));
    let limiter = Arc::downgrade(limiter);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(limiter) = limiter.upgrade() else { return };
            limiter.forget_idle();
        }
    });
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: draining requests in flight");
}
