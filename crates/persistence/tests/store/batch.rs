//! Key lists are bound as one parameter: a DataLoader batch of thousands of
//! ids is one statement, never capped by the bind-parameter limit.

use crate::common::{connect, tenant};
use goalgraph_domain::model::UnitKind;
use goalgraph_domain::{PersonId, UnitId};
use goalgraph_testkit::TestDb;
use std::collections::HashSet;

const KEYS: usize = 2_000;

pub async fn key_lists_are_one_statement(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "batch").await;
    let other = tenant(&store, "batch-other").await;
    let mut real = vec![t.company.id];
    for i in 0..5 {
        real.push(t.unit(&store, UnitKind::Department, &format!("Dept {i}"), t.company.id).await.id);
    }
    // Random ids with the real ones spread through the list, plus another
    // tenant's unit that must not come back.
    let mut ids: Vec<UnitId> = (0..KEYS - real.len() - 1).map(|_| UnitId(uuid::Uuid::new_v4())).collect();
    for (n, id) in real.iter().enumerate() {
        ids.insert(n * 300, *id);
    }
    ids.push(other.company.id);
    assert_eq!(ids.len(), KEYS);

    let before = store.statement_count();
    let found = store.units_by_ids(&t.actor, &ids).await.unwrap();
    let statements = store.statement_count() - before;
    assert_eq!(statements, 1, "units_by_ids issued {statements} statements");
    assert_eq!(found.keys().copied().collect::<HashSet<_>>(), real.iter().copied().collect::<HashSet<_>>());
    assert!(found.iter().all(|(id, unit)| unit.id == *id && unit.organization_id == t.org.id));

    // The same holds for people.
    let mut people: Vec<PersonId> = (0..KEYS - 1).map(|_| PersonId(uuid::Uuid::new_v4())).collect();
    people.insert(KEYS / 2, t.admin.id);
    let before = store.statement_count();
    let found = store.people_by_ids(&t.actor, &people).await.unwrap();
    assert_eq!(store.statement_count() - before, 1);
    assert_eq!(found.keys().copied().collect::<Vec<_>>(), vec![t.admin.id]);
}
