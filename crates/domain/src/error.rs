//! The domain's one error type. Every boundary above converts it explicitly.

/// What went wrong, in terms a client can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The object does not exist, or the actor may not see it: the two are
    /// deliberately indistinguishable so that ids cannot be probed.
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    /// The actor may see the object but not do this to it.
    #[error("not allowed to {action}")]
    Forbidden { action: String },
    /// Input that breaks a rule; `field` names the input field at fault.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A concurrent change, a duplicate, or a reused idempotency key.
    #[error("{message}")]
    Conflict { message: String },
}

impl DomainError {
    pub fn not_found(entity: &'static str) -> Self {
        Self::NotFound { entity }
    }

    pub fn forbidden(action: impl Into<String>) -> Self {
        Self::Forbidden { action: action.into() }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict { message: message.into() }
    }

    /// Prefixes the field of an `Invalid` error, e.g. `points[3]` + `value`.
    pub fn in_field(self, prefix: &str) -> Self {
        match self {
            Self::Invalid { field, message } => Self::Invalid { field: format!("{prefix}.{field}"), message },
            other => other,
        }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
