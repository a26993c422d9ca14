//! GraphQL object types, kept apart from the storage entities.

pub mod enums;
pub mod goal;
pub mod kpi;
pub mod node;
pub mod organization;
pub mod period;
pub mod person;
pub mod scalars;
pub mod trajectory;
pub mod unit;

pub use goal::{CheckInNode, KeyResultNode, ObjectiveNode};
pub use kpi::{KpiNode, MeasurementNode};
pub use node::Node;
pub use organization::OrganizationNode;
pub use period::PeriodNode;
pub use person::PersonNode;
pub use unit::UnitNode;
