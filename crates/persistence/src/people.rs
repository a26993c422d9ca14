//! People: the directory of a tenant.

use crate::audit::AuditRecord;
use crate::convert::{self, now};
use crate::entity::{person, unit};
use crate::error::StoreResult;
use crate::page::{self, CursorKey, Page, PageArgs, SortDirection, SortSpec};
use crate::sql::id_in;
use crate::store::{Store, WriteTx};
use crate::units::{external_id, like_pattern};
use goalgraph_domain::model::{Person, RoleSet, check_manager, check_version};
use goalgraph_domain::policy::{self, Action, Actor, Resource};
use goalgraph_domain::values::{Email, Name};
use goalgraph_domain::{DomainError, OrganizationId, PersonId, UnitId};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Select, Set,
};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct NewPerson {
    pub name: String,
    pub email: String,
    pub unit_id: UnitId,
    pub manager_id: Option<PersonId>,
    /// Default: MEMBER. Anything else needs the right to change roles.
    pub roles: Option<RoleSet>,
    /// The `sub` of this person's tokens; default: the e-mail address.
    pub subject: Option<String>,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PersonPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub unit_id: Option<UnitId>,
    /// `Some(None)` removes the manager.
    pub manager_id: Option<Option<PersonId>>,
    pub roles: Option<RoleSet>,
    pub subject: Option<String>,
    pub external_id: Option<Option<String>>,
    pub active: Option<bool>,
    pub expected_version: Option<i32>,
}

#[derive(Debug, Clone, Default)]
pub struct PeopleFilter {
    pub unit_id: Option<UnitId>,
    pub manager_id: Option<PersonId>,
    pub active: Option<bool>,
    pub search: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PersonOrder {
    #[default]
    Name,
    Email,
    CreatedAt,
}

/// Whose people a nested list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeopleParent {
    Unit(UnitId),
    Manager(PersonId),
}

fn person_sort(order: PersonOrder, direction: SortDirection) -> SortSpec<person::Entity> {
    match order {
        PersonOrder::Name => SortSpec::<person::Entity> {
            column: person::Column::Name,
            id_column: person::Column::Id,
            direction,
            parse: page::parse_text,
            key_of: |m| CursorKey { key: m.name.clone(), id: m.id },
        },
        PersonOrder::Email => SortSpec::<person::Entity> {
            column: person::Column::Email,
            id_column: person::Column::Id,
            direction,
            parse: page::parse_text,
            key_of: |m| CursorKey { key: m.email.clone(), id: m.id },
        },
        PersonOrder::CreatedAt => SortSpec::<person::Entity> {
            column: person::Column::CreatedAt,
            id_column: person::Column::Id,
            direction,
            parse: page::parse_time,
            key_of: |m| CursorKey { key: m.created_at.to_rfc3339(), id: m.id },
        },
    }
}

fn person_resource(actor: &Actor, id: Option<PersonId>) -> Resource {
    Resource::Person { organization_id: actor.organization_id, person_id: id }
}

fn subject(raw: &str) -> StoreResult<String> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 255 {
        return Err(DomainError::invalid("subject", "must be 1-255 characters").into());
    }
    Ok(s.to_owned())
}

impl Store {
    fn people_of(&self, org: OrganizationId) -> Select<person::Entity> {
        person::Entity::find().filter(person::Column::OrganizationId.eq(org.0))
    }

    pub async fn person(&self, actor: &Actor, id: PersonId) -> StoreResult<Person> {
        policy::authorize(actor, Action::Read, &person_resource(actor, Some(id)))?;
        let m = person::Entity::find_by_id((actor.organization_id.0, id.0))
            .one(&self.db)
            .await?
            .ok_or(DomainError::not_found("person"))?;
        Ok(convert::person(m))
    }

    /// The people of `ids` the actor may see, in one statement.
    pub async fn people_by_ids(
        &self,
        actor: &Actor,
        ids: &[PersonId],
    ) -> StoreResult<HashMap<PersonId, Person>> {
        if !policy::can_read(actor, &person_resource(actor, None)) {
            return Ok(HashMap::new());
        }
        let rows = self
            .rows_with(self.people_of(actor.organization_id), "people.id", ids.iter().map(|i| i.0))
            .await?;
        Ok(rows.into_iter().map(|m| (PersonId(m.id), convert::person(m))).collect())
    }

    fn filtered_people(&self, actor: &Actor, filter: &PeopleFilter) -> Select<person::Entity> {
        let mut q = self.people_of(actor.organization_id);
        if let Some(unit) = filter.unit_id {
            q = q.filter(person::Column::UnitId.eq(unit.0));
        }
        if let Some(manager) = filter.manager_id {
            q = q.filter(person::Column::ManagerId.eq(manager.0));
        }
        if let Some(active) = filter.active {
            q = q.filter(person::Column::Active.eq(active));
        }
        if let Some(term) = filter.search.as_deref().filter(|t| !t.trim().is_empty()) {
            let pattern = like_pattern(term);
            q = q.filter(
                Condition::any()
                    .add(
                        Expr::expr(Func::lower(Expr::col(person::Column::Name)))
                            .like(LikeExpr::new(pattern.clone()).escape('\\')),
                    )
                    .add(Expr::col(person::Column::Email).like(LikeExpr::new(pattern).escape('\\'))),
            );
        }
        q
    }

    pub async fn list_people(
        &self,
        actor: &Actor,
        filter: &PeopleFilter,
        order: PersonOrder,
        direction: SortDirection,
        args: &PageArgs,
    ) -> StoreResult<Page<Person>> {
        if !policy::can_read(actor, &person_resource(actor, None)) {
            return Ok(Page { items: vec![], has_next_page: false });
        }
        let spec = person_sort(order, direction);
        let page = page::fetch_page(&self.db, self.filtered_people(actor, filter), spec, args).await?;
        Ok(page.map(convert::person))
    }

    pub async fn count_people(&self, actor: &Actor, filter: &PeopleFilter) -> StoreResult<u64> {
        if !policy::can_read(actor, &person_resource(actor, None)) {
            return Ok(0);
        }
        Ok(self.filtered_people(actor, filter).count(&self.db).await?)
    }

    /// Splits parents into units and managers, for the grouped queries below.
    fn parent_filter(
        &self,
        actor: &Actor,
        parents: &[PeopleParent],
        filter: &PeopleFilter,
    ) -> (Select<person::Entity>, person::Column, fn(&person::Model) -> Uuid) {
        let q =
            self.filtered_people(actor, &PeopleFilter { unit_id: None, manager_id: None, ..filter.clone() });
        let by_unit = parents.iter().any(|p| matches!(p, PeopleParent::Unit(_)));
        if by_unit {
            let ids: Vec<Uuid> = parents
                .iter()
                .filter_map(|p| match p {
                    PeopleParent::Unit(u) => Some(u.0),
                    PeopleParent::Manager(_) => None,
                })
                .collect();
            (q.filter(id_in(self.db_backend(), "people.unit_id", &ids)), person::Column::UnitId, |m| {
                m.unit_id
            })
        } else {
            let ids: Vec<Uuid> = parents
                .iter()
                .filter_map(|p| match p {
                    PeopleParent::Manager(m) => Some(m.0),
                    PeopleParent::Unit(_) => None,
                })
                .collect();
            (q.filter(id_in(self.db_backend(), "people.manager_id", &ids)), person::Column::ManagerId, |m| {
                m.manager_id.unwrap_or_default()
            })
        }
    }

    /// The same page of people for many parents of one kind (all units, or
    /// all managers), in one statement.
    pub async fn people_pages(
        &self,
        actor: &Actor,
        parents: &[PeopleParent],
        filter: &PeopleFilter,
        order: PersonOrder,
        direction: SortDirection,
        args: &PageArgs,
    ) -> StoreResult<HashMap<PeopleParent, Page<Person>>> {
        if parents.is_empty() || !policy::can_read(actor, &person_resource(actor, None)) {
            return Ok(HashMap::new());
        }
        let (select, column, group_of) = self.parent_filter(actor, parents, filter);
        let by_unit = matches!(column, person::Column::UnitId);
        let raw: Vec<Uuid> = parents
            .iter()
            .map(|p| match p {
                PeopleParent::Unit(u) => u.0,
                PeopleParent::Manager(m) => m.0,
            })
            .collect();
        let pages = page::fetch_grouped_pages(
            &self.db,
            select,
            &raw,
            column,
            group_of,
            person_sort(order, direction),
            args,
        )
        .await?;
        Ok(pages
            .into_iter()
            .map(|(parent, page)| {
                let key = if by_unit {
                    PeopleParent::Unit(UnitId(parent))
                } else {
                    PeopleParent::Manager(PersonId(parent))
                };
                (key, page.map(convert::person))
            })
            .collect())
    }

    /// How many people each parent holds (same filter), in one statement.
    pub async fn people_counts(
        &self,
        actor: &Actor,
        parents: &[PeopleParent],
        filter: &PeopleFilter,
    ) -> StoreResult<HashMap<PeopleParent, u64>> {
        if parents.is_empty() || !policy::can_read(actor, &person_resource(actor, None)) {
            return Ok(HashMap::new());
        }
        let (select, column, _) = self.parent_filter(actor, parents, filter);
        let by_unit = matches!(column, person::Column::UnitId);
        let counts = page::count_grouped(&self.db, select, column).await?;
        Ok(counts
            .into_iter()
            .map(|(parent, n)| {
                (
                    if by_unit {
                        PeopleParent::Unit(UnitId(parent))
                    } else {
                        PeopleParent::Manager(PersonId(parent))
                    },
                    n,
                )
            })
            .collect())
    }

    /// The units each person of `ids` manages, in one statement.
    pub async fn managed_units(
        &self,
        actor: &Actor,
        ids: &[PersonId],
    ) -> StoreResult<HashMap<PersonId, Vec<UnitId>>> {
        let raw: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
        let mut out: HashMap<PersonId, Vec<UnitId>> = HashMap::new();
        for r in self.manager_links(actor, "unit_managers.person_id", &raw).await? {
            out.entry(PersonId(r.person_id)).or_default().push(UnitId(r.unit_id));
        }
        Ok(out)
    }

    async fn check_unit_exists(&self, tx: &WriteTx, org: OrganizationId, unit_id: UnitId) -> StoreResult<()> {
        unit::Entity::find_by_id((org.0, unit_id.0))
            .one(tx.conn())
            .await?
            .map(|_| ())
            .ok_or_else(|| DomainError::invalid("unitId", "no such unit in this organization").into())
    }

    /// The chain of managers above `manager`, nearest first.
    async fn manager_chain<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrganizationId,
        manager: PersonId,
    ) -> StoreResult<Vec<PersonId>> {
        Ok(self
            .walk_up(conn, "people", "manager_id", org, manager.0)
            .await?
            .into_iter()
            .map(PersonId)
            .collect())
    }

    async fn check_manager_of(
        &self,
        tx: &WriteTx,
        org: OrganizationId,
        person: Option<PersonId>,
        manager: PersonId,
    ) -> StoreResult<()> {
        person::Entity::find_by_id((org.0, manager.0))
            .one(tx.conn())
            .await?
            .ok_or_else(|| DomainError::invalid("managerId", "no such person in this organization"))?;
        let chain = self.manager_chain(tx.conn(), org, manager).await?;
        check_manager(person, manager, &chain)?;
        Ok(())
    }

    pub async fn create_person(&self, actor: &Actor, new: NewPerson) -> StoreResult<Person> {
        policy::authorize(actor, Action::Create, &person_resource(actor, None))?;
        let roles = match new.roles {
            Some(roles) if roles != policy::default_roles() => {
                policy::authorize(actor, Action::ChangeRoles, &person_resource(actor, None))?;
                roles
            }
            _ => policy::default_roles(),
        };
        let name = Name::parse("name", &new.name)?;
        let email = Email::parse("email", &new.email)?;
        let subject = match new.subject.as_deref() {
            Some(s) => subject(s)?,
            None => email.as_str().to_owned(),
        };
        let external_id = external_id("externalId", new.external_id.as_deref())?;
        let org = actor.organization_id;
        let tx = self.write().await?;
        self.check_unit_exists(&tx, org, new.unit_id).await?;
        if let Some(manager) = new.manager_id {
            self.check_manager_of(&tx, org, None, manager).await?;
        }
        let at = now();
        let m = person::ActiveModel {
            organization_id: Set(org.0),
            id: Set(PersonId::new().0),
            name: Set(name.into_inner()),
            email: Set(email.into_inner()),
            unit_id: Set(new.unit_id.0),
            manager_id: Set(new.manager_id.map(|m| m.0)),
            roles: Set(roles.to_json()),
            subject: Set(subject),
            external_id: Set(external_id),
            active: Set(true),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(tx.conn())
        .await?;
        tx.audit(actor, AuditRecord::new("createPerson", "Person", m.id).created(&m));
        tx.commit().await?;
        Ok(convert::person(m))
    }

    pub async fn update_person(
        &self,
        actor: &Actor,
        id: PersonId,
        patch: PersonPatch,
    ) -> StoreResult<Person> {
        policy::authorize(actor, Action::Update, &person_resource(actor, Some(id)))?;
        let name = patch.name.as_deref().map(|n| Name::parse("name", n)).transpose()?;
        let email = patch.email.as_deref().map(|e| Email::parse("email", e)).transpose()?;
        let new_subject = patch.subject.as_deref().map(subject).transpose()?;
        let external = match &patch.external_id {
            Some(raw) => Some(external_id("externalId", raw.as_deref())?),
            None => None,
        };
        let org = actor.organization_id;
        let tx = self.write().await?;
        if matches!(patch.manager_id, Some(Some(_))) {
            self.lock_tenant(&tx, org).await?;
        }
        let current = person::Entity::find_by_id((org.0, id.0))
            .lock_exclusive()
            .one(tx.conn())
            .await?
            .ok_or(DomainError::not_found("person"))?;
        check_version("person", current.version, patch.expected_version)?;
        let before = convert::person(current.clone());
        let before_row = current.clone();
        if let Some(roles) = &patch.roles
            && *roles != before.roles
        {
            policy::authorize(actor, Action::ChangeRoles, &person_resource(actor, Some(id)))?;
        }
        if let Some(unit) = patch.unit_id {
            self.check_unit_exists(&tx, org, unit).await?;
        }
        if let Some(Some(manager)) = patch.manager_id {
            self.check_manager_of(&tx, org, Some(id), manager).await?;
        }
        let mut active: person::ActiveModel = current.into();
        if let Some(name) = name {
            active.name = Set(name.into_inner());
        }
        if let Some(email) = email {
            active.email = Set(email.into_inner());
        }
        if let Some(subject) = new_subject {
            active.subject = Set(subject);
        }
        if let Some(unit) = patch.unit_id {
            active.unit_id = Set(unit.0);
        }
        if let Some(manager) = patch.manager_id {
            active.manager_id = Set(manager.map(|m| m.0));
        }
        if let Some(roles) = patch.roles {
            active.roles = Set(roles.to_json());
        }
        if let Some(external) = external {
            active.external_id = Set(external);
        }
        if let Some(flag) = patch.active {
            active.active = Set(flag);
        }
        active.version = Set(before.version + 1);
        active.updated_at = Set(now());
        let m = active.update(tx.conn()).await?;
        if m.unit_id != before.unit_id.0 {
            // A person's goals hang in their unit: visibility and line
            // management follow them when they move.
            crate::entity::objective::Entity::update_many()
                .col_expr(
                    crate::entity::objective::Column::OwnerUnitId,
                    sea_orm::sea_query::Expr::value(m.unit_id),
                )
                .filter(crate::entity::objective::Column::OrganizationId.eq(org.0))
                .filter(crate::entity::objective::Column::OwnerPersonId.eq(id.0))
                .exec(tx.conn())
                .await?;
        }
        let after = convert::person(m.clone());
        if after.roles != before.roles || after.unit_id != before.unit_id || after.active != before.active {
            self.emit_directory(&tx, org, Some(id));
        }
        tx.audit(actor, AuditRecord::new("updatePerson", "Person", m.id).changed(&before_row, &m));
        tx.commit().await?;
        Ok(after)
    }

    /// Looks a person up by e-mail without an actor: for operators' commands
    /// such as `goalgraph token`.
    pub async fn find_person_by_email(
        &self,
        org: OrganizationId,
        email: &str,
    ) -> StoreResult<Option<Person>> {
        let email = Email::parse("email", email)?;
        Ok(self
            .people_of(org)
            .filter(person::Column::Email.eq(email.as_str()))
            .one(&self.db)
            .await?
            .map(convert::person))
    }
}
