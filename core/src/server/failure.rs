//! Why the server's work on a request failed: the one error type of the server layer. The
//! Worker maps each to an HTTP status and the contract's envelope in one place
//! (`worker/src/error.rs`).

use crate::server::app::NotOpened;
use crate::server::recorded::RecordError;
use crate::server::seal::SealError;
use crate::server::storage::StorageError;
use crate::wire::error::FieldError;
use crate::wire::ids::ClientId;
use std::fmt;

/// A request the server could not carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A parameter is missing or wrong (400).
    Field(FieldError),
    /// Unknown or revoked credentials (401); the text says which.
    Unauthorized(&'static str),
    /// Nothing here (404); the text says what.
    NotFound(String),
    /// The state of the resource forbids the request (409).
    Conflict(&'static str),
    /// The `Idempotency-Key` belongs to another request (409).
    IdempotencyConflict,
    /// A stored secret that must be shown could not be opened: its key is gone from the
    /// ring, or it was tampered with (500). The apps are named to the caller (none for a
    /// recorded answer); the keys their values name go to the log.
    NotOpened {
        /// The apps whose client secret could not be opened.
        client_ids: Vec<ClientId>,
        /// The keys the unopened values name.
        key_ids: Vec<String>,
    },
    /// The deployment is not configured to do this (500), found before anything was
    /// written: a shard not bound or not migrated. The text names what is missing; it
    /// concerns the deployment, not the caller, and holds no key material.
    NotReady(String),
    /// Anything unexpected (500) before any write was sent: nothing was changed. The text
    /// goes to the log, never to the caller.
    Internal(String),
    /// Anything unexpected (500) after a write was sent (it may have committed, its answer
    /// lost): whether it happened is unknown. The text goes to the log.
    InDoubt(String),
}

impl Failure {
    /// The failure for apps whose client secret could not be opened.
    pub fn from_not_opened(lost: Vec<NotOpened>) -> Self {
        let mut key_ids: Vec<String> = lost.iter().map(|l| l.key_id.clone()).collect();
        key_ids.sort();
        key_ids.dedup();
        Self::NotOpened {
            client_ids: lost.into_iter().map(|l| l.client_id).collect(),
            key_ids,
        }
    }

    /// This failure, knowing that a write of the request was sent and may have happened:
    /// an unexpected failure then cannot say that nothing was changed.
    pub fn after_write(self) -> Self {
        match self {
            Self::Internal(detail) => Self::InDoubt(detail),
            other => other,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Field(e) => write!(f, "{e}"),
            Self::Unauthorized(why) | Self::Conflict(why) => f.write_str(why),
            Self::NotFound(what) => f.write_str(what),
            Self::IdempotencyConflict => f.write_str("Idempotency-Key used for another request"),
            Self::NotOpened { key_ids, .. } => {
                write!(f, "stored secrets did not open (keys {key_ids:?})")
            }
            Self::NotReady(what) => write!(f, "the deployment is not ready: {what}"),
            Self::Internal(detail) => write!(f, "internal: {detail}"),
            Self::InDoubt(detail) => write!(f, "internal, after a write was sent: {detail}"),
        }
    }
}

impl std::error::Error for Failure {}

impl From<FieldError> for Failure {
    fn from(e: FieldError) -> Self {
        Self::Field(e)
    }
}

impl From<NotOpened> for Failure {
    fn from(e: NotOpened) -> Self {
        Self::from_not_opened(vec![e])
    }
}

impl From<RecordError> for Failure {
    /// A recorded answer that names a key the ring does not hold is a stored secret that
    /// could not be opened; any other failure is unexpected.
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Seal(SealError::UnknownKey(key_id)) => Self::NotOpened {
                client_ids: Vec::new(),
                key_ids: vec![key_id],
            },
            e => Self::Internal(e.to_string()),
        }
    }
}

impl From<StorageError> for Failure {
    fn from(e: StorageError) -> Self {
        Self::Internal(format!("storage: {e}"))
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("JSON: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unexpected_failure_becomes_in_doubt_after_a_write() {
        assert_eq!(
            Failure::Internal("x".into()).after_write(),
            Failure::InDoubt("x".into())
        );
        assert_eq!(
            Failure::NotFound("no app".into()).after_write(),
            Failure::NotFound("no app".into())
        );
        assert_eq!(
            Failure::IdempotencyConflict.after_write(),
            Failure::IdempotencyConflict
        );
    }
}
