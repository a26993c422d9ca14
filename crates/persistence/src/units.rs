//! Units: the organization tree and its managers.

use crate::audit::AuditRecord;
use crate::convert::{self, now};
use crate::entity::{person, unit, unit_manager};
use crate::error::StoreResult;
use crate::page::{self, CursorKey, Page, PageArgs, SortDirection, SortSpec};
use crate::sql::{id_in, in_list, list_value, stmt};
use crate::store::{Store, WriteTx};
use goalgraph_domain::model::{Unit, UnitKind, check_unit_placement, check_version};
use goalgraph_domain::policy::{self, Action, Actor, Resource};
use goalgraph_domain::values::Name;
use goalgraph_domain::{DomainError, OrganizationId, PersonId, UnitId};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Set,
};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct NewUnit {
    pub kind: UnitKind,
    pub name: String,
    pub parent_id: UnitId,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct UnitPatch {
    pub name: Option<String>,
    /// `Some(None)` clears it.
    pub external_id: Option<Option<String>>,
    pub expected_version: Option<i32>,
}

#[derive(Debug, Clone, Default)]
pub struct UnitFilter {
    pub parent_id: Option<UnitId>,
    pub kind: Option<UnitKind>,
    pub search: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnitOrder {
    #[default]
    Name,
    CreatedAt,
}

fn unit_resource(actor: &Actor, id: Option<UnitId>) -> Resource {
    Resource::Unit { organization_id: actor.organization_id, unit_id: id }
}

/// `%term%` for LIKE, with the wildcards of the term escaped.
pub(crate) fn like_pattern(term: &str) -> String {
    let escaped = term.trim().to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

pub(crate) fn external_id(field: &str, raw: Option<&str>) -> StoreResult<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.len() > 200 => Err(DomainError::invalid(field, "must be at most 200 characters").into()),
        Some(s) => Ok(Some(s.to_owned())),
    }
}

impl Store {
    fn units_of(&self, org: OrganizationId) -> Select<unit::Entity> {
        unit::Entity::find().filter(unit::Column::OrganizationId.eq(org.0))
    }

    async fn load_unit<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrganizationId,
        id: UnitId,
    ) -> StoreResult<Unit> {
        let m =
            unit::Entity::find_by_id((org.0, id.0)).one(conn).await?.ok_or(DomainError::not_found("unit"))?;
        convert::unit(m)
    }

    pub async fn unit(&self, actor: &Actor, id: UnitId) -> StoreResult<Unit> {
        policy::authorize(actor, Action::Read, &unit_resource(actor, Some(id)))?;
        self.load_unit(&self.db, actor.organization_id, id).await
    }

    /// The organization's root unit.
    pub async fn company_unit(&self, actor: &Actor) -> StoreResult<Unit> {
        policy::authorize(actor, Action::Read, &unit_resource(actor, None))?;
        let m = self
            .units_of(actor.organization_id)
            .filter(unit::Column::Kind.eq(UnitKind::Company.as_str()))
            .one(&self.db)
            .await?
            .ok_or(DomainError::not_found("unit"))?;
        convert::unit(m)
    }

    /// The units of `ids` the actor may see, in one statement.
    pub async fn units_by_ids(&self, actor: &Actor, ids: &[UnitId]) -> StoreResult<HashMap<UnitId, Unit>> {
        if !policy::can_read(actor, &unit_resource(actor, None)) {
            return Ok(HashMap::new());
        }
        let rows =
            self.rows_with(self.units_of(actor.organization_id), "units.id", ids.iter().map(|i| i.0)).await?;
        rows.into_iter().map(|m| convert::unit(m).map(|u| (u.id, u))).collect()
    }

    fn filtered_units(&self, actor: &Actor, filter: &UnitFilter) -> Select<unit::Entity> {
        let mut q = self.units_of(actor.organization_id);
        if let Some(parent) = filter.parent_id {
            q = q.filter(unit::Column::ParentId.eq(parent.0));
        }
        if let Some(kind) = filter.kind {
            q = q.filter(unit::Column::Kind.eq(kind.as_str()));
        }
        if let Some(term) = filter.search.as_deref().filter(|t| !t.trim().is_empty()) {
            q = q.filter(
                Expr::expr(Func::lower(Expr::col(unit::Column::Name)))
                    .like(LikeExpr::new(like_pattern(term)).escape('\\')),
            );
        }
        q
    }

    pub async fn list_units(
        &self,
        actor: &Actor,
        filter: &UnitFilter,
        order: UnitOrder,
        direction: SortDirection,
        args: &PageArgs,
    ) -> StoreResult<Page<Unit>> {
        if !policy::can_read(actor, &unit_resource(actor, None)) {
            return Ok(Page { items: vec![], has_next_page: false });
        }
        let spec = match order {
            UnitOrder::Name => SortSpec::<unit::Entity> {
                column: unit::Column::Name,
                id_column: unit::Column::Id,
                direction,
                parse: page::parse_text,
                key_of: |m| CursorKey { key: m.name.clone(), id: m.id },
            },
            UnitOrder::CreatedAt => SortSpec::<unit::Entity> {
                column: unit::Column::CreatedAt,
                id_column: unit::Column::Id,
                direction,
                parse: page::parse_time,
                key_of: |m| CursorKey { key: m.created_at.to_rfc3339(), id: m.id },
            },
        };
        page::fetch_page(&self.db, self.filtered_units(actor, filter), spec, args)
            .await?
            .try_map(convert::unit)
    }

    pub async fn count_units(&self, actor: &Actor, filter: &UnitFilter) -> StoreResult<u64> {
        if !policy::can_read(actor, &unit_resource(actor, None)) {
            return Ok(0);
        }
        Ok(self.filtered_units(actor, filter).count(&self.db).await?)
    }

    /// The children of each unit in `parents`, by name, in one statement.
    pub async fn children_of(
        &self,
        actor: &Actor,
        parents: &[UnitId],
    ) -> StoreResult<HashMap<UnitId, Vec<Unit>>> {
        if parents.is_empty() || !policy::can_read(actor, &unit_resource(actor, None)) {
            return Ok(HashMap::new());
        }
        let raw: Vec<Uuid> = parents.iter().map(|i| i.0).collect();
        let rows = self
            .units_of(actor.organization_id)
            .filter(id_in(self.db_backend(), "units.parent_id", &raw))
            .order_by_asc(unit::Column::Name)
            .order_by_asc(unit::Column::Id)
            .all(&self.db)
            .await?;
        let mut out: HashMap<UnitId, Vec<Unit>> = HashMap::new();
        for m in rows {
            let u = convert::unit(m)?;
            if let Some(parent) = u.parent_id {
                out.entry(parent).or_default().push(u);
            }
        }
        Ok(out)
    }

    /// Managers of each unit in `ids`, in one statement.
    pub async fn unit_managers(
        &self,
        actor: &Actor,
        ids: &[UnitId],
    ) -> StoreResult<HashMap<UnitId, Vec<PersonId>>> {
        let raw: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
        let mut out: HashMap<UnitId, Vec<PersonId>> = HashMap::new();
        for r in self.manager_links(actor, "unit_managers.unit_id", &raw).await? {
            out.entry(UnitId(r.unit_id)).or_default().push(PersonId(r.person_id));
        }
        Ok(out)
    }

    /// Rows of `unit_managers` whose `column` (unit or person) is in `ids`,
    /// in one statement; none for an actor who may not read the directory.
    pub(crate) async fn manager_links(
        &self,
        actor: &Actor,
        column: &str,
        ids: &[Uuid],
    ) -> StoreResult<Vec<unit_manager::Model>> {
        if ids.is_empty() || !policy::can_read(actor, &unit_resource(actor, None)) {
            return Ok(Vec::new());
        }
        Ok(unit_manager::Entity::find()
            .filter(unit_manager::Column::OrganizationId.eq(actor.organization_id.0))
            .filter(id_in(self.db_backend(), column, ids))
            .all(&self.db)
            .await?)
    }

    /// The ancestors of each unit in `ids`, nearest first, in one statement.
    pub async fn unit_ancestors_many(
        &self,
        actor: &Actor,
        ids: &[UnitId],
    ) -> StoreResult<HashMap<UnitId, Vec<UnitId>>> {
        if !policy::can_read(actor, &unit_resource(actor, None)) {
            return Ok(HashMap::new());
        }
        self.unit_ancestors_in(&self.db, actor.organization_id, ids).await
    }

    /// The ancestors of each unit in `ids`, nearest first, in one statement
    /// on `conn` (no access check: for the store's own use).
    pub(crate) async fn unit_ancestors_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrganizationId,
        ids: &[UnitId],
    ) -> StoreResult<HashMap<UnitId, Vec<UnitId>>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let backend = self.db_backend();
        let raw: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
        let sql = format!(
            "WITH RECURSIVE up(start_id, id, parent_id, depth) AS ( \
               SELECT id, id, parent_id, 0 FROM units WHERE organization_id = $1 AND {} \
               UNION ALL \
               SELECT up.start_id, u.id, u.parent_id, up.depth + 1 FROM units u JOIN up ON u.id = up.parent_id \
               WHERE u.organization_id = $1 AND up.depth < 1000 \
             ) SELECT start_id, id FROM up WHERE depth > 0 ORDER BY start_id, depth",
            in_list(backend, "id", 2)
        );
        let rows =
            conn.query_all_raw(stmt(backend, &sql, vec![org.0.into(), list_value(backend, &raw)])).await?;
        let mut out: HashMap<UnitId, Vec<UnitId>> = HashMap::new();
        for row in rows {
            let start: Uuid = row.try_get("", "start_id")?;
            let id: Uuid = row.try_get("", "id")?;
            out.entry(UnitId(start)).or_default().push(UnitId(id));
        }
        Ok(out)
    }

    /// Ancestors of a unit the actor may see, nearest first.
    pub async fn unit_ancestors(&self, actor: &Actor, id: UnitId) -> StoreResult<Vec<UnitId>> {
        policy::authorize(actor, Action::Read, &unit_resource(actor, Some(id)))?;
        self.load_unit(&self.db, actor.organization_id, id).await?;
        Ok(self.unit_ancestors_many(actor, &[id]).await?.remove(&id).unwrap_or_default())
    }

    async fn check_placement(
        &self,
        tx: &WriteTx,
        org: OrganizationId,
        kind: UnitKind,
        parent_id: UnitId,
        moving: Option<UnitId>,
    ) -> StoreResult<()> {
        // A parent of another tenant is simply not found in this one.
        let parent = self
            .load_unit(tx.conn(), org, parent_id)
            .await
            .map_err(|_| DomainError::invalid("parentId", "no such unit in this organization"))?;
        let ancestors = self.unit_ancestors_with(tx.conn(), org, parent_id).await?;
        check_unit_placement(kind, Some((&parent, &ancestors)), moving)?;
        Ok(())
    }

    pub async fn create_unit(&self, actor: &Actor, new: NewUnit) -> StoreResult<Unit> {
        policy::authorize(actor, Action::Create, &unit_resource(actor, None))?;
        let name = Name::parse("name", &new.name)?;
        let external_id = external_id("externalId", new.external_id.as_deref())?;
        if new.kind == UnitKind::Company {
            return Err(DomainError::invalid(
                "kind",
                "an organization has exactly one COMPANY unit, created with it",
            )
            .into());
        }
        let org = actor.organization_id;
        let tx = self.write().await?;
        self.check_placement(&tx, org, new.kind, new.parent_id, None).await?;
        let at = now();
        let m = unit::ActiveModel {
            organization_id: Set(org.0),
            id: Set(UnitId::new().0),
            kind: Set(new.kind.as_str().to_owned()),
            name: Set(name.into_inner()),
            parent_id: Set(Some(new.parent_id.0)),
            external_id: Set(external_id),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(tx.conn())
        .await?;
        tx.audit(actor, AuditRecord::new("createUnit", "Unit", m.id).created(&m));
        tx.commit().await?;
        convert::unit(m)
    }

    pub async fn update_unit(&self, actor: &Actor, id: UnitId, patch: UnitPatch) -> StoreResult<Unit> {
        policy::authorize(actor, Action::Update, &unit_resource(actor, Some(id)))?;
        let name = patch.name.as_deref().map(|n| Name::parse("name", n)).transpose()?;
        let external = match &patch.external_id {
            Some(raw) => Some(external_id("externalId", raw.as_deref())?),
            None => None,
        };
        let tx = self.write().await?;
        let current = unit::Entity::find_by_id((actor.organization_id.0, id.0))
            .lock_exclusive()
            .one(tx.conn())
            .await?
            .ok_or(DomainError::not_found("unit"))?;
        check_version("unit", current.version, patch.expected_version)?;
        let version = current.version;
        let before = current.clone();
        let mut active: unit::ActiveModel = current.into();
        if let Some(name) = name {
            active.name = Set(name.into_inner());
        }
        if let Some(external) = external {
            active.external_id = Set(external);
        }
        active.version = Set(version + 1);
        active.updated_at = Set(now());
        let m = active.update(tx.conn()).await?;
        tx.audit(actor, AuditRecord::new("updateUnit", "Unit", m.id).changed(&before, &m));
        tx.commit().await?;
        convert::unit(m)
    }

    /// Re-parents a unit; a move below its own subtree is rejected.
    pub async fn move_unit(
        &self,
        actor: &Actor,
        id: UnitId,
        parent_id: UnitId,
        expected_version: Option<i32>,
    ) -> StoreResult<Unit> {
        policy::authorize(actor, Action::Update, &unit_resource(actor, Some(id)))?;
        let org = actor.organization_id;
        let tx = self.write().await?;
        self.lock_tenant(&tx, org).await?;
        let current = unit::Entity::find_by_id((org.0, id.0))
            .lock_exclusive()
            .one(tx.conn())
            .await?
            .ok_or(DomainError::not_found("unit"))?;
        check_version("unit", current.version, expected_version)?;
        let kind = convert::unit(current.clone())?.kind;
        self.check_placement(&tx, org, kind, parent_id, Some(id)).await?;
        let version = current.version;
        let before = current.clone();
        let mut active: unit::ActiveModel = current.into();
        active.parent_id = Set(Some(parent_id.0));
        active.version = Set(version + 1);
        active.updated_at = Set(now());
        let m = active.update(tx.conn()).await?;
        // Subtrees moved: who manages and who belongs where changed for many.
        self.emit_directory(&tx, org, None);
        tx.audit(actor, AuditRecord::new("moveUnit", "Unit", m.id).changed(&before, &m));
        tx.commit().await?;
        convert::unit(m)
    }

    /// Deletes an empty unit: no sub-units, no people. The company stays.
    pub async fn delete_unit(
        &self,
        actor: &Actor,
        id: UnitId,
        expected_version: Option<i32>,
    ) -> StoreResult<Unit> {
        policy::authorize(actor, Action::Delete, &unit_resource(actor, Some(id)))?;
        let org = actor.organization_id;
        let tx = self.write().await?;
        let current = unit::Entity::find_by_id((org.0, id.0))
            .lock_exclusive()
            .one(tx.conn())
            .await?
            .ok_or(DomainError::not_found("unit"))?;
        check_version("unit", current.version, expected_version)?;
        let deleted = convert::unit(current.clone())?;
        let record = AuditRecord::new("deleteUnit", "Unit", current.id).deleted(&current);
        if deleted.kind == UnitKind::Company {
            return Err(DomainError::invalid("id", "the company unit cannot be deleted").into());
        }
        let children = self.units_of(org).filter(unit::Column::ParentId.eq(id.0)).count(tx.conn()).await?;
        if children > 0 {
            return Err(DomainError::invalid(
                "id",
                format!("the unit still has {children} sub-unit(s); move or delete them first"),
            )
            .into());
        }
        let people = person::Entity::find()
            .filter(person::Column::OrganizationId.eq(org.0))
            .filter(person::Column::UnitId.eq(id.0))
            .count(tx.conn())
            .await?;
        if people > 0 {
            return Err(DomainError::invalid(
                "id",
                format!("the unit still has {people} person(s); move them first"),
            )
            .into());
        }
        unit::Entity::delete_by_id((org.0, id.0)).exec(tx.conn()).await?;
        tx.audit(actor, record);
        tx.commit().await?;
        Ok(deleted)
    }

    /// Replaces the managers of a unit.
    pub async fn set_unit_managers(
        &self,
        actor: &Actor,
        id: UnitId,
        managers: &[PersonId],
    ) -> StoreResult<Unit> {
        policy::authorize(actor, Action::Update, &unit_resource(actor, Some(id)))?;
        let org = actor.organization_id;
        let tx = self.write().await?;
        let unit = self.load_unit(tx.conn(), org, id).await?;
        let mut previous: Vec<Uuid> = unit_manager::Entity::find()
            .select_only()
            .column(unit_manager::Column::PersonId)
            .filter(unit_manager::Column::OrganizationId.eq(org.0))
            .filter(unit_manager::Column::UnitId.eq(id.0))
            .into_tuple::<Uuid>()
            .all(tx.conn())
            .await?;
        previous.sort();
        let requested: Vec<Uuid> = managers.iter().map(|p| p.0).collect();
        let mut wanted = requested.clone();
        wanted.sort();
        wanted.dedup();
        if !wanted.is_empty() {
            let found = person::Entity::find()
                .select_only()
                .column(person::Column::Id)
                .filter(person::Column::OrganizationId.eq(org.0))
                .filter(id_in(self.db_backend(), "people.id", &wanted))
                .into_tuple::<Uuid>()
                .all(tx.conn())
                .await?;
            if let Some(missing) = requested.iter().position(|w| !found.contains(w)) {
                return Err(DomainError::invalid(
                    format!("managerIds[{missing}]"),
                    "no such person in this organization",
                )
                .into());
            }
        }
        unit_manager::Entity::delete_many()
            .filter(unit_manager::Column::OrganizationId.eq(org.0))
            .filter(unit_manager::Column::UnitId.eq(id.0))
            .exec(tx.conn())
            .await?;
        if !wanted.is_empty() {
            unit_manager::Entity::insert_many(wanted.iter().map(|p| unit_manager::ActiveModel {
                organization_id: Set(org.0),
                unit_id: Set(id.0),
                person_id: Set(*p),
            }))
            .exec(tx.conn())
            .await?;
        }
        self.emit_directory(&tx, org, None);
        tx.audit(
            actor,
            AuditRecord::new("setUnitManagers", "Unit", id.0)
                .before_field("managerIds", &previous)
                .after_field("managerIds", &wanted),
        );
        tx.commit().await?;
        Ok(unit)
    }
}
