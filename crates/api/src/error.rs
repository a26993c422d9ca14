//! The API boundary's error and its one mapping to `extensions.code`.
//!
//! `ApiError` deliberately does not implement `Display`: async-graphql has
//! a blanket `From<T: Display>` for its error type, and a bare `?` on a
//! database error would send the database's text to the client. Every
//! conversion goes through the exhaustive `match` below instead.

use goalgraph_domain::DomainError;
use goalgraph_persistence::StoreError;

/// The codes of `extensions.code`: the product brief's, plus TIMEOUT (the
/// request ran past its time budget and was cancelled) and
/// PERSISTED_QUERY_NOT_FOUND (a document hash the server does not know, or
/// a document outside the trusted-document allowlist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    RateLimited,
    Timeout,
    PersistedQueryNotFound,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::Timeout => "TIMEOUT",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::Internal => "INTERNAL",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    Unauthenticated,
    Forbidden {
        message: String,
    },
    NotFound {
        entity: String,
    },
    BadUserInput {
        field: String,
        message: String,
    },
    Conflict {
        message: String,
    },
    RateLimited {
        retry_after_seconds: u64,
    },
    /// The cause was logged where it happened; the client learns nothing
    /// but the request id (added by the server).
    Internal,
}

/// The message clients see for any internal error.
pub const INTERNAL_MESSAGE: &str = "internal error";

impl ApiError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput { field: field.into(), message: message.into() }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::Forbidden { .. } => ErrorCode::Forbidden,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::BadUserInput { .. } => ErrorCode::BadUserInput,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Internal => ErrorCode::Internal,
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        let code = err.code().as_str();
        let (message, field, retry) = match err {
            ApiError::Unauthenticated => ("authentication required".to_owned(), None, None),
            ApiError::Forbidden { message } => (format!("forbidden: {message}"), None, None),
            ApiError::NotFound { entity } => (format!("{entity} not found"), None, None),
            ApiError::BadUserInput { field, message } => (format!("{field}: {message}"), Some(field), None),
            ApiError::Conflict { message } => (message, None, None),
            ApiError::RateLimited { retry_after_seconds } => {
                (format!("rate limited; retry in {retry_after_seconds} s"), None, Some(retry_after_seconds))
            }
            ApiError::Internal => (INTERNAL_MESSAGE.to_owned(), None, None),
        };
        let mut error = async_graphql::Error::new(message);
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", code);
        if let Some(field) = field {
            ext.set("field", field);
        }
        if let Some(retry) = retry {
            ext.set("retryAfterSeconds", retry);
        }
        error.extensions = Some(ext);
        error
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::NotFound { entity } => Self::NotFound { entity: entity.to_owned() },
            DomainError::Forbidden { action } => Self::Forbidden { message: action },
            DomainError::Invalid { field, message } => Self::BadUserInput { field, message },
            DomainError::Conflict { message } => Self::Conflict { message },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Domain(d) => d.into(),
            StoreError::Database(e) => {
                tracing::error!(error = %e, "database error");
                Self::Internal
            }
            StoreError::Corrupt(what) => {
                tracing::error!(%what, "corrupt row");
                Self::Internal
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
