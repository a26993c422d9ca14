//! The persistence boundary's error: a domain error, or a database fault
//! that must never reach a client verbatim.

use goalgraph_domain::DomainError;
use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("database error: {0}")]
    Database(DbErr),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Unique constraints and the input field each one protects. PostgreSQL
/// names the index; SQLite names the columns.
const UNIQUE_FIELDS: &[(&str, &str, &str)] = &[
    ("uq_people_email", "people.email", "email"),
    ("uq_people_subject", "people.subject", "subject"),
    ("uq_people_external_id", "people.external_id", "externalId"),
    ("uq_units_external_id", "units.external_id", "externalId"),
    ("uq_units_one_company", "units.organization_id", "kind"),
    ("organizations_slug_key", "organizations.slug", "slug"),
    ("uq_saved_reports_owner_name", "saved_reports.name", "name"),
];

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(message)) => {
                let field = UNIQUE_FIELDS
                    .iter()
                    .find(|(pg, sqlite, _)| message.contains(pg) || message.contains(sqlite))
                    .map(|(_, _, field)| *field);
                match field {
                    Some(field) => StoreError::Domain(DomainError::conflict(format!(
                        "{field} is already taken in this organization"
                    ))),
                    None => StoreError::Domain(DomainError::conflict("a unique value is already taken")),
                }
            }
            _ => StoreError::Database(err),
        }
    }
}

impl StoreError {
    pub fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt(what.into())
    }
}
