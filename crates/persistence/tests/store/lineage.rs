//! The facts an actor carries for the policy: the units a person manages
//! (with their subtrees) and the person's own unit lineage.

use crate::common::{connect, tenant};
use goalgraph_domain::model::{Role, RoleSet, UnitKind};
use goalgraph_testkit::TestDb;
use std::collections::HashSet;

pub async fn managed_units_and_lineage(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "lineage").await;
    let dept = t.unit(&store, UnitKind::Department, "Engineering", t.company.id).await;
    let team = t.unit(&store, UnitKind::Team, "Platform", dept.id).await;
    let squad = t.unit(&store, UnitKind::Team, "Storage", team.id).await;
    let sibling = t.unit(&store, UnitKind::Department, "Sales", t.company.id).await;
    let sibling_team = t.unit(&store, UnitKind::Team, "Field sales", sibling.id).await;

    let alice = t.person(&store, "Alice", t.company.id, Some(RoleSet::new([Role::Manager]))).await;
    let bob = t.person(&store, "Bob", team.id, None).await;

    // Before she manages anything, Alice's actor manages nothing.
    let before = store.person_actor(&alice, &RoleSet::default()).await.unwrap();
    assert!(before.managed_units.is_empty());

    store.set_unit_managers(&t.actor, dept.id, &[alice.id]).await.unwrap();
    let managers = store.unit_managers(&t.actor, &[dept.id, team.id]).await.unwrap();
    assert_eq!(managers.get(&dept.id), Some(&vec![alice.id]));
    assert_eq!(managers.get(&team.id), None, "managers are stored for the unit named only");
    let managed = store.managed_units(&t.actor, &[alice.id, bob.id]).await.unwrap();
    assert_eq!(managed.get(&alice.id), Some(&vec![dept.id]));
    assert_eq!(managed.get(&bob.id), None);

    // Her actor manages the department's whole subtree and nothing above or beside it.
    let alice_actor = store.person_actor(&alice, &RoleSet::default()).await.unwrap();
    assert_eq!(alice_actor.managed_units, HashSet::from([dept.id, team.id, squad.id]));
    assert!(!alice_actor.managed_units.contains(&t.company.id));
    assert!(alice_actor.manages_unit(team.id));
    assert!(!alice_actor.manages_unit(t.company.id));
    assert!(!alice_actor.manages_unit(sibling_team.id));
    assert_eq!(alice_actor.unit_lineage, HashSet::from([t.company.id]));

    // Bob's lineage is his team and every unit above it.
    let bob_actor = store.person_actor(&bob, &RoleSet::default()).await.unwrap();
    assert_eq!(bob_actor.unit_lineage, HashSet::from([team.id, dept.id, t.company.id]));
    assert!(bob_actor.managed_units.is_empty());
    assert_eq!(store.unit_ancestors(&t.actor, team.id).await.unwrap(), vec![dept.id, t.company.id]);

    // Actors are built fresh: replacing the managers takes effect on the next one.
    store.set_unit_managers(&t.actor, dept.id, &[bob.id]).await.unwrap();
    let alice_after = store.person_actor(&alice, &RoleSet::default()).await.unwrap();
    assert!(alice_after.managed_units.is_empty());
    let bob_after = store.person_actor(&bob, &RoleSet::default()).await.unwrap();
    assert_eq!(bob_after.managed_units, HashSet::from([dept.id, team.id, squad.id]));
    store.set_unit_managers(&t.actor, dept.id, &[]).await.unwrap();
    assert!(store.unit_managers(&t.actor, &[dept.id]).await.unwrap().is_empty());
}
