use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "check_ins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub key_result_id: Uuid,
    pub value: f64,
    pub confidence: Option<f64>,
    pub note: Option<String>,
    pub author_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::key_result::Entity",
        from = "(Column::OrganizationId, Column::KeyResultId)",
        to = "(super::key_result::Column::OrganizationId, super::key_result::Column::Id)"
    )]
    KeyResult,
}

impl Related<super::key_result::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::KeyResult.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
