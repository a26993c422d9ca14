//! Optimistic concurrency: an update naming a stale version conflicts and
//! changes nothing; the right one bumps the version by exactly one.

use crate::common::{assert_conflict, connect, tenant};
use chrono::NaiveDate;
use goalgraph_domain::model::{PeriodStatus, UnitKind};
use goalgraph_persistence::{NewPeriod, PeriodPatch, PersonPatch, UnitPatch};
use goalgraph_testkit::TestDb;

fn rename(name: &str, expected_version: Option<i32>) -> UnitPatch {
    UnitPatch { name: Some(name.to_owned()), expected_version, ..Default::default() }
}

pub async fn stale_versions_conflict(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "versions").await;
    let dept = t.unit(&store, UnitKind::Department, "Original", t.company.id).await;
    assert_eq!(dept.version, 1);

    // The right version works and bumps it by one.
    let v2 = store.update_unit(&t.actor, dept.id, rename("Second", Some(1))).await.unwrap();
    assert_eq!((v2.name.as_str(), v2.version), ("Second", 2));

    // The version read before that edit is stale now; so is one from the future.
    assert_conflict(store.update_unit(&t.actor, dept.id, rename("Stale", Some(1))).await);
    assert_conflict(store.update_unit(&t.actor, dept.id, rename("Future", Some(3))).await);
    assert_conflict(store.move_unit(&t.actor, dept.id, t.company.id, Some(1)).await);
    assert_conflict(store.delete_unit(&t.actor, dept.id, Some(1)).await);
    let stored = store.unit(&t.actor, dept.id).await.unwrap();
    assert_eq!((stored.name.as_str(), stored.version), ("Second", 2), "conflicts change nothing");

    let v3 = store.update_unit(&t.actor, dept.id, rename("Third", Some(2))).await.unwrap();
    assert_eq!((v3.name.as_str(), v3.version), ("Third", 3));
    // No expected version: last writer wins, and the version still counts the edit.
    let v4 = store.update_unit(&t.actor, dept.id, rename("Fourth", None)).await.unwrap();
    assert_eq!((v4.name.as_str(), v4.version), ("Fourth", 4));
    assert_eq!(store.unit(&t.actor, dept.id).await.unwrap(), v4);

    // People and periods follow the same rule.
    let p = t.person(&store, "Vera Version", t.company.id, None).await;
    let patch = |v| PersonPatch { name: Some("Vera V.".into()), expected_version: v, ..Default::default() };
    assert_conflict(store.update_person(&t.actor, p.id, patch(Some(2))).await);
    assert_eq!(store.person(&t.actor, p.id).await.unwrap(), p);
    assert_eq!(store.update_person(&t.actor, p.id, patch(Some(1))).await.unwrap().version, 2);

    let new = NewPeriod {
        name: "Q1".into(),
        start_date: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        end_date: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
    };
    let q = store.create_period(&t.actor, new).await.unwrap();
    let patch =
        |v| PeriodPatch { name: Some("Q1 (edited)".into()), expected_version: v, ..Default::default() };
    assert_eq!(store.update_period(&t.actor, q.id, patch(Some(1))).await.unwrap().version, 2);
    assert_conflict(store.update_period(&t.actor, q.id, patch(Some(1))).await);
    assert_conflict(store.transition_period(&t.actor, q.id, PeriodStatus::Active, Some(1)).await);
    let active = store.transition_period(&t.actor, q.id, PeriodStatus::Active, Some(2)).await.unwrap();
    assert_eq!((active.status, active.version), (PeriodStatus::Active, 3));
}
