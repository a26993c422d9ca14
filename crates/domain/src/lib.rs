//! goalgraph's domain: organizations, units, people and periods as plain
//! types, validated values ("parse, don't validate"), the rules that keep them
//! consistent, and the one authorization policy every resolver asks.
//!
//! This crate owns no IO: it must not depend on sea-orm, axum or
//! async-graphql (`.ci/run` checks the dependency tree). Everything here is
//! a pure function of its inputs, so it is tested without a database.

pub mod alignment;
pub mod audit;
pub mod error;
pub mod formulas;
pub mod ids;
pub mod insights;
pub mod kpi;
pub mod live;
pub mod model;
pub mod okr;
pub mod policy;
pub mod regression;
pub mod report;
pub mod settings;
mod text_enum;
pub mod trajectory;
pub mod values;

pub use error::{DomainError, DomainResult};
pub use ids::*;
