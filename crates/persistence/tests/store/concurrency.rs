//! Many writers at once on one store: none fails (no "database is locked"
//! on SQLite) and none is lost.

use crate::common::{connect, new_unit, tenant};
use goalgraph_domain::DomainError;
use goalgraph_domain::model::UnitKind;
use goalgraph_persistence::{StoreError, UnitFilter, UnitPatch};
use goalgraph_testkit::TestDb;
use std::collections::HashSet;

const WRITERS: usize = 50;

pub async fn concurrent_creates_all_succeed(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "parallel-create").await;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (store, actor, parent) = (store.clone(), t.actor.clone(), t.company.id);
            tokio::spawn(async move {
                store
                    .create_unit(&actor, new_unit(UnitKind::Department, &format!("Parallel {i:02}"), parent))
                    .await
            })
        })
        .collect();
    let mut ids = HashSet::new();
    let mut failures = Vec::new();
    for task in tasks {
        match task.await.expect("task panicked") {
            Ok(unit) => {
                ids.insert(unit.id);
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(failures.is_empty(), "{} of {WRITERS} creates failed: {failures:?}", failures.len());
    assert_eq!(ids.len(), WRITERS);
    let departments = UnitFilter { kind: Some(UnitKind::Department), ..Default::default() };
    assert_eq!(store.count_units(&t.actor, &departments).await.unwrap(), WRITERS as u64);
    assert_eq!(store.count_units(&t.actor, &UnitFilter::default()).await.unwrap(), WRITERS as u64 + 1);
}

/// Every edit counts: 50 concurrent updates without an expected version
/// take a unit from version 1 to 51, each seeing its own version.
pub async fn concurrent_updates_are_not_lost(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "parallel-update").await;
    let unit = t.unit(&store, UnitKind::Department, "Contended", t.company.id).await;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (store, actor) = (store.clone(), t.actor.clone());
            tokio::spawn(async move {
                let patch = UnitPatch {
                    name: Some(format!("Edit {i:02}")),
                    expected_version: None,
                    ..Default::default()
                };
                store.update_unit(&actor, unit.id, patch).await
            })
        })
        .collect();
    let mut versions = Vec::new();
    let mut failures = Vec::new();
    for task in tasks {
        match task.await.expect("task panicked") {
            Ok(updated) => versions.push(updated.version),
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(failures.is_empty(), "{} of {WRITERS} updates failed: {failures:?}", failures.len());
    let last = store.unit(&t.actor, unit.id).await.unwrap();
    versions.sort_unstable();
    let duplicates = versions.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(
        last.version,
        WRITERS as i32 + 1,
        "final version; {duplicates} update(s) returned a version another update also returned (lost updates)"
    );
    assert_eq!(versions, (2..=WRITERS as i32 + 1).collect::<Vec<_>>(), "each update sees its own version");
}

/// Optimistic concurrency under real concurrency: of 16 writers naming
/// the same version, exactly one wins and the others conflict.
pub async fn concurrent_updates_of_one_version_conflict(db: TestDb) {
    const RACERS: usize = 16;
    let store = connect(&db).await;
    let t = tenant(&store, "parallel-version").await;
    let unit = t.unit(&store, UnitKind::Department, "Contended", t.company.id).await;
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let (store, actor) = (store.clone(), t.actor.clone());
            tokio::spawn(async move {
                let patch = UnitPatch {
                    name: Some(format!("Racer {i}")),
                    expected_version: Some(1),
                    ..Default::default()
                };
                store.update_unit(&actor, unit.id, patch).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        match task.await.expect("task panicked") {
            Ok(updated) => winners.push(updated),
            Err(StoreError::Domain(DomainError::Conflict { .. })) => conflicts += 1,
            Err(e) => panic!("an update failed with something other than a conflict: {e:?}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "writers that passed the version check: {:?}",
        winners.iter().map(|u| &u.name).collect::<Vec<_>>()
    );
    assert_eq!(conflicts, RACERS - 1);
    let stored = store.unit(&t.actor, unit.id).await.unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.name, winners[0].name, "the stored edit is the winner's");
}
