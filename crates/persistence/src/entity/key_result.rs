use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "key_results")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub objective_id: Uuid,
    pub owner_id: Uuid,
    pub title: String,
    pub measure: String,
    pub start_value: f64,
    pub target_value: f64,
    pub current_value: f64,
    pub unit_label: String,
    pub weight: f64,
    pub confidence: Option<f64>,
    pub last_check_in_at: Option<DateTimeUtc>,
    pub progress: f64,
    pub score: Option<f64>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::objective::Entity",
        from = "(Column::OrganizationId, Column::ObjectiveId)",
        to = "(super::objective::Column::OrganizationId, super::objective::Column::Id)"
    )]
    Objective,
}

impl Related<super::objective::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Objective.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
