//! Periods: goal cycles, usually quarters.

use crate::audit::AuditRecord;
use crate::convert::{self, now};
use crate::entity::period;
use crate::error::StoreResult;
use crate::page::{self, CursorKey, Page, PageArgs, SortDirection, SortSpec};
use crate::store::Store;
use chrono::NaiveDate;
use goalgraph_domain::model::{Period, PeriodStatus, check_period_dates, check_version};
use goalgraph_domain::policy::{self, Action, Actor, Resource};
use goalgraph_domain::values::Name;
use goalgraph_domain::{DomainError, OrganizationId, PeriodId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Select, Set,
};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct NewPeriod {
    pub name: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
}

#[derive(Debug, Clone, Default)]
pub struct PeriodPatch {
    pub name: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub expected_version: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeriodOrder {
    #[default]
    StartDate,
    Name,
}

fn period_resource(actor: &Actor) -> Resource {
    Resource::Period { organization_id: actor.organization_id }
}

impl Store {
    fn periods_of(&self, org: OrganizationId) -> Select<period::Entity> {
        period::Entity::find().filter(period::Column::OrganizationId.eq(org.0))
    }

    pub async fn period(&self, actor: &Actor, id: PeriodId) -> StoreResult<Period> {
        policy::authorize(actor, Action::Read, &period_resource(actor))?;
        let m = period::Entity::find_by_id((actor.organization_id.0, id.0))
            .one(&self.db)
            .await?
            .ok_or(DomainError::not_found("period"))?;
        convert::period(m)
    }

    pub async fn periods_by_ids(
        &self,
        actor: &Actor,
        ids: &[PeriodId],
    ) -> StoreResult<HashMap<PeriodId, Period>> {
        if !policy::can_read(actor, &period_resource(actor)) {
            return Ok(HashMap::new());
        }
        let rows = self
            .rows_with(self.periods_of(actor.organization_id), "periods.id", ids.iter().map(|i| i.0))
            .await?;
        rows.into_iter().map(|m| convert::period(m).map(|p| (p.id, p))).collect()
    }

    fn filtered_periods(&self, actor: &Actor, status: Option<PeriodStatus>) -> Select<period::Entity> {
        let q = self.periods_of(actor.organization_id);
        match status {
            Some(s) => q.filter(period::Column::Status.eq(s.as_str())),
            None => q,
        }
    }

    pub async fn list_periods(
        &self,
        actor: &Actor,
        status: Option<PeriodStatus>,
        order: PeriodOrder,
        direction: SortDirection,
        args: &PageArgs,
    ) -> StoreResult<Page<Period>> {
        if !policy::can_read(actor, &period_resource(actor)) {
            return Ok(Page { items: vec![], has_next_page: false });
        }
        let spec = match order {
            PeriodOrder::StartDate => SortSpec::<period::Entity> {
                column: period::Column::StartDate,
                id_column: period::Column::Id,
                direction,
                parse: page::parse_date,
                key_of: |m| CursorKey { key: m.start_date.format("%Y-%m-%d").to_string(), id: m.id },
            },
            PeriodOrder::Name => SortSpec::<period::Entity> {
                column: period::Column::Name,
                id_column: period::Column::Id,
                direction,
                parse: page::parse_text,
                key_of: |m| CursorKey { key: m.name.clone(), id: m.id },
            },
        };
        page::fetch_page(&self.db, self.filtered_periods(actor, status), spec, args)
            .await?
            .try_map(convert::period)
    }

    pub async fn count_periods(&self, actor: &Actor, status: Option<PeriodStatus>) -> StoreResult<u64> {
        if !policy::can_read(actor, &period_resource(actor)) {
            return Ok(0);
        }
        Ok(self.filtered_periods(actor, status).count(&self.db).await?)
    }

    pub async fn create_period(&self, actor: &Actor, new: NewPeriod) -> StoreResult<Period> {
        policy::authorize(actor, Action::Create, &period_resource(actor))?;
        let name = Name::parse("name", &new.name)?;
        check_period_dates(new.start_date, new.end_date)?;
        let tx = self.write().await?;
        let at = now();
        let m = period::ActiveModel {
            organization_id: Set(actor.organization_id.0),
            id: Set(PeriodId::new().0),
            name: Set(name.into_inner()),
            start_date: Set(new.start_date),
            end_date: Set(new.end_date),
            status: Set(PeriodStatus::Planning.as_str().to_owned()),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(tx.conn())
        .await?;
        tx.audit(actor, AuditRecord::new("createPeriod", "Period", m.id).created(&m));
        tx.commit().await?;
        convert::period(m)
    }

    pub async fn update_period(
        &self,
        actor: &Actor,
        id: PeriodId,
        patch: PeriodPatch,
    ) -> StoreResult<Period> {
        policy::authorize(actor, Action::Update, &period_resource(actor))?;
        let name = patch.name.as_deref().map(|n| Name::parse("name", n)).transpose()?;
        let tx = self.write().await?;
        let current = period::Entity::find_by_id((actor.organization_id.0, id.0))
            .lock_exclusive()
            .one(tx.conn())
            .await?
            .ok_or(DomainError::not_found("period"))?;
        check_version("period", current.version, patch.expected_version)?;
        let before = convert::period(current.clone())?;
        if before.status == PeriodStatus::Closed {
            return Err(DomainError::invalid("id", "a closed period cannot be edited").into());
        }
        let start = patch.start_date.unwrap_or(before.start_date);
        let end = patch.end_date.unwrap_or(before.end_date);
        check_period_dates(start, end)?;
        let before_row = current.clone();
        let mut active: period::ActiveModel = current.into();
        if let Some(name) = name {
            active.name = Set(name.into_inner());
        }
        active.start_date = Set(start);
        active.end_date = Set(end);
        active.version = Set(before.version + 1);
        active.updated_at = Set(now());
        let m = active.update(tx.conn()).await?;
        tx.audit(actor, AuditRecord::new("updatePeriod", "Period", m.id).changed(&before_row, &m));
        tx.commit().await?;
        convert::period(m)
    }

    /// Moves a period forward: PLANNING → ACTIVE → REVIEW → CLOSED.
    pub async fn transition_period(
        &self,
        actor: &Actor,
        id: PeriodId,
        to: PeriodStatus,
        expected_version: Option<i32>,
    ) -> StoreResult<Period> {
        self.move_period(actor, id, to, expected_version, "transitionPeriod").await
    }

    /// Closes a period, freezing its scores (`closePeriod`).
    pub async fn close_period(
        &self,
        actor: &Actor,
        id: PeriodId,
        expected_version: Option<i32>,
    ) -> StoreResult<Period> {
        self.move_period(actor, id, PeriodStatus::Closed, expected_version, "closePeriod").await
    }

    /// `transition_period`, audited as the mutation `mutation`.
    async fn move_period(
        &self,
        actor: &Actor,
        id: PeriodId,
        to: PeriodStatus,
        expected_version: Option<i32>,
        mutation: &'static str,
    ) -> StoreResult<Period> {
        let action = if to == PeriodStatus::Closed { Action::ClosePeriod } else { Action::Update };
        policy::authorize(actor, action, &period_resource(actor))?;
        let tx = self.write().await?;
        let current = period::Entity::find_by_id((actor.organization_id.0, id.0))
            .lock_exclusive()
            .one(tx.conn())
            .await?
            .ok_or(DomainError::not_found("period"))?;
        check_version("period", current.version, expected_version)?;
        let before = convert::period(current.clone())?;
        before.status.check_transition(to)?;
        if to == PeriodStatus::Closed {
            self.freeze_scores(&tx, actor.organization_id, id).await?;
        }
        let before_row = current.clone();
        let mut active: period::ActiveModel = current.into();
        active.status = Set(to.as_str().to_owned());
        active.version = Set(before.version + 1);
        active.updated_at = Set(now());
        let m = active.update(tx.conn()).await?;
        tx.audit(actor, AuditRecord::new(mutation, "Period", m.id).changed(&before_row, &m));
        tx.commit().await?;
        convert::period(m)
    }
}
