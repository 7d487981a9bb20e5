//! What a call can fail with.

use connect_core::wire::error::FieldError;
use connect_core::wire::error::{ErrorCode, ErrorObject};
use std::fmt;

/// Why a call did not succeed.
#[derive(Debug)]
pub enum Error {
    /// The API answered with its error envelope (after any retries it allowed).
    Api {
        /// The HTTP status.
        status: u16,
        /// The envelope's `error`: code, message and details (`details.parameter`).
        error: Box<ErrorObject>,
        /// The envelope's `request_id`, for support.
        request_id: Option<String>,
    },
    /// The request was refused before it was sent, by the rules the server applies: the
    /// same code, message and parameter path the server would have answered.
    Invalid(Box<FieldError>),
    /// No answer: the network failed on every attempt (connection refused or reset,
    /// timeout). A write may or may not have happened; calling again with the same
    /// `Idempotency-Key` settles it.
    Transport(String),
    /// An answer that is not what the API sends (not its JSON, or no envelope on an
    /// error), with its status and the start of its body.
    Unexpected {
        /// The HTTP status.
        status: u16,
        /// What went wrong reading it.
        reason: String,
    },
    /// The client was configured with a base URL or key that cannot be used.
    Config(String),
}

impl Error {
    /// The envelope's code, for an answer of the API or a request refused before sending.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api { error, .. } => Some(error.code),
            Self::Invalid(e) => Some(e.code()),
            _ => None,
        }
    }

    /// The parameter at fault (`items[3].redirectUris[0]`, `Idempotency-Key`), where one
    /// is named.
    pub fn parameter(&self) -> Option<&str> {
        match self {
            Self::Api { error, .. } => error.details.as_ref()?.parameter.as_deref(),
            Self::Invalid(e) => Some(&e.parameter),
            _ => None,
        }
    }

    /// The HTTP status of an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Unexpected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api {
                status,
                error,
                request_id,
            } => {
                write!(f, "{status} {}: {}", error.code, error.message)?;
                if let Some(id) = request_id {
                    write!(f, " (request {id})")?;
                }
                Ok(())
            }
            Self::Invalid(e) => write!(f, "{} (not sent): {}", e.code(), e.message),
            Self::Transport(why) => write!(f, "network failure: {why}"),
            Self::Unexpected { status, reason } => {
                write!(f, "unexpected answer ({status}): {reason}")
            }
            Self::Config(why) => write!(f, "configuration: {why}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Self::Invalid(Box::new(e))
    }
}
