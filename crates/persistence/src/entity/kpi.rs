use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "kpis")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub unit_id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub category: String,
    pub unit_label: String,
    pub direction: String,
    pub target: Option<f64>,
    pub healthy_lower: Option<f64>,
    pub healthy_upper: Option<f64>,
    pub tolerance_absolute: Option<f64>,
    pub tolerance_percent: Option<f64>,
    pub cadence: String,
    pub archived: bool,
    pub external_id: Option<String>,
    pub promoted_from_key_result_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
