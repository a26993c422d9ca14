//! HRIS directory sync over GraphQL: one mutation that upserts units and
//! people by their external ids, all or nothing (ADMIN, HR and
//! `DIRECTORY_WRITE` integrations; only ADMIN changes roles).

use crate::context::data;
use crate::error::ApiResult;
use crate::types::enums::{Role, UnitKind};
use async_graphql::{Context, InputObject, Object, SimpleObject};
use goalgraph_domain::model::RoleSet;
use goalgraph_persistence::{DirectoryPerson, DirectorySync, DirectoryUnit, SyncReport};

/// A unit as the HRIS knows it, matched by its external id.
#[derive(InputObject)]
pub struct DirectoryUnitInput {
    pub external_id: String,
    pub name: String,
    /// DEPARTMENT or TEAM: the COMPANY unit is the organization's own.
    pub kind: UnitKind,
    /// A unit of this call or of the organization; null: directly below
    /// the company unit.
    pub parent_external_id: Option<String>,
}

/// A person as the HRIS knows them, matched by their external id (or, for a
/// person without one yet, by e-mail address).
#[derive(InputObject)]
pub struct DirectoryPersonInput {
    pub external_id: String,
    pub name: String,
    /// New people sign in with it as their token subject.
    pub email: String,
    /// A unit of this call or of the organization; null: the company unit.
    pub unit_external_id: Option<String>,
    /// A person of this call or of the organization; null: no line manager.
    pub manager_external_id: Option<String>,
    /// false deactivates: the person keeps their history but cannot sign in.
    #[graphql(default = true)]
    pub active: bool,
    /// null keeps the stored roles (new people: [MEMBER]); a change needs ADMIN.
    pub roles: Option<Vec<Role>>,
}

#[derive(InputObject)]
pub struct SyncDirectoryInput {
    #[graphql(default)]
    pub units: Vec<DirectoryUnitInput>,
    /// People absent from the call are left as they are.
    #[graphql(default)]
    pub people: Vec<DirectoryPersonInput>,
    /// A retry with the same key and input writes nothing.
    pub idempotency_key: Option<String>,
}

/// What a sync call did.
#[derive(SimpleObject)]
pub struct SyncDirectoryPayload {
    pub units_created: u64,
    pub units_updated: u64,
    pub people_created: u64,
    /// Existing people changed, the deactivated ones not counted.
    pub people_updated: u64,
    /// Active people this call deactivated.
    pub people_deactivated: u64,
    /// Rows of the call the directory held already.
    pub unchanged: u64,
    /// True when the idempotency key had been used with the same input
    /// (every count is then 0).
    pub replayed: bool,
}

impl From<SyncReport> for SyncDirectoryPayload {
    fn from(r: SyncReport) -> Self {
        Self {
            units_created: r.units_created,
            units_updated: r.units_updated,
            people_created: r.people_created,
            people_updated: r.people_updated,
            people_deactivated: r.people_deactivated,
            unchanged: r.unchanged,
            replayed: r.replayed,
        }
    }
}

#[derive(Default)]
pub struct DirectoryMutation;

#[Object]
impl DirectoryMutation {
    /// Creates and updates units and people by their external ids in one
    /// all-or-nothing call: bad rows are named by index (`people[12].email`)
    /// and nothing is written. Only rows that differ are written; nothing is
    /// deleted.
    async fn sync_directory(
        &self,
        ctx: &Context<'_>,
        input: SyncDirectoryInput,
    ) -> ApiResult<SyncDirectoryPayload> {
        let d = data(ctx)?;
        let sync = DirectorySync {
            units: input
                .units
                .into_iter()
                .map(|u| DirectoryUnit {
                    external_id: u.external_id,
                    name: u.name,
                    kind: u.kind.into(),
                    parent_external_id: u.parent_external_id,
                })
                .collect(),
            people: input
                .people
                .into_iter()
                .map(|p| DirectoryPerson {
                    external_id: p.external_id,
                    name: p.name,
                    email: p.email,
                    unit_external_id: p.unit_external_id,
                    manager_external_id: p.manager_external_id,
                    active: p.active,
                    roles: p.roles.map(|r| RoleSet::new(r.into_iter().map(Into::into))),
                })
                .collect(),
            idempotency_key: input.idempotency_key,
        };
        Ok(d.store.sync_directory(&d.ctx.actor, sync).await?.into())
    }
}
