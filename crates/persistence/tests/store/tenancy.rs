//! No query ever crosses tenants: another tenant's objects answer NOT_FOUND
//! (reads and updates) or are rejected as unknown input (references).

use crate::common::{assert_invalid, assert_not_found, connect, sorted_people, tenant};
use chrono::NaiveDate;
use goalgraph_domain::model::{PeriodStatus, UnitKind};
use goalgraph_domain::{DomainError, UnitId};
use goalgraph_persistence::{
    NewPeriod, PageArgs, PeopleFilter, PersonOrder, PersonPatch, SortDirection, StoreError, UnitFilter,
    UnitOrder, UnitPatch,
};
use goalgraph_testkit::TestDb;
use std::collections::HashSet;

fn quarter(name: &str) -> NewPeriod {
    NewPeriod {
        name: name.to_owned(),
        start_date: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        end_date: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
    }
}

pub async fn tenants_are_isolated(db: TestDb) {
    let store = connect(&db).await;
    let a = tenant(&store, "tenant-a").await;
    let b = tenant(&store, "tenant-b").await;
    let a_dept = a.unit(&store, UnitKind::Department, "A Sales", a.company.id).await;
    let b_dept = b.unit(&store, UnitKind::Department, "B Sales", b.company.id).await;
    let a_person = a.person(&store, "Ann A", a_dept.id, None).await;
    let b_person = b.person(&store, "Bea B", b_dept.id, None).await;
    let a_period = store.create_period(&a.actor, quarter("A Q1")).await.unwrap();
    let b_period = store.create_period(&b.actor, quarter("B Q1")).await.unwrap();

    // Reads by id: another tenant's object is not found; one's own is.
    assert_not_found(store.unit(&a.actor, b_dept.id).await);
    assert_not_found(store.unit(&a.actor, b.company.id).await);
    assert_eq!(store.unit(&a.actor, a_dept.id).await.unwrap(), a_dept);
    assert_eq!(store.unit(&b.actor, b_dept.id).await.unwrap(), b_dept);
    assert_not_found(store.person(&a.actor, b_person.id).await);
    assert_not_found(store.person(&a.actor, b.admin.id).await);
    assert_eq!(store.person(&a.actor, a_person.id).await.unwrap(), a_person);
    assert_not_found(store.period(&a.actor, b_period.id).await);
    assert_eq!(store.period(&a.actor, a_period.id).await.unwrap(), a_period);
    // Ancestors of another tenant's unit name none of its units (the store
    // answers an empty list, as for any unknown id; NotFound would do too).
    match store.unit_ancestors(&a.actor, b_dept.id).await {
        Ok(ids) => assert!(ids.is_empty(), "another tenant's ancestors leaked: {ids:?}"),
        Err(StoreError::Domain(DomainError::NotFound { .. })) => {}
        Err(e) => panic!("unit_ancestors of another tenant's unit: {e:?}"),
    }
    assert_eq!(store.unit_ancestors(&b.actor, b_dept.id).await.unwrap(), vec![b.company.id]);

    // Writes to another tenant's objects: not found, and nothing changes.
    let hijack = UnitPatch { name: Some("Hijacked".into()), ..Default::default() };
    assert_not_found(store.update_unit(&a.actor, b_dept.id, hijack.clone()).await);
    assert_eq!(store.unit(&b.actor, b_dept.id).await.unwrap(), b_dept);
    let renamed = store.update_unit(&a.actor, a_dept.id, hijack).await.unwrap();
    assert_eq!(renamed.name, "Hijacked");
    assert_not_found(store.move_unit(&a.actor, b_dept.id, b.company.id, None).await);
    assert_not_found(store.delete_unit(&a.actor, b_dept.id, None).await);
    assert_not_found(store.set_unit_managers(&a.actor, b_dept.id, &[]).await);
    let rename_person = PersonPatch { name: Some("Renamed".into()), ..Default::default() };
    assert_not_found(store.update_person(&a.actor, b_person.id, rename_person.clone()).await);
    assert_eq!(store.person(&b.actor, b_person.id).await.unwrap(), b_person);
    assert_eq!(store.update_person(&a.actor, a_person.id, rename_person).await.unwrap().name, "Renamed");
    assert_not_found(store.transition_period(&a.actor, b_period.id, PeriodStatus::Active, None).await);
    assert_eq!(store.period(&b.actor, b_period.id).await.unwrap().status, PeriodStatus::Planning);

    // Batch loads drop another tenant's ids and keep one's own.
    assert!(store.units_by_ids(&a.actor, &[b_dept.id, b.company.id]).await.unwrap().is_empty());
    let mixed = store.units_by_ids(&a.actor, &[b_dept.id, a_dept.id]).await.unwrap();
    assert_eq!(mixed.keys().copied().collect::<Vec<_>>(), vec![a_dept.id]);
    assert!(store.people_by_ids(&a.actor, &[b_person.id, b.admin.id]).await.unwrap().is_empty());
    assert_eq!(store.people_by_ids(&a.actor, &[a_person.id, b_person.id]).await.unwrap().len(), 1);
    assert!(store.periods_by_ids(&a.actor, &[b_period.id]).await.unwrap().is_empty());
    assert_eq!(store.periods_by_ids(&a.actor, &[a_period.id, b_period.id]).await.unwrap().len(), 1);

    // Lists and counts hold exactly the tenant's own rows.
    let args = PageArgs { first: 100, after: None };
    let listed: HashSet<UnitId> = store
        .list_units(&a.actor, &UnitFilter::default(), UnitOrder::Name, SortDirection::Asc, &args)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|(_, u)| u.id)
        .collect();
    assert_eq!(listed, HashSet::from([a.company.id, a_dept.id]));
    assert_eq!(store.count_units(&a.actor, &UnitFilter::default()).await.unwrap(), 2);
    let people = store
        .list_people(&a.actor, &PeopleFilter::default(), PersonOrder::Name, SortDirection::Asc, &args)
        .await
        .unwrap();
    assert_eq!(
        sorted_people(people.items.into_iter().map(|(_, p)| p.id)),
        sorted_people([a.admin.id, a_person.id])
    );
    // A filter naming another tenant's unit finds nothing.
    let by_b_parent = UnitFilter { parent_id: Some(b.company.id), ..Default::default() };
    assert_eq!(store.count_units(&a.actor, &by_b_parent).await.unwrap(), 0);
    assert_eq!(store.count_periods(&a.actor, None).await.unwrap(), 1);

    // References to another tenant's objects are unknown input.
    assert_invalid(
        store.create_person(&a.actor, a.new_person("Cross Over", b_dept.id, None)).await,
        "unitId",
    );
    let mut managed_by_b = a.new_person("Managed Elsewhere", a_dept.id, None);
    managed_by_b.manager_id = Some(b_person.id);
    assert_invalid(store.create_person(&a.actor, managed_by_b).await, "managerId");
    let move_to_b = PersonPatch { unit_id: Some(b_dept.id), ..Default::default() };
    assert_invalid(store.update_person(&a.actor, a_person.id, move_to_b).await, "unitId");
    // Positive control: the same person created with A's own unit works.
    let fine = store.create_person(&a.actor, a.new_person("Cross Over", a_dept.id, None)).await.unwrap();
    assert_eq!(fine.organization_id, a.org.id);

    // Managers from another tenant are rejected and change nothing.
    match store.set_unit_managers(&a.actor, a_dept.id, &[b_person.id]).await {
        Err(StoreError::Domain(DomainError::Invalid { field, .. })) if field.starts_with("managerIds") => {}
        other => panic!("expected Invalid on managerIds, got {other:?}"),
    }
    assert!(store.unit_managers(&a.actor, &[a_dept.id]).await.unwrap().is_empty());
    store.set_unit_managers(&a.actor, a_dept.id, &[a_person.id]).await.unwrap();
    let managers = store.unit_managers(&a.actor, &[a_dept.id]).await.unwrap();
    assert_eq!(managers.get(&a_dept.id), Some(&vec![a_person.id]));
    // B's view of its own managers is untouched by A's.
    assert!(store.unit_managers(&b.actor, &[b_dept.id, a_dept.id]).await.unwrap().is_empty());
}
