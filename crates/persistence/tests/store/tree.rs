//! The unit tree: one COMPANY root, kinds that may nest, no cycles, no
//! parents from another tenant, and deletion of empty units only.

use crate::common::{assert_invalid, assert_not_found, connect, new_unit, tenant};
use goalgraph_domain::model::UnitKind;
use goalgraph_persistence::UnitFilter;
use goalgraph_testkit::TestDb;

pub async fn unit_tree_rules(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "tree").await;
    let elsewhere = tenant(&store, "elsewhere").await;
    let all = UnitFilter::default();

    let dept = t.unit(&store, UnitKind::Department, "Engineering", t.company.id).await;
    assert_eq!((dept.kind, dept.parent_id, dept.version), (UnitKind::Department, Some(t.company.id), 1));
    let team = t.unit(&store, UnitKind::Team, "Platform", dept.id).await;
    assert_eq!((team.kind, team.parent_id), (UnitKind::Team, Some(dept.id)));
    // Teams hold teams (squads).
    let squad = t.unit(&store, UnitKind::Team, "Storage squad", team.id).await;
    assert_eq!(squad.parent_id, Some(team.id));
    let count = store.count_units(&t.actor, &all).await.unwrap();
    assert_eq!(count, 4);

    // Exactly one COMPANY per organization.
    assert_invalid(
        store.create_unit(&t.actor, new_unit(UnitKind::Company, "Second HQ", t.company.id)).await,
        "kind",
    );
    // Teams never hold departments.
    assert_invalid(
        store.create_unit(&t.actor, new_unit(UnitKind::Department, "Under a team", team.id)).await,
        "parentId",
    );
    // A parent of another organization is no parent here, and nothing is created.
    assert_invalid(
        store.create_unit(&t.actor, new_unit(UnitKind::Department, "Smuggled", elsewhere.company.id)).await,
        "parentId",
    );
    assert_eq!(store.count_units(&t.actor, &all).await.unwrap(), count);
    assert_eq!(store.count_units(&elsewhere.actor, &all).await.unwrap(), 1);

    // No cycles: a unit cannot move below itself or any of its descendants.
    assert_invalid(store.move_unit(&t.actor, dept.id, team.id, None).await, "parentId");
    assert_invalid(store.move_unit(&t.actor, dept.id, squad.id, None).await, "parentId");
    assert_invalid(store.move_unit(&t.actor, dept.id, dept.id, None).await, "parentId");
    // Nor below another tenant's unit.
    assert_invalid(store.move_unit(&t.actor, team.id, elsewhere.company.id, None).await, "parentId");
    let unchanged = store.unit(&t.actor, dept.id).await.unwrap();
    assert_eq!(unchanged, dept, "a rejected move changes nothing");

    // Deleting a unit that still holds sub-units or people is rejected.
    assert_invalid(store.delete_unit(&t.actor, dept.id, None).await, "id");
    assert_invalid(store.delete_unit(&t.actor, team.id, None).await, "id");
    let member = t.person(&store, "Sam Squad", squad.id, None).await;
    assert_invalid(store.delete_unit(&t.actor, squad.id, None).await, "id");
    assert_eq!(store.count_units(&t.actor, &all).await.unwrap(), count);

    // Positive control for the move: the team goes straight below the company.
    let moved = store.move_unit(&t.actor, team.id, t.company.id, Some(team.version)).await.unwrap();
    assert_eq!(moved.parent_id, Some(t.company.id));
    assert_eq!(moved.version, team.version + 1);
    assert_eq!(store.unit_ancestors(&t.actor, squad.id).await.unwrap(), vec![team.id, t.company.id]);

    // The department is empty now and can go.
    let deleted = store.delete_unit(&t.actor, dept.id, None).await.unwrap();
    assert_eq!(deleted.id, dept.id);
    assert_not_found(store.unit(&t.actor, dept.id).await);
    assert_eq!(store.count_units(&t.actor, &all).await.unwrap(), count - 1);
    // The squad with its person stays, and so does its person.
    assert_eq!(store.person(&t.actor, member.id).await.unwrap().unit_id, squad.id);

    // The company is never deleted.
    assert!(store.delete_unit(&t.actor, t.company.id, None).await.is_err());
    assert_eq!(store.unit(&t.actor, t.company.id).await.unwrap(), t.company);
    assert_eq!(store.count_units(&t.actor, &all).await.unwrap(), count - 1);
}

/// Deleting the company is rejected as bad input on `id`, while the same
/// call deletes an empty department.
pub async fn company_cannot_be_deleted(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "lonely").await;
    assert_invalid(store.delete_unit(&t.actor, t.company.id, None).await, "id");
    assert_eq!(store.company_unit(&t.actor).await.unwrap(), t.company);
    // Positive control: an empty department is deleted by the same call.
    let dept = t.unit(&store, UnitKind::Department, "Temporary", t.company.id).await;
    store.delete_unit(&t.actor, dept.id, Some(1)).await.unwrap();
    assert_not_found(store.unit(&t.actor, dept.id).await);
}
