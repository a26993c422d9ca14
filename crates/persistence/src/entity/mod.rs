//! SeaORM entities: one per table, mirroring the migrations. They stay
//! inside this crate; the rest of the code sees domain types.

pub mod check_in;
pub mod idempotency_key;
pub mod key_result;
pub mod objective;
pub mod organization;
pub mod period;
pub mod person;
pub mod unit;
pub mod unit_manager;
