//! Forecasts and progress series (issue 9), against numbers worked out by
//! hand from PRODUCT.md's formulas: a least-squares line through the newest
//! check-ins inside the period, projected to the period's end; the expected
//! and actual progress per week in the organization's time zone.
//!
//! The periods lie in the past, so every number is fixed: check-ins are
//! written at their own times through the store's import, and "now" is
//! past every period's end.

use crate::okr_support::{assert_close, create_objective, key_result, set_period_status};
use crate::support::{Session, World, expect_data};
use async_graphql::ID;
use chrono::{DateTime, Utc};
use goalgraph_api::ids::{NodeType, decode_id};
use goalgraph_domain::KeyResultId;
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const EXACT: f64 = 1e-9;

pub const CREATE_PERIOD: &str =
    "mutation($input: CreatePeriodInput!) { createPeriod(input: $input) { period { id } } }";

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("a test instant").with_timezone(&Utc)
}

/// A JSON date-time as an instant.
#[track_caller]
fn instant(v: &Value) -> DateTime<Utc> {
    at(v.as_str().unwrap_or_else(|| panic!("not a date-time: {v}")))
}

/// A new ACTIVE period, as `admin`.
pub async fn period(admin: &Session, name: &str, start: &str, end: &str) -> String {
    let data = admin
        .ok(CREATE_PERIOD, json!({ "input": { "name": name, "startDate": start, "endDate": end } }))
        .await;
    let id = data["createPeriod"]["period"]["id"].as_str().expect("period id").to_owned();
    set_period_status(admin, &id, "ACTIVE").await;
    id
}

/// Check-ins on `key_result` at their own times, as `s`.
pub async fn import(s: &Session, key_result: &str, points: &[(&str, f64)]) {
    let id: KeyResultId =
        decode_id("id", NodeType::KeyResult, &ID::from(key_result)).expect("a key result id");
    let points: Vec<(DateTime<Utc>, f64, Option<f64>)> =
        points.iter().map(|(t, v)| (at(t), *v, None)).collect();
    s.store.import_check_ins(&s.ctx.actor, id, &points).await.expect("import check-ins");
}

const FORECASTS: &str = "query($id: ID!) { node(id: $id) { ... on Objective {
    forecast { method projectedProgress reachesTarget reachesSuccess inputs projectedInputs at }
    keyResults { title forecast { method points slope projectedValue projectedProgress reachesTarget at } } } } }";

/// The fixture: period "Forecast April", 2026-04-01 to 04-30 (30 days, UTC:
/// its end is 2026-05-01T00:00Z, day 30 counting from April 1st), and a
/// Platform objective with five key results owned by Mia:
/// ```text
/// inc    INCREASE 0 → 100, weight 2: (Apr 1, 10) (Apr 8, 20) (Apr 15, 30)
///        slope 10/7 per day; day 30: 10 + 300/7 = 52.857…; progress 0.52857…
/// reach  INCREASE 0 → 50: (Apr 1, 0) (Apr 11, 20): slope 2; day 30: 60 → progress 1
/// maint  MAINTAIN_ABOVE 95: (Apr 1, 99) (Apr 11, 97): slope −0.2; day 30: 93 < 95 → 0
/// one    INCREASE 0 → 100: (Mar 20, 5) before the period, (Apr 5, 10): one point → null
/// none   INCREASE 0 → 100, no check-in → null
/// ```
/// The objective (KEY_RESULTS): inc 0.52857… × 2, reach 1, maint 0, and the
/// two without a trend at their current progress (one: 10/100 = 0.1, none:
/// 0), over the weights 6. Its parent, the company's objective, has no key
/// results (ALIGNED_OBJECTIVES): the child's projection.
pub async fn forecasts_project_the_check_in_trend_to_the_period_end(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let p = period(&admin, "Forecast April", "2026-04-01", "2026-04-30").await;
    let company = create_objective(
        &admin,
        json!({ "periodId": p, "ownerUnitId": ids.unit("Alpha Corp"), "title": "Company",
                "kind": "ASPIRATIONAL", "status": "ACTIVE" }),
    )
    .await;
    let team = create_objective(
        &admin,
        json!({ "periodId": p, "ownerUnitId": ids.unit("Platform"), "title": "Team",
                "parentObjectiveId": company, "status": "ACTIVE" }),
    )
    .await;
    let mia = ids.person("Mia Member");
    let inc = key_result(&admin, &team, &mia, "inc", "INCREASE", 0.0, 100.0, 2.0).await;
    let reach = key_result(&admin, &team, &mia, "reach", "INCREASE", 0.0, 50.0, 1.0).await;
    let maint = key_result(&admin, &team, &mia, "maint", "MAINTAIN_ABOVE", 0.0, 95.0, 1.0).await;
    let one = key_result(&admin, &team, &mia, "one", "INCREASE", 0.0, 100.0, 1.0).await;
    key_result(&admin, &team, &mia, "none", "INCREASE", 0.0, 100.0, 1.0).await;
    import(
        &admin,
        &inc,
        &[("2026-04-01T00:00:00Z", 10.0), ("2026-04-08T00:00:00Z", 20.0), ("2026-04-15T00:00:00Z", 30.0)],
    )
    .await;
    import(&admin, &reach, &[("2026-04-01T00:00:00Z", 0.0), ("2026-04-11T00:00:00Z", 20.0)]).await;
    import(&admin, &maint, &[("2026-04-01T00:00:00Z", 99.0), ("2026-04-11T00:00:00Z", 97.0)]).await;
    import(&admin, &one, &[("2026-03-20T00:00:00Z", 5.0), ("2026-04-05T00:00:00Z", 10.0)]).await;

    let end = at("2026-05-01T00:00:00Z");
    let data = admin.ok(FORECASTS, json!({ "id": team })).await;
    let krs = data["node"]["keyResults"].as_array().expect("keyResults").clone();
    let by_title = |t: &str| krs.iter().find(|k| k["title"] == t).expect("key result")["forecast"].clone();

    let f = by_title("inc");
    assert_eq!(
        (&f["method"], &f["points"], &f["reachesTarget"]),
        (&json!("LEAST_SQUARES"), &json!(3), &json!(false))
    );
    assert_close(&f["slope"], 10.0 / 7.0, EXACT, "inc slope");
    assert_close(&f["projectedValue"], 10.0 + 300.0 / 7.0, EXACT, "inc projected value");
    assert_close(&f["projectedProgress"], (10.0 + 300.0 / 7.0) / 100.0, EXACT, "inc projected progress");
    assert_eq!(instant(&f["at"]), end);

    let f = by_title("reach");
    assert_eq!((&f["points"], &f["reachesTarget"]), (&json!(2), &json!(true)));
    assert_close(&f["slope"], 2.0, EXACT, "reach slope");
    assert_close(&f["projectedValue"], 60.0, EXACT, "reach projected value");
    assert_close(&f["projectedProgress"], 1.0, EXACT, "reach progress clamped");

    let f = by_title("maint");
    assert_close(&f["slope"], -0.2, EXACT, "maint slope");
    assert_close(&f["projectedValue"], 93.0, EXACT, "maint projected value");
    assert_close(&f["projectedProgress"], 0.0, EXACT, "maint below its target");
    assert_eq!(f["reachesTarget"], false);

    // Fewer than two check-ins inside the period: null, not a guess.
    assert_eq!(by_title("one"), Value::Null, "one point inside the period (the other is before it)");
    assert_eq!(by_title("none"), Value::Null);

    let want = (2.0 * (10.0 + 300.0 / 7.0) / 100.0 + 1.0 + 0.0 + 0.1 + 0.0) / 6.0;
    let o = &data["node"]["forecast"];
    assert_close(&o["projectedProgress"], want, EXACT, "objective projected progress");
    assert_eq!(
        (&o["method"], &o["reachesTarget"], &o["reachesSuccess"], &o["inputs"], &o["projectedInputs"]),
        (&json!("LEAST_SQUARES"), &json!(false), &json!(false), &json!(5), &json!(3))
    );
    assert_eq!(instant(&o["at"]), end);

    let parent = admin.ok(FORECASTS, json!({ "id": company })).await;
    let o = &parent["node"]["forecast"];
    assert_close(&o["projectedProgress"], want, EXACT, "the parent's: its one child's");
    assert_eq!((&o["inputs"], &o["projectedInputs"]), (&json!(1), &json!(1)));

    // The control of the null rule: a second check-in inside the period
    // gives "one" a line: (Apr 5, 10) (Apr 25, 30): slope 1; the end is 26
    // days after April 5th: 10 + 26 = 36.
    import(&admin, &one, &[("2026-04-25T00:00:00Z", 30.0)]).await;
    let data = admin.ok(FORECASTS, json!({ "id": team })).await;
    let krs = data["node"]["keyResults"].as_array().expect("keyResults");
    let f = &krs.iter().find(|k| k["title"] == "one").expect("one")["forecast"];
    assert_eq!(f["points"], 2);
    assert_close(&f["slope"], 1.0, EXACT, "one slope");
    assert_close(&f["projectedValue"], 36.0, EXACT, "one projected value");
}

const SERIES: &str = "query($id: ID!) { node(id: $id) { ... on KeyResult {
    weeks: progressSeries { start at expected actual }
    days: progressSeries(bucket: DAY) { start }
    months: progressSeries(bucket: MONTH) { start at expected actual } } } }";

fn points(series: &Value) -> Vec<(DateTime<Utc>, DateTime<Utc>, f64, f64)> {
    series
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {series}"))
        .iter()
        .map(|p| {
            (
                instant(&p["start"]),
                instant(&p["at"]),
                p["expected"].as_f64().expect("expected"),
                p["actual"].as_f64().expect("actual"),
            )
        })
        .collect()
}

#[track_caller]
fn assert_points(got: &[(DateTime<Utc>, DateTime<Utc>, f64, f64)], want: &[(&str, &str, f64, f64)]) {
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!((g.0, g.1), (at(w.0), at(w.1)), "{g:?} vs {w:?}");
        assert!((g.2 - w.2).abs() < EXACT && (g.3 - w.3).abs() < EXACT, "{g:?} vs {w:?}");
    }
}

/// Period "Series June", 2026-06-03 (a Wednesday) to 06-16: 14 days. A key
/// result INCREASE 0 → 100 with check-ins (Jun 5 12:00Z, 20), (Jun 7
/// 22:30Z, 40) and (Jun 16 10:00Z, 90). 22:30Z on Sunday June 7th is
/// already Monday in Berlin (UTC+2 in June): in UTC the 40 is read at the
/// end of the first week, in Berlin only at the end of the second.
pub async fn progress_series_buckets_follow_the_time_zone(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let p = period(&admin, "Series June", "2026-06-03", "2026-06-16").await;
    let o = create_objective(
        &admin,
        json!({ "periodId": p, "ownerUnitId": ids.unit("Platform"), "title": "Series", "status": "ACTIVE" }),
    )
    .await;
    let kr = key_result(&admin, &o, &ids.person("Mia Member"), "kr", "INCREASE", 0.0, 100.0, 1.0).await;
    import(
        &admin,
        &kr,
        &[("2026-06-05T12:00:00Z", 20.0), ("2026-06-07T22:30:00Z", 40.0), ("2026-06-16T10:00:00Z", 90.0)],
    )
    .await;

    // UTC: the period runs from June 3rd 00:00Z to June 17th 00:00Z; weeks
    // start on Mondays June 1st, 8th and 15th; expected = elapsed days / 14.
    let data = admin.ok(SERIES, json!({ "id": kr })).await;
    assert_points(
        &points(&data["node"]["weeks"]),
        &[
            ("2026-06-01T00:00:00Z", "2026-06-08T00:00:00Z", 5.0 / 14.0, 0.4),
            ("2026-06-08T00:00:00Z", "2026-06-15T00:00:00Z", 12.0 / 14.0, 0.4),
            ("2026-06-15T00:00:00Z", "2026-06-17T00:00:00Z", 1.0, 0.9),
        ],
    );
    assert_eq!(data["node"]["days"].as_array().expect("days").len(), 14);

    let set_tz = "mutation { updateOrganization(input: {settings: {timeZone: \"Europe/Berlin\"}}) { organization { id } } }";
    expect_data(&admin.gql(set_tz, json!({})).await);
    let admin = w.a_admin().await;
    // Berlin: June 3rd 00:00 CEST is June 2nd 22:00Z, the end June 16th
    // 22:00Z; the weeks start at 22:00Z on the Sundays before.
    let data = admin.ok(SERIES, json!({ "id": kr })).await;
    assert_points(
        &points(&data["node"]["weeks"]),
        &[
            ("2026-05-31T22:00:00Z", "2026-06-07T22:00:00Z", 5.0 / 14.0, 0.2),
            ("2026-06-07T22:00:00Z", "2026-06-14T22:00:00Z", 12.0 / 14.0, 0.4),
            ("2026-06-14T22:00:00Z", "2026-06-16T22:00:00Z", 1.0, 0.9),
        ],
    );
    let days = data["node"]["days"].as_array().expect("days");
    assert_eq!(days.len(), 14);
    assert_eq!(instant(&days[0]["start"]), at("2026-06-02T22:00:00Z"));
    assert_points(
        &points(&data["node"]["months"]),
        &[("2026-05-31T22:00:00Z", "2026-06-16T22:00:00Z", 1.0, 0.9)],
    );
}

const LIST: &str = "query($p: ID!) { objectives(filter: {periodId: $p}, first: 100) { edges { node { title
    forecast { projectedProgress }
    keyResults { forecast { points projectedProgress } progressSeries { actual } } } } } }";

/// `n` objectives of Platform in a new period of April 2026, each with two
/// INCREASE key results 0 → 100 checked in at (Apr 1, 10) and (Apr 11, 20):
/// slope 1 per day, 40 at the end (day 30), projected progress 0.4.
async fn many(admin: &Session, name: &str, n: usize) -> String {
    let ids = admin.ids().await;
    let p = period(admin, name, "2026-04-01", "2026-04-30").await;
    for i in 0..n {
        let o = create_objective(
            admin,
            json!({ "periodId": p, "ownerUnitId": ids.unit("Platform"), "title": format!("{name} {i}"), "status": "ACTIVE" }),
        )
        .await;
        for k in 0..2 {
            let kr = key_result(
                admin,
                &o,
                &ids.person("Mia Member"),
                &format!("kr {k}"),
                "INCREASE",
                0.0,
                100.0,
                1.0,
            )
            .await;
            import(admin, &kr, &[("2026-04-01T00:00:00Z", 10.0), ("2026-04-11T00:00:00Z", 20.0)]).await;
        }
    }
    p
}

/// Forecasts and series of a list of objectives and their key results cost
/// the same statements for 2 objectives as for 6 (check-ins batched).
pub async fn forecasts_and_series_of_a_list_are_batched(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let small = many(&admin, "Small", 2).await;
    let large = many(&admin, "Large", 6).await;
    let mut costs = vec![];
    for (p, n) in [(&small, 2), (&large, 6)] {
        let before = w.store.statement_count();
        let data = admin.ok(LIST, json!({ "p": p })).await;
        costs.push(w.store.statement_count() - before);
        let edges = data["objectives"]["edges"].as_array().expect("edges");
        assert_eq!(edges.len(), n);
        for e in edges {
            assert_close(&e["node"]["forecast"]["projectedProgress"], 0.4, EXACT, "objective forecast");
            for kr in e["node"]["keyResults"].as_array().expect("keyResults") {
                assert_eq!(kr["forecast"]["points"], 2);
                assert_close(&kr["forecast"]["projectedProgress"], 0.4, EXACT, "key result forecast");
                // Five weeks (from Monday March 30th); the last read at the end: 20.
                let series = kr["progressSeries"].as_array().expect("series");
                assert_eq!(series.len(), 5);
                assert_close(&series[4]["actual"], 0.2, EXACT, "last actual");
            }
        }
    }
    assert_eq!(costs[0], costs[1], "statements for 2 and for 6 objectives: {costs:?}");
}
