//! Check-ins: what one sets (current value, confidence, time, progress of
//! the key result and its objective), the append-only history, idempotency
//! keys, and the scores frozen when a period closes. Expected numbers are
//! worked out by hand from the product brief's table.

use crate::common::{assert_conflict, assert_forbidden, connect, tenant};
use crate::goals_fixture::*;
use goalgraph_domain::model::{PeriodStatus, RoleSet};
use goalgraph_domain::okr::{Measure, Owner};
use goalgraph_persistence::entity::idempotency_key;
use goalgraph_persistence::{CheckInInput, PageArgs};
use goalgraph_testkit::TestDb;
use sea_orm::{ActiveModelTrait, Set};
use std::collections::HashSet;
use std::time::Duration;

pub async fn check_ins_set_current_and_progress(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "check-ins").await;
    let q2 = active_quarter(&store, &t).await;
    let owner = Owner::Unit(t.company.id);
    let me = t.admin.id;

    // INCREASE 0 -> 100 (weight 3) and DECREASE 100 -> 50 (weight 1).
    let o = objective(&store, &t.actor, q2.id, owner, "Weighted", None).await;
    let up = key_result(&store, &t.actor, o.id, me, Measure::Increase, 0.0, 100.0, 3.0).await;
    let down = key_result(&store, &t.actor, o.id, me, Measure::Decrease, 100.0, 50.0, 1.0).await;
    assert_eq!(
        (up.current, up.confidence, up.last_check_in_at),
        (0.0, None, None),
        "no check-in: current = start"
    );
    assert_eq!(down.current, 100.0);

    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let input = CheckInInput {
        key_result_id: up.id,
        value: 40.0,
        confidence: Some(0.8),
        note: Some("on our way".into()),
        idempotency_key: None,
    };
    let (ci, kr) = store.check_in(&t.actor, input).await.unwrap();
    let after = chrono::Utc::now() + chrono::Duration::seconds(1);
    assert_eq!((ci.key_result_id, ci.value, ci.confidence), (up.id, 40.0, Some(0.8)));
    assert_eq!(ci.note.as_deref(), Some("on our way"));
    assert_eq!(ci.author_id, Some(me));
    assert_eq!((kr.current, kr.confidence), (40.0, Some(0.8)));
    let at = kr.last_check_in_at.expect("last_check_in_at is set");
    assert!(before <= at && at <= after, "last_check_in_at {at} is the time of the check-in");
    assert_close(kr.progress, 0.4, "INCREASE 0->100 at 40");
    assert_eq!(
        store.key_result(&t.actor, up.id).await.unwrap(),
        kr,
        "the returned key result is the stored one"
    );
    // (0.4 * 3 + 0 * 1) / 4 = 0.3
    assert_close(progress_of(&store, t.org.id, o.id).await, 0.3, "objective by weight");

    let (_, kr) = check_in(&store, &t.actor, down.id, 75.0).await;
    assert_close(kr.progress, 0.5, "DECREASE 100->50 at 75");
    // (0.4 * 3 + 0.5 * 1) / 4 = 0.425
    assert_close(progress_of(&store, t.org.id, o.id).await, 0.425, "objective by weight");
    // Clamping: beyond the target is 1, behind the start is 0.
    let (_, kr) = check_in(&store, &t.actor, up.id, 150.0).await;
    assert_close(kr.progress, 1.0, "INCREASE beyond its target");
    let (_, kr) = check_in(&store, &t.actor, down.id, 120.0).await;
    assert_close(kr.progress, 0.0, "DECREASE behind its start");
    // (1 * 3 + 0 * 1) / 4 = 0.75
    assert_close(progress_of(&store, t.org.id, o.id).await, 0.75, "objective after clamping");
    let (_, kr) = check_in(&store, &t.actor, up.id, -10.0).await;
    assert_close(kr.progress, 0.0, "INCREASE behind its start");

    // MAINTAIN_ABOVE 95: holds at 95 and above only.
    let health = objective(&store, &t.actor, q2.id, owner, "Keep it up", None).await;
    let above = key_result(&store, &t.actor, health.id, me, Measure::MaintainAbove, 90.0, 95.0, 1.0).await;
    assert_eq!(above.progress, 0.0, "90 is below 95");
    for (value, want) in [(96.0, 1.0), (94.9, 0.0), (95.0, 1.0)] {
        let (_, kr) = check_in(&store, &t.actor, above.id, value).await;
        assert_close(kr.progress, want, &format!("MAINTAIN_ABOVE 95 at {value}"));
    }
    // MAINTAIN_BELOW 2: holds at 2 and below.
    let below = key_result(&store, &t.actor, health.id, me, Measure::MaintainBelow, 3.0, 2.0, 1.0).await;
    for (value, want) in [(2.0, 1.0), (2.1, 0.0), (1.0, 1.0)] {
        let (_, kr) = check_in(&store, &t.actor, below.id, value).await;
        assert_close(kr.progress, want, &format!("MAINTAIN_BELOW 2 at {value}"));
    }
    // Both hold: (1 + 1) / 2 = 1.
    assert_close(progress_of(&store, t.org.id, health.id).await, 1.0, "maintained objective");
    // MILESTONE: done at 1.
    let launch = objective(&store, &t.actor, q2.id, owner, "Launch", None).await;
    let milestone = key_result(&store, &t.actor, launch.id, me, Measure::Milestone, 0.0, 1.0, 1.0).await;
    let (_, kr) = check_in(&store, &t.actor, milestone.id, 0.5).await;
    assert_close(kr.progress, 0.0, "MILESTONE half done");
    assert_close(progress_of(&store, t.org.id, launch.id).await, 0.0, "milestone objective");
    let (_, kr) = check_in(&store, &t.actor, milestone.id, 1.0).await;
    assert_close(kr.progress, 1.0, "MILESTONE done");
    assert_close(progress_of(&store, t.org.id, launch.id).await, 1.0, "milestone objective");

    // Bad input: rejected, nothing written.
    let rows = check_in_rows(&store, t.org.id, milestone.id).await;
    for bad in [f64::NAN, f64::INFINITY] {
        assert_invalid_any(
            store.check_in(&t.actor, check_in_input(milestone.id, bad)).await,
            "a non-finite value",
        );
    }
    for bad in [1.5, -0.1, f64::NAN] {
        let input = CheckInInput { confidence: Some(bad), ..check_in_input(milestone.id, 0.0) };
        assert_invalid_any(store.check_in(&t.actor, input).await, "a confidence outside 0..1");
    }
    assert_eq!(check_in_rows(&store, t.org.id, milestone.id).await, rows);
    assert_eq!(store.key_result(&t.actor, milestone.id).await.unwrap().current, 1.0);
}

/// Check-ins are appended, never replaced; the history reads newest first.
pub async fn check_ins_are_append_only(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "history").await;
    let q2 = active_quarter(&store, &t).await;
    let o = objective(&store, &t.actor, q2.id, Owner::Unit(t.company.id), "History", None).await;
    let k = key_result(&store, &t.actor, o.id, t.admin.id, Measure::Increase, 0.0, 10.0, 1.0).await;
    let other = key_result(&store, &t.actor, o.id, t.admin.id, Measure::Increase, 0.0, 10.0, 1.0).await;
    let mut ids = Vec::new();
    for value in [1.0, 5.0, 3.0, 3.0] {
        ids.push(check_in(&store, &t.actor, k.id, value).await.0.id);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    check_in(&store, &t.actor, other.id, 9.0).await;
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        4,
        "every check-in is a new row, even a repeated value"
    );
    assert_eq!(check_in_rows(&store, t.org.id, k.id).await, 4);
    let pages = store
        .check_in_pages(&t.actor, &[k.id, other.id], &PageArgs { first: 10, after: None })
        .await
        .unwrap();
    let page = &pages[&k.id];
    let values: Vec<f64> = page.items.iter().map(|(_, c)| c.value).collect();
    assert_eq!(values, vec![3.0, 3.0, 5.0, 1.0], "newest first");
    let got: Vec<_> = page.items.iter().map(|(_, c)| c.id).collect();
    assert_eq!(got, ids.iter().rev().copied().collect::<Vec<_>>());
    assert!(!page.has_next_page);
    assert_eq!(pages[&other.id].items.len(), 1);
    // The newest sets the current value.
    let stored = store.key_result(&t.actor, k.id).await.unwrap();
    assert_eq!(stored.current, 3.0);
    assert_close(stored.progress, 0.3, "INCREASE 0->10 at 3");
    // A short page and the next one.
    let first = store.check_in_pages(&t.actor, &[k.id], &PageArgs { first: 2, after: None }).await.unwrap();
    let first = &first[&k.id];
    assert!(first.has_next_page);
    let cursor = first.items.last().map(|(c, _)| c.clone());
    let rest = store.check_in_pages(&t.actor, &[k.id], &PageArgs { first: 10, after: cursor }).await.unwrap();
    let rest: Vec<f64> = rest[&k.id].items.iter().map(|(_, c)| c.value).collect();
    assert_eq!(rest, vec![5.0, 1.0]);
}

fn keyed(kr: goalgraph_domain::KeyResultId, value: f64, key: &str) -> CheckInInput {
    CheckInInput { idempotency_key: Some(key.to_owned()), ..check_in_input(kr, value) }
}

pub async fn check_in_idempotency_keys(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "idempotent").await;
    let q2 = active_quarter(&store, &t).await;
    let o = objective(&store, &t.actor, q2.id, Owner::Unit(t.company.id), "Retry safe", None).await;
    let k = key_result(&store, &t.actor, o.id, t.admin.id, Measure::Increase, 0.0, 100.0, 1.0).await;
    let k2 = key_result(&store, &t.actor, o.id, t.admin.id, Measure::Increase, 0.0, 100.0, 1.0).await;

    let (first, kr) = store.check_in(&t.actor, keyed(k.id, 40.0, "retry-1")).await.unwrap();
    assert_eq!(kr.current, 40.0);
    // A later check-in without a key moves the value on.
    check_in(&store, &t.actor, k.id, 60.0).await;
    assert_eq!(check_in_rows(&store, t.org.id, k.id).await, 2);
    // The retry returns the first result and writes nothing: one row, value still 60.
    let (again, kr) = store.check_in(&t.actor, keyed(k.id, 40.0, "retry-1")).await.unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!((again.value, again.created_at), (first.value, first.created_at));
    assert_eq!(check_in_rows(&store, t.org.id, k.id).await, 2, "a retry writes no check-in");
    assert_eq!(kr.current, 60.0, "a retry does not set the value back");
    let stored = store.key_result(&t.actor, k.id).await.unwrap();
    assert_eq!(stored.current, 60.0);
    assert_close(stored.progress, 0.6, "INCREASE 0->100 at 60");
    assert_close(progress_of(&store, t.org.id, o.id).await, 0.3, "(0.6 + 0) / 2");

    // The same key with another input conflicts and writes nothing.
    assert_conflict(store.check_in(&t.actor, keyed(k.id, 41.0, "retry-1")).await);
    assert_conflict(store.check_in(&t.actor, keyed(k2.id, 40.0, "retry-1")).await);
    let with_note = CheckInInput { note: Some("changed my mind".into()), ..keyed(k.id, 40.0, "retry-1") };
    assert_conflict(store.check_in(&t.actor, with_note).await);
    let with_confidence = CheckInInput { confidence: Some(0.9), ..keyed(k.id, 40.0, "retry-1") };
    assert_conflict(store.check_in(&t.actor, with_confidence).await);
    assert_eq!(check_in_rows(&store, t.org.id, k.id).await, 2);
    assert_eq!(check_in_rows(&store, t.org.id, k2.id).await, 0);
    assert_eq!(store.key_result(&t.actor, k.id).await.unwrap().current, 60.0);
    // Control: a fresh key on the other key result works.
    let (fresh, _) = store.check_in(&t.actor, keyed(k2.id, 40.0, "retry-2")).await.unwrap();
    assert_ne!(fresh.id, first.id);
    assert_eq!(check_in_rows(&store, t.org.id, k2.id).await, 1);

    // Keys are scoped to the tenant: another organization's "retry-1" is its own.
    let b = tenant(&store, "idempotent-b").await;
    let bq = active_quarter(&store, &b).await;
    let bo = objective(&store, &b.actor, bq.id, Owner::Unit(b.company.id), "Theirs", None).await;
    let bk = key_result(&store, &b.actor, bo.id, b.admin.id, Measure::Increase, 0.0, 100.0, 1.0).await;
    let (theirs, bkr) = store.check_in(&b.actor, keyed(bk.id, 25.0, "retry-1")).await.unwrap();
    assert_ne!(theirs.id, first.id);
    assert_eq!((theirs.key_result_id, bkr.current), (bk.id, 25.0));
    assert_eq!(check_in_rows(&store, b.org.id, bk.id).await, 1);
    assert_eq!(store.key_result(&t.actor, k.id).await.unwrap().current, 60.0, "A is untouched");

    // Keys are scoped to the mutation: a key another mutation recorded does not
    // make a check-in conflict (nor replay that mutation's response).
    idempotency_key::ActiveModel {
        organization_id: Set(t.org.id.0),
        mutation: Set("recordKpiMeasurement".to_owned()),
        key: Set("shared-key".to_owned()),
        request_hash: Set("0".repeat(64)),
        response: Set(r#"{"measurementId":"00000000-0000-0000-0000-000000000000"}"#.to_owned()),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(store.connection())
    .await
    .unwrap();
    let (scoped, kr) = store.check_in(&t.actor, keyed(k2.id, 70.0, "shared-key")).await.unwrap();
    assert_eq!((scoped.value, kr.current), (70.0, 70.0));
    assert_eq!(check_in_rows(&store, t.org.id, k2.id).await, 2);
    let (replayed, _) = store.check_in(&t.actor, keyed(k2.id, 70.0, "shared-key")).await.unwrap();
    assert_eq!(replayed.id, scoped.id);
    assert_eq!(check_in_rows(&store, t.org.id, k2.id).await, 2);
}

/// Eight clients retrying the same check-in at once: all succeed with the
/// same check-in, and exactly one row is written.
pub async fn concurrent_idempotent_check_ins(db: TestDb) {
    const CLIENTS: usize = 8;
    let store = connect(&db).await;
    let t = tenant(&store, "idempotent-race").await;
    let q2 = active_quarter(&store, &t).await;
    let o = objective(&store, &t.actor, q2.id, Owner::Unit(t.company.id), "Raced", None).await;
    let k = key_result(&store, &t.actor, o.id, t.admin.id, Measure::Increase, 0.0, 100.0, 1.0).await;
    for round in 0..3 {
        let key = format!("race-{round}");
        let value = 10.0 * f64::from(round + 1);
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (store, actor, key) = (store.clone(), t.actor.clone(), key.clone());
                tokio::spawn(async move { store.check_in(&actor, keyed(k.id, value, &key)).await })
            })
            .collect();
        let mut ids = HashSet::new();
        let mut failures = Vec::new();
        for task in tasks {
            match task.await.expect("task panicked") {
                Ok((ci, _)) => {
                    ids.insert(ci.id);
                }
                Err(e) => failures.push(format!("{e:?}")),
            }
        }
        assert!(
            failures.is_empty(),
            "round {round}: {} of {CLIENTS} retries failed: {failures:?}",
            failures.len()
        );
        assert_eq!(ids.len(), 1, "round {round}: every retry returns the same check-in");
        assert_eq!(check_in_rows(&store, t.org.id, k.id).await, round as u64 + 1, "round {round}: one row");
        let stored = store.key_result(&t.actor, k.id).await.unwrap();
        assert_eq!(stored.current, value);
        assert_close(progress_of(&store, t.org.id, o.id).await, value / 100.0, "objective progress");
    }
}

/// Check-ins queued while a batch is written go together: each still gets
/// its own answer (written, replayed, or its own error), one key result
/// checked in twice moves twice, and the rollups and the audit trail are
/// those of the same check-ins written one by one, in fewer statements.
pub async fn batched_check_ins_answer_each_on_its_own(db: TestDb) {
    let store = connect(&db).await;
    // Two identical tenants: one gets the check-ins in one batch, the other
    // one by one (the control).
    let mut runs = Vec::new();
    for (slug, batched) in [("batch-one", true), ("batch-each", false)] {
        let t = tenant(&store, slug).await;
        let q2 = active_quarter(&store, &t).await;
        let owner = Owner::Unit(t.company.id);
        let root = objective(&store, &t.actor, q2.id, owner, "Root", None).await;
        let a = objective(&store, &t.actor, q2.id, owner, "A", Some(root.id)).await;
        let b = objective(&store, &t.actor, q2.id, owner, "B", Some(root.id)).await;
        let ka = key_result(&store, &t.actor, a.id, t.admin.id, Measure::Increase, 0.0, 100.0, 1.0).await.id;
        let kb = key_result(&store, &t.actor, b.id, t.admin.id, Measure::Increase, 0.0, 100.0, 1.0).await.id;
        let (_, member) = t.actor_with(&store, "Mo Member", RoleSet::default()).await;
        let missing = goalgraph_domain::KeyResultId(uuid::Uuid::now_v7());
        let inputs = vec![
            (t.actor.clone(), keyed(ka, 10.0, "k1")),
            (t.actor.clone(), check_in_input(kb, 20.0)),
            (t.actor.clone(), check_in_input(ka, 30.0)),
            // A retry of the first: its answer, nothing written.
            (t.actor.clone(), keyed(ka, 10.0, "k1")),
            // The first's key with another input.
            (t.actor.clone(), keyed(kb, 99.0, "k1")),
            (t.actor.clone(), check_in_input(missing, 5.0)),
            // Not the member's key result.
            (member, check_in_input(kb, 77.0)),
        ];
        let before = store.statement_count();
        let answers = if batched {
            let hold = store.hold_check_ins().await;
            // Queued one after the other: a batch keeps arrival order.
            let mut tasks = Vec::new();
            for (actor, input) in inputs {
                let s = store.clone();
                tasks.push(tokio::spawn(async move { s.check_in(&actor, input).await }));
                while store.waiting_check_ins() < tasks.len() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            drop(hold);
            let mut answers = Vec::new();
            for task in tasks {
                answers.push(task.await.expect("task panicked"));
            }
            answers
        } else {
            let mut answers = Vec::new();
            for (actor, input) in inputs {
                answers.push(store.check_in(&actor, input).await);
            }
            answers
        };
        let statements = store.statement_count() - before;
        let mut answers = answers.into_iter();
        let first = answers.next().unwrap().expect("first check-in");
        let second = answers.next().unwrap().expect("second check-in");
        let third = answers.next().unwrap().expect("third check-in");
        let retry = answers.next().unwrap().expect("retry of the first");
        assert_eq!(retry.0.id, first.0.id, "{slug}: the retry answers the first check-in");
        assert_eq!(retry.0.value, 10.0);
        assert_conflict(answers.next().unwrap());
        crate::common::assert_not_found(answers.next().unwrap());
        assert_forbidden(answers.next().unwrap());
        assert_eq!((first.1.current, second.1.current, third.1.current), (10.0, 20.0, 30.0), "{slug}");
        assert_close(third.1.progress, 0.3, "A's key result after 10 then 30");
        assert_eq!(check_in_rows(&store, t.org.id, ka).await, 2, "{slug}: two check-ins on A's key result");
        assert_eq!(
            check_in_rows(&store, t.org.id, kb).await,
            1,
            "{slug}: the conflict and the refusal wrote nothing"
        );
        let stored = store.key_result(&t.actor, ka).await.unwrap();
        assert_eq!(stored.current, 30.0, "{slug}: the later check-in wins");
        assert_close(progress_of(&store, t.org.id, a.id).await, 0.3, "A");
        assert_close(progress_of(&store, t.org.id, b.id).await, 0.2, "B");
        assert_close(progress_of(&store, t.org.id, root.id).await, 0.25, "root: (0.3 + 0.2) / 2");
        let events = store
            .audit_events(
                &t.actor,
                &goalgraph_persistence::AuditFilter { action: Some("checkIn".into()), ..Default::default() },
                &PageArgs { first: 50, after: None },
            )
            .await
            .unwrap();
        assert_eq!(events.items.len(), 3, "{slug}: one audit event per written check-in");
        let report = store.verify_audit_trail(&t.actor).await.unwrap();
        assert!(report.broken.is_none(), "{slug}: the chain holds: {report:?}");
        runs.push(statements);
    }
    let (batched, each) = (runs[0], runs[1]);
    assert!(
        batched * 2 < each,
        "one batch of seven check-ins took {batched} statements, one by one they took {each}"
    );
}

/// A retry stands whatever changed since its first answer: after the
/// period closes, the same key and input answer the first check-in, while a
/// new check-in (the control) is refused for the closed period.
pub async fn retries_answer_after_the_period_closes(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "retry-closed").await;
    let q2 = active_quarter(&store, &t).await;
    let o = objective(&store, &t.actor, q2.id, Owner::Unit(t.company.id), "Closing", None).await;
    let k = key_result(&store, &t.actor, o.id, t.admin.id, Measure::Increase, 0.0, 100.0, 1.0).await;
    let (first, _) = store.check_in(&t.actor, keyed(k.id, 40.0, "before-close")).await.unwrap();
    close(&store, &t, q2.id).await;
    let (again, kr) = store.check_in(&t.actor, keyed(k.id, 40.0, "before-close")).await.unwrap();
    assert_eq!(again.id, first.id, "the retry answers the first check-in");
    assert_eq!(kr.current, 40.0);
    crate::common::assert_invalid(
        store.check_in(&t.actor, keyed(k.id, 50.0, "after-close")).await,
        "periodId",
    );
    crate::common::assert_invalid(store.check_in(&t.actor, check_in_input(k.id, 50.0)).await, "periodId");
    assert_eq!(check_in_rows(&store, t.org.id, k.id).await, 1);
}

/// Closing a period freezes every score at the progress of the moment;
/// later check-ins are refused.
pub async fn closing_a_period_freezes_scores(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "close-period").await;
    let me = t.admin.id;
    let q2 = active_quarter(&store, &t).await;
    let next = period(&store, &t, "Q3", date(2026, 7, 1), date(2026, 9, 30)).await;
    let owner = Owner::Unit(t.company.id);

    // A: INCREASE 0->100 at 40 (w 3) and a MILESTONE done (w 1): (0.4*3 + 1*1)/4 = 0.55.
    let parent = objective(&store, &t.actor, q2.id, owner, "Parent", None).await;
    let a = objective(&store, &t.actor, q2.id, owner, "A", Some(parent.id)).await;
    let k1 = key_result(&store, &t.actor, a.id, me, Measure::Increase, 0.0, 100.0, 3.0).await;
    let k2 = key_result(&store, &t.actor, a.id, me, Measure::Milestone, 0.0, 1.0, 1.0).await;
    // B: DECREASE 10->0 never checked in: 0; the parent averages A and B: (0.55 + 0) / 2 = 0.275.
    let b = objective(&store, &t.actor, q2.id, owner, "B", Some(parent.id)).await;
    let k3 = key_result(&store, &t.actor, b.id, me, Measure::Decrease, 10.0, 0.0, 1.0).await;
    let empty = objective(&store, &t.actor, q2.id, owner, "Nothing yet", None).await;
    // Aligned from the (overlapping, open) year 2026: its only child, at 0 when Q2 closes.
    let year = period(&store, &t, "2026", date(2026, 1, 1), date(2026, 12, 31)).await;
    let host = objective(&store, &t.actor, q2.id, owner, "Host", None).await;
    let guest = objective(&store, &t.actor, year.id, owner, "Guest", Some(host.id)).await;
    let k5 = key_result(&store, &t.actor, guest.id, me, Measure::Increase, 0.0, 10.0, 1.0).await;
    // An objective of another period, not closed.
    let later = objective(&store, &t.actor, next.id, owner, "Next quarter", None).await;
    let k4 = key_result(&store, &t.actor, later.id, me, Measure::Increase, 0.0, 10.0, 1.0).await;
    check_in(&store, &t.actor, k1.id, 40.0).await;
    check_in(&store, &t.actor, k2.id, 1.0).await;
    check_in(&store, &t.actor, k4.id, 5.0).await;
    assert_close(progress_of(&store, t.org.id, parent.id).await, 0.275, "parent before closing");
    assert_eq!(objective_row(&store, t.org.id, a.id).await.score, None, "no score before the close");
    assert_eq!(key_result_row(&store, t.org.id, k1.id).await.score, None);

    let closed = store.transition_period(&t.actor, q2.id, PeriodStatus::Closed, None).await.unwrap();
    assert_eq!(closed.status, PeriodStatus::Closed);
    for (id, want, what) in [
        (a.id, 0.55, "A"),
        (parent.id, 0.275, "parent"),
        (b.id, 0.0, "B"),
        (empty.id, 0.0, "no inputs"),
        (host.id, 0.0, "host"),
    ] {
        let row = objective_row(&store, t.org.id, id).await;
        let score = row.score.unwrap_or_else(|| panic!("{what} has no score after the close"));
        assert_close(score, want, &format!("score of {what}"));
        assert_close(score, row.progress, &format!("score of {what} = its progress"));
    }
    for (id, want, what) in [(k1.id, 0.4, "k1"), (k2.id, 1.0, "k2"), (k3.id, 0.0, "k3")] {
        let row = key_result_row(&store, t.org.id, id).await;
        assert_close(row.score.unwrap_or(f64::NAN), want, &format!("score of {what}"));
    }
    assert_eq!(store.objective(&t.actor, a.id).await.unwrap().score.map(|s| (s * 100.0).round()), Some(55.0));
    // The other period is untouched.
    assert_eq!(objective_row(&store, t.org.id, later.id).await.score, None);
    assert_eq!(key_result_row(&store, t.org.id, k4.id).await.score, None);

    // Later check-ins are refused and change nothing.
    let rows = check_in_rows(&store, t.org.id, k1.id).await;
    assert_invalid_any(
        store.check_in(&t.actor, check_in_input(k1.id, 90.0)).await,
        "a check-in in a CLOSED period",
    );
    assert_invalid_any(
        store.check_in(&t.actor, keyed(k3.id, 5.0, "after-close")).await,
        "a keyed check-in in a CLOSED period",
    );
    assert_eq!(check_in_rows(&store, t.org.id, k1.id).await, rows);
    assert_eq!(check_in_rows(&store, t.org.id, k3.id).await, 0);
    let k1_row = key_result_row(&store, t.org.id, k1.id).await;
    assert_eq!(k1_row.current_value, 40.0);
    assert_close(k1_row.score.unwrap_or(f64::NAN), 0.4, "k1 score after a refused check-in");
    assert_close(objective_row(&store, t.org.id, a.id).await.score.unwrap_or(f64::NAN), 0.55, "A score");
    // Positive control: the open periods still take check-ins.
    let (_, kr) = check_in(&store, &t.actor, k4.id, 10.0).await;
    assert_close(kr.progress, 1.0, "INCREASE 0->10 at 10");
    // A check-in below a closed period's objective leaves its score frozen.
    let (_, kr) = check_in(&store, &t.actor, k5.id, 5.0).await;
    assert_close(kr.progress, 0.5, "INCREASE 0->10 at 5");
    assert_close(progress_of(&store, t.org.id, guest.id).await, 0.5, "guest");
    assert_close(
        objective_row(&store, t.org.id, host.id).await.score.unwrap_or(f64::NAN),
        0.0,
        "the host's score stays what it was at the close",
    );
    assert_eq!(objective_row(&store, t.org.id, guest.id).await.score, None, "the open period has no scores");
}

/// A retry is still a mutation: whoever may not check in on a key result
/// is refused, even when they send a key (and input) that someone else
/// already used; the retry of the author still replays.
pub async fn idempotent_replays_are_authorized(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "idempotent-authz").await;
    let q2 = active_quarter(&store, &t).await;
    let o = objective(&store, &t.actor, q2.id, Owner::Unit(t.company.id), "Public goal", None).await;
    let k = key_result(&store, &t.actor, o.id, t.admin.id, Measure::Increase, 0.0, 100.0, 1.0).await;
    let (_, viewer) =
        t.actor_with(&store, "Vic Viewer", RoleSet::new([goalgraph_domain::model::Role::Viewer])).await;
    // The viewer sees the key result but may not check in on it.
    assert_eq!(store.key_result(&viewer, k.id).await.unwrap().id, k.id);
    assert_forbidden(store.check_in(&viewer, keyed(k.id, 40.0, "viewer-own")).await);
    let (first, _) = store.check_in(&t.actor, keyed(k.id, 40.0, "shared")).await.unwrap();
    assert_forbidden(store.check_in(&viewer, keyed(k.id, 40.0, "shared")).await);
    assert_eq!(check_in_rows(&store, t.org.id, k.id).await, 1);
    // Control: the author's retry replays.
    let (again, _) = store.check_in(&t.actor, keyed(k.id, 40.0, "shared")).await.unwrap();
    assert_eq!(again.id, first.id);
}
