//! Every failure of a request, and the one place where it becomes an HTTP status and the
//! contract's error envelope: the core's [`Failure`]s, and what only HTTP can go wrong
//! with (methods, bodies, the rate limit).

use crate::rate_limit::Limit;
use connect_core::rules::media_type::UnsupportedBody;
use connect_core::server::bookmark::{self, BookmarkError};
use connect_core::server::failure::Failure;
use connect_core::wire::error::FieldError;
use connect_core::wire::error::{ErrorCode, ErrorDetails, ErrorEnvelope, ErrorObject};

/// A request that ends in an error response.
#[derive(Debug)]
pub enum ApiError {
    /// What the core refused or failed at.
    Server(Failure),
    /// The route exists with these methods (405).
    MethodNotAllowed(&'static [&'static str]),
    /// Body over 1 MiB (413).
    TooLarge,
    /// Body declared as something other than UTF-8 JSON, or encoded (415).
    UnsupportedMediaType(UnsupportedBody),
    /// Past a rate limit (429): too many requests for this API key, or too many failed
    /// operator authentications from this address.
    RateLimited(Limit),
}

/// The message of a 500 that came after the request's write was sent.
const IN_DOUBT_MESSAGE: &str = "an unexpected error occurred after the change was sent to the database: it may or may not have happened. Retry a POST with the same Idempotency-Key: you get the original answer if it happened, or it is performed once if it did not. A PATCH or PUT can be sent again as it is; a DELETE answers 404 if it happened. Give support the request_id";

impl ApiError {
    /// An unexpected failure (500, nothing changed unless a write was sent), whose text
    /// goes to the log.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::Server(Failure::Internal(detail.into()))
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::Server(failure) => match failure {
                Failure::Field(_) => 400,
                Failure::Unauthorized(_) => 401,
                Failure::NotFound(_) => 404,
                Failure::Conflict(_) | Failure::IdempotencyConflict => 409,
                Failure::NotOpened { .. }
                | Failure::NotReady(_)
                | Failure::Internal(_)
                | Failure::InDoubt(_) => 500,
            },
            Self::MethodNotAllowed(_) => 405,
            Self::TooLarge => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::RateLimited(_) => 429,
        }
    }

    /// The `error` of the envelope.
    pub fn to_object(&self) -> ErrorObject {
        match self {
            Self::Server(failure) => failure_object(failure),
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
            Self::RateLimited(Limit::ApiKey) => ErrorObject::new(
                ErrorCode::RateLimited,
                "too many requests for this API key; retry after the number of seconds in Retry-After",
            ),
            Self::RateLimited(Limit::AdminLogins) => ErrorObject::new(
                ErrorCode::RateLimited,
                "too many failed admin authentications from this address; retry after the number of seconds in Retry-After with the right ADMIN_TOKEN",
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

fn failure_object(failure: &Failure) -> ErrorObject {
    match failure {
        Failure::Field(e) => e.to_error_object(),
        Failure::Unauthorized(why) => ErrorObject::new(ErrorCode::AuthInvalidCredentials, *why),
        Failure::NotFound(what) => ErrorObject::new(ErrorCode::ResourceNotFound, what.clone()),
        Failure::Conflict(why) => ErrorObject::new(ErrorCode::ResourceConflict, *why),
        Failure::IdempotencyConflict => ErrorObject::new(
            ErrorCode::IdempotencyKeyConflict,
            "this Idempotency-Key was used with a different request; use a new key",
        ),
        Failure::NotOpened { client_ids, .. } => ErrorObject::new(
            ErrorCode::SystemInternalError,
            "a stored secret could not be opened: the key it was sealed with is not in the secrets key ring; nothing was changed (an operator restores the key, or rotate-client-secret replaces the secret)",
        )
        .with_details(ErrorDetails {
            client_ids: (!client_ids.is_empty()).then(|| client_ids.clone()),
            ..ErrorDetails::default()
        }),
        Failure::NotReady(what) => ErrorObject::new(
            ErrorCode::SystemInternalError,
            format!("the deployment is not ready: {what}. Nothing was changed; an operator fixes it (GET /admin/v1/health names every problem), then retry"),
        ),
        Failure::Internal(_) => ErrorObject::new(
            ErrorCode::SystemInternalError,
            "an unexpected error occurred and nothing was changed; retry with back-off and give support the request_id",
        ),
        Failure::InDoubt(_) => ErrorObject::new(ErrorCode::SystemInternalError, IN_DOUBT_MESSAGE),
    }
}

impl From<Failure> for ApiError {
    fn from(e: Failure) -> Self {
        Self::Server(e)
    }
}

impl From<connect_core::server::storage::StorageError> for ApiError {
    fn from(e: connect_core::server::storage::StorageError) -> Self {
        Self::Server(e.into())
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self::Server(Failure::Field(e))
    }
}

impl From<BookmarkError> for ApiError {
    /// A sent `X-Connect-Bookmark` that this API did not send to this workspace, for its
    /// shard, is a bad parameter: the header.
    fn from(e: BookmarkError) -> Self {
        Self::Server(Failure::Field(FieldError::invalid(bookmark::HEADER, e)))
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        Self::internal(e.to_string())
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        Self::internal(format!("JSON: {e}"))
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
