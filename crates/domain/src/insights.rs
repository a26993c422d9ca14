//! The guidance of the seeds that concerns OKRs, as warnings (not errors):
//! too many objectives per owner, too few or too many key results, stale
//! check-ins, objectives aligned to nothing, and what deactivated people
//! still own.

use crate::formulas::is_stale;
use crate::okr::{Measure, ObjectiveStatus, Owner};
use crate::settings::OrganizationSettings;
use crate::{KeyResultId, KpiId, ObjectiveId, PersonId, UnitId};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InsightKind {
    TooManyObjectives,
    KeyResultCount,
    StaleCheckIn,
    UnalignedObjective,
    KpiNeedsObjective,
    TooManyKpis,
    PromoteToKpi,
    /// A deactivated person still owns open objectives, key results or KPIs.
    OrphanedOwner,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InsightKeyResult {
    pub id: KeyResultId,
    pub last_check_in_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// An objective of the period with what the rules look at.
#[derive(Debug, Clone, PartialEq)]
pub struct InsightGoal {
    pub id: ObjectiveId,
    pub owner: Owner,
    pub status: ObjectiveStatus,
    pub parent: Option<ObjectiveId>,
    pub key_results: Vec<InsightKeyResult>,
    /// Whether the reader may see it: hidden objects are never named.
    pub visible: bool,
    pub period_start: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Insight {
    pub kind: InsightKind,
    /// The threshold in force (from the organization's settings).
    pub threshold: u32,
    /// What was counted (objectives, key results, days).
    pub count: u32,
    pub owner: Option<Owner>,
    pub objectives: Vec<ObjectiveId>,
    pub key_results: Vec<KeyResultId>,
    pub kpis: Vec<KpiId>,
    /// Objects concerned that the reader may not see (counted, not named).
    pub hidden: u32,
}

/// Something a deactivated person still owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orphan {
    Objective(ObjectiveId),
    KeyResult(KeyResultId),
    Kpi(KpiId),
}

/// One insight per deactivated owner listing what they still own (open
/// objectives and key results, KPIs in use), the reader's hidden ones
/// counted, not named; none for an owner of whom the reader sees nothing.
pub fn orphaned_owner_insights(items: &[(PersonId, Orphan, bool)]) -> Vec<Insight> {
    let mut by_owner: Vec<(PersonId, Insight)> = Vec::new();
    for (owner, orphan, visible) in items {
        let i = match by_owner.iter().position(|(p, _)| p == owner) {
            Some(i) => i,
            None => {
                by_owner.push((
                    *owner,
                    Insight {
                        kind: InsightKind::OrphanedOwner,
                        threshold: 0,
                        count: 0,
                        owner: Some(Owner::Person(*owner)),
                        objectives: vec![],
                        key_results: vec![],
                        kpis: vec![],
                        hidden: 0,
                    },
                ));
                by_owner.len() - 1
            }
        };
        let insight = &mut by_owner[i].1;
        insight.count += 1;
        if !visible {
            insight.hidden += 1;
            continue;
        }
        match orphan {
            Orphan::Objective(o) => insight.objectives.push(*o),
            Orphan::KeyResult(k) => insight.key_results.push(*k),
            Orphan::Kpi(k) => insight.kpis.push(*k),
        }
    }
    by_owner.into_iter().map(|(_, i)| i).filter(|i| i.count > i.hidden).collect()
}

/// More active objectives for one owner in a period than the setting
/// allows ("3 to 5").
pub fn too_many_objectives(active: u64, settings: &OrganizationSettings) -> bool {
    active > u64::from(settings.max_objectives_per_owner)
}

/// At review: a KPI out of its healthy range through the whole period (its
/// run outside, as it stood at the period's end or now if earlier, began
/// at or before the period's start) that no DRAFT or ACTIVE objective of
/// the period works on.
pub fn breached_through_period(
    breached_since: Option<DateTime<Utc>>,
    has_open_objective: bool,
    period_start: DateTime<Utc>,
) -> bool {
    !has_open_objective && breached_since.is_some_and(|since| since <= period_start)
}

pub fn okr_insights(
    goals: &[InsightGoal],
    company: UnitId,
    settings: &OrganizationSettings,
    now: DateTime<Utc>,
) -> Vec<Insight> {
    let mut out = Vec::new();

    // More than N active objectives for one owner ("3 to 5").
    let mut by_owner: HashMap<Owner, Vec<&InsightGoal>> = HashMap::new();
    for g in goals.iter().filter(|g| g.status == ObjectiveStatus::Active) {
        by_owner.entry(g.owner).or_default().push(g);
    }
    let mut owners: Vec<(&Owner, &Vec<&InsightGoal>)> = by_owner.iter().collect();
    owners.sort_by_key(|(_, gs)| gs.first().map(|g| g.id));
    for (owner, gs) in owners {
        let visible: Vec<ObjectiveId> = gs.iter().filter(|g| g.visible).map(|g| g.id).collect();
        if too_many_objectives(gs.len() as u64, settings) && !visible.is_empty() {
            out.push(Insight {
                kind: InsightKind::TooManyObjectives,
                threshold: settings.max_objectives_per_owner,
                count: gs.len() as u32,
                owner: Some(*owner),
                hidden: (gs.len() - visible.len()) as u32,
                objectives: visible,
                key_results: vec![],
                kpis: vec![],
            });
        }
    }

    for g in goals.iter().filter(|g| g.visible) {
        let open = matches!(g.status, ObjectiveStatus::Draft | ObjectiveStatus::Active);
        let n = g.key_results.len() as u32;
        // An objective with no key result, or more than N.
        if open && (n == 0 || n > settings.max_key_results_per_objective) {
            out.push(Insight {
                kind: InsightKind::KeyResultCount,
                threshold: settings.max_key_results_per_objective,
                count: n,
                owner: Some(g.owner),
                objectives: vec![g.id],
                key_results: vec![],
                kpis: vec![],
                hidden: 0,
            });
        }
        // Key results without a check-in within the cadence.
        for kr in &g.key_results {
            let since = kr.created_at.max(g.period_start);
            if is_stale(
                g.status == ObjectiveStatus::Active,
                kr.last_check_in_at,
                since,
                settings.check_in_cadence_days,
                now,
            ) {
                let days = (now - kr.last_check_in_at.unwrap_or(since)).num_days().max(0) as u32;
                out.push(Insight {
                    kind: InsightKind::StaleCheckIn,
                    threshold: settings.check_in_cadence_days,
                    count: days,
                    owner: Some(g.owner),
                    objectives: vec![g.id],
                    key_results: vec![kr.id],
                    kpis: vec![],
                    hidden: 0,
                });
            }
        }
        // A non-company objective aligned to nothing.
        if g.status != ObjectiveStatus::Cancelled && g.parent.is_none() && g.owner != Owner::Unit(company) {
            out.push(Insight {
                kind: InsightKind::UnalignedObjective,
                threshold: 0,
                count: 0,
                owner: Some(g.owner),
                objectives: vec![g.id],
                key_results: vec![],
                kpis: vec![],
                hidden: 0,
            });
        }
    }
    out
}

/// A KPI with what the KPI rules look at.
#[derive(Debug, Clone, PartialEq)]
pub struct InsightKpi {
    pub id: KpiId,
    pub unit: UnitId,
    pub breached_since: Option<DateTime<Utc>>,
    /// A DRAFT or ACTIVE objective has a key result linked to it.
    pub has_open_objective: bool,
    pub visible: bool,
}

/// The lowest progress at which a key result counts as having reached its target.
pub const REACHED_FROM: f64 = 1.0 - 1e-9;

/// Whether a key result reached its target and so could become a standing
/// KPI (PROMOTE_TO_KPI, the review's candidates): full progress, and a
/// measure that is a metric (a MILESTONE done is not one).
pub fn reached_target(measure: Measure, progress: f64) -> bool {
    measure != Measure::Milestone && progress >= REACHED_FROM
}

/// A key result at review with what PROMOTE_TO_KPI looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct InsightReviewKeyResult {
    pub id: KeyResultId,
    pub objective: ObjectiveId,
    pub owner: Owner,
    pub reached_target: bool,
    pub already_promoted: bool,
    pub visible: bool,
}

/// The KPI guidance: a KPI out of range too long with nothing fixing it,
/// a unit with too many KPIs ("5-7 core KPIs"; "metric fatigue"), and at
/// review the key results that reached their target.
pub fn kpi_insights(
    kpis: &[InsightKpi],
    review: &[InsightReviewKeyResult],
    settings: &OrganizationSettings,
    now: DateTime<Utc>,
) -> Vec<Insight> {
    let mut out = Vec::new();
    let window = chrono::Duration::days(i64::from(settings.kpi_breach_days_before_objective));
    for k in kpis.iter().filter(|k| k.visible) {
        if let Some(since) = k.breached_since
            && now - since > window
            && !k.has_open_objective
        {
            out.push(Insight {
                kind: InsightKind::KpiNeedsObjective,
                threshold: settings.kpi_breach_days_before_objective,
                count: (now - since).num_days().max(0) as u32,
                owner: Some(Owner::Unit(k.unit)),
                objectives: vec![],
                key_results: vec![],
                kpis: vec![k.id],
                hidden: 0,
            });
        }
    }
    let mut by_unit: HashMap<UnitId, Vec<&InsightKpi>> = HashMap::new();
    for k in kpis {
        by_unit.entry(k.unit).or_default().push(k);
    }
    let mut units: Vec<(&UnitId, &Vec<&InsightKpi>)> = by_unit.iter().collect();
    units.sort_by_key(|(u, _)| **u);
    for (unit, ks) in units {
        if ks.len() as u32 > settings.max_kpis_per_unit {
            let visible: Vec<KpiId> = ks.iter().filter(|k| k.visible).map(|k| k.id).collect();
            out.push(Insight {
                kind: InsightKind::TooManyKpis,
                threshold: settings.max_kpis_per_unit,
                count: ks.len() as u32,
                owner: Some(Owner::Unit(*unit)),
                objectives: vec![],
                key_results: vec![],
                hidden: (ks.len() - visible.len()) as u32,
                kpis: visible,
            });
        }
    }
    for kr in review.iter().filter(|k| k.visible && k.reached_target && !k.already_promoted) {
        out.push(Insight {
            kind: InsightKind::PromoteToKpi,
            threshold: 0,
            count: 0,
            owner: Some(kr.owner),
            objectives: vec![kr.objective],
            key_results: vec![kr.id],
            kpis: vec![],
            hidden: 0,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_rules() {
        let s = OrganizationSettings::default();
        assert!(!too_many_objectives(5, &s));
        assert!(too_many_objectives(6, &s));
        let start = at("2026-04-01T00:00:00Z");
        assert!(breached_through_period(Some(at("2026-03-01T00:00:00Z")), false, start));
        assert!(breached_through_period(Some(start), false, start), "since the start itself");
        assert!(!breached_through_period(Some(at("2026-04-02T00:00:00Z")), false, start), "only part of it");
        assert!(!breached_through_period(Some(at("2026-03-01T00:00:00Z")), true, start), "worked on");
        assert!(!breached_through_period(None, false, start), "inside at the end");
        assert!(reached_target(Measure::Increase, 1.0));
        assert!(!reached_target(Measure::Increase, 0.99));
        assert!(!reached_target(Measure::Milestone, 1.0), "a milestone done is no metric");
    }

    #[test]
    fn orphaned_owners_list_what_they_still_own() {
        let (ann, bob) = (PersonId::new(), PersonId::new());
        let (o1, o2) = (ObjectiveId::new(), ObjectiveId::new());
        let (k1, kpi) = (KeyResultId::new(), KpiId::new());
        let items = [
            (ann, Orphan::Objective(o1), true),
            (ann, Orphan::KeyResult(k1), true),
            (ann, Orphan::Objective(o2), false),
            (ann, Orphan::Kpi(kpi), true),
            // Bob's one object is hidden from the reader: no insight names him.
            (bob, Orphan::Objective(ObjectiveId::new()), false),
        ];
        let got = orphaned_owner_insights(&items);
        assert_eq!(got.len(), 1);
        let i = &got[0];
        assert_eq!(
            (i.kind, i.owner, i.count, i.hidden),
            (InsightKind::OrphanedOwner, Some(Owner::Person(ann)), 4, 1)
        );
        assert_eq!(
            (i.objectives.clone(), i.key_results.clone(), i.kpis.clone()),
            (vec![o1], vec![k1], vec![kpi])
        );
        assert!(orphaned_owner_insights(&[]).is_empty());
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    fn goal(
        owner: Owner,
        status: ObjectiveStatus,
        parent: Option<ObjectiveId>,
        krs: usize,
        visible: bool,
    ) -> InsightGoal {
        let created = at("2026-04-01T00:00:00Z");
        InsightGoal {
            id: ObjectiveId::new(),
            owner,
            status,
            parent,
            key_results: (0..krs)
                .map(|_| InsightKeyResult {
                    id: KeyResultId::new(),
                    last_check_in_at: Some(at("2026-04-15T00:00:00Z")),
                    created_at: created,
                })
                .collect(),
            visible,
            period_start: created,
        }
    }

    fn kinds(insights: &[Insight], kind: InsightKind) -> Vec<&Insight> {
        insights.iter().filter(|i| i.kind == kind).collect()
    }

    #[test]
    fn too_many_objectives_counts_active_ones_and_names_only_visible() {
        let s = OrganizationSettings::default();
        let company = UnitId::new();
        let parent = Some(ObjectiveId::new());
        let ann = Owner::Person(PersonId::new());
        let now = at("2026-04-16T00:00:00Z");
        // Five active: at the limit, no insight.
        let mut goals: Vec<InsightGoal> =
            (0..5).map(|_| goal(ann, ObjectiveStatus::Active, parent, 3, true)).collect();
        assert!(kinds(&okr_insights(&goals, company, &s, now), InsightKind::TooManyObjectives).is_empty());
        // A draft does not count; a sixth active one (hidden) does.
        goals.push(goal(ann, ObjectiveStatus::Draft, parent, 3, true));
        assert!(kinds(&okr_insights(&goals, company, &s, now), InsightKind::TooManyObjectives).is_empty());
        goals.push(goal(ann, ObjectiveStatus::Active, parent, 3, false));
        let all = okr_insights(&goals, company, &s, now);
        let found = kinds(&all, InsightKind::TooManyObjectives);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].count, found[0].threshold, found[0].hidden, found[0].objectives.len()),
            (6, 5, 1, 5)
        );
    }

    #[test]
    fn key_result_counts_staleness_and_alignment() {
        let s = OrganizationSettings::default();
        let company = UnitId::new();
        let team = Owner::Unit(UnitId::new());
        let parent = Some(ObjectiveId::new());
        let now = at("2026-04-20T00:00:00Z"); // check-ins on the 15th: 5 days ago, fresh
        let none = goal(team, ObjectiveStatus::Active, parent, 0, true);
        let six = goal(team, ObjectiveStatus::Active, parent, 6, true);
        let five = goal(team, ObjectiveStatus::Active, parent, 5, true);
        let hidden_none = goal(team, ObjectiveStatus::Active, parent, 0, false);
        let unaligned = goal(team, ObjectiveStatus::Active, None, 3, true);
        let company_goal = goal(Owner::Unit(company), ObjectiveStatus::Active, None, 3, true);
        let goals = vec![none.clone(), six.clone(), five, hidden_none, unaligned.clone(), company_goal];
        let all = okr_insights(&goals, company, &s, now);
        let counts: Vec<ObjectiveId> =
            kinds(&all, InsightKind::KeyResultCount).iter().map(|i| i.objectives[0]).collect();
        assert_eq!(counts, vec![none.id, six.id], "0 and 6 key results; 5 is fine; hidden ones unnamed");
        let unaligned_ids: Vec<ObjectiveId> =
            kinds(&all, InsightKind::UnalignedObjective).iter().map(|i| i.objectives[0]).collect();
        assert_eq!(unaligned_ids, vec![unaligned.id], "company objectives need no parent");
        assert!(kinds(&all, InsightKind::StaleCheckIn).is_empty());
        // Ten days later every active key result is stale (8 days > 7).
        let later = at("2026-04-23T00:00:00Z");
        let stale = okr_insights(&goals, company, &s, later);
        let n_visible_krs = 6 + 5 + 3 + 3;
        assert_eq!(kinds(&stale, InsightKind::StaleCheckIn).len(), n_visible_krs);
        assert!(kinds(&stale, InsightKind::StaleCheckIn).iter().all(|i| i.count == 8 && i.threshold == 7));
    }

    #[test]
    fn kpi_rules() {
        let s = OrganizationSettings::default();
        let now = at("2026-06-30T00:00:00Z");
        let unit = UnitId::new();
        let kpi = |days: Option<i64>, open: bool, visible: bool| InsightKpi {
            id: KpiId::new(),
            unit,
            breached_since: days.map(|d| now - chrono::Duration::days(d)),
            has_open_objective: open,
            visible,
        };
        let long = kpi(Some(61), false, true);
        let fixed = kpi(Some(61), true, true);
        let recent = kpi(Some(60), false, true);
        let hidden = kpi(Some(90), false, false);
        let healthy = kpi(None, false, true);
        let all = kpi_insights(&[long.clone(), fixed, recent, hidden, healthy], &[], &s, now);
        let needs: Vec<KpiId> =
            all.iter().filter(|i| i.kind == InsightKind::KpiNeedsObjective).map(|i| i.kpis[0]).collect();
        assert_eq!(
            needs,
            vec![long.id],
            "61 days without an objective; 60 is not more than 60; hidden unnamed"
        );
        assert!(all.iter().all(|i| i.kind != InsightKind::TooManyKpis), "5 KPIs is within 7");
        let many: Vec<InsightKpi> = (0..8).map(|i| kpi(None, false, i != 0)).collect();
        let all = kpi_insights(&many, &[], &s, now);
        let too_many: Vec<&Insight> = all.iter().filter(|i| i.kind == InsightKind::TooManyKpis).collect();
        assert_eq!(too_many.len(), 1);
        assert_eq!(
            (too_many[0].count, too_many[0].threshold, too_many[0].hidden, too_many[0].kpis.len()),
            (8, 7, 1, 7)
        );
        let person = Owner::Person(crate::PersonId::new());
        let review = |reached, promoted, visible| InsightReviewKeyResult {
            id: KeyResultId::new(),
            objective: ObjectiveId::new(),
            owner: person,
            reached_target: reached,
            already_promoted: promoted,
            visible,
        };
        let candidate = review(true, false, true);
        let reviewed = [
            candidate.clone(),
            review(false, false, true),
            review(true, true, true),
            review(true, false, false),
        ];
        let all = kpi_insights(&[], &reviewed, &s, now);
        let promote: Vec<KeyResultId> =
            all.iter().filter(|i| i.kind == InsightKind::PromoteToKpi).map(|i| i.key_results[0]).collect();
        assert_eq!(promote, vec![candidate.id]);
    }
}
