//! Rollups under concurrent writers: check-ins on sibling objectives at the
//! same moment must each leave their mark on the shared parent, so that its
//! stored progress still equals the recomputation from its children.

use crate::common::{connect, tenant};
use crate::goals_fixture::*;
use goalgraph_domain::okr::{Measure, Owner};
use goalgraph_testkit::TestDb;

pub async fn concurrent_check_ins_keep_rollups_exact(db: TestDb) {
    const CHILDREN: usize = 8;
    const ROUNDS: usize = 6;
    let store = connect(&db).await;
    let t = tenant(&store, "rollup-race").await;
    let org = t.org.id;
    let q2 = active_quarter(&store, &t).await;
    let owner = Owner::Unit(t.company.id);
    let root = objective(&store, &t.actor, q2.id, owner, "Root", None).await;
    let parent = objective(&store, &t.actor, q2.id, owner, "Parent", Some(root.id)).await;
    let mut krs = Vec::new();
    for i in 0..CHILDREN {
        let child = objective(&store, &t.actor, q2.id, owner, &format!("Child {i}"), Some(parent.id)).await;
        krs.push(
            key_result(&store, &t.actor, child.id, t.admin.id, Measure::Increase, 0.0, 100.0, 1.0).await.id,
        );
    }
    for round in 0..ROUNDS {
        // Child i checks in at (round * 8 + i * 7) % 100 + 1 percent.
        let values: Vec<f64> = (0..CHILDREN).map(|i| ((round * 8 + i * 7) % 100 + 1) as f64).collect();
        let tasks: Vec<_> = krs
            .iter()
            .zip(values.clone())
            .map(|(k, v)| {
                let (store, actor, k) = (store.clone(), t.actor.clone(), *k);
                tokio::spawn(async move { store.check_in(&actor, check_in_input(k, v)).await })
            })
            .collect();
        for task in tasks {
            task.await.expect("task panicked").expect("check-in");
        }
        // Parent (ALIGNED_OBJECTIVES by default): the plain average of the
        // children, each at value / 100; the root follows its only child.
        let want = values.iter().map(|v| v / 100.0).sum::<f64>() / CHILDREN as f64;
        let got = progress_of(&store, org, parent.id).await;
        assert!(
            (got - want).abs() < 1e-9,
            "round {round}: parent progress {got}, the average of its children {want} (values {values:?}): a concurrent rollup was lost"
        );
        assert_close(progress_of(&store, org, root.id).await, want, &format!("round {round}: root"));
    }
}
