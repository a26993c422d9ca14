//! Periods: dates in order, status moving forward only, closed periods frozen.

use crate::common::{assert_invalid, connect, tenant};
use chrono::NaiveDate;
use goalgraph_domain::model::PeriodStatus;
use goalgraph_persistence::{NewPeriod, PeriodPatch, StoreError};
use goalgraph_testkit::TestDb;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn new_period(name: &str, start: NaiveDate, end: NaiveDate) -> NewPeriod {
    NewPeriod { name: name.to_owned(), start_date: start, end_date: end }
}

pub async fn period_dates_must_be_ordered(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "dates").await;
    assert_invalid(
        store.create_period(&t.actor, new_period("Empty", day(2026, 3, 31), day(2026, 3, 31))).await,
        "endDate",
    );
    assert_invalid(
        store.create_period(&t.actor, new_period("Backwards", day(2026, 4, 1), day(2026, 3, 31))).await,
        "endDate",
    );
    assert_eq!(store.count_periods(&t.actor, None).await.unwrap(), 0);

    let q1 =
        store.create_period(&t.actor, new_period("Q1", day(2026, 1, 1), day(2026, 3, 31))).await.unwrap();
    assert_eq!((q1.status, q1.version), (PeriodStatus::Planning, 1));
    assert_eq!((q1.start_date, q1.end_date), (day(2026, 1, 1), day(2026, 3, 31)));

    // An edit that puts the end before the (unchanged) start is rejected too.
    let end_first = PeriodPatch { end_date: Some(day(2025, 12, 31)), ..Default::default() };
    assert_invalid(store.update_period(&t.actor, q1.id, end_first).await, "endDate");
    let start_late = PeriodPatch { start_date: Some(day(2026, 3, 31)), ..Default::default() };
    assert_invalid(store.update_period(&t.actor, q1.id, start_late).await, "endDate");
    assert_eq!(store.period(&t.actor, q1.id).await.unwrap(), q1);
    // Positive control: a one-day-longer quarter is fine.
    let longer = PeriodPatch { end_date: Some(day(2026, 4, 1)), ..Default::default() };
    let longer = store.update_period(&t.actor, q1.id, longer).await.unwrap();
    assert_eq!((longer.end_date, longer.version), (day(2026, 4, 1), 2));
}

pub async fn period_status_moves_forward_only(db: TestDb) {
    use PeriodStatus::*;
    let store = connect(&db).await;
    let t = tenant(&store, "cycles").await;
    let q = store.create_period(&t.actor, new_period("Q3", day(2026, 7, 1), day(2026, 9, 30))).await.unwrap();

    let q = store.transition_period(&t.actor, q.id, Active, None).await.unwrap();
    assert_eq!((q.status, q.version), (Active, 2));
    assert_invalid(store.transition_period(&t.actor, q.id, Planning, None).await, "status");
    assert_invalid(store.transition_period(&t.actor, q.id, Active, None).await, "status");
    assert_eq!(store.period(&t.actor, q.id).await.unwrap(), q);

    // Skipping REVIEW is allowed (a short cycle).
    let q = store.transition_period(&t.actor, q.id, Closed, None).await.unwrap();
    assert_eq!((q.status, q.version), (Closed, 3));
    for to in [Planning, Active, Review, Closed] {
        assert_invalid(store.transition_period(&t.actor, q.id, to, None).await, "status");
    }

    // A closed period cannot be edited.
    let rename = PeriodPatch { name: Some("Q3 (edited)".into()), ..Default::default() };
    match store.update_period(&t.actor, q.id, rename.clone()).await {
        Err(StoreError::Domain(goalgraph_domain::DomainError::Invalid { .. })) => {}
        other => panic!("editing a closed period: expected Invalid, got {other:?}"),
    }
    assert_eq!(store.period(&t.actor, q.id).await.unwrap(), q);

    // The full cycle, step by step, on another period; edits work until it closes.
    let q4 =
        store.create_period(&t.actor, new_period("Q4", day(2026, 10, 1), day(2026, 12, 31))).await.unwrap();
    let mut version = q4.version;
    for to in [Active, Review] {
        let moved = store.transition_period(&t.actor, q4.id, to, Some(version)).await.unwrap();
        assert_eq!((moved.status, moved.version), (to, version + 1));
        version = moved.version;
    }
    let edited = store.update_period(&t.actor, q4.id, rename).await.unwrap();
    assert_eq!(edited.name, "Q3 (edited)");
    let closed = store.transition_period(&t.actor, q4.id, Closed, Some(edited.version)).await.unwrap();
    assert_eq!(closed.status, Closed);
}
