//! What deactivated people still own, and moving it to someone else.
//!
//! People are deactivated, never deleted (a directory sync does it when
//! someone leaves), so their open objectives, key results and KPIs would
//! go unattended: the ORPHANED_OWNER insight lists them, and
//! [`Store::transfer_ownership`] hands them over in one transaction.

use crate::audit::AuditRecord;
use crate::convert::now;
use crate::entity::{key_result, kpi, objective, person};
use crate::error::StoreResult;
use crate::goals::facts;
use crate::kpis::kpi_facts;
use crate::store::Store;
use goalgraph_domain::insights::{Insight, Orphan, orphaned_owner_insights};
use goalgraph_domain::live::AlignmentChangeKind;
use goalgraph_domain::okr::ObjectiveStatus;
use goalgraph_domain::policy::{self, Action, Actor, GoalFacts, Resource};
use goalgraph_domain::{DomainError, KeyResultId, KpiId, ObjectiveId, PeriodId, PersonId, UnitId};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// What a transfer moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transferred {
    pub objectives: Vec<ObjectiveId>,
    pub key_results: Vec<KeyResultId>,
    pub kpis: Vec<KpiId>,
}

const OPEN: [&str; 2] = ["DRAFT", "ACTIVE"];

impl Store {
    /// ORPHANED_OWNER insights: per deactivated person, the open objectives
    /// (of `period`) and their key results they own, and the KPIs in use
    /// they own; optionally within a unit's subtree.
    pub async fn orphaned_owner_insights(
        &self,
        actor: &Actor,
        period: PeriodId,
        unit: Option<UnitId>,
    ) -> StoreResult<Vec<Insight>> {
        let org = actor.organization_id;
        policy::authorize(actor, Action::Read, &Resource::Period { organization_id: org })?;
        let in_units = self.units_in_scope(actor, unit).await?;
        let inactive: Vec<Uuid> = person::Entity::find()
            .filter(person::Column::OrganizationId.eq(org.0))
            .filter(person::Column::Active.eq(false))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        if inactive.is_empty() {
            return Ok(Vec::new());
        }
        let backend = self.db_backend();
        let in_scope = |u: &Uuid| in_units.as_ref().is_none_or(|s| s.contains(u));
        let objectives: HashMap<Uuid, objective::Model> = objective::Entity::find()
            .filter(objective::Column::OrganizationId.eq(org.0))
            .filter(objective::Column::PeriodId.eq(period.0))
            .filter(objective::Column::Status.is_in(OPEN))
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|o| in_scope(&o.owner_unit_id))
            .map(|o| (o.id, o))
            .collect();
        let ids: Vec<Uuid> = objectives.keys().copied().collect();
        let krs = self
            .rows_with(
                key_result::Entity::find()
                    .filter(key_result::Column::OrganizationId.eq(org.0))
                    .filter(crate::sql::id_in(backend, "key_results.owner_id", &inactive)),
                "key_results.objective_id",
                ids,
            )
            .await?;
        let kpis = self
            .rows_with(
                kpi::Entity::find()
                    .filter(kpi::Column::OrganizationId.eq(org.0))
                    .filter(kpi::Column::Archived.eq(false)),
                "kpis.owner_id",
                inactive.iter().copied(),
            )
            .await?;
        let inactive: HashSet<Uuid> = inactive.into_iter().collect();
        let readable =
            |goal: GoalFacts| policy::can_read(actor, &Resource::Objective { organization_id: org, goal });
        let mut items: Vec<(PersonId, Orphan, bool)> = Vec::new();
        let mut sorted: Vec<&objective::Model> = objectives.values().collect();
        sorted.sort_by_key(|o| o.id);
        for o in sorted {
            if let Some(owner) = o.owner_person_id.filter(|p| inactive.contains(p)) {
                items.push((PersonId(owner), Orphan::Objective(ObjectiveId(o.id)), readable(facts(o)?)));
            }
        }
        let mut krs = krs;
        krs.sort_by_key(|k| k.id);
        for k in krs {
            if let Some(o) = objectives.get(&k.objective_id) {
                items.push((PersonId(k.owner_id), Orphan::KeyResult(KeyResultId(k.id)), readable(facts(o)?)));
            }
        }
        let mut kpis = kpis;
        kpis.sort_by_key(|k| k.id);
        for k in kpis.into_iter().filter(|k| in_scope(&k.unit_id)) {
            let visible =
                policy::can_read(actor, &Resource::Kpi { organization_id: org, kpi: kpi_facts(&k) });
            items.push((PersonId(k.owner_id), Orphan::Kpi(KpiId(k.id)), visible));
        }
        Ok(orphaned_owner_insights(&items))
    }

    /// Moves what `from` owns to `to` in one transaction: open objectives
    /// owned by `from` (they then hang in `to`'s unit), key results `from`
    /// owns in open objectives, and KPIs in use. Every object must be one
    /// the actor may change, before and after the move; otherwise nothing
    /// moves.
    pub async fn transfer_ownership(
        &self,
        actor: &Actor,
        from: PersonId,
        to: PersonId,
    ) -> StoreResult<Transferred> {
        let org = actor.organization_id;
        let person = |id| Resource::Person { organization_id: org, person_id: Some(id) };
        policy::authorize(actor, Action::Update, &person(from))?;
        policy::authorize(actor, Action::Update, &person(to))?;
        if from == to {
            return Err(DomainError::invalid("toPersonId", "is the person things are moved from").into());
        }
        let tx = self.write().await?;
        person::Entity::find_by_id((org.0, from.0))
            .one(tx.conn())
            .await?
            .ok_or_else(|| DomainError::invalid("fromPersonId", "no such person in this organization"))?;
        let target =
            person::Entity::find_by_id((org.0, to.0)).one(tx.conn()).await?.filter(|p| p.active).ok_or_else(
                || DomainError::invalid("toPersonId", "no such active person in this organization"),
            )?;
        let to_unit = UnitId(target.unit_id);
        let at = now();
        let mut moved = Transferred::default();

        let owned: Vec<objective::Model> = objective::Entity::find()
            .filter(objective::Column::OrganizationId.eq(org.0))
            .filter(objective::Column::OwnerPersonId.eq(from.0))
            .filter(objective::Column::Status.is_in(OPEN))
            .lock_exclusive()
            .all(tx.conn())
            .await?;
        for o in owned {
            let before = facts(&o)?;
            let after = GoalFacts { owning_unit: to_unit, owner_person: Some(to), ..before };
            policy::authorize(
                actor,
                Action::Update,
                &Resource::Objective { organization_id: org, goal: before },
            )?;
            policy::authorize(
                actor,
                Action::Update,
                &Resource::Objective { organization_id: org, goal: after },
            )?;
            let version = o.version;
            let mut active: objective::ActiveModel = o.into();
            active.owner_person_id = Set(Some(to.0));
            active.owner_unit_id = Set(to_unit.0);
            active.version = Set(version + 1);
            active.updated_at = Set(at);
            let m = active.update(tx.conn()).await?;
            // Who may see it follows its new owner.
            self.emit_alignment(&tx, org, AlignmentChangeKind::VisibilityChanged, &m, m.parent_id).await?;
            moved.objectives.push(ObjectiveId(m.id));
        }

        let krs: Vec<key_result::Model> = key_result::Entity::find()
            .filter(key_result::Column::OrganizationId.eq(org.0))
            .filter(key_result::Column::OwnerId.eq(from.0))
            .all(tx.conn())
            .await?;
        let parents: HashMap<Uuid, objective::Model> = self
            .rows_with(
                objective::Entity::find().filter(objective::Column::OrganizationId.eq(org.0)),
                "objectives.id",
                krs.iter().map(|k| k.objective_id).collect::<HashSet<_>>(),
            )
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
        let mut kr_ids = Vec::new();
        for k in &krs {
            let Some(o) = parents.get(&k.objective_id) else { continue };
            let open = o.status.parse::<ObjectiveStatus>().is_ok_and(ObjectiveStatus::is_open);
            if !open {
                continue;
            }
            // Moved objectives were re-read above; their key results are
            // changed under the objective's facts after the move.
            let goal = if moved.objectives.contains(&ObjectiveId(o.id)) {
                GoalFacts { owning_unit: to_unit, owner_person: Some(to), ..facts(o)? }
            } else {
                facts(o)?
            };
            for owner in [from, to] {
                policy::authorize(
                    actor,
                    Action::Update,
                    &Resource::KeyResult { organization_id: org, goal, owner },
                )?;
            }
            kr_ids.push(k.id);
        }
        if !kr_ids.is_empty() {
            key_result::Entity::update_many()
                .col_expr(key_result::Column::OwnerId, Expr::value(to.0))
                .col_expr(key_result::Column::Version, Expr::col(key_result::Column::Version).add(1))
                .col_expr(key_result::Column::UpdatedAt, Expr::value(at))
                .filter(key_result::Column::OrganizationId.eq(org.0))
                .filter(crate::sql::id_in(self.db_backend(), "key_results.id", &kr_ids))
                .exec(tx.conn())
                .await?;
        }
        moved.key_results = kr_ids.into_iter().map(KeyResultId).collect();

        let kpis: Vec<kpi::Model> = kpi::Entity::find()
            .filter(kpi::Column::OrganizationId.eq(org.0))
            .filter(kpi::Column::OwnerId.eq(from.0))
            .filter(kpi::Column::Archived.eq(false))
            .all(tx.conn())
            .await?;
        for k in &kpis {
            let before = kpi_facts(k);
            let after = goalgraph_domain::policy::KpiFacts { owner: to, ..before };
            policy::authorize(actor, Action::Update, &Resource::Kpi { organization_id: org, kpi: before })?;
            policy::authorize(actor, Action::Update, &Resource::Kpi { organization_id: org, kpi: after })?;
        }
        let kpi_ids: Vec<Uuid> = kpis.iter().map(|k| k.id).collect();
        if !kpi_ids.is_empty() {
            kpi::Entity::update_many()
                .col_expr(kpi::Column::OwnerId, Expr::value(to.0))
                .col_expr(kpi::Column::Version, Expr::col(kpi::Column::Version).add(1))
                .col_expr(kpi::Column::UpdatedAt, Expr::value(at))
                .filter(kpi::Column::OrganizationId.eq(org.0))
                .filter(crate::sql::id_in(self.db_backend(), "kpis.id", &kpi_ids))
                .exec(tx.conn())
                .await?;
        }
        moved.kpis = kpi_ids.into_iter().map(KpiId).collect();
        tx.audit(
            actor,
            AuditRecord::new("transferOwnership", "Person", from.0)
                .before_field("ownerId", from.0)
                .after_field("ownerId", to.0)
                .after_field("objectiveIds", moved.objectives.iter().map(|o| o.0).collect::<Vec<_>>())
                .after_field("keyResultIds", moved.key_results.iter().map(|k| k.0).collect::<Vec<_>>())
                .after_field("kpiIds", moved.kpis.iter().map(|k| k.0).collect::<Vec<_>>()),
        );
        tx.commit().await?;
        Ok(moved)
    }
}
