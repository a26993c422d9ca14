//! SeaORM entities: one per table, mirroring the migrations. They stay
//! inside this crate; the rest of the code sees domain types.

pub mod audit_event;
pub mod audit_head;
pub mod check_in;
pub mod idempotency_key;
pub mod integration;
pub mod integration_kpi;
pub mod key_result;
pub mod key_result_kpi_link;
pub mod kpi;
pub mod kpi_measurement;
pub mod objective;
pub mod objective_kpi_source;
pub mod organization;
pub mod period;
pub mod person;
pub mod report_export;
pub mod saved_report;
pub mod unit;
pub mod unit_manager;
