//! goalgraph's storage: SeaORM entities and the [`Store`] that reads and
//! writes them on SQLite or PostgreSQL.
//!
//! The only crate that imports sea_orm. Every command runs in one
//! transaction, asks the domain's policy module before it reads or changes
//! anything, and maps database errors to domain errors (a unique key becomes
//! `Conflict`). Callers see domain types only.

mod audit;
mod bridge;
mod checkins;
mod convert;
pub mod crypto;
mod directory;
mod encryption;
pub mod entity;
mod error;
mod exports;
mod generate;
mod goal_views;
mod goals;
mod history;
mod integrations;
mod kpis;
mod live;
mod org;
mod ownership;
pub mod page;
mod people;
mod periods;
mod report;
mod review;
mod saved_reports;
mod sql;
mod store;
mod trajectory;
mod tree;
mod unit_sets;
mod units;

pub use audit::{AuditEntry, AuditFilter, with_request_id};
pub use checkins::CheckInInput;
pub use crypto::Keyring;
pub use directory::{DirectoryPerson, DirectorySync, DirectoryUnit, SyncReport};
pub use encryption::{EncryptionStatus, RotationReport};
pub use error::{StoreError, StoreResult};
pub use exports::{ExportLink, RedeemedLink};
pub use generate::{GenerateOptions, GenerateReport, MIN_PEOPLE, Progress};
pub use goals::{
    KeyResultPatch, NewKeyResult, NewObjective, ObjectiveFilter, ObjectiveOrder, ObjectivePatch,
};
pub use history::KeyResultAsOf;
pub use integrations::{Integration, KEY_PREFIX};
pub use kpis::{KpiFilter, KpiPatch, KpiRef, KpiState, NewKpi, Recorded};
pub use live::{CHANNEL as LIVE_CHANNEL, Delivery, LiveError, LiveHub, Route, Subscription};
pub use org::{NewOrganization, OrganizationPatch};
pub use ownership::Transferred;
pub use page::{CursorKey, Page, PageArgs, SortDirection};
pub use people::{NewPerson, PeopleFilter, PeopleParent, PersonOrder, PersonPatch};
pub use periods::{NewPeriod, PeriodOrder, PeriodPatch};
pub use report::{LabeledRow, ReportQuery, ReportRows};
pub use review::{GradeCounts, KindCounts, ReviewCounts, provisional};
pub use saved_reports::SavedReportInput;
pub use store::{Backend, Store, StoreOptions, WriteTx};
pub use tree::{Column as TreeColumn, NotCompiled, TreeField, TreeValue};
pub use units::{NewUnit, UnitFilter, UnitOrder, UnitPatch};
