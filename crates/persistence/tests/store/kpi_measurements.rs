//! KPI measurements (PRODUCT.md: "pushed by people or integrations, singly
//! or in bulk, idempotently"; "API semantics": a repeated idempotency key
//! with the same input writes nothing, with another input it conflicts):
//! bulk backfills, idempotent replays, all-or-nothing validation that names
//! every bad point by its index, archived KPIs, and who may record.

use crate::common::{assert_conflict, assert_forbidden, connect, tenant};
use crate::goals_fixture::assert_invalid_any;
use crate::kpi_fixture::*;
use chrono::{DateTime, Duration, Utc};
use goalgraph_domain::DomainError;
use goalgraph_domain::model::{Role, RoleSet, UnitKind};
use goalgraph_persistence::{KpiPatch, KpiRef, NewKpi, StoreError};
use goalgraph_testkit::TestDb;

/// xorshift64*: a deterministic shuffle.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        let j = (seed.wrapping_mul(0x2545_F491_4F6C_DD1D) % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// 10,000 distinct points five minutes apart from 2026-01-01 (all in the
/// past), in a shuffled order: a backfill in no particular order.
fn backfill() -> Vec<(DateTime<Utc>, f64)> {
    let start = day(2026, 1, 1);
    let mut points: Vec<(DateTime<Utc>, f64)> =
        (0..10_000).map(|i| (start + Duration::minutes(5 * i), 50.0 + (i % 97) as f64 / 2.0)).collect();
    shuffle(&mut points, 0x9E37_79B9_7F4A_7C15);
    points
}

pub async fn bulk_measurements_are_idempotent_and_complete(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "kpi-bulk").await;
    let ops = t.unit(&store, UnitKind::Department, "Ops", t.company.id).await;
    let a = &t.actor;
    let k = create_kpi(&store, a, new_kpi(ops.id, t.admin.id, "Throughput")).await;
    let other = create_kpi(&store, a, new_kpi(ops.id, t.admin.id, "Other throughput")).await;
    let points = backfill();
    assert!(points.windows(2).any(|w| w[0].0 > w[1].0), "the backfill is out of order");

    let first = store
        .record_measurements(a, KpiRef::Id(k.id), &points, Some("bulk-1".into()))
        .await
        .expect("10,000 points in one call");
    assert_eq!((first.written, first.replayed), (10_000, false));
    assert_eq!(first.kpi.id, k.id);
    assert_eq!(measurement_rows(&store, t.org.id, k.id).await, 10_000, "rows in the table");
    let counts = store.measurement_counts(a, &[k.id, other.id]).await.unwrap();
    assert_eq!(counts.get(&k.id).copied(), Some(10_000), "measurement_counts");
    assert_eq!(counts.get(&other.id).copied().unwrap_or(0), 0, "the other KPI has none");

    // The same key and input again: a replay that writes nothing.
    let again = store
        .record_measurements(a, KpiRef::Id(k.id), &points, Some("bulk-1".into()))
        .await
        .expect("a replay");
    assert_eq!((again.written, again.replayed), (0, true));
    assert_eq!(again.kpi.id, k.id);
    assert_eq!(measurement_rows(&store, t.org.id, k.id).await, 10_000, "a replay writes no rows");

    // The same key with other points, or for another KPI: CONFLICT.
    let mut changed = points.clone();
    changed[4_321].1 += 1.0;
    assert_conflict(store.record_measurements(a, KpiRef::Id(k.id), &changed, Some("bulk-1".into())).await);
    assert_conflict(
        store.record_measurements(a, KpiRef::Id(k.id), &points[..10], Some("bulk-1".into())).await,
    );
    assert_conflict(store.record_measurements(a, KpiRef::Id(other.id), &points, Some("bulk-1".into())).await);
    assert_eq!(measurement_rows(&store, t.org.id, k.id).await, 10_000, "a conflict writes nothing");
    assert_eq!(measurement_rows(&store, t.org.id, other.id).await, 0, "a conflict writes nothing");

    // Positive controls: another key writes (corrections are new rows), and
    // so does a call without a key, every time.
    let three = &points[..3];
    let fresh = store.record_measurements(a, KpiRef::Id(k.id), three, Some("bulk-2".into())).await.unwrap();
    assert_eq!((fresh.written, fresh.replayed), (3, false));
    assert_eq!(record(&store, a, k.id, three).await, 3);
    assert_eq!(record(&store, a, k.id, three).await, 3);
    assert_eq!(measurement_rows(&store, t.org.id, k.id).await, 10_009);
    // An idempotency key is scoped to the tenant: tenant B may use "bulk-1".
    let b = tenant(&store, "kpi-bulk-b").await;
    let b_ops = b.unit(&store, UnitKind::Department, "B ops", b.company.id).await;
    let bk = create_kpi(&store, &b.actor, new_kpi(b_ops.id, b.admin.id, "B throughput")).await;
    let theirs =
        store.record_measurements(&b.actor, KpiRef::Id(bk.id), three, Some("bulk-1".into())).await.unwrap();
    assert_eq!((theirs.written, theirs.replayed), (3, false));
}

pub async fn bad_points_write_nothing_and_are_named(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "kpi-bad").await;
    let ops = t.unit(&store, UnitKind::Department, "Ops", t.company.id).await;
    let a = &t.actor;
    let k = create_kpi(&store, a, new_kpi(ops.id, t.admin.id, "Availability")).await;
    let now = Utc::now();
    let good: Vec<(DateTime<Utc>, f64)> =
        (0..20).map(|i| (now - Duration::days(30) + Duration::hours(i), 90.0 + i as f64 / 10.0)).collect();

    // Index 7 is not a number, index 12 lies 10 minutes ahead (the
    // tolerated clock skew is 5 minutes).
    let mut bad = good.clone();
    bad[7].1 = f64::NAN;
    bad[12].0 = now + Duration::minutes(10);
    match store.record_measurements(a, KpiRef::Id(k.id), &bad, None).await {
        Err(StoreError::Domain(DomainError::Invalid { field, message })) => {
            assert_eq!(field, "points[7].value", "the first bad point is the field ({message})");
            assert!(message.contains("points[12]"), "the message names index 12 too: {message}");
            assert!(!message.contains("points[3]"), "good points are not named: {message}");
        }
        other => panic!("expected Invalid on points[7].value, got {other:?}"),
    }
    // Only the future point: it is the field.
    let mut future = good.clone();
    future[12].0 = now + Duration::minutes(10);
    match store.record_measurements(a, KpiRef::Id(k.id), &future, None).await {
        Err(StoreError::Domain(DomainError::Invalid { field, .. })) => {
            assert_eq!(field, "points[12].observedAt")
        }
        other => panic!("expected Invalid on points[12].observedAt, got {other:?}"),
    }
    let mut infinite = good.clone();
    infinite[19].1 = f64::INFINITY;
    match store.record_measurements(a, KpiRef::Id(k.id), &infinite, None).await {
        Err(StoreError::Domain(DomainError::Invalid { field, .. })) => assert_eq!(field, "points[19].value"),
        other => panic!("expected Invalid on points[19].value, got {other:?}"),
    }
    assert_invalid_any(store.record_measurements(a, KpiRef::Id(k.id), &[], None).await, "no points");
    assert_eq!(measurement_rows(&store, t.org.id, k.id).await, 0, "all or nothing: no row was written");

    // Positive control: the same call with both points fixed writes all 20;
    // a point 4 minutes ahead is within the skew.
    let mut fixed = good.clone();
    fixed[12].0 = now + Duration::minutes(4);
    assert_eq!(record(&store, a, k.id, &fixed).await, 20);
    assert_eq!(measurement_rows(&store, t.org.id, k.id).await, 20);
}

pub async fn archived_kpis_and_strangers_record_nothing(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "kpi-rights").await;
    let ops = t.unit(&store, UnitKind::Department, "Ops", t.company.id).await;
    let sales = t.unit(&store, UnitKind::Department, "Sales", t.company.id).await;
    let a = &t.actor;
    let member = || Some(RoleSet::new([Role::Member]));
    let owner = t.person(&store, "Olive Owner", ops.id, member()).await;
    let mate = t.person(&store, "Tom Teammate", ops.id, member()).await;
    let seller = t.person(&store, "Sid Seller", sales.id, member()).await;
    let owner_actor = store.person_actor(&owner, &RoleSet::default()).await.unwrap();
    let mate_actor = store.person_actor(&mate, &RoleSet::default()).await.unwrap();
    let seller_actor = store.person_actor(&seller, &RoleSet::default()).await.unwrap();
    let k = create_kpi(&store, a, new_kpi(ops.id, owner.id, "Tickets closed")).await;
    let p = |d: i64, v: f64| (day(2026, 2, 1) + Duration::days(d), v);

    // A MEMBER who neither owns the KPI nor manages its unit: FORBIDDEN
    // (the KPI is not PEOPLE, so they see it).
    assert!(store.kpi(&mate_actor, &KpiRef::Id(k.id)).await.is_ok(), "the teammate sees the KPI");
    assert_forbidden(store.record_measurements(&mate_actor, KpiRef::Id(k.id), &[p(0, 91.0)], None).await);
    assert_forbidden(store.record_measurements(&seller_actor, KpiRef::Id(k.id), &[p(0, 91.0)], None).await);
    assert_eq!(measurement_rows(&store, t.org.id, k.id).await, 0);
    // The owner (a MEMBER) may; so may the admin.
    assert_eq!(record(&store, &owner_actor, k.id, &[p(0, 91.0), p(1, 92.0)]).await, 2);
    assert_eq!(record(&store, a, k.id, &[p(2, 93.0)]).await, 1);
    assert_eq!(measurement_rows(&store, t.org.id, k.id).await, 3);
    // The stored rows name their author.
    let page = store
        .measurement_pages(a, &[k.id], &goalgraph_persistence::PageArgs { first: 10, after: None })
        .await
        .unwrap();
    let authors: Vec<_> = page[&k.id].items.iter().map(|(_, m)| (m.value, m.author_id)).collect();
    assert_eq!(authors, vec![(93.0, Some(t.admin.id)), (92.0, Some(owner.id)), (91.0, Some(owner.id))]);

    // An archived KPI refuses measurements, from everyone.
    let archive = |v: bool| KpiPatch { archived: Some(v), ..Default::default() };
    let archived = store.update_kpi(a, k.id, archive(true)).await.unwrap();
    assert!(archived.archived);
    assert_invalid_any(store.record_measurements(a, KpiRef::Id(k.id), &[p(3, 94.0)], None).await, "admin");
    assert_invalid_any(
        store.record_measurements(&owner_actor, KpiRef::Id(k.id), &[p(3, 94.0)], None).await,
        "owner",
    );
    assert_invalid_any(
        store.record_measurements(a, KpiRef::Id(k.id), &[p(3, 94.0)], Some("archived-key".into())).await,
        "with a key",
    );
    assert_eq!(measurement_rows(&store, t.org.id, k.id).await, 3, "an archived KPI takes no points");
    // Back in use: it takes points again (and the refused key was not used up).
    store.update_kpi(a, k.id, archive(false)).await.unwrap();
    let r = store
        .record_measurements(a, KpiRef::Id(k.id), &[p(3, 94.0)], Some("archived-key".into()))
        .await
        .unwrap();
    assert_eq!((r.written, r.replayed), (1, false));
    assert_eq!(measurement_rows(&store, t.org.id, k.id).await, 4);

    // By external id: the same rights.
    let ext = create_kpi(
        &store,
        a,
        NewKpi { external_id: Some("hris-tickets".into()), ..new_kpi(ops.id, owner.id, "Tickets opened") },
    )
    .await;
    let by_key = || KpiRef::External("hris-tickets".into());
    assert_forbidden(store.record_measurements(&mate_actor, by_key(), &[p(0, 1.0)], None).await);
    let r = store.record_measurements(&owner_actor, by_key(), &[p(0, 1.0)], None).await.unwrap();
    assert_eq!((r.kpi.id, r.written), (ext.id, 1));
    assert_eq!(all_measurement_rows(&store, t.org.id).await, 5);
}

/// Retries of one bulk call racing each other (a client that timed out and
/// retried on several replicas): the points are written once, one call
/// writes and every other one is a replay.
pub async fn concurrent_retries_write_once(db: TestDb) {
    const CLIENTS: usize = 6;
    let store = connect(&db).await;
    let t = tenant(&store, "kpi-race").await;
    let ops = t.unit(&store, UnitKind::Department, "Ops", t.company.id).await;
    let k = create_kpi(&store, &t.actor, new_kpi(ops.id, t.admin.id, "Raced")).await;
    let points: Vec<(DateTime<Utc>, f64)> =
        (0..1_500).map(|i| (day(2026, 4, 1) + Duration::minutes(i), 90.0 + (i % 10) as f64)).collect();
    for round in 0..2u64 {
        let key = format!("race-{round}");
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (store, actor, key, points) =
                    (store.clone(), t.actor.clone(), key.clone(), points.clone());
                tokio::spawn(async move {
                    store.record_measurements(&actor, KpiRef::Id(k.id), &points, Some(key)).await
                })
            })
            .collect();
        let (mut written, mut replays, mut failures) = (Vec::new(), 0, Vec::new());
        for task in tasks {
            match task.await.expect("task panicked") {
                Ok(r) if r.replayed => {
                    assert_eq!(r.written, 0);
                    replays += 1;
                }
                Ok(r) => written.push(r.written),
                Err(e) => failures.push(format!("{e:?}")),
            }
        }
        assert!(failures.is_empty(), "round {round}: retries failed: {failures:?}");
        assert_eq!(written, vec![1_500], "round {round}: exactly one call writes");
        assert_eq!(replays, CLIENTS - 1, "round {round}: the others replay");
        assert_eq!(
            measurement_rows(&store, t.org.id, k.id).await,
            1_500 * (round + 1),
            "round {round}: rows"
        );
    }
}
