//! People: e-mail addresses unique per tenant and lower-cased, no manager
//! loops, and deactivated people no longer act.

use crate::common::{assert_conflict, assert_invalid, connect, tenant};
use goalgraph_domain::model::{Role, RoleSet};
use goalgraph_persistence::{PeopleFilter, PersonPatch};
use goalgraph_testkit::TestDb;

pub async fn emails_are_unique_per_tenant_and_lower_cased(db: TestDb) {
    let store = connect(&db).await;
    let a = tenant(&store, "people-a").await;
    let b = tenant(&store, "people-b").await;

    let mut bob = a.new_person("Bob Smith", a.company.id, None);
    bob.email = "  Bob.Smith@Example.COM ".into();
    let bob = store.create_person(&a.actor, bob).await.unwrap();
    assert_eq!(bob.email, "bob.smith@example.com");
    assert_eq!(bob.subject, "bob.smith@example.com", "the subject defaults to the e-mail address");
    let found = store.find_person_by_email(a.org.id, "BOB.SMITH@example.com").await.unwrap();
    assert_eq!(found.map(|p| p.id), Some(bob.id));

    // The same address in another tenant is another person.
    let mut twin = b.new_person("Bob Smith", b.company.id, None);
    twin.email = "bob.smith@example.com".into();
    let twin = store.create_person(&b.actor, twin).await.unwrap();
    assert_ne!(twin.id, bob.id);

    // In the same tenant it conflicts, whatever its case, also under another subject.
    for email in ["bob.smith@example.com", "BOB.SMITH@EXAMPLE.COM"] {
        let mut dup = a.new_person("Bobby Again", a.company.id, None);
        dup.email = email.into();
        dup.subject = Some(format!("other-subject-{email}"));
        assert_conflict(store.create_person(&a.actor, dup).await);
    }
    // Changing someone else's address to it conflicts too.
    let carol = a.person(&store, "Carol", a.company.id, None).await;
    let steal = PersonPatch { email: Some("Bob.Smith@example.com".into()), ..Default::default() };
    assert_conflict(store.update_person(&a.actor, carol.id, steal).await);
    assert_eq!(store.person(&a.actor, carol.id).await.unwrap().email, carol.email);
    assert_eq!(store.count_people(&a.actor, &PeopleFilter::default()).await.unwrap(), 3);
    assert_eq!(store.count_people(&b.actor, &PeopleFilter::default()).await.unwrap(), 2);
}

pub async fn managers_form_no_loop(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "managers").await;
    let alice = t.person(&store, "Alice", t.company.id, None).await;
    let bob = t.person(&store, "Bob", t.company.id, None).await;
    let dave = t.person(&store, "Dave", t.company.id, None).await;

    // Alice is managed by Bob: fine.
    let by_bob = PersonPatch { manager_id: Some(Some(bob.id)), ..Default::default() };
    let alice = store.update_person(&t.actor, alice.id, by_bob).await.unwrap();
    assert_eq!(alice.manager_id, Some(bob.id));

    // Bob managed by Alice would close the loop.
    let by_alice = PersonPatch { manager_id: Some(Some(alice.id)), ..Default::default() };
    assert_invalid(store.update_person(&t.actor, bob.id, by_alice.clone()).await, "managerId");
    // Nor may anyone manage themselves.
    let by_self = PersonPatch { manager_id: Some(Some(alice.id)), ..Default::default() };
    assert_invalid(store.update_person(&t.actor, alice.id, by_self).await, "managerId");
    // A longer loop: Dave -> Alice -> Bob, then Bob -> Dave.
    store.update_person(&t.actor, dave.id, by_alice).await.unwrap();
    let by_dave = PersonPatch { manager_id: Some(Some(dave.id)), ..Default::default() };
    assert_invalid(store.update_person(&t.actor, bob.id, by_dave.clone()).await, "managerId");
    assert_eq!(store.person(&t.actor, bob.id).await.unwrap().manager_id, None);

    // Positive control: once Alice no longer reports to Bob, Bob may report to Dave.
    let no_manager = PersonPatch { manager_id: Some(None), ..Default::default() };
    assert_eq!(store.update_person(&t.actor, alice.id, no_manager).await.unwrap().manager_id, None);
    let bob = store.update_person(&t.actor, bob.id, by_dave).await.unwrap();
    assert_eq!(bob.manager_id, Some(dave.id));
}

pub async fn deactivated_people_do_not_resolve(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "resolve").await;
    let other = tenant(&store, "resolve-other").await;
    let bob = t.person(&store, "Bob", t.company.id, None).await;
    let eve = t.person(&store, "Eve", t.company.id, None).await;

    // An active person resolves by tenant slug or id; the token's roles join the stored ones.
    let (org, actor, person) = store
        .resolve_person_actor("resolve", &bob.subject, &RoleSet::new([Role::Hr]))
        .await
        .unwrap()
        .expect("an active person resolves");
    assert_eq!(org.id, t.org.id);
    assert_eq!(person.id, bob.id);
    assert_eq!(actor.person_id(), Some(bob.id));
    assert_eq!(actor.organization_id, t.org.id);
    assert_eq!(actor.roles, RoleSet::new([Role::Member, Role::Hr]));
    let (by_id_org, by_id, _) = store
        .resolve_person_actor(&t.org.id.to_string(), &bob.subject, &RoleSet::default())
        .await
        .unwrap()
        .expect("resolves by organization id");
    assert_eq!(by_id_org.id, t.org.id);
    assert_eq!(by_id.roles, RoleSet::new([Role::Member]));
    // Not with an unknown subject or tenant.
    assert!(
        store
            .resolve_person_actor("resolve", "nobody@resolve.example", &RoleSet::default())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .resolve_person_actor("no-such-tenant", &bob.subject, &RoleSet::default())
            .await
            .unwrap()
            .is_none()
    );
    // The same subject in another tenant is that tenant's person.
    assert!(
        store
            .resolve_person_actor("resolve-other", &bob.subject, &RoleSet::default())
            .await
            .unwrap()
            .is_none()
    );
    let mut namesake = other.new_person("Bob Elsewhere", other.company.id, None);
    namesake.subject = Some(bob.subject.clone());
    let namesake = store.create_person(&other.actor, namesake).await.unwrap();
    let (_, elsewhere, _) = store
        .resolve_person_actor("resolve-other", &bob.subject, &RoleSet::default())
        .await
        .unwrap()
        .expect("the namesake resolves in their tenant");
    assert_eq!((elsewhere.organization_id, elsewhere.person_id()), (other.org.id, Some(namesake.id)));

    // Deactivated, Bob no longer acts, even with roles in the token.
    let off = PersonPatch { active: Some(false), ..Default::default() };
    let bob = store.update_person(&t.actor, bob.id, off).await.unwrap();
    assert!(!bob.active);
    assert!(
        store
            .resolve_person_actor("resolve", &bob.subject, &RoleSet::new([Role::Admin]))
            .await
            .unwrap()
            .is_none()
    );
    // Eve, still active, does, and so does Bob's namesake elsewhere.
    assert!(
        store
            .resolve_person_actor("resolve-other", &bob.subject, &RoleSet::default())
            .await
            .unwrap()
            .is_some()
    );
    let (_, eve_actor, _) = store
        .resolve_person_actor("resolve", &eve.subject, &RoleSet::default())
        .await
        .unwrap()
        .expect("an active person still resolves");
    assert_eq!(eve_actor.person_id(), Some(eve.id));
    // Reactivated, Bob acts again.
    let on = PersonPatch { active: Some(true), ..Default::default() };
    store.update_person(&t.actor, bob.id, on).await.unwrap();
    assert!(
        store.resolve_person_actor("resolve", &bob.subject, &RoleSet::default()).await.unwrap().is_some()
    );
}
