//! `report` on a small hand-built fixture whose every row is computed by
//! hand from the product brief, as the admin, a member who owns the
//! private objective, a member who does not, and a viewer; the errors name
//! their field; another tenant counts nothing of it.
//!
//! The fixture (tenant A, period Winter 2026, which has ended: expected
//! progress is 1 for INCREASE, a MILESTONE not done is OFF_TRACK):
//! ```text
//! O1 Grow            company, PUBLIC, COMMITTED  KR1 0→100 at 95: 0.95 ON_TRACK
//! O2 Ship            Engineering, PUBLIC, ASPIRATIONAL, aligned to O1
//!                    KR2 0→10 at 8: 0.8 AT_RISK (gap 0.2); KR3 milestone, not done: 0 OFF_TRACK
//!                    progress 0.4, health OFF_TRACK (the worst)
//! O3 Learn           Mia Member (Platform), PRIVATE, COMMITTED  KR4 0→4 at 2: 0.5 OFF_TRACK
//! O4 Plan            Sales, PUBLIC, DRAFT, no key results: progress 0, no health
//! KPI Uptime         Platform, OPERATIONAL, healthy ≥ 90, 95 an hour ago: HEALTHY
//! KPI Attrition      Sales, PEOPLE, healthy ≥ 90, 80 three days ago and an hour ago:
//!                    BREACHED, out of range for 3 days
//! ```

use crate::kpi_support::{create_kpi, kpi_input, record};
use crate::okr_support::{check_in, create_key_result, create_objective};
use crate::support::{Session, World, expect_error};
use chrono::{Duration, DurationRound, Utc};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const REPORT: &str = "query($input: ReportInput!) { report(input: $input) {
    measures dimensions totals
    rows { values dimensions { dimension key label unit { name } person { name } } } } }";

/// The rows as (labels of the dimensions, values), sorted by labels.
fn rows(data: &Value) -> Vec<(Vec<String>, Vec<Value>)> {
    let mut out: Vec<(Vec<String>, Vec<Value>)> = data["report"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let labels = r["dimensions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["label"].as_str().unwrap_or("-").to_owned())
                .collect();
            (labels, r["values"].as_array().unwrap().clone())
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn close(got: &[Value], want: &[Option<f64>], tolerance: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?}");
    for (g, w) in got.iter().zip(want) {
        match w {
            None => assert!(g.is_null(), "{what}: {got:?} vs {want:?}"),
            Some(w) => {
                let g = g.as_f64().unwrap_or_else(|| panic!("{what}: {got:?} vs {want:?}"));
                assert!((g - w).abs() <= tolerance, "{what}: {got:?} vs {want:?}");
            }
        }
    }
}

const REPORT_AT: &str = "query($input: ReportInput!, $at: DateTime!) { report(input: $input, asOf: $at) {
    asOf totals rows { values dimensions { label } } } }";

async fn s_report_at(s: &Session, input: Value, at: &str) -> Value {
    s.ok(REPORT_AT, json!({ "input": input, "at": at })).await
}

async fn report(s: &Session, input: Value) -> Value {
    s.ok(REPORT, json!({ "input": input })).await
}

pub async fn reports_count_by_hand_and_by_visibility(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let winter = ids.period("Winter 2026");
    let mia_id = ids.person("Mia Member");
    let ada_id = ids.person("Ada Admin");
    let mia = w.a.session(&w.store, "Mia Member").await;
    // Before any check-in or measurement of the fixture.
    let before = Utc::now();

    let objective = |owner: (&str, &str), title: &str, extra: Value| {
        let mut input = json!({ "periodId": winter, owner.0: owner.1, "title": title, "status": "ACTIVE" });
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        input
    };
    let kr = |objective: &str, owner: &str, title: &str, measure: &str, target: f64| {
        json!({ "objectiveId": objective, "ownerId": owner, "title": title, "measure": measure,
                "start": 0.0, "target": target })
    };
    let company = ids.unit("Alpha Corp");
    let o1 = create_objective(&admin, objective(("ownerUnitId", &company), "Grow", json!({}))).await;
    let k1 = create_key_result(&admin, kr(&o1, &ada_id, "Revenue", "INCREASE", 100.0)).await;
    check_in(&admin, &k1, 95.0, None).await;
    let o2 = create_objective(
        &admin,
        objective(
            ("ownerUnitId", &ids.unit("Engineering")),
            "Ship",
            json!({ "kind": "ASPIRATIONAL", "parentObjectiveId": o1 }),
        ),
    )
    .await;
    let k2 = create_key_result(&admin, kr(&o2, &ada_id, "Releases", "INCREASE", 10.0)).await;
    check_in(&admin, &k2, 8.0, None).await;
    create_key_result(&admin, kr(&o2, &ada_id, "Launch", "MILESTONE", 1.0)).await;
    let o3 = create_objective(
        &mia,
        objective(("ownerPersonId", &mia_id), "Learn", json!({ "visibility": "PRIVATE" })),
    )
    .await;
    let k4 = create_key_result(&mia, kr(&o3, &mia_id, "Courses", "INCREASE", 4.0)).await;
    check_in(&mia, &k4, 2.0, None).await;
    let mut draft = objective(("ownerUnitId", &ids.unit("Sales")), "Plan", json!({}));
    draft["status"] = json!("DRAFT");
    create_objective(&admin, draft).await;

    let hour = Utc::now().duration_trunc(Duration::hours(1)).unwrap();
    let uptime = create_kpi(&admin, kpi_input(&ids.unit("Platform"), &mia_id, "Uptime", json!({}))).await;
    record(&admin, &uptime, &[(hour - Duration::hours(1), 95.0)]).await;
    let attrition = create_kpi(
        &admin,
        kpi_input(
            &ids.unit("Sales"),
            &ids.person("Sam Seller"),
            "Attrition",
            json!({ "category": "PEOPLE" }),
        ),
    )
    .await;
    let three_days = hour - Duration::days(3);
    record(&admin, &attrition, &[(three_days, 80.0), (hour - Duration::hours(1), 80.0)]).await;

    // By level: measures of the OKR family.
    let by_level = json!({
        "measures": ["OBJECTIVE_COUNT", "AVERAGE_PROGRESS", "SHARE_ON_TRACK", "SHARE_OFF_TRACK",
                     "KEY_RESULT_COUNT", "CHECK_INS_PER_KEY_RESULT", "SHARE_STALE_KEY_RESULTS", "AVERAGE_SCORE"],
        "dimensions": ["LEVEL"],
    });
    let data = report(&admin, by_level.clone()).await;
    let r = rows(&data);
    let labels: Vec<&str> = r.iter().map(|(l, _)| l[0].as_str()).collect();
    assert_eq!(labels, ["COMPANY", "PERSON", "UNIT"]);
    let eps = 1e-9;
    // COMPANY: O1.
    close(
        &r[0].1,
        &[Some(1.0), Some(0.95), Some(1.0), Some(0.0), Some(1.0), Some(1.0), Some(0.0), None],
        eps,
        "COMPANY",
    );
    // PERSON: O3.
    close(
        &r[1].1,
        &[Some(1.0), Some(0.5), Some(0.0), Some(1.0), Some(1.0), Some(1.0), Some(0.0), None],
        eps,
        "PERSON",
    );
    // UNIT: O2 and O4; only O2 has a health.
    close(
        &r[2].1,
        &[Some(2.0), Some(0.2), Some(0.0), Some(1.0), Some(2.0), Some(0.5), Some(0.0), None],
        eps,
        "UNIT",
    );
    let totals = data["report"]["totals"].as_array().unwrap().clone();
    close(
        &totals,
        &[Some(4.0), Some(0.4625), Some(1.0 / 3.0), Some(2.0 / 3.0), Some(4.0), Some(0.75), Some(0.0), None],
        eps,
        "totals",
    );

    // As of before the first check-in: every key result at its start (0),
    // so every objective at 0 and OFF_TRACK (the period has ended); no
    // check-ins yet; no KPI point known: none healthy or breached.
    let then = s_report_at(&admin, by_level.clone(), &before.to_rfc3339()).await;
    let r = rows(&then);
    assert_eq!(r.iter().map(|(l, _)| l[0].as_str()).collect::<Vec<_>>(), ["COMPANY", "PERSON", "UNIT"]);
    close(
        &r[0].1,
        &[Some(1.0), Some(0.0), Some(0.0), Some(1.0), Some(1.0), Some(0.0), Some(0.0), None],
        eps,
        "COMPANY then",
    );
    close(
        &r[1].1,
        &[Some(1.0), Some(0.0), Some(0.0), Some(1.0), Some(1.0), Some(0.0), Some(0.0), None],
        eps,
        "PERSON then",
    );
    close(
        &r[2].1,
        &[Some(2.0), Some(0.0), Some(0.0), Some(1.0), Some(2.0), Some(0.0), Some(0.0), None],
        eps,
        "UNIT then",
    );
    assert_eq!(
        then["report"]["asOf"].as_str().map(|t| t.parse::<chrono::DateTime<Utc>>().unwrap()),
        Some(before)
    );
    let kpis_then = s_report_at(
        &admin,
        json!({ "measures": ["KPI_COUNT", "KPI_SHARE_HEALTHY", "KPI_SHARE_BREACHED", "KPI_DAYS_IN_BREACH"] }),
        &before.to_rfc3339(),
    )
    .await;
    assert_eq!(kpis_then["report"]["totals"], json!([2.0, 0.0, 0.0, null]), "{kpis_then}");
    // As of now: the same as without asOf (a positive control).
    let now_report = s_report_at(&admin, by_level.clone(), &Utc::now().to_rfc3339()).await;
    close(
        now_report["report"]["totals"].as_array().unwrap(),
        &[Some(4.0), Some(0.4625), Some(1.0 / 3.0), Some(2.0 / 3.0), Some(4.0), Some(0.75), Some(0.0), None],
        eps,
        "now",
    );
    let future = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let bad = admin.gql(REPORT_AT, json!({ "input": by_level, "at": future })).await;
    expect_error(&bad, "BAD_USER_INPUT", Some("asOf"));

    // Visibility: Mia owns O3 and counts it; Olga (another team's member)
    // and Vic (a viewer) do not, and differ from the admin by exactly O3.
    let count_of = |data: &Value| data["report"]["totals"][0].as_f64().unwrap();
    assert_eq!(count_of(&report(&mia, by_level.clone()).await), 4.0);
    for name in ["Olga Other", "Vic Viewer"] {
        let s = w.a.session(&w.store, name).await;
        let data = report(&s, by_level.clone()).await;
        assert_eq!(count_of(&data), 3.0, "{name}");
        let labels: Vec<String> = rows(&data).into_iter().map(|(l, _)| l[0].clone()).collect();
        assert_eq!(labels, ["COMPANY", "UNIT"], "{name}: no PERSON row");
    }

    // KPIs rolled up to the company's children; days in breach: 3 (the
    // run began with the point three days ago).
    let kpis = json!({
        "measures": ["KPI_COUNT", "KPI_SHARE_HEALTHY", "KPI_SHARE_BREACHED", "KPI_DAYS_IN_BREACH"],
        "dimensions": ["UNIT"], "rollUp": true,
    });
    let days = (Utc::now() - three_days).num_milliseconds() as f64 / 86_400_000.0;
    let r = rows(&report(&admin, kpis.clone()).await);
    assert_eq!(r.iter().map(|(l, _)| l[0].as_str()).collect::<Vec<_>>(), ["Engineering", "Sales"]);
    close(&r[0].1, &[Some(1.0), Some(1.0), Some(0.0), None], eps, "Engineering KPIs");
    close(&r[1].1, &[Some(1.0), Some(0.0), Some(1.0), Some(days)], 0.01, "Sales KPIs");
    // PEOPLE KPIs: not for a member of another unit.
    let olga = w.a.session(&w.store, "Olga Other").await;
    let r = rows(&report(&olga, kpis).await);
    assert_eq!(r.iter().map(|(l, _)| l[0].as_str()).collect::<Vec<_>>(), ["Engineering"]);

    // Both families by unit: O3 is owned in Platform, under Engineering.
    let mixed =
        json!({ "measures": ["OBJECTIVE_COUNT", "KPI_COUNT"], "dimensions": ["UNIT"], "rollUp": true });
    let data = report(&admin, mixed).await;
    let r = rows(&data);
    assert_eq!(
        r.iter().map(|(l, _)| l[0].as_str()).collect::<Vec<_>>(),
        ["Alpha Corp", "Engineering", "Sales"]
    );
    close(&r[0].1, &[Some(1.0), Some(0.0)], eps, "Alpha Corp");
    close(&r[1].1, &[Some(2.0), Some(1.0)], eps, "Engineering");
    close(&r[2].1, &[Some(1.0), Some(1.0)], eps, "Sales");
    let unit_names: Vec<&str> = data["report"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["dimensions"][0]["unit"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(unit_names, ["Alpha Corp", "Engineering", "Sales"], "rows come in the order of the names");

    // Health and owner: the owner's name, and the empty owner of units.
    let data =
        report(&admin, json!({ "measures": ["OBJECTIVE_COUNT"], "dimensions": ["HEALTH", "OWNER"] })).await;
    let r = rows(&data);
    // As they come: the empty value first, health by severity, then names.
    let order: Vec<Vec<String>> = data["report"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["dimensions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["label"].as_str().unwrap_or("-").to_owned())
                .collect()
        })
        .collect();
    assert_eq!(
        order,
        [["-", "-"], ["ON_TRACK", "-"], ["OFF_TRACK", "-"], ["OFF_TRACK", "Mia Member"]],
        "rows come ordered by health's severity, then by owner"
    );
    let keys: Vec<(String, String, f64)> =
        r.iter().map(|(l, v)| (l[0].clone(), l[1].clone(), v[0].as_f64().unwrap())).collect();
    assert_eq!(
        keys,
        [
            ("-".into(), "-".into(), 1.0),
            ("OFF_TRACK".into(), "-".into(), 1.0),
            ("OFF_TRACK".into(), "Mia Member".into(), 1.0),
            ("ON_TRACK".into(), "-".into(), 1.0),
        ]
    );

    // Filters: Engineering's subtree, COMMITTED only: O3 alone.
    let data = report(
        &admin,
        json!({ "measures": ["OBJECTIVE_COUNT"], "filter": { "unitId": ids.unit("Engineering"), "kinds": ["COMMITTED"] } }),
    )
    .await;
    assert_eq!(count_of(&data), 1.0);

    // Errors name the field; nothing about them is counted.
    let bad =
        admin.gql(REPORT, json!({ "input": { "measures": ["KPI_COUNT"], "dimensions": ["PERIOD"] } })).await;
    expect_error(&bad, "BAD_USER_INPUT", Some("input.dimensions"));
    let bad = admin
        .gql(REPORT, json!({ "input": { "measures": ["OBJECTIVE_COUNT"], "filter": { "unitId": winter } } }))
        .await;
    expect_error(&bad, "BAD_USER_INPUT", Some("input.filter.unitId"));
    let bad = admin.gql(REPORT, json!({ "input": { "measures": [] } })).await;
    expect_error(&bad, "BAD_USER_INPUT", Some("input.measures"));
    let bad = admin
        .gql(
            REPORT,
            json!({ "input": { "measures": ["OBJECTIVE_COUNT"], "dimensions": ["LEVEL"], "rollUp": true } }),
        )
        .await;
    expect_error(&bad, "BAD_USER_INPUT", Some("input.rollUp"));

    // Another tenant: its admin counts nothing of tenant A, and a unit of A
    // in its filter is unknown to it.
    let b = w.b_admin().await;
    let data = report(&b, json!({ "measures": ["OBJECTIVE_COUNT", "KPI_COUNT"] })).await;
    assert_eq!(data["report"]["totals"], json!([0.0, 0.0]));
    // By unit, with no period and no KPI: no rows (the empty families still
    // unite on PostgreSQL's uuid columns).
    let data =
        report(&b, json!({ "measures": ["OBJECTIVE_COUNT", "KPI_COUNT"], "dimensions": ["UNIT"] })).await;
    assert_eq!(data["report"]["rows"], json!([]), "{data}");
    assert_eq!(data["report"]["totals"], json!([0.0, 0.0]));
    let bad = b
        .gql(REPORT, json!({ "input": { "measures": ["OBJECTIVE_COUNT"], "filter": { "unitId": ids.unit("Sales") } } }))
        .await;
    expect_error(&bad, "BAD_USER_INPUT", Some("input.filter.unitId"));
}
