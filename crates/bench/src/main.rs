//! `goalgraph-bench`: starts goalgraph against a fresh database (SQLite in a
//! temporary directory, or the PostgreSQL server `--database-url` names, in
//! a database of its own), drives it over HTTP and prints, per workload,
//! the median and spread of its runs and the throughput.
//!
//! Workloads:
//! - `ingest`: one `recordKpiMeasurements` request of N points (100,000 by
//!   default), a fresh KPI per run.
//!
//! `--smoke` runs everything tiny and fails when a workload errs or has no
//! throughput, so CI keeps the runner from rotting. Timings belong here,
//! never in tests.

use clap::Parser;
use goalgraph_api::ids::{NodeType, encode_id};
use goalgraph_domain::model::RoleSet;
use goalgraph_persistence::{NewOrganization, Store, StoreOptions};
use goalgraph_server::{Config, RunningServer};
use serde_json::json;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(name = "goalgraph-bench", about = "Benchmarks goalgraph over HTTP")]
struct Args {
    /// Tiny sizes, few runs; exits non-zero on any error or zero throughput.
    #[arg(long)]
    smoke: bool,
    /// A PostgreSQL server URL (its maintenance database); default: SQLite.
    #[arg(long, env = "BENCH_DATABASE_URL")]
    database_url: Option<String>,
    /// Points per ingestion request.
    #[arg(long, default_value_t = 100_000)]
    points: usize,
    /// Runs per workload (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

struct Report {
    workload: String,
    runs: Vec<Duration>,
    units_per_run: usize,
    unit: &'static str,
}

impl Report {
    fn print(&self) {
        let mut sorted = self.runs.clone();
        sorted.sort();
        let median = sorted[sorted.len() / 2];
        let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
        let rate = self.units_per_run as f64 / median.as_secs_f64();
        println!(
            "{:<28} median {:>9.1} ms  min {:>9.1} ms  max {:>9.1} ms  {:>12.0} {}/s  ({} runs)",
            self.workload,
            median.as_secs_f64() * 1000.0,
            min.as_secs_f64() * 1000.0,
            max.as_secs_f64() * 1000.0,
            rate,
            self.unit,
            self.runs.len()
        );
    }

    fn throughput(&self) -> f64 {
        let mut sorted = self.runs.clone();
        sorted.sort();
        self.units_per_run as f64 / sorted[sorted.len() / 2].as_secs_f64()
    }
}

type Fallible<T> = Result<T, String>;

/// A database for the run: a temporary SQLite file, or a new PostgreSQL
/// database created (and dropped) on the given server.
struct BenchDb {
    url: String,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

async fn bench_db(server_url: Option<&str>) -> Fallible<BenchDb> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    match server_url {
        None => Ok(BenchDb {
            url: format!("sqlite://{}", dir.path().join("bench.db").display()),
            _dir: dir,
            pg: None,
        }),
        Some(admin) => {
            let name = format!("goalgraph_bench_{}", std::process::id());
            let store = admin_store(admin).await?;
            store.drop_database(&name).await.map_err(|e| e.to_string())?;
            store.create_database(&name).await.map_err(|e| e.to_string())?;
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
            Ok(BenchDb { url: format!("{base}/{name}"), _dir: dir, pg: Some((admin.to_owned(), name)) })
        }
    }
}

async fn admin_store(url: &str) -> Fallible<Store> {
    Store::connect(url, &StoreOptions { max_connections: 1, ..Default::default() })
        .await
        .map_err(|e| e.to_string())
}

async fn drop_db(db: &BenchDb) {
    if let Some((admin, name)) = &db.pg
        && let Ok(store) = admin_store(admin).await
    {
        let _ = store.drop_database(name).await;
    }
}

async fn ingest(
    server: &RunningServer,
    token: &str,
    unit: &str,
    owner: &str,
    points: usize,
    runs: usize,
) -> Fallible<Report> {
    let client = reqwest::Client::new();
    let post =
        |body: serde_json::Value| client.post(server.url("/graphql")).bearer_auth(token).json(&body).send();
    let now = chrono::Utc::now();
    let mut times = Vec::with_capacity(runs);
    for run in 0..runs {
        let created = post(json!({
            "query": "mutation($u: ID!, $o: ID!, $n: String!) { createKpi(input: { unitId: $u, ownerId: $o, name: $n, \
                      category: OPERATIONAL, direction: HIGHER_IS_BETTER, healthyLower: 99, cadence: DAILY }) { kpi { id } } }",
            "variables": { "u": unit, "o": owner, "n": format!("Ingest {run}") },
        }))
        .await
        .map_err(|e| e.to_string())?
        .json::<serde_json::Value>()
        .await
        .map_err(|e| e.to_string())?;
        let kpi = created["data"]["createKpi"]["kpi"]["id"].clone();
        if kpi.is_null() {
            return Err(format!("createKpi failed: {created}"));
        }
        let pts: Vec<serde_json::Value> = (0..points)
            .map(|i| json!({ "observedAt": (now - chrono::Duration::seconds(i as i64 * 60)).to_rfc3339(), "value": 99.0 + (i % 10) as f64 * 0.1 }))
            .collect();
        let body = json!({
            "query": "mutation($k: ID!, $p: [MeasurementPointInput!]!) { recordKpiMeasurements(input: { kpiId: $k, points: $p }) { written } }",
            "variables": { "k": kpi, "p": pts },
        });
        let started = Instant::now();
        let reply = post(body)
            .await
            .map_err(|e| e.to_string())?
            .json::<serde_json::Value>()
            .await
            .map_err(|e| e.to_string())?;
        times.push(started.elapsed());
        if reply["data"]["recordKpiMeasurements"]["written"] != json!(points) {
            return Err(format!(
                "ingestion failed: {}",
                reply.to_string().chars().take(400).collect::<String>()
            ));
        }
    }
    Ok(Report {
        workload: format!("ingest {points} points"),
        runs: times,
        units_per_run: points,
        unit: "points",
    })
}

async fn run(args: Args) -> Fallible<Vec<Report>> {
    let (points, runs) = if args.smoke { (1_000, 2) } else { (args.points, args.runs.max(1)) };
    let db = bench_db(args.database_url.as_deref()).await?;
    let data_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = Config {
        data_dir: data_dir.path().to_owned(),
        database_url: Some(secrecy::SecretString::from(db.url.clone())),
        bind: "127.0.0.1:0".to_owned(),
        log_level: "warn".to_owned(),
        ..Config::default()
    };
    let server = RunningServer::start(config).await.map_err(|e| e.to_string())?;
    let store = server.state.store.clone();
    let (_, company, admin) = store
        .create_organization(NewOrganization {
            name: "Bench Corp".into(),
            slug: Some("bench".into()),
            time_zone: None,
            admin_name: "Bench Admin".into(),
            admin_email: "admin@bench.example".into(),
        })
        .await
        .map_err(|e| e.to_string())?;
    let _ = store.person_actor(&admin, &RoleSet::default()).await.map_err(|e| e.to_string())?;
    let keys = server.local_keys.clone().ok_or("no local keys")?;
    let token = keys
        .mint("goalgraph", "goalgraph", &admin.subject, "org", "bench", chrono::Duration::hours(1))
        .map_err(|e| e.to_string())?;
    let unit = encode_id(NodeType::Unit, company.id.0).0;
    let owner = encode_id(NodeType::Person, admin.id.0).0;
    let reports = vec![ingest(&server, &token, &unit, &owner, points, runs).await?];
    server.stop().await.map_err(|e| e.to_string())?;
    drop_db(&db).await;
    Ok(reports)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let smoke = args.smoke;
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(reports) => {
            for r in &reports {
                r.print();
            }
            if smoke && reports.iter().any(|r| r.throughput().is_nan() || r.throughput() <= 0.0) {
                eprintln!("smoke: a workload had no throughput");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
