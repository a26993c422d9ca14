//! SeaORM entities: one per table, mirroring the migrations. They stay
//! inside this crate; the rest of the code sees domain types.

pub mod organization;
pub mod period;
pub mod person;
pub mod unit;
pub mod unit_manager;
