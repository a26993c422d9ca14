//! Objectives and key results: the rules of creation, alignment, lifecycle
//! and optimistic concurrency of the product brief, each rejected case next
//! to an accepted one.

use crate::common::{assert_conflict, assert_invalid, connect, tenant};
use crate::goals_fixture::*;
use goalgraph_domain::model::{PeriodStatus, UnitKind};
use goalgraph_domain::okr::{Measure, ObjectiveStatus, Owner, Visibility};
use goalgraph_persistence::{KeyResultPatch, ObjectivePatch};
use goalgraph_testkit::TestDb;

pub async fn objectives_follow_their_rules(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "objectives").await;
    let other = tenant(&store, "objectives-other").await;
    let team = t.unit(&store, UnitKind::Team, "Growth", t.company.id).await;
    let ann = t.person(&store, "Ann Owner", team.id, None).await;
    let q2 = period(&store, &t, "Q2", date(2026, 4, 1), date(2026, 6, 30)).await;

    // Unit-owned and person-owned objectives; a person's goal hangs in their unit.
    let by_unit = store
        .create_objective(&t.actor, new_objective(q2.id, Owner::Unit(team.id), "Grow the team", None))
        .await
        .unwrap();
    assert_eq!(by_unit.owner, Owner::Unit(team.id));
    assert_eq!(by_unit.owning_unit, team.id);
    assert_eq!(
        (by_unit.status, by_unit.version, by_unit.progress, by_unit.score),
        (ObjectiveStatus::Active, 1, 0.0, None)
    );
    let mut draft = new_objective(q2.id, Owner::Person(ann.id), "Ship the thing", None);
    draft.status = None;
    let by_person = store.create_objective(&t.actor, draft).await.unwrap();
    assert_eq!(by_person.owner, Owner::Person(ann.id));
    assert_eq!(by_person.owning_unit, team.id, "a person's objective is owned in their unit");
    assert_eq!(by_person.status, ObjectiveStatus::Draft, "a new objective is DRAFT by default");
    assert_eq!(store.objective(&t.actor, by_person.id).await.unwrap(), by_person);

    // Titles: 1 to 200 characters.
    let owner = Owner::Unit(team.id);
    let before = objective_rows(&store, t.org.id).await;
    for bad in ["", "   ", &"x".repeat(201)] {
        assert_invalid(
            store.create_objective(&t.actor, new_objective(q2.id, owner, bad, None)).await,
            "title",
        );
    }
    let long = store.create_objective(&t.actor, new_objective(q2.id, owner, &"y".repeat(200), None)).await;
    assert_eq!(long.unwrap().title.chars().count(), 200);
    let before = before + 1;
    let renamed = ObjectivePatch { title: Some(String::new()), ..Default::default() };
    assert_invalid(store.update_objective(&t.actor, by_unit.id, renamed).await, "title");

    // Another tenant's period is unknown input; so is a closed one of ours.
    let foreign_period = period(&store, &other, "Their Q2", date(2026, 4, 1), date(2026, 6, 30)).await;
    assert_invalid(
        store.create_objective(&t.actor, new_objective(foreign_period.id, owner, "Sneaky", None)).await,
        "periodId",
    );
    let q1 = period(&store, &t, "Q1", date(2026, 1, 1), date(2026, 3, 31)).await;
    close(&store, &t, q1.id).await;
    assert_invalid_any(
        store.create_objective(&t.actor, new_objective(q1.id, owner, "Too late", None)).await,
        "an objective in a CLOSED period",
    );
    assert_eq!(objective_rows(&store, t.org.id).await, before, "rejected creates write nothing");
    assert_eq!(objective_rows(&store, other.org.id).await, 0);

    // A parent from another tenant is unknown; nothing is written.
    let foreign_parent =
        objective(&store, &other.actor, foreign_period.id, Owner::Unit(other.company.id), "Their goal", None)
            .await;
    assert_invalid(
        store
            .create_objective(
                &t.actor,
                new_objective(q2.id, owner, "Aligned abroad", Some(foreign_parent.id)),
            )
            .await,
        "parentObjectiveId",
    );
    assert_invalid(
        store.reparent_objective(&t.actor, by_unit.id, Some(foreign_parent.id), None).await,
        "parentObjectiveId",
    );
    assert_eq!(objective_rows(&store, t.org.id).await, before);
    assert_eq!(
        store.objective(&t.actor, by_unit.id).await.unwrap(),
        by_unit,
        "a rejected re-parent changes nothing"
    );
    assert_eq!(store.objective(&other.actor, foreign_parent.id).await.unwrap(), foreign_parent);

    // A parent whose period does not overlap is rejected; an overlapping one works.
    let company_goal =
        objective(&store, &t.actor, q2.id, Owner::Unit(t.company.id), "Company goal", None).await;
    let h2 = period(&store, &t, "H2", date(2026, 7, 1), date(2026, 12, 31)).await;
    assert_invalid_any(
        store.create_objective(&t.actor, new_objective(h2.id, owner, "Later", Some(company_goal.id))).await,
        "a parent in a period that does not overlap",
    );
    let year = period(&store, &t, "2026", date(2026, 1, 1), date(2026, 12, 31)).await;
    let yearly_child =
        objective(&store, &t.actor, year.id, owner, "All year long", Some(company_goal.id)).await;
    assert_eq!(yearly_child.parent_id, Some(company_goal.id));
    let h2_goal = objective(&store, &t.actor, h2.id, owner, "H2 goal", None).await;
    assert_invalid_any(
        store.reparent_objective(&t.actor, h2_goal.id, Some(company_goal.id), None).await,
        "re-parenting under a parent whose period does not overlap",
    );
    assert_eq!(store.objective(&t.actor, h2_goal.id).await.unwrap().parent_id, None);

    // Cycles: A <- B <- C, then A under C (or under itself) is rejected.
    let a = objective(&store, &t.actor, q2.id, owner, "A", None).await;
    let b = objective(&store, &t.actor, q2.id, owner, "B", Some(a.id)).await;
    let c = objective(&store, &t.actor, q2.id, owner, "C", Some(b.id)).await;
    assert_invalid(store.reparent_objective(&t.actor, a.id, Some(c.id), None).await, "parentObjectiveId");
    assert_invalid(store.reparent_objective(&t.actor, a.id, Some(b.id), None).await, "parentObjectiveId");
    assert_invalid(store.reparent_objective(&t.actor, a.id, Some(a.id), None).await, "parentObjectiveId");
    assert_eq!(store.objective(&t.actor, a.id).await.unwrap(), a, "rejected re-parents change nothing");
    // Legal moves: C straight under A, then A under the company goal, then B to no parent.
    let moved = store.reparent_objective(&t.actor, c.id, Some(a.id), Some(1)).await.unwrap();
    assert_eq!((moved.parent_id, moved.version), (Some(a.id), 2));
    let moved = store.reparent_objective(&t.actor, a.id, Some(company_goal.id), None).await.unwrap();
    assert_eq!(moved.parent_id, Some(company_goal.id));
    let moved = store.reparent_objective(&t.actor, b.id, None, None).await.unwrap();
    assert_eq!(moved.parent_id, None);
    // B is no longer above A, so A may now go under B.
    let moved = store.reparent_objective(&t.actor, a.id, Some(b.id), None).await.unwrap();
    assert_eq!(moved.parent_id, Some(b.id));

    // Status: DRAFT -> ACTIVE -> COMPLETED, never back.
    let s = store
        .transition_objective(&t.actor, by_person.id, ObjectiveStatus::Active, None, None)
        .await
        .unwrap();
    assert_eq!((s.status, s.version), (ObjectiveStatus::Active, 2));
    let s = store
        .transition_objective(&t.actor, by_person.id, ObjectiveStatus::Completed, None, Some(2))
        .await
        .unwrap();
    assert_eq!((s.status, s.version), (ObjectiveStatus::Completed, 3));
    assert_invalid(
        store.transition_objective(&t.actor, by_person.id, ObjectiveStatus::Active, None, None).await,
        "status",
    );
    assert_invalid(
        store
            .transition_objective(
                &t.actor,
                by_person.id,
                ObjectiveStatus::Cancelled,
                Some("late".into()),
                None,
            )
            .await,
        "status",
    );
    assert_eq!(
        store.objective(&t.actor, by_person.id).await.unwrap(),
        s,
        "rejected transitions change nothing"
    );

    // Cancelling needs a reason; with one it works from DRAFT and from ACTIVE.
    let mut draft = new_objective(q2.id, owner, "Doomed draft", None);
    draft.status = None;
    let doomed_draft = store.create_objective(&t.actor, draft).await.unwrap();
    let doomed_active = objective(&store, &t.actor, q2.id, owner, "Doomed active", None).await;
    for o in [&doomed_draft, &doomed_active] {
        assert_invalid(
            store.transition_objective(&t.actor, o.id, ObjectiveStatus::Cancelled, None, None).await,
            "reason",
        );
        assert_invalid(
            store
                .transition_objective(&t.actor, o.id, ObjectiveStatus::Cancelled, Some("   ".into()), None)
                .await,
            "reason",
        );
        assert_eq!(store.objective(&t.actor, o.id).await.unwrap(), *o);
        let cancelled = store
            .transition_objective(
                &t.actor,
                o.id,
                ObjectiveStatus::Cancelled,
                Some("market moved".into()),
                None,
            )
            .await
            .unwrap();
        assert_eq!(cancelled.status, ObjectiveStatus::Cancelled);
        assert_eq!(cancelled.cancel_reason.as_deref(), Some("market moved"));
        assert_eq!(cancelled.version, o.version + 1);
        assert_invalid(
            store.transition_objective(&t.actor, o.id, ObjectiveStatus::Active, None, None).await,
            "status",
        );
    }
}

pub async fn key_results_follow_their_rules(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "key-results").await;
    let other = tenant(&store, "key-results-other").await;
    let stranger = other.person(&store, "Sid Stranger", other.company.id, None).await;
    let kim = t.person(&store, "Kim Owner", t.company.id, None).await;
    let q2 = active_quarter(&store, &t).await;
    let owner = Owner::Unit(t.company.id);
    let o = objective(&store, &t.actor, q2.id, owner, "Measured", None).await;
    let kr = |m, s, tg, w| new_key_result(o.id, kim.id, m, s, tg, w);

    // Direction: INCREASE needs target > start, DECREASE target < start.
    assert_invalid(store.create_key_result(&t.actor, kr(Measure::Increase, 10.0, 10.0, 1.0)).await, "target");
    assert_invalid(store.create_key_result(&t.actor, kr(Measure::Increase, 10.0, 5.0, 1.0)).await, "target");
    assert_invalid(store.create_key_result(&t.actor, kr(Measure::Decrease, 10.0, 10.0, 1.0)).await, "target");
    assert_invalid(store.create_key_result(&t.actor, kr(Measure::Decrease, 10.0, 20.0, 1.0)).await, "target");
    // Weights: above zero and finite.
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_invalid(
            store.create_key_result(&t.actor, kr(Measure::Increase, 0.0, 10.0, bad)).await,
            "weight",
        );
    }
    // Numbers: finite.
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_invalid_any(
            store.create_key_result(&t.actor, kr(Measure::MaintainAbove, bad, 10.0, 1.0)).await,
            "a non-finite start",
        );
        assert_invalid_any(
            store.create_key_result(&t.actor, kr(Measure::MaintainAbove, 0.0, bad, 1.0)).await,
            "a non-finite target",
        );
    }
    // The owner must be a person of this tenant.
    let mut foreign_owner = kr(Measure::Increase, 0.0, 10.0, 1.0);
    foreign_owner.owner_id = stranger.id;
    assert_invalid(store.create_key_result(&t.actor, foreign_owner).await, "ownerId");
    assert_eq!(key_result_rows(&store, t.org.id, o.id).await, 0, "rejected creates write nothing");

    // Positive controls.
    let up = store.create_key_result(&t.actor, kr(Measure::Increase, 10.0, 20.0, 2.5)).await.unwrap();
    assert_eq!((up.start, up.target, up.current, up.weight, up.progress), (10.0, 20.0, 10.0, 2.5, 0.0));
    let down = store.create_key_result(&t.actor, kr(Measure::Decrease, 10.0, 5.0, 1.0)).await.unwrap();
    assert_eq!((down.current, down.progress, down.version), (10.0, 0.0, 1));
    let flat = store.create_key_result(&t.actor, kr(Measure::MaintainAbove, 5.0, 5.0, 1.0)).await.unwrap();
    assert_eq!(flat.progress, 1.0, "MAINTAIN_ABOVE with current = start = target holds");
    assert_eq!(key_result_rows(&store, t.org.id, o.id).await, 3);

    // Edits follow the same rules and change nothing when rejected.
    assert_invalid(
        store
            .update_key_result(&t.actor, up.id, KeyResultPatch { target: Some(5.0), ..Default::default() })
            .await,
        "target",
    );
    assert_invalid(
        store
            .update_key_result(&t.actor, up.id, KeyResultPatch { weight: Some(0.0), ..Default::default() })
            .await,
        "weight",
    );
    assert_invalid(
        store
            .update_key_result(
                &t.actor,
                up.id,
                KeyResultPatch { owner_id: Some(stranger.id), ..Default::default() },
            )
            .await,
        "ownerId",
    );
    assert_invalid(
        store
            .update_key_result(&t.actor, down.id, KeyResultPatch { target: Some(11.0), ..Default::default() })
            .await,
        "target",
    );
    assert_eq!(store.key_result(&t.actor, up.id).await.unwrap(), up, "rejected edits change nothing");
    let edited = store
        .update_key_result(&t.actor, up.id, KeyResultPatch { weight: Some(3.0), ..Default::default() })
        .await
        .unwrap();
    assert_eq!((edited.weight, edited.version), (3.0, 2));

    // Key results of COMPLETED, CANCELLED and CLOSED-period objectives are frozen.
    let completed = objective(&store, &t.actor, q2.id, owner, "Done", None).await;
    let k_completed =
        key_result(&store, &t.actor, completed.id, kim.id, Measure::Increase, 0.0, 100.0, 1.0).await;
    store.transition_objective(&t.actor, completed.id, ObjectiveStatus::Completed, None, None).await.unwrap();
    let cancelled = objective(&store, &t.actor, q2.id, owner, "Killed", None).await;
    let k_cancelled =
        key_result(&store, &t.actor, cancelled.id, kim.id, Measure::Increase, 0.0, 100.0, 1.0).await;
    store
        .transition_objective(&t.actor, cancelled.id, ObjectiveStatus::Cancelled, Some("pivot".into()), None)
        .await
        .unwrap();
    let old = period(&store, &t, "Q1", date(2026, 1, 1), date(2026, 3, 31)).await;
    let in_closed = objective(&store, &t.actor, old.id, owner, "Last quarter", None).await;
    let k_closed =
        key_result(&store, &t.actor, in_closed.id, kim.id, Measure::Increase, 0.0, 100.0, 1.0).await;
    close(&store, &t, old.id).await;
    let active_goal = objective(&store, &t.actor, q2.id, owner, "Still going", None).await;
    let k_active =
        key_result(&store, &t.actor, active_goal.id, kim.id, Measure::Increase, 0.0, 100.0, 1.0).await;
    for (what, objective_id, k) in [
        ("COMPLETED", completed.id, &k_completed),
        ("CANCELLED", cancelled.id, &k_cancelled),
        ("CLOSED period", in_closed.id, &k_closed),
    ] {
        let stored = store.key_result(&t.actor, k.id).await.unwrap();
        assert_invalid_any(
            store
                .update_key_result(&t.actor, k.id, KeyResultPatch { weight: Some(2.0), ..Default::default() })
                .await,
            &format!("editing a key result of a {what} objective"),
        );
        assert_invalid_any(
            store.check_in(&t.actor, check_in_input(k.id, 50.0)).await,
            &format!("checking in on a key result of a {what} objective"),
        );
        assert_invalid_any(
            store
                .create_key_result(
                    &t.actor,
                    new_key_result(objective_id, kim.id, Measure::Increase, 0.0, 1.0, 1.0),
                )
                .await,
            &format!("adding a key result to a {what} objective"),
        );
        assert_eq!(store.key_result(&t.actor, k.id).await.unwrap(), stored, "{what}: nothing changed");
        assert_eq!(check_in_rows(&store, t.org.id, k.id).await, 0, "{what}: no check-in written");
        assert_eq!(key_result_rows(&store, t.org.id, objective_id).await, 1, "{what}: no key result added");
    }
    // Positive control: the same calls on an ACTIVE objective of an open period.
    let e = store
        .update_key_result(&t.actor, k_active.id, KeyResultPatch { weight: Some(2.0), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(e.weight, 2.0);
    let (_, after) = check_in(&store, &t.actor, k_active.id, 50.0).await;
    assert_close(after.progress, 0.5, "INCREASE 0->100 at 50");
    store
        .create_key_result(
            &t.actor,
            new_key_result(active_goal.id, kim.id, Measure::Milestone, 0.0, 1.0, 1.0),
        )
        .await
        .unwrap();
    // A period moved to REVIEW is not closed yet: check-ins still land.
    store.transition_period(&t.actor, q2.id, PeriodStatus::Review, None).await.unwrap();
    let (_, after) = check_in(&store, &t.actor, k_active.id, 60.0).await;
    assert_close(after.progress, 0.6, "INCREASE 0->100 at 60");
}

/// "No check-in yet: current = start": a key result that was never checked
/// in follows its start when the start is edited, so its progress stays 0.
pub async fn key_result_without_check_in_follows_its_start(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "kr-start").await;
    let q2 = active_quarter(&store, &t).await;
    let o = objective(&store, &t.actor, q2.id, Owner::Unit(t.company.id), "Start moves", None).await;
    let fresh = key_result(&store, &t.actor, o.id, t.admin.id, Measure::Increase, 0.0, 100.0, 1.0).await;
    let checked = key_result(&store, &t.actor, o.id, t.admin.id, Measure::Increase, 0.0, 100.0, 1.0).await;
    check_in(&store, &t.actor, checked.id, 20.0).await;

    // Control: after a check-in the current value is the check-in's, whatever the start.
    let moved = store
        .update_key_result(&t.actor, checked.id, KeyResultPatch { start: Some(-100.0), ..Default::default() })
        .await
        .unwrap();
    // (20 - -100) / (100 - -100) = 120 / 200 = 0.6
    assert_eq!(moved.current, 20.0);
    assert_close(moved.progress, 0.6, "checked-in key result after its start moved");

    // Without a check-in: current = start = -50, progress (−50 − −50) / 150 = 0.
    let moved = store
        .update_key_result(&t.actor, fresh.id, KeyResultPatch { start: Some(-50.0), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(moved.current, -50.0, "a key result without check-ins has current = start");
    assert_close(moved.progress, 0.0, "a key result without check-ins has progress 0");
    // The objective: (0 * 1 + 0.6 * 1) / 2 = 0.3.
    assert_close(progress_of(&store, t.org.id, o.id).await, 0.3, "objective progress");
}

pub async fn stale_goal_versions_conflict(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "goal-versions").await;
    let q2 = active_quarter(&store, &t).await;
    let owner = Owner::Unit(t.company.id);
    let parent = objective(&store, &t.actor, q2.id, owner, "Parent", None).await;
    let o = objective(&store, &t.actor, q2.id, owner, "Versioned", None).await;
    assert_eq!(o.version, 1);
    let rename = |title: &str, v: Option<i32>| ObjectivePatch {
        title: Some(title.to_owned()),
        expected_version: v,
        ..Default::default()
    };

    let v2 = store.update_objective(&t.actor, o.id, rename("Second", Some(1))).await.unwrap();
    assert_eq!((v2.title.as_str(), v2.version), ("Second", 2));
    assert_conflict(store.update_objective(&t.actor, o.id, rename("Stale", Some(1))).await);
    assert_conflict(store.update_objective(&t.actor, o.id, rename("Future", Some(3))).await);
    let hide = ObjectivePatch {
        visibility: Some(Visibility::Private),
        expected_version: Some(1),
        ..Default::default()
    };
    assert_conflict(store.update_objective(&t.actor, o.id, hide).await);
    assert_conflict(store.reparent_objective(&t.actor, o.id, Some(parent.id), Some(1)).await);
    assert_conflict(
        store.transition_objective(&t.actor, o.id, ObjectiveStatus::Completed, None, Some(1)).await,
    );
    assert_eq!(store.objective(&t.actor, o.id).await.unwrap(), v2, "conflicts change nothing");
    assert_eq!(progress_of(&store, t.org.id, parent.id).await, 0.0);
    let v3 = store.reparent_objective(&t.actor, o.id, Some(parent.id), Some(2)).await.unwrap();
    assert_eq!((v3.parent_id, v3.version), (Some(parent.id), 3));
    let v4 = store.update_objective(&t.actor, o.id, rename("Fourth", None)).await.unwrap();
    assert_eq!(v4.version, 4, "an edit without an expected version still counts");

    let k = key_result(&store, &t.actor, o.id, t.admin.id, Measure::Increase, 0.0, 10.0, 1.0).await;
    let weigh = |w: f64, v: Option<i32>| KeyResultPatch {
        weight: Some(w),
        expected_version: v,
        ..Default::default()
    };
    let k2 = store.update_key_result(&t.actor, k.id, weigh(2.0, Some(1))).await.unwrap();
    assert_eq!((k2.weight, k2.version), (2.0, 2));
    assert_conflict(store.update_key_result(&t.actor, k.id, weigh(5.0, Some(1))).await);
    assert_conflict(store.update_key_result(&t.actor, k.id, weigh(5.0, Some(7))).await);
    assert_eq!(store.key_result(&t.actor, k.id).await.unwrap(), k2, "conflicts change nothing");
    let k3 = store.update_key_result(&t.actor, k.id, weigh(4.0, Some(2))).await.unwrap();
    assert_eq!((k3.weight, k3.version), (4.0, 3));
}
