//! GraphQL object types, kept apart from the storage entities.

pub mod enums;
pub mod node;
pub mod organization;
pub mod period;
pub mod person;
pub mod unit;

pub use node::Node;
pub use organization::OrganizationNode;
pub use period::PeriodNode;
pub use person::PersonNode;
pub use unit::UnitNode;
