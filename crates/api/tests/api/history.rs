//! `asOf` of objectives, key results and the alignment tree: at several instants the numbers
//! equal a replay, by hand, of the check-ins made up to each instant (the
//! latest one sets the value; progress, expected progress, health and the
//! rollup follow the product brief's formulas); today's `asOf` equals the
//! stored numbers (a positive control of the replay); the future is
//! refused, naming the field.

use crate::okr_support::{create_key_result, create_objective};
use crate::support::{World, expect_error};
use async_graphql::ID;
use chrono::{DateTime, Utc};
use goalgraph_api::ids::{NodeType, decode_id};
use goalgraph_domain::KeyResultId;
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const AS_OF: &str = "query($id: ID!, $at: DateTime!) { node(id: $id) {
    ... on Objective { progress asOf(at: $at) { at progress expectedProgress health current } }
    ... on KeyResult { progress current asOf(at: $at) { progress expectedProgress health current confidence lastCheckInAt } } } }";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("a time").with_timezone(&Utc)
}

/// (time, value, confidence) check-ins of a key result.
type History = [(&'static str, f64, Option<f64>)];

/// The value then: the latest check-in at or before `t`, else the start 0.
fn value_at(history: &History, t: DateTime<Utc>) -> (f64, Option<f64>) {
    history.iter().rfind(|(when, _, _)| at(when) <= t).map(|(_, v, c)| (*v, *c)).unwrap_or((0.0, None))
}

/// The health of an INCREASE key result by the brief's table (gaps 0.10
/// and 0.25; confidence below 0.5 at most AT_RISK, below 0.2 OFF_TRACK).
fn health(progress: f64, expected: f64, confidence: Option<f64>) -> &'static str {
    let gap = expected - progress;
    let by_gap = if gap <= 0.10 + 1e-9 {
        0
    } else if gap <= 0.25 + 1e-9 {
        1
    } else {
        2
    };
    let level = match confidence {
        Some(c) if c < 0.2 => 2,
        Some(c) if c < 0.5 => by_gap.max(1),
        _ => by_gap,
    };
    ["ON_TRACK", "AT_RISK", "OFF_TRACK"][level]
}

fn close(v: &Value, want: f64, what: &str) {
    let got = v.as_f64().unwrap_or_else(|| panic!("{what}: not a number: {v}"));
    assert!((got - want).abs() < 1e-9, "{what}: {got} vs {want}");
}

pub async fn as_of_replays_the_check_ins_up_to_each_instant(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    // Winter 2026: 2026-01-01 to 03-31 in UTC, 90 days.
    let winter = ids.period("Winter 2026");
    let ada = ids.person("Ada Admin");
    let parent = create_objective(
        &admin,
        json!({ "periodId": winter, "ownerUnitId": ids.unit("Alpha Corp"), "title": "Parent", "status": "ACTIVE" }),
    )
    .await;
    let objective = create_objective(
        &admin,
        json!({ "periodId": winter, "ownerUnitId": ids.unit("Engineering"), "title": "Child",
                "status": "ACTIVE", "parentObjectiveId": parent }),
    )
    .await;
    let kr = |title: &str, target: f64, weight: f64| {
        json!({ "objectiveId": objective, "ownerId": ada, "title": title, "measure": "INCREASE",
                "start": 0.0, "target": target, "weight": weight })
    };
    let a = create_key_result(&admin, kr("A", 100.0, 1.0)).await;
    let b = create_key_result(&admin, kr("B", 10.0, 3.0)).await;
    let history_a: &History = &[
        ("2026-01-10T09:00:00Z", 20.0, Some(0.9)),
        ("2026-02-01T09:00:00Z", 50.0, None),
        ("2026-03-01T09:00:00Z", 70.0, Some(0.3)),
    ];
    let history_b: &History =
        &[("2026-01-20T12:00:00Z", 2.0, None), ("2026-02-15T12:00:00Z", 6.0, Some(0.1))];
    for (kr, history) in [(&a, history_a), (&b, history_b)] {
        let id: KeyResultId = decode_id("id", NodeType::KeyResult, &ID::from(kr.as_str())).unwrap();
        let points: Vec<(DateTime<Utc>, f64, Option<f64>)> =
            history.iter().map(|(t, v, c)| (at(t), *v, *c)).collect();
        admin.store.import_check_ins(&admin.ctx.actor, id, &points).await.expect("import");
    }
    let start = at("2026-01-01T00:00:00Z");
    let days = 90.0 * 86_400.0;
    for t in [
        "2025-12-20T00:00:00Z",
        "2026-01-10T09:00:00Z", // the instant of a check-in: it counts
        "2026-01-15T00:00:00Z",
        "2026-01-25T00:00:00Z",
        "2026-02-10T00:00:00Z",
        "2026-02-20T00:00:00Z",
        "2026-03-15T00:00:00Z",
        "2026-06-01T00:00:00Z",
    ] {
        let when = at(t);
        let expected = ((when - start).num_seconds() as f64 / days).clamp(0.0, 1.0);
        let (va, ca) = value_at(history_a, when);
        let (vb, cb) = value_at(history_b, when);
        let (pa, pb) = ((va / 100.0).clamp(0.0, 1.0), (vb / 10.0).clamp(0.0, 1.0));
        for (kr, v, p, c) in [(&a, va, pa, ca), (&b, vb, pb, cb)] {
            let node = admin.ok(AS_OF, json!({ "id": kr, "at": t })).await["node"]["asOf"].clone();
            close(&node["current"], v, &format!("{t}: value"));
            close(&node["progress"], p, &format!("{t}: progress"));
            close(&node["expectedProgress"], expected, &format!("{t}: expected"));
            assert_eq!(node["health"], health(p, expected, c), "{t}: health of {node}");
            assert_eq!(node["confidence"], json!(c), "{t}");
        }
        // The child: weights 1 and 3; its health the worse of the two.
        let child = admin.ok(AS_OF, json!({ "id": objective, "at": t })).await["node"]["asOf"].clone();
        let progress = (pa + 3.0 * pb) / 4.0;
        close(&child["progress"], progress, &format!("{t}: child"));
        close(&child["expectedProgress"], expected, &format!("{t}: child expected"));
        let worst = [health(pa, expected, ca), health(pb, expected, cb)]
            .into_iter()
            .max_by_key(|h| ["ON_TRACK", "AT_RISK", "OFF_TRACK"].iter().position(|x| x == h))
            .unwrap();
        assert_eq!(child["health"], worst, "{t}");
        assert!(child["current"].is_null());
        // The parent has no key results: the average of its one child.
        let up = admin.ok(AS_OF, json!({ "id": parent, "at": t })).await["node"]["asOf"].clone();
        close(&up["progress"], progress, &format!("{t}: parent"));
        // The alignment tree as of then: both rows, the same numbers.
        let tree = admin
            .ok(
                "query($p: ID!, $at: DateTime!) { alignmentTree(periodId: $p, asOf: $at) {
                    edges { node { objective { title } asOf { at progress health } } } } }",
                json!({ "p": winter, "at": t }),
            )
            .await;
        let edges = tree["alignmentTree"]["edges"].as_array().unwrap().clone();
        assert_eq!(edges.len(), 2, "{tree}");
        for e in &edges {
            close(&e["node"]["asOf"]["progress"], progress, &format!("{t}: tree row {e}"));
            assert_eq!(e["node"]["asOf"]["at"].as_str().map(at), Some(when), "{e}");
        }
        let child_row = edges.iter().find(|e| e["node"]["objective"]["title"] == "Child").unwrap();
        assert_eq!(child_row["node"]["asOf"]["health"], worst, "{t}");
    }
    // Today's asOf is what is stored (positive control of the replay).
    let now = Utc::now().to_rfc3339();
    for id in [&a, &b, &objective, &parent] {
        let node = admin.ok(AS_OF, json!({ "id": id, "at": now })).await["node"].clone();
        close(&node["asOf"]["progress"], node["progress"].as_f64().unwrap(), "today");
    }
    let node = admin.ok(AS_OF, json!({ "id": a, "at": now })).await["node"].clone();
    close(&node["current"], 70.0, "stored value");
    // Without asOf the rows carry none.
    let tree = admin
        .ok(
            "query($p: ID!) { alignmentTree(periodId: $p) { edges { node { asOf { at } } } } }",
            json!({ "p": winter }),
        )
        .await;
    assert!(tree["alignmentTree"]["edges"][0]["node"]["asOf"].is_null(), "{tree}");
    // The future is refused, naming the field.
    let future = (Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let err = admin.gql(AS_OF, json!({ "id": a, "at": future })).await;
    expect_error(&err, "BAD_USER_INPUT", Some("at"));
    let err = admin
        .gql(
            "query($p: ID!, $at: DateTime!) { alignmentTree(periodId: $p, asOf: $at) { totalCount } }",
            json!({ "p": winter, "at": future }),
        )
        .await;
    expect_error(&err, "BAD_USER_INPUT", Some("asOf"));
    // Hidden objects stay hidden, as of any date: another tenant gets null.
    let b_admin = w.b_admin().await;
    let other = b_admin.ok(AS_OF, json!({ "id": objective, "at": "2026-02-10T00:00:00Z" })).await;
    assert!(other["node"].is_null(), "{other}");
}
