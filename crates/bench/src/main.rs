//! `goalgraph-bench`: starts goalgraph against a fresh database (SQLite in a
//! temporary directory, or the PostgreSQL server `--database-url` names, in
//! a database of its own), drives it over HTTP and WebSocket and prints, per
//! workload, its figures.
//!
//! Workloads (`--workload`, default all):
//! - `ingest`: one `recordKpiMeasurements` request of N points (100,000 by
//!   default), a fresh KPI per run, against a server in this process; the
//!   median and spread of the runs and the throughput.
//! - `live`: 1,000 and 10,000 subscribers (`--subscribers`) of one key
//!   result's `keyResultProgress`, each its own WebSocket, against a server
//!   in a separate process (this executable, `serve`); delivery
//!   latency p50/p99 from commit to client, SQL statements per event (with
//!   0 subscribers too) and resident memory per idle connection, beside the
//!   goals.
//! - `team` (W1), `department` (W2), `alignment` (W3), `checkin` (W4, and
//!   its ceiling: the least authenticated request) and `mix` (W5): requests
//!   on a data set of `--people` people ([`dataset::seed`]) against one
//!   server process, each at its concurrencies, with p50/p99, throughput,
//!   the server's CPU time and SQL statements per request, and beside the
//!   reads their SQL floor, beside the check-ins the raw insert ([`okr`]).
//!   W7 is `team` on SQLite.
//!
//! `--smoke` runs everything tiny and fails when a workload errs, misses a
//! delivery or has no throughput, so CI keeps the runner from rotting.
//! Timings belong here, never in tests.

mod dataset;
mod db;
mod export;
mod floor;
mod ingest;
mod live;
mod load;
mod okr;
mod report;
mod serve;
mod ws;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;
use std::time::Duration;

type Fallible<T> = Result<T, String>;

/// The allocator the `goalgraph` binary uses, so the server child measures
/// what production runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "goalgraph-bench", about = "Benchmarks goalgraph over HTTP and WebSocket")]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Tiny sizes, few runs; exits non-zero on any error, missed delivery or
    /// zero throughput.
    #[arg(long)]
    smoke: bool,
    /// A PostgreSQL server URL (its maintenance database); default: SQLite.
    #[arg(long, env = "BENCH_DATABASE_URL")]
    database_url: Option<String>,
    /// Which workload to run.
    #[arg(long, value_enum, default_value_t = Workload::All)]
    workload: Workload,
    /// Points per ingestion request.
    #[arg(long, default_value_t = 100_000)]
    points: usize,
    /// Runs per workload (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Subscriber counts of the live workload (0 is always measured first).
    #[arg(long, value_delimiter = ',', default_values_t = [1_000, 10_000])]
    subscribers: Vec<usize>,
    /// Timed check-ins per subscriber count.
    #[arg(long, default_value_t = 30)]
    events: usize,
    /// Milliseconds between check-ins.
    #[arg(long, default_value_t = 200)]
    interval_ms: u64,
    /// WebSocket connections opened at once.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// Also print the live workload's median latency of each event.
    #[arg(long)]
    per_event: bool,
    /// People of the request workloads' data set.
    #[arg(long, default_value_t = 10_000)]
    people: u32,
    /// Seed of the data set.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Concurrencies of every request workload (default: team 1,8,32;
    /// mix 8; the others 1,8).
    #[arg(long, value_delimiter = ',')]
    concurrency: Option<Vec<usize>>,
    /// Seconds of each timed phase of the request workloads.
    #[arg(long, default_value_t = 10.0)]
    duration_secs: f64,
    /// A fixed number of requests per timed phase instead of a duration.
    #[arg(long)]
    requests: Option<u64>,
    /// Seconds of warm-up before each timed phase.
    #[arg(long, default_value_t = 2.0)]
    warmup_secs: f64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The server process of the live and request workloads (started by
    /// the bench itself).
    #[command(hide = true)]
    Serve(serve::ServeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    All,
    Ingest,
    Live,
    /// W1–W5 on one data set (W7 on SQLite).
    Requests,
    /// W1 (W7 on SQLite).
    Team,
    /// W2.
    Department,
    /// W3.
    Alignment,
    /// W4, then its ceiling (`{ __typename }`), each beside the raw insert.
    Checkin,
    /// W5.
    Mix,
    /// The CSV export's peak memory, at a tenth of `--people` and at
    /// `--people`.
    Export,
}

impl Workload {
    fn includes(self, other: Workload) -> bool {
        let request = !matches!(
            other,
            Workload::All | Workload::Ingest | Workload::Live | Workload::Requests | Workload::Export
        );
        self == Workload::All || self == other || (self == Workload::Requests && request)
    }

    /// The request workloads it includes, in the order they run.
    fn requests(self) -> Vec<okr::Kind> {
        [
            (Workload::Team, okr::Kind::Team),
            (Workload::Department, okr::Kind::Department),
            (Workload::Alignment, okr::Kind::Alignment),
            (Workload::Checkin, okr::Kind::CheckIn),
            (Workload::Checkin, okr::Kind::Ceiling),
            (Workload::Mix, okr::Kind::Mix),
        ]
        .into_iter()
        .filter(|(w, _)| self.includes(*w))
        .map(|(_, k)| k)
        .collect()
    }
}

async fn run(args: Args) -> Fallible<()> {
    let (points, runs) = if args.smoke { (1_000, 2) } else { (args.points, args.runs.max(1)) };
    let live = if args.smoke {
        live::LiveOptions {
            sizes: vec![20],
            events: 3,
            interval: Duration::from_millis(200),
            concurrency: 20,
        }
    } else {
        live::LiveOptions {
            sizes: args.subscribers.clone(),
            events: args.events.max(1),
            interval: Duration::from_millis(args.interval_ms),
            concurrency: args.connect_concurrency.max(1),
        }
    };
    let seconds = |s: f64| Duration::from_secs_f64(if s.is_finite() { s.max(0.0) } else { 0.0 });
    let requests = if args.smoke {
        okr::OkrOptions {
            people: 12,
            seed: args.seed,
            load: load::LoadOptions { warmup: load::Phase::Requests(3), timed: load::Phase::Requests(24) },
            concurrency: None,
            smoke: true,
        }
    } else {
        okr::OkrOptions {
            people: args.people,
            seed: args.seed,
            load: load::LoadOptions {
                warmup: load::Phase::Duration(seconds(args.warmup_secs)),
                timed: match args.requests {
                    Some(n) => load::Phase::Requests(n.max(1)),
                    None => load::Phase::Duration(seconds(args.duration_secs)),
                },
            },
            concurrency: args.concurrency.clone().filter(|c| !c.is_empty()),
            smoke: false,
        }
    };
    let db = db::bench_db(args.database_url.as_deref()).await?;
    let data_dir = db.dir.path().join("server");
    let database = if args.database_url.is_some() { "PostgreSQL" } else { "SQLite" };
    let result = async {
        let mut failures = Vec::new();
        if args.workload.includes(Workload::Ingest) {
            let report = ingest::run(&db.url, &data_dir, points, runs).await?;
            report.print();
            if args.smoke && (!report.throughput().is_finite() || report.throughput() <= 0.0) {
                failures.push(format!("{}: no throughput", report.workload));
            }
        }
        if args.workload.includes(Workload::Live) {
            let figures = live::run(&db.url, &data_dir, &live).await?;
            live::print(database, &live, &figures, args.per_event);
            failures.extend(figures.iter().filter_map(live::Figures::failure));
        }
        let kinds = args.workload.requests();
        if !kinds.is_empty() {
            let rows = okr::run(&db.url, &data_dir, &kinds, &requests).await?;
            okr::print(database, &requests, &rows);
            failures.extend(rows.iter().filter_map(okr::Row::failure));
        }
        if args.workload.includes(Workload::Export) {
            let sizes = if args.smoke { vec![12, 24] } else { vec![(args.people / 10).max(10), args.people] };
            let rows =
                export::run(args.database_url.as_deref(), &export::ExportOptions { sizes, seed: args.seed })
                    .await?;
            export::print(database, &rows);
            failures.extend(export::failure(&rows));
        }
        if failures.is_empty() { Ok(()) } else { Err(failures.join("; ")) }
    }
    .await;
    db::drop_db(&db).await;
    result
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Thousands of sockets in each process, the client's and the server's.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("warning: cannot raise the open-files limit: {e}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match args.command {
        Some(Command::Serve(serve_args)) => runtime.block_on(serve::serve(serve_args)),
        None => runtime.block_on(run(args)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
