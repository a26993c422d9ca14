//! goalgraph's database migrations, for SQLite and PostgreSQL alike.
//!
//! Frozen once released: an applied migration is never edited; a change is
//! a new migration. Migrations never import the application's entities, so
//! they keep meaning what they meant when they were written.
//!
//! Every tenant-owned table carries `organization_id`, and every primary
//! key, unique constraint and foreign key between tenant tables includes it:
//! tenants stay apart by construction, and the schema can be distributed by
//! tenant without a redesign.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_organization_structure;
mod m20261122_000002_okrs;
mod m20261122_000003_kpis;
mod m20261122_000004_integrations;
mod m20261201_000005_live_events;
mod m20261201_000006_integration_kpis;
mod m20261201_000007_audit_trail;
mod m20261210_000008_saved_reports;
mod m20261210_000009_report_exports;
mod m20261215_000010_directory_version;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_organization_structure::Migration),
            Box::new(m20261122_000002_okrs::Migration),
            Box::new(m20261122_000003_kpis::Migration),
            Box::new(m20261122_000004_integrations::Migration),
            Box::new(m20261201_000005_live_events::Migration),
            Box::new(m20261201_000006_integration_kpis::Migration),
            Box::new(m20261201_000007_audit_trail::Migration),
            Box::new(m20261210_000008_saved_reports::Migration),
            Box::new(m20261210_000009_report_exports::Migration),
            Box::new(m20261215_000010_directory_version::Migration),
        ]
    }
}
