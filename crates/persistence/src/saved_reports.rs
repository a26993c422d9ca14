//! Saved reports: a report definition kept under a name by its owner,
//! private or shared with the tenant. The definition is stored as the JSON
//! of its `ReportSpec`; running it is the report builder's business and
//! always counts what the reader may see.

use crate::audit::AuditRecord;
use crate::convert::now;
use crate::entity::{period, person, saved_report, unit};
use crate::error::{StoreError, StoreResult};
use crate::page::{self, CursorKey, Page, PageArgs, SortDirection, SortSpec};
use crate::store::Store;
use goalgraph_domain::policy::{self, Action, Actor, Resource, SavedReportListScope};
use goalgraph_domain::report::{ReportSpec, SavedReport};
use goalgraph_domain::values::Name;
use goalgraph_domain::{DomainError, OrganizationId, PersonId, SavedReportId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Select, Set,
};
use std::collections::HashMap;

/// What `saveReport` writes: the whole report, replaced on update.
#[derive(Debug, Clone)]
pub struct SavedReportInput {
    pub name: String,
    pub spec: ReportSpec,
    pub shared: bool,
}

fn resource(org: OrganizationId, m: &saved_report::Model) -> Resource {
    Resource::SavedReport { organization_id: org, owner: Some(PersonId(m.owner_id)), shared: m.shared }
}

fn convert(m: saved_report::Model) -> StoreResult<SavedReport> {
    let spec: ReportSpec = serde_json::from_str(&m.definition)
        .map_err(|e| StoreError::corrupt(format!("definition of saved report {}: {e}", m.id)))?;
    Ok(SavedReport {
        id: m.id.into(),
        organization_id: m.organization_id.into(),
        owner_id: m.owner_id.into(),
        name: m.name,
        spec,
        shared: m.shared,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn definition_text(spec: &ReportSpec) -> StoreResult<String> {
    serde_json::to_string(spec).map_err(|e| StoreError::corrupt(format!("a report definition: {e}")))
}

/// The definition follows the report builder's rules and names only
/// periods, units and people of the tenant; a broken rule names its field
/// under `definition`.
async fn check_definition<C: ConnectionTrait>(
    conn: &C,
    org: OrganizationId,
    spec: &ReportSpec,
) -> StoreResult<()> {
    spec.validate().map_err(|e| e.in_field("definition"))?;
    let f = &spec.filter;
    for (i, p) in f.period_ids.iter().enumerate() {
        if period::Entity::find_by_id((org.0, p.0)).count(conn).await? == 0 {
            return Err(
                DomainError::invalid(format!("definition.filter.periodIds[{i}]"), "no such period").into()
            );
        }
    }
    if let Some(u) = f.unit_id
        && unit::Entity::find_by_id((org.0, u.0)).count(conn).await? == 0
    {
        return Err(DomainError::invalid("definition.filter.unitId", "no such unit").into());
    }
    if let Some(p) = f.owner_person_id
        && person::Entity::find_by_id((org.0, p.0)).count(conn).await? == 0
    {
        return Err(DomainError::invalid("definition.filter.ownerId", "no such person").into());
    }
    Ok(())
}

/// A name is unique among its owner's saved reports (the unique index
/// guards a race; this answers with a clearer message).
async fn check_name_free<C: ConnectionTrait>(
    conn: &C,
    org: OrganizationId,
    owner: PersonId,
    name: &Name,
    except: Option<SavedReportId>,
) -> StoreResult<()> {
    let mut q = saved_report::Entity::find()
        .filter(saved_report::Column::OrganizationId.eq(org.0))
        .filter(saved_report::Column::OwnerId.eq(owner.0))
        .filter(saved_report::Column::Name.eq(name.as_str()));
    if let Some(id) = except {
        q = q.filter(saved_report::Column::Id.ne(id.0));
    }
    if q.count(conn).await? > 0 {
        return Err(DomainError::conflict(format!(
            "its owner already has a saved report named \"{}\"",
            name.as_str()
        ))
        .into());
    }
    Ok(())
}

impl Store {
    fn saved_reports_of(&self, org: OrganizationId) -> Select<saved_report::Entity> {
        saved_report::Entity::find().filter(saved_report::Column::OrganizationId.eq(org.0))
    }

    /// The saved reports `savedReports` lists to the actor: its own and the
    /// shared ones.
    fn listed_saved_reports(&self, actor: &Actor) -> Option<Select<saved_report::Entity>> {
        match policy::saved_report_list_scope(actor) {
            SavedReportListScope::Nothing => None,
            SavedReportListScope::OwnAndShared(me) => Some(
                self.saved_reports_of(actor.organization_id).filter(
                    Condition::any()
                        .add(saved_report::Column::OwnerId.eq(me.0))
                        .add(saved_report::Column::Shared.eq(true)),
                ),
            ),
        }
    }

    /// One saved report; `NotFound` when missing or not readable.
    pub async fn saved_report(&self, actor: &Actor, id: SavedReportId) -> StoreResult<SavedReport> {
        let org = actor.organization_id;
        let m = saved_report::Entity::find_by_id((org.0, id.0))
            .one(&self.db)
            .await?
            .ok_or(DomainError::not_found("saved report"))?;
        policy::authorize(actor, Action::Read, &resource(org, &m))?;
        convert(m)
    }

    /// The readable ones of `ids`, in one statement.
    pub async fn saved_reports_by_ids(
        &self,
        actor: &Actor,
        ids: &[SavedReportId],
    ) -> StoreResult<HashMap<SavedReportId, SavedReport>> {
        let org = actor.organization_id;
        let rows =
            self.rows_with(self.saved_reports_of(org), "saved_reports.id", ids.iter().map(|i| i.0)).await?;
        rows.into_iter()
            .filter(|m| policy::can_read(actor, &resource(org, m)))
            .map(|m| convert(m).map(|r| (r.id, r)))
            .collect()
    }

    /// The actor's own and the shared saved reports, by name.
    pub async fn list_saved_reports(&self, actor: &Actor, args: &PageArgs) -> StoreResult<Page<SavedReport>> {
        let Some(select) = self.listed_saved_reports(actor) else {
            return Ok(Page { items: vec![], has_next_page: false });
        };
        let spec = SortSpec::<saved_report::Entity> {
            column: saved_report::Column::Name,
            id_column: saved_report::Column::Id,
            direction: SortDirection::Asc,
            parse: page::parse_text,
            key_of: |m| CursorKey { key: m.name.clone(), id: m.id },
        };
        page::fetch_page(&self.db, select, spec, args).await?.try_map(convert)
    }

    pub async fn count_saved_reports(&self, actor: &Actor) -> StoreResult<u64> {
        match self.listed_saved_reports(actor) {
            Some(select) => Ok(select.count(&self.db).await?),
            None => Ok(0),
        }
    }

    /// Saves a new report owned by the actor (`saveReport` without an id).
    pub async fn create_saved_report(
        &self,
        actor: &Actor,
        input: SavedReportInput,
    ) -> StoreResult<SavedReport> {
        let org = actor.organization_id;
        policy::authorize(
            actor,
            Action::Create,
            &Resource::SavedReport { organization_id: org, owner: None, shared: input.shared },
        )?;
        let owner = actor.person_id().ok_or(DomainError::forbidden("save a report without a person"))?;
        let name = Name::parse("name", &input.name)?;
        let tx = self.write().await?;
        check_definition(tx.conn(), org, &input.spec).await?;
        check_name_free(tx.conn(), org, owner, &name, None).await?;
        let at = now();
        let m = saved_report::ActiveModel {
            organization_id: Set(org.0),
            id: Set(SavedReportId::new().0),
            owner_id: Set(owner.0),
            name: Set(name.into_inner()),
            definition: Set(definition_text(&input.spec)?),
            shared: Set(input.shared),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(tx.conn())
        .await?;
        tx.audit(actor, AuditRecord::new("saveReport", "SavedReport", m.id).created(&m));
        tx.commit().await?;
        convert(m)
    }

    /// Replaces a saved report's name, definition and sharing (`saveReport`
    /// with an id); its owner stays.
    pub async fn update_saved_report(
        &self,
        actor: &Actor,
        id: SavedReportId,
        input: SavedReportInput,
        expected_version: Option<i32>,
    ) -> StoreResult<SavedReport> {
        let org = actor.organization_id;
        let name = Name::parse("name", &input.name)?;
        let tx = self.write().await?;
        let current = saved_report::Entity::find_by_id((org.0, id.0))
            .lock_exclusive()
            .one(tx.conn())
            .await?
            .ok_or(DomainError::not_found("saved report"))?;
        policy::authorize(actor, Action::Update, &resource(org, &current))?;
        goalgraph_domain::model::check_version("saved report", current.version, expected_version)?;
        check_definition(tx.conn(), org, &input.spec).await?;
        check_name_free(tx.conn(), org, PersonId(current.owner_id), &name, Some(id)).await?;
        let before = current.clone();
        let mut active: saved_report::ActiveModel = current.into();
        active.name = Set(name.into_inner());
        active.definition = Set(definition_text(&input.spec)?);
        active.shared = Set(input.shared);
        active.version = Set(before.version + 1);
        active.updated_at = Set(now());
        let m = active.update(tx.conn()).await?;
        tx.audit(actor, AuditRecord::new("saveReport", "SavedReport", m.id).changed(&before, &m));
        tx.commit().await?;
        convert(m)
    }

    /// Deletes a saved report; answers it as it was.
    pub async fn delete_saved_report(&self, actor: &Actor, id: SavedReportId) -> StoreResult<SavedReport> {
        let org = actor.organization_id;
        let tx = self.write().await?;
        let current = saved_report::Entity::find_by_id((org.0, id.0))
            .lock_exclusive()
            .one(tx.conn())
            .await?
            .ok_or(DomainError::not_found("saved report"))?;
        policy::authorize(actor, Action::Delete, &resource(org, &current))?;
        let record = AuditRecord::new("deleteSavedReport", "SavedReport", current.id).deleted(&current);
        saved_report::Entity::delete_by_id((org.0, id.0)).exec(tx.conn()).await?;
        tx.audit(actor, record);
        tx.commit().await?;
        convert(current)
    }
}
