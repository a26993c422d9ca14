//! Helpers of the OKR tests: objectives, key results and check-ins written
//! through the API as a given person, and readers of their answers.

use crate::support::Session;
use chrono::{Duration, NaiveDate, Utc};
use goalgraph_api::ids::{NodeType, encode_id};
use serde_json::{Value, json};

pub const CREATE_OBJECTIVE: &str = "mutation($input: CreateObjectiveInput!) {
    createObjective(input: $input) { objective { id title version status } } }";
pub const CREATE_KEY_RESULT: &str = "mutation($input: CreateKeyResultInput!) {
    createKeyResult(input: $input) { keyResult { id title version } } }";
pub const CHECK_IN: &str = "mutation($input: CheckInInputObject!) {
    checkIn(input: $input) { checkIn { id value } keyResult { id current version } } }";
pub const TRANSITION_PERIOD: &str = "mutation($input: TransitionPeriodInput!) {
    transitionPeriod(input: $input) { period { status } } }";

/// `createObjective(input)` as `s`, which must succeed; the new id.
pub async fn create_objective(s: &Session, input: Value) -> String {
    let data = s.ok(CREATE_OBJECTIVE, json!({ "input": input })).await;
    data["createObjective"]["objective"]["id"].as_str().expect("objective id").to_owned()
}

/// `createKeyResult(input)` as `s`, which must succeed; the new id.
pub async fn create_key_result(s: &Session, input: Value) -> String {
    let data = s.ok(CREATE_KEY_RESULT, json!({ "input": input })).await;
    data["createKeyResult"]["keyResult"]["id"].as_str().expect("key result id").to_owned()
}

/// `checkIn` of `value` (and `confidence`) as `s`, which must succeed; the
/// new check-in's id.
pub async fn check_in(s: &Session, key_result: &str, value: f64, confidence: Option<f64>) -> String {
    let data = s
        .ok(
            CHECK_IN,
            json!({ "input": { "keyResultId": key_result, "value": value, "confidence": confidence } }),
        )
        .await;
    data["checkIn"]["checkIn"]["id"].as_str().expect("check-in id").to_owned()
}

/// Moves a period forward as `admin`.
pub async fn set_period_status(admin: &Session, period: &str, status: &str) {
    let data = admin.ok(TRANSITION_PERIOD, json!({ "input": { "id": period, "status": status } })).await;
    assert_eq!(data["transitionPeriod"]["period"]["status"], status);
}

/// The `title`s of a list of objects, in order.
pub fn titles(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list:#}"))
        .iter()
        .map(|o| o["title"].as_str().unwrap_or_else(|| panic!("no title in {o}")).to_owned())
        .collect()
}

/// The `edges[].node.title`s of a connection, in order.
pub fn edge_titles(conn: &Value) -> Vec<String> {
    conn["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("not a connection: {conn:#}"))
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap_or_else(|| panic!("no title in {e}")).to_owned())
        .collect()
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

pub fn sorted_strings(items: &[&str]) -> Vec<String> {
    let mut v = strings(items);
    v.sort();
    v
}

/// A well-formed global id of type `node` that names nothing.
pub fn random_id(node: NodeType) -> String {
    encode_id(node, uuid::Uuid::now_v7()).to_string()
}

/// Asserts `|got - want| <= tolerance`.
#[track_caller]
pub fn assert_close(got: &Value, want: f64, tolerance: f64, what: &str) {
    let g = got.as_f64().unwrap_or_else(|| panic!("{what}: not a number: {got}"));
    assert!((g - want).abs() <= tolerance, "{what}: got {g}, want {want} ± {tolerance}");
}

/// A period from `days` days ago to `days` days from now: its first day is
/// today − days and its (inclusive) last day today + days − 1, so it spans
/// from midnight `days` days ago to midnight `days` days ahead (UTC, the
/// organization's time zone).
pub fn period_around_today(days: i64) -> (NaiveDate, NaiveDate) {
    let today = Utc::now().date_naive();
    (today - Duration::days(days), today + Duration::days(days - 1))
}

/// A key result of `measure` from `start` to `target` with `weight`, as
/// `admin`; its id.
#[allow(clippy::too_many_arguments)]
pub async fn key_result(
    admin: &Session,
    objective: &str,
    owner: &str,
    title: &str,
    measure: &str,
    start: f64,
    target: f64,
    weight: f64,
) -> String {
    create_key_result(
        admin,
        json!({ "objectiveId": objective, "ownerId": owner, "title": title, "measure": measure,
                "start": start, "target": target, "weight": weight }),
    )
    .await
}
