//! Every failure of a request, and the one place where it becomes an HTTP status and the
//! contract's error envelope.

use connect_core::rules::error::FieldError;
use connect_core::rules::media_type::UnsupportedBody;
use connect_core::server::recorded::RecordError;
use connect_core::server::row::OpenError;
use connect_core::wire::error::{ErrorCode, ErrorDetails, ErrorEnvelope, ErrorObject};

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
    /// Too many requests for this API key (429).
    RateLimited,
    /// Anything unexpected (500). The text goes to the log, never to the caller.
    Internal(String),
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
            Self::RateLimited => 429,
            Self::Internal(_) => 500,
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
            Self::RateLimited => ErrorObject::new(
                ErrorCode::RateLimited,
                "too many requests for this API key; retry after the number of seconds in Retry-After",
            ),
            Self::Internal(_) => ErrorObject::new(
                ErrorCode::SystemInternalError,
                "an unexpected error occurred and nothing was changed; retry with back-off and give support the request_id",
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

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self::Field(e)
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

impl From<OpenError> for ApiError {
    fn from(e: OpenError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<RecordError> for ApiError {
    fn from(e: RecordError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("JSON: {e}"))
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
