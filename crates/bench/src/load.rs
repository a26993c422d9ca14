//! The one load driver of the request workloads: `concurrency` workers
//! each run one request after another (a closed loop), first through an
//! untimed warm-up phase, then through the timed phase, whose latencies,
//! errors and throughput make a [`Sample`]. It serves the HTTP workloads,
//! the SQL floor and the raw insert alike; with a server process it also
//! reads the server's CPU time and statement counter around the timed
//! phase.
//!
//! A request is `op(index)`. Timed indices start at [`TIMED_BASE`] in
//! every phase, so two workloads that draw their random choices from the
//! index (the GraphQL query and its SQL floor) ask for the same units in
//! the same order.

use crate::Fallible;
use crate::report::percentile;
use crate::serve::{ServerProcess, Usage};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// The first index of a timed phase (warm-up indices start at 0).
pub const TIMED_BASE: u64 = 1 << 32;

/// How long a phase lasts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// Until this much time has passed (requests under way then finish).
    Duration(Duration),
    /// This many requests in all, over every worker.
    Requests(u64),
}

/// The warm-up and the timed phase of every run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadOptions {
    pub warmup: Phase,
    pub timed: Phase,
}

/// What one timed phase measured.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Requests finished, failed ones included.
    pub requests: u64,
    pub errors: u64,
    /// The first failure, to say what went wrong.
    pub first_error: Option<String>,
    /// Latencies of the requests that succeeded, ascending.
    pub latencies: Vec<Duration>,
    /// From the start of the phase until its last request finished.
    pub elapsed: Duration,
}

impl Sample {
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        percentile(&self.latencies, p).map(|d| d.as_secs_f64() * 1000.0)
    }

    /// Successful requests per second.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.latencies.len() as f64 / secs } else { 0.0 }
    }
}

/// The server's CPU time and statements over a timed phase, per request.
#[derive(Debug, Clone, Copy)]
pub struct ServerCost {
    pub cpu_ms_per_request: f64,
    pub statements_per_request: f64,
}

/// Warm-up, then the timed phase, at `concurrency`; with `server`, its
/// counters before and after the timed phase.
pub async fn drive<F, Fut>(
    concurrency: usize,
    options: &LoadOptions,
    server: Option<(&ServerProcess, &reqwest::Client)>,
    op: Arc<F>,
) -> Fallible<(Sample, Option<ServerCost>)>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Fallible<()>> + Send + 'static,
{
    let warm = phase(concurrency, options.warmup, 0, op.clone()).await?;
    if warm.errors > 0 && warm.latencies.is_empty() {
        // Nothing works: say why instead of timing failures.
        return Err(format!("warm-up: every request failed: {}", warm.first_error.unwrap_or_default()));
    }
    let before = match server {
        Some((s, http)) => Some(s.usage(http).await?),
        None => None,
    };
    let sample = phase(concurrency, options.timed, TIMED_BASE, op).await?;
    let cost = match (server, before) {
        (Some((s, http)), Some(before)) => Some(cost(before, s.usage(http).await?, sample.requests)),
        _ => None,
    };
    Ok((sample, cost))
}

fn cost(before: Usage, after: Usage, requests: u64) -> ServerCost {
    let n = requests.max(1) as f64;
    ServerCost {
        cpu_ms_per_request: (after.cpu_ms - before.cpu_ms) / n,
        statements_per_request: (after.statements - before.statements) / n,
    }
}

/// What one worker saw.
#[derive(Default)]
struct Worker {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

/// One phase: `concurrency` workers pulling indices from one counter.
async fn phase<F, Fut>(concurrency: usize, phase: Phase, base: u64, op: Arc<F>) -> Fallible<Sample>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Fallible<()>> + Send + 'static,
{
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let (deadline, limit) = match phase {
        Phase::Duration(d) => (Some(started + d), None),
        Phase::Requests(n) => (None, Some(n)),
    };
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (op, next) = (op.clone(), next.clone());
        workers.spawn(async move {
            let mut worker = Worker::default();
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if limit.is_some_and(|n| i >= n) {
                    break;
                }
                let sent = Instant::now();
                match op(base + i).await {
                    Ok(()) => worker.latencies.push(sent.elapsed()),
                    Err(e) => {
                        worker.errors += 1;
                        worker.first_error.get_or_insert(e);
                    }
                }
            }
            worker
        });
    }
    let mut sample = Sample::default();
    while let Some(joined) = workers.join_next().await {
        let worker = joined.map_err(|e| format!("a load worker failed: {e}"))?;
        sample.latencies.extend(worker.latencies);
        sample.errors += worker.errors;
        if sample.first_error.is_none() {
            sample.first_error = worker.first_error;
        }
    }
    sample.elapsed = started.elapsed();
    sample.latencies.sort_unstable();
    sample.requests = sample.latencies.len() as u64 + sample.errors;
    Ok(sample)
}

/// A number in `0..n` drawn from `seed` (0 when `n` is 0): the same for the
/// same seed.
pub fn draw(seed: u64, n: u64) -> u64 {
    use rand::{Rng, SeedableRng};
    if n == 0 { 0 } else { rand::rngs::StdRng::seed_from_u64(seed).gen_range(0..n) }
}

/// The item request `index` picks from `items`: the same for the same
/// index, whichever workload asks.
pub fn pick<T>(items: &[T], index: u64) -> Fallible<&T> {
    let i = draw(index, items.len() as u64);
    usize::try_from(i).ok().and_then(|i| items.get(i)).ok_or_else(|| "nothing to choose from".to_owned())
}
