//! The numbers the API computes for KPIs (PRODUCT.md, "Numbers the API
//! computes": "KPI status" and "breachedSince"), worked out by hand: a bulk
//! backfill of 10,000 points through GraphQL variables (within the
//! server's default 2 MiB body limit) sent newest first; series buckets by
//! day; the trend of the last points; STALE and NO_DATA; and the status
//! filter of `kpis`. The organization's time zone is the default, UTC.

use crate::kpi_support::{RECORD_MANY, create_kpi, kpi_input, points_json, record, rfc3339, time};
use crate::okr_support::assert_close;
use crate::support::{Session, World, edge_names};
use chrono::{DateTime, Duration, DurationRound, TimeZone, Utc};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

/// The server's default request body limit (`body_limit_bytes` in the
/// server's configuration): 2 MiB.
const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

const STATE: &str = "query($id: ID!) { node(id: $id) { ... on Kpi {
    name status breachedSince current lastObservedAt measurements(first: 1) { totalCount } } } }";

async fn state(s: &Session, id: &str) -> Value {
    s.ok(STATE, json!({ "id": id })).await["node"].clone()
}

fn this_hour() -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::hours(1)).expect("truncate to the hour")
}

pub async fn bulk_backfill_sets_status_current_and_breached_since(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let (platform, mia) = (ids.unit("Platform"), ids.person("Mia Member"));
    // Healthy at >= 90, AT_RISK down to 85 (absolute tolerance 5).
    let k =
        create_kpi(&admin, kpi_input(&platform, &mia, "Availability", json!({ "toleranceAbsolute": 5.0 })))
            .await;
    // 10,000 hourly points up to an hour ago: 95 throughout, then 88, 86, 87.
    let now_h = this_hour();
    let t = |i: i64| now_h - Duration::hours(10_000 - i);
    let value = |i: i64| match i {
        9_997 => 88.0,
        9_998 => 86.0,
        9_999 => 87.0,
        _ => 95.0,
    };
    // Sent newest first: a backfill in reverse order.
    let points: Vec<(DateTime<Utc>, f64)> = (0..10_000).rev().map(|i| (t(i), value(i))).collect();
    let vars =
        json!({ "input": { "kpiId": k, "points": points_json(&points), "idempotencyKey": "backfill-1" } });
    let body = serde_json::to_string(&json!({ "query": RECORD_MANY, "variables": vars })).unwrap();
    assert!(body.len() < DEFAULT_BODY_LIMIT, "the request body is {} bytes", body.len());
    let data = admin.ok(RECORD_MANY, vars.clone()).await;
    assert_eq!(data["recordKpiMeasurements"]["written"], json!(10_000));
    assert_eq!(data["recordKpiMeasurements"]["replayed"], json!(false));
    // The retry of a client that lost the answer writes nothing.
    let again = admin.ok(RECORD_MANY, vars).await;
    assert_eq!(
        (
            again["recordKpiMeasurements"]["written"].clone(),
            again["recordKpiMeasurements"]["replayed"].clone()
        ),
        (json!(0), json!(true))
    );

    // By hand: the latest point is 87 an hour ago, 3 below the bound of 90,
    // within the band of 5 → AT_RISK; the current run outside the range is
    // 88, 86, 87 → breachedSince = the time of the 88.
    let s = state(&admin, &k).await;
    assert_eq!(s["measurements"]["totalCount"], json!(10_000));
    assert_eq!(s["status"], json!("AT_RISK"));
    assert_eq!(s["current"], json!(87.0));
    assert_eq!(time(&s["lastObservedAt"]), t(9_999));
    assert_eq!(time(&s["breachedSince"]), t(9_997));

    // Small backfills in reverse order, by hand.
    // LOWER_IS_BETTER, healthy at <= 5, tolerance 10 % of 5 = 0.5:
    // day -4: 6 (out), -3: 4 (in), -2: 5.4 (out), -1: 5.6 (out, 0.6 > 0.5).
    let d = |n: i64| now_h - Duration::days(n);
    let lower = create_kpi(
        &admin,
        kpi_input(
            &platform,
            &mia,
            "Error rate",
            json!({ "direction": "LOWER_IS_BETTER", "healthyLower": null, "healthyUpper": 5.0, "tolerancePercent": 10.0 }),
        ),
    )
    .await;
    record(&admin, &lower, &[(d(1), 5.6), (d(2), 5.4), (d(3), 4.0), (d(4), 6.0)]).await;
    let s = state(&admin, &lower).await;
    assert_eq!((s["status"].clone(), s["current"].clone()), (json!("BREACHED"), json!(5.6)));
    assert_eq!(time(&s["breachedSince"]), d(2));
    // A correction of day -1 to 5.4 (0.4 beyond, within 0.5): AT_RISK, same run.
    record(&admin, &lower, &[(d(1), 5.4)]).await;
    let s = state(&admin, &lower).await;
    assert_eq!((s["status"].clone(), s["current"].clone()), (json!("AT_RISK"), json!(5.4)));
    assert_eq!(time(&s["breachedSince"]), d(2));
    // WITHIN_RANGE 18..22: 30, 25, then 20 → HEALTHY, no breach.
    let within = create_kpi(
        &admin,
        kpi_input(
            &platform,
            &mia,
            "Temperature",
            json!({ "direction": "WITHIN_RANGE", "healthyLower": 18.0, "healthyUpper": 22.0 }),
        ),
    )
    .await;
    record(&admin, &within, &[(d(1), 20.0), (d(2), 25.0), (d(3), 30.0)]).await;
    let s = state(&admin, &within).await;
    assert_eq!(
        (s["status"].clone(), s["current"].clone(), s["breachedSince"].clone()),
        (json!("HEALTHY"), json!(20.0), Value::Null)
    );
}

pub async fn series_trend_staleness_and_status_filter(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let (platform, mia) = (ids.unit("Platform"), ids.person("Mia Member"));
    let at = |m: u32, d: u32, h: u32, min: u32, s: u32| Utc.with_ymd_and_hms(2026, m, d, h, min, s).unwrap();

    // series(from, to, bucket: DAY) over [Oct 1, Oct 5).
    let k = create_kpi(&admin, kpi_input(&platform, &mia, "Sparkline", json!({}))).await;
    record(
        &admin,
        &k,
        &[
            (at(9, 30, 23, 59, 59), 1000.0), // before `from`: left out
            (at(10, 1, 12, 0, 0), 30.0),
            (at(10, 1, 1, 0, 0), 10.0),
            (at(10, 1, 23, 0, 0), 20.0),
            (at(10, 2, 8, 0, 0), 5.0), // corrected to 7 below
            (at(10, 4, 23, 59, 59), 50.0),
            (at(10, 4, 0, 0, 0), 40.0),
            (at(10, 5, 0, 0, 0), 2000.0), // at `to`: left out
        ],
    )
    .await;
    record(&admin, &k, &[(at(10, 2, 8, 0, 0), 7.0)]).await;
    let data = admin
        .ok(
            "query($id: ID!, $from: DateTime!, $to: DateTime!) { node(id: $id) { ... on Kpi {
               series(from: $from, to: $to, bucket: DAY) { start min max avg last count } } } }",
            json!({ "id": k, "from": rfc3339(at(10, 1, 0, 0, 0)), "to": rfc3339(at(10, 5, 0, 0, 0)) }),
        )
        .await;
    let series = data["node"]["series"].as_array().expect("series").clone();
    // By hand: Oct 1: 10, 30, 20 (last by time: 20 at 23:00); Oct 2: the
    // correction 7 only; Oct 3: empty, left out; Oct 4: 40, 50.
    let want = [
        (at(10, 1, 0, 0, 0), 10.0, 30.0, 20.0, 20.0, 3),
        (at(10, 2, 0, 0, 0), 7.0, 7.0, 7.0, 7.0, 1),
        (at(10, 4, 0, 0, 0), 40.0, 50.0, 45.0, 50.0, 2),
    ];
    assert_eq!(series.len(), want.len(), "buckets: {series:#?}");
    for (got, (start, min, max, avg, last, count)) in series.iter().zip(want) {
        assert_eq!(time(&got["start"]), start, "{got}");
        assert_close(&got["min"], min, 1e-9, "min");
        assert_close(&got["max"], max, 1e-9, "max");
        assert_close(&got["avg"], avg, 1e-9, "avg");
        assert_close(&got["last"], last, 1e-9, "last");
        assert_eq!(got["count"], json!(count), "count of {start}");
    }

    // trend: the last 3 of 100 (10 days ago), 10, 12, 14 (3, 2 and 1 days
    // ago) rise by 2 a day → IMPROVING for HIGHER_IS_BETTER. Over all 4
    // points: x = 0, 7, 8, 9 days, y = 100, 10, 12, 14; mean x 6, mean y
    // 34; Sxx = 50, Sxy = -524 → slope -10.48 → WORSENING.
    let now_h = this_hour();
    let d = |n: i64| now_h - Duration::days(n);
    let rising = [(d(10), 100.0), (d(3), 10.0), (d(2), 12.0), (d(1), 14.0)];
    let up = create_kpi(&admin, kpi_input(&platform, &mia, "Rising", json!({}))).await;
    record(&admin, &up, &rising).await;
    let down_is_good = create_kpi(
        &admin,
        kpi_input(
            &platform,
            &mia,
            "Rising cost",
            json!({ "direction": "LOWER_IS_BETTER", "healthyLower": null, "healthyUpper": 50.0 }),
        ),
    )
    .await;
    record(&admin, &down_is_good, &rising).await;
    let one = create_kpi(&admin, kpi_input(&platform, &mia, "One point", json!({}))).await;
    record(&admin, &one, &[(d(1), 14.0)]).await;
    let trend = "query($id: ID!) { node(id: $id) { ... on Kpi {
        three: trend(points: 3) { slopePerDay direction points }
        four: trend(points: 4) { slopePerDay direction points } } } }";
    let got = admin.ok(trend, json!({ "id": up })).await["node"].clone();
    assert_eq!(
        (got["three"]["direction"].clone(), got["three"]["points"].clone()),
        (json!("IMPROVING"), json!(3))
    );
    assert_close(&got["three"]["slopePerDay"], 2.0, 1e-9, "slope of the last 3");
    assert_eq!(
        (got["four"]["direction"].clone(), got["four"]["points"].clone()),
        (json!("WORSENING"), json!(4))
    );
    assert_close(&got["four"]["slopePerDay"], -10.48, 1e-9, "slope of all 4");
    let got = admin.ok(trend, json!({ "id": down_is_good })).await["node"].clone();
    assert_eq!(got["three"]["direction"], json!("WORSENING"), "rising is worse for LOWER_IS_BETTER");
    let got = admin.ok(trend, json!({ "id": one })).await["node"].clone();
    assert_eq!(
        (got["three"].clone(), got["four"].clone()),
        (Value::Null, Value::Null),
        "one point: no trend"
    );

    // STALE: a DAILY KPI whose latest point is 3 days old (more than twice
    // the cadence); the same point is fresh for a WEEKLY KPI; a point a day
    // old is fresh for a DAILY one. NO_DATA without points.
    let stale = create_kpi(&admin, kpi_input(&platform, &mia, "Stale daily", json!({}))).await;
    record(&admin, &stale, &[(Utc::now() - Duration::days(3), 50.0)]).await;
    let weekly =
        create_kpi(&admin, kpi_input(&platform, &mia, "Weekly", json!({ "cadence": "WEEKLY" }))).await;
    record(&admin, &weekly, &[(Utc::now() - Duration::days(3), 50.0)]).await;
    let fresh = create_kpi(&admin, kpi_input(&platform, &mia, "Fresh daily", json!({}))).await;
    record(&admin, &fresh, &[(Utc::now() - Duration::days(1), 95.0)]).await;
    let empty = create_kpi(&admin, kpi_input(&platform, &mia, "Empty", json!({}))).await;
    assert_eq!(state(&admin, &stale).await["status"], json!("STALE"));
    assert_eq!(state(&admin, &weekly).await["status"], json!("BREACHED"));
    assert_eq!(state(&admin, &fresh).await["status"], json!("HEALTHY"));
    let s = state(&admin, &empty).await;
    assert_eq!(
        (s["status"].clone(), s["current"].clone(), s["breachedSince"].clone()),
        (json!("NO_DATA"), Value::Null, Value::Null)
    );

    // kpis(filter: {status}) returns exactly the KPIs of that status.
    let at_risk =
        create_kpi(&admin, kpi_input(&platform, &mia, "At risk", json!({ "toleranceAbsolute": 5.0 }))).await;
    record(&admin, &at_risk, &[(d(1), 88.0)]).await;
    let low_breach = create_kpi(
        &admin,
        kpi_input(
            &platform,
            &mia,
            "Breached low",
            json!({ "direction": "LOWER_IS_BETTER", "healthyLower": null, "healthyUpper": 5.0 }),
        ),
    )
    .await;
    record(&admin, &low_breach, &[(d(1), 9.0)]).await;
    let corrected = create_kpi(&admin, kpi_input(&platform, &mia, "Corrected", json!({}))).await;
    record(&admin, &corrected, &[(d(1), 50.0)]).await;
    record(&admin, &corrected, &[(d(1), 95.0)]).await;
    let archived = create_kpi(&admin, kpi_input(&platform, &mia, "Archived breach", json!({}))).await;
    record(&admin, &archived, &[(d(1), 50.0)]).await;
    admin
        .ok(
            "mutation($id: ID!) { updateKpi(input: {id: $id, archived: true}) { kpi { archived } } }",
            json!({ "id": archived }),
        )
        .await;
    // By hand, the KPIs in use: Sparkline (its latest point is Oct 5, weeks
    // ago) STALE; Rising (14, below 90) BREACHED; Rising cost (14 <=
    // 50) HEALTHY; One point (14) BREACHED; Stale daily STALE; Weekly
    // BREACHED; Fresh daily HEALTHY; Empty NO_DATA; At risk AT_RISK;
    // Breached low BREACHED; Corrected HEALTHY.
    let by_status = [
        ("BREACHED", vec!["Breached low", "One point", "Rising", "Weekly"]),
        ("AT_RISK", vec!["At risk"]),
        ("HEALTHY", vec!["Corrected", "Fresh daily", "Rising cost"]),
        ("STALE", vec!["Sparkline", "Stale daily"]),
        ("NO_DATA", vec!["Empty"]),
    ];
    let q = "query($status: KpiStatus!, $first: Int) {
        kpis(filter: {status: $status}, first: $first) { totalCount pageInfo { hasNextPage } edges { node { name } } } }";
    for (status, names) in &by_status {
        let data = admin.ok(q, json!({ "status": status, "first": 100 })).await;
        assert_eq!(edge_names(&data["kpis"]), *names, "kpis(status: {status}), by name");
        assert_eq!(data["kpis"]["totalCount"], json!(names.len()), "totalCount of {status}");
        assert_eq!(data["kpis"]["pageInfo"]["hasNextPage"], json!(false));
    }
    // A first page of one breached KPI: the first by name, more to come.
    let data = admin.ok(q, json!({ "status": "BREACHED", "first": 1 })).await;
    assert_eq!(edge_names(&data["kpis"]), vec!["Breached low"]);
    assert_eq!(data["kpis"]["totalCount"], json!(4));
    assert_eq!(data["kpis"]["pageInfo"]["hasNextPage"], json!(true));
    // The archived breach shows up only when archived KPIs are asked for.
    let data = admin
        .ok("{ kpis(filter: {status: BREACHED, archived: true}) { edges { node { name } } } }", json!({}))
        .await;
    assert_eq!(edge_names(&data["kpis"]), vec!["Archived breach"]);
}

/// PRODUCT.md: status and every number come from the effective points (a
/// later value for the same observed time corrects the earlier one). An
/// integration that re-sends today's value many times leaves one
/// effective point per observed time: `trend(points: 3)` reads the last
/// three effective points, however many corrections the newest one has.
pub async fn trend_reads_the_last_effective_points(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let k = create_kpi(
        &admin,
        kpi_input(&ids.unit("Platform"), &ids.person("Mia Member"), "Headcount", json!({})),
    )
    .await;
    let now_h = this_hour();
    let d = |n: i64| now_h - Duration::days(n);
    record(&admin, &k, &[(d(3), 10.0), (d(2), 12.0)]).await;
    // Day -1 is pushed 20 times (20 calls); the last value, 14, counts.
    for i in 0..20 {
        let v = if i == 19 { 14.0 } else { 100.0 + f64::from(i) };
        record(&admin, &k, &[(d(1), v)]).await;
    }
    let q = "query($id: ID!) { node(id: $id) { ... on Kpi { current
        measurements { totalCount } trend(points: 3) { slopePerDay direction points } } } }";
    let got = admin.ok(q, json!({ "id": k })).await["node"].clone();
    assert_eq!(got["current"], json!(14.0), "the last correction counts");
    assert_eq!(got["measurements"]["totalCount"], json!(22), "every correction stays in history");
    // By hand: 10, 12, 14 on days -3, -2, -1 → slope 2 a day, IMPROVING.
    assert_eq!(got["trend"]["points"], json!(3), "three effective points: {got:#}");
    assert_eq!(got["trend"]["direction"], json!("IMPROVING"));
    assert_close(&got["trend"]["slopePerDay"], 2.0, 1e-9, "slope");
}

/// PRODUCT.md: "Dates and buckets use the organization's time zone".
/// Europe/Berlin leaves summer time on Sunday 2026-10-25 at 01:00 UTC
/// (CEST, UTC+2, before; CET, UTC+1, after). Points, in UTC:
/// Oct 24 21:30 (Sat 23:30 local) = 1; Oct 24 22:30 (Sun 00:30) = 2;
/// Oct 25 22:30 (Sun 23:30) = 4; Oct 25 23:30 (Mon 00:30) = 8.
pub async fn series_buckets_follow_the_organizations_time_zone(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let k =
        create_kpi(&admin, kpi_input(&ids.unit("Platform"), &ids.person("Mia Member"), "Berlin", json!({})))
            .await;
    let utc = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2026, 10, d, h, m, 0).unwrap();
    record(
        &admin,
        &k,
        &[(utc(24, 21, 30), 1.0), (utc(24, 22, 30), 2.0), (utc(25, 22, 30), 4.0), (utc(25, 23, 30), 8.0)],
    )
    .await;
    let q =
        "query($id: ID!, $from: DateTime!, $to: DateTime!, $bucket: Bucket!) { node(id: $id) { ... on Kpi {
        series(from: $from, to: $to, bucket: $bucket) { start min max avg last count } } } }";
    let series = |s: Session, bucket: &'static str| {
        let k = k.clone();
        async move {
            let vars = json!({ "id": k, "from": rfc3339(utc(20, 0, 0)), "to": rfc3339(utc(27, 0, 0)), "bucket": bucket });
            let data = s.ok(q, vars).await;
            data["node"]["series"]
                .as_array()
                .expect("series")
                .iter()
                .map(|b| {
                    (
                        time(&b["start"]),
                        b["min"].as_f64().unwrap(),
                        b["max"].as_f64().unwrap(),
                        b["avg"].as_f64().unwrap(),
                        b["last"].as_f64().unwrap(),
                        b["count"].as_u64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    // Control, in UTC: Oct 24 holds 1 and 2, Oct 25 holds 4 and 8.
    assert_eq!(
        series(admin.clone(), "DAY").await,
        vec![(utc(24, 0, 0), 1.0, 2.0, 1.5, 2.0, 2), (utc(25, 0, 0), 4.0, 8.0, 6.0, 8.0, 2)]
    );
    admin
        .ok(
            "mutation { updateOrganization(input: {settings: {timeZone: \"Europe/Berlin\"}}) { organization { id } } }",
            json!({}),
        )
        .await;
    let berlin = w.a_admin().await;
    // Days: Sat Oct 24 from 2026-10-23T22:00Z: 1; Sun Oct 25 (25 hours) from
    // 2026-10-24T22:00Z: 2 and 4; Mon Oct 26 from 2026-10-25T23:00Z: 8.
    assert_eq!(
        series(berlin.clone(), "DAY").await,
        vec![
            (utc(23, 22, 0), 1.0, 1.0, 1.0, 1.0, 1),
            (utc(24, 22, 0), 2.0, 4.0, 3.0, 4.0, 2),
            (utc(25, 23, 0), 8.0, 8.0, 8.0, 8.0, 1),
        ]
    );
    // Weeks start on Monday: Mon Oct 19 from 2026-10-18T22:00Z: 1, 2, 4;
    // Mon Oct 26 from 2026-10-25T23:00Z: 8.
    let weeks = series(berlin.clone(), "WEEK").await;
    assert_eq!(weeks.len(), 2, "{weeks:?}");
    assert_eq!(
        (weeks[0].0, weeks[0].1, weeks[0].2, weeks[0].4, weeks[0].5),
        (utc(18, 22, 0), 1.0, 4.0, 4.0, 3)
    );
    assert!((weeks[0].3 - 7.0 / 3.0).abs() < 1e-9, "avg of 1, 2, 4: {}", weeks[0].3);
    assert_eq!(weeks[1], (utc(25, 23, 0), 8.0, 8.0, 8.0, 8.0, 1));
    // One month: October from 2026-09-30T22:00Z (CEST).
    assert_eq!(
        series(berlin, "MONTH").await,
        vec![(Utc.with_ymd_and_hms(2026, 9, 30, 22, 0, 0).unwrap(), 1.0, 8.0, 3.75, 8.0, 4)]
    );
}

/// `totalCount` is "how many items the whole list holds (all pages, same
/// filter)": with `filter: {status}` too, on every page. Three BREACHED
/// KPIs (A, B, C) and a HEALTHY one (D), walked one per page.
pub async fn status_filter_pages_keep_the_total(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let (platform, mia) = (ids.unit("Platform"), ids.person("Mia Member"));
    let yesterday = Utc::now() - Duration::days(1);
    for (name, value) in
        [("A breached", 50.0), ("B breached", 60.0), ("C breached", 70.0), ("D healthy", 95.0)]
    {
        let k = create_kpi(&admin, kpi_input(&platform, &mia, name, json!({}))).await;
        record(&admin, &k, &[(yesterday, value)]).await;
    }
    let q =
        "query($filter: KpiFilterInput, $after: String) { kpis(filter: $filter, first: 1, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } }";
    // Control: without a status filter, every page counts the whole list.
    let mut after = Value::Null;
    for name in ["A breached", "B breached", "C breached", "D healthy"] {
        let page = admin.ok(q, json!({ "filter": null, "after": after })).await["kpis"].clone();
        assert_eq!(edge_names(&page), vec![name]);
        assert_eq!(page["totalCount"], json!(4), "unfiltered page at {name}");
        after = page["pageInfo"]["endCursor"].clone();
    }
    // With the status filter: the same on every page.
    let mut after = Value::Null;
    for (name, more) in [("A breached", true), ("B breached", true), ("C breached", false)] {
        let page =
            admin.ok(q, json!({ "filter": { "status": "BREACHED" }, "after": after })).await["kpis"].clone();
        assert_eq!(edge_names(&page), vec![name]);
        assert_eq!(page["pageInfo"]["hasNextPage"], json!(more), "hasNextPage at {name}");
        assert_eq!(page["totalCount"], json!(3), "totalCount of BREACHED on the page of {name}");
        after = page["pageInfo"]["endCursor"].clone();
    }
}
