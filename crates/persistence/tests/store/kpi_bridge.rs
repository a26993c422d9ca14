//! The bridge between KPIs and OKRs: a key result that follows a KPI, an
//! objective drafted from a KPI, and a key result promoted to a KPI.
//! Expected numbers are computed by hand in the comments.

use crate::common::{assert_invalid, connect, tenant};
use crate::goals_fixture::{
    active_quarter, assert_close, check_in, check_in_input, close, key_result, key_result_row, objective,
    progress_of,
};
use crate::kpi_fixture::{create_kpi, day, measurement_rows, new_kpi, record};
use goalgraph_domain::insights::InsightKind;
use goalgraph_domain::kpi::{Cadence, Direction};
use goalgraph_domain::model::PeriodStatus;
use goalgraph_domain::okr::{Measure, ObjectiveStatus, Owner};
use goalgraph_persistence::KpiRef;
use goalgraph_testkit::TestDb;

pub async fn linked_key_results_follow_their_kpi(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "bridge").await;
    let org = t.org.id;
    let q2 = active_quarter(&store, &t).await; // 2026-04-01 .. 2026-06-30, UTC
    let uptime = create_kpi(&store, &t.actor, new_kpi(t.company.id, t.admin.id, "Uptime")).await;
    let o = objective(&store, &t.actor, q2.id, Owner::Unit(t.company.id), "Be reliable", None).await;
    let kr = key_result(&store, &t.actor, o.id, t.admin.id, Measure::Increase, 80.0, 100.0, 1.0).await;

    record(
        &store,
        &t.actor,
        uptime.id,
        &[(day(2026, 3, 31), 99.0), (day(2026, 4, 10), 85.0), (day(2026, 5, 20), 90.0)],
    )
    .await;
    // Positive control: before the link, measurements do not touch the key result.
    assert_close(key_result_row(&store, org, kr.id).await.current_value, 80.0, "unlinked current");

    // Linked: the latest point within the period by observed time is May
    // 20th's 90 (March 31st is before the period): (90 - 80) / 20 = 0.5.
    let linked = store.link_key_result_to_kpi(&t.actor, kr.id, Some(uptime.id)).await.unwrap();
    assert_close(linked.current, 90.0, "linked current");
    assert_close(linked.progress, 0.5, "linked progress");
    assert_close(progress_of(&store, org, o.id).await, 0.5, "objective follows");

    // A late backfill older than the latest point does not override it;
    // a point after the period's end does not count either.
    record(&store, &t.actor, uptime.id, &[(day(2026, 4, 15), 95.0), (day(2026, 7, 2), 100.0)]).await;
    assert_close(key_result_row(&store, org, kr.id).await.current_value, 90.0, "backfill and outside points");
    // A newer point inside the period moves it: (96 - 80) / 20 = 0.8.
    record(&store, &t.actor, uptime.id, &[(day(2026, 6, 1), 96.0)]).await;
    assert_close(key_result_row(&store, org, kr.id).await.progress, 0.8, "newer point");
    assert_close(progress_of(&store, org, o.id).await, 0.8, "objective moves with it");

    // No double entry: a manual check-in on a linked key result is refused.
    assert_invalid(store.check_in(&t.actor, check_in_input(kr.id, 99.0)).await, "keyResultId");

    // Closed: the score is frozen, and later points leave the key result alone.
    close(&store, &t, q2.id).await;
    record(&store, &t.actor, uptime.id, &[(day(2026, 6, 20), 100.0)]).await;
    let frozen = key_result_row(&store, org, kr.id).await;
    assert_close(frozen.current_value, 96.0, "frozen current");
    assert_close(frozen.score.unwrap_or(-1.0), 0.8, "frozen score");

    // Unlinking before a close lets check-ins resume (another period).
    let q3 = crate::goals_fixture::period(
        &store,
        &t,
        "Q3",
        crate::goals_fixture::date(2026, 7, 1),
        crate::goals_fixture::date(2026, 9, 30),
    )
    .await;
    let q3 = store.transition_period(&t.actor, q3.id, PeriodStatus::Active, None).await.unwrap();
    let o3 = objective(&store, &t.actor, q3.id, Owner::Unit(t.company.id), "Stay reliable", None).await;
    let kr3 = key_result(&store, &t.actor, o3.id, t.admin.id, Measure::Increase, 80.0, 100.0, 1.0).await;
    store.link_key_result_to_kpi(&t.actor, kr3.id, Some(uptime.id)).await.unwrap();
    assert_close(key_result_row(&store, org, kr3.id).await.current_value, 100.0, "Q3 follows July 2nd");
    store.link_key_result_to_kpi(&t.actor, kr3.id, None).await.unwrap();
    check_in(&store, &t.actor, kr3.id, 85.0).await;
    assert_close(key_result_row(&store, org, kr3.id).await.current_value, 85.0, "check-ins resume");
}

pub async fn objectives_are_drafted_from_kpis(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "draft").await;
    let org = t.org.id;
    let q2 = active_quarter(&store, &t).await;
    let kpi = create_kpi(&store, &t.actor, new_kpi(t.company.id, t.admin.id, "Uptime")).await;

    // Nothing to move from without a measurement: refused, nothing written.
    let objectives_before = crate::goals_fixture::objective_rows(&store, org).await;
    assert_invalid(store.create_objective_from_kpi(&t.actor, kpi.id, q2.id, 95.0).await, "kpiId");
    assert_eq!(crate::goals_fixture::objective_rows(&store, org).await, objectives_before);

    record(&store, &t.actor, kpi.id, &[(day(2026, 5, 1), 70.0)]).await;
    assert_invalid(store.create_objective_from_kpi(&t.actor, kpi.id, q2.id, 70.0).await, "target");
    let (o, kr) = store.create_objective_from_kpi(&t.actor, kpi.id, q2.id, 95.0).await.unwrap();
    assert_eq!(o.status, ObjectiveStatus::Draft);
    assert_eq!(o.owner, Owner::Unit(t.company.id));
    assert_eq!(kr.title, "Move Uptime from 70 to 95");
    assert_eq!((kr.measure, kr.start, kr.target, kr.owner_id), (Measure::Increase, 70.0, 95.0, t.admin.id));
    let linked = store.kpis_of_key_results(&t.actor, &[kr.id]).await.unwrap();
    assert_eq!(linked.get(&kr.id).map(|k| k.id), Some(kpi.id), "the key result follows the KPI");
    let from = store.objectives_from_kpis(&t.actor, &[kpi.id]).await.unwrap();
    assert_eq!(from.get(&kpi.id).map(|v| v.iter().map(|o| o.id).collect::<Vec<_>>()), Some(vec![o.id]));
    // A new measurement moves it: (82.5 - 70) / 25 = 0.5.
    record(&store, &t.actor, kpi.id, &[(day(2026, 5, 10), 82.5)]).await;
    assert_close(progress_of(&store, org, o.id).await, 0.5, "drafted objective follows the KPI");
}

pub async fn key_results_are_promoted_to_kpis(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "promote").await;
    let org = t.org.id;
    let q2 = active_quarter(&store, &t).await;
    let o = objective(&store, &t.actor, q2.id, Owner::Unit(t.company.id), "Fewer incidents", None).await;
    let kr = key_result(&store, &t.actor, o.id, t.admin.id, Measure::Decrease, 10.0, 4.0, 1.0).await;
    check_in(&store, &t.actor, kr.id, 8.0).await;
    check_in(&store, &t.actor, kr.id, 4.0).await; // reached its target

    // At review, a key result that reached its target is a candidate.
    store.transition_period(&t.actor, q2.id, PeriodStatus::Review, None).await.unwrap();
    let settings = t.org.settings.clone();
    let now = chrono::Utc::now();
    let candidates = |insights: Vec<goalgraph_domain::insights::Insight>| {
        insights
            .into_iter()
            .filter(|i| i.kind == InsightKind::PromoteToKpi)
            .flat_map(|i| i.key_results)
            .collect::<Vec<_>>()
    };
    let before = store.kpi_insights(&t.actor, &settings, q2.id, None, now).await.unwrap();
    assert_eq!(candidates(before), vec![kr.id]);

    // A MILESTONE has no level to keep; a range must fit the direction.
    let milestone = key_result(&store, &t.actor, o.id, t.admin.id, Measure::Milestone, 0.0, 1.0, 1.0).await;
    assert_invalid(
        store.promote_key_result_to_kpi(&t.actor, milestone.id, None, Some(5.0), Cadence::Weekly, None).await,
        "keyResultId",
    );
    assert_invalid(
        store.promote_key_result_to_kpi(&t.actor, kr.id, Some(1.0), None, Cadence::Weekly, None).await,
        "healthyUpper",
    );

    let kpi = store
        .promote_key_result_to_kpi(&t.actor, kr.id, None, Some(5.0), Cadence::Weekly, None)
        .await
        .unwrap();
    assert_eq!(kpi.direction, Direction::LowerIsBetter, "DECREASE becomes LOWER_IS_BETTER");
    assert_eq!((kpi.target, kpi.range.upper, kpi.promoted_from), (Some(4.0), Some(5.0), Some(kr.id)));
    assert_eq!(kpi.unit_id, t.company.id);
    // Its check-ins became the KPI's history: 2 points, the latest 4.
    assert_eq!(measurement_rows(&store, org, kpi.id).await, 2);
    let states = store.kpi_states(&t.actor, &[kpi.id]).await.unwrap();
    assert_eq!(states.get(&kpi.id).and_then(|s| s.latest).map(|p| p.value), Some(4.0));
    let _ = store.kpi(&t.actor, &KpiRef::Id(kpi.id)).await.unwrap();
    // Promoted: no longer a candidate.
    let after = store.kpi_insights(&t.actor, &settings, q2.id, None, now).await.unwrap();
    assert!(candidates(after).is_empty());
}
