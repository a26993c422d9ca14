//! The bridge between KPIs and OKRs: key results that follow a KPI,
//! objectives drafted to fix a KPI, and key results promoted to KPIs.

use crate::audit::{AuditRecord, row_value};
use crate::convert::{self, now};
use crate::entity::{
    check_in, key_result, key_result_kpi_link, kpi, kpi_measurement, objective, objective_kpi_source,
};
use crate::error::{StoreError, StoreResult};
use crate::goals::facts;
use crate::kpis::{KpiRef, kpi_facts};
use crate::sql::id_in;
use crate::store::Store;
use goalgraph_domain::kpi::{Cadence, Direction, HealthyRange, Kpi, KpiCategory};
use goalgraph_domain::okr::MeasureSpec;
use goalgraph_domain::okr::{KeyResult, Measure, Objective, ObjectiveKind, ObjectiveStatus, Visibility};
use goalgraph_domain::policy::{self, Action, Actor, Resource};
use goalgraph_domain::values::{Description, Name, finite};
use goalgraph_domain::{DomainError, KeyResultId, KpiId, MeasurementId, ObjectiveId, PeriodId, PersonId};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use std::collections::HashMap;
use uuid::Uuid;

impl Store {
    /// Links a key result to a KPI (or unlinks it with `None`). From then
    /// on its current value is the KPI's latest measurement within the key
    /// result's period, and manual check-ins are refused (no double entry).
    pub async fn link_key_result_to_kpi(
        &self,
        actor: &Actor,
        key_result_id: KeyResultId,
        kpi_id: Option<KpiId>,
    ) -> StoreResult<KeyResult> {
        let tx = self.write().await?;
        let previous = key_result_kpi_link::Entity::find_by_id((actor.organization_id.0, key_result_id.0))
            .one(tx.conn())
            .await?
            .map(|l| l.kpi_id);
        let m = self.link_in(&tx, actor, key_result_id, kpi_id).await?;
        tx.audit(
            actor,
            AuditRecord::new("linkKeyResultToKpi", "KeyResult", m.id)
                .before_field("kpiId", previous)
                .after_field("kpiId", kpi_id.map(|k| k.0)),
        );
        tx.commit().await?;
        convert::key_result(m)
    }

    async fn link_in(
        &self,
        tx: &crate::store::WriteTx,
        actor: &Actor,
        key_result_id: KeyResultId,
        kpi_id: Option<KpiId>,
    ) -> StoreResult<key_result::Model> {
        let org = actor.organization_id;
        let kr = key_result::Entity::find_by_id((org.0, key_result_id.0))
            .lock_exclusive()
            .one(tx.conn())
            .await?
            .ok_or(DomainError::not_found("key result"))?;
        let o = objective::Entity::find_by_id((org.0, kr.objective_id))
            .one(tx.conn())
            .await?
            .ok_or_else(|| StoreError::corrupt("key result without objective"))?;
        let resource =
            Resource::KeyResult { organization_id: org, goal: facts(&o)?, owner: PersonId(kr.owner_id) };
        policy::authorize(actor, Action::Update, &resource)?;
        key_result_kpi_link::Entity::delete_many()
            .filter(key_result_kpi_link::Column::OrganizationId.eq(org.0))
            .filter(key_result_kpi_link::Column::KeyResultId.eq(kr.id))
            .exec(tx.conn())
            .await?;
        if let Some(kpi_id) = kpi_id {
            let k = kpi::Entity::find_by_id((org.0, kpi_id.0))
                .one(tx.conn())
                .await?
                .filter(|k| {
                    policy::can_read(actor, &Resource::Kpi { organization_id: org, kpi: kpi_facts(k) })
                })
                .ok_or_else(|| DomainError::invalid("kpiId", "no such KPI in this organization"))?;
            key_result_kpi_link::ActiveModel {
                organization_id: Set(org.0),
                key_result_id: Set(kr.id),
                kpi_id: Set(k.id),
                created_at: Set(now()),
            }
            .insert(tx.conn())
            .await?;
            self.refresh_linked_key_results(tx, org, KpiId(k.id), Some(kr.id)).await?;
        }
        key_result::Entity::find_by_id((org.0, kr.id))
            .one(tx.conn())
            .await?
            .ok_or_else(|| StoreError::corrupt("key result vanished"))
    }

    /// The KPI each key result follows (those the actor may see).
    pub async fn kpis_of_key_results(
        &self,
        actor: &Actor,
        key_results: &[KeyResultId],
    ) -> StoreResult<HashMap<KeyResultId, Kpi>> {
        if key_results.is_empty() {
            return Ok(HashMap::new());
        }
        let raw: Vec<Uuid> = key_results.iter().map(|k| k.0).collect();
        let links = key_result_kpi_link::Entity::find()
            .filter(key_result_kpi_link::Column::OrganizationId.eq(actor.organization_id.0))
            .filter(id_in(self.db_backend(), "key_result_kpi_links.key_result_id", &raw))
            .all(&self.db)
            .await?;
        let kpi_ids: Vec<KpiId> = links.iter().map(|l| KpiId(l.kpi_id)).collect();
        let kpis = self.kpis_by_ids(actor, &kpi_ids).await?;
        Ok(links
            .into_iter()
            .filter_map(|l| kpis.get(&KpiId(l.kpi_id)).cloned().map(|k| (KeyResultId(l.key_result_id), k)))
            .collect())
    }

    /// Whether a key result follows a KPI (its check-ins come from there).
    pub(crate) async fn is_linked<C: sea_orm::ConnectionTrait>(
        &self,
        conn: &C,
        org: goalgraph_domain::OrganizationId,
        key_result: Uuid,
    ) -> StoreResult<bool> {
        Ok(key_result_kpi_link::Entity::find_by_id((org.0, key_result)).one(conn).await?.is_some())
    }

    /// The key results that follow each KPI (those the actor may see).
    pub async fn linked_key_results(
        &self,
        actor: &Actor,
        kpis: &[KpiId],
    ) -> StoreResult<HashMap<KpiId, Vec<KeyResult>>> {
        if kpis.is_empty() {
            return Ok(HashMap::new());
        }
        let raw: Vec<Uuid> = kpis.iter().map(|k| k.0).collect();
        let links = key_result_kpi_link::Entity::find()
            .filter(key_result_kpi_link::Column::OrganizationId.eq(actor.organization_id.0))
            .filter(id_in(self.db_backend(), "key_result_kpi_links.kpi_id", &raw))
            .all(&self.db)
            .await?;
        let kr_ids: Vec<KeyResultId> = links.iter().map(|l| KeyResultId(l.key_result_id)).collect();
        let krs = self.key_results_by_ids(actor, &kr_ids).await?;
        let mut out: HashMap<KpiId, Vec<KeyResult>> = HashMap::new();
        for l in links {
            if let Some(k) = krs.get(&KeyResultId(l.key_result_id)) {
                out.entry(KpiId(l.kpi_id)).or_default().push(k.clone());
            }
        }
        Ok(out)
    }

    /// The objectives created from each KPI (those the actor may see).
    pub async fn objectives_from_kpis(
        &self,
        actor: &Actor,
        kpis: &[KpiId],
    ) -> StoreResult<HashMap<KpiId, Vec<Objective>>> {
        if kpis.is_empty() {
            return Ok(HashMap::new());
        }
        let raw: Vec<Uuid> = kpis.iter().map(|k| k.0).collect();
        let sources = objective_kpi_source::Entity::find()
            .filter(objective_kpi_source::Column::OrganizationId.eq(actor.organization_id.0))
            .filter(id_in(self.db_backend(), "objective_kpi_sources.kpi_id", &raw))
            .all(&self.db)
            .await?;
        let ids: Vec<ObjectiveId> = sources.iter().map(|s| ObjectiveId(s.objective_id)).collect();
        let objectives = self.objectives_by_ids(actor, &ids).await?;
        let mut out: HashMap<KpiId, Vec<Objective>> = HashMap::new();
        for s in sources {
            if let Some(o) = objectives.get(&ObjectiveId(s.objective_id)) {
                out.entry(KpiId(s.kpi_id)).or_default().push(o.clone());
            }
        }
        Ok(out)
    }

    /// Drafts an objective owned by the KPI's unit with one key result
    /// "Move <KPI> from <current> to <target>" that follows the KPI.
    pub async fn create_objective_from_kpi(
        &self,
        actor: &Actor,
        kpi_id: KpiId,
        period_id: PeriodId,
        target: f64,
    ) -> StoreResult<(Objective, KeyResult)> {
        let target = finite("target", target)?;
        let org = actor.organization_id;
        let k = self.kpi(actor, &KpiRef::Id(kpi_id)).await?;
        let states = self.kpi_states(actor, &[kpi_id]).await?;
        let current = states.get(&kpi_id).and_then(|s| s.latest).map(|p| p.value).ok_or_else(|| {
            DomainError::invalid("kpiId", "the KPI has no measurement yet: nothing to move from")
        })?;
        let measure = if target > current {
            Measure::Increase
        } else if target < current {
            Measure::Decrease
        } else {
            return Err(DomainError::invalid("target", "equals the KPI's current value").into());
        };
        let visibility =
            if k.category == KpiCategory::People { Visibility::Private } else { Visibility::Public };
        let title = format!("Bring {} back to health", k.name);
        let kr_title = format!("Move {} from {} to {}", k.name, current, target);
        let new_objective = crate::NewObjective {
            period_id,
            owner: goalgraph_domain::okr::Owner::Unit(k.unit_id),
            parent_id: None,
            title: title.clone(),
            description: Some(format!("Created from the KPI {} to address the root cause.", k.name)),
            kind: ObjectiveKind::Committed,
            visibility,
            progress_driver: None,
            status: Some(ObjectiveStatus::Draft),
        };
        let description = Description::parse("description", new_objective.description.as_deref())?;
        let spec = MeasureSpec::parse(measure, current, target)?;
        // One transaction: the objective, its key result, the link and the source.
        let tx = self.write().await?;
        let o = self
            .create_objective_in(
                &tx,
                actor,
                new_objective,
                Name::parse("title", &title)?,
                description,
                ObjectiveStatus::Draft,
            )
            .await?;
        let new_kr = crate::NewKeyResult {
            objective_id: ObjectiveId(o.id),
            owner_id: k.owner_id,
            title: kr_title.clone(),
            measure,
            start: current,
            target,
            unit_label: Some(k.unit_label.clone()),
            weight: None,
        };
        let kr = self
            .create_key_result_in(
                &tx,
                actor,
                new_kr,
                Name::parse("title", &kr_title)?,
                spec,
                1.0,
                k.unit_label.clone(),
            )
            .await?;
        objective_kpi_source::ActiveModel {
            organization_id: Set(org.0),
            objective_id: Set(o.id),
            kpi_id: Set(k.id.0),
        }
        .insert(tx.conn())
        .await?;
        let kr = self.link_in(&tx, actor, KeyResultId(kr.id), Some(k.id)).await?;
        let o = objective::Entity::find_by_id((org.0, o.id))
            .one(tx.conn())
            .await?
            .ok_or_else(|| StoreError::corrupt("objective vanished"))?;
        tx.audit(
            actor,
            AuditRecord::new("createObjectiveFromKpi", "Objective", o.id)
                .created(&o)
                .after_field("keyResult", row_value(&kr))
                .after_field("kpiId", k.id.0),
        );
        tx.commit().await?;
        Ok((self.objective_model(o)?, convert::key_result(kr)?))
    }

    /// Creates a KPI from a key result, carrying its check-ins as
    /// measurements and recording where it came from (the seeds: "should a
    /// successful OKR now become a standard KPI").
    pub async fn promote_key_result_to_kpi(
        &self,
        actor: &Actor,
        key_result_id: KeyResultId,
        healthy_lower: Option<f64>,
        healthy_upper: Option<f64>,
        cadence: Cadence,
        category: Option<KpiCategory>,
    ) -> StoreResult<Kpi> {
        let org = actor.organization_id;
        let kr = self.key_result(actor, key_result_id).await?;
        let o = self.objective(actor, kr.objective_id).await?;
        let direction = match kr.measure {
            Measure::Increase | Measure::MaintainAbove => Direction::HigherIsBetter,
            Measure::Decrease | Measure::MaintainBelow => Direction::LowerIsBetter,
            Measure::Milestone => {
                return Err(
                    DomainError::invalid("keyResultId", "a MILESTONE has no level to keep as a KPI").into()
                );
            }
        };
        let range = HealthyRange::parse(direction, healthy_lower, healthy_upper)?;
        let category = category.unwrap_or(KpiCategory::Operational);
        let id = KpiId::new();
        let facts = goalgraph_domain::policy::KpiFacts {
            id,
            unit: o.owning_unit,
            owner: kr.owner_id,
            sensitive: category == KpiCategory::People,
        };
        policy::authorize(actor, Action::Create, &Resource::Kpi { organization_id: org, kpi: facts })?;
        let tx = self.write().await?;
        let at = now();
        let m = kpi::ActiveModel {
            organization_id: Set(org.0),
            id: Set(id.0),
            unit_id: Set(o.owning_unit.0),
            owner_id: Set(kr.owner_id.0),
            name: Set(kr.title.clone()),
            description: Set(Some(format!(
                "Promoted from the key result \"{}\" of \"{}\".",
                kr.title, o.title
            ))),
            category: Set(category.as_str().to_owned()),
            unit_label: Set(kr.unit_label.clone()),
            direction: Set(direction.as_str().to_owned()),
            target: Set(Some(kr.target)),
            healthy_lower: Set(range.lower),
            healthy_upper: Set(range.upper),
            tolerance_absolute: Set(Some(0.0)),
            tolerance_percent: Set(None),
            cadence: Set(cadence.as_str().to_owned()),
            archived: Set(false),
            external_id: Set(None),
            promoted_from_key_result_id: Set(Some(kr.id.0)),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(tx.conn())
        .await?;
        let history = check_in::Entity::find()
            .filter(check_in::Column::OrganizationId.eq(org.0))
            .filter(check_in::Column::KeyResultId.eq(kr.id.0))
            .order_by_asc(check_in::Column::CreatedAt)
            .all(tx.conn())
            .await?;
        for chunk in history.chunks(1000) {
            kpi_measurement::Entity::insert_many(chunk.iter().map(|c| kpi_measurement::ActiveModel {
                organization_id: Set(org.0),
                id: Set(MeasurementId::new().0),
                kpi_id: Set(m.id),
                observed_at: Set(c.created_at),
                value: Set(c.value),
                recorded_at: Set(at),
                author_id: Set(c.author_id),
            }))
            .exec_without_returning(tx.conn())
            .await?;
        }
        tx.audit(
            actor,
            AuditRecord::new("promoteKeyResultToKpi", "Kpi", m.id)
                .created(&m)
                .after_field("measurementsFromCheckIns", history.len()),
        );
        tx.commit().await?;
        convert::kpi(m)
    }
}
