//! KPIs end to end, as the HR person of a tenant: measurements move a key
//! result that follows the KPI and its objective; a KPI out of range for
//! more than 60 days calls for an objective until one is created from it.

use chrono::{Duration, Utc};
use goalgraph_e2e::{create_org, start};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const NEEDS: &str = "query($p: ID!) { insights(periodId: $p) { kind kpis { name } } }";

fn kpi_needs_objective(insights: &Value) -> Vec<String> {
    insights["insights"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|i| i["kind"] == "KPI_NEEDS_OBJECTIVE")
                .flat_map(|i| i["kpis"].as_array().cloned().unwrap_or_default())
                .filter_map(|k| k["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub async fn measurements_drive_linked_goals_and_insights(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let hr = server.token(&acme, &acme.hr);
    let company = server.company_unit_id(&hr).await;
    let hr_id = server.gql_ok(&hr, "{ viewer { id } }", json!({})).await["viewer"]["id"].clone();
    let today = Utc::now().date_naive();
    let period = server
        .gql_ok(
            &hr,
            "mutation($s: Date!, $e: Date!) { createPeriod(input: { name: \"Now\", startDate: $s, endDate: $e }) { period { id } } }",
            json!({ "s": (today - Duration::days(30)).to_string(), "e": (today + Duration::days(60)).to_string() }),
        )
        .await["createPeriod"]["period"]["id"]
        .clone();
    server
        .gql_ok(
            &hr,
            "mutation($p: ID!) { transitionPeriod(input: { id: $p, status: ACTIVE }) { period { id } } }",
            json!({ "p": period }),
        )
        .await;
    // Absenteeism: LOWER_IS_BETTER, healthy at or below 3 %.
    let kpi = server
        .gql_ok(
            &hr,
            "mutation($u: ID!, $o: ID!) { createKpi(input: { unitId: $u, ownerId: $o, name: \"Absenteeism\", \
             category: PEOPLE, direction: LOWER_IS_BETTER, healthyUpper: 3, toleranceAbsolute: 0.5, cadence: WEEKLY }) \
             { kpi { id status } } }",
            json!({ "u": company, "o": hr_id }),
        )
        .await["createKpi"]["kpi"]
        .clone();
    assert_eq!(kpi["status"], "NO_DATA");
    let kpi_id = kpi["id"].clone();

    // Weekly points back to day 56, and one at day 59, all at 5 % (out of
    // range): the breach began 59 days ago, within the 60-day window.
    let now = Utc::now();
    let mut days: Vec<i64> = (0..=8).map(|w| 7 * w).collect();
    days.push(59);
    let points: Vec<Value> = days
        .iter()
        .map(|d| json!({ "observedAt": (now - Duration::days(*d)).to_rfc3339(), "value": 5.0 }))
        .collect();
    let recorded = server
        .gql_ok(
            &hr,
            "mutation($k: ID!, $p: [MeasurementPointInput!]!) { recordKpiMeasurements(input: { kpiId: $k, points: $p, \
             idempotencyKey: \"week-import\" }) { written kpi { status breachedSince } } }",
            json!({ "k": kpi_id, "p": points }),
        )
        .await;
    assert_eq!(recorded["recordKpiMeasurements"]["written"], 10);
    assert_eq!(recorded["recordKpiMeasurements"]["kpi"]["status"], "BREACHED");
    let insights = server.gql_ok(&hr, NEEDS, json!({ "p": period })).await;
    assert!(kpi_needs_objective(&insights).is_empty(), "59 days is within the window: {insights}");

    // A backfilled point 61 days ago extends the run: now it calls for an objective.
    let backfill = json!([{ "observedAt": (now - Duration::days(61)).to_rfc3339(), "value": 5.2 }]);
    server
        .gql_ok(
            &hr,
            "mutation($k: ID!, $p: [MeasurementPointInput!]!) { recordKpiMeasurements(input: { kpiId: $k, points: $p }) { written } }",
            json!({ "k": kpi_id, "p": backfill }),
        )
        .await;
    let insights = server.gql_ok(&hr, NEEDS, json!({ "p": period })).await;
    assert_eq!(kpi_needs_objective(&insights), vec!["Absenteeism"], "{insights}");

    // An objective created from the KPI: the insight goes away.
    let created = server
        .gql_ok(
            &hr,
            "mutation($k: ID!, $p: ID!) { createObjectiveFromKpi(input: { kpiId: $k, periodId: $p, target: 2 }) \
             { objective { id status progress } keyResult { id title start target current progress } } }",
            json!({ "k": kpi_id, "p": period }),
        )
        .await;
    let kr = &created["createObjectiveFromKpi"]["keyResult"];
    assert_eq!(kr["title"], "Move Absenteeism from 5 to 2");
    assert_eq!(
        (kr["start"].as_f64(), kr["current"].as_f64(), kr["progress"].as_f64()),
        (Some(5.0), Some(5.0), Some(0.0))
    );
    let objective_id = created["createObjectiveFromKpi"]["objective"]["id"].clone();
    assert_eq!(created["createObjectiveFromKpi"]["objective"]["status"], "DRAFT");
    let insights = server.gql_ok(&hr, NEEDS, json!({ "p": period })).await;
    assert!(kpi_needs_objective(&insights).is_empty(), "{insights}");

    // A new measurement moves the linked key result and its objective:
    // DECREASE from 5 to 2 at 3.5 is (3.5 - 5) / (2 - 5) = 0.5.
    let moved = server
        .gql_ok(
            &hr,
            "mutation($k: ID!, $t: DateTime!) { recordKpiMeasurement(input: { kpiId: $k, observedAt: $t, value: 3.5 }) \
             { kpi { current linkedKeyResults { current progress } objectives { id progress } } } }",
            json!({ "k": kpi_id, "t": Utc::now().to_rfc3339() }),
        )
        .await;
    let k = &moved["recordKpiMeasurement"]["kpi"];
    assert_eq!(k["current"].as_f64(), Some(3.5));
    assert_eq!(k["linkedKeyResults"][0]["progress"].as_f64(), Some(0.5));
    assert_eq!(k["objectives"][0]["id"], objective_id);
    assert_eq!(k["objectives"][0]["progress"].as_f64(), Some(0.5));

    // The same ingestion from a partner system, with an integration key:
    // DECREASE from 5 to 2 at 2 is done, 1.0.
    let admin = server.token(&acme, &acme.admin);
    let created = server
        .gql_ok(
            &admin,
            "mutation { createIntegration(input: { name: \"HRIS\", scopes: [KPI_WRITE] }) { apiKey } }",
            json!({}),
        )
        .await;
    let key = created["createIntegration"]["apiKey"].as_str().unwrap_or_default().to_owned();
    let fed = server
        .gql_ok(
            &key,
            "mutation($k: ID!, $p: [MeasurementPointInput!]!) { recordKpiMeasurements(input: { kpiId: $k, points: $p }) \
             { written kpi { linkedKeyResults { progress } } } }",
            json!({ "k": kpi_id, "p": [{ "observedAt": Utc::now().to_rfc3339(), "value": 2.0 }] }),
        )
        .await;
    assert_eq!(fed["recordKpiMeasurements"]["written"], 1);
    // The key writes measurements but reads no goals (no okr:read) …
    assert_eq!(fed["recordKpiMeasurements"]["kpi"]["linkedKeyResults"], json!([]));
    // … while HR sees the linked key result done.
    let after = server
        .gql_ok(
            &hr,
            "query($k: ID!) { node(id: $k) { ... on Kpi { linkedKeyResults { progress } } } }",
            json!({ "k": kpi_id }),
        )
        .await;
    assert_eq!(after["node"]["linkedKeyResults"][0]["progress"].as_f64(), Some(1.0));

    // A PEOPLE KPI: the MEMBER of the company unit cannot see it at all,
    // exactly like a missing one (positive control: HR sees it above).
    let member = server.token(&acme, &acme.member);
    let seen = server
        .gql_ok(&member, "query($k: ID!) { node(id: $k) { id } kpis { totalCount } }", json!({ "k": kpi_id }))
        .await;
    assert_eq!(seen["node"], Value::Null);
    assert_eq!(seen["kpis"]["totalCount"], 0);
    server.stop().await;
}
