//! The one error type of treewide-core.

use crate::model::Status;

/// Everything core can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value failed validation.
    #[error("invalid {what} {value:?}: expected {expected}")]
    Invalid {
        what: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A status change the rules forbid.
    #[error("status change {from} → {to} is not allowed {why}")]
    Transition {
        from: Status,
        to: Status,
        why: &'static str,
    },
    /// The row changed since the caller read it (optimistic concurrency).
    #[error("{what} was changed by someone else (version {expected} expected, {actual} found)")]
    Stale {
        what: &'static str,
        expected: i64,
        actual: i64,
    },
    /// No such row.
    #[error("{0} not found")]
    NotFound(String),
    /// A database failure.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A migration failure.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The person may not do this (a sign-off without the right to sign off).
    #[error("{0}")]
    Forbidden(String),
    /// The same thing exists already (a note written twice).
    #[error("{0}")]
    Conflict(String),
    /// Work handed to a background thread (argon2) did not finish.
    #[error("background task: {0}")]
    Task(String),
}

/// Result alias for core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
