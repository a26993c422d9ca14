//! KPI definitions (PRODUCT.md, domain table, "Kpi"): a healthy range that
//! fits the direction (HIGHER_IS_BETTER needs a lower bound,
//! LOWER_IS_BETTER an upper one, WITHIN_RANGE both, lower <= upper), one
//! tolerance at most, a unit and an owner of the KPI's own tenant, an
//! external id unique per tenant, and optimistic versions.

use crate::common::{assert_conflict, assert_invalid, connect, tenant};
use crate::goals_fixture::assert_invalid_any;
use crate::kpi_fixture::*;
use goalgraph_domain::DomainError;
use goalgraph_domain::kpi::{Direction, KpiCategory, Tolerance};
use goalgraph_domain::model::UnitKind;
use goalgraph_persistence::{KpiPatch, KpiRef, NewKpi, StoreError, StoreResult};
use goalgraph_testkit::TestDb;

/// An Invalid error on one of `fields`.
#[track_caller]
fn assert_invalid_on<T: std::fmt::Debug>(result: StoreResult<T>, fields: &[&str], what: &str) {
    match result {
        Err(StoreError::Domain(DomainError::Invalid { field, .. })) if fields.contains(&field.as_str()) => {}
        other => panic!("{what}: expected Invalid on one of {fields:?}, got {other:?}"),
    }
}

pub async fn kpi_definitions_follow_their_rules(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "kpi-defs").await;
    let ops = t.unit(&store, UnitKind::Department, "Ops", t.company.id).await;
    let a = &t.actor;
    let me = t.admin.id;
    let base = || new_kpi(ops.id, me, "Uptime");
    let with =
        |direction, lower, upper| NewKpi { direction, healthy_lower: lower, healthy_upper: upper, ..base() };

    // The range must fit the direction.
    use Direction::*;
    assert_invalid(store.create_kpi(a, with(HigherIsBetter, None, Some(99.0))).await, "healthyLower");
    assert_invalid(store.create_kpi(a, with(HigherIsBetter, None, None)).await, "healthyLower");
    assert_invalid(store.create_kpi(a, with(LowerIsBetter, Some(1.0), None)).await, "healthyUpper");
    assert_invalid(store.create_kpi(a, with(LowerIsBetter, None, None)).await, "healthyUpper");
    assert_invalid_on(
        store.create_kpi(a, with(WithinRange, Some(1.0), None)).await,
        &["healthyLower", "healthyUpper"],
        "WITHIN_RANGE without an upper bound",
    );
    assert_invalid_on(
        store.create_kpi(a, with(WithinRange, None, Some(2.0))).await,
        &["healthyLower", "healthyUpper"],
        "WITHIN_RANGE without a lower bound",
    );
    assert_invalid_on(
        store.create_kpi(a, with(WithinRange, Some(3.0), Some(2.0))).await,
        &["healthyLower", "healthyUpper"],
        "WITHIN_RANGE with lower > upper",
    );
    assert_invalid(store.create_kpi(a, with(HigherIsBetter, Some(f64::NAN), None)).await, "healthyLower");
    assert_eq!(kpi_rows(&store, t.org.id).await, 0, "no invalid KPI was stored");
    // Positive controls: each direction with its bounds.
    let higher = create_kpi(&store, a, with(HigherIsBetter, Some(90.0), None)).await;
    assert_eq!((higher.range.lower, higher.range.upper), (Some(90.0), None));
    let lower =
        create_kpi(&store, a, NewKpi { name: "Latency".into(), ..with(LowerIsBetter, None, Some(200.0)) })
            .await;
    assert_eq!((lower.range.lower, lower.range.upper), (None, Some(200.0)));
    let within = create_kpi(
        &store,
        a,
        NewKpi { name: "Temperature".into(), ..with(WithinRange, Some(18.0), Some(18.0)) },
    )
    .await;
    assert_eq!((within.range.lower, within.range.upper), (Some(18.0), Some(18.0)), "a one-point range");
    // A HIGHER_IS_BETTER KPI may also have an upper bound.
    create_kpi(&store, a, NewKpi { name: "Capped".into(), ..with(HigherIsBetter, Some(1.0), Some(5.0)) })
        .await;
    assert_eq!(kpi_rows(&store, t.org.id).await, 4);

    // Editing the range keeps it consistent with the direction.
    let patch = |range| KpiPatch { range: Some(range), ..Default::default() };
    assert_invalid(store.update_kpi(a, higher.id, patch((None, Some(99.0)))).await, "healthyLower");
    assert_invalid(store.update_kpi(a, lower.id, patch((Some(1.0), None))).await, "healthyUpper");
    let kept = store.kpi(a, &KpiRef::Id(higher.id)).await.unwrap();
    assert_eq!((kept.range.lower, kept.version), (Some(90.0), 1), "a refused edit changes nothing");
    let edited = store.update_kpi(a, higher.id, patch((Some(80.0), None))).await.unwrap();
    assert_eq!((edited.range.lower, edited.version), (Some(80.0), 2));

    // One tolerance at most: absolute or percent, not both.
    let tol = |abs, pct| NewKpi {
        name: "Tolerant".into(),
        tolerance_absolute: abs,
        tolerance_percent: pct,
        ..base()
    };
    assert_invalid_any(store.create_kpi(a, tol(Some(1.0), Some(10.0))).await, "both tolerances");
    assert_invalid_any(store.create_kpi(a, tol(Some(-1.0), None)).await, "a negative tolerance");
    let abs = create_kpi(&store, a, tol(Some(1.0), None)).await;
    assert_eq!(abs.tolerance, Tolerance::Absolute(1.0));
    let pct = create_kpi(&store, a, NewKpi { name: "Tolerant %".into(), ..tol(None, Some(10.0)) }).await;
    assert_eq!(pct.tolerance, Tolerance::Percent(10.0));
    let tol_patch = |abs, pct| KpiPatch { tolerance: Some((abs, pct)), ..Default::default() };
    assert_invalid_any(store.update_kpi(a, abs.id, tol_patch(Some(2.0), Some(5.0))).await, "both tolerances");
    let edited = store.update_kpi(a, abs.id, tol_patch(None, Some(5.0))).await.unwrap();
    assert_eq!(edited.tolerance, Tolerance::Percent(5.0));

    // The unit and the owner must belong to the KPI's own tenant.
    let other = tenant(&store, "kpi-defs-other").await;
    let foreign_unit = other.unit(&store, UnitKind::Team, "Foreign team", other.company.id).await;
    let foreign_person = other.person(&store, "Foreign Person", other.company.id, None).await;
    let before = kpi_rows(&store, t.org.id).await;
    assert_invalid(
        store
            .create_kpi(a, NewKpi { name: "Foreign unit".into(), ..new_kpi(foreign_unit.id, me, "x") })
            .await,
        "unitId",
    );
    assert_invalid(
        store
            .create_kpi(a, NewKpi { name: "Foreign owner".into(), ..new_kpi(ops.id, foreign_person.id, "x") })
            .await,
        "ownerId",
    );
    assert_invalid(
        store
            .update_kpi(a, higher.id, KpiPatch { owner_id: Some(foreign_person.id), ..Default::default() })
            .await,
        "ownerId",
    );
    assert_eq!(kpi_rows(&store, t.org.id).await, before, "nothing was written in tenant A");
    assert_eq!(kpi_rows(&store, other.org.id).await, 0, "nothing was written in tenant B");
    // Positive control: a person of the KPI's own tenant may own it.
    let local = t.person(&store, "Local Owner", ops.id, None).await;
    let moved =
        store.update_kpi(a, higher.id, KpiPatch { owner_id: Some(local.id), ..Default::default() }).await;
    assert_eq!(moved.unwrap().owner_id, local.id);

    // External ids are unique per tenant.
    let ext = |name: &str, key: &str| NewKpi {
        name: name.to_owned(),
        external_id: Some(key.to_owned()),
        category: KpiCategory::Customer,
        ..base()
    };
    let first = create_kpi(&store, a, ext("NPS", "bi-nps")).await;
    assert_eq!(first.external_id.as_deref(), Some("bi-nps"));
    assert_conflict(store.create_kpi(a, ext("NPS again", "bi-nps")).await);
    assert_conflict(
        store
            .update_kpi(
                a,
                pct.id,
                KpiPatch { external_id: Some(Some("bi-nps".into())), ..Default::default() },
            )
            .await,
    );
    let other_ops = other.unit(&store, UnitKind::Department, "Other ops", other.company.id).await;
    let theirs = store
        .create_kpi(
            &other.actor,
            NewKpi { unit_id: other_ops.id, owner_id: other.admin.id, ..ext("NPS", "bi-nps") },
        )
        .await
        .expect("the same external id in another tenant");
    assert_ne!(theirs.id, first.id);
    // Each tenant resolves the key to its own KPI.
    assert_eq!(store.kpi(a, &KpiRef::External("bi-nps".into())).await.unwrap().id, first.id);
    assert_eq!(store.kpi(&other.actor, &KpiRef::External("bi-nps".into())).await.unwrap().id, theirs.id);
    // Another key in the same tenant is fine.
    create_kpi(&store, a, ext("CSAT", "bi-csat")).await;

    // A stale expected version conflicts; the current one goes through.
    let k = create_kpi(&store, a, NewKpi { name: "Versioned".into(), ..base() }).await;
    assert_eq!(k.version, 1);
    let name = |n: &str, v: i32| KpiPatch {
        name: Some(n.to_owned()),
        expected_version: Some(v),
        ..Default::default()
    };
    let v2 = store.update_kpi(a, k.id, name("Versioned 2", 1)).await.unwrap();
    assert_eq!((v2.name.as_str(), v2.version), ("Versioned 2", 2));
    assert_conflict(store.update_kpi(a, k.id, name("Lost update", 1)).await);
    let kept = store.kpi(a, &KpiRef::Id(k.id)).await.unwrap();
    assert_eq!((kept.name.as_str(), kept.version), ("Versioned 2", 2), "the conflict wrote nothing");
    assert_conflict(store.update_kpi(a, k.id, name("From the future", 3)).await);
    let v3 = store.update_kpi(a, k.id, name("Versioned 3", 2)).await.unwrap();
    assert_eq!((v3.name.as_str(), v3.version), ("Versioned 3", 3));
}
