//! Read models over whole goal trees: the inputs of computed numbers
//! (aggregates may include what the reader cannot see), the alignment tree
//! of a period, and the insights of the seeds.

use crate::entity::{key_result, objective, period, unit};
use crate::error::{StoreError, StoreResult};
use crate::goals::facts;
use crate::sql::{id_in, in_list, list_value, stmt};
use crate::store::Store;
use goalgraph_domain::alignment::{FlatRow, TreeNode, flatten};
use goalgraph_domain::formulas::{PeriodWindow, TreeGoal, TreeKeyResult};
use goalgraph_domain::insights::{Insight, InsightGoal, InsightKeyResult, okr_insights};
use goalgraph_domain::model::UnitKind;
use goalgraph_domain::okr::{Objective, ObjectiveStatus};
use goalgraph_domain::policy::{self, Action, Actor, Resource};
use goalgraph_domain::settings::OrganizationSettings;
use goalgraph_domain::{DomainError, KeyResultId, ObjectiveId, OrganizationId, PeriodId, UnitId};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A period's window, from its row.
pub(crate) fn window(p: &period::Model, settings: &OrganizationSettings) -> PeriodWindow {
    PeriodWindow::new(p.start_date, p.end_date, settings.time_zone.tz())
}

/// The not-cancelled children of each objective among `rows`, as a goal
/// tree counts them.
pub(crate) fn aligned_children(rows: &[objective::Model]) -> HashMap<Uuid, Vec<ObjectiveId>> {
    let present: HashSet<Uuid> = rows.iter().map(|o| o.id).collect();
    let mut children: HashMap<Uuid, Vec<ObjectiveId>> = HashMap::new();
    for o in rows {
        if let Some(parent) = o.parent_id
            && present.contains(&parent)
            && o.status != ObjectiveStatus::Cancelled.as_str()
        {
            children.entry(parent).or_default().push(ObjectiveId(o.id));
        }
    }
    children
}

impl Store {
    pub(crate) async fn periods_of_rows<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrganizationId,
        ids: &[Uuid],
    ) -> StoreResult<HashMap<Uuid, period::Model>> {
        let rows = period::Entity::find()
            .filter(period::Column::OrganizationId.eq(org.0))
            .filter(id_in(self.db_backend(), "periods.id", ids))
            .all(conn)
            .await?;
        Ok(rows.into_iter().map(|p| (p.id, p)).collect())
    }

    /// The rows of the subtrees below `roots` (cancelled objectives left
    /// out below the roots): objectives, their key results and their
    /// periods, in three statements. No visibility filter: callers compute
    /// aggregates, which are the objective's own.
    pub(crate) async fn forest_rows(
        &self,
        org: OrganizationId,
        roots: &[ObjectiveId],
    ) -> StoreResult<(Vec<objective::Model>, Vec<key_result::Model>, HashMap<Uuid, period::Model>)> {
        if roots.is_empty() {
            return Ok((vec![], vec![], HashMap::new()));
        }
        let backend = self.db_backend();
        let raw: Vec<Uuid> = roots.iter().map(|r| r.0).collect();
        let sql = format!(
            "WITH RECURSIVE down(id, depth) AS ( \
               SELECT id, 0 FROM objectives WHERE organization_id = $1 AND {} \
               UNION \
               SELECT o.id, down.depth + 1 FROM objectives o JOIN down ON o.parent_id = down.id \
               WHERE o.organization_id = $1 AND o.status <> 'CANCELLED' AND down.depth < 1000 \
             ) SELECT * FROM objectives WHERE organization_id = $1 AND id IN (SELECT id FROM down)",
            in_list(backend, "id", 2)
        );
        let rows = objective::Entity::find()
            .from_raw_sql(stmt(backend, &sql, vec![org.0.into(), list_value(backend, &raw)]))
            .all(&self.db)
            .await?;
        let ids: Vec<Uuid> = rows.iter().map(|o| o.id).collect();
        let krs = key_result::Entity::find()
            .filter(key_result::Column::OrganizationId.eq(org.0))
            .filter(id_in(backend, "key_results.objective_id", &ids))
            .all(&self.db)
            .await?;
        let period_ids: Vec<Uuid> =
            rows.iter().map(|o| o.period_id).collect::<HashSet<_>>().into_iter().collect();
        let periods = self.periods_of_rows(&self.db, org, &period_ids).await?;
        Ok((rows, krs, periods))
    }

    /// The subtrees below `roots` (cancelled objectives left out below the
    /// roots) with their key results and periods, as the inputs of
    /// [`goalgraph_domain::formulas::goal_numbers`]. Aggregates are the
    /// objective's own: hidden inputs count, so no visibility filter here.
    /// Three statements, whatever the size.
    pub async fn goal_forest(
        &self,
        org: OrganizationId,
        roots: &[ObjectiveId],
        settings: &OrganizationSettings,
    ) -> StoreResult<HashMap<ObjectiveId, TreeGoal>> {
        self.goal_forest_at(org, roots, settings, None).await
    }

    /// [`Self::goal_forest`] with the key results' values as of `at` when
    /// given (see [`crate::history`]): two statements more.
    pub async fn goal_forest_at(
        &self,
        org: OrganizationId,
        roots: &[ObjectiveId],
        settings: &OrganizationSettings,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> StoreResult<HashMap<ObjectiveId, TreeGoal>> {
        let (rows, mut krs, periods) = self.forest_rows(org, roots).await?;
        if let Some(at) = at {
            let windows: HashMap<Uuid, PeriodWindow> = rows
                .iter()
                .filter_map(|o| periods.get(&o.period_id).map(|p| (o.id, window(p, settings))))
                .collect();
            self.replay_key_results(org, &mut krs, &windows, at).await?;
        }

        let mut by_objective: HashMap<Uuid, Vec<TreeKeyResult>> = HashMap::new();
        for k in krs {
            let measure = k
                .measure
                .parse()
                .map_err(|_| StoreError::corrupt(format!("measure of key result {}", k.id)))?;
            by_objective.entry(k.objective_id).or_default().push(TreeKeyResult {
                measure,
                progress: k.progress,
                weight: k.weight,
                confidence: k.confidence,
            });
        }
        let mut children = aligned_children(&rows);
        let mut out = HashMap::new();
        for o in rows {
            let p =
                periods.get(&o.period_id).ok_or_else(|| StoreError::corrupt("objective without period"))?;
            let driver = o
                .progress_driver
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|_| StoreError::corrupt(format!("driver of objective {}", o.id)))?;
            out.insert(
                ObjectiveId(o.id),
                TreeGoal {
                    driver,
                    window: window(p, settings),
                    key_results: by_objective.remove(&o.id).unwrap_or_default(),
                    children: children.remove(&o.id).unwrap_or_default(),
                },
            );
        }
        Ok(out)
    }

    /// The computed numbers of objectives at `now` (their subtrees' inputs
    /// count, seen or not: an aggregate is the objective's own).
    pub async fn objective_numbers(
        &self,
        org: OrganizationId,
        ids: &[ObjectiveId],
        settings: &OrganizationSettings,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<HashMap<ObjectiveId, goalgraph_domain::formulas::Numbers>> {
        self.objective_numbers_at(org, ids, settings, now, None).await
    }

    /// The numbers of objectives at `now`, from the values as of `as_of`
    /// when given (history: pass the same instant twice).
    pub async fn objective_numbers_at(
        &self,
        org: OrganizationId,
        ids: &[ObjectiveId],
        settings: &OrganizationSettings,
        now: chrono::DateTime<chrono::Utc>,
        as_of: Option<chrono::DateTime<chrono::Utc>>,
    ) -> StoreResult<HashMap<ObjectiveId, goalgraph_domain::formulas::Numbers>> {
        let forest = self.goal_forest_at(org, ids, settings, as_of).await?;
        let mut memo = HashMap::new();
        Ok(ids
            .iter()
            .filter_map(|k| {
                goalgraph_domain::formulas::goal_numbers(&forest, *k, now, settings, &mut memo)
                    .map(|n| (*k, n))
            })
            .collect())
    }

    /// The windows of periods, for key results' expected progress.
    pub async fn period_windows(
        &self,
        org: OrganizationId,
        ids: &[PeriodId],
        settings: &OrganizationSettings,
    ) -> StoreResult<HashMap<PeriodId, PeriodWindow>> {
        let raw: Vec<Uuid> = ids.iter().map(|p| p.0).collect();
        if raw.is_empty() {
            return Ok(HashMap::new());
        }
        let periods = self.periods_of_rows(&self.db, org, &raw).await?;
        Ok(periods.into_iter().map(|(id, p)| (PeriodId(id), window(&p, settings))).collect())
    }

    async fn company_unit_id(&self, org: OrganizationId) -> StoreResult<UnitId> {
        let id: Option<Uuid> = unit::Entity::find()
            .select_only()
            .column(unit::Column::Id)
            .filter(unit::Column::OrganizationId.eq(org.0))
            .filter(unit::Column::Kind.eq(UnitKind::Company.as_str()))
            .into_tuple()
            .one(&self.db)
            .await?;
        id.map(UnitId).ok_or_else(|| StoreError::corrupt("organization without a company unit"))
    }

    /// Every objective of a period (visible or not: callers decide).
    async fn period_rows(&self, org: OrganizationId, period: PeriodId) -> StoreResult<Vec<objective::Model>> {
        Ok(objective::Entity::find()
            .filter(objective::Column::OrganizationId.eq(org.0))
            .filter(objective::Column::PeriodId.eq(period.0))
            .all(&self.db)
            .await?)
    }

    /// The alignment tree of a period as a flat depth-first list of visible
    /// objectives (from `root`, down to `max_depth`), and how many hidden
    /// objectives were passed over.
    pub async fn alignment_tree(
        &self,
        actor: &Actor,
        period: PeriodId,
        root: Option<ObjectiveId>,
        max_depth: Option<u32>,
    ) -> StoreResult<(Vec<(FlatRow, Objective)>, u32)> {
        let (rows, _, hidden) = self.alignment_page(actor, period, root, max_depth, 0, usize::MAX).await?;
        Ok((rows, hidden))
    }

    /// `limit` rows of the alignment tree from position `offset`, the
    /// number of rows in the whole list and of hidden objectives passed
    /// over. Only the page's objectives are converted: the tree's order
    /// needs every row of the period, the answer only its page.
    pub async fn alignment_page(
        &self,
        actor: &Actor,
        period: PeriodId,
        root: Option<ObjectiveId>,
        max_depth: Option<u32>,
        offset: usize,
        limit: usize,
    ) -> StoreResult<(Vec<(FlatRow, Objective)>, usize, u32)> {
        let org = actor.organization_id;
        self.period(actor, period).await?;
        if let Some(root) = root {
            // Not found exactly like a missing one when hidden.
            let r = self.objective(actor, root).await?;
            if r.period_id != period {
                return Err(
                    DomainError::invalid("rootObjectiveId", "is not an objective of this period").into()
                );
            }
        }
        let company = self.company_unit_id(org).await?;
        let rows = self.period_rows(org, period).await?;
        let mut nodes = Vec::with_capacity(rows.len());
        for m in &rows {
            let goal = facts(m)?;
            let level = match (m.owner_person_id, m.owner_unit_id == company.0) {
                (None, true) => 0,
                (None, false) => 1,
                (Some(_), _) => 2,
            };
            nodes.push(TreeNode {
                id: ObjectiveId(m.id),
                parent: m.parent_id.map(ObjectiveId),
                sort_key: (level, m.title.to_lowercase()),
                visible: policy::can_read(actor, &Resource::Objective { organization_id: org, goal }),
            });
        }
        let (flat, hidden) = flatten(&nodes, root, max_depth);
        let total = flat.len();
        let page: Vec<FlatRow> = flat.into_iter().skip(offset).take(limit).collect();
        let wanted: std::collections::HashSet<Uuid> = page.iter().map(|r| r.id.0).collect();
        let mut by_id: HashMap<Uuid, objective::Model> =
            rows.into_iter().filter(|m| wanted.contains(&m.id)).map(|m| (m.id, m)).collect();
        let mut out = Vec::with_capacity(page.len());
        for row in page {
            if let Some(m) = by_id.remove(&row.id.0) {
                out.push((row, self.objective_model(m)?));
            }
        }
        Ok((out, total, hidden))
    }

    /// The OKR insights of a period, optionally for one unit's subtree.
    pub async fn okr_insights(
        &self,
        actor: &Actor,
        settings: &OrganizationSettings,
        period: PeriodId,
        unit: Option<UnitId>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Vec<Insight>> {
        let org = actor.organization_id;
        policy::authorize(actor, Action::Read, &Resource::Period { organization_id: org })?;
        let period_row = self.load_period(org, period).await?;
        let in_units = self.units_in_scope(actor, unit).await?;
        let company = self.company_unit_id(org).await?;
        let rows: Vec<objective::Model> = self
            .period_rows(org, period)
            .await?
            .into_iter()
            .filter(|m| in_units.as_ref().is_none_or(|s| s.contains(&m.owner_unit_id)))
            .collect();
        let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
        let krs = key_result::Entity::find()
            .filter(key_result::Column::OrganizationId.eq(org.0))
            .filter(id_in(self.db_backend(), "key_results.objective_id", &ids))
            .all(&self.db)
            .await?;
        let mut by_objective: HashMap<Uuid, Vec<InsightKeyResult>> = HashMap::new();
        for k in krs {
            by_objective.entry(k.objective_id).or_default().push(InsightKeyResult {
                id: KeyResultId(k.id),
                last_check_in_at: k.last_check_in_at,
                created_at: k.created_at,
            });
        }
        let start = window(&period_row, settings).start;
        let mut goals = Vec::with_capacity(rows.len());
        for m in rows {
            let o = self.objective_model(m)?;
            goals.push(InsightGoal {
                id: o.id,
                owner: o.owner,
                status: o.status,
                parent: o.parent_id,
                key_results: by_objective.remove(&o.id.0).unwrap_or_default(),
                visible: policy::can_read(
                    actor,
                    &Resource::Objective { organization_id: org, goal: o.goal() },
                ),
                period_start: start,
            });
        }
        Ok(okr_insights(&goals, company, settings, now))
    }

    async fn load_period(&self, org: OrganizationId, id: PeriodId) -> StoreResult<period::Model> {
        Ok(period::Entity::find_by_id((org.0, id.0))
            .one(&self.db)
            .await?
            .ok_or(DomainError::not_found("period"))?)
    }

    /// A unit and everything below it.
    /// The units an insight of `unit` looks at (the unit, which the actor
    /// must see, and everything below it); `None` for the whole tenant.
    pub(crate) async fn units_in_scope(
        &self,
        actor: &Actor,
        unit: Option<UnitId>,
    ) -> StoreResult<Option<HashSet<Uuid>>> {
        let Some(u) = unit else { return Ok(None) };
        self.unit(actor, u).await?;
        Ok(Some(self.unit_subtree(actor.organization_id, u).await?.into_iter().map(|u| u.0).collect()))
    }

    pub(crate) async fn unit_subtree(&self, org: OrganizationId, root: UnitId) -> StoreResult<Vec<UnitId>> {
        let rows = self
            .db
            .query_all_raw(stmt(
                self.db_backend(),
                "WITH RECURSIVE down(id) AS ( \
                   SELECT id FROM units WHERE organization_id = $1 AND id = $2 \
                   UNION \
                   SELECT u.id FROM units u JOIN down ON u.parent_id = down.id WHERE u.organization_id = $1 \
                 ) SELECT id FROM down",
                vec![org.0.into(), root.0.into()],
            ))
            .await?;
        rows.into_iter().map(|r| Ok(UnitId(r.try_get::<Uuid>("", "id")?))).collect()
    }
}

impl Store {
    /// The KPI insights: KPI_NEEDS_OBJECTIVE, TOO_MANY_KPIS, and (when the
    /// period is in review or closed) PROMOTE_TO_KPI, optionally for one
    /// unit's subtree.
    pub async fn kpi_insights(
        &self,
        actor: &Actor,
        settings: &OrganizationSettings,
        period: PeriodId,
        unit: Option<UnitId>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Vec<Insight>> {
        use crate::entity::{key_result_kpi_link, kpi};
        use goalgraph_domain::insights::{InsightKpi, InsightReviewKeyResult, kpi_insights};
        use goalgraph_domain::model::PeriodStatus;
        use goalgraph_domain::okr::Measure;
        let org = actor.organization_id;
        let period_row = self.load_period(org, period).await?;
        policy::authorize(actor, Action::Read, &Resource::Period { organization_id: org })?;
        let in_units = self.units_in_scope(actor, unit).await?;
        let kpi_rows: Vec<kpi::Model> = kpi::Entity::find()
            .filter(kpi::Column::OrganizationId.eq(org.0))
            .filter(kpi::Column::Archived.eq(false))
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|k| in_units.as_ref().is_none_or(|s| s.contains(&k.unit_id)))
            .collect();
        let ids: Vec<goalgraph_domain::KpiId> =
            kpi_rows.iter().map(|k| goalgraph_domain::KpiId(k.id)).collect();
        let states = self.kpi_states(actor, &ids).await?;
        // KPIs some DRAFT or ACTIVE objective is working on.
        let raw: Vec<Uuid> = ids.iter().map(|k| k.0).collect();
        let links = key_result_kpi_link::Entity::find()
            .filter(key_result_kpi_link::Column::OrganizationId.eq(org.0))
            .filter(id_in(self.db_backend(), "key_result_kpi_links.kpi_id", &raw))
            .all(&self.db)
            .await?;
        let linked_krs: Vec<Uuid> = links.iter().map(|l| l.key_result_id).collect();
        let kr_rows = key_result::Entity::find()
            .filter(key_result::Column::OrganizationId.eq(org.0))
            .filter(id_in(self.db_backend(), "key_results.id", &linked_krs))
            .all(&self.db)
            .await?;
        let objective_ids: Vec<Uuid> = kr_rows.iter().map(|k| k.objective_id).collect();
        let open_objectives: HashSet<Uuid> = objective::Entity::find()
            .filter(objective::Column::OrganizationId.eq(org.0))
            .filter(id_in(self.db_backend(), "objectives.id", &objective_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|o| {
                o.status == ObjectiveStatus::Draft.as_str() || o.status == ObjectiveStatus::Active.as_str()
            })
            .map(|o| o.id)
            .collect();
        let kr_objective: HashMap<Uuid, Uuid> = kr_rows.iter().map(|k| (k.id, k.objective_id)).collect();
        let worked_on: HashSet<Uuid> = links
            .iter()
            .filter(|l| kr_objective.get(&l.key_result_id).is_some_and(|o| open_objectives.contains(o)))
            .map(|l| l.kpi_id)
            .collect();
        let kpis: Vec<InsightKpi> = kpi_rows
            .iter()
            .map(|k| {
                let id = goalgraph_domain::KpiId(k.id);
                InsightKpi {
                    id,
                    unit: UnitId(k.unit_id),
                    breached_since: states.get(&id).and_then(|s| s.breached_since),
                    has_open_objective: worked_on.contains(&k.id),
                    visible: states.contains_key(&id),
                }
            })
            .collect();
        // At review: key results of the period that reached their target.
        let mut review = Vec::new();
        if period_row.status == PeriodStatus::Review.as_str()
            || period_row.status == PeriodStatus::Closed.as_str()
        {
            let promoted: HashSet<Uuid> =
                kpi_rows.iter().filter_map(|k| k.promoted_from_key_result_id).collect();
            let rows: Vec<objective::Model> = self
                .period_rows(org, period)
                .await?
                .into_iter()
                .filter(|m| in_units.as_ref().is_none_or(|s| s.contains(&m.owner_unit_id)))
                .collect();
            let by_id: HashMap<Uuid, &objective::Model> = rows.iter().map(|m| (m.id, m)).collect();
            let oids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
            let krs = key_result::Entity::find()
                .filter(key_result::Column::OrganizationId.eq(org.0))
                .filter(id_in(self.db_backend(), "key_results.objective_id", &oids))
                .all(&self.db)
                .await?;
            for k in krs {
                let Some(o) = by_id.get(&k.objective_id) else { continue };
                let objective = self.objective_model((*o).clone())?;
                review.push(InsightReviewKeyResult {
                    id: KeyResultId(k.id),
                    objective: objective.id,
                    owner: goalgraph_domain::okr::Owner::Person(goalgraph_domain::PersonId(k.owner_id)),
                    reached_target: goalgraph_domain::insights::reached_target(
                        k.measure
                            .parse::<Measure>()
                            .map_err(|_| StoreError::corrupt(format!("measure of key result {}", k.id)))?,
                        k.progress,
                    ),
                    already_promoted: promoted.contains(&k.id),
                    visible: policy::can_read(
                        actor,
                        &Resource::Objective { organization_id: org, goal: objective.goal() },
                    ),
                });
            }
        }
        Ok(kpi_insights(&kpis, &review, settings, now))
    }
}
