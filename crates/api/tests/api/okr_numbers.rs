//! The numbers the API computes for objectives and key results (PRODUCT.md,
//! "Numbers the API computes"), against values worked out by hand from the
//! brief's formulas: progress for every measure, expected progress and
//! health in an ACTIVE period whose dates are chosen around today, the
//! latest confidence lowering health, an objective's numbers as the average
//! and the worst of its inputs, score/grade/success frozen when the period
//! closes, and `isStale`.

use crate::okr_support::{
    CHECK_IN, assert_close, check_in, create_objective, key_result, period_around_today, set_period_status,
    titles,
};
use crate::support::{Session, World, expect_data, expect_error};
use chrono::{Duration, NaiveDate, Utc};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Time passes between the request and the check: 1e-3 of the 20-day
/// period is about half an hour.
const ELAPSED_TOLERANCE: f64 = 1e-3;
const EXACT: f64 = 1e-9;

/// Where a key result should be by now, per its measure.
#[derive(Clone, Copy)]
enum Expected {
    /// INCREASE/DECREASE: the elapsed fraction of the period.
    Elapsed,
    /// MAINTAIN_*: 1 throughout.
    One,
    /// MILESTONE before the period ends: 0.
    Zero,
}

/// One key result: its measure, its check-ins (value, confidence) in order,
/// and what the brief says its numbers are. The period started 10 days ago
/// and ends 10 days from now, so the elapsed fraction `e` is between 0.50
/// (at midnight) and 0.55 (just before the next one): INCREASE/DECREASE
/// gaps below are given for that range.
struct Case {
    title: &'static str,
    measure: &'static str,
    start: f64,
    target: f64,
    check_ins: &'static [(f64, Option<f64>)],
    progress: f64,
    expected: Expected,
    health: &'static str,
}

const CASES: &[Case] = &[
    // No check-in: current = start, progress 0, gap e ≥ 0.5.
    Case {
        title: "inc none",
        measure: "INCREASE",
        start: 0.0,
        target: 100.0,
        check_ins: &[],
        progress: 0.0,
        expected: Expected::Elapsed,
        health: "OFF_TRACK",
    },
    // Halfway: gap e − 0.5 in [0, 0.05).
    Case {
        title: "inc half",
        measure: "INCREASE",
        start: 0.0,
        target: 100.0,
        check_ins: &[(20.0, None), (50.0, None)],
        progress: 0.5,
        expected: Expected::Elapsed,
        health: "ON_TRACK",
    },
    // Beyond the target: clamped to 1.
    Case {
        title: "inc beyond",
        measure: "INCREASE",
        start: 0.0,
        target: 100.0,
        check_ins: &[(150.0, None)],
        progress: 1.0,
        expected: Expected::Elapsed,
        health: "ON_TRACK",
    },
    // (165 − 200) / (100 − 200) = 0.35: gap in [0.15, 0.20).
    Case {
        title: "dec at risk",
        measure: "DECREASE",
        start: 200.0,
        target: 100.0,
        check_ins: &[(165.0, None)],
        progress: 0.35,
        expected: Expected::Elapsed,
        health: "AT_RISK",
    },
    // Worse than the start: clamped to 0.
    Case {
        title: "dec worse",
        measure: "DECREASE",
        start: 200.0,
        target: 100.0,
        check_ins: &[(250.0, None)],
        progress: 0.0,
        expected: Expected::Elapsed,
        health: "OFF_TRACK",
    },
    Case {
        title: "above at target",
        measure: "MAINTAIN_ABOVE",
        start: 95.0,
        target: 90.0,
        check_ins: &[(90.0, None)],
        progress: 1.0,
        expected: Expected::One,
        health: "ON_TRACK",
    },
    Case {
        title: "above below target",
        measure: "MAINTAIN_ABOVE",
        start: 95.0,
        target: 90.0,
        check_ins: &[(85.0, None)],
        progress: 0.0,
        expected: Expected::One,
        health: "OFF_TRACK",
    },
    Case {
        title: "below at target",
        measure: "MAINTAIN_BELOW",
        start: 3.0,
        target: 5.0,
        check_ins: &[(5.0, None)],
        progress: 1.0,
        expected: Expected::One,
        health: "ON_TRACK",
    },
    Case {
        title: "below above target",
        measure: "MAINTAIN_BELOW",
        start: 3.0,
        target: 5.0,
        check_ins: &[(6.0, None)],
        progress: 0.0,
        expected: Expected::One,
        health: "OFF_TRACK",
    },
    // A milestone is ON_TRACK until the period ends, done or not.
    Case {
        title: "milestone open",
        measure: "MILESTONE",
        start: 0.0,
        target: 1.0,
        check_ins: &[],
        progress: 0.0,
        expected: Expected::Zero,
        health: "ON_TRACK",
    },
    Case {
        title: "milestone done",
        measure: "MILESTONE",
        start: 0.0,
        target: 1.0,
        check_ins: &[(1.0, None)],
        progress: 1.0,
        expected: Expected::Zero,
        health: "ON_TRACK",
    },
    // The latest confidence: below 0.5 at most AT_RISK, below 0.2 OFF_TRACK.
    Case {
        title: "conf 0.5",
        measure: "INCREASE",
        start: 0.0,
        target: 100.0,
        check_ins: &[(50.0, Some(0.5))],
        progress: 0.5,
        expected: Expected::Elapsed,
        health: "ON_TRACK",
    },
    Case {
        title: "conf 0.4",
        measure: "INCREASE",
        start: 0.0,
        target: 100.0,
        check_ins: &[(50.0, Some(0.4))],
        progress: 0.5,
        expected: Expected::Elapsed,
        health: "AT_RISK",
    },
    Case {
        title: "conf 0.2",
        measure: "INCREASE",
        start: 0.0,
        target: 100.0,
        check_ins: &[(50.0, Some(0.2))],
        progress: 0.5,
        expected: Expected::Elapsed,
        health: "AT_RISK",
    },
    Case {
        title: "conf 0.1",
        measure: "INCREASE",
        start: 0.0,
        target: 100.0,
        check_ins: &[(50.0, Some(0.1))],
        progress: 0.5,
        expected: Expected::Elapsed,
        health: "OFF_TRACK",
    },
    // The latest one counts: high after low, low after high.
    Case {
        title: "conf regained",
        measure: "INCREASE",
        start: 0.0,
        target: 100.0,
        check_ins: &[(50.0, Some(0.1)), (50.0, Some(0.9))],
        progress: 0.5,
        expected: Expected::Elapsed,
        health: "ON_TRACK",
    },
    Case {
        title: "conf lost",
        measure: "INCREASE",
        start: 0.0,
        target: 100.0,
        check_ins: &[(50.0, Some(0.9)), (50.0, Some(0.4))],
        progress: 0.5,
        expected: Expected::Elapsed,
        health: "AT_RISK",
    },
    // "At most AT_RISK" never improves an OFF_TRACK key result.
    Case {
        title: "off track conf 0.4",
        measure: "INCREASE",
        start: 0.0,
        target: 100.0,
        check_ins: &[(10.0, Some(0.4))],
        progress: 0.1,
        expected: Expected::Elapsed,
        health: "OFF_TRACK",
    },
    Case {
        title: "milestone conf 0.3",
        measure: "MILESTONE",
        start: 0.0,
        target: 1.0,
        check_ins: &[(0.0, Some(0.3))],
        progress: 0.0,
        expected: Expected::Zero,
        health: "AT_RISK",
    },
    Case {
        title: "milestone conf 0.1",
        measure: "MILESTONE",
        start: 0.0,
        target: 1.0,
        check_ins: &[(0.0, Some(0.1))],
        progress: 0.0,
        expected: Expected::Zero,
        health: "OFF_TRACK",
    },
];

/// The elapsed fraction of that period now, by the brief's formula.
fn elapsed(days: i64) -> f64 {
    let today = Utc::now().date_naive();
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let start = midnight(today - Duration::days(days));
    let end = midnight(today + Duration::days(days));
    (Utc::now() - start).num_milliseconds() as f64 / (end - start).num_milliseconds() as f64
}

fn expected_value(e: Expected, elapsed: f64) -> f64 {
    match e {
        Expected::Elapsed => elapsed,
        Expected::One => 1.0,
        Expected::Zero => 0.0,
    }
}

const CREATE_PERIOD: &str =
    "mutation($input: CreatePeriodInput!) { createPeriod(input: $input) { period { id } } }";
const NUMBERS: &str = "query($id: ID!) { node(id: $id) { ... on Objective {
    progress expectedProgress health score grade success
    keyResults { title current confidence progress expectedProgress health isStale score grade } } } }";

/// A new ACTIVE period around today, as `admin`.
async fn active_period(admin: &Session, name: &str) -> String {
    let (start, end) = period_around_today(10);
    let data = admin
        .ok(
            CREATE_PERIOD,
            json!({ "input": { "name": name, "startDate": start.to_string(), "endDate": end.to_string() } }),
        )
        .await;
    let id = data["createPeriod"]["period"]["id"].as_str().expect("period id").to_owned();
    set_period_status(admin, &id, "ACTIVE").await;
    id
}

/// An ACTIVE objective of Platform, with `extra` fields.
async fn objective(admin: &Session, period: &str, platform: &str, title: &str, extra: Value) -> String {
    let mut input =
        json!({ "periodId": period, "ownerUnitId": platform, "title": title, "status": "ACTIVE" });
    for (k, v) in extra.as_object().expect("object") {
        input[k] = v.clone();
    }
    create_objective(admin, input).await
}

async fn numbers(s: &Session, objective: &str) -> Value {
    s.ok(NUMBERS, json!({ "id": objective })).await["node"].clone()
}

fn by_title(objective: &Value) -> HashMap<String, Value> {
    objective["keyResults"]
        .as_array()
        .expect("keyResults")
        .iter()
        .map(|k| (k["title"].as_str().expect("title").to_owned(), k.clone()))
        .collect()
}

pub async fn progress_expected_progress_and_health_follow_the_brief(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let (platform, mia) = (ids.unit("Platform"), ids.person("Mia Member"));
    let period = active_period(&admin, "Around today").await;

    // Every case on one objective (weights 1).
    let every = objective(&admin, &period, &platform, "Every measure", json!({})).await;
    for c in CASES {
        let kr = key_result(&admin, &every, &mia, c.title, c.measure, c.start, c.target, 1.0).await;
        for (value, confidence) in c.check_ins {
            check_in(&admin, &kr, *value, *confidence).await;
        }
    }
    let o = numbers(&admin, &every).await;
    let e = elapsed(10);
    assert!((0.5..0.55 + ELAPSED_TOLERANCE).contains(&e), "the fixture's assumption: e = {e}");
    let krs = by_title(&o);
    assert_eq!(krs.len(), CASES.len());
    for c in CASES {
        let k = &krs[c.title];
        assert_close(&k["progress"], c.progress, EXACT, &format!("{}: progress", c.title));
        assert_close(
            &k["expectedProgress"],
            expected_value(c.expected, e),
            ELAPSED_TOLERANCE,
            &format!("{}: expectedProgress", c.title),
        );
        assert_eq!(k["health"], c.health, "{}: health of {k}", c.title);
        let current = c.check_ins.last().map_or(c.start, |(v, _)| *v);
        assert_eq!(k["current"], current, "{}: current", c.title);
        assert_eq!(
            (&k["score"], &k["grade"]),
            (&Value::Null, &Value::Null),
            "{}: no score before the review",
            c.title
        );
    }
    // The objective: the plain average (all weights 1) of its inputs'
    // progress and expected progress, and the worst health among them.
    let n = CASES.len() as f64;
    let progress = CASES.iter().map(|c| c.progress).sum::<f64>() / n;
    let expected = CASES.iter().map(|c| expected_value(c.expected, e)).sum::<f64>() / n;
    assert_close(&o["progress"], progress, EXACT, "Every measure: progress");
    assert_close(&o["expectedProgress"], expected, ELAPSED_TOLERANCE, "Every measure: expectedProgress");
    assert_eq!(o["health"], "OFF_TRACK");

    // Weighted inputs, and health as the worst of them, step by step.
    let weighted = objective(&admin, &period, &platform, "Weighted", json!({ "kind": "ASPIRATIONAL" })).await;
    let a = key_result(&admin, &weighted, &mia, "A", "INCREASE", 0.0, 100.0, 3.0).await;
    let b = key_result(&admin, &weighted, &mia, "B", "MILESTONE", 0.0, 1.0, 1.0).await;
    check_in(&admin, &a, 50.0, None).await; // 0.5, expected e, ON_TRACK
    check_in(&admin, &b, 1.0, None).await; // 1, expected 0, ON_TRACK
    let o = numbers(&admin, &weighted).await;
    let e = elapsed(10);
    assert_close(&o["progress"], (0.5 * 3.0 + 1.0) / 4.0, EXACT, "Weighted: progress");
    assert_close(&o["expectedProgress"], 3.0 * e / 4.0, ELAPSED_TOLERANCE, "Weighted: expectedProgress");
    assert_eq!(o["health"], "ON_TRACK");
    let c = key_result(&admin, &weighted, &mia, "C", "DECREASE", 200.0, 100.0, 1.0).await;
    check_in(&admin, &c, 165.0, None).await; // 0.35, expected e, AT_RISK
    let o = numbers(&admin, &weighted).await;
    let e = elapsed(10);
    assert_close(&o["progress"], (0.5 * 3.0 + 1.0 + 0.35) / 5.0, EXACT, "Weighted + C: progress");
    assert_close(&o["expectedProgress"], 4.0 * e / 5.0, ELAPSED_TOLERANCE, "Weighted + C: expectedProgress");
    assert_eq!(o["health"], "AT_RISK", "the worst input is AT_RISK");
    check_in(&admin, &c, 165.0, Some(0.1)).await;
    let o = numbers(&admin, &weighted).await;
    assert_eq!(o["health"], "OFF_TRACK", "a confidence of 0.1 makes C, and so the objective, OFF_TRACK");
    assert_close(&o["progress"], (0.5 * 3.0 + 1.0 + 0.35) / 5.0, EXACT, "confidence does not move progress");

    // An objective without inputs: progress 0, expected 0, no health.
    let empty = objective(&admin, &period, &platform, "Empty", json!({})).await;
    let o = numbers(&admin, &empty).await;
    assert_eq!(
        (&o["progress"], &o["expectedProgress"], &o["health"]),
        (&json!(0.0), &json!(0.0), &Value::Null)
    );

    // Aligned objectives: the plain average of the children, the worst
    // health among them (the empty child has none and counts 0 in the
    // averages).
    let parent = objective(&admin, &period, &platform, "Parent", json!({})).await;
    let steady =
        objective(&admin, &period, &platform, "Steady", json!({ "parentObjectiveId": parent })).await;
    let s = key_result(&admin, &steady, &mia, "S", "MAINTAIN_ABOVE", 95.0, 90.0, 1.0).await;
    check_in(&admin, &s, 100.0, None).await; // 1, expected 1, ON_TRACK
    let reparent =
        "mutation($input: ReparentObjectiveInput!) { reparentObjective(input: $input) { objective { id } } }";
    for child in [&weighted, &empty] {
        admin.ok(reparent, json!({ "input": { "id": child, "parentObjectiveId": parent } })).await;
    }
    let o = numbers(&admin, &parent).await;
    let e = elapsed(10);
    let weighted_progress = (0.5 * 3.0 + 1.0 + 0.35) / 5.0;
    assert_close(&o["progress"], (weighted_progress + 1.0 + 0.0) / 3.0, EXACT, "Parent: progress");
    assert_close(
        &o["expectedProgress"],
        (4.0 * e / 5.0 + 1.0 + 0.0) / 3.0,
        ELAPSED_TOLERANCE,
        "Parent: expected",
    );
    assert_eq!(o["health"], "OFF_TRACK");
    assert_eq!(titles(&o["keyResults"]), Vec::<String>::new());
}

const CLOSE: &str =
    "mutation($input: ClosePeriodInput!) { closePeriod(input: $input) { period { status } } }";

pub async fn score_grade_and_success_appear_when_the_period_closes(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let hana = w.a.session(&w.store, "Hana Human").await;
    let max = w.a.session(&w.store, "Max Manager").await;
    let ids = admin.ids().await;
    let (platform, mia) = (ids.unit("Platform"), ids.person("Mia Member"));
    let period = active_period(&admin, "Closing").await;

    // (title, kind, value reached of 0 → 100, score, grade, success)
    let cases: [(&str, &str, f64, f64, &str, bool); 7] = [
        ("stretch 70", "ASPIRATIONAL", 70.0, 0.7, "GREEN", true),
        ("stretch 69", "ASPIRATIONAL", 69.0, 0.69, "YELLOW", false),
        ("committed 99", "COMMITTED", 99.0, 0.99, "GREEN", false),
        ("committed 100", "COMMITTED", 100.0, 1.0, "GREEN", true),
        ("committed 40", "COMMITTED", 40.0, 0.4, "YELLOW", false),
        ("committed 39", "COMMITTED", 39.0, 0.39, "RED", false),
        ("stretch 0", "ASPIRATIONAL", 0.0, 0.0, "RED", false),
    ];
    let parent = objective(&admin, &period, &platform, "Parent", json!({ "kind": "COMMITTED" })).await;
    let mut objectives = Vec::new();
    for (title, kind, value, ..) in cases {
        let o = objective(
            &admin,
            &period,
            &platform,
            title,
            json!({ "kind": kind, "parentObjectiveId": parent }),
        )
        .await;
        let kr = key_result(&admin, &o, &mia, &format!("{title} KR"), "INCREASE", 0.0, 100.0, 1.0).await;
        if value > 0.0 {
            check_in(&admin, &kr, value, None).await;
        }
        objectives.push((o, kr));
    }
    // Before the review: no score, grade or success.
    for ((title, ..), (o, _)) in cases.iter().zip(&objectives) {
        let n = numbers(&admin, o).await;
        assert_eq!(
            (&n["score"], &n["grade"], &n["success"]),
            (&Value::Null, &Value::Null, &Value::Null),
            "{title} before closing"
        );
        assert_eq!(
            (&n["keyResults"][0]["score"], &n["keyResults"][0]["grade"]),
            (&Value::Null, &Value::Null)
        );
    }
    // Only HR and ADMIN close a period.
    let r = max.gql(CLOSE, json!({ "input": { "periodId": period } })).await;
    expect_error(&r, "FORBIDDEN", None);
    assert_eq!(numbers(&admin, &objectives[0].0).await["score"], Value::Null);
    let r = hana.gql(CLOSE, json!({ "input": { "periodId": period } })).await;
    assert_eq!(expect_data(&r)["closePeriod"]["period"]["status"], "CLOSED");

    for ((title, _, _, score, grade, success), (o, _)) in cases.iter().zip(&objectives) {
        let n = numbers(&admin, o).await;
        assert_close(&n["score"], *score, EXACT, &format!("{title}: score"));
        assert_eq!((&n["grade"], &n["success"]), (&json!(grade), &json!(success)), "{title}");
        let k = &n["keyResults"][0];
        assert_close(&k["score"], *score, EXACT, &format!("{title}: key result score"));
        assert_eq!(k["grade"], *grade, "{title}: key result grade");
    }
    // The parent's score by its driver: the average of its children.
    let total: f64 = cases.iter().map(|c| c.3).sum();
    let n = numbers(&admin, &parent).await;
    let parent_score = total / cases.len() as f64; // 4.17 / 7 ≈ 0.596
    assert_close(&n["score"], parent_score, EXACT, "Parent: score");
    assert_eq!((&n["grade"], &n["success"]), (&json!("YELLOW"), &json!(false)));

    // Frozen: no more check-ins, the score stays.
    let r = admin.gql(CHECK_IN, json!({ "input": { "keyResultId": objectives[1].1, "value": 100.0 } })).await;
    expect_error(&r, "BAD_USER_INPUT", None);
    assert_close(&numbers(&admin, &objectives[1].0).await["score"], 0.69, EXACT, "stretch 69 after closing");
}

const IS_STALE: &str = "query($id: ID!) { node(id: $id) { ... on KeyResult { title isStale } } }";
const UPDATE_ORGANIZATION: &str = "mutation($input: UpdateOrganizationInput!) {
    updateOrganization(input: $input) { organization { settings { checkInCadenceDays } } } }";

/// A key result of an ACTIVE objective is stale with no check-in within the
/// cadence. The clock starts when the key result is created (or when its
/// period starts, if later), and the cadence is at least one day, so a
/// test cannot wait for a key result to go stale; instead the request is
/// given the settings of an organization whose cadence has already passed
/// (0 days: any time since the last check-in is too long), which the server
/// would build from stored settings. Everything else is the real path.
pub async fn key_results_go_stale_after_the_cadence(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let (platform, mia) = (ids.unit("Platform"), ids.person("Mia Member"));
    let period = active_period(&admin, "Stale").await;
    let active = objective(&admin, &period, &platform, "Active", json!({})).await;
    let draft = objective(&admin, &period, &platform, "Draft", json!({ "status": "DRAFT" })).await;
    let fresh = key_result(&admin, &active, &mia, "fresh", "INCREASE", 0.0, 10.0, 1.0).await;
    let checked = key_result(&admin, &active, &mia, "checked", "INCREASE", 0.0, 10.0, 1.0).await;
    let drafted = key_result(&admin, &draft, &mia, "drafted", "INCREASE", 0.0, 10.0, 1.0).await;
    check_in(&admin, &checked, 3.0, None).await;

    // With the default cadence (7 days), nothing created or checked in now is stale.
    for kr in [&fresh, &checked, &drafted] {
        assert_eq!(admin.ok(IS_STALE, json!({ "id": kr })).await["node"]["isStale"], false);
    }
    // The cadence cannot be set below one day.
    let r =
        admin.gql(UPDATE_ORGANIZATION, json!({ "input": { "settings": { "checkInCadenceDays": 0 } } })).await;
    expect_error(&r, "BAD_USER_INPUT", Some("checkInCadenceDays"));

    // Once the cadence has passed, the ACTIVE objective's key results are
    // stale, checked in or not; the DRAFT objective's are not.
    let mut later = admin.clone();
    later.ctx.settings.check_in_cadence_days = 0;
    for (kr, stale) in [(&fresh, true), (&checked, true), (&drafted, false)] {
        let node = later.ok(IS_STALE, json!({ "id": kr })).await["node"].clone();
        assert_eq!(node["isStale"], stale, "{node}");
    }
}
