use crate::context::data;
use crate::error::ApiResult;
use crate::ids::{NodeType, decode_id};
use crate::types::enums::Role;
use crate::types::kpi::KpiNode;
use crate::types::{KeyResultNode, ObjectiveNode, PersonNode};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use goalgraph_domain::model::RoleSet;
use goalgraph_domain::{PersonId, UnitId};
use goalgraph_persistence::{NewPerson, PersonPatch};

#[derive(Default)]
pub struct PersonMutation;

#[derive(InputObject)]
pub struct CreatePersonInput {
    pub name: String,
    pub email: String,
    pub unit_id: ID,
    pub manager_id: Option<ID>,
    /// Default [MEMBER]; anything else needs ADMIN.
    pub roles: Option<Vec<Role>>,
    /// The `sub` claim of this person's tokens; default: the e-mail address.
    pub subject: Option<String>,
    pub external_id: Option<String>,
}

#[derive(InputObject)]
pub struct UpdatePersonInput {
    pub id: ID,
    pub name: Option<String>,
    pub email: Option<String>,
    pub unit_id: Option<ID>,
    /// null removes the manager.
    pub manager_id: MaybeUndefined<ID>,
    /// Changing roles needs ADMIN.
    pub roles: Option<Vec<Role>>,
    pub subject: Option<String>,
    /// null clears it.
    pub external_id: MaybeUndefined<String>,
    /// false deactivates: the person keeps their history but cannot sign in.
    pub active: Option<bool>,
    pub expected_version: Option<i32>,
}

#[derive(InputObject)]
pub struct TransferOwnershipInput {
    /// Usually a deactivated person.
    pub from_person_id: ID,
    /// An active person.
    pub to_person_id: ID,
}

/// What was handed over.
#[derive(SimpleObject)]
pub struct TransferOwnershipPayload {
    pub objectives: Vec<ObjectiveNode>,
    pub key_results: Vec<KeyResultNode>,
    pub kpis: Vec<KpiNode>,
}

#[derive(SimpleObject)]
pub struct PersonPayload {
    pub person: PersonNode,
}

fn roles(input: Option<Vec<Role>>) -> Option<RoleSet> {
    input.map(|r| RoleSet::new(r.into_iter().map(Into::into)))
}

#[Object]
impl PersonMutation {
    async fn create_person(&self, ctx: &Context<'_>, input: CreatePersonInput) -> ApiResult<PersonPayload> {
        let d = data(ctx)?;
        let new = NewPerson {
            name: input.name,
            email: input.email,
            unit_id: decode_id::<UnitId>("unitId", NodeType::Unit, &input.unit_id)?,
            manager_id: input
                .manager_id
                .as_ref()
                .map(|m| decode_id::<PersonId>("managerId", NodeType::Person, m))
                .transpose()?,
            roles: roles(input.roles),
            subject: input.subject,
            external_id: input.external_id,
        };
        Ok(PersonPayload { person: PersonNode(d.store.create_person(&d.ctx.actor, new).await?) })
    }

    async fn update_person(&self, ctx: &Context<'_>, input: UpdatePersonInput) -> ApiResult<PersonPayload> {
        let d = data(ctx)?;
        let id: PersonId = decode_id("id", NodeType::Person, &input.id)?;
        let patch = PersonPatch {
            name: input.name,
            email: input.email,
            unit_id: input
                .unit_id
                .as_ref()
                .map(|u| decode_id::<UnitId>("unitId", NodeType::Unit, u))
                .transpose()?,
            manager_id: match input.manager_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(m) => {
                    Some(Some(decode_id::<PersonId>("managerId", NodeType::Person, &m)?))
                }
            },
            roles: roles(input.roles),
            subject: input.subject,
            external_id: match input.external_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => Some(Some(v)),
            },
            active: input.active,
            expected_version: input.expected_version,
        };
        Ok(PersonPayload { person: PersonNode(d.store.update_person(&d.ctx.actor, id, patch).await?) })
    }

    /// Hands a person's open objectives, their key results in open
    /// objectives and their KPIs in use to another person, in one
    /// transaction (after someone left: see the ORPHANED_OWNER insight).
    async fn transfer_ownership(
        &self,
        ctx: &Context<'_>,
        input: TransferOwnershipInput,
    ) -> ApiResult<TransferOwnershipPayload> {
        let d = data(ctx)?;
        let from: PersonId = decode_id("fromPersonId", NodeType::Person, &input.from_person_id)?;
        let to: PersonId = decode_id("toPersonId", NodeType::Person, &input.to_person_id)?;
        let actor = &d.ctx.actor;
        let moved = d.store.transfer_ownership(actor, from, to).await?;
        let mut objectives = d.store.objectives_by_ids(actor, &moved.objectives).await?;
        let mut key_results = d.store.key_results_by_ids(actor, &moved.key_results).await?;
        let mut kpis = d.store.kpis_by_ids(actor, &moved.kpis).await?;
        Ok(TransferOwnershipPayload {
            objectives: moved
                .objectives
                .iter()
                .filter_map(|id| objectives.remove(id))
                .map(ObjectiveNode)
                .collect(),
            key_results: moved
                .key_results
                .iter()
                .filter_map(|id| key_results.remove(id))
                .map(KeyResultNode::new)
                .collect(),
            kpis: moved.kpis.iter().filter_map(|id| kpis.remove(id)).map(KpiNode).collect(),
        })
    }
}
