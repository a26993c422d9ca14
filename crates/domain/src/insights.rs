//! The guidance of the seeds that concerns OKRs, as warnings (not errors):
//! too many objectives per owner, too few or too many key results, stale
//! check-ins, objectives aligned to nothing.

use crate::formulas::is_stale;
use crate::okr::{ObjectiveStatus, Owner};
use crate::settings::OrganizationSettings;
use crate::{KeyResultId, ObjectiveId, UnitId};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InsightKind {
    TooManyObjectives,
    KeyResultCount,
    StaleCheckIn,
    UnalignedObjective,
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
    /// Objects concerned that the reader may not see (counted, not named).
    pub hidden: u32,
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
        if gs.len() as u32 > settings.max_objectives_per_owner && !visible.is_empty() {
            out.push(Insight {
                kind: InsightKind::TooManyObjectives,
                threshold: settings.max_objectives_per_owner,
                count: gs.len() as u32,
                owner: Some(*owner),
                hidden: (gs.len() - visible.len()) as u32,
                objectives: visible,
                key_results: vec![],
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
                hidden: 0,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PersonId;

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
}
