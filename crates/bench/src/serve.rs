//! The server side of the HTTP and WebSocket workloads, run in a process
//! of its own (the bench re-executes itself with the hidden `serve`
//! subcommand), so that the load client's CPU and memory are not the
//! server's and the server's CPU time and resident memory can be read from
//! /proc.
//!
//! It starts goalgraph on the database the parent created, starts the live
//! hub, seeds the live workload's tiny tenant (or, with `--dataset-existing`,
//! serves the data set the parent seeded), prints one JSON line
//! on stdout ([`Ready`]) and serves until its stdin closes (the parent is
//! done or died) or it is killed. `GOALGRAPH_BENCH_SERVER_WRAPPER` runs it
//! under a profiler.
//!
//! The parent reads the server's counters with [`ServerProcess::usage`]:
//! its CPU time from /proc and its statement counter from `/metrics`.

use crate::Fallible;
use chrono::{Days, Utc};
use goalgraph_api::ids::{NodeType, encode_id};
use goalgraph_domain::model::{PeriodStatus, RoleSet};
use goalgraph_domain::okr::{Measure, ObjectiveKind, ObjectiveStatus, Owner, Visibility};
use goalgraph_persistence::{NewKeyResult, NewObjective, NewOrganization, NewPeriod, Store};
use goalgraph_server::config::RateLimitSettings;
use goalgraph_server::{Config, RunningServer};
use serde_json::json;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The environment variable that hands the database URL to the child
/// (not an argument: arguments are world-readable in /proc).
const DATABASE_URL_ENV: &str = "GOALGRAPH_BENCH_SERVE_DATABASE_URL";

/// A command the server process is started under, for profiling: e.g.
/// `heaptrack -o /tmp/server` or `perf record -g -o /tmp/perf.data --`
/// (split at whitespace; the server's own pid comes from its line).
const WRAPPER_ENV: &str = "GOALGRAPH_BENCH_SERVER_WRAPPER";

/// How long the child may take to migrate, generate keys and seed the
/// live workload's tenant.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a server may take to exit once its stdin closed (a profiler
/// under it writes its data then).
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Where the server keeps its development signing key.
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long, env = DATABASE_URL_ENV, hide_env_values = true)]
    database_url: String,
    /// Serve the data set already in the database (seeded by the bench).
    #[arg(long)]
    dataset_existing: bool,
}

/// The tenant a server process seeds before it says it is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tenant {
    /// The live workload's: one key result, named in the ready line.
    Live,
    /// The data set already in the database ([`crate::dataset::existing`]).
    Existing,
}

/// What the child prints once it serves.
#[derive(Debug, Clone)]
pub struct Ready {
    pub addr: SocketAddr,
    /// The tenant admin's bearer token.
    pub token: String,
    /// The live tenant's key result; `None` for the data set.
    pub key_result_id: Option<String>,
    pub pid: u32,
}

/// The server's counters at one moment: what [`ServerProcess::usage`]
/// reads before and after a timed phase.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// CPU time (user and system) of the server process so far, in ms.
    pub cpu_ms: f64,
    /// `goalgraph_sql_statements_total`.
    pub statements: f64,
}

/// The server's `/metrics`: each sample's value by its name as printed
/// (with its labels, if any).
#[derive(Debug, Clone)]
pub struct Metrics(HashMap<String, f64>);

impl Metrics {
    pub fn get(&self, name: &str) -> Fallible<f64> {
        self.0.get(name).copied().ok_or_else(|| format!("the server's /metrics has no {name}"))
    }
}

/// Reads the server's `/metrics`.
pub async fn metrics(http: &reqwest::Client, ready: &Ready) -> Fallible<Metrics> {
    let text = http
        .get(format!("http://{}/metrics", ready.addr))
        .send()
        .await
        .map_err(|e| format!("/metrics: {e}"))?
        .text()
        .await
        .map_err(|e| format!("/metrics: {e}"))?;
    let values = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(name, value)| Some((name.to_owned(), value.trim().parse::<f64>().ok()?)))
        .collect();
    Ok(Metrics(values))
}

/// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, read
/// once; 100, the Linux default, if getconf cannot say).
fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|t| t.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// The child's side: serve until stdin closes.
pub async fn serve(args: ServeArgs) -> Fallible<()> {
    let config = Config {
        data_dir: args.data_dir,
        database_url: Some(secrecy::SecretString::from(args.database_url)),
        bind: "127.0.0.1:0".to_owned(),
        log_level: "warn".to_owned(),
        // The load client is one actor: a budget would measure the limiter.
        rate_limit: RateLimitSettings { actor_cost: 0, tenant_cost: 0, ..RateLimitSettings::default() },
        // The export workload checks its download against a whole
        // organization's report over GraphQL, which outlasts 30 s.
        request_timeout_seconds: 600.0,
        // As the server reads it: `GOALGRAPH_COMPILED_READS=false` measures
        // the executor alone.
        compiled_reads: std::env::var("GOALGRAPH_COMPILED_READS").map_or(true, |v| v.trim() != "false"),
        ..Config::default()
    };
    let server = RunningServer::start(config).await.map_err(|e| e.to_string())?;
    let store = server.state.store.clone();
    // Started now, its reader task and first read are in the baseline, not
    // in what the first subscriber seems to cost.
    store.live().await.map_err(|e| e.to_string())?;
    let (slug, subject, key_result_id) = if args.dataset_existing {
        let dataset = crate::dataset::existing();
        (dataset.slug, dataset.admin_subject, None)
    } else {
        let slug = format!("live-{}", std::process::id());
        let (subject, key_result_id) = seed(&store, &slug).await?;
        (slug, subject, Some(key_result_id))
    };
    let keys = server.local_keys.clone().ok_or("no local keys")?;
    // A WebSocket closes when its token expires: long enough for any run.
    let token = keys
        .mint("goalgraph", "goalgraph", &subject, "org", &slug, chrono::Duration::hours(12))
        .map_err(|e| e.to_string())?;
    let line = json!({
        "addr": server.addr.to_string(),
        "token": token,
        "keyResultId": key_result_id,
        "pid": std::process::id(),
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}").and_then(|()| stdout.flush()).map_err(|e| format!("stdout: {e}"))?;
    drop(stdout);
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), server.stop()).await;
    Ok(())
}

/// A tenant with an active period, a public company objective and one key
/// result; returns the admin's subject and the key result's id.
async fn seed(store: &Store, slug: &str) -> Fallible<(String, String)> {
    let err = |e: goalgraph_persistence::StoreError| format!("seeding: {e}");
    let (_, company, admin) = store
        .create_organization(NewOrganization {
            name: "Live Bench".into(),
            slug: Some(slug.to_owned()),
            time_zone: None,
            admin_name: "Live Admin".into(),
            admin_email: format!("admin@{slug}.example"),
        })
        .await
        .map_err(err)?;
    let actor = store.person_actor(&admin, &RoleSet::default()).await.map_err(err)?;
    let today = Utc::now().date_naive();
    let period = store
        .create_period(
            &actor,
            NewPeriod {
                name: "Bench quarter".into(),
                start_date: today.checked_sub_days(Days::new(30)).unwrap_or(today),
                end_date: today.checked_add_days(Days::new(60)).unwrap_or(today),
            },
        )
        .await
        .map_err(err)?;
    store.transition_period(&actor, period.id, PeriodStatus::Active, None).await.map_err(err)?;
    let objective = store
        .create_objective(
            &actor,
            NewObjective {
                period_id: period.id,
                owner: Owner::Unit(company.id),
                parent_id: None,
                title: "Everyone watches this one".into(),
                description: None,
                kind: ObjectiveKind::Committed,
                visibility: Visibility::Public,
                progress_driver: None,
                status: Some(ObjectiveStatus::Active),
            },
        )
        .await
        .map_err(err)?;
    let kr = store
        .create_key_result(
            &actor,
            NewKeyResult {
                objective_id: objective.id,
                owner_id: admin.id,
                title: "Check-ins delivered live".into(),
                measure: Measure::Increase,
                start: 0.0,
                target: 1_000_000.0,
                unit_label: None,
                weight: None,
            },
        )
        .await
        .map_err(err)?;
    Ok((admin.subject, encode_id(NodeType::KeyResult, kr.id.0).0))
}

/// The parent's handle on a server process; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub ready: Ready,
}

impl ServerProcess {
    /// Starts this executable as `serve`, seeding `tenant`, and waits for
    /// its line.
    pub async fn spawn(database_url: &str, data_dir: &Path, tenant: Tenant) -> Fallible<Self> {
        let exe = std::env::current_exe().map_err(|e| format!("the bench's own executable: {e}"))?;
        let wrapper = std::env::var(WRAPPER_ENV).unwrap_or_default();
        let mut words = wrapper.split_whitespace();
        let mut command = match words.next() {
            Some(program) => {
                let mut c = Command::new(program);
                c.args(words).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        command.arg("serve").arg("--data-dir").arg(data_dir);
        if tenant == Tenant::Existing {
            command.arg("--dataset-existing");
        }
        let mut child = command
            .env(DATABASE_URL_ENV, database_url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting the server process: {e}"))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err("the server process has no stdout".to_owned());
        };
        // From here on, dropping `process` kills the child.
        let mut process = Self {
            child,
            ready: Ready {
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                token: String::new(),
                key_result_id: None,
                pid: 0,
            },
        };
        // The first JSON line is the server's; anything else (a profiler's
        // chatter) goes to stderr, and so does the rest, so that no writer
        // meets a closed pipe.
        let (line_tx, line_rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut line_tx = Some(line_tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match line_tx.take() {
                    Some(tx) if line.trim_start().starts_with('{') => {
                        let _ = tx.send(line);
                    }
                    rest => {
                        line_tx = rest;
                        eprintln!("{line}");
                    }
                }
            }
        });
        let line = match tokio::time::timeout(READY_TIMEOUT, line_rx).await {
            Ok(Ok(line)) => line,
            Ok(Err(_)) => return Err("the server process exited before it was ready".to_owned()),
            Err(_) => return Err(format!("the server process was not ready within {READY_TIMEOUT:?}")),
        };
        process.ready = parse_ready(&line)?;
        if wrapper.trim().is_empty() && process.ready.pid != process.child.id() {
            return Err(format!(
                "the server says its pid is {}, not {}",
                process.ready.pid,
                process.child.id()
            ));
        }
        eprintln!("server process {} serves at {}", process.ready.pid, process.ready.addr);
        Ok(process)
    }

    /// Closes the server's stdin, which stops it, and kills it if it is
    /// still there after [`EXIT_TIMEOUT`].
    pub async fn stop(mut self) {
        drop(self.child.stdin.take());
        let deadline = std::time::Instant::now() + EXIT_TIMEOUT;
        while std::time::Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Dropping it kills it.
    }

    /// The server's CPU time so far and its statement counter.
    pub async fn usage(&self, http: &reqwest::Client) -> Fallible<Usage> {
        let statements = metrics(http, &self.ready).await?.get("goalgraph_sql_statements_total")?;
        let path = format!("/proc/{}/stat", self.ready.pid);
        let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        // Fields after the command name (which may hold spaces), from
        // field 3 (state) on: utime and stime are fields 14 and 15.
        let fields: Vec<&str> =
            stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
        let (Some(utime), Some(stime)) = (ticks(11), ticks(12)) else {
            return Err(format!("{path}: no utime and stime in {stat:?}"));
        };
        Ok(Usage { cpu_ms: (utime + stime) * 1000.0 / clock_ticks(), statements })
    }

    /// The server's resident memory (VmRSS), in KiB.
    pub fn rss_kib(&self) -> Fallible<u64> {
        self.status_kib("VmRSS:")
    }

    /// The server's peak resident memory (VmHWM) since it started or since
    /// [`Self::reset_peak`], in KiB.
    pub fn peak_kib(&self) -> Fallible<u64> {
        self.status_kib("VmHWM:")
    }

    /// Resets the peak resident memory to the current one (Linux's
    /// `clear_refs` 5).
    pub fn reset_peak(&self) -> Fallible<()> {
        let path = format!("/proc/{}/clear_refs", self.ready.pid);
        std::fs::write(&path, "5").map_err(|e| format!("{path}: {e}"))
    }

    fn status_kib(&self, field: &str) -> Fallible<u64> {
        let path = format!("/proc/{}/status", self.ready.pid);
        let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no {field} in {path}"))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_ready(line: &str) -> Fallible<Ready> {
    let bad = || format!("the server process printed {line:?}, not its address line");
    let v: serde_json::Value = serde_json::from_str(line).map_err(|_| bad())?;
    Ok(Ready {
        addr: v["addr"].as_str().and_then(|a| a.parse().ok()).ok_or_else(bad)?,
        token: v["token"].as_str().ok_or_else(bad)?.to_owned(),
        key_result_id: v["keyResultId"].as_str().map(str::to_owned),
        pid: v["pid"].as_u64().and_then(|p| u32::try_from(p).ok()).ok_or_else(bad)?,
    })
}
