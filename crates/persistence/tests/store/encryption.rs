//! Key rotation of encryption at rest: `encryption_status` counts the
//! stored values per key (plain text included), `rotate_encryption`
//! re-seals every note and description under the current key, so the old
//! key can leave the ring, and leaves the append-only audit rows (and the
//! chain) as they were.

use crate::common::{connect, tenant};
use crate::goals_fixture::{active_quarter, check_in_input, key_result, new_objective};
use goalgraph_domain::okr::{Measure, Owner};
use goalgraph_persistence::entity::{check_in, objective};
use goalgraph_persistence::{
    AuditFilter, CheckInInput, Keyring, NewObjective, PageArgs, Store, StoreOptions,
};
use goalgraph_testkit::TestDb;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

async fn with_keys(db: &TestDb, spec: &str) -> Store {
    let ring = Keyring::parse(spec).expect("keys");
    Store::connect(&db.url, &StoreOptions { encryption: Some(ring), ..StoreOptions::default() })
        .await
        .expect("connect")
}

/// The stored notes and descriptions, as the database holds them.
async fn stored(store: &Store) -> Vec<String> {
    let mut out: Vec<String> = check_in::Entity::find()
        .select_only()
        .column(check_in::Column::Note)
        .filter(check_in::Column::Note.is_not_null())
        .into_tuple()
        .all(store.connection())
        .await
        .expect("notes");
    let descriptions: Vec<String> = objective::Entity::find()
        .select_only()
        .column(objective::Column::Description)
        .filter(objective::Column::Description.is_not_null())
        .into_tuple()
        .all(store.connection())
        .await
        .expect("descriptions");
    out.extend(descriptions);
    out
}

pub async fn rotation_reseals_rows_and_status_counts_every_key(db: TestDb) {
    let (k1, k2) = (Keyring::generate("k1"), Keyring::generate("k2"));
    // Written before any key was set: plain text.
    let plain = connect(&db).await;
    let t = tenant(&plain, "enc").await;
    let other = tenant(&plain, "enc2").await;
    let q = active_quarter(&plain, &t).await;
    let q2 = active_quarter(&plain, &other).await;
    let described = |q, t: &crate::common::Tenant, title: &str, text: &str| NewObjective {
        description: Some(text.to_owned()),
        ..new_objective(q, Owner::Unit(t.company.id), title, None)
    };
    let o1 = plain.create_objective(&t.actor, described(q.id, &t, "Plain", "plain plan")).await.unwrap();
    plain.create_objective(&other.actor, described(q2.id, &other, "Theirs", "their plan")).await.unwrap();
    let kr = key_result(&plain, &t.actor, o1.id, t.admin.id, Measure::Increase, 0.0, 10.0, 1.0).await;
    let note = |text: &str, v| CheckInInput { note: Some(text.to_owned()), ..check_in_input(kr.id, v) };
    let (c1, _) = plain.check_in(&t.actor, note("plain note", 2.0)).await.unwrap();
    // Then under k1.
    let s1 = with_keys(&db, &k1).await;
    let o2 = s1.create_objective(&t.actor, described(q.id, &t, "Sealed", "sealed plan")).await.unwrap();
    let (c2, _) = s1.check_in(&t.actor, note("sealed note", 3.0)).await.unwrap();

    let status = s1.encryption_status().await.unwrap();
    assert_eq!(status.count("check_ins.note", None), 1, "{status:?}");
    assert_eq!(status.count("check_ins.note", Some("k1")), 1, "{status:?}");
    assert_eq!(status.count("objectives.description", None), 2, "{status:?}");
    assert_eq!(status.count("objectives.description", Some("k1")), 1, "{status:?}");
    // The audit values of those writes: two creations and two check-ins
    // in tenant enc, one creation in enc2.
    assert_eq!(status.count("audit_events", None), 3, "{status:?}");
    assert_eq!(status.count("audit_events", Some("k1")), 2, "{status:?}");
    let events_before = plain.count_audit_events(&t.actor, &AuditFilter::default()).await.unwrap();

    // k2 becomes current; rotation re-seals the four rows of enc and the
    // one of enc2 under it.
    let s2 = with_keys(&db, &format!("{k2},{k1}")).await;
    let report = s2.rotate_encryption().await.unwrap();
    assert_eq!(report.key_id, "k2");
    assert_eq!(report.resealed.get("check_ins.note"), Some(&2), "{report:?}");
    assert_eq!(report.resealed.get("objectives.description"), Some(&3), "{report:?}");
    for text in stored(&s2).await {
        assert!(text.starts_with("gg1:k2:"), "{text}");
    }
    let status = s2.encryption_status().await.unwrap();
    assert_eq!(status.count("check_ins.note", Some("k2")), 2, "{status:?}");
    assert_eq!(status.count("objectives.description", Some("k2")), 3, "{status:?}");
    for place in ["check_ins.note", "objectives.description"] {
        assert_eq!(status.count(place, None) + status.count(place, Some("k1")), 0, "{place}: {status:?}");
    }
    // Audit rows are never rewritten: they keep their keys.
    assert_eq!(status.count("audit_events", None), 3, "{status:?}");
    assert_eq!(status.count("audit_events", Some("k1")), 2, "{status:?}");
    // A second run finds nothing to do and records nothing.
    assert!(s2.rotate_encryption().await.unwrap().resealed.is_empty());

    // With k2 alone the rows read as written.
    let only_k2 = with_keys(&db, &k2).await;
    assert_eq!(only_k2.objective(&t.actor, o1.id).await.unwrap().description.as_deref(), Some("plain plan"));
    assert_eq!(only_k2.objective(&t.actor, o2.id).await.unwrap().description.as_deref(), Some("sealed plan"));
    let notes = only_k2.check_ins_by_ids(&t.actor, &[c1.id, c2.id]).await.unwrap();
    assert_eq!(notes[&c1.id].note.as_deref(), Some("plain note"));
    assert_eq!(notes[&c2.id].note.as_deref(), Some("sealed note"));
    // Positive control: k1 alone no longer opens the rows.
    assert!(with_keys(&db, &k1).await.objective(&t.actor, o1.id).await.is_err());

    // One SYSTEM event per tenant, and the chain still holds.
    assert_eq!(s2.count_audit_events(&t.actor, &AuditFilter::default()).await.unwrap(), events_before + 1);
    let filter = AuditFilter { action: Some("rotateEncryptionKey".into()), ..AuditFilter::default() };
    for (tenant, n) in [(&t, 4), (&other, 1)] {
        let page =
            s2.audit_events(&tenant.actor, &filter, &PageArgs { first: 10, after: None }).await.unwrap();
        assert_eq!(page.items.len(), 1, "{}", tenant.slug);
        let entry = &page.items[0].1;
        assert_eq!(entry.event.actor, goalgraph_domain::audit::AuditActor::System);
        assert_eq!(entry.after.as_ref().map(|a| a["resealed"].clone()), Some(serde_json::json!(n)));
        assert_eq!(entry.after.as_ref().map(|a| a["keyId"].clone()), Some(serde_json::json!("k2")));
        let chain = s2.verify_audit_trail(&tenant.actor).await.unwrap();
        assert!(chain.broken.is_none(), "{chain:?}");
    }
    // Without a key there is nothing to rotate to.
    assert!(plain.rotate_encryption().await.is_err());
}
