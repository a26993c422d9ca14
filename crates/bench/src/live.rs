//! The `live` workload: subscribers of one key result's
//! `keyResultProgress`, each on a WebSocket of its own, against a server in
//! another process ([`crate::serve`]), while check-ins are made one at a
//! time over HTTP.
//!
//! Per subscriber count (0 first, for the statements) a fresh server
//! process: its memory before the connections is a baseline no earlier
//! size left freed-but-kept allocations in. It reports
//! - delivery latency: the client's receive time minus the event's `at`
//!   (its commit time), both on this machine's clock, over every event of
//!   every subscriber but the first event (the warm-up);
//! - SQL statements per event: the server's `goalgraph_sql_statements_total`
//!   over the check-ins, divided by their number (the check-in itself, the
//!   outbox reads and whatever the subscribers cost);
//! - resident memory per idle subscribed connection: the server's VmRSS
//!   after all connections are subscribed and idle, minus before, divided
//!   by their number.
//!
//! Every subscriber must receive every event exactly once, or the run fails.

use crate::serve::{Ready, ServerProcess, Tenant};
use crate::{Fallible, ws};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// Goals of the issue, printed beside the figures.
const MEMORY_GOAL_KIB: f64 = 8.0;

/// The p99 goal for `subscribers`, if the issue names one.
fn p99_goal_ms(subscribers: usize) -> Option<f64> {
    match subscribers {
        0 => None,
        1..=1_000 => Some(50.0),
        1_001..=10_000 => Some(250.0),
        _ => None,
    }
}

/// How long everything may take to arrive after the last check-in.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

const SUBSCRIPTION: &str = "subscription($k: ID!) { keyResultProgress(keyResultId: $k) { \
                            cursor at keyResultId value progress health checkIn { id value } } }";

const CHECK_IN: &str = "mutation($k: ID!, $v: Float!, $i: String!) { checkIn(input: { keyResultId: $k, \
                        value: $v, confidence: 0.7, note: \"live bench\", idempotencyKey: $i }) { checkIn { id } } }";

#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Subscriber counts; 0 is measured first in any case.
    pub sizes: Vec<usize>,
    /// Timed events per size (one more goes first, untimed).
    pub events: usize,
    /// Between check-ins: latency per event, not a burst's queueing.
    pub interval: Duration,
    /// Connections being opened at once.
    pub concurrency: usize,
}

/// The figures of one subscriber count.
#[derive(Debug)]
pub struct Figures {
    pub subscribers: usize,
    pub events: usize,
    /// Deliveries of timed events, in microseconds, sorted.
    latencies_us: Vec<i64>,
    /// Per timed event, in check-in order: the median over subscribers, ms.
    event_medians_ms: Vec<f64>,
    pub missing: u64,
    pub duplicates: u64,
    pub unexpected: u64,
    pub statements_per_event: f64,
    outbox_reads_per_event: f64,
    /// Events the server's hub routed during the timed check-ins.
    routed: u64,
    idle_kib_per_connection: Option<f64>,
    after_events_kib_per_connection: Option<f64>,
    /// Seconds to open and subscribe every connection.
    open_seconds: f64,
    check_in_median_ms: f64,
    /// Per timed event, in order: the check-in's HTTP round trip, ms.
    check_in_ms: Vec<f64>,
}

impl Figures {
    fn percentile_ms(&self, p: f64) -> Option<f64> {
        crate::report::percentile(&self.latencies_us, p).map(|us| us as f64 / 1000.0)
    }

    pub fn delivered(&self) -> usize {
        self.latencies_us.len()
    }

    /// Why the run fails, if it does: any event a subscriber missed, got
    /// twice or did not ask for, or no delivery at all.
    pub fn failure(&self) -> Option<String> {
        if self.missing + self.duplicates + self.unexpected > 0 {
            return Some(format!(
                "{} subscribers: {} deliveries missing, {} duplicated, {} unexpected",
                self.subscribers, self.missing, self.duplicates, self.unexpected
            ));
        }
        if self.subscribers > 0 && self.delivered() == 0 {
            return Some(format!("{} subscribers: nothing delivered", self.subscribers));
        }
        // A check-in moves its objective too: two events each.
        if self.routed < self.events as u64 {
            return Some(format!(
                "{} subscribers: the hub routed {} events for {} check-ins",
                self.subscribers, self.routed, self.events
            ));
        }
        None
    }
}

/// Runs every size, each on a fresh server process on `database_url`.
pub async fn run(
    database_url: &str,
    data_dir: &std::path::Path,
    options: &LiveOptions,
) -> Fallible<Vec<Figures>> {
    let mut sizes = vec![0];
    for &n in &options.sizes {
        if !sizes.contains(&n) {
            sizes.push(n);
        }
    }
    let mut figures = Vec::with_capacity(sizes.len());
    for n in sizes {
        let server = ServerProcess::spawn(database_url, data_dir, Tenant::Live).await?;
        let measured = measure(&server, n, options).await;
        server.stop().await;
        figures.push(measured.map_err(|e| format!("live, {n} subscribers: {e}"))?);
    }
    Ok(figures)
}

/// What the subscriber tasks tell the measuring task as they go.
#[derive(Default)]
struct Progress {
    subscribed: AtomicUsize,
    received: AtomicU64,
    error: Mutex<Option<String>>,
}

impl Progress {
    fn fail(&self, e: &str) {
        if let Ok(mut first) = self.error.lock() {
            first.get_or_insert_with(|| e.to_owned());
        }
    }

    fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }
}

/// What one subscriber received: the event's index (its value) and the
/// latency in microseconds.
type Received = Vec<(i64, i64)>;

async fn measure(server: &ServerProcess, n: usize, options: &LiveOptions) -> Fallible<Figures> {
    let ready = Arc::new(server.ready.clone());
    let http = reqwest::Client::new();
    let mut keys = 0_u64;
    let mut next_key = || {
        keys += 1;
        format!("live-{}-{keys}", ready.pid)
    };

    // Warm the server: its connection pool (subscribing opens it to the
    // full size, which is no per-connection cost) and the check-in path.
    let warm: Vec<_> = (0..32)
        .map(|_| {
            http.post(url(&ready, "/graphql"))
                .bearer_auth(&ready.token)
                .json(&json!({ "query": "{ viewer { name } }" }))
                .send()
        })
        .collect();
    for reply in futures_util::future::join_all(warm).await {
        reply.map_err(|e| format!("warm-up query: {e}"))?;
    }
    let routed_before = scrape(&http, &ready).await?.live_events;
    for value in [0.25, 0.5] {
        check_in(&http, &ready, value, &next_key()).await?;
    }
    // Both routed before anyone subscribes: no subscriber may see them.
    wait_for_metrics(&http, &ready, Duration::from_secs(10), |m| m.live_events >= routed_before + 2.0)
        .await?;

    let rss_before = server.rss_kib()?;
    let progress = Arc::new(Progress::default());
    let (stop, stopped) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut subscribers = JoinSet::new();
    let opening = Instant::now();
    for _ in 0..n {
        let (ready, permits, progress, stopped) =
            (ready.clone(), permits.clone(), progress.clone(), stopped.clone());
        subscribers.spawn(async move {
            let result = subscriber(&ready, &permits, &progress, stopped).await;
            if let Err(e) = &result {
                progress.fail(e);
            }
            result
        });
    }
    let expected_total = |events: usize| (n * events) as u64;
    let all_open = wait_progress(&progress, Duration::from_secs(60 + n as u64 / 50), || {
        progress.subscribed.load(Ordering::Relaxed) == n
    })
    .await?;
    if !all_open {
        return Err(format!(
            "only {} of {n} connections subscribed",
            progress.subscribed.load(Ordering::Relaxed)
        ));
    }
    // `subscribe` has no answer: the hub's count says the operations run.
    wait_for_metrics(&http, &ready, Duration::from_secs(60), |m| m.live_subscribers >= n as f64).await?;
    let open_seconds = opening.elapsed().as_secs_f64();
    let mut idle_kib_per_connection = None;
    if n > 0 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        idle_kib_per_connection = Some(server.rss_kib()?.saturating_sub(rss_before) as f64 / n as f64);
    }

    // Event 1 is the warm-up of the fan-out: delivered, not timed.
    check_in(&http, &ready, 1.0, &next_key()).await?;
    wait_progress(&progress, DELIVERY_TIMEOUT, || {
        progress.received.load(Ordering::Relaxed) >= expected_total(1)
    })
    .await?;

    let before = scrape(&http, &ready).await?;
    let mut tick = tokio::time::interval(options.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut check_in_times = Vec::with_capacity(options.events);
    for i in 0..options.events {
        tick.tick().await;
        let value = (i + 2) as f64;
        check_in_times.push(check_in(&http, &ready, value, &next_key()).await?);
    }
    let total = expected_total(options.events + 1);
    wait_progress(&progress, DELIVERY_TIMEOUT, || progress.received.load(Ordering::Relaxed) >= total).await?;
    let after = scrape(&http, &ready).await?;
    let after_events_kib_per_connection =
        if n > 0 { Some(server.rss_kib()?.saturating_sub(rss_before) as f64 / n as f64) } else { None };

    let _ = stop.send(true);
    let mut latencies_us = Vec::with_capacity(n * options.events);
    let mut per_event: Vec<Vec<i64>> = vec![Vec::with_capacity(n); options.events];
    let (mut missing, mut duplicates, mut unexpected) = (0_u64, 0_u64, 0_u64);
    let wanted: HashSet<i64> = (1..=(options.events as i64 + 1)).collect();
    while let Some(joined) = subscribers.join_next().await {
        let received = joined.map_err(|e| format!("a subscriber task failed: {e}"))??;
        let mut seen = HashSet::with_capacity(wanted.len());
        for (index, latency) in received {
            if !wanted.contains(&index) {
                unexpected += 1;
            } else if !seen.insert(index) {
                duplicates += 1;
            } else if index >= 2 {
                latencies_us.push(latency);
                if let Some(event) = usize::try_from(index - 2).ok().and_then(|i| per_event.get_mut(i)) {
                    event.push(latency);
                }
            }
        }
        missing += (wanted.len() - seen.len()) as u64;
    }
    latencies_us.sort_unstable();
    // One slow event for everyone (a late read) looks unlike a slow tail
    // of every event (the fan-out): the medians per event tell them apart.
    let event_medians_ms = per_event
        .iter_mut()
        .map(|l| {
            l.sort_unstable();
            l.get(l.len() / 2).map_or(f64::NAN, |us| *us as f64 / 1000.0)
        })
        .collect();
    let check_in_ms = check_in_times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    check_in_times.sort();
    let per_event = |a: f64, b: f64| (b - a) / options.events.max(1) as f64;
    Ok(Figures {
        subscribers: n,
        events: options.events,
        latencies_us,
        event_medians_ms,
        missing,
        duplicates,
        unexpected,
        statements_per_event: per_event(before.statements, after.statements),
        outbox_reads_per_event: per_event(before.outbox_reads, after.outbox_reads),
        routed: (after.live_events - before.live_events).max(0.0) as u64,
        idle_kib_per_connection,
        after_events_kib_per_connection,
        open_seconds,
        check_in_ms,
        check_in_median_ms: check_in_times
            .get(check_in_times.len() / 2)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    })
}

/// One subscriber: opens its connection (holding a permit meanwhile),
/// subscribes, and records every event until told to stop.
async fn subscriber(
    ready: &Ready,
    permits: &Semaphore,
    progress: &Progress,
    mut stop: watch::Receiver<bool>,
) -> Fallible<Received> {
    let permit = permits.acquire().await.map_err(|e| e.to_string())?;
    let key_result_id = key_result(ready)?;
    let mut ws = ws::connect(ready.addr, &ready.token).await?;
    ws::subscribe(&mut ws, "1", SUBSCRIPTION, json!({ "k": key_result_id })).await?;
    drop(permit);
    progress.subscribed.fetch_add(1, Ordering::Relaxed);
    let mut received = Received::new();
    loop {
        let text = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => return Ok(received),
            text = ws::next_text(&mut ws) => text?,
        };
        // The receive time first: parsing is the client's cost, not the
        // delivery's.
        let at_client = Utc::now();
        let message: Value =
            serde_json::from_str(text.as_str()).map_err(|e| format!("not JSON ({e}): {}", text.as_str()))?;
        if message["type"] != "next" || !message["payload"]["errors"].is_null() {
            return Err(format!("the subscription answered {message}"));
        }
        let event = &message["payload"]["data"]["keyResultProgress"];
        let at = event["at"]
            .as_str()
            .and_then(|a| DateTime::parse_from_rfc3339(a).ok())
            .ok_or_else(|| format!("an event without `at`: {message}"))?;
        let value = event["value"].as_f64().ok_or_else(|| format!("an event without `value`: {message}"))?;
        if event["keyResultId"] != key_result_id || event["checkIn"]["value"].as_f64() != Some(value) {
            return Err(format!("an event of another key result or check-in: {message}"));
        }
        // Values of the timed events are whole numbers; the warm-ups before
        // subscribing were not, and map to no index.
        let index = if value.fract() == 0.0 { value as i64 } else { -1 };
        let latency = (at_client - at.with_timezone(&Utc)).num_microseconds().unwrap_or(i64::MAX);
        received.push((index, latency));
        progress.received.fetch_add(1, Ordering::Relaxed);
    }
}

/// Waits until `done`, failing early when a subscriber failed; false when
/// `timeout` passed first.
async fn wait_progress(progress: &Progress, timeout: Duration, done: impl Fn() -> bool) -> Fallible<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(e) = progress.error() {
            return Err(e);
        }
        if done() {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The live tenant's key result, which its server names.
fn key_result(ready: &Ready) -> Fallible<&str> {
    ready.key_result_id.as_deref().ok_or_else(|| "the server named no key result".to_owned())
}

fn url(ready: &Ready, path: &str) -> String {
    format!("http://{}{path}", ready.addr)
}

/// One check-in over HTTP; returns its round trip.
async fn check_in(http: &reqwest::Client, ready: &Ready, value: f64, key: &str) -> Fallible<Duration> {
    let started = Instant::now();
    let reply: Value = http
        .post(url(ready, "/graphql"))
        .bearer_auth(&ready.token)
        .json(&json!({ "query": CHECK_IN, "variables": { "k": key_result(ready)?, "v": value, "i": key } }))
        .send()
        .await
        .map_err(|e| format!("checkIn: {e}"))?
        .json()
        .await
        .map_err(|e| format!("checkIn: {e}"))?;
    let elapsed = started.elapsed();
    if reply["data"]["checkIn"]["checkIn"]["id"].is_null() {
        return Err(format!("checkIn failed: {reply}"));
    }
    Ok(elapsed)
}

/// The server's counters this workload reads.
#[derive(Debug, Clone, Copy)]
struct Metrics {
    statements: f64,
    live_events: f64,
    outbox_reads: f64,
    live_subscribers: f64,
}

async fn scrape(http: &reqwest::Client, ready: &Ready) -> Fallible<Metrics> {
    let m = crate::serve::metrics(http, ready).await?;
    Ok(Metrics {
        statements: m.get("goalgraph_sql_statements_total")?,
        live_events: m.get("goalgraph_live_events_total")?,
        outbox_reads: m.get("goalgraph_live_outbox_reads_total")?,
        live_subscribers: m.get("goalgraph_live_subscribers")?,
    })
}

async fn wait_for_metrics(
    http: &reqwest::Client,
    ready: &Ready,
    timeout: Duration,
    done: impl Fn(&Metrics) -> bool,
) -> Fallible<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let m = scrape(http, ready).await?;
        if done(&m) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("the server's metrics did not get there within {timeout:?}: {m:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Prints the figures with the goals beside them.
pub fn print(database: &str, options: &LiveOptions, figures: &[Figures], per_event: bool) {
    println!(
        "live on {database}: keyResultProgress of one key result, {} timed check-ins {} ms apart per size \
         (latency = client receive time - event `at`, same clock)",
        options.events,
        options.interval.as_millis()
    );
    println!(
        "  {:>11} {:>10} {:>8} {:>8} {:>14} {:>8} {:>13} {:>10} {:>12} {:>10} {:>14} {:>11} {:>7} {:>9}",
        "subscribers",
        "delivered",
        "p50 ms",
        "p99 ms",
        "p99 goal",
        "max ms",
        "worst ev p50",
        "stmts/ev",
        "outbox rd/ev",
        "KiB/idle",
        "KiB/conn goal",
        "KiB/after ev",
        "open s",
        "check-in"
    );
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
    for f in figures {
        let p99 = f.percentile_ms(0.99);
        let p99_goal = match (p99_goal_ms(f.subscribers), p99) {
            (Some(goal), Some(p99)) => format!("≤ {goal:.0} {}", if p99 <= goal { "met" } else { "MISSED" }),
            (Some(goal), None) => format!("≤ {goal:.0}"),
            (None, _) => "-".to_owned(),
        };
        let memory_goal = match f.idle_kib_per_connection {
            Some(kib) => {
                format!("≤ {MEMORY_GOAL_KIB:.0} {}", if kib <= MEMORY_GOAL_KIB { "met" } else { "MISSED" })
            }
            None => "-".to_owned(),
        };
        println!(
            "  {:>11} {:>10} {:>8} {:>8} {:>14} {:>8} {:>13} {:>10.2} {:>12.2} {:>10} {:>14} {:>11} {:>7.1} {:>6.1} ms",
            f.subscribers,
            f.delivered(),
            ms(f.percentile_ms(0.50)),
            ms(p99),
            p99_goal,
            ms(f.percentile_ms(1.0)),
            ms(f.event_medians_ms.iter().copied().filter(|m| !m.is_nan()).reduce(f64::max)),
            f.statements_per_event,
            f.outbox_reads_per_event,
            ms(f.idle_kib_per_connection),
            memory_goal,
            ms(f.after_events_kib_per_connection),
            f.open_seconds,
            f.check_in_median_ms,
        );
    }
    if per_event {
        for f in figures.iter().filter(|f| f.subscribers > 0) {
            let medians: Vec<String> = f.event_medians_ms.iter().map(|m| format!("{m:.0}")).collect();
            println!("  {} subscribers, median ms per event: {}", f.subscribers, medians.join(" "));
            let round_trips: Vec<String> = f.check_in_ms.iter().map(|m| format!("{m:.0}")).collect();
            println!("  {} subscribers, check-in ms per event: {}", f.subscribers, round_trips.join(" "));
        }
    }
}
