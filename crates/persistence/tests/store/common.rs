//! Fixtures and assertions shared by the store suite: a tenant with its
//! admin actor, units and people created through the store's own API, and
//! matchers for the domain errors the product brief promises.

use goalgraph_domain::DomainError;
use goalgraph_domain::model::{Organization, Person, RoleSet, Unit, UnitKind};
use goalgraph_domain::policy::Actor;
use goalgraph_domain::{PersonId, UnitId};
use goalgraph_persistence::{
    NewOrganization, NewPerson, NewUnit, Store, StoreError, StoreOptions, StoreResult,
};
use goalgraph_testkit::TestDb;
use std::fmt::Debug;

pub async fn connect(db: &TestDb) -> Store {
    Store::connect(&db.url, &StoreOptions::default()).await.expect("connect to the test database")
}

/// The input of a tenant whose slug is `slug` and whose admin is `admin@<slug>.example`.
pub fn new_organization(slug: &str) -> NewOrganization {
    NewOrganization {
        name: format!("Org {slug}"),
        slug: Some(slug.to_owned()),
        time_zone: None,
        admin_name: "Ada Admin".to_owned(),
        admin_email: format!("admin@{slug}.example"),
    }
}

/// One organization with its company unit, its first admin and the admin's actor.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub slug: String,
    pub org: Organization,
    pub company: Unit,
    pub admin: Person,
    pub actor: Actor,
}

pub async fn tenant(store: &Store, slug: &str) -> Tenant {
    let (org, company, admin) =
        store.create_organization(new_organization(slug)).await.expect("create organization");
    let actor = store.person_actor(&admin, &RoleSet::default()).await.expect("admin actor");
    Tenant { slug: slug.to_owned(), org, company, admin, actor }
}

impl Tenant {
    /// A unit created by the admin.
    pub async fn unit(&self, store: &Store, kind: UnitKind, name: &str, parent: UnitId) -> Unit {
        store
            .create_unit(&self.actor, new_unit(kind, name, parent))
            .await
            .unwrap_or_else(|e| panic!("create unit {name}: {e:?}"))
    }

    /// A person created by the admin, e-mail `<name>@<slug>.example`.
    pub async fn person(&self, store: &Store, name: &str, unit: UnitId, roles: Option<RoleSet>) -> Person {
        store
            .create_person(&self.actor, self.new_person(name, unit, roles))
            .await
            .unwrap_or_else(|e| panic!("create person {name}: {e:?}"))
    }

    pub fn new_person(&self, name: &str, unit: UnitId, roles: Option<RoleSet>) -> NewPerson {
        NewPerson {
            name: name.to_owned(),
            email: format!("{}@{}.example", name.to_lowercase().replace(' ', "."), self.slug),
            unit_id: unit,
            manager_id: None,
            roles,
            subject: None,
            external_id: None,
        }
    }

    /// A person with `roles` in the company unit, and their actor.
    pub async fn actor_with(&self, store: &Store, name: &str, roles: RoleSet) -> (Person, Actor) {
        let person = self.person(store, name, self.company.id, Some(roles)).await;
        let actor = store.person_actor(&person, &RoleSet::default()).await.expect("person actor");
        (person, actor)
    }
}

pub fn new_unit(kind: UnitKind, name: &str, parent: UnitId) -> NewUnit {
    NewUnit { kind, name: name.to_owned(), parent_id: parent, external_id: None }
}

#[track_caller]
pub fn assert_invalid<T: Debug>(result: StoreResult<T>, field: &str) {
    match result {
        Err(StoreError::Domain(DomainError::Invalid { field: got, .. })) if got == field => {}
        other => panic!("expected Invalid on field `{field}`, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_not_found<T: Debug>(result: StoreResult<T>) {
    match result {
        Err(StoreError::Domain(DomainError::NotFound { .. })) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_forbidden<T: Debug>(result: StoreResult<T>) {
    match result {
        Err(StoreError::Domain(DomainError::Forbidden { .. })) => {}
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_conflict<T: Debug>(result: StoreResult<T>) {
    match result {
        Err(StoreError::Domain(DomainError::Conflict { .. })) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
}

/// Sorted ids, for comparing sets of people without caring about order.
pub fn sorted_people(ids: impl IntoIterator<Item = PersonId>) -> Vec<PersonId> {
    let mut v: Vec<PersonId> = ids.into_iter().collect();
    v.sort();
    v
}
