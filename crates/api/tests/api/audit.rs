//! The audit trail: mutations leave one event each (none when they fail),
//! ADMIN and HR read them, and `verifyAuditTrail` finds rows edited,
//! reordered or deleted directly in the database.

use crate::support::{World, expect_data, expect_error};
use goalgraph_domain::OrganizationId;
use goalgraph_persistence::{Backend, Store};
use goalgraph_testkit::TestDb;
use sea_orm::{ConnectionTrait, Statement, Value as DbValue};
use serde_json::json;

const EVENTS: &str = "query($filter: AuditEventFilter) {
    auditEvents(filter: $filter, first: 50) { totalCount edges { node {
        sequence action actorKind actorId objectType objectId before after requestId hash previousHash } } } }";
const VERIFY: &str =
    "{ verifyAuditTrail { valid eventsChecked lastSequence firstBreak { sequence kind message } } }";
const CREATE_PERIOD: &str =
    "mutation($input: CreatePeriodInput!) { createPeriod(input: $input) { period { id } } }";

/// Runs `sql` on the raw connection, `?` placeholders on SQLite and `$n`
/// on PostgreSQL, with the tenant as the only parameter.
async fn raw(store: &Store, sql: &str, org: OrganizationId) -> Result<(), sea_orm::DbErr> {
    let backend = store.connection().get_database_backend();
    let sql = match store.backend() {
        Backend::Sqlite => sql.replace("$1", "?"),
        Backend::Postgres => sql.to_owned(),
    };
    store
        .connection()
        .execute_raw(Statement::from_sql_and_values(backend, sql, [DbValue::from(org.0)]))
        .await?;
    Ok(())
}

/// Lifts the append-only triggers, as someone with direct database access
/// could.
async fn drop_guards(store: &Store) {
    let statements: &[&str] = match store.backend() {
        Backend::Sqlite => &["DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"],
        Backend::Postgres => &["ALTER TABLE audit_events DISABLE TRIGGER USER"],
    };
    for sql in statements {
        store.connection().execute_unprepared(sql).await.expect("lift the triggers");
    }
}

pub async fn mutations_leave_one_event_and_failures_none(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let created = admin
        .ok(
            CREATE_PERIOD,
            json!({ "input": { "name": "Audit Q", "startDate": "2027-01-01", "endDate": "2027-03-31" } }),
        )
        .await;
    let period_id = created["createPeriod"]["period"]["id"].as_str().expect("period id").to_owned();
    // A refused input writes nothing, its event included.
    let bad = admin
        .gql(
            CREATE_PERIOD,
            json!({ "input": { "name": "Bad", "startDate": "2027-03-31", "endDate": "2027-01-01" } }),
        )
        .await;
    expect_error(&bad, "BAD_USER_INPUT", None);
    let data = admin.ok(EVENTS, json!({ "filter": { "action": "createPeriod" } })).await;
    let conn = &data["auditEvents"];
    let admin_id = admin.ids().await.person("Ada Admin");
    // The fixture created three periods through the store, then this one.
    assert_eq!(conn["totalCount"], 4, "{conn:#}");
    let newest = &conn["edges"][0]["node"];
    assert_eq!(newest["actorKind"], "PERSON");
    assert_eq!(newest["actorId"], admin_id);
    assert_eq!(newest["objectType"], "Period");
    assert_eq!(newest["objectId"], period_id);
    assert_eq!(newest["after"]["name"], "Audit Q");
    assert_eq!(newest["after"]["status"], "PLANNING");
    assert_eq!(newest["requestId"], "test");
    assert!(newest["after"].get("organization_id").is_none(), "the tenant is not copied: {newest}");
    // Each event links to the one before it.
    let older = &conn["edges"][1]["node"];
    assert!(newest["sequence"].as_i64().expect("seq") > older["sequence"].as_i64().expect("seq"));

    // ADMIN and HR read the trail; a manager does not; another tenant's
    // admin sees only their own.
    let hr = w.a.session(&w.store, "Hana Human").await;
    expect_data(&hr.gql(VERIFY, json!({})).await);
    let manager = w.a.session(&w.store, "Max Manager").await;
    expect_error(&manager.gql(EVENTS, json!({})).await, "NOT_FOUND", None);
    let b = w.b_admin().await;
    let theirs = b.ok(EVENTS, json!({ "filter": { "action": "createPeriod" } })).await;
    assert_eq!(theirs["auditEvents"]["totalCount"], 1, "{theirs:#}");
}

pub async fn verify_audit_trail_finds_edited_reordered_and_deleted_rows(db: TestDb) {
    let w = World::new(&db).await;
    let a = w.a_admin().await;
    let b = w.b_admin().await;
    let (a_org, b_org) = (w.a.org.id, w.b.org.id);
    let verify = |v: serde_json::Value| v["verifyAuditTrail"].clone();

    let intact = verify(a.ok(VERIFY, json!({})).await);
    assert_eq!(intact["valid"], true, "{intact:#}");
    let total = a.ok(EVENTS, json!({})).await["auditEvents"]["totalCount"].clone();
    assert_eq!(intact["eventsChecked"], total);
    assert!(intact["eventsChecked"].as_u64().expect("count") >= 5);
    assert_eq!(verify(b.ok(VERIFY, json!({})).await)["valid"], true);

    // The triggers refuse changes and deletions.
    assert!(
        raw(&w.store, "UPDATE audit_events SET action = 'x' WHERE organization_id = $1", a_org)
            .await
            .is_err()
    );
    assert!(raw(&w.store, "DELETE FROM audit_events WHERE organization_id = $1", a_org).await.is_err());
    assert_eq!(verify(a.ok(VERIFY, json!({})).await)["valid"], true, "nothing changed");

    drop_guards(&w.store).await;
    // Edited: found at the row.
    raw(&w.store, "UPDATE audit_events SET action = 'forged' WHERE organization_id = $1 AND seq = 2", a_org)
        .await
        .expect("edit");
    let edited = verify(a.ok(VERIFY, json!({})).await);
    assert_eq!(edited["valid"], false);
    assert_eq!(edited["firstBreak"]["sequence"], 2, "{edited:#}");
    assert_eq!(edited["firstBreak"]["kind"], "CONTENT_CHANGED");
    assert_eq!(edited["eventsChecked"], 1);
    // Put back: valid again (the check reads the rows, nothing else).
    raw(
        &w.store,
        "UPDATE audit_events SET action = 'createUnit' WHERE organization_id = $1 AND seq = 2",
        a_org,
    )
    .await
    .expect("restore");
    assert_eq!(verify(a.ok(VERIFY, json!({})).await)["valid"], true);

    // Reordered: rows 2 and 3 swap places.
    for sql in [
        "UPDATE audit_events SET seq = -1 WHERE organization_id = $1 AND seq = 2",
        "UPDATE audit_events SET seq = 2 WHERE organization_id = $1 AND seq = 3",
        "UPDATE audit_events SET seq = 3 WHERE organization_id = $1 AND seq = -1",
    ] {
        raw(&w.store, sql, a_org).await.expect("reorder");
    }
    let reordered = verify(a.ok(VERIFY, json!({})).await);
    assert_eq!(reordered["valid"], false);
    assert_eq!(reordered["firstBreak"]["sequence"], 2, "{reordered:#}");

    // Deleted, in the other tenant: a gap; and the newest row: cut off.
    raw(&w.store, "DELETE FROM audit_events WHERE organization_id = $1 AND seq = 2", b_org)
        .await
        .expect("delete");
    let deleted = verify(b.ok(VERIFY, json!({})).await);
    assert_eq!(deleted["firstBreak"]["sequence"], 2, "{deleted:#}");
    assert_eq!(deleted["firstBreak"]["kind"], "MISSING");
}

pub async fn notes_and_descriptions_are_encrypted_at_rest(db: TestDb) {
    use crate::okr_support::{CHECK_IN, create_key_result, create_objective};
    use crate::support::Tenant;
    use goalgraph_persistence::{Keyring, StoreOptions};
    const NOTE: &str = "SECRET-NOTE-7b1e";
    const DESCRIPTION: &str = "SECRET-DESCRIPTION-3f9a";
    let ring = Keyring::parse(&Keyring::generate("k1")).expect("a key");
    let options = StoreOptions { encryption: Some(ring), ..StoreOptions::default() };
    let store = Store::connect(&db.url, &options).await.expect("connect");
    let mut t = Tenant::create(&store, "Cipher Co", "cipher", "Cy Admin").await;
    t.add_period(&store, "C1", "2026-01-01", "2026-12-31").await;
    let s = t.session(&store, "Cy Admin").await;
    let ids = s.ids().await;
    let objective = create_objective(
        &s,
        json!({ "periodId": ids.period("C1"), "ownerPersonId": ids.person("Cy Admin"), "title": "Quiet plan",
                "description": DESCRIPTION, "visibility": "PRIVATE" }),
    )
    .await;
    let kr = create_key_result(
        &s,
        json!({ "objectiveId": objective, "ownerId": ids.person("Cy Admin"), "title": "Steps",
                "measure": "INCREASE", "start": 0.0, "target": 10.0 }),
    )
    .await;
    s.ok(CHECK_IN, json!({ "input": { "keyResultId": kr, "value": 4.0, "note": NOTE } })).await;

    // Through the API: intact.
    let read = s
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Objective { description
                keyResults { checkIns(first: 5) { edges { node { note } } } } } } }",
            json!({ "id": objective }),
        )
        .await;
    assert_eq!(read["node"]["description"], DESCRIPTION, "{read:#}");
    assert_eq!(read["node"]["keyResults"][0]["checkIns"]["edges"][0]["node"]["note"], NOTE, "{read:#}");

    // In the database: neither text, in the rows or in the audit trail.
    let backend = store.connection().get_database_backend();
    for sql in [
        "SELECT description AS t FROM objectives WHERE description IS NOT NULL",
        "SELECT note AS t FROM check_ins WHERE note IS NOT NULL",
        "SELECT after_value AS t FROM audit_events WHERE after_value IS NOT NULL",
    ] {
        let rows = store.connection().query_all_raw(Statement::from_string(backend, sql)).await.expect(sql);
        assert!(!rows.is_empty(), "{sql}");
        for row in rows {
            let text: String = row.try_get("", "t").expect("text");
            assert!(!text.contains(NOTE) && !text.contains(DESCRIPTION), "{sql}: {text}");
        }
    }
    // In the SQLite file itself (the database and its write-ahead log):
    // the title, stored plain, is there; the note and description are not.
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).expect("the database file");
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        let found = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(found("Quiet plan"), "positive control: the plain title is in {path}");
        assert!(!found(NOTE) && !found(DESCRIPTION), "plain text in {path}");
    }
    let sealed = store
        .connection()
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT note AS t FROM check_ins WHERE note IS NOT NULL",
        ))
        .await
        .expect("note")
        .expect("a row");
    assert!(sealed.try_get::<String>("", "t").expect("text").starts_with("gg1:k1:"));
    // Without the key the sealed values are refused, not shown.
    let keyless = Store::connect(&db.url, &StoreOptions::default()).await.expect("connect");
    let s2 = t.session(&keyless, "Cy Admin").await;
    let refused = s2
        .gql(
            "query($id: ID!) { node(id: $id) { ... on Objective { description } } }",
            json!({ "id": objective }),
        )
        .await;
    expect_error(&refused, "INTERNAL", None);
}
