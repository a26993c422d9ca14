//! The live-event pipeline: the outbox written in each mutation's
//! transaction, one reader per store that fans events out, replay by
//! cursor, and on PostgreSQL the cases a plain "id > last seen" reader gets
//! wrong (a transaction committing after later ones, a lost listener
//! connection) and replicas sharing one database.

use crate::common::{Tenant, connect, tenant};
use crate::goals_fixture::{active_quarter, check_in, check_in_input, key_result, objective};
use goalgraph_domain::live::{AlignmentChangeKind, EventCursor, LiveBody, LiveEvent};
use goalgraph_domain::model::{Role, RoleSet, UnitKind};
use goalgraph_domain::okr::{Measure, ObjectiveStatus, Owner};
use goalgraph_domain::{KeyResultId, ObjectiveId};
use goalgraph_persistence::{Delivery, LiveHub, PersonPatch, Route, Store, StoreOptions, Subscription};
use goalgraph_testkit::TestDb;
use sea_orm::ConnectionTrait;
use std::sync::Arc;
use std::time::Duration;

/// A store whose live reader reads only when told (a commit of its own, a
/// notification, a listener reconnect): no timer can hide a lost signal.
async fn connect_without_polling(db: &TestDb) -> Store {
    let options = StoreOptions { live_poll_interval: Duration::from_secs(3600), ..StoreOptions::default() };
    Store::connect(&db.url, &options).await.unwrap()
}

/// The next event of a subscription, within a generous bound.
async fn next(sub: &mut Subscription) -> Arc<Delivery> {
    tokio::time::timeout(Duration::from_secs(15), sub.receiver.recv())
        .await
        .expect("an event within 15 s")
        .expect("the route is open")
}

/// Nothing more arrives for a while (after every expected event came).
async fn quiet(sub: &mut Subscription) {
    match tokio::time::timeout(Duration::from_millis(300), sub.receiver.recv()).await {
        Err(_) => {}
        Ok(other) => panic!("expected no further event, got {other:?}"),
    }
}

fn key_result_of(event: &LiveEvent) -> KeyResultId {
    match &event.body {
        LiveBody::KeyResult(k) => k.key_result_id,
        other => panic!("expected a key-result event, got {other:?}"),
    }
}

/// A company objective with a department, a team and a person's objective
/// aligned below it; the person's objective has one key result 0 → 100.
struct Chain {
    company: ObjectiveId,
    department: ObjectiveId,
    person_goal: ObjectiveId,
    kr: KeyResultId,
    team_unit: goalgraph_domain::UnitId,
}

async fn chain(store: &Store, t: &Tenant) -> Chain {
    let a = &t.actor;
    let q = active_quarter(store, t).await;
    let dept = t.unit(store, UnitKind::Department, "Sales", t.company.id).await;
    let team = t.unit(store, UnitKind::Team, "Inbound", dept.id).await;
    let c = objective(store, a, q.id, Owner::Unit(t.company.id), "Company", None).await;
    let d = objective(store, a, q.id, Owner::Unit(dept.id), "Department", Some(c.id)).await;
    let tm = objective(store, a, q.id, Owner::Unit(team.id), "Team", Some(d.id)).await;
    let p = objective(store, a, q.id, Owner::Person(t.admin.id), "Admin's", Some(tm.id)).await;
    let kr = key_result(store, a, p.id, t.admin.id, Measure::Increase, 0.0, 100.0, 1.0).await;
    Chain { company: c.id, department: d.id, person_goal: p.id, kr: kr.id, team_unit: team.id }
}

pub async fn live_events_follow_each_committed_change(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "live").await;
    let c = chain(&store, &t).await;
    let hub = store.live().await.unwrap();
    hub.caught_up(&store).await.unwrap();
    let org = t.org.id;
    let mut by_kr = hub.subscribe(org, Route::KeyResult(c.kr));
    let mut by_objective = hub.subscribe(org, Route::KeyResultsOfObjective(c.person_goal));
    // The admin's objective hangs in the admin's unit, the company.
    let mut by_unit = hub.subscribe(org, Route::KeyResultsOfUnit(t.company.id));
    let mut other_unit = hub.subscribe(org, Route::KeyResultsOfUnit(c.team_unit));
    let mut company = hub.subscribe(org, Route::Objective(c.company));
    let mut other_tenant = hub.subscribe(tenant(&store, "other").await.org.id, Route::KeyResult(c.kr));

    // A check-in three levels below the company objective: the key result's
    // subscribers see it with its numbers, and the company objective's
    // subscriber sees its rollup move (0.25 = 25 / 100 through the chain).
    check_in(&store, &t.actor, c.kr, 25.0).await;
    for sub in [&mut by_kr, &mut by_objective, &mut by_unit] {
        let e = next(sub).await;
        let LiveBody::KeyResult(k) = &e.event.body else { panic!("{e:?}") };
        assert_eq!((k.key_result_id, k.value, k.progress), (c.kr, 25.0, 0.25));
        assert_eq!(k.check_in.as_ref().map(|ci| ci.value), Some(25.0));
    }
    let e = next(&mut company).await;
    let LiveBody::Objective(o) = &e.event.body else { panic!("{e:?}") };
    assert_eq!((o.objective_id, o.progress), (c.company, 0.25));
    let numbers = e.objective_numbers(&store, &t.org.settings).await.unwrap().unwrap();
    assert!((numbers.progress - 0.25).abs() < 1e-9, "{numbers:?}");

    // A mutation that fails writes no event: a check-in on a cancelled
    // objective is refused, and the next event is the next real change.
    let p2 = objective(
        &store,
        &t.actor,
        store.objective(&t.actor, c.person_goal).await.unwrap().period_id,
        Owner::Person(t.admin.id),
        "Cancelled",
        None,
    )
    .await;
    let kr2 = key_result(&store, &t.actor, p2.id, t.admin.id, Measure::Increase, 0.0, 10.0, 1.0).await;
    store
        .transition_objective(&t.actor, p2.id, ObjectiveStatus::Cancelled, Some("no".into()), None)
        .await
        .unwrap();
    let mut cancelled = hub.subscribe(org, Route::KeyResult(kr2.id));
    assert!(store.check_in(&t.actor, check_in_input(kr2.id, 5.0)).await.is_err());
    check_in(&store, &t.actor, c.kr, 50.0).await;
    let e = next(&mut by_kr).await;
    assert_eq!(key_result_of(&e.event), c.kr);
    let LiveBody::KeyResult(k) = &e.event.body else { unreachable!() };
    assert_eq!(k.value, 50.0);
    quiet(&mut cancelled).await;
    quiet(&mut other_unit).await;
    // Events of one tenant never reach another's routes.
    quiet(&mut other_tenant).await;

    // Replay: what came after a cursor, in order, from the outbox.
    let upto = hub.position();
    let replayed =
        store.live_replay(org, Route::KeyResult(c.kr), EventCursor::default(), upto).await.unwrap().unwrap();
    let values: Vec<f64> = replayed
        .iter()
        .map(|e| match &e.body {
            LiveBody::KeyResult(k) => k.value,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(values, vec![25.0, 50.0]);
    let after_first =
        store.live_replay(org, Route::KeyResult(c.kr), replayed[0].cursor, upto).await.unwrap().unwrap();
    assert_eq!(after_first.len(), 1);
    assert_eq!(after_first[0].cursor, replayed[1].cursor);

    // Pruning by age moves the horizon: a cursor before it has expired.
    assert_eq!(store.prune_live_events(chrono::Duration::hours(1)).await.unwrap(), 0, "nothing is old yet");
    assert!(store.prune_live_events(chrono::Duration::seconds(-1)).await.unwrap() > 0);
    assert_eq!(
        store.live_replay(org, Route::KeyResult(c.kr), replayed[0].cursor, upto).await.unwrap(),
        Err(goalgraph_persistence::LiveError::Expired)
    );
    assert_eq!(store.live_replay(org, Route::KeyResult(c.kr), upto, upto).await.unwrap(), Ok(vec![]));
}

pub async fn alignment_and_directory_changes_are_events(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "align").await;
    let c = chain(&store, &t).await;
    let hub = store.live().await.unwrap();
    hub.caught_up(&store).await.unwrap();
    let org = t.org.id;
    let period = store.objective(&t.actor, c.company).await.unwrap().period_id;
    let mut alignment = hub.subscribe(org, Route::Alignment(period));

    let o = objective(&store, &t.actor, period, Owner::Unit(t.company.id), "New", Some(c.company)).await;
    store.reparent_objective(&t.actor, o.id, Some(c.department), None).await.unwrap();
    store.transition_objective(&t.actor, o.id, ObjectiveStatus::Completed, None, None).await.unwrap();
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        let e = next(&mut alignment).await;
        let LiveBody::Alignment(a) = &e.event.body else { panic!("{e:?}") };
        // On PostgreSQL a hub that starts while another transaction of the
        // cluster runs begins before the fixture's last commits: their
        // events may still arrive, and are not this test's subject.
        if a.objective_id != o.id {
            continue;
        }
        kinds.push((a.kind, a.parent.map(|p| p.0), a.previous_parent.map(|p| p.0)));
    }
    assert_eq!(
        kinds,
        vec![
            (AlignmentChangeKind::Created, Some(c.company), None),
            (AlignmentChangeKind::Reparented, Some(c.department), Some(c.company)),
            (AlignmentChangeKind::StatusChanged, Some(c.department), Some(c.department)),
        ]
    );

    // A role change bumps that person's directory version once it is
    // read, and no one else's.
    let admin_before = hub.directory_version(org, Some(t.admin.id));
    let ivy = t.person(&store, "Ivy", t.company.id, None).await;
    let before = hub.directory_version(org, Some(ivy.id));
    let patch = PersonPatch { roles: Some(RoleSet::new([Role::Manager])), ..PersonPatch::default() };
    store.update_person(&t.actor, ivy.id, patch).await.unwrap();
    hub.caught_up(&store).await.unwrap();
    assert_eq!(hub.directory_version(org, Some(ivy.id)), before + 1);
    assert_eq!(hub.directory_version(org, Some(t.admin.id)), admin_before);
    // Line managers changed: everyone's actor may be affected.
    store.set_unit_managers(&t.actor, t.company.id, &[ivy.id]).await.unwrap();
    hub.caught_up(&store).await.unwrap();
    assert_eq!(hub.directory_version(org, Some(t.admin.id)), admin_before + 1);
    assert_eq!(hub.directory_version(org, Some(ivy.id)), before + 2);
}

/// Statements the store ran while `n` check-ins were delivered to `subs`
/// receivers of one key result: the check-ins' own and the reader's.
async fn statements_for(
    store: &Store,
    t: &Tenant,
    hub: &LiveHub,
    kr: KeyResultId,
    subs: usize,
    n: usize,
) -> u64 {
    let mut receivers: Vec<Subscription> =
        (0..subs).map(|_| hub.subscribe(t.org.id, Route::KeyResult(kr))).collect();
    hub.caught_up(store).await.unwrap();
    let before = store.statement_count();
    for i in 0..n {
        check_in(store, &t.actor, kr, i as f64).await;
        for r in &mut receivers {
            next(r).await;
        }
    }
    store.statement_count() - before
}

pub async fn delivery_costs_the_same_for_one_or_a_thousand_subscribers(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "fanout").await;
    let c = chain(&store, &t).await;
    let hub = store.live().await.unwrap();
    let one = statements_for(&store, &t, &hub, c.kr, 1, 10).await;
    let thousand = statements_for(&store, &t, &hub, c.kr, 1000, 10).await;
    // A statement per subscriber per event would add 10,000; the outbox
    // reads vary a little with the timing of wake-ups and, on PostgreSQL,
    // with other transactions of the server holding rows back.
    assert!(one < 400, "statements for 10 check-ins delivered to one subscriber: {one}");
    assert!(thousand < one + 150, "1,000 subscribers cost {thousand} statements, one cost {one}");
}

// ----- PostgreSQL only -----

/// Counts and orders what a subscription receives until `want` events.
async fn collect(sub: &mut Subscription, want: usize) -> Vec<Arc<Delivery>> {
    let mut out = Vec::with_capacity(want);
    while out.len() < want {
        out.push(next(sub).await);
    }
    out
}

pub async fn a_transaction_committing_late_is_delivered(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "late").await;
    let c = chain(&store, &t).await;
    let q = store.objective(&t.actor, c.person_goal).await.unwrap().period_id;
    let other = objective(&store, &t.actor, q, Owner::Person(t.admin.id), "Other", None).await;
    let fast = key_result(&store, &t.actor, other.id, t.admin.id, Measure::Increase, 0.0, 10.0, 1.0).await;
    let hub = store.live().await.unwrap();
    let mut slow_sub = hub.subscribe(t.org.id, Route::KeyResult(c.kr));
    let mut fast_sub = hub.subscribe(t.org.id, Route::KeyResult(fast.id));

    // The slow key result's check-in holds its transaction open for a while
    // after it has written its event (a trigger sleeps after the insert).
    store
        .connection()
        .execute_unprepared(&format!(
            "CREATE FUNCTION hold_open() RETURNS trigger LANGUAGE plpgsql AS $$ \
               BEGIN PERFORM pg_sleep(2); RETURN NEW; END $$; \
             CREATE TRIGGER hold_open AFTER INSERT ON live_events FOR EACH ROW \
               WHEN (NEW.subject_id = '{}') EXECUTE FUNCTION hold_open();",
            c.kr.0
        ))
        .await
        .unwrap();
    let slow = {
        let store = store.clone();
        let actor = t.actor.clone();
        tokio::spawn(async move { store.check_in(&actor, check_in_input(c.kr, 42.0)).await })
    };
    // Wait until it sleeps holding its event, then commit later transactions.
    let sleeping = "SELECT count(*) AS n FROM pg_stat_activity \
                    WHERE datname = current_database() AND wait_event = 'PgSleep'";
    let started = std::time::Instant::now();
    loop {
        let row = store
            .connection()
            .query_one_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, sleeping))
            .await
            .unwrap()
            .unwrap();
        if row.try_get::<i64>("", "n").unwrap() > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the slow check-in never reached its event");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for v in 1..=3 {
        check_in(&store, &t.actor, fast.id, f64::from(v)).await;
    }
    slow.await.unwrap().unwrap();
    // Every event arrives, the late one included, each once.
    let fast_events = collect(&mut fast_sub, 3).await;
    let slow_events = collect(&mut slow_sub, 1).await;
    let LiveBody::KeyResult(k) = &slow_events[0].event.body else { panic!() };
    assert_eq!(k.value, 42.0);
    assert!(
        fast_events.iter().all(|e| e.event.cursor > slow_events[0].event.cursor),
        "the transaction that started first is delivered first"
    );
    quiet(&mut fast_sub).await;
    quiet(&mut slow_sub).await;
    // The late event has a smaller sequence number than events committed
    // before it: a reader going by sequence alone would have skipped it.
    assert!(fast_events.iter().all(|e| e.event.cursor.seq > slow_events[0].event.cursor.seq));
}

pub async fn a_lost_listener_connection_loses_no_event(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "gap").await;
    let c = chain(&store, &t).await;
    let q = store.objective(&t.actor, c.person_goal).await.unwrap().period_id;
    let mut krs = vec![c.kr];
    for i in 0..3 {
        let o = objective(&store, &t.actor, q, Owner::Person(t.admin.id), &format!("O{i}"), None).await;
        krs.push(
            key_result(&store, &t.actor, o.id, t.admin.id, Measure::Increase, 0.0, 1000.0, 1.0).await.id,
        );
    }
    // Checks in on a second store (another replica); the reading one never
    // polls by itself, so it learns of the events only through its listener
    // and the catch-up read after the listener reconnects.
    let writer = connect(&db).await;
    let store = connect_without_polling(&db).await;
    let hub = store.live().await.unwrap();
    let mut subs: Vec<Subscription> =
        krs.iter().map(|k| hub.subscribe(t.org.id, Route::KeyResult(*k))).collect();
    let per_kr = 15;
    let burst = {
        let writer = writer.clone();
        let actor = t.actor.clone();
        let krs = krs.clone();
        tokio::spawn(async move {
            for i in 0..per_kr {
                for kr in &krs {
                    writer.check_in(&actor, check_in_input(*kr, f64::from(i))).await.unwrap();
                }
            }
        })
    };
    // Kill the listening connection twice during the burst.
    let kill = "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                WHERE datname = current_database() AND query ILIKE 'LISTEN%'";
    let mut killed = 0;
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let row = writer
            .connection()
            .query_one_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, kill))
            .await
            .unwrap()
            .unwrap();
        killed += row.try_get::<i64>("", "n").unwrap();
    }
    burst.await.unwrap();
    assert!(killed >= 1, "the test must have cut the listener at least once");
    for (sub, kr) in subs.iter_mut().zip(&krs) {
        let got = collect(sub, per_kr as usize).await;
        let values: Vec<f64> = got
            .iter()
            .map(|e| match &e.event.body {
                LiveBody::KeyResult(k) if k.key_result_id == *kr => k.value,
                other => panic!("{other:?}"),
            })
            .collect();
        let want: Vec<f64> = (0..per_kr).map(f64::from).collect();
        assert_eq!(values, want, "every event once, in order, for {kr:?}");
        quiet(sub).await;
    }
}

pub async fn replicas_on_one_database_share_events(db: TestDb) {
    let a = connect(&db).await;
    // B never polls on its own: only a notification can tell it.
    let b = connect_without_polling(&db).await;
    let t = tenant(&a, "replicas").await;
    let c = chain(&a, &t).await;
    let (hub_a, hub_b) = (a.live().await.unwrap(), b.live().await.unwrap());
    let mut on_a = hub_a.subscribe(t.org.id, Route::KeyResult(c.kr));
    let mut on_b = hub_b.subscribe(t.org.id, Route::KeyResult(c.kr));
    let reads_b = hub_b.reads();
    // Written through replica A; replica B hears of it by NOTIFY.
    for v in [70.0, 80.0] {
        check_in(&a, &t.actor, c.kr, v).await;
        let (ea, eb) = (next(&mut on_a).await, next(&mut on_b).await);
        assert_eq!(ea.event, eb.event, "both replicas deliver the same event");
    }
    assert!(hub_b.reads() > reads_b);
}

/// With encryption on, a check-in's note is sealed in the outbox like in its
/// row, and subscribers and replays get it opened.
pub async fn check_in_notes_are_sealed_in_the_outbox(db: TestDb) {
    const NOTE: &str = "live note 94c2";
    let ring =
        goalgraph_persistence::Keyring::parse(&goalgraph_persistence::Keyring::generate("k1")).unwrap();
    let store = Store::connect(&db.url, &StoreOptions { encryption: Some(ring), ..StoreOptions::default() })
        .await
        .unwrap();
    let t = tenant(&store, "sealed-live").await;
    let c = chain(&store, &t).await;
    let hub = store.live().await.unwrap();
    hub.caught_up(&store).await.unwrap();
    let mut sub = hub.subscribe(t.org.id, Route::KeyResult(c.kr));
    let input = goalgraph_persistence::CheckInInput { note: Some(NOTE.into()), ..check_in_input(c.kr, 10.0) };
    store.check_in(&t.actor, input).await.unwrap();
    let delivered = next(&mut sub).await;
    let note_of = |event: &LiveEvent| match &event.body {
        LiveBody::KeyResult(k) => k.check_in.as_ref().and_then(|ci| ci.note.clone()),
        other => panic!("expected a key-result event, got {other:?}"),
    };
    assert_eq!(note_of(&delivered.event).as_deref(), Some(NOTE));
    let replayed = store
        .live_replay(t.org.id, Route::KeyResult(c.kr), EventCursor::default(), delivered.event.cursor)
        .await
        .unwrap()
        .expect("not expired");
    assert_eq!(replayed.last().map(note_of), Some(Some(NOTE.to_owned())));
    // The stored payload holds the sealed note, not the text.
    let backend = store.connection().get_database_backend();
    let rows = store
        .connection()
        .query_all_raw(sea_orm::Statement::from_string(backend, "SELECT payload FROM live_events"))
        .await
        .unwrap();
    let payloads: Vec<String> = rows.iter().map(|r| r.try_get("", "payload").unwrap()).collect();
    assert!(payloads.iter().any(|p| p.contains("\"note\":\"gg1:k1:")), "{payloads:?}");
    assert!(payloads.iter().all(|p| !p.contains(NOTE)), "{payloads:?}");
}
