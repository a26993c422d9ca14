use crate::context::data;
use crate::error::ApiResult;
use crate::ids::{NodeType, decode_id, encode_id};
use crate::types::UnitNode;
use crate::types::enums::UnitKind;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use goalgraph_domain::{PersonId, UnitId};
use goalgraph_persistence::{NewUnit, UnitPatch};

#[derive(Default)]
pub struct UnitMutation;

#[derive(InputObject)]
pub struct CreateUnitInput {
    /// DEPARTMENT or TEAM: the COMPANY unit comes with the organization.
    pub kind: UnitKind,
    pub name: String,
    pub parent_id: ID,
    pub external_id: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateUnitInput {
    pub id: ID,
    pub name: Option<String>,
    /// null clears it.
    pub external_id: MaybeUndefined<String>,
    pub expected_version: Option<i32>,
}

#[derive(InputObject)]
pub struct MoveUnitInput {
    pub id: ID,
    /// The new parent; not the unit itself nor one of its descendants.
    pub parent_id: ID,
    pub expected_version: Option<i32>,
}

#[derive(InputObject)]
pub struct DeleteUnitInput {
    pub id: ID,
    pub expected_version: Option<i32>,
}

#[derive(InputObject)]
pub struct SetUnitManagersInput {
    pub unit_id: ID,
    /// The complete new list of managers.
    pub manager_ids: Vec<ID>,
}

#[derive(SimpleObject)]
pub struct UnitPayload {
    pub unit: UnitNode,
}

#[derive(SimpleObject)]
pub struct DeleteUnitPayload {
    pub deleted_unit_id: ID,
}

#[Object]
impl UnitMutation {
    /// Adds a department or team below an existing unit.
    async fn create_unit(&self, ctx: &Context<'_>, input: CreateUnitInput) -> ApiResult<UnitPayload> {
        let d = data(ctx)?;
        let new = NewUnit {
            kind: input.kind.into(),
            name: input.name,
            parent_id: decode_id("parentId", NodeType::Unit, &input.parent_id)?,
            external_id: input.external_id,
        };
        Ok(UnitPayload { unit: UnitNode(d.store.create_unit(&d.ctx.actor, new).await?) })
    }

    /// Renames a unit or changes its external id.
    async fn update_unit(&self, ctx: &Context<'_>, input: UpdateUnitInput) -> ApiResult<UnitPayload> {
        let d = data(ctx)?;
        let id: UnitId = decode_id("id", NodeType::Unit, &input.id)?;
        let patch = UnitPatch {
            name: input.name,
            external_id: match input.external_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => Some(Some(v)),
            },
            expected_version: input.expected_version,
        };
        Ok(UnitPayload { unit: UnitNode(d.store.update_unit(&d.ctx.actor, id, patch).await?) })
    }

    /// Re-parents a unit (with its whole subtree).
    async fn move_unit(&self, ctx: &Context<'_>, input: MoveUnitInput) -> ApiResult<UnitPayload> {
        let d = data(ctx)?;
        let id: UnitId = decode_id("id", NodeType::Unit, &input.id)?;
        let parent: UnitId = decode_id("parentId", NodeType::Unit, &input.parent_id)?;
        Ok(UnitPayload {
            unit: UnitNode(d.store.move_unit(&d.ctx.actor, id, parent, input.expected_version).await?),
        })
    }

    /// Deletes a unit with no sub-units and no people.
    async fn delete_unit(&self, ctx: &Context<'_>, input: DeleteUnitInput) -> ApiResult<DeleteUnitPayload> {
        let d = data(ctx)?;
        let id: UnitId = decode_id("id", NodeType::Unit, &input.id)?;
        let deleted = d.store.delete_unit(&d.ctx.actor, id, input.expected_version).await?;
        Ok(DeleteUnitPayload { deleted_unit_id: encode_id(NodeType::Unit, deleted.id.0) })
    }

    /// Replaces the managers of a unit.
    async fn set_unit_managers(
        &self,
        ctx: &Context<'_>,
        input: SetUnitManagersInput,
    ) -> ApiResult<UnitPayload> {
        let d = data(ctx)?;
        let id: UnitId = decode_id("unitId", NodeType::Unit, &input.unit_id)?;
        let managers = input
            .manager_ids
            .iter()
            .enumerate()
            .map(|(i, m)| decode_id::<PersonId>(&format!("managerIds[{i}]"), NodeType::Person, m))
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(UnitPayload { unit: UnitNode(d.store.set_unit_managers(&d.ctx.actor, id, &managers).await?) })
    }
}
