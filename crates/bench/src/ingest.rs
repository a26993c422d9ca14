//! The `ingest` workload: one `recordKpiMeasurements` request of N points,
//! a fresh KPI per run, against a server started in this process.

use crate::Fallible;
use crate::report::Report;
use goalgraph_api::ids::{NodeType, encode_id};
use goalgraph_domain::model::RoleSet;
use goalgraph_persistence::NewOrganization;
use goalgraph_server::{Config, RunningServer};
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// Starts a server on `database_url`, seeds a tenant and runs the workload.
pub async fn run(database_url: &str, data_dir: &Path, points: usize, runs: usize) -> Fallible<Report> {
    let config = Config {
        data_dir: data_dir.to_owned(),
        database_url: Some(secrecy::SecretString::from(database_url.to_owned())),
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
    let report = ingest(&server, &token, &unit, &owner, points, runs).await;
    server.stop().await.map_err(|e| e.to_string())?;
    report
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
