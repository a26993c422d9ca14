//! Stored progress rollups worked out by hand: through the alignment chain
//! company <- department <- team <- individual, by each driver, when a child
//! is cancelled or re-parented; and rollups never bump versions.

use crate::common::{connect, tenant};
use crate::goals_fixture::*;
use goalgraph_domain::ObjectiveId;
use goalgraph_domain::model::UnitKind;
use goalgraph_domain::okr::{Measure, ObjectiveStatus, Owner, ProgressDriver};
use goalgraph_persistence::{KeyResultPatch, ObjectivePatch, Store};
use goalgraph_testkit::TestDb;

async fn expect(
    store: &Store,
    org: goalgraph_domain::OrganizationId,
    step: &str,
    want: &[(&str, ObjectiveId, f64)],
) {
    for (name, id, value) in want {
        assert_close(progress_of(store, org, *id).await, *value, &format!("{step}: progress of {name}"));
    }
}

fn driver(d: Option<ProgressDriver>) -> ObjectivePatch {
    ObjectivePatch { progress_driver: Some(d), ..Default::default() }
}

pub async fn progress_rolls_up_the_alignment_chain(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "rollup-chain").await;
    let org = t.org.id;
    let dept = t.unit(&store, UnitKind::Department, "Product", t.company.id).await;
    let team = t.unit(&store, UnitKind::Team, "Web", dept.id).await;
    let ivy = t.person(&store, "Ivy Individual", team.id, None).await;
    let ian = t.person(&store, "Ian Individual", team.id, None).await;
    let q2 = active_quarter(&store, &t).await;
    let a = &t.actor;

    let c = objective(&store, a, q2.id, Owner::Unit(t.company.id), "Company", None).await;
    let d = objective(&store, a, q2.id, Owner::Unit(dept.id), "Department", Some(c.id)).await;
    let d2 = objective(&store, a, q2.id, Owner::Unit(dept.id), "Department too", Some(c.id)).await;
    let tm = objective(&store, a, q2.id, Owner::Unit(team.id), "Team", Some(d.id)).await;
    let i = objective(&store, a, q2.id, Owner::Person(ivy.id), "Ivy's", Some(tm.id)).await;
    let i2 = objective(&store, a, q2.id, Owner::Person(ian.id), "Ian's", Some(tm.id)).await;
    let ki = key_result(&store, a, i.id, ivy.id, Measure::Increase, 0.0, 100.0, 1.0).await;
    let kj = key_result(&store, a, i2.id, ian.id, Measure::Increase, 0.0, 10.0, 1.0).await;
    let all = |c_: f64, d_: f64, d2_: f64, t_: f64, i_: f64, i2_: f64| {
        [
            ("company", c.id, c_),
            ("department", d.id, d_),
            ("department 2", d2.id, d2_),
            ("team", tm.id, t_),
            ("Ivy", i.id, i_),
            ("Ian", i2.id, i2_),
        ]
    };
    expect(&store, org, "nothing checked in", &all(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)).await;

    // A check-in on the individual's key result moves every ancestor.
    // I = 0.4; T = (0.4 + 0) / 2 = 0.2; D = 0.2; C = (0.2 + 0) / 2 = 0.1.
    check_in(&store, a, ki.id, 40.0).await;
    expect(&store, org, "Ivy at 40", &all(0.1, 0.2, 0.0, 0.2, 0.4, 0.0)).await;
    // I2 = 0.5; T = (0.4 + 0.5) / 2 = 0.45; D = 0.45; C = 0.225.
    check_in(&store, a, kj.id, 5.0).await;
    expect(&store, org, "Ian at 5", &all(0.225, 0.45, 0.0, 0.45, 0.4, 0.5)).await;

    // BOTH without key results: the children alone, each with weight 1: unchanged.
    store.update_objective(a, tm.id, driver(Some(ProgressDriver::Both))).await.unwrap();
    expect(&store, org, "team on BOTH", &all(0.225, 0.45, 0.0, 0.45, 0.4, 0.5)).await;
    // A MAINTAIN_ABOVE key result (weight 2) below its target joins:
    // T = (0 * 2 + 0.4 + 0.5) / (2 + 1 + 1) = 0.225; D = 0.225; C = 0.1125.
    let kt = key_result(&store, a, tm.id, t.admin.id, Measure::MaintainAbove, 90.0, 95.0, 2.0).await;
    expect(&store, org, "team key result added", &all(0.1125, 0.225, 0.0, 0.225, 0.4, 0.5)).await;
    // It holds: T = (1 * 2 + 0.9) / 4 = 0.725; C = 0.3625.
    check_in(&store, a, kt.id, 96.0).await;
    expect(&store, org, "team key result holds", &all(0.3625, 0.725, 0.0, 0.725, 0.4, 0.5)).await;

    // Explicit KEY_RESULTS: the key result only (1.0); the default with key
    // results is KEY_RESULTS too; explicit ALIGNED_OBJECTIVES: the children only.
    store.update_objective(a, tm.id, driver(Some(ProgressDriver::KeyResults))).await.unwrap();
    expect(&store, org, "team on KEY_RESULTS", &all(0.5, 1.0, 0.0, 1.0, 0.4, 0.5)).await;
    store.update_objective(a, tm.id, driver(None)).await.unwrap();
    expect(&store, org, "team on the default driver", &all(0.5, 1.0, 0.0, 1.0, 0.4, 0.5)).await;
    store.update_objective(a, tm.id, driver(Some(ProgressDriver::AlignedObjectives))).await.unwrap();
    expect(&store, org, "team on ALIGNED_OBJECTIVES", &all(0.225, 0.45, 0.0, 0.45, 0.4, 0.5)).await;
    store.update_objective(a, tm.id, driver(Some(ProgressDriver::Both))).await.unwrap();
    expect(&store, org, "team back on BOTH", &all(0.3625, 0.725, 0.0, 0.725, 0.4, 0.5)).await;

    // A weight change: w = 6: T = (6 + 0.9) / 8 = 0.8625; C = 0.43125.
    store
        .update_key_result(a, kt.id, KeyResultPatch { weight: Some(6.0), ..Default::default() })
        .await
        .unwrap();
    expect(&store, org, "team key result weighs 6", &all(0.43125, 0.8625, 0.0, 0.8625, 0.4, 0.5)).await;
    store
        .update_key_result(a, kt.id, KeyResultPatch { weight: Some(2.0), ..Default::default() })
        .await
        .unwrap();
    expect(&store, org, "weight back to 2", &all(0.3625, 0.725, 0.0, 0.725, 0.4, 0.5)).await;

    // A cancelled child leaves the rollup (its own progress stays):
    // T = (2 + 0.4) / 3 = 0.8; D = 0.8; C = 0.4.
    store
        .transition_objective(a, i2.id, ObjectiveStatus::Cancelled, Some("reorg".into()), None)
        .await
        .unwrap();
    expect(&store, org, "Ian's cancelled", &all(0.4, 0.8, 0.0, 0.8, 0.4, 0.5)).await;
    // Re-parenting moves progress from the old chain to the new one:
    // T = 2 / 2 = 1; D = 1; D2 = 0.4; C = (1 + 0.4) / 2 = 0.7.
    store.reparent_objective(a, i.id, Some(d2.id), None).await.unwrap();
    expect(&store, org, "Ivy's under department 2", &all(0.7, 1.0, 0.4, 1.0, 0.4, 0.5)).await;
    // To no parent: D2 has no inputs: 0; C = (1 + 0) / 2 = 0.5.
    store.reparent_objective(a, i.id, None, None).await.unwrap();
    expect(&store, org, "Ivy's aligned to nothing", &all(0.5, 1.0, 0.0, 1.0, 0.4, 0.5)).await;
    store.reparent_objective(a, i.id, Some(d2.id), None).await.unwrap();
    expect(&store, org, "Ivy's back under department 2", &all(0.7, 1.0, 0.4, 1.0, 0.4, 0.5)).await;
    // A completed child stays in its parent's rollup.
    store.transition_objective(a, i.id, ObjectiveStatus::Completed, None, None).await.unwrap();
    expect(&store, org, "Ivy's completed", &all(0.7, 1.0, 0.4, 1.0, 0.4, 0.5)).await;
    // A cancelled one counts nowhere, wherever it is aligned (if it may move at all).
    if store.reparent_objective(a, i2.id, Some(d2.id), None).await.is_ok() {
        expect(&store, org, "Ian's (cancelled) under department 2", &all(0.7, 1.0, 0.4, 1.0, 0.4, 0.5)).await;
    }

    // The default driver follows whether key results exist: D gets one
    // (INCREASE 0 -> 100, not checked in), so D = 0 and C = (0 + 0.4) / 2 = 0.2.
    let kd = key_result(&store, a, d.id, t.admin.id, Measure::Increase, 0.0, 100.0, 1.0).await;
    expect(&store, org, "department has a key result", &all(0.2, 0.0, 0.4, 1.0, 0.4, 0.5)).await;
    // D = 0.3; C = (0.3 + 0.4) / 2 = 0.35.
    check_in(&store, a, kd.id, 30.0).await;
    expect(&store, org, "department key result at 30", &all(0.35, 0.3, 0.4, 1.0, 0.4, 0.5)).await;
    // Explicit ALIGNED_OBJECTIVES ignores it: D = T = 1; C = (1 + 0.4) / 2 = 0.7.
    store.update_objective(a, d.id, driver(Some(ProgressDriver::AlignedObjectives))).await.unwrap();
    expect(&store, org, "department on ALIGNED_OBJECTIVES", &all(0.7, 1.0, 0.4, 1.0, 0.4, 0.5)).await;
    // Cancelling D2 leaves D alone in C: C = 1; D2 keeps its own progress.
    store
        .transition_objective(a, d2.id, ObjectiveStatus::Cancelled, Some("merged".into()), None)
        .await
        .unwrap();
    expect(&store, org, "department 2 cancelled", &all(1.0, 1.0, 0.4, 1.0, 0.4, 0.5)).await;
}

/// `version` counts edits to an object's own fields: check-ins and rollups
/// never bump it, so an edit prepared before a check-in still applies.
pub async fn check_ins_do_not_bump_versions(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "rollup-versions").await;
    let org = t.org.id;
    let q2 = active_quarter(&store, &t).await;
    let a = &t.actor;
    let owner = Owner::Unit(t.company.id);
    let parent = objective(&store, a, q2.id, owner, "Parent", None).await;
    let o = objective(&store, a, q2.id, owner, "Child", Some(parent.id)).await;
    let k = key_result(&store, a, o.id, t.admin.id, Measure::Increase, 0.0, 100.0, 1.0).await;
    let (o_v, p_v) = (
        store.objective(a, o.id).await.unwrap().version,
        store.objective(a, parent.id).await.unwrap().version,
    );
    let k_v = store.key_result(a, k.id).await.unwrap().version;

    let (_, after) = check_in(&store, a, k.id, 50.0).await;
    check_in(&store, a, k.id, 70.0).await;
    assert_eq!(after.version, k_v, "the key result returned by a check-in keeps its version");
    assert_eq!(store.key_result(a, k.id).await.unwrap().version, k_v);
    let stored_o = store.objective(a, o.id).await.unwrap();
    let stored_p = store.objective(a, parent.id).await.unwrap();
    assert_eq!((stored_o.version, stored_p.version), (o_v, p_v), "rollups do not bump versions");
    assert_close(stored_o.progress, 0.7, "child");
    assert_close(stored_p.progress, 0.7, "parent");

    // Edits naming the versions read before the check-ins succeed.
    let k2 = store
        .update_key_result(
            a,
            k.id,
            KeyResultPatch { weight: Some(2.0), expected_version: Some(k_v), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!((k2.version, k2.current), (k_v + 1, 70.0));
    let rename =
        |v| ObjectivePatch { title: Some("Renamed".into()), expected_version: Some(v), ..Default::default() };
    assert_eq!(store.update_objective(a, o.id, rename(o_v)).await.unwrap().version, o_v + 1);
    assert_eq!(store.update_objective(a, parent.id, rename(p_v)).await.unwrap().version, p_v + 1);
    // Control: the weight edit itself is an edit of the key result, not of its objective.
    assert_eq!(store.objective(a, o.id).await.unwrap().version, o_v + 1);
    assert_close(progress_of(&store, org, parent.id).await, 0.7, "parent after edits");
}
