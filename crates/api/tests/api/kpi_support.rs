//! Helpers of the KPI tests: KPIs and measurements written through the API
//! as a given person, and readers of their answers.

use crate::support::Session;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

pub const CREATE_KPI: &str = "mutation($input: CreateKpiInput!) {
    createKpi(input: $input) { kpi { id name version } } }";
pub const RECORD_ONE: &str = "mutation($input: RecordKpiMeasurementInput!) {
    recordKpiMeasurement(input: $input) { written replayed kpi { id name } } }";
pub const RECORD_MANY: &str = "mutation($input: RecordKpiMeasurementsInput!) {
    recordKpiMeasurements(input: $input) { written replayed kpi { id name } } }";

/// The input of a KPI of `unit` owned by `owner`: HIGHER_IS_BETTER,
/// healthy at >= 90, no tolerance, DAILY; `extra` overrides any field.
pub fn kpi_input(unit: &str, owner: &str, name: &str, extra: Value) -> Value {
    let mut input = json!({
        "unitId": unit,
        "ownerId": owner,
        "name": name,
        "category": "OPERATIONAL",
        "unitLabel": "%",
        "direction": "HIGHER_IS_BETTER",
        "healthyLower": 90.0,
        "cadence": "DAILY",
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        input[k] = v;
    }
    input
}

/// `createKpi(input)` as `s`, which must succeed; the new id.
pub async fn create_kpi(s: &Session, input: Value) -> String {
    let data = s.ok(CREATE_KPI, json!({ "input": input })).await;
    data["createKpi"]["kpi"]["id"].as_str().expect("KPI id").to_owned()
}

/// An RFC 3339 time as a client sends it.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Points as `MeasurementPointInput`s.
pub fn points_json(points: &[(DateTime<Utc>, f64)]) -> Value {
    Value::Array(points.iter().map(|(t, v)| json!({ "observedAt": rfc3339(*t), "value": v })).collect())
}

/// `recordKpiMeasurements` of `points` on `kpi` as `s`, which must
/// succeed; how many points were written.
pub async fn record(s: &Session, kpi: &str, points: &[(DateTime<Utc>, f64)]) -> u64 {
    let data = s.ok(RECORD_MANY, json!({ "input": { "kpiId": kpi, "points": points_json(points) } })).await;
    data["recordKpiMeasurements"]["written"].as_u64().expect("written")
}

/// A time the API answered, parsed.
#[track_caller]
pub fn time(v: &Value) -> DateTime<Utc> {
    let s = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}")).with_timezone(&Utc)
}

/// The `edges[].node.name`s of a connection, sorted.
pub fn sorted_names(conn: &Value) -> Vec<String> {
    let mut names = crate::support::edge_names(conn);
    names.sort();
    names
}
