//! Organizations (tenants) and the facts about an actor the policy needs.

use crate::audit::{AuditRecord, row_value};
use crate::convert::{self, now};
use crate::entity::{organization, person, unit};
use crate::error::{StoreError, StoreResult};
use crate::sql::stmt;
use crate::store::Store;
use goalgraph_domain::model::{Organization, Person, Role, RoleSet, Unit, UnitKind, check_version};
use goalgraph_domain::policy::{self, Action, Actor, Principal, Resource};
use goalgraph_domain::settings::{OrganizationSettings, SettingsPatch};
use goalgraph_domain::values::{Email, Name, Slug, TimeZoneName};
use goalgraph_domain::{DomainError, OrganizationId, PersonId, UnitId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, QueryFilter,
    QueryOrder, QuerySelect, RelationDef, Set,
};
use uuid::Uuid;

/// A new tenant with its company unit and first admin.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub name: String,
    /// Derived from the name when absent.
    pub slug: Option<String>,
    pub time_zone: Option<String>,
    pub admin_name: String,
    pub admin_email: String,
}

#[derive(Debug, Clone, Default)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    pub settings: SettingsPatch,
    pub expected_version: Option<i32>,
}

impl Store {
    /// Creates a tenant: the organization, its COMPANY unit (named after
    /// it) and its first ADMIN, in one transaction. A system command: no
    /// actor exists yet.
    pub async fn create_organization(
        &self,
        new: NewOrganization,
    ) -> StoreResult<(Organization, Unit, Person)> {
        let name = Name::parse("name", &new.name)?;
        let slug = match &new.slug {
            Some(s) => Slug::parse("slug", s)?,
            None => Slug::from_name(name.as_str())?,
        };
        let mut settings = OrganizationSettings::default();
        if let Some(tz) = &new.time_zone {
            settings.time_zone = TimeZoneName::parse("timeZone", tz)?;
        }
        let admin_name = Name::parse("adminName", &new.admin_name)?;
        let admin_email = Email::parse("adminEmail", &new.admin_email)?;
        let at = now();
        let org_id = OrganizationId::new();
        let unit_id = UnitId::new();
        let person_id = PersonId::new();

        let tx = self.write().await?;
        let org = organization::ActiveModel {
            id: Set(org_id.0),
            name: Set(name.into_inner()),
            slug: Set(slug.into_inner()),
            settings: Set(settings.to_json()),
            version: Set(1),
            directory_version: sea_orm::ActiveValue::NotSet,
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(tx.conn())
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Domain(DomainError::Conflict { .. }) => {
                StoreError::Domain(DomainError::conflict("an organization with this slug exists"))
            }
            other => other,
        })?;
        let company = unit::ActiveModel {
            organization_id: Set(org_id.0),
            id: Set(unit_id.0),
            kind: Set(UnitKind::Company.as_str().to_owned()),
            name: Set(org.name.clone()),
            parent_id: Set(None),
            external_id: Set(None),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(tx.conn())
        .await?;
        let admin = person::ActiveModel {
            organization_id: Set(org_id.0),
            id: Set(person_id.0),
            name: Set(admin_name.into_inner()),
            email: Set(admin_email.as_str().to_owned()),
            unit_id: Set(unit_id.0),
            manager_id: Set(None),
            roles: Set(RoleSet::new([Role::Admin]).to_json()),
            subject: Set(admin_email.into_inner()),
            external_id: Set(None),
            active: Set(true),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(tx.conn())
        .await?;
        tx.audit_system(
            org_id,
            AuditRecord::new("createOrganization", "Organization", org_id.0)
                .created(&org)
                .after_field("companyUnit", row_value(&company))
                .after_field("admin", row_value(&admin)),
        );
        tx.commit().await?;
        Ok((convert::organization(org)?, convert::unit(company)?, convert::person(admin)))
    }

    /// Every organization, for operators' commands (not exposed over GraphQL).
    pub async fn list_organizations(&self) -> StoreResult<Vec<Organization>> {
        organization::Entity::find()
            .order_by_asc(organization::Column::Slug)
            .all(&self.db)
            .await?
            .into_iter()
            .map(convert::organization)
            .collect()
    }

    /// Finds a tenant by slug or by id, as a token's tenant claim names it.
    pub async fn find_organization(&self, reference: &str) -> StoreResult<Option<Organization>> {
        let by_slug = organization::Entity::find()
            .filter(organization::Column::Slug.eq(reference))
            .one(&self.db)
            .await?;
        let found = match (by_slug, Uuid::parse_str(reference)) {
            (Some(m), _) => Some(m),
            (None, Ok(id)) => organization::Entity::find_by_id(id).one(&self.db).await?,
            (None, Err(_)) => None,
        };
        found.map(convert::organization).transpose()
    }

    /// The actor's own organization.
    pub async fn organization(&self, actor: &Actor) -> StoreResult<Organization> {
        policy::authorize(
            actor,
            Action::Read,
            &Resource::Organization { organization_id: actor.organization_id },
        )?;
        let m = organization::Entity::find_by_id(actor.organization_id.0)
            .one(&self.db)
            .await?
            .ok_or(DomainError::not_found("organization"))?;
        convert::organization(m)
    }

    pub async fn update_organization(
        &self,
        actor: &Actor,
        patch: OrganizationPatch,
    ) -> StoreResult<Organization> {
        policy::authorize(
            actor,
            Action::Update,
            &Resource::Organization { organization_id: actor.organization_id },
        )?;
        let name = patch.name.as_deref().map(|n| Name::parse("name", n)).transpose()?;
        let tx = self.write().await?;
        let current = organization::Entity::find_by_id(actor.organization_id.0)
            .lock_exclusive()
            .one(tx.conn())
            .await?
            .ok_or(DomainError::not_found("organization"))?;
        let current_domain = convert::organization(current.clone())?;
        check_version("organization", current.version, patch.expected_version)?;
        let settings = current_domain.settings.apply(patch.settings)?;
        let before = current.clone();
        let mut active: organization::ActiveModel = current.into();
        if let Some(name) = name {
            active.name = Set(name.into_inner());
        }
        active.settings = Set(settings.to_json());
        active.version = Set(current_domain.version + 1);
        active.updated_at = Set(now());
        let updated = active.update(tx.conn()).await?;
        tx.audit(
            actor,
            AuditRecord::new("updateOrganization", "Organization", updated.id).changed(&before, &updated),
        );
        tx.commit().await?;
        convert::organization(updated)
    }

    /// Builds the actor for a token: the tenant named by `tenant`, the
    /// active person whose subject is `subject`, their roles (stored roles
    /// plus those the token grants) and the units they manage or belong to.
    /// `None` when any of these does not exist.
    pub async fn resolve_person_actor(
        &self,
        tenant: &str,
        subject: &str,
        token_roles: &RoleSet,
    ) -> StoreResult<Option<(Organization, Actor, Person)>> {
        // One statement for the tenant and the person. The reference is a
        // slug or an id, never both: a slug is never a UUID.
        let by_slug = organization::Column::Slug.eq(tenant);
        let tenant_matches = match Uuid::parse_str(tenant) {
            Ok(id) => Condition::any().add(by_slug).add(organization::Column::Id.eq(id)),
            Err(_) => Condition::all().add(by_slug),
        };
        let of_organization: RelationDef = person::Entity::belongs_to(organization::Entity)
            .from(person::Column::OrganizationId)
            .to(organization::Column::Id)
            .into();
        let found = person::Entity::find()
            .join(JoinType::InnerJoin, of_organization)
            .filter(tenant_matches)
            .filter(person::Column::Subject.eq(subject))
            .filter(person::Column::Active.eq(true))
            .select_also(organization::Entity)
            .one(&self.db)
            .await?;
        let Some((p, Some(org))) = found else {
            return Ok(None);
        };
        let version = org.directory_version;
        let org = convert::organization(org)?;
        let person = convert::person(p);
        let actor = self.actor_at(&person, version, token_roles).await?;
        Ok(Some((org, actor, person)))
    }

    /// The actor of a person as the directory holds it now, with the extra
    /// roles their credential granted; `None` once they are gone or
    /// inactive. Long-lived connections rebuild their actor with it.
    pub async fn refresh_person_actor(
        &self,
        org: OrganizationId,
        person: PersonId,
        extra_roles: &RoleSet,
    ) -> StoreResult<Option<(Actor, Person)>> {
        let Some(p) = person::Entity::find_by_id((org.0, person.0)).one(&self.db).await? else {
            return Ok(None);
        };
        if !p.active {
            return Ok(None);
        }
        let person = convert::person(p);
        let actor = self.person_actor(&person, extra_roles).await?;
        Ok(Some((actor, person)))
    }

    /// The actor of `person` with their stored roles and `extra_roles`, and
    /// the units they manage or belong to as the directory holds them now.
    pub async fn person_actor(&self, person: &Person, extra_roles: &RoleSet) -> StoreResult<Actor> {
        let version = self.directory_version(person.organization_id).await?;
        self.actor_at(person, version, extra_roles).await
    }

    /// [`Store::person_actor`] with the tenant's directory version already
    /// read: no statement while the tenant's tree in memory is current.
    async fn actor_at(&self, person: &Person, version: i64, extra_roles: &RoleSet) -> StoreResult<Actor> {
        let tree = self.unit_tree_at(person.organization_id, version).await?;
        let sets = tree.sets(person.id, person.unit_id);
        Ok(Actor {
            organization_id: person.organization_id,
            principal: Principal::Person { id: person.id, unit_id: person.unit_id },
            roles: person.roles.union(extra_roles),
            managed_units: sets.managed,
            unit_lineage: sets.lineage,
            unit_subtree: sets.subtree,
        })
    }

    /// Serialises structural changes of one tenant (re-parenting units,
    /// changing line managers): two concurrent moves must not each pass the
    /// cycle check against the tree as it was before the other. Locks the
    /// organization row on PostgreSQL; SQLite writers are serialised anyway.
    pub(crate) async fn lock_tenant(
        &self,
        tx: &crate::store::WriteTx,
        org: OrganizationId,
    ) -> StoreResult<()> {
        organization::Entity::find_by_id(org.0).lock_exclusive().one(tx.conn()).await?;
        Ok(())
    }

    /// Ancestors of a unit, nearest first (the unit itself excluded).
    pub(crate) async fn unit_ancestors_with<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrganizationId,
        unit: UnitId,
    ) -> StoreResult<Vec<UnitId>> {
        Ok(self.walk_up(conn, "units", "parent_id", org, unit.0).await?.into_iter().map(UnitId).collect())
    }

    /// Follows `link` (a column naming a row of the same table) upwards
    /// from `start`: the chain nearest first, `start` excluded. Bounded, so
    /// a cycle written behind the application's back cannot loop forever.
    pub(crate) async fn walk_up<C: ConnectionTrait>(
        &self,
        conn: &C,
        table: &str,
        link: &str,
        org: OrganizationId,
        start: Uuid,
    ) -> StoreResult<Vec<Uuid>> {
        let sql = format!(
            "WITH RECURSIVE up(id, next_id, depth) AS ( \
               SELECT id, {link}, 0 FROM {table} WHERE organization_id = $1 AND id = $2 \
               UNION ALL \
               SELECT t.id, t.{link}, up.depth + 1 FROM {table} t JOIN up ON t.id = up.next_id \
               WHERE t.organization_id = $1 AND up.depth < 100000 \
             ) SELECT id FROM up WHERE depth > 0 ORDER BY depth"
        );
        let rows =
            conn.query_all_raw(stmt(self.db_backend(), &sql, vec![org.0.into(), start.into()])).await?;
        rows.into_iter().map(|row| Ok(row.try_get::<Uuid>("", "id")?)).collect()
    }
}
