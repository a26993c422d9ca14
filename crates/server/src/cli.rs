//! The `goalgraph` command line.

use crate::app::{App, ServerError, local_keys, open_store, shutdown_signal};
use crate::auth::LocalKeys;
use crate::config::Config;
use crate::{seed, telemetry};
use clap::{Args, Parser, Subcommand};
use goalgraph_persistence::{NewOrganization, Store};
use secrecy::SecretString;
use std::path::PathBuf;

/// goalgraph: OKRs and KPIs on one connected data layer, served over GraphQL.
///
/// Configuration comes from defaults, an optional TOML file (--config),
/// GOALGRAPH_* environment variables (nested keys with "__", e.g.
/// GOALGRAPH_AUTH__JWKS_URL), DATABASE_URL, and these flags, later ones
/// winning. See the README for every variable.
#[derive(Debug, Parser)]
#[command(name = "goalgraph", version, propagate_version = true)]
pub struct Cli {
    /// A TOML configuration file.
    #[arg(long, global = true, env = "GOALGRAPH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the embedded SQLite database and the local signing key live [default: ./data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB [default: SQLite in the data directory].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the server (migrating the database first).
    Serve(ServeArgs),
    /// Applies, reverts or lists database migrations.
    Migrate(MigrateArgs),
    /// Mints a token for a person of the local data (development keys only).
    Token(TokenArgs),
    /// Manages organizations (tenants).
    #[command(subcommand)]
    Org(OrgCommand),
    /// Generates a realistic organization of N people with goals, check-ins
    /// and KPIs (deterministic for a given --seed), written in bulk.
    Seed(SeedArgs),
    /// Encryption at rest: which key seals how many values, and re-sealing
    /// them under the current key (GOALGRAPH_ENCRYPTION_KEYS).
    #[command(subcommand)]
    Encryption(EncryptionCommand),
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// People in all, the admin included (at least 10).
    #[arg(long)]
    pub people: u32,
    /// Quarterly periods, ending with the current quarter (the earlier ones closed).
    #[arg(long, default_value_t = 4)]
    pub periods: u32,
    /// The random seed: the same seed gives the same shape and row counts.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The organization's slug [default: seed-<people>-<seed>].
    #[arg(long)]
    pub slug: Option<String>,
    /// Its display name [default: "Org <slug>"].
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum EncryptionCommand {
    /// Counts the stored notes, descriptions and audit values per key id.
    Status,
    /// Re-seals every note and description under the current (first) key,
    /// plain text written before a key was set included.
    Rotate,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Creates a small demo organization (once) and prints an admin token.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// up (default), down, or status.
    #[arg(value_enum, default_value = "up")]
    pub direction: MigrateDirection,
    /// With down: how many migrations to revert [default: all].
    #[arg(long)]
    pub steps: Option<u32>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MigrateDirection {
    Up,
    Down,
    Status,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The person's e-mail address.
    #[arg(long)]
    pub email: String,
    /// The organization's slug; may be left out when there is only one.
    #[arg(long)]
    pub org: Option<String>,
    /// Lifetime of the token in hours.
    #[arg(long, default_value_t = 12)]
    pub ttl_hours: i64,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Creates an organization with its company unit and first admin.
    Create(OrgCreateArgs),
    /// Lists organizations.
    List,
}

#[derive(Debug, Args)]
pub struct OrgCreateArgs {
    /// Display name, e.g. "Acme Corp".
    #[arg(long)]
    pub name: String,
    /// The first admin's e-mail address (also their token subject).
    #[arg(long)]
    pub admin_email: String,
    /// The first admin's name [default: the part of the e-mail before @].
    #[arg(long)]
    pub admin_name: Option<String>,
    /// Handle used in tokens' tenant claim [default: derived from the name].
    #[arg(long)]
    pub slug: Option<String>,
    /// IANA time zone [default: UTC].
    #[arg(long)]
    pub time_zone: Option<String>,
}

impl Cli {
    fn config(&self) -> Result<Config, ServerError> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(url) = &self.database_url {
            config.database_url = Some(SecretString::from(url.clone()));
        }
        Ok(config)
    }
}

pub async fn run(cli: Cli) -> Result<(), ServerError> {
    let mut config = cli.config()?;
    telemetry::init_logging(&config);
    match cli.command {
        Command::Serve(args) => {
            if let Some(bind) = args.bind {
                config.bind = bind;
            }
            serve(config, args.demo).await
        }
        Command::Migrate(args) => {
            let store = Store::connect(&config.database_url(), &Default::default()).await?;
            match args.direction {
                MigrateDirection::Up => store.migrate().await?,
                MigrateDirection::Down => store.migrate_down(args.steps).await?,
                MigrateDirection::Status => {}
            }
            let (applied, pending) = store.migration_status().await?;
            for name in applied {
                println!("applied  {name}");
            }
            for name in pending {
                println!("pending  {name}");
            }
            Ok(())
        }
        Command::Token(args) => {
            if !config.uses_local_keys() {
                return Err(ServerError::Other(
                    "an identity provider is configured (auth.jwks_file or auth.jwks_url): get tokens from it".into(),
                ));
            }
            let store = open_store(&config).await?;
            let keys = local_keys(&config).await?;
            let token =
                mint_token(&config, &keys, &store, &args.email, args.org.as_deref(), args.ttl_hours).await?;
            println!("{token}");
            Ok(())
        }
        Command::Org(OrgCommand::Create(args)) => {
            let store = open_store(&config).await?;
            let admin_name = args
                .admin_name
                .unwrap_or_else(|| args.admin_email.split('@').next().unwrap_or("admin").to_owned());
            let (org, _, admin) = store
                .create_organization(NewOrganization {
                    name: args.name,
                    slug: args.slug,
                    time_zone: args.time_zone,
                    admin_name,
                    admin_email: args.admin_email,
                })
                .await?;
            println!("created organization {} ({}) with admin {}", org.name, org.slug, admin.email);
            Ok(())
        }
        Command::Seed(args) => {
            let store = open_store(&config).await?;
            let slug = args.slug.unwrap_or_else(|| format!("seed-{}-{}", args.people, args.seed));
            let mut opts =
                goalgraph_persistence::GenerateOptions::new(args.people, args.periods, args.seed, &slug);
            if let Some(name) = args.name {
                opts.name = name;
            }
            let started = std::time::Instant::now();
            let report = seed::generate_with_progress(&store, &opts).await?;
            println!(
                "generated organization {} ({}) in {:.1} s; admin {}",
                report.organization.name,
                report.organization.slug,
                started.elapsed().as_secs_f64(),
                report.admin.email
            );
            for (table, rows) in &report.counts {
                println!("{table:<18} {rows}");
            }
            Ok(())
        }
        Command::Encryption(command) => {
            let store = open_store(&config).await?;
            if let EncryptionCommand::Rotate = command {
                let report = store.rotate_encryption().await?;
                for (place, n) in &report.resealed {
                    println!("re-sealed {n} values of {place} under key {}", report.key_id);
                }
                if report.resealed.is_empty() {
                    println!("every value is already sealed under key {}", report.key_id);
                }
            }
            print_encryption_status(&config, &store).await
        }
        Command::Org(OrgCommand::List) => {
            let store = open_store(&config).await?;
            for org in store.list_organizations().await? {
                println!("{}\t{}\t{}", org.slug, org.id, org.name);
            }
            Ok(())
        }
    }
}

/// One line per place and key: `place  key  count`, with `plain` for values
/// written before a key was set, and a warning for keys the ring lacks.
async fn print_encryption_status(config: &Config, store: &Store) -> Result<(), ServerError> {
    let ring = config.keyring()?;
    let known: Vec<&str> = ring.as_ref().map(|r| r.key_ids()).unwrap_or_default();
    match known.first() {
        Some(current) => println!("current key: {current} (ring: {})", known.join(", ")),
        None => println!("no encryption key is configured: new values are stored as plain text"),
    }
    let status = store.encryption_status().await?;
    let mut missing = Vec::new();
    for (place, by_key) in &status.places {
        for (key, n) in by_key {
            let name = key.as_deref().unwrap_or("plain");
            println!("{place:<24} {name:<16} {n}");
            if let Some(k) = key.as_deref()
                && !known.contains(&k)
            {
                missing.push(k.to_owned());
            }
        }
    }
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        println!(
            "warning: values sealed under {} cannot be read: the ring lacks the key",
            missing.join(", ")
        );
    }
    Ok(())
}

/// Signs a development token for a person, with the data directory's key.
pub async fn mint_token(
    config: &Config,
    keys: &LocalKeys,
    store: &Store,
    email: &str,
    org: Option<&str>,
    ttl_hours: i64,
) -> Result<String, ServerError> {
    let org = match org {
        Some(reference) => store
            .find_organization(reference)
            .await?
            .ok_or_else(|| ServerError::Other(format!("no organization {reference}")))?,
        None => {
            let mut all = store.list_organizations().await?;
            if all.len() != 1 {
                return Err(ServerError::Other(format!(
                    "{} organizations exist: name one with --org",
                    all.len()
                )));
            }
            all.remove(0)
        }
    };
    let person = store
        .find_person_by_email(org.id, email)
        .await?
        .filter(|p| p.active)
        .ok_or_else(|| ServerError::Other(format!("no active person {email} in {}", org.slug)))?;
    Ok(keys.mint(
        &config.auth.issuer,
        &config.auth.audience,
        &person.subject,
        &config.auth.tenant_claim,
        &org.slug,
        chrono::Duration::hours(ttl_hours),
    )?)
}

async fn serve(config: Config, demo: bool) -> Result<(), ServerError> {
    let app = App::build(config).await?;
    let config = app.state.config.clone();
    let store = app.state.store.clone();
    let listener = tokio::net::TcpListener::bind(&config.bind).await?;
    let addr = listener.local_addr()?;
    println!("goalgraph is listening on http://{addr}");
    println!("GraphiQL: http://{addr}/graphql  (send the header  Authorization: Bearer <token>)");
    if demo {
        let admin = seed::demo(&store).await?;
        match &app.local_keys {
            Some(keys) => {
                let token =
                    mint_token(&config, keys, &store, &admin.email, Some(seed::DEMO_SLUG), 12).await?;
                println!(
                    "Demo organization \"{}\": admin {}; token (valid 12 h):",
                    seed::DEMO_SLUG,
                    admin.email
                );
                println!("{token}");
            }
            None => println!(
                "Demo organization \"{}\" is ready; sign in through your identity provider.",
                seed::DEMO_SLUG
            ),
        }
    } else if store.list_organizations().await?.is_empty() {
        println!(
            "No organization yet: run `goalgraph org create --name <NAME> --admin-email <EMAIL>`, or start with --demo."
        );
    } else if app.local_keys.is_some() {
        println!("Get a token with `goalgraph token --email <EMAIL>`.");
    }
    tracing::info!(%addr, "serving");
    app.serve(listener, shutdown_signal()).await
}
