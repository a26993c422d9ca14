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

/// The actor a token resolves to follows every change to the units and the
/// line managers, made through another store (another server process) as
/// well: each change moves the tenant's directory version, which the next
/// lookup reads with the person. While nothing changes, the lookup is the
/// person's one statement.
pub async fn actors_follow_directory_changes_made_anywhere(db: TestDb) {
    let here = connect(&db).await;
    let elsewhere = connect(&db).await;
    let t = tenant(&here, "anywhere").await;
    let eng = t.unit(&here, UnitKind::Department, "Engineering", t.company.id).await;
    let sales = t.unit(&here, UnitKind::Department, "Sales", t.company.id).await;
    let team = t.unit(&here, UnitKind::Team, "Platform", eng.id).await;
    let mut bob = t.new_person("Bob", team.id, None);
    bob.subject = Some("bob-subject".into());
    let bob = here.create_person(&t.actor, bob).await.unwrap();
    let mut alice = t.new_person("Alice", t.company.id, Some(RoleSet::new([Role::Manager])));
    alice.subject = Some("alice-subject".into());
    let alice = here.create_person(&t.actor, alice).await.unwrap();
    let resolve = |subject: &'static str| {
        let here = here.clone();
        let slug = t.slug.clone();
        async move {
            let before = here.statement_count();
            let (_, actor, _) =
                here.resolve_person_actor(&slug, subject, &RoleSet::default()).await.unwrap().unwrap();
            (actor, here.statement_count() - before)
        }
    };

    let (first, _) = resolve("bob-subject").await;
    assert_eq!(first.unit_lineage, HashSet::from([team.id, eng.id, t.company.id]));
    assert_eq!(first.unit_subtree, HashSet::from([team.id]));
    let (again, statements) = resolve("bob-subject").await;
    assert_eq!(again, first);
    assert_eq!(statements, 1, "nothing changed: the person's statement only");

    // A unit created elsewhere below Bob's team is in his subtree.
    let squad = t.unit(&elsewhere, UnitKind::Team, "Storage", team.id).await;
    let (after_create, statements) = resolve("bob-subject").await;
    assert_eq!(after_create.unit_subtree, HashSet::from([team.id, squad.id]));
    assert_eq!(statements, 2, "the tree is read again once");

    // The team moved elsewhere: Bob's lineage runs through Sales.
    elsewhere.move_unit(&t.actor, team.id, sales.id, None).await.unwrap();
    let (moved, _) = resolve("bob-subject").await;
    assert_eq!(moved.unit_lineage, HashSet::from([team.id, sales.id, t.company.id]));

    // Alice made Sales' manager elsewhere manages all below it, then nothing.
    let (alice_before, _) = resolve("alice-subject").await;
    assert!(alice_before.managed_units.is_empty());
    elsewhere.set_unit_managers(&t.actor, sales.id, &[alice.id]).await.unwrap();
    let (alice_now, _) = resolve("alice-subject").await;
    assert_eq!(alice_now.managed_units, HashSet::from([sales.id, team.id, squad.id]));
    assert!(alice_now.manages_unit(squad.id) && !alice_now.manages_unit(eng.id));
    elsewhere.set_unit_managers(&t.actor, sales.id, &[]).await.unwrap();
    assert!(resolve("alice-subject").await.0.managed_units.is_empty());

    // A unit deleted elsewhere leaves Bob's subtree.
    elsewhere.delete_unit(&t.actor, squad.id, None).await.unwrap();
    let (after_delete, _) = resolve("bob-subject").await;
    assert_eq!(after_delete.unit_subtree, HashSet::from([team.id]));
    // The same sets as a store that never saw the tenant before.
    let fresh = connect(&db).await;
    let (_, cold, _) =
        fresh.resolve_person_actor(&t.slug, "bob-subject", &RoleSet::default()).await.unwrap().unwrap();
    assert_eq!(cold, after_delete);
    assert_eq!(bob.unit_id, team.id);
}
