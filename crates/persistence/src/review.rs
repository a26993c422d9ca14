//! The quarterly review of a period (`periodReview`): grade bands, successes
//! and misses by kind, key results that could become KPIs, KPIs breached
//! through the period with nothing working on them, and overloaded owners.
//!
//! Every count is over what the actor may see (the policy's read scopes,
//! as lists use them), computed by aggregate statements whose number does
//! not depend on how many objectives the period has. Cancelled objectives
//! are not reviewed.

use crate::convert;
use crate::entity::{key_result, kpi, objective};
use crate::error::{StoreError, StoreResult};
use crate::sql::stmt;
use crate::store::Store;
use chrono::{DateTime, Utc};
use goalgraph_domain::formulas::{GREEN_FROM, PeriodWindow, YELLOW_FROM, success_from};
use goalgraph_domain::insights::{
    REACHED_FROM, breached_through_period, reached_target, too_many_objectives,
};
use goalgraph_domain::kpi::Kpi;
use goalgraph_domain::model::{Period, PeriodStatus};
use goalgraph_domain::okr::{KeyResult, Measure, Objective, ObjectiveKind, ObjectiveStatus, Owner};
use goalgraph_domain::policy::Actor;
use goalgraph_domain::settings::OrganizationSettings;
use goalgraph_domain::{KpiId, PersonId, UnitId};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The score an objective is reviewed at: its frozen score once the period
/// closed, its current progress before (a provisional score).
const SCORE: &str = "COALESCE(objectives.score, objectives.progress)";

/// Objectives per grade band.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GradeCounts {
    pub red: u64,
    pub yellow: u64,
    pub green: u64,
}

/// Objectives per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCounts {
    pub committed: u64,
    pub aspirational: u64,
}

impl KindCounts {
    fn add(&mut self, kind: ObjectiveKind, n: u64) {
        match kind {
            ObjectiveKind::Committed => self.committed += n,
            ObjectiveKind::Aspirational => self.aspirational += n,
        }
    }
}

/// The counts of a period's review.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReviewCounts {
    pub objectives: u64,
    pub grades: GradeCounts,
    pub succeeded: KindCounts,
    pub missed: KindCounts,
}

/// Whether the period's scores are still provisional (not frozen yet).
pub fn provisional(period: &Period) -> bool {
    period.status != PeriodStatus::Closed
}

/// `score ≥ the success threshold of the row's kind`, in SQL, with the
/// domain's thresholds.
fn succeeded_sql() -> String {
    format!(
        "{SCORE} >= (CASE WHEN objectives.kind = '{}' THEN {} ELSE {} END)",
        ObjectiveKind::Committed.as_str(),
        success_from(ObjectiveKind::Committed),
        success_from(ObjectiveKind::Aspirational)
    )
}

impl Store {
    /// The visible, not cancelled objectives of a period.
    fn reviewed(&self, actor: &Actor, period: &Period) -> Select<objective::Entity> {
        self.visible_objectives(actor)
            .filter(objective::Column::PeriodId.eq(period.id.0))
            .filter(objective::Column::Status.ne(ObjectiveStatus::Cancelled.as_str()))
    }

    /// Grade bands and successes per kind of the objectives the actor may
    /// see, in one grouped statement.
    pub async fn review_counts(&self, actor: &Actor, period: &Period) -> StoreResult<ReviewCounts> {
        let case = |cond: String| Expr::cust(format!("SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"));
        let rows: Vec<(String, i64, i64, i64, i64, i64)> = self
            .reviewed(actor, period)
            .select_only()
            .column(objective::Column::Kind)
            .expr_as(case(format!("{SCORE} < {YELLOW_FROM}")), "red")
            .expr_as(case(format!("{SCORE} >= {YELLOW_FROM} AND {SCORE} < {GREEN_FROM}")), "yellow")
            .expr_as(case(format!("{SCORE} >= {GREEN_FROM}")), "green")
            .expr_as(case(succeeded_sql()), "succeeded")
            .expr_as(Expr::cust("COUNT(*)"), "total")
            .group_by(objective::Column::Kind)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut out = ReviewCounts::default();
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        for (kind, red, yellow, green, succeeded, total) in rows {
            let kind: ObjectiveKind =
                kind.parse().map_err(|_| StoreError::corrupt("kind of an objective"))?;
            out.objectives += n(total);
            out.grades.red += n(red);
            out.grades.yellow += n(yellow);
            out.grades.green += n(green);
            out.succeeded.add(kind, n(succeeded));
            out.missed.add(kind, n(total) - n(succeeded).min(n(total)));
        }
        Ok(out)
    }

    /// The visible objectives that succeeded (or missed), by title, in one
    /// statement.
    pub async fn review_objectives(
        &self,
        actor: &Actor,
        period: &Period,
        succeeded: bool,
    ) -> StoreResult<Vec<Objective>> {
        let cond = if succeeded { succeeded_sql() } else { format!("NOT ({})", succeeded_sql()) };
        let rows = self
            .reviewed(actor, period)
            .filter(Expr::cust(cond))
            .order_by_asc(objective::Column::Title)
            .order_by_asc(objective::Column::Id)
            .all(&self.db)
            .await?;
        rows.into_iter().map(|m| self.objective_model(m)).collect()
    }

    /// Key results of the visible objectives that reached their target and
    /// were not promoted to a KPI yet (the PROMOTE_TO_KPI rule), in one
    /// statement.
    pub async fn review_kpi_candidates(&self, actor: &Actor, period: &Period) -> StoreResult<Vec<KeyResult>> {
        let rows = self
            .visible_key_results(actor)
            .filter(objective::Column::PeriodId.eq(period.id.0))
            .filter(objective::Column::Status.ne(ObjectiveStatus::Cancelled.as_str()))
            .filter(key_result::Column::Measure.ne(Measure::Milestone.as_str()))
            .filter(key_result::Column::Progress.gte(REACHED_FROM))
            .filter(Expr::cust(
                "NOT EXISTS (SELECT 1 FROM kpis k WHERE k.organization_id = key_results.organization_id \
                 AND k.promoted_from_key_result_id = key_results.id)",
            ))
            .order_by_asc(key_result::Column::Title)
            .order_by_asc(key_result::Column::Id)
            .all(&self.db)
            .await?;
        let krs: Vec<KeyResult> = rows.into_iter().map(convert::key_result).collect::<StoreResult<_>>()?;
        Ok(krs.into_iter().filter(|k| reached_target(k.measure, k.progress)).collect())
    }

    /// The visible, not archived KPIs out of their healthy range through the
    /// whole period (as it stood at its end, or now if earlier) that no
    /// DRAFT or ACTIVE objective of the period has a key result linked to
    /// (hidden objectives count: they are not named). Three statements.
    pub async fn review_breached_kpis(
        &self,
        actor: &Actor,
        period: &Period,
        settings: &OrganizationSettings,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Kpi>> {
        let org = actor.organization_id;
        let window = PeriodWindow::new(period.start_date, period.end_date, settings.time_zone.tz());
        let rows = self
            .visible_kpis(actor)
            .filter(kpi::Column::Archived.eq(false))
            .order_by_asc(kpi::Column::Name)
            .order_by_asc(kpi::Column::Id)
            .all(&self.db)
            .await?;
        let ids: Vec<KpiId> = rows.iter().map(|k| KpiId(k.id)).collect();
        let since = self.breached_since_before(org, &ids, now.min(window.end)).await?;
        if since.is_empty() {
            return Ok(vec![]);
        }
        let worked_on = self
            .db
            .query_all_raw(stmt(
                self.db_backend(),
                "SELECT DISTINCT l.kpi_id FROM key_result_kpi_links l \
                 JOIN key_results kr ON kr.organization_id = l.organization_id AND kr.id = l.key_result_id \
                 JOIN objectives o ON o.organization_id = kr.organization_id AND o.id = kr.objective_id \
                 WHERE l.organization_id = $1 AND o.period_id = $2 AND o.status IN ($3, $4)",
                vec![
                    org.0.into(),
                    period.id.0.into(),
                    ObjectiveStatus::Draft.as_str().into(),
                    ObjectiveStatus::Active.as_str().into(),
                ],
            ))
            .await?
            .into_iter()
            .map(|r| r.try_get::<Uuid>("", "kpi_id"))
            .collect::<Result<HashSet<Uuid>, _>>()?;
        rows.into_iter()
            .filter(|k| {
                breached_through_period(
                    since.get(&KpiId(k.id)).copied(),
                    worked_on.contains(&k.id),
                    window.start,
                )
            })
            .map(convert::kpi)
            .collect()
    }

    /// Owners with more ACTIVE objectives in the period than the setting,
    /// counting the objectives the actor may see, most loaded first: one
    /// grouped statement.
    pub async fn review_overloaded_owners(
        &self,
        actor: &Actor,
        period: &Period,
        settings: &OrganizationSettings,
    ) -> StoreResult<Vec<(Owner, u64)>> {
        let rows: Vec<(Uuid, Option<Uuid>, i64)> = self
            .visible_objectives(actor)
            .filter(objective::Column::PeriodId.eq(period.id.0))
            .filter(objective::Column::Status.eq(ObjectiveStatus::Active.as_str()))
            .select_only()
            .column(objective::Column::OwnerUnitId)
            .column(objective::Column::OwnerPersonId)
            .expr_as(Expr::cust("COUNT(*)"), "n")
            .group_by(objective::Column::OwnerUnitId)
            .group_by(objective::Column::OwnerPersonId)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut counts: HashMap<Owner, u64> = HashMap::new();
        for (unit, person, n) in rows {
            let owner = match person {
                Some(p) => Owner::Person(PersonId(p)),
                None => Owner::Unit(UnitId(unit)),
            };
            *counts.entry(owner).or_default() += u64::try_from(n).unwrap_or(0);
        }
        let mut out: Vec<(Owner, u64)> =
            counts.into_iter().filter(|(_, n)| too_many_objectives(*n, settings)).collect();
        out.sort_by_key(|(owner, n)| {
            let id = match owner {
                Owner::Unit(u) => u.0,
                Owner::Person(p) => p.0,
            };
            (std::cmp::Reverse(*n), id)
        });
        Ok(out)
    }
}
