//! `export`: the CSV export's memory. For each size the bench seeds a fresh
//! database itself, then starts a server process that did not seed it (so
//! its memory holds only what it serves), runs one small report to warm
//! it, resets its peak resident memory and downloads the whole
//! organization's report by owner and unit, every measure, reading the
//! body as it comes. The figure is the server's peak resident memory
//! during the export; the goal compares the largest size with the
//! smallest (within 1.2×).

use crate::Fallible;
use crate::db;
use crate::serve::{ServerProcess, Tenant};
use std::time::Instant;

/// The peak at the largest size over the peak at the smallest.
pub const GOAL_RATIO: f64 = 1.2;

pub struct ExportOptions {
    pub sizes: Vec<u32>,
    pub seed: u64,
}

pub struct ExportRow {
    pub people: u32,
    pub records: u64,
    pub bytes: u64,
    pub ms: f64,
    /// Resident memory when the download starts, and the peak during it.
    pub rss_kib: u64,
    pub peak_kib: u64,
}

/// Every measure, by owner and unit: one row per owner and unit.
fn definition() -> serde_json::Value {
    serde_json::json!({
        "measures": ["OBJECTIVE_COUNT", "AVERAGE_PROGRESS", "AVERAGE_SCORE", "SHARE_ON_TRACK", "SHARE_AT_RISK",
                     "SHARE_OFF_TRACK", "KEY_RESULT_COUNT", "SHARE_STALE_KEY_RESULTS", "CHECK_INS_PER_KEY_RESULT",
                     "KPI_COUNT", "KPI_SHARE_HEALTHY", "KPI_SHARE_AT_RISK", "KPI_SHARE_BREACHED", "KPI_DAYS_IN_BREACH"],
        "dimensions": ["OWNER", "UNIT"],
    })
}

/// What a download read: bytes, lines, and the last line (the totals).
struct Downloaded {
    bytes: u64,
    lines: u64,
    last: String,
}

async fn download(
    http: &reqwest::Client,
    server: &ServerProcess,
    input: &serde_json::Value,
) -> Fallible<Downloaded> {
    let url = format!("http://{}/reports/export", server.ready.addr);
    let res = http
        .get(url)
        .bearer_auth(&server.ready.token)
        .query(&[("format", "csv".to_owned()), ("input", input.to_string())])
        .send()
        .await
        .map_err(|e| format!("export: {e}"))?;
    if !res.status().is_success() {
        let status = res.status();
        return Err(format!("export: {status}: {}", res.text().await.unwrap_or_default()));
    }
    let (mut bytes, mut lines) = (0_u64, 0_u64);
    // The tail of the body, enough to hold the last line.
    let mut tail: Vec<u8> = Vec::new();
    let mut res = res;
    while let Some(chunk) = res.chunk().await.map_err(|e| format!("export body: {e}"))? {
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        tail.extend_from_slice(&chunk);
        if tail.len() > 8192 {
            tail.drain(..tail.len() - 4096);
        }
    }
    let text = String::from_utf8_lossy(&tail);
    let last = text.trim_end().rsplit('\n').next().unwrap_or_default().to_owned();
    Ok(Downloaded { bytes, lines, last })
}

/// The export agrees with `report` over GraphQL: as many records as rows,
/// and the same totals.
async fn check(
    http: &reqwest::Client,
    server: &ServerProcess,
    input: &serde_json::Value,
    got: &Downloaded,
) -> Fallible<()> {
    let body = serde_json::json!({
        "query": "query($r: ReportInput!) { report(input: $r) { totals rows { values } } }",
        "variables": { "r": input },
    });
    let res = http
        .post(format!("http://{}/graphql", server.ready.addr))
        .bearer_auth(&server.ready.token)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("report: {e}"))?;
    let json: serde_json::Value = res.json().await.map_err(|e| format!("report: {e}"))?;
    let report = &json["data"]["report"];
    let rows = report["rows"].as_array().ok_or_else(|| format!("report: {json}"))?.len() as u64;
    if got.lines != rows + 2 {
        return Err(format!("export: {} lines for {rows} rows (and a header and the totals)", got.lines));
    }
    let cells: Vec<&str> = got.last.split(',').collect();
    let totals = report["totals"].as_array().ok_or_else(|| format!("report: {json}"))?;
    if cells.first() != Some(&"TOTAL") || cells.len() < totals.len() {
        return Err(format!("export: the last line is not the totals: {}", got.last));
    }
    let last = totals.len().saturating_sub(1);
    for (i, (cell, total)) in cells[cells.len() - totals.len()..].iter().zip(totals).enumerate() {
        // Days in breach (the last measure) grow by the seconds between
        // the two requests.
        let tolerance = if i == last { 0.01 } else { 1e-9 };
        let same = match (cell.parse::<f64>().ok(), total.as_f64()) {
            (None, None) => cell.is_empty(),
            (Some(a), Some(b)) => (a - b).abs() <= tolerance * b.abs().max(1.0),
            _ => false,
        };
        if !same {
            return Err(format!("export: totals {} against the report's {totals:?}", got.last));
        }
    }
    Ok(())
}

pub async fn run(server_url: Option<&str>, options: &ExportOptions) -> Fallible<Vec<ExportRow>> {
    let mut rows = Vec::new();
    for &people in &options.sizes {
        let db = db::bench_db(server_url).await?;
        let result = async {
            eprintln!("export: seeding {people} people in the bench process …");
            crate::dataset::seed_database(&db.url, people, options.seed).await?;
            let data_dir = db.dir.path().join("server");
            let server = ServerProcess::spawn(&db.url, &data_dir, Tenant::Existing).await?;
            let http = reqwest::Client::new();
            let measured = async {
                download(&http, &server, &serde_json::json!({ "measures": ["OBJECTIVE_COUNT"] })).await?;
                server.reset_peak()?;
                let rss_kib = server.rss_kib()?;
                let started = Instant::now();
                let got = download(&http, &server, &definition()).await?;
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                let peak_kib = server.peak_kib()?;
                check(&http, &server, &definition(), &got).await?;
                let Downloaded { bytes, lines, .. } = got;
                // The header and the totals are not rows.
                Ok::<_, String>(ExportRow {
                    people,
                    records: lines.saturating_sub(2),
                    bytes,
                    ms,
                    rss_kib,
                    peak_kib,
                })
            }
            .await;
            server.stop().await;
            measured
        }
        .await;
        db::drop_db(&db).await;
        rows.push(result?);
    }
    Ok(rows)
}

/// The peak at the largest size over the peak at the smallest.
pub fn ratio(rows: &[ExportRow]) -> Option<f64> {
    let (first, last) = (rows.first()?, rows.last()?);
    (first.peak_kib > 0).then(|| last.peak_kib as f64 / first.peak_kib as f64)
}

pub fn print(database: &str, rows: &[ExportRow]) {
    println!("\nexport ({database}): GET /reports/export?format=csv, every measure by owner and unit");
    println!(
        "{:>8} {:>9} {:>11} {:>10} {:>12} {:>12}",
        "people", "records", "bytes", "ms", "rss KiB", "peak KiB"
    );
    for r in rows {
        println!(
            "{:>8} {:>9} {:>11} {:>10.1} {:>12} {:>12}",
            r.people, r.records, r.bytes, r.ms, r.rss_kib, r.peak_kib
        );
    }
    if let Some(x) = ratio(rows) {
        let verdict = if x <= GOAL_RATIO { "met" } else { "missed" };
        println!("peak at the largest size / at the smallest: {x:.3} (goal ≤ {GOAL_RATIO}: {verdict})");
    }
}

/// Why a smoke run fails: an export without rows.
pub fn failure(rows: &[ExportRow]) -> Option<String> {
    rows.iter().find(|r| r.records == 0).map(|r| format!("export: no rows at {} people", r.people))
}
