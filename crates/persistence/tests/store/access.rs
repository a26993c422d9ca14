//! Authorization through the policy module: the access table of the product
//! brief for units, people and periods.

use crate::common::{assert_forbidden, connect, new_unit, tenant};
use chrono::NaiveDate;
use goalgraph_domain::model::{PeriodStatus, Role, RoleSet, UnitKind};
use goalgraph_persistence::{
    NewPeriod, PageArgs, PeriodPatch, PersonPatch, SortDirection, UnitFilter, UnitOrder,
};
use goalgraph_testkit::TestDb;

fn period(name: &str) -> NewPeriod {
    NewPeriod {
        name: name.to_owned(),
        start_date: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        end_date: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
    }
}

pub async fn policy_decides_directory_and_periods(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "authz").await;
    let dept = t.unit(&store, UnitKind::Department, "Finance", t.company.id).await;

    // MEMBER: reads the directory, changes nothing in it.
    let (_, member) = t.actor_with(&store, "Mia Member", RoleSet::new([Role::Member])).await;
    assert_eq!(store.unit(&member, dept.id).await.unwrap(), dept);
    let listed = store
        .list_units(
            &member,
            &UnitFilter::default(),
            UnitOrder::Name,
            SortDirection::Asc,
            &PageArgs { first: 10, after: None },
        )
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    assert_eq!(store.count_units(&member, &UnitFilter::default()).await.unwrap(), 2);
    assert_forbidden(store.create_unit(&member, new_unit(UnitKind::Team, "Rogue team", dept.id)).await);
    assert_eq!(store.count_units(&t.actor, &UnitFilter::default()).await.unwrap(), 2);
    // Positive control: the admin creates the same unit.
    store.create_unit(&t.actor, new_unit(UnitKind::Team, "Rogue team", dept.id)).await.unwrap();

    // HR: creates people, but only ADMIN grants roles beyond the default.
    let (_, hr) = t.actor_with(&store, "Hal Hr", RoleSet::new([Role::Hr])).await;
    let plain = store.create_person(&hr, t.new_person("Pat Plain", dept.id, None)).await.unwrap();
    assert_eq!(plain.roles, RoleSet::new([Role::Member]), "the default role is MEMBER");
    let explicit_default = store
        .create_person(&hr, t.new_person("Del Default", dept.id, Some(RoleSet::new([Role::Member]))))
        .await
        .unwrap();
    assert_eq!(explicit_default.roles, RoleSet::new([Role::Member]));
    let wannabe = t.new_person("Wanda Admin", dept.id, Some(RoleSet::new([Role::Admin])));
    assert_forbidden(store.create_person(&hr, wannabe.clone()).await);
    assert_eq!(store.find_person_by_email(t.org.id, &wannabe.email).await.unwrap(), None);
    let granted = store.create_person(&t.actor, wannabe).await.unwrap();
    assert_eq!(granted.roles, RoleSet::new([Role::Admin]));

    // HR edits people but does not change roles; ADMIN does.
    let promote = PersonPatch { roles: Some(RoleSet::new([Role::Hr])), ..Default::default() };
    assert_forbidden(store.update_person(&hr, plain.id, promote.clone()).await);
    assert_eq!(store.person(&t.actor, plain.id).await.unwrap(), plain, "a forbidden update changes nothing");
    let renamed = store
        .update_person(&hr, plain.id, PersonPatch { name: Some("Pat Renamed".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(renamed.name, "Pat Renamed");
    // Sending the roles a person already has is no change of roles.
    let same_roles = PersonPatch { roles: Some(RoleSet::new([Role::Member])), ..Default::default() };
    store.update_person(&hr, plain.id, same_roles).await.unwrap();
    let promoted = store.update_person(&t.actor, plain.id, promote).await.unwrap();
    assert_eq!(promoted.roles, RoleSet::new([Role::Hr]));

    // VIEWER sees periods but changes none; HR changes and closes them.
    let (_, viewer) = t.actor_with(&store, "Vic Viewer", RoleSet::new([Role::Viewer])).await;
    let q2 = store.create_period(&t.actor, period("Q2 2026")).await.unwrap();
    assert_eq!(store.period(&viewer, q2.id).await.unwrap(), q2);
    let rename = PeriodPatch { name: Some("Q2 (renamed)".into()), ..Default::default() };
    assert_forbidden(store.update_period(&viewer, q2.id, rename.clone()).await);
    assert_forbidden(store.transition_period(&viewer, q2.id, PeriodStatus::Active, None).await);
    assert_forbidden(store.create_period(&viewer, period("Viewer's quarter")).await);
    assert_forbidden(store.transition_period(&member, q2.id, PeriodStatus::Closed, None).await);
    assert_eq!(store.period(&t.actor, q2.id).await.unwrap(), q2, "forbidden calls change nothing");
    let renamed = store.update_period(&hr, q2.id, rename).await.unwrap();
    assert_eq!(renamed.name, "Q2 (renamed)");
    let active =
        store.transition_period(&hr, q2.id, PeriodStatus::Active, Some(renamed.version)).await.unwrap();
    assert_eq!(active.status, PeriodStatus::Active);
    let closed =
        store.transition_period(&hr, q2.id, PeriodStatus::Closed, Some(active.version)).await.unwrap();
    assert_eq!(closed.status, PeriodStatus::Closed);
    assert_eq!(store.period(&viewer, q2.id).await.unwrap().status, PeriodStatus::Closed);
}
