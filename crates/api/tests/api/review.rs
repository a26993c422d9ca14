//! `periodReview` (issue 9) on a hand-made period, against counts worked
//! out from PRODUCT.md ("grade", "success", the review guidance): as the
//! ADMIN, who sees everything, and as Mia, a MEMBER, whose review differs
//! exactly by the two PRIVATE objectives of Olga she may not see (and the
//! PEOPLE KPI she may not see). Then the period closes and the scores stop
//! being provisional.
//!
//! Period "Review April" (2026-04-01..04-30, UTC). Objectives, each with
//! INCREASE key results 0 → 100 whose check-ins set the progress:
//! ```text
//! title            owner     kind  visibility progress grade  outcome
//! P full           Platform  C     PUBLIC     1.0      GREEN  succeeded (KRs: full kr, promoted kr, milestone)
//! P 0.8            Platform  C     PUBLIC     0.8      GREEN  missed (COMMITTED needs 1.0)
//! P stretch 0.7    Platform  A     PUBLIC     0.7      GREEN  succeeded (ASPIRATIONAL at 0.7)
//! P stretch 0.5    Platform  A     PUBLIC     0.5      YELLOW missed
//! P 0.2            Platform  C     PUBLIC     0.2      RED    missed
//! P cancelled      Platform  C     PUBLIC     -        -      not reviewed
//! Fix K3           Platform  C     PUBLIC     0.8      GREEN  missed; DRAFT, its KR follows KPI K3 (at 80)
//! Olga private     Olga      C     PRIVATE    1.0      GREEN  succeeded   hidden from Mia
//! Olga private 0.3 Olga      A     PRIVATE    0.3      RED    missed      hidden from Mia
//! Olga 1 … Olga 4  Olga      C     PUBLIC     0 (none) RED    missed
//! ```
//! Olga has 6 ACTIVE objectives (more than 5): overloaded for the admin; Mia
//! sees 4 of them. Platform has 5 ACTIVE ones (the cancelled and the draft
//! do not count): not more than 5.
//!
//! KPIs (healthy at ≥ 90 unless said): Churn (80 on Mar 15, 70 on Apr 10,
//! 75 on Apr 25: out through the period); Late (95 on Mar 15, 70 on Apr 10:
//! out only from Apr 10); K3 (80 on Mar 15 and Apr 10: out through the
//! period, but Fix K3 works on it); Absenteeism, a PEOPLE KPI of Mobile,
//! healthy at ≤ 5 (8 on Mar 15, 9 on Apr 20: out through the period; Mia
//! may not see it). "promoted kr" was promoted to a KPI (healthy at ≥ 50,
//! its check-in of 100: healthy).

use crate::kpi_support::{create_kpi, kpi_input, record};
use crate::okr_support::key_result;
use crate::okr_support::{create_objective, random_id, set_period_status};
use crate::support::{Session, World, expect_data, expect_error};
use crate::trajectory::{at, import, period};
use goalgraph_api::ids::NodeType;
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const REVIEW: &str = "query($p: ID!) { periodReview(periodId: $p) {
    period { name } provisional objectiveCount
    scoreDistribution { red yellow green }
    succeeded { committed aspirational total objectives { title } }
    missed { committed aspirational total objectives { title } }
    kpiCandidates { title }
    breachedKpisWithoutObjective { name }
    overloadedOwners { owner { __typename ... on Person { name } ... on Unit { name } } activeObjectives threshold } } }";

/// The titles (or names) of a list, sorted here: the order of titles in
/// SQL follows each database's collation.
fn titles(list: &Value) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|o| o["title"].as_str().or(o["name"].as_str()).expect("title or name").to_owned())
        .collect();
    out.sort();
    out
}

/// An ACTIVE objective with one key result checked in at `value` on April
/// 10th (none when `value` is None); its id and its key result's.
#[allow(clippy::too_many_arguments)]
async fn objective(
    admin: &Session,
    p: &str,
    owner: (&str, &str),
    title: &str,
    kind: &str,
    visibility: &str,
    value: Option<f64>,
    kr_owner: &str,
) -> (String, String) {
    let o = create_objective(
        admin,
        json!({ "periodId": p, owner.0: owner.1, "title": title, "kind": kind,
                "visibility": visibility, "status": "ACTIVE" }),
    )
    .await;
    let mut kr = String::new();
    if let Some(v) = value {
        kr = key_result(admin, &o, kr_owner, &format!("{title} kr"), "INCREASE", 0.0, 100.0, 1.0).await;
        import(admin, &kr, &[("2026-04-10T00:00:00Z", v)]).await;
    }
    (o, kr)
}

pub async fn period_review_counts_what_the_reader_may_see(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let p = period(&admin, "Review April", "2026-04-01", "2026-04-30").await;
    let platform = ("ownerUnitId", ids.unit("Platform"));
    let platform = (platform.0, platform.1.as_str());
    let olga_id = ids.person("Olga Other");
    let olga = ("ownerPersonId", olga_id.as_str());
    let mia = ids.person("Mia Member");

    let (full, _) = objective(&admin, &p, platform, "P full", "COMMITTED", "PUBLIC", None, &mia).await;
    let full_kr = key_result(&admin, &full, &mia, "full kr", "INCREASE", 0.0, 100.0, 1.0).await;
    let promoted = key_result(&admin, &full, &mia, "promoted kr", "INCREASE", 0.0, 100.0, 1.0).await;
    let milestone = key_result(&admin, &full, &mia, "milestone", "MILESTONE", 0.0, 1.0, 1.0).await;
    import(&admin, &full_kr, &[("2026-04-10T00:00:00Z", 100.0)]).await;
    import(&admin, &promoted, &[("2026-04-10T00:00:00Z", 100.0)]).await;
    import(&admin, &milestone, &[("2026-04-10T00:00:00Z", 1.0)]).await;
    let promote = "mutation($input: PromoteKeyResultToKpiInput!) { promoteKeyResultToKpi(input: $input) { kpi { id } } }";
    expect_data(
        &admin
            .gql(
                promote,
                json!({ "input": { "keyResultId": promoted, "healthyLower": 50.0, "cadence": "WEEKLY" } }),
            )
            .await,
    );
    objective(&admin, &p, platform, "P 0.8", "COMMITTED", "PUBLIC", Some(80.0), &mia).await;
    objective(&admin, &p, platform, "P stretch 0.7", "ASPIRATIONAL", "PUBLIC", Some(70.0), &mia).await;
    objective(&admin, &p, platform, "P stretch 0.5", "ASPIRATIONAL", "PUBLIC", Some(50.0), &mia).await;
    objective(&admin, &p, platform, "P 0.2", "COMMITTED", "PUBLIC", Some(20.0), &mia).await;
    let (cancelled, _) =
        objective(&admin, &p, platform, "P cancelled", "COMMITTED", "PUBLIC", Some(100.0), &mia).await;
    let cancel = "mutation($input: TransitionObjectiveInput!) { transitionObjective(input: $input) { objective { status } } }";
    expect_data(
        &admin
            .gql(
                cancel,
                json!({ "input": { "id": cancelled, "status": "CANCELLED", "reason": "market moved" } }),
            )
            .await,
    );
    objective(&admin, &p, olga, "Olga private", "COMMITTED", "PRIVATE", Some(100.0), &olga_id).await;
    objective(&admin, &p, olga, "Olga private 0.3", "ASPIRATIONAL", "PRIVATE", Some(30.0), &olga_id).await;
    for i in 1..=4 {
        objective(&admin, &p, olga, &format!("Olga {i}"), "COMMITTED", "PUBLIC", None, &olga_id).await;
    }

    // KPIs.
    let (engineering, max) = (ids.unit("Engineering"), ids.person("Max Manager"));
    let churn = create_kpi(&admin, kpi_input(&engineering, &max, "Churn", json!({}))).await;
    record(
        &admin,
        &churn,
        &[
            (at("2026-03-15T00:00:00Z"), 80.0),
            (at("2026-04-10T00:00:00Z"), 70.0),
            (at("2026-04-25T00:00:00Z"), 75.0),
        ],
    )
    .await;
    let late = create_kpi(&admin, kpi_input(&engineering, &max, "Late", json!({}))).await;
    record(&admin, &late, &[(at("2026-03-15T00:00:00Z"), 95.0), (at("2026-04-10T00:00:00Z"), 70.0)]).await;
    let k3 = create_kpi(&admin, kpi_input(&engineering, &max, "K3", json!({}))).await;
    record(&admin, &k3, &[(at("2026-03-15T00:00:00Z"), 80.0), (at("2026-04-10T00:00:00Z"), 80.0)]).await;
    let absent = create_kpi(
        &admin,
        kpi_input(
            &ids.unit("Mobile"),
            &olga_id,
            "Absenteeism",
            json!({ "category": "PEOPLE", "direction": "LOWER_IS_BETTER", "healthyLower": null, "healthyUpper": 5.0 }),
        ),
    )
    .await;
    record(&admin, &absent, &[(at("2026-03-15T00:00:00Z"), 8.0), (at("2026-04-20T00:00:00Z"), 9.0)]).await;
    let fix = create_objective(
        &admin,
        json!({ "periodId": p, "ownerUnitId": ids.unit("Platform"), "title": "Fix K3", "status": "DRAFT" }),
    )
    .await;
    let fix_kr = key_result(&admin, &fix, &mia, "Fix K3 kr", "INCREASE", 0.0, 100.0, 1.0).await;
    let link = "mutation($input: LinkKeyResultToKpiInput!) { linkKeyResultToKpi(input: $input) { keyResult { current progress } } }";
    let linked =
        expect_data(&admin.gql(link, json!({ "input": { "keyResultId": fix_kr, "kpiId": k3 } })).await);
    assert_eq!(linked["linkKeyResultToKpi"]["keyResult"]["current"], 80.0, "the KPI's latest in April");

    // ADMIN: everything.
    let data = admin.ok(REVIEW, json!({ "p": p })).await;
    let r = &data["periodReview"];
    assert_eq!((&r["period"]["name"], &r["provisional"]), (&json!("Review April"), &json!(true)));
    assert_eq!(r["objectiveCount"], 12);
    assert_eq!(r["scoreDistribution"], json!({ "red": 6, "yellow": 1, "green": 5 }));
    assert_eq!(
        (&r["succeeded"]["committed"], &r["succeeded"]["aspirational"], &r["succeeded"]["total"]),
        (&json!(2), &json!(1), &json!(3))
    );
    assert_eq!(titles(&r["succeeded"]["objectives"]), ["Olga private", "P full", "P stretch 0.7"]);
    assert_eq!(
        (&r["missed"]["committed"], &r["missed"]["aspirational"], &r["missed"]["total"]),
        (&json!(7), &json!(2), &json!(9))
    );
    assert_eq!(
        titles(&r["missed"]["objectives"]),
        [
            "Fix K3",
            "Olga 1",
            "Olga 2",
            "Olga 3",
            "Olga 4",
            "Olga private 0.3",
            "P 0.2",
            "P 0.8",
            "P stretch 0.5"
        ]
    );
    assert_eq!(titles(&r["kpiCandidates"]), ["Olga private kr", "full kr"]);
    assert_eq!(titles(&r["breachedKpisWithoutObjective"]), ["Absenteeism", "Churn"]);
    assert_eq!(
        r["overloadedOwners"],
        json!([{ "owner": { "__typename": "Person", "name": "Olga Other" }, "activeObjectives": 6, "threshold": 5 }])
    );

    // MEMBER: the same minus Olga's two PRIVATE objectives (GREEN succeeded
    // COMMITTED, RED missed ASPIRATIONAL), her private key result, the
    // PEOPLE KPI, and Olga's load (4 visible).
    let member = w.a.session(&w.store, "Mia Member").await;
    let data = member.ok(REVIEW, json!({ "p": p })).await;
    let m = &data["periodReview"];
    assert_eq!(m["objectiveCount"], 10);
    assert_eq!(m["scoreDistribution"], json!({ "red": 5, "yellow": 1, "green": 4 }));
    assert_eq!((&m["succeeded"]["committed"], &m["succeeded"]["aspirational"]), (&json!(1), &json!(1)));
    assert_eq!(titles(&m["succeeded"]["objectives"]), ["P full", "P stretch 0.7"]);
    assert_eq!((&m["missed"]["committed"], &m["missed"]["aspirational"]), (&json!(7), &json!(1)));
    assert_eq!(
        titles(&m["missed"]["objectives"]),
        ["Fix K3", "Olga 1", "Olga 2", "Olga 3", "Olga 4", "P 0.2", "P 0.8", "P stretch 0.5"]
    );
    assert_eq!(titles(&m["kpiCandidates"]), ["full kr"]);
    assert_eq!(titles(&m["breachedKpisWithoutObjective"]), ["Churn"]);
    assert_eq!(m["overloadedOwners"], json!([]));
    let text = data.to_string();
    for hidden in ["Olga private", "Absenteeism"] {
        assert!(!text.contains(hidden), "{hidden} is named to a member: {text}");
    }

    // The statements do not depend on the objectives: an empty period costs
    // the same (owners asked for by count only: naming one is one batched
    // statement more, which the empty period has no owner to need).
    let cost_query = REVIEW.replace(
        "owner { __typename ... on Person { name } ... on Unit { name } } activeObjectives",
        "activeObjectives",
    );
    let empty = period(&admin, "Empty May", "2026-05-01", "2026-05-31").await;
    let before = w.store.statement_count();
    admin.ok(&cost_query, json!({ "p": p })).await;
    let full_cost = w.store.statement_count() - before;
    let before = w.store.statement_count();
    let data = admin.ok(&cost_query, json!({ "p": empty })).await;
    let empty_cost = w.store.statement_count() - before;
    assert_eq!(data["periodReview"]["objectiveCount"], 0);
    assert_eq!(full_cost, empty_cost, "statements for 12 objectives and for none");

    // Unknown, another tenant's, or malformed.
    expect_error(&admin.gql(REVIEW, json!({ "p": random_id(NodeType::Period) })).await, "NOT_FOUND", None);
    expect_error(&w.b_admin().await.gql(REVIEW, json!({ "p": p })).await, "NOT_FOUND", None);
    expect_error(&admin.gql(REVIEW, json!({ "p": "garbage" })).await, "BAD_USER_INPUT", Some("periodId"));

    // Closed: the scores are frozen, no longer provisional; same counts.
    set_period_status(&admin, &p, "REVIEW").await;
    let close = "mutation($input: ClosePeriodInput!) { closePeriod(input: $input) { period { status } } }";
    expect_data(&admin.gql(close, json!({ "input": { "periodId": p } })).await);
    let data = admin.ok(REVIEW, json!({ "p": p })).await;
    let c = &data["periodReview"];
    assert_eq!(c["provisional"], false);
    assert_eq!(c["scoreDistribution"], json!({ "red": 6, "yellow": 1, "green": 5 }));
    assert_eq!(c["succeeded"]["total"], 3);
}
