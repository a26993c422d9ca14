use super::enums::PeriodStatus;
use super::scalars::Date;
use crate::ids::{NodeType, encode_id};
use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use goalgraph_domain::model::Period;

/// A goal cycle, usually a quarter. Dates are days in the organization's
/// time zone; the end date is inclusive.
pub struct PeriodNode(pub Period);

#[Object(name = "Period")]
impl PeriodNode {
    pub async fn id(&self) -> ID {
        encode_id(NodeType::Period, self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn start_date(&self) -> Date {
        Date(self.0.start_date)
    }
    async fn end_date(&self) -> Date {
        Date(self.0.end_date)
    }
    async fn status(&self) -> PeriodStatus {
        self.0.status.into()
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
