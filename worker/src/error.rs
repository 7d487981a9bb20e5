//! Every failure of a request, and the one place where it becomes an HTTP status and the
//! contract's error envelope.

use crate::rate_limit::Limit;
use connect_core::rules::app::NotOpened;
use connect_core::rules::error::FieldError;
use connect_core::rules::media_type::UnsupportedBody;
use connect_core::server::bookmark::{self, BookmarkError};
use connect_core::server::recorded::RecordError;
use connect_core::server::seal::SealError;
use connect_core::wire::error::{ErrorCode, ErrorDetails, ErrorEnvelope, ErrorObject};
use connect_core::wire::ids::ClientId;

/// A request that ends in an error response.
#[derive(Debug)]
pub enum ApiError {
    /// A parameter is missing or wrong (400).
    Field(FieldError),
    /// No, malformed, unknown or revoked credentials (401); the text says which.
    Unauthorized(&'static str),
    /// Nothing here (404).
    NotFound(String),
    /// The state of the resource forbids the request (409).
    Conflict(&'static str),
    /// The route exists with these methods (405).
    MethodNotAllowed(&'static [&'static str]),
    /// Body over 1 MiB (413).
    TooLarge,
    /// Body declared as something other than UTF-8 JSON, or encoded (415).
    UnsupportedMediaType(UnsupportedBody),
    /// The `Idempotency-Key` belongs to another request (409).
    IdempotencyConflict,
    /// Past a rate limit (429): too many requests for this API key, or too many failed
    /// operator authentications from this address.
    RateLimited(Limit),
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
    /// Anything unexpected (500), before any write of the request was sent: nothing was
    /// changed. The text goes to the log, never to the caller.
    Internal(String),
    /// Anything unexpected (500) after a write of the request was sent to D1 (it may have
    /// committed, its answer lost) or committed: whether it happened is unknown. The fetch
    /// handler turns an [`ApiError::Internal`] into this (see
    /// `Costs::write_may_have_happened`), so no handler has to remember it.
    InDoubt(String),
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::Field(_) => 400,
            Self::Unauthorized(_) => 401,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed(_) => 405,
            Self::TooLarge => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::Conflict(_) | Self::IdempotencyConflict => 409,
            Self::RateLimited(_) => 429,
            Self::NotOpened { .. } | Self::NotReady(_) | Self::Internal(_) | Self::InDoubt(_) => {
                500
            }
        }
    }

    /// The `error` of the envelope.
    pub fn to_object(&self) -> ErrorObject {
        match self {
            Self::Field(e) => e.to_error_object(),
            Self::Unauthorized(why) => ErrorObject::new(ErrorCode::AuthInvalidCredentials, *why),
            Self::NotFound(what) => ErrorObject::new(ErrorCode::ResourceNotFound, what.clone()),
            Self::Conflict(why) => ErrorObject::new(ErrorCode::ResourceConflict, *why),
            Self::MethodNotAllowed(allow) => ErrorObject::new(
                ErrorCode::MethodNotAllowed,
                format!("this route allows only {}", allow.join(", ")),
            ),
            Self::TooLarge => ErrorObject::new(ErrorCode::RequestTooLarge, "the request body is over 1 MiB"),
            Self::UnsupportedMediaType(why) => {
                ErrorObject::new(ErrorCode::UnsupportedMediaType, why.to_string()).with_details(
                    ErrorDetails {
                        parameter: Some(why.parameter().to_owned()),
                        ..ErrorDetails::default()
                    },
                )
            }
            Self::IdempotencyConflict => ErrorObject::new(
                ErrorCode::IdempotencyKeyConflict,
                "this Idempotency-Key was used with a different request; use a new key",
            ),
            Self::RateLimited(Limit::ApiKey) => ErrorObject::new(
                ErrorCode::RateLimited,
                "too many requests for this API key; retry after the number of seconds in Retry-After",
            ),
            Self::RateLimited(Limit::AdminLogins) => ErrorObject::new(
                ErrorCode::RateLimited,
                "too many failed admin authentications from this address; retry after the number of seconds in Retry-After with the right ADMIN_TOKEN",
            ),
            Self::NotOpened { client_ids, .. } => ErrorObject::new(
                ErrorCode::SystemInternalError,
                "a stored secret could not be opened: the key it was sealed with is not in the secrets key ring; nothing was changed (an operator restores the key, or rotate-client-secret replaces the secret)",
            )
            .with_details(ErrorDetails {
                client_ids: (!client_ids.is_empty()).then(|| client_ids.clone()),
                ..ErrorDetails::default()
            }),
            Self::NotReady(what) => ErrorObject::new(
                ErrorCode::SystemInternalError,
                format!("the deployment is not ready: {what}. Nothing was changed; an operator fixes it (GET /admin/v1/health names every problem), then retry"),
            ),
            Self::Internal(_) => ErrorObject::new(
                ErrorCode::SystemInternalError,
                "an unexpected error occurred and nothing was changed; retry with back-off and give support the request_id",
            ),
            Self::InDoubt(_) => ErrorObject::new(
                ErrorCode::SystemInternalError,
                IN_DOUBT_MESSAGE,
            ),
        }
    }

    /// The envelope for request `request_id`.
    pub fn envelope(&self, request_id: &str) -> ErrorEnvelope {
        ErrorEnvelope {
            error: self.to_object(),
            request_id: request_id.to_owned(),
        }
    }
}

/// The message of a 500 that came after the request's write was sent.
const IN_DOUBT_MESSAGE: &str = "an unexpected error occurred after the change was sent to the database: it may or may not have happened. Retry a POST with the same Idempotency-Key: you get the original answer if it happened, or it is performed once if it did not. A PATCH or PUT can be sent again as it is; a DELETE answers 404 if it happened. Give support the request_id";

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self::Field(e)
    }
}

impl From<BookmarkError> for ApiError {
    /// A sent `X-Connect-Bookmark` that this API did not send to this workspace, for its
    /// shard, is a bad parameter: the header.
    fn from(e: BookmarkError) -> Self {
        Self::Field(FieldError::invalid(bookmark::HEADER, e))
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<worker::kv::KvError> for ApiError {
    fn from(e: worker::kv::KvError) -> Self {
        Self::Internal(format!("KV: {e}"))
    }
}

impl From<NotOpened> for ApiError {
    fn from(e: NotOpened) -> Self {
        Self::from_not_opened(vec![e])
    }
}

impl From<RecordError> for ApiError {
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

impl ApiError {
    /// The error for apps whose client secret could not be opened.
    pub fn from_not_opened(lost: Vec<NotOpened>) -> Self {
        let mut key_ids: Vec<String> = lost.iter().map(|l| l.key_id.clone()).collect();
        key_ids.sort();
        key_ids.dedup();
        Self::NotOpened {
            client_ids: lost.into_iter().map(|l| l.client_id).collect(),
            key_ids,
        }
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("JSON: {e}"))
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
