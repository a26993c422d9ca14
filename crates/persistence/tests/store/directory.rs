//! HRIS directory sync (the issue: "bulk-upserts units and people by their
//! external ids (idempotent, all-or-nothing per call, reporting each bad
//! row by index), deactivating people instead of deleting them"; "a
//! 20,000-person directory sync completes in one call …; running it twice
//! changes nothing; a call with one bad row writes nothing and names the
//! row").

use crate::common::{assert_conflict, assert_forbidden, assert_invalid, assert_not_found, connect, tenant};
use crate::goals_fixture::{active_quarter, objective, objective_row};
use chrono::{DateTime, Utc};
use goalgraph_domain::model::{Role, RoleSet, UnitKind};
use goalgraph_domain::okr::Owner;
use goalgraph_domain::policy::{Actor, Scope};
use goalgraph_domain::{DomainError, OrganizationId, PersonId};
use goalgraph_persistence::entity::{person, unit};
use goalgraph_persistence::{
    DirectoryPerson, DirectorySync, DirectoryUnit, Store, StoreError, StoreResult, SyncReport,
};
use goalgraph_testkit::TestDb;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use std::time::Instant;
use uuid::Uuid;

fn unit_row(key: &str, name: &str, kind: UnitKind, parent: Option<&str>) -> DirectoryUnit {
    DirectoryUnit {
        external_id: key.to_owned(),
        name: name.to_owned(),
        kind,
        parent_external_id: parent.map(str::to_owned),
    }
}

fn person_row(key: &str, email: &str, unit: Option<&str>, manager: Option<&str>) -> DirectoryPerson {
    DirectoryPerson {
        external_id: key.to_owned(),
        name: format!("Person {key}"),
        email: email.to_owned(),
        unit_external_id: unit.map(str::to_owned),
        manager_external_id: manager.map(str::to_owned),
        active: true,
        roles: None,
    }
}

fn sync(units: Vec<DirectoryUnit>, people: Vec<DirectoryPerson>) -> DirectorySync {
    DirectorySync { units, people, idempotency_key: None }
}

/// 20 departments of 25 teams of 40 people. A team's first person leads
/// it and reports to the head of the department (the lead of its first
/// team), who reports to p0; everyone else reports to their team lead.
fn big_directory() -> DirectorySync {
    let mut units = Vec::new();
    for d in 0..20 {
        units.push(unit_row(&format!("d{d}"), &format!("Department {d}"), UnitKind::Department, None));
    }
    for t in 0..500 {
        let dept = format!("d{}", t / 25);
        units.push(unit_row(&format!("t{t}"), &format!("Team {t}"), UnitKind::Team, Some(&dept)));
    }
    let mut people = Vec::with_capacity(20_000);
    for p in 0..20_000usize {
        let team = p / 40;
        let lead = team * 40;
        let manager = if p != lead {
            Some(lead)
        } else if team % 25 != 0 {
            Some((team / 25) * 1000)
        } else if p != 0 {
            Some(0)
        } else {
            None
        };
        let manager = manager.map(|m| format!("p{m}"));
        people.push(person_row(
            &format!("p{p}"),
            &format!("p{p}@big.example"),
            Some(&format!("t{team}")),
            manager.as_deref(),
        ));
    }
    sync(units, people)
}

/// (id, version, updated_at) of every unit and person of a tenant, by id.
type Snapshot = (Vec<(Uuid, i32, DateTime<Utc>)>, Vec<(Uuid, i32, DateTime<Utc>)>);

async fn snapshot(store: &Store, org: OrganizationId) -> Snapshot {
    let units = unit::Entity::find()
        .filter(unit::Column::OrganizationId.eq(org.0))
        .order_by_asc(unit::Column::Id)
        .all(store.connection())
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.id, u.version, u.updated_at))
        .collect();
    let people = person::Entity::find()
        .filter(person::Column::OrganizationId.eq(org.0))
        .order_by_asc(person::Column::Id)
        .all(store.connection())
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.id, p.version, p.updated_at))
        .collect();
    (units, people)
}

fn version_sum(s: &Snapshot) -> i64 {
    s.0.iter().chain(s.1.iter()).map(|(_, v, _)| i64::from(*v)).sum()
}

/// Rows of the tenant: (units, people, people with a line manager).
async fn counts(store: &Store, org: OrganizationId) -> (u64, u64, u64) {
    let conn = store.connection();
    let units =
        unit::Entity::find().filter(unit::Column::OrganizationId.eq(org.0)).count(conn).await.unwrap();
    let people =
        person::Entity::find().filter(person::Column::OrganizationId.eq(org.0)).count(conn).await.unwrap();
    let managed = person::Entity::find()
        .filter(person::Column::OrganizationId.eq(org.0))
        .filter(person::Column::ManagerId.is_not_null())
        .count(conn)
        .await
        .unwrap();
    (units, people, managed)
}

async fn person_by_key(store: &Store, org: OrganizationId, key: &str) -> person::Model {
    person::Entity::find()
        .filter(person::Column::OrganizationId.eq(org.0))
        .filter(person::Column::ExternalId.eq(key))
        .one(store.connection())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no person {key}"))
}

async fn unit_by_key(store: &Store, org: OrganizationId, key: &str) -> unit::Model {
    unit::Entity::find()
        .filter(unit::Column::OrganizationId.eq(org.0))
        .filter(unit::Column::ExternalId.eq(key))
        .one(store.connection())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no unit {key}"))
}

/// Directory events in the outbox for a tenant.
async fn directory_events(store: &Store, org: OrganizationId) -> i64 {
    use sea_orm::ConnectionTrait;
    let conn = store.connection();
    let backend = conn.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "SELECT COUNT(*) AS n FROM live_events WHERE organization_id = $1 AND topic = 'DIRECTORY'"
        }
        _ => "SELECT COUNT(*) AS n FROM live_events WHERE organization_id = ? AND topic = 'DIRECTORY'",
    };
    let row = conn
        .query_one_raw(sea_orm::Statement::from_sql_and_values(backend, sql, [org.0.into()]))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// The field and message of an `Invalid` error.
#[track_caller]
fn invalid<T: std::fmt::Debug>(result: StoreResult<T>) -> (String, String) {
    match result {
        Err(StoreError::Domain(DomainError::Invalid { field, message })) => (field, message),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

async fn integration(store: &Store, admin: &Actor, scopes: &[Scope]) -> Actor {
    let (_, key) = store.create_integration(admin, "HRIS", scopes, None).await.unwrap();
    store.resolve_integration_actor(&key).await.unwrap().expect("the key resolves").1
}

pub async fn twenty_thousand_people_sync_in_one_call(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "big").await;
    let org = t.org.id;
    let hris = integration(&store, &t.actor, &[Scope::DirectoryWrite]).await;
    let input = big_directory();

    let started = Instant::now();
    let first = store.sync_directory(&hris, input.clone()).await.expect("20,000 people in one call");
    let first_took = started.elapsed();
    assert_eq!(
        first,
        SyncReport { units_created: 520, people_created: 20_000, ..SyncReport::default() },
        "everything is new"
    );
    // Read back: the company, 20 departments and 500 teams; the admin and
    // 20,000 people, all but p0 (and the admin) with a line manager.
    assert_eq!(counts(&store, org).await, (521, 20_001, 19_999));
    let p12345 = person_by_key(&store, org, "p12345").await;
    let team = unit_by_key(&store, org, "t308").await;
    let lead = person_by_key(&store, org, "p12320").await;
    assert_eq!((p12345.unit_id, p12345.manager_id), (team.id, Some(lead.id)));
    assert_eq!(
        (p12345.email.as_str(), p12345.subject.as_str()),
        ("p12345@big.example", "p12345@big.example")
    );
    assert!(p12345.active && p12345.version == 1);
    assert_eq!(RoleSet::from_json(&p12345.roles), RoleSet::new([Role::Member]), "the default roles");
    let dept = unit_by_key(&store, org, "d12").await;
    assert_eq!((team.parent_id, dept.parent_id), (Some(dept.id), Some(t.company.id.0)));
    let head = person_by_key(&store, org, "p12000").await;
    assert_eq!(lead.manager_id, Some(head.id), "a team lead reports to the department head");

    // The same call again changes nothing: no version, no timestamp moves.
    let before = snapshot(&store, org).await;
    let started = Instant::now();
    let second = store.sync_directory(&hris, input.clone()).await.unwrap();
    let second_took = started.elapsed();
    assert_eq!(second, SyncReport { unchanged: 20_520, ..SyncReport::default() });
    assert_eq!(snapshot(&store, org).await, before, "an identical call writes no row");

    // Three changes: exactly three rows move on by one version.
    let mut changed = input.clone();
    changed.people[7].name = "Renamed Seven".into();
    changed.people[8].active = false;
    changed.units[20 + 3].parent_external_id = Some("d1".into());
    let third = store.sync_directory(&hris, changed.clone()).await.unwrap();
    assert_eq!(
        third,
        SyncReport {
            units_updated: 1,
            people_updated: 1,
            people_deactivated: 1,
            unchanged: 20_517,
            ..Default::default()
        }
    );
    let after = snapshot(&store, org).await;
    assert_eq!(version_sum(&after), version_sum(&before) + 3);
    let moved: Vec<_> = before.1.iter().zip(&after.1).filter(|(b, a)| b != a).collect();
    assert_eq!(moved.len(), 2, "two people rows changed");
    assert!(!person_by_key(&store, org, "p8").await.active);
    assert_eq!(unit_by_key(&store, org, "t3").await.parent_id, Some(unit_by_key(&store, org, "d1").await.id));

    // One bad row among 20,000: nothing is written, not even the good
    // change in the same call, and the error names the row.
    let mut bad = changed.clone();
    bad.people[9].name = "Renamed Nine".into();
    bad.people[12_345].email = "not-an-address".into();
    let started = Instant::now();
    let (field, message) = invalid(store.sync_directory(&hris, bad).await);
    let bad_took = started.elapsed();
    assert_eq!(field, "people[12345].email");
    assert!(message.contains("1 bad row(s)"), "{message}");
    assert_eq!(snapshot(&store, org).await, after, "a call with a bad row writes nothing");
    assert_eq!(counts(&store, org).await, (521, 20_001, 19_999));
    eprintln!(
        "directory sync of 20,000 people on {:?}: first {first_took:?}, identical {second_took:?}, one bad row {bad_took:?}",
        db.backend
    );
}

pub async fn every_bad_row_is_named_and_nothing_is_written(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "dir-rows").await;
    let other = tenant(&store, "dir-rows-other").await;
    let org = t.org.id;
    let a = &t.actor;
    let base = sync(
        vec![
            unit_row("eng", "Engineering", UnitKind::Department, None),
            unit_row("eng-a", "Team A", UnitKind::Team, Some("eng")),
            unit_row("ops", "Operations", UnitKind::Department, None),
        ],
        vec![
            person_row("alice", "alice@rows.example", Some("eng"), None),
            person_row("bob", "bob@rows.example", Some("eng-a"), Some("alice")),
        ],
    );
    store.sync_directory(a, base).await.unwrap();
    // Another tenant's keys are not this one's.
    store
        .sync_directory(&other.actor, sync(vec![], vec![person_row("zed", "zed@other.example", None, None)]))
        .await
        .unwrap();
    let before = snapshot(&store, org).await;

    let cases: Vec<(&str, DirectorySync, &str)> = vec![
        (
            "unknown parent",
            sync(vec![unit_row("x", "X", UnitKind::Team, Some("nope"))], vec![]),
            "units[0].parentExternalId",
        ),
        (
            "unknown unit",
            sync(vec![], vec![person_row("carol", "carol@rows.example", Some("nope"), None)]),
            "people[0].unitExternalId",
        ),
        (
            "manager known only in another tenant",
            sync(vec![], vec![person_row("carol", "carol@rows.example", None, Some("zed"))]),
            "people[0].managerExternalId",
        ),
        (
            "repeated unit id",
            sync(
                vec![unit_row("x", "X", UnitKind::Team, None), unit_row("x", "Y", UnitKind::Team, None)],
                vec![],
            ),
            "units[1].externalId",
        ),
        (
            "repeated person id",
            sync(
                vec![],
                vec![
                    person_row("carol", "carol@rows.example", None, None),
                    person_row("carol", "carol2@rows.example", None, None),
                ],
            ),
            "people[1].externalId",
        ),
        (
            "repeated address",
            sync(
                vec![],
                vec![
                    person_row("carol", "carol@rows.example", None, None),
                    person_row("dave", "Carol@Rows.example", None, None),
                ],
            ),
            "people[1].email",
        ),
        (
            "address of another person",
            sync(vec![], vec![person_row("carol", "alice@rows.example", None, None)]),
            "people[0].email",
        ),
        ("empty name", sync(vec![unit_row("x", "  ", UnitKind::Team, None)], vec![]), "units[0].name"),
        (
            "empty external id",
            sync(vec![], vec![person_row(" ", "e@rows.example", None, None)]),
            "people[0].externalId",
        ),
        (
            "a second company",
            sync(vec![unit_row("x", "X", UnitKind::Company, None)], vec![]),
            "units[0].kind",
        ),
        (
            "a department below a team",
            sync(vec![unit_row("x", "X", UnitKind::Department, Some("eng-a"))], vec![]),
            "units[0].parentExternalId",
        ),
        (
            "a unit below its own team (cycle through the stored tree)",
            sync(vec![unit_row("eng", "Engineering", UnitKind::Team, Some("eng-a"))], vec![]),
            "units[0].parentExternalId",
        ),
        (
            "two new units below each other",
            sync(
                vec![
                    unit_row("x", "X", UnitKind::Team, Some("y")),
                    unit_row("y", "Y", UnitKind::Team, Some("x")),
                ],
                vec![],
            ),
            "units[0].parentExternalId",
        ),
        (
            "a unit below itself",
            sync(vec![unit_row("x", "X", UnitKind::Team, Some("x"))], vec![]),
            "units[0].parentExternalId",
        ),
        (
            "a manager loop through the stored chain",
            sync(vec![], vec![person_row("alice", "alice@rows.example", Some("eng"), Some("bob"))]),
            "people[0].managerExternalId",
        ),
        (
            "managing oneself",
            sync(vec![], vec![person_row("carol", "carol@rows.example", None, Some("carol"))]),
            "people[0].managerExternalId",
        ),
    ];
    for (what, input, field) in cases {
        let (got, message) = invalid(store.sync_directory(a, input).await);
        assert_eq!(got, field, "{what}: {message}");
        assert_eq!(snapshot(&store, org).await, before, "{what}: nothing written");
    }

    // A department turned into a team while a department hangs below it:
    // the unit row is named, with what is in its way.
    let platform = sync(vec![unit_row("eng-p", "Platform", UnitKind::Department, Some("eng"))], vec![]);
    store.sync_directory(a, platform).await.unwrap();
    let before = snapshot(&store, org).await;
    let (field, message) = invalid(
        store
            .sync_directory(a, sync(vec![unit_row("eng", "Engineering", UnitKind::Team, None)], vec![]))
            .await,
    );
    assert_eq!(field, "units[0].kind");
    assert!(message.contains("Platform"), "{message}");
    assert_eq!(snapshot(&store, org).await, before);

    // Every bad row is listed (up to 20, then a count), units first.
    let mut many = sync(vec![unit_row("u-bad", "", UnitKind::Team, None)], vec![]);
    for i in 0..25 {
        many.people.push(person_row(&format!("bad{i}"), &format!("bad{i}-at-rows"), None, None));
    }
    many.people.insert(3, person_row("good", "good@rows.example", None, None));
    let (field, message) = invalid(store.sync_directory(a, many).await);
    assert_eq!(field, "units[0].name");
    assert!(message.contains("26 bad row(s)"), "{message}");
    assert!(message.contains("people[4].email") && !message.contains("people[3]"), "{message}");
    assert!(message.contains("(and 6 more)"), "{message}");
    assert_eq!(snapshot(&store, org).await, before);

    // Positive control: the corrected rows go through; the admin, who has
    // no external id yet, is matched by e-mail address and keeps their roles.
    let fixed = sync(
        vec![
            unit_row("x", "X", UnitKind::Team, Some("eng-a")),
            unit_row("y", "Y", UnitKind::Team, Some("x")),
        ],
        vec![
            person_row("carol", "carol@rows.example", Some("y"), Some("bob")),
            person_row("admin", &t.admin.email.to_uppercase(), None, None),
        ],
    );
    let report = store.sync_directory(a, fixed).await.unwrap();
    assert_eq!(
        report,
        SyncReport { units_created: 2, people_created: 1, people_updated: 1, ..SyncReport::default() }
    );
    let admin = person_by_key(&store, org, "admin").await;
    assert_eq!(admin.id, t.admin.id.0, "the admin was matched, not duplicated");
    assert_eq!(RoleSet::from_json(&admin.roles), RoleSet::new([Role::Admin]));
    let carol = person_by_key(&store, org, "carol").await;
    assert_eq!(carol.manager_id, Some(person_by_key(&store, org, "bob").await.id));
    assert_eq!(counts(&store, org).await.1, 4);
}

pub async fn absent_people_stay_and_deactivated_people_keep_their_rows(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "dir-active").await;
    let org = t.org.id;
    let a = &t.actor;
    let units = vec![
        unit_row("eng", "Engineering", UnitKind::Department, None),
        unit_row("ops", "Operations", UnitKind::Department, None),
    ];
    let people = vec![
        person_row("alice", "alice@active.example", Some("eng"), None),
        person_row("bob", "bob@active.example", Some("eng"), Some("alice")),
        person_row("carol", "carol@active.example", Some("eng"), Some("alice")),
    ];
    store.sync_directory(a, sync(units, people.clone())).await.unwrap();
    let alice = PersonId(person_by_key(&store, org, "alice").await.id);
    let q = active_quarter(&store, &t).await;
    let goal = objective(&store, a, q.id, Owner::Person(alice), "Ship it", None).await;
    let before = snapshot(&store, org).await;
    let events = directory_events(&store, org).await;

    // A partial call deactivates Bob and leaves Alice and Carol alone; one
    // directory event tells subscribers to rebuild their actors.
    let mut bob = people[1].clone();
    bob.active = false;
    let report = store.sync_directory(a, sync(vec![], vec![bob.clone()])).await.unwrap();
    assert_eq!(report, SyncReport { people_deactivated: 1, ..SyncReport::default() });
    assert_eq!(directory_events(&store, org).await, events + 1);
    let after = snapshot(&store, org).await;
    let changed: Vec<_> = before.1.iter().zip(&after.1).filter(|(b, a)| b != a).collect();
    assert_eq!(changed.len(), 1, "only Bob's row changed");
    let stored = person_by_key(&store, org, "bob").await;
    assert!(!stored.active, "deactivated, not deleted");
    assert_eq!(counts(&store, org).await.1, 4, "every row is still there");
    let none = RoleSet::default();
    assert!(store.resolve_person_actor("dir-active", &stored.subject, &none).await.unwrap().is_none());
    assert!(store.resolve_person_actor("dir-active", "carol@active.example", &none).await.unwrap().is_some());
    // Again: already inactive, nothing to do.
    let again = store.sync_directory(a, sync(vec![], vec![bob])).await.unwrap();
    assert_eq!(again, SyncReport { unchanged: 1, ..SyncReport::default() });
    assert_eq!(directory_events(&store, org).await, events + 1, "no change, no event");

    // A row without `active: false` brings Bob back.
    let report = store.sync_directory(a, sync(vec![], vec![people[1].clone()])).await.unwrap();
    assert_eq!(report, SyncReport { people_updated: 1, ..SyncReport::default() });
    assert!(store.resolve_person_actor("dir-active", "bob@active.example", &none).await.unwrap().is_some());

    // Alice moves to Operations: her goals move with her.
    let ops = unit_by_key(&store, org, "ops").await;
    let mut moved = people[0].clone();
    moved.unit_external_id = Some("ops".into());
    store.sync_directory(a, sync(vec![], vec![moved])).await.unwrap();
    assert_eq!(objective_row(&store, org, goal.id).await.owner_unit_id, ops.id);
}

pub async fn only_the_directory_scope_syncs_and_only_admins_grant_roles(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "dir-access").await;
    let org = t.org.id;
    let hris = integration(&store, &t.actor, &[Scope::DirectoryWrite]).await;
    let metrics = integration(&store, &t.actor, &[Scope::KpiWrite]).await;
    let (_, hr) = t.actor_with(&store, "Hanna HR", RoleSet::new([Role::Hr])).await;
    let (_, member) = t.actor_with(&store, "Max Member", RoleSet::new([Role::Member])).await;
    let one = || sync(vec![], vec![person_row("carol", "carol@access.example", None, None)]);

    // Refused, and nothing written; the directory integration is the control.
    let before = counts(&store, org).await;
    assert_not_found(store.sync_directory(&metrics, one()).await);
    assert_forbidden(store.sync_directory(&member, one()).await);
    assert_eq!(counts(&store, org).await, before);
    assert_eq!(store.sync_directory(&hris, one()).await.unwrap().people_created, 1);
    let hr_row = sync(vec![], vec![person_row("dan", "dan@access.example", None, None)]);
    assert_eq!(store.sync_directory(&hr, hr_row).await.unwrap().people_created, 1);

    // An integration cannot grant roles, not even to a new person; the
    // default roles, or a person's own, are no grant.
    let with_roles = |key: &str, roles: &[Role]| {
        let mut row = person_row(key, &format!("{key}@access.example"), None, None);
        row.roles = Some(RoleSet::new(roles.iter().copied()));
        sync(vec![], vec![row])
    };
    let before = snapshot(&store, org).await;
    assert_forbidden(store.sync_directory(&hris, with_roles("eve", &[Role::Admin])).await);
    assert_forbidden(store.sync_directory(&hris, with_roles("carol", &[Role::Manager])).await);
    assert_forbidden(store.sync_directory(&hr, with_roles("carol", &[Role::Manager])).await);
    assert_eq!(snapshot(&store, org).await, before, "a refused grant writes nothing");
    assert_eq!(
        store.sync_directory(&hris, with_roles("eve", &[Role::Member])).await.unwrap().people_created,
        1
    );
    assert_eq!(store.sync_directory(&hris, with_roles("carol", &[Role::Member])).await.unwrap().unchanged, 1);
    // An admin may.
    let granted = store.sync_directory(&t.actor, with_roles("carol", &[Role::Manager])).await.unwrap();
    assert_eq!(granted.people_updated, 1);
    let carol = person_by_key(&store, org, "carol").await;
    assert_eq!(RoleSet::from_json(&carol.roles), RoleSet::new([Role::Manager]));
    // Omitting roles keeps them, whoever syncs.
    assert_eq!(store.sync_directory(&hris, one()).await.unwrap().unchanged, 1);
    assert_eq!(
        RoleSet::from_json(&person_by_key(&store, org, "carol").await.roles),
        RoleSet::new([Role::Manager])
    );

    // Idempotency keys: a retry is a replay that writes nothing; the key
    // with another input conflicts.
    let keyed = |key: &str, email: &str| DirectorySync {
        idempotency_key: Some(key.to_owned()),
        ..sync(vec![], vec![person_row("frank", email, None, None)])
    };
    let first = store.sync_directory(&hris, keyed("nightly-1", "frank@access.example")).await.unwrap();
    assert_eq!((first.people_created, first.replayed), (1, false));
    let retry = store.sync_directory(&hris, keyed("nightly-1", "frank@access.example")).await.unwrap();
    assert_eq!(retry, SyncReport { replayed: true, ..SyncReport::default() });
    assert_conflict(store.sync_directory(&hris, keyed("nightly-1", "frank2@access.example")).await);
    assert_not_found(store.sync_directory(&metrics, keyed("nightly-1", "frank@access.example")).await);
    let next = store.sync_directory(&hris, keyed("nightly-2", "frank2@access.example")).await.unwrap();
    assert_eq!((next.people_updated, next.replayed), (1, false));
    assert_invalid(store.sync_directory(&hris, keyed(" ", "frank@access.example")).await, "idempotencyKey");
}
