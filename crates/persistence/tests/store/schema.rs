//! Migrations (up, down, up) and organization creation.

use crate::common::{assert_conflict, assert_invalid, connect, new_organization, tenant};
use goalgraph_domain::model::{Role, UnitKind};
use goalgraph_migrations::{Migrator, MigratorTrait};
use goalgraph_persistence::StoreError;
use goalgraph_testkit::TestDb;

/// The style guide's round trip: the test database arrives migrated (up);
/// reverting everything (down) and migrating again (up) leaves a schema that
/// works.
pub async fn migrations_round_trip(db: TestDb) {
    let store = connect(&db).await;
    let expected = Migrator::migrations().len();
    assert!(expected > 0, "the migrator knows no migration");

    let (applied, pending) = store.migration_status().await.unwrap();
    assert!(pending.is_empty(), "pending after up: {pending:?}");
    assert_eq!(applied.len(), expected);
    store.ready().await.unwrap();

    store.migrate_down(None).await.unwrap();
    let (applied_down, pending_down) = store.migration_status().await.unwrap();
    assert!(applied_down.is_empty(), "still applied after down: {applied_down:?}");
    assert_eq!(pending_down, applied, "every migration pending after down");
    assert!(store.ready().await.is_err(), "not ready with pending migrations");
    // The tables are really gone: a write fails as a database error.
    let gone = store.create_organization(new_organization("after-down")).await;
    assert!(matches!(gone, Err(StoreError::Database(_))), "write after down: {gone:?}");

    store.migrate().await.unwrap();
    let (applied_up, pending_up) = store.migration_status().await.unwrap();
    assert!(pending_up.is_empty(), "pending after the second up: {pending_up:?}");
    assert_eq!(applied_up, applied);
    store.ready().await.unwrap();

    // The schema works: a tenant, a unit below it, and the tenant found again.
    let t = tenant(&store, "after-round-trip").await;
    let dept = t.unit(&store, UnitKind::Department, "Sales", t.company.id).await;
    assert_eq!(store.unit(&t.actor, dept.id).await.unwrap(), dept);
    let found = store.find_organization("after-round-trip").await.unwrap();
    assert_eq!(found.map(|o| o.id), Some(t.org.id));
}

pub async fn organization_creation(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "acme").await;

    // The company unit is the root of the new tenant.
    assert_eq!(t.company.kind, UnitKind::Company);
    assert_eq!(t.company.parent_id, None);
    assert_eq!(t.company.organization_id, t.org.id);
    assert_eq!(store.company_unit(&t.actor).await.unwrap(), t.company);
    assert_eq!(store.unit(&t.actor, t.company.id).await.unwrap(), t.company);

    // The admin lives in it, is active, and acts as ADMIN.
    assert_eq!(t.admin.organization_id, t.org.id);
    assert_eq!(t.admin.unit_id, t.company.id);
    assert!(t.admin.active);
    assert_eq!(t.admin.email, "admin@acme.example");
    assert!(t.admin.roles.contains(Role::Admin));
    assert_eq!(store.person(&t.actor, t.admin.id).await.unwrap(), t.admin);
    assert!(t.actor.has_role(Role::Admin));
    assert_eq!(t.actor.organization_id, t.org.id);

    // A second tenant with the same slug conflicts; with another slug it works.
    let mut same_slug = new_organization("acme");
    same_slug.name = "Another Acme".into();
    same_slug.admin_email = "boss@another.example".into();
    assert_conflict(store.create_organization(same_slug).await);
    let other = tenant(&store, "acme-2").await;
    assert_ne!(other.org.id, t.org.id);

    // A malformed admin e-mail names its field.
    let mut bad_mail = new_organization("bad-mail");
    bad_mail.admin_email = "not-an-address".into();
    assert_invalid(store.create_organization(bad_mail).await, "adminEmail");

    // Neither rejected tenant left anything behind.
    let slugs: Vec<String> = store.list_organizations().await.unwrap().into_iter().map(|o| o.slug).collect();
    assert_eq!(slugs, ["acme", "acme-2"]);
    assert_eq!(store.find_organization("bad-mail").await.unwrap(), None);

    // Found by slug and by id, and nothing for unknown references.
    let by_slug = store.find_organization("acme").await.unwrap().expect("by slug");
    assert_eq!(by_slug.id, t.org.id);
    assert_eq!(by_slug.name, "Org acme");
    let by_id = store.find_organization(&t.org.id.to_string()).await.unwrap().expect("by id");
    assert_eq!(by_id.id, t.org.id);
    assert_eq!(store.find_organization("no-such-org").await.unwrap(), None);
    assert_eq!(store.find_organization(&uuid::Uuid::new_v4().to_string()).await.unwrap(), None);
}
