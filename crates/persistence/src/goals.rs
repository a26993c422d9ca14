//! Objectives and key results: creation, edits, lifecycle, alignment, and
//! the stored progress rollup that every change keeps equal to a full
//! recomputation.

use crate::audit::AuditRecord;
use crate::convert::{self, now};
use crate::entity::{key_result, objective, period, person, unit};
use crate::error::{StoreError, StoreResult};
use crate::page::{self, CursorKey, Page, PageArgs, SortDirection, SortSpec};
use crate::sql::{id_in, in_list, list_value, stmt, update_by_id};
use crate::store::{Store, WriteTx};
use crate::units::like_pattern;
use goalgraph_domain::formulas::{
    RollupInput, effective_driver, key_result_progress, rollup_inputs, weighted_average,
};
use goalgraph_domain::live::AlignmentChangeKind;
use goalgraph_domain::model::{PeriodStatus, check_version};
use goalgraph_domain::okr::{
    KeyResult, MeasureSpec, Objective, ObjectiveKind, ObjectiveStatus, Owner, ProgressDriver, Visibility,
    cancel_reason, weight,
};
use goalgraph_domain::policy::{self, Action, Actor, GoalFacts, GoalReadScope, Resource};
use goalgraph_domain::values::{Description, Name};
use goalgraph_domain::{DomainError, KeyResultId, ObjectiveId, OrganizationId, PeriodId, PersonId, UnitId};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set,
};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct NewObjective {
    pub period_id: PeriodId,
    pub owner: Owner,
    pub parent_id: Option<ObjectiveId>,
    pub title: String,
    pub description: Option<String>,
    pub kind: ObjectiveKind,
    pub visibility: Visibility,
    pub progress_driver: Option<ProgressDriver>,
    /// DRAFT (default) or ACTIVE.
    pub status: Option<ObjectiveStatus>,
}

#[derive(Debug, Clone, Default)]
pub struct ObjectivePatch {
    pub title: Option<String>,
    /// `Some(None)` clears it.
    pub description: Option<Option<String>>,
    pub kind: Option<ObjectiveKind>,
    pub visibility: Option<Visibility>,
    /// `Some(None)` returns to the default driver.
    pub progress_driver: Option<Option<ProgressDriver>>,
    pub expected_version: Option<i32>,
}

#[derive(Debug, Clone, Default)]
pub struct ObjectiveFilter {
    pub period_id: Option<PeriodId>,
    pub owner_unit_id: Option<UnitId>,
    pub owner_person_id: Option<PersonId>,
    pub status: Option<ObjectiveStatus>,
    pub parent_id: Option<ObjectiveId>,
    pub search: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ObjectiveOrder {
    #[default]
    CreatedAt,
    Title,
    Progress,
}

#[derive(Debug, Clone)]
pub struct NewKeyResult {
    pub objective_id: ObjectiveId,
    pub owner_id: PersonId,
    pub title: String,
    pub measure: goalgraph_domain::okr::Measure,
    pub start: f64,
    pub target: f64,
    pub unit_label: Option<String>,
    pub weight: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct KeyResultPatch {
    pub title: Option<String>,
    pub owner_id: Option<PersonId>,
    pub start: Option<f64>,
    pub target: Option<f64>,
    pub unit_label: Option<String>,
    pub weight: Option<f64>,
    pub expected_version: Option<i32>,
}

/// The goal facts of an objective row.
pub(crate) fn facts(m: &objective::Model) -> StoreResult<GoalFacts> {
    Ok(GoalFacts {
        owning_unit: UnitId(m.owner_unit_id),
        owner_person: m.owner_person_id.map(PersonId),
        visibility: m
            .visibility
            .parse()
            .map_err(|_| StoreError::corrupt(format!("visibility of objective {}", m.id)))?,
    })
}

/// How far an alignment chain is walked before it is taken for a cycle.
const CHAIN_LIMIT: usize = 1000;

/// A key result's objective must be open for its key results to change.
pub(crate) fn check_objective_open(o: &objective::Model) -> StoreResult<()> {
    let status: ObjectiveStatus =
        o.status.parse().map_err(|_| StoreError::corrupt(format!("status of objective {}", o.id)))?;
    if !status.is_open() {
        return Err(DomainError::invalid(
            "objectiveId",
            format!("the objective is {}: its key results are frozen", status.as_str()),
        )
        .into());
    }
    Ok(())
}

/// Goals of a CLOSED period are frozen.
pub(crate) fn check_period_row_open(p: &period::Model) -> StoreResult<()> {
    if p.status == PeriodStatus::Closed.as_str() {
        return Err(DomainError::invalid("periodId", "the period is closed: its goals are frozen").into());
    }
    Ok(())
}

/// An objective's progress from its inputs: its key results' (progress,
/// weight) and its children's progress (cancelled children left out), by
/// its driver.
pub(crate) fn rollup(
    m: &objective::Model,
    key_results: &[(f64, f64)],
    children: impl IntoIterator<Item = f64>,
) -> StoreResult<f64> {
    let explicit: Option<ProgressDriver> = m
        .progress_driver
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|_| StoreError::corrupt(format!("driver of objective {}", m.id)))?;
    let driver = effective_driver(explicit, !key_results.is_empty());
    let inputs = rollup_inputs(
        driver,
        key_results.iter().map(|&(value, weight)| RollupInput { value, weight }),
        children,
    );
    Ok(weighted_average(&inputs))
}

/// The read scope as a condition on `objectives` columns; `None` for all.
pub(crate) fn scope_condition(backend: sea_orm::DbBackend, scope: &GoalReadScope) -> Option<Condition> {
    match scope {
        GoalReadScope::All => None,
        GoalReadScope::Nothing => Some(Condition::all().add(Expr::cust("1 = 0"))),
        GoalReadScope::Some { public, owner, any_visibility_units, unit_visibility_units } => {
            let mut any = Condition::any();
            if *public {
                any = any.add(objective::Column::Visibility.eq(Visibility::Public.as_str()));
            }
            if let Some(owner) = owner {
                any = any.add(objective::Column::OwnerPersonId.eq(owner.0));
            }
            if !any_visibility_units.is_empty() {
                let ids: Vec<Uuid> = any_visibility_units.iter().map(|u| u.0).collect();
                any = any.add(id_in(backend, "objectives.owner_unit_id", &ids));
            }
            if !unit_visibility_units.is_empty() {
                let ids: Vec<Uuid> = unit_visibility_units.iter().map(|u| u.0).collect();
                any = any.add(
                    Condition::all()
                        .add(objective::Column::Visibility.eq(Visibility::Unit.as_str()))
                        .add(id_in(backend, "objectives.owner_unit_id", &ids)),
                );
            }
            Some(Condition::all().add(any))
        }
    }
}

fn objective_resource(org: OrganizationId, goal: GoalFacts) -> Resource {
    Resource::Objective { organization_id: org, goal }
}

fn objective_sort(order: ObjectiveOrder, direction: SortDirection) -> SortSpec<objective::Entity> {
    match order {
        ObjectiveOrder::CreatedAt => SortSpec::<objective::Entity> {
            column: objective::Column::CreatedAt,
            id_column: objective::Column::Id,
            direction,
            parse: page::parse_time,
            key_of: |m| CursorKey { key: m.created_at.to_rfc3339(), id: m.id },
        },
        ObjectiveOrder::Title => SortSpec::<objective::Entity> {
            column: objective::Column::Title,
            id_column: objective::Column::Id,
            direction,
            parse: page::parse_text,
            key_of: |m| CursorKey { key: m.title.clone(), id: m.id },
        },
        ObjectiveOrder::Progress => SortSpec::<objective::Entity> {
            column: objective::Column::Progress,
            id_column: objective::Column::Id,
            direction,
            parse: page::parse_float,
            key_of: |m| CursorKey { key: m.progress.to_string(), id: m.id },
        },
    }
}

/// Whether two periods' date ranges overlap (inclusive ends).
fn overlaps(a: &period::Model, b: &period::Model) -> bool {
    a.start_date <= b.end_date && b.start_date <= a.end_date
}

impl Store {
    fn objectives_of(&self, org: OrganizationId) -> Select<objective::Entity> {
        objective::Entity::find().filter(objective::Column::OrganizationId.eq(org.0))
    }

    /// The objectives `actor` may see.
    pub(crate) fn visible_objectives(&self, actor: &Actor) -> Select<objective::Entity> {
        let q = self.objectives_of(actor.organization_id);
        match scope_condition(self.db_backend(), &policy::goal_read_scope(actor)) {
            Some(c) => q.filter(c),
            None => q,
        }
    }

    async fn load_objective_row<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrganizationId,
        id: ObjectiveId,
        lock: bool,
    ) -> StoreResult<objective::Model> {
        let q = objective::Entity::find_by_id((org.0, id.0));
        let q = if lock { q.lock_exclusive() } else { q };
        Ok(q.one(conn).await?.ok_or(DomainError::not_found("objective"))?)
    }

    async fn load_period_row<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrganizationId,
        id: Uuid,
    ) -> StoreResult<period::Model> {
        Ok(period::Entity::find_by_id((org.0, id))
            .one(conn)
            .await?
            .ok_or(DomainError::not_found("period"))?)
    }

    /// Goals of a CLOSED period are frozen.
    async fn check_period_open<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrganizationId,
        period: Uuid,
    ) -> StoreResult<()> {
        check_period_row_open(&self.load_period_row(conn, org, period).await?)
    }

    pub async fn objective(&self, actor: &Actor, id: ObjectiveId) -> StoreResult<Objective> {
        let m = self.load_objective_row(&self.db, actor.organization_id, id, false).await?;
        policy::authorize(actor, Action::Read, &objective_resource(actor.organization_id, facts(&m)?))?;
        self.objective_model(m)
    }

    /// The objectives of `ids` the actor may see, in one statement.
    pub async fn objectives_by_ids(
        &self,
        actor: &Actor,
        ids: &[ObjectiveId],
    ) -> StoreResult<HashMap<ObjectiveId, Objective>> {
        let rows =
            self.rows_with(self.visible_objectives(actor), "objectives.id", ids.iter().map(|i| i.0)).await?;
        rows.into_iter().map(|m| self.objective_model(m).map(|o| (o.id, o))).collect()
    }

    fn filtered_objectives(&self, actor: &Actor, filter: &ObjectiveFilter) -> Select<objective::Entity> {
        let mut q = self.visible_objectives(actor);
        if let Some(p) = filter.period_id {
            q = q.filter(objective::Column::PeriodId.eq(p.0));
        }
        if let Some(u) = filter.owner_unit_id {
            q = q
                .filter(objective::Column::OwnerUnitId.eq(u.0))
                .filter(objective::Column::OwnerPersonId.is_null());
        }
        if let Some(p) = filter.owner_person_id {
            q = q.filter(objective::Column::OwnerPersonId.eq(p.0));
        }
        if let Some(s) = filter.status {
            q = q.filter(objective::Column::Status.eq(s.as_str()));
        }
        if let Some(parent) = filter.parent_id {
            q = q.filter(objective::Column::ParentId.eq(parent.0));
        }
        if let Some(term) = filter.search.as_deref().filter(|t| !t.trim().is_empty()) {
            q = q.filter(
                Expr::expr(Func::lower(Expr::col(objective::Column::Title)))
                    .like(LikeExpr::new(like_pattern(term)).escape('\\')),
            );
        }
        q
    }

    pub async fn list_objectives(
        &self,
        actor: &Actor,
        filter: &ObjectiveFilter,
        order: ObjectiveOrder,
        direction: SortDirection,
        args: &PageArgs,
    ) -> StoreResult<Page<Objective>> {
        page::fetch_page(
            &self.db,
            self.filtered_objectives(actor, filter),
            objective_sort(order, direction),
            args,
        )
        .await?
        .try_map(|m| self.objective_model(m))
    }

    pub async fn count_objectives(&self, actor: &Actor, filter: &ObjectiveFilter) -> StoreResult<u64> {
        Ok(self.filtered_objectives(actor, filter).count(&self.db).await?)
    }

    /// The visible children of each objective in `parents` (by title, the
    /// cancelled ones included), and how many children that count in its
    /// rollup (not cancelled) it has in all, in two statements.
    pub async fn children_of_objectives(
        &self,
        actor: &Actor,
        parents: &[ObjectiveId],
    ) -> StoreResult<HashMap<ObjectiveId, (Vec<Objective>, u64)>> {
        if parents.is_empty() {
            return Ok(HashMap::new());
        }
        let raw: Vec<Uuid> = parents.iter().map(|i| i.0).collect();
        let backend = self.db_backend();
        let visible = self
            .visible_objectives(actor)
            .filter(id_in(backend, "objectives.parent_id", &raw))
            .order_by_asc(objective::Column::Title)
            .order_by_asc(objective::Column::Id)
            .all(&self.db)
            .await?;
        let totals = page::count_grouped(
            &self.db,
            self.objectives_of(actor.organization_id)
                .filter(id_in(backend, "objectives.parent_id", &raw))
                .filter(objective::Column::Status.ne(ObjectiveStatus::Cancelled.as_str())),
            objective::Column::ParentId,
        )
        .await?;
        let mut out: HashMap<ObjectiveId, (Vec<Objective>, u64)> = HashMap::new();
        for (parent, n) in totals {
            out.entry(ObjectiveId(parent)).or_default().1 = n;
        }
        for m in visible {
            let o = self.objective_model(m)?;
            if let Some(parent) = o.parent_id {
                out.entry(parent).or_default().0.push(o);
            }
        }
        Ok(out)
    }

    /// Checks that `parent` may be `child`'s parent: same tenant, visible to
    /// the actor, a period overlapping the child's, and no cycle.
    async fn check_parent(
        &self,
        tx: &WriteTx,
        actor: &Actor,
        child: Option<ObjectiveId>,
        child_period: &period::Model,
        parent: ObjectiveId,
    ) -> StoreResult<()> {
        let org = actor.organization_id;
        let missing = || DomainError::invalid("parentObjectiveId", "no such objective in this organization");
        let row = self.load_objective_row(tx.conn(), org, parent, false).await.map_err(|_| missing())?;
        if !policy::can_read(actor, &objective_resource(org, facts(&row)?)) {
            return Err(missing().into());
        }
        let parent_period = self.load_period_row(tx.conn(), org, row.period_id).await?;
        if !overlaps(child_period, &parent_period) {
            return Err(DomainError::invalid(
                "parentObjectiveId",
                "the parent's period must overlap the objective's period",
            )
            .into());
        }
        if let Some(me) = child {
            let chain = self.walk_up(tx.conn(), "objectives", "parent_id", org, parent.0).await?;
            if parent == me || chain.contains(&me.0) {
                return Err(DomainError::invalid(
                    "parentObjectiveId",
                    "an objective cannot align to itself or to one of its own descendants",
                )
                .into());
            }
        }
        Ok(())
    }

    /// The owning unit of an owner, checked to exist in the tenant.
    async fn owning_unit(&self, tx: &WriteTx, org: OrganizationId, owner: Owner) -> StoreResult<UnitId> {
        match owner {
            Owner::Unit(u) => {
                unit::Entity::find_by_id((org.0, u.0)).one(tx.conn()).await?.ok_or_else(|| {
                    DomainError::invalid("ownerUnitId", "no such unit in this organization")
                })?;
                Ok(u)
            }
            Owner::Person(p) => {
                let person = person::Entity::find_by_id((org.0, p.0))
                    .one(tx.conn())
                    .await?
                    .filter(|m| m.active)
                    .ok_or_else(|| {
                        DomainError::invalid("ownerPersonId", "no such active person in this organization")
                    })?;
                Ok(UnitId(person.unit_id))
            }
        }
    }

    pub async fn create_objective(&self, actor: &Actor, new: NewObjective) -> StoreResult<Objective> {
        let title = Name::parse("title", &new.title)?;
        let description = Description::parse("description", new.description.as_deref())?;
        let status = new.status.unwrap_or(ObjectiveStatus::Draft);
        if !matches!(status, ObjectiveStatus::Draft | ObjectiveStatus::Active) {
            return Err(DomainError::invalid("status", "a new objective is DRAFT or ACTIVE").into());
        }
        let tx = self.write().await?;
        let m = self.create_objective_in(&tx, actor, new, title, description, status).await?;
        tx.audit(actor, AuditRecord::new("createObjective", "Objective", m.id).created(&m));
        tx.commit().await?;
        self.objective_model(m)
    }

    /// [`Store::create_objective`] inside a transaction of the caller's.
    pub(crate) async fn create_objective_in(
        &self,
        tx: &WriteTx,
        actor: &Actor,
        new: NewObjective,
        title: Name,
        description: Option<Description>,
        status: ObjectiveStatus,
    ) -> StoreResult<objective::Model> {
        let org = actor.organization_id;
        let owning_unit = self.owning_unit(tx, org, new.owner).await?;
        let goal = GoalFacts {
            owning_unit,
            owner_person: match new.owner {
                Owner::Person(p) => Some(p),
                Owner::Unit(_) => None,
            },
            visibility: new.visibility,
        };
        policy::authorize(actor, Action::Create, &objective_resource(org, goal))?;
        let period = self
            .load_period_row(tx.conn(), org, new.period_id.0)
            .await
            .map_err(|_| DomainError::invalid("periodId", "no such period in this organization"))?;
        self.check_period_open(tx.conn(), org, period.id).await?;
        if let Some(parent) = new.parent_id {
            self.check_parent(tx, actor, None, &period, parent).await?;
        }
        let at = now();
        let m = objective::ActiveModel {
            organization_id: Set(org.0),
            id: Set(ObjectiveId::new().0),
            period_id: Set(period.id),
            owner_unit_id: Set(owning_unit.0),
            owner_person_id: Set(goal.owner_person.map(|p| p.0)),
            parent_id: Set(new.parent_id.map(|p| p.0)),
            title: Set(title.into_inner()),
            description: Set(tx.seal("description", description.map(Description::into_inner))?),
            kind: Set(new.kind.as_str().to_owned()),
            visibility: Set(new.visibility.as_str().to_owned()),
            progress_driver: Set(new.progress_driver.map(|d| d.as_str().to_owned())),
            status: Set(status.as_str().to_owned()),
            cancel_reason: Set(None),
            progress: Set(0.0),
            score: Set(None),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(tx.conn())
        .await?;
        if let Some(parent) = new.parent_id {
            self.recompute_up(tx, org, parent).await?;
        }
        self.emit_alignment(tx, org, AlignmentChangeKind::Created, &m, None).await?;
        Ok(m)
    }

    /// Locks an objective for a change by `actor` (after checking the
    /// version and that its period is open).
    async fn objective_for_change(
        &self,
        tx: &WriteTx,
        actor: &Actor,
        id: ObjectiveId,
        expected_version: Option<i32>,
    ) -> StoreResult<objective::Model> {
        let org = actor.organization_id;
        let m = self.load_objective_row(tx.conn(), org, id, true).await?;
        policy::authorize(actor, Action::Update, &objective_resource(org, facts(&m)?))?;
        check_version("objective", m.version, expected_version)?;
        self.check_period_open(tx.conn(), org, m.period_id).await?;
        Ok(m)
    }

    pub async fn update_objective(
        &self,
        actor: &Actor,
        id: ObjectiveId,
        patch: ObjectivePatch,
    ) -> StoreResult<Objective> {
        let title = patch.title.as_deref().map(|t| Name::parse("title", t)).transpose()?;
        let description = match &patch.description {
            Some(d) => Some(Description::parse("description", d.as_deref())?),
            None => None,
        };
        let org = actor.organization_id;
        let tx = self.write().await?;
        let current = self.objective_for_change(&tx, actor, id, patch.expected_version).await?;
        if let Some(visibility) = patch.visibility {
            // The actor must be able to change it under its new visibility too.
            let goal = GoalFacts { visibility, ..facts(&current)? };
            policy::authorize(actor, Action::Update, &objective_resource(org, goal))?;
        }
        let driver_changed = patch.progress_driver.is_some();
        let visibility_changed = patch.visibility.is_some_and(|v| v.as_str() != current.visibility);
        let version = current.version;
        let before = current.clone();
        let mut active: objective::ActiveModel = current.into();
        if let Some(t) = title {
            active.title = Set(t.into_inner());
        }
        if let Some(d) = description {
            active.description = Set(tx.seal("description", d.map(Description::into_inner))?);
        }
        if let Some(k) = patch.kind {
            active.kind = Set(k.as_str().to_owned());
        }
        if let Some(v) = patch.visibility {
            active.visibility = Set(v.as_str().to_owned());
        }
        if let Some(d) = patch.progress_driver {
            active.progress_driver = Set(d.map(|d| d.as_str().to_owned()));
        }
        active.version = Set(version + 1);
        active.updated_at = Set(now());
        active.update(tx.conn()).await?;
        if driver_changed {
            self.recompute_up(&tx, org, id).await?;
        }
        let m = self.load_objective_row(tx.conn(), org, id, false).await?;
        if visibility_changed {
            self.emit_alignment(&tx, org, AlignmentChangeKind::VisibilityChanged, &m, m.parent_id).await?;
        }
        tx.audit(actor, AuditRecord::new("updateObjective", "Objective", m.id).changed(&before, &m));
        tx.commit().await?;
        self.objective_model(m)
    }

    /// DRAFT → ACTIVE → COMPLETED, or CANCELLED (with a reason) from DRAFT
    /// or ACTIVE. A cancelled objective leaves its parent's rollup.
    pub async fn transition_objective(
        &self,
        actor: &Actor,
        id: ObjectiveId,
        to: ObjectiveStatus,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> StoreResult<Objective> {
        let reason =
            if to == ObjectiveStatus::Cancelled { Some(cancel_reason(reason.as_deref())?) } else { None };
        let org = actor.organization_id;
        let tx = self.write().await?;
        let current = self.objective_for_change(&tx, actor, id, expected_version).await?;
        let from: ObjectiveStatus = current
            .status
            .parse()
            .map_err(|_| StoreError::corrupt(format!("status of objective {}", current.id)))?;
        from.check_transition(to)?;
        let parent = current.parent_id;
        let version = current.version;
        let before = current.clone();
        let mut active: objective::ActiveModel = current.into();
        active.status = Set(to.as_str().to_owned());
        active.cancel_reason = Set(reason);
        active.version = Set(version + 1);
        active.updated_at = Set(now());
        let m = active.update(tx.conn()).await?;
        if let Some(parent) = parent {
            self.recompute_up(&tx, org, ObjectiveId(parent)).await?;
        }
        self.emit_alignment(&tx, org, AlignmentChangeKind::StatusChanged, &m, m.parent_id).await?;
        tx.audit(actor, AuditRecord::new("transitionObjective", "Objective", m.id).changed(&before, &m));
        tx.commit().await?;
        self.objective_model(m)
    }

    /// Aligns an objective to another parent (or to none).
    pub async fn reparent_objective(
        &self,
        actor: &Actor,
        id: ObjectiveId,
        parent: Option<ObjectiveId>,
        expected_version: Option<i32>,
    ) -> StoreResult<Objective> {
        let org = actor.organization_id;
        let tx = self.write().await?;
        // Two concurrent re-parentings must not both pass the cycle check.
        self.lock_tenant(&tx, org).await?;
        let current = self.objective_for_change(&tx, actor, id, expected_version).await?;
        if let Some(parent) = parent {
            let period = self.load_period_row(tx.conn(), org, current.period_id).await?;
            self.check_parent(&tx, actor, Some(id), &period, parent).await?;
        }
        let old_parent = current.parent_id;
        let version = current.version;
        let before = current.clone();
        let mut active: objective::ActiveModel = current.into();
        active.parent_id = Set(parent.map(|p| p.0));
        active.version = Set(version + 1);
        active.updated_at = Set(now());
        let m = active.update(tx.conn()).await?;
        if let Some(old) = old_parent {
            self.recompute_up(&tx, org, ObjectiveId(old)).await?;
        }
        if let Some(new) = parent {
            self.recompute_up(&tx, org, new).await?;
        }
        self.emit_alignment(&tx, org, AlignmentChangeKind::Reparented, &m, old_parent).await?;
        tx.audit(actor, AuditRecord::new("reparentObjective", "Objective", m.id).changed(&before, &m));
        tx.commit().await?;
        self.objective_model(m)
    }

    /// Recomputes the stored progress of `start` and of every ancestor up the
    /// alignment chain. Never bumps versions.
    pub(crate) async fn recompute_up(
        &self,
        tx: &WriteTx,
        org: OrganizationId,
        start: ObjectiveId,
    ) -> StoreResult<()> {
        self.recompute_up_many(tx, org, &[start.0], None).await
    }

    /// [`Store::recompute_up`] for many objectives at once: their chains are
    /// read, locked, recomputed from the deepest objective up and written in
    /// a fixed number of statements. Every objective of the chains is told
    /// (its health may follow an input's confidence).
    ///
    /// `moved`: the new progress of key results whose update waits for the
    /// commit ([`WriteTx::defer`]); the objectives' update then waits too.
    pub(crate) async fn recompute_up_many(
        &self,
        tx: &WriteTx,
        org: OrganizationId,
        starts: &[Uuid],
        moved: Option<&HashMap<Uuid, f64>>,
    ) -> StoreResult<()> {
        if starts.is_empty() {
            return Ok(());
        }
        let backend = self.db_backend();
        // The chains, each objective with its depth below its chain's root,
        // locked deepest first, then by id: every locker of a chain takes a
        // child before its parent, in one order, so two never wait on each
        // other. Locked before their inputs are read: two transactions
        // changing inputs of the same objective recompute it one after the
        // other, the second seeing the first's committed inputs.
        let lock = match backend {
            sea_orm::DbBackend::Postgres => " FOR UPDATE OF o",
            _ => "",
        };
        let chain_sql = format!(
            "WITH RECURSIVE up(start_id, id, parent_id, depth) AS ( \
               SELECT id, id, parent_id, 0 FROM objectives WHERE organization_id = $1 AND {} \
               UNION ALL \
               SELECT up.start_id, o.id, o.parent_id, up.depth + 1 FROM objectives o JOIN up ON o.id = up.parent_id \
               WHERE o.organization_id = $1 AND up.depth < {CHAIN_LIMIT} \
             ), tops AS (SELECT start_id, max(depth) AS top FROM up GROUP BY start_id), \
             levels AS (SELECT up.id, max(tops.top - up.depth) AS level FROM up JOIN tops ON tops.start_id = up.start_id GROUP BY up.id) \
             SELECT o.* FROM objectives o JOIN levels ON levels.id = o.id \
             WHERE o.organization_id = $1 ORDER BY levels.level DESC, o.id{lock}",
            in_list(backend, "id", 2)
        );
        let chain = objective::Entity::find()
            .from_raw_sql(stmt(backend, &chain_sql, vec![org.0.into(), list_value(backend, starts)]))
            .all(tx.conn())
            .await?;
        let ids: Vec<Uuid> = chain.iter().map(|m| m.id).collect();
        let rows: HashMap<Uuid, objective::Model> = chain.into_iter().map(|m| (m.id, m)).collect();
        // The inputs of every objective of the chains: its key results'
        // (progress, weight) and its children's progress, cancelled children
        // left out.
        let inputs_sql = format!(
            "SELECT 1 AS kind, objective_id AS owner_id, id, progress, weight FROM key_results \
             WHERE organization_id = $1 AND {} \
             UNION ALL \
             SELECT 2, parent_id, id, progress, 1.0 FROM objectives \
             WHERE organization_id = $1 AND {} AND status <> $3",
            in_list(backend, "objective_id", 2),
            in_list(backend, "parent_id", 2)
        );
        let mut key_results: HashMap<Uuid, Vec<(f64, f64)>> = HashMap::new();
        let mut children: HashMap<Uuid, Vec<(Uuid, f64)>> = HashMap::new();
        for row in tx
            .conn()
            .query_all_raw(stmt(
                backend,
                &inputs_sql,
                vec![org.0.into(), list_value(backend, &ids), ObjectiveStatus::Cancelled.as_str().into()],
            ))
            .await?
        {
            let kind: i32 = row.try_get("", "kind")?;
            let owner: Uuid = row.try_get("", "owner_id")?;
            let progress: f64 = row.try_get("", "progress")?;
            if kind == 1 {
                let id: Uuid = row.try_get("", "id")?;
                let progress = moved.and_then(|m| m.get(&id)).copied().unwrap_or(progress);
                key_results.entry(owner).or_default().push((progress, row.try_get("", "weight")?));
            } else {
                children.entry(owner).or_default().push((row.try_get("", "id")?, progress));
            }
        }
        let mut computed: HashMap<Uuid, f64> = HashMap::with_capacity(ids.len());
        let mut changed: Vec<(Uuid, Vec<sea_orm::Value>)> = Vec::new();
        for id in &ids {
            let m = &rows[id];
            let inputs = children.get(id).map(Vec::as_slice).unwrap_or_default();
            let progress = rollup(
                m,
                key_results.get(id).map(Vec::as_slice).unwrap_or_default(),
                inputs.iter().map(|(child, stored)| computed.get(child).copied().unwrap_or(*stored)),
            )?;
            if (progress - m.progress).abs() > 1e-12 {
                changed.push((*id, vec![progress.into()]));
            }
            computed.insert(*id, progress);
            self.emit_objective(tx, org, m, progress)?;
        }
        if !changed.is_empty() {
            let update = update_by_id(backend, "objectives", org.0, &["progress"], changed);
            match moved {
                Some(_) => tx.defer(update),
                None => {
                    tx.conn().execute_raw(update).await?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn emit_objective(
        &self,
        tx: &WriteTx,
        org: OrganizationId,
        m: &objective::Model,
        progress: f64,
    ) -> StoreResult<()> {
        tx.emit(
            org,
            goalgraph_domain::live::LiveBody::Objective(goalgraph_domain::live::ObjectiveChange {
                objective_id: ObjectiveId(m.id),
                goal: facts(m)?,
                progress,
            }),
        );
        Ok(())
    }

    // ----- key results -----

    async fn load_key_result_row<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrganizationId,
        id: KeyResultId,
        lock: bool,
    ) -> StoreResult<key_result::Model> {
        let q = key_result::Entity::find_by_id((org.0, id.0));
        let q = if lock { q.lock_exclusive() } else { q };
        Ok(q.one(conn).await?.ok_or(DomainError::not_found("key result"))?)
    }

    pub async fn key_result(&self, actor: &Actor, id: KeyResultId) -> StoreResult<KeyResult> {
        let org = actor.organization_id;
        let m = self.load_key_result_row(&self.db, org, id, false).await?;
        let o = self.load_objective_row(&self.db, org, ObjectiveId(m.objective_id), false).await?;
        let resource =
            Resource::KeyResult { organization_id: org, goal: facts(&o)?, owner: PersonId(m.owner_id) };
        policy::authorize(actor, Action::Read, &resource)
            .map_err(|_| DomainError::not_found("key result"))?;
        convert::key_result(m)
    }

    /// The key results of `ids` whose objective the actor may see.
    pub async fn key_results_by_ids(
        &self,
        actor: &Actor,
        ids: &[KeyResultId],
    ) -> StoreResult<HashMap<KeyResultId, KeyResult>> {
        let rows = self
            .rows_with(self.visible_key_results(actor), "key_results.id", ids.iter().map(|i| i.0))
            .await?;
        rows.into_iter().map(|m| convert::key_result(m).map(|k| (k.id, k))).collect()
    }

    /// Key results joined to their objective and filtered by its visibility.
    pub(crate) fn visible_key_results(&self, actor: &Actor) -> Select<key_result::Entity> {
        let q = key_result::Entity::find()
            .inner_join(objective::Entity)
            .filter(key_result::Column::OrganizationId.eq(actor.organization_id.0));
        match scope_condition(self.db_backend(), &policy::goal_read_scope(actor)) {
            Some(c) => q.filter(c),
            None => q,
        }
    }

    /// The key results of each objective in `objectives` (those the actor
    /// may see), oldest first, in one statement.
    pub async fn key_results_of(
        &self,
        actor: &Actor,
        objectives: &[ObjectiveId],
    ) -> StoreResult<HashMap<ObjectiveId, Vec<KeyResult>>> {
        if objectives.is_empty() {
            return Ok(HashMap::new());
        }
        let raw: Vec<Uuid> = objectives.iter().map(|i| i.0).collect();
        let rows = self
            .visible_key_results(actor)
            .filter(id_in(self.db_backend(), "key_results.objective_id", &raw))
            .order_by_asc(key_result::Column::CreatedAt)
            .order_by_asc(key_result::Column::Id)
            .all(&self.db)
            .await?;
        let mut out: HashMap<ObjectiveId, Vec<KeyResult>> = HashMap::new();
        for m in rows {
            let k = convert::key_result(m)?;
            out.entry(k.objective_id).or_default().push(k);
        }
        Ok(out)
    }

    /// A key result's objective, checked open for changes.
    pub(crate) async fn open_objective_of_id(
        &self,
        tx: &WriteTx,
        org: OrganizationId,
        objective: Uuid,
    ) -> StoreResult<objective::Model> {
        self.open_objective_of(tx, org, objective).await
    }

    /// A key result's objective, checked open for changes.
    async fn open_objective_of(
        &self,
        tx: &WriteTx,
        org: OrganizationId,
        objective: Uuid,
    ) -> StoreResult<objective::Model> {
        let o = self.load_objective_row(tx.conn(), org, ObjectiveId(objective), false).await?;
        check_objective_open(&o)?;
        self.check_period_open(tx.conn(), org, o.period_id).await?;
        Ok(o)
    }

    async fn check_owner(&self, tx: &WriteTx, org: OrganizationId, owner: PersonId) -> StoreResult<()> {
        person::Entity::find_by_id((org.0, owner.0))
            .one(tx.conn())
            .await?
            .filter(|p| p.active)
            .map(|_| ())
            .ok_or_else(|| {
                DomainError::invalid("ownerId", "no such active person in this organization").into()
            })
    }

    pub async fn create_key_result(&self, actor: &Actor, new: NewKeyResult) -> StoreResult<KeyResult> {
        let title = Name::parse("title", &new.title)?;
        let spec = MeasureSpec::parse(new.measure, new.start, new.target)?;
        let weight = weight(new.weight.unwrap_or(1.0))?;
        let unit_label = unit_label(new.unit_label.as_deref())?;
        let tx = self.write().await?;
        let m = self.create_key_result_in(&tx, actor, new, title, spec, weight, unit_label).await?;
        tx.audit(actor, AuditRecord::new("createKeyResult", "KeyResult", m.id).created(&m));
        tx.commit().await?;
        convert::key_result(m)
    }

    /// [`Store::create_key_result`] inside a transaction of the caller's.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn create_key_result_in(
        &self,
        tx: &WriteTx,
        actor: &Actor,
        new: NewKeyResult,
        title: Name,
        spec: MeasureSpec,
        weight: f64,
        unit_label: String,
    ) -> StoreResult<key_result::Model> {
        let org = actor.organization_id;
        // A hidden objective answers exactly like a missing one.
        let missing = || DomainError::not_found("objective");
        let o =
            self.load_objective_row(tx.conn(), org, new.objective_id, true).await.map_err(|_| missing())?;
        if !policy::can_read(actor, &objective_resource(org, facts(&o)?)) {
            return Err(missing().into());
        }
        let resource = Resource::KeyResult { organization_id: org, goal: facts(&o)?, owner: new.owner_id };
        policy::authorize(actor, Action::Create, &resource)?;
        self.open_objective_of(tx, org, o.id).await?;
        self.check_owner(tx, org, new.owner_id).await?;
        let at = now();
        let m = key_result::ActiveModel {
            organization_id: Set(org.0),
            id: Set(KeyResultId::new().0),
            objective_id: Set(o.id),
            owner_id: Set(new.owner_id.0),
            title: Set(title.into_inner()),
            measure: Set(spec.measure.as_str().to_owned()),
            start_value: Set(spec.start),
            target_value: Set(spec.target),
            current_value: Set(spec.start),
            unit_label: Set(unit_label),
            weight: Set(weight),
            confidence: Set(None),
            last_check_in_at: Set(None),
            progress: Set(key_result_progress(spec.measure, spec.start, spec.target, spec.start)),
            score: Set(None),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(tx.conn())
        .await?;
        self.recompute_up(tx, org, ObjectiveId(o.id)).await?;
        Ok(m)
    }

    pub async fn update_key_result(
        &self,
        actor: &Actor,
        id: KeyResultId,
        patch: KeyResultPatch,
    ) -> StoreResult<KeyResult> {
        let title = patch.title.as_deref().map(|t| Name::parse("title", t)).transpose()?;
        let new_weight = patch.weight.map(weight).transpose()?;
        let label = patch.unit_label.as_deref().map(|l| unit_label(Some(l))).transpose()?;
        let org = actor.organization_id;
        let tx = self.write().await?;
        let current = self.load_key_result_row(tx.conn(), org, id, true).await?;
        let o = self.load_objective_row(tx.conn(), org, ObjectiveId(current.objective_id), false).await?;
        let resource =
            Resource::KeyResult { organization_id: org, goal: facts(&o)?, owner: PersonId(current.owner_id) };
        policy::authorize(actor, Action::Update, &resource)?;
        check_version("key result", current.version, patch.expected_version)?;
        self.open_objective_of(&tx, org, o.id).await?;
        if let Some(owner) = patch.owner_id {
            self.check_owner(&tx, org, owner).await?;
        }
        let measure = current
            .measure
            .parse()
            .map_err(|_| StoreError::corrupt(format!("measure of key result {}", current.id)))?;
        let spec = MeasureSpec::parse(
            measure,
            patch.start.unwrap_or(current.start_value),
            patch.target.unwrap_or(current.target_value),
        )?;
        // Before the first check-in the current value is the start, and
        // follows it when the start is edited.
        let current_value =
            if current.last_check_in_at.is_none() { spec.start } else { current.current_value };
        let progress = key_result_progress(spec.measure, spec.start, spec.target, current_value);
        let version = current.version;
        let before = current.clone();
        let mut active: key_result::ActiveModel = current.into();
        if let Some(t) = title {
            active.title = Set(t.into_inner());
        }
        if let Some(owner) = patch.owner_id {
            active.owner_id = Set(owner.0);
        }
        if let Some(l) = label {
            active.unit_label = Set(l);
        }
        if let Some(w) = new_weight {
            active.weight = Set(w);
        }
        active.start_value = Set(spec.start);
        active.target_value = Set(spec.target);
        active.current_value = Set(current_value);
        active.progress = Set(progress);
        active.version = Set(version + 1);
        active.updated_at = Set(now());
        let m = active.update(tx.conn()).await?;
        self.recompute_up(&tx, org, ObjectiveId(o.id)).await?;
        self.emit_key_result(&tx, org, &m, &o, None, None).await?;
        tx.audit(actor, AuditRecord::new("updateKeyResult", "KeyResult", m.id).changed(&before, &m));
        tx.commit().await?;
        convert::key_result(m)
    }
}

fn unit_label(raw: Option<&str>) -> StoreResult<String> {
    let label = raw.map(str::trim).unwrap_or_default();
    if label.chars().count() > 50 {
        return Err(DomainError::invalid("unitLabel", "must be at most 50 characters").into());
    }
    Ok(label.to_owned())
}

impl Store {
    /// The visible objectives of each owner (optionally in one period), by
    /// title, in at most two statements (unit owners, person owners).
    pub async fn objectives_of_owners(
        &self,
        actor: &Actor,
        owners: &[Owner],
        period: Option<PeriodId>,
    ) -> StoreResult<HashMap<Owner, Vec<Objective>>> {
        let backend = self.db_backend();
        let units: Vec<Uuid> =
            owners.iter().filter_map(|o| if let Owner::Unit(u) = o { Some(u.0) } else { None }).collect();
        let people: Vec<Uuid> =
            owners.iter().filter_map(|o| if let Owner::Person(p) = o { Some(p.0) } else { None }).collect();
        let mut out: HashMap<Owner, Vec<Objective>> = HashMap::new();
        let base = |q: Select<objective::Entity>| {
            let q = match period {
                Some(p) => q.filter(objective::Column::PeriodId.eq(p.0)),
                None => q,
            };
            q.order_by_asc(objective::Column::Title).order_by_asc(objective::Column::Id)
        };
        if !units.is_empty() {
            let rows = base(self.visible_objectives(actor))
                .filter(objective::Column::OwnerPersonId.is_null())
                .filter(id_in(backend, "objectives.owner_unit_id", &units))
                .all(&self.db)
                .await?;
            for m in rows {
                let o = self.objective_model(m)?;
                out.entry(o.owner).or_default().push(o);
            }
        }
        if !people.is_empty() {
            let rows = base(self.visible_objectives(actor))
                .filter(id_in(backend, "objectives.owner_person_id", &people))
                .all(&self.db)
                .await?;
            for m in rows {
                let o = self.objective_model(m)?;
                out.entry(o.owner).or_default().push(o);
            }
        }
        Ok(out)
    }
}
