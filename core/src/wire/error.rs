//! The error envelope of the API.
//!
//! ```json
//! { "error": { "code": "VALIDATION_INVALID_PARAMETER",
//!              "message": "redirectUris[0] must be an https URL",
//!              "details": { "parameter": "redirectUris[0]" } },
//!   "request_id": "228aaefb-3ce2-4dd0-a73b-b96f71c5779f" }
//! ```
//!
//! The HTTP status of each code is the transport's business: the Worker maps codes to
//! statuses in one place.
//!
//! [`FieldError`] is a refused parameter, named by path: what every rule and every
//! `parse` of this crate returns, and the `error` of an envelope or a batch result.

use crate::wire::ids::ClientId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The stable, machine-readable error codes. Safe to `match` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// Missing, malformed, unknown or revoked API key.
    AuthInvalidCredentials,
    /// A valid key that may not do this.
    AuthForbidden,
    /// A required field is absent.
    ValidationMissingParameter,
    /// A field has the wrong type or value, is unknown, or the body is not JSON.
    ValidationInvalidParameter,
    /// No such resource in this workspace.
    ResourceNotFound,
    /// The state of the resource forbids the request.
    ResourceConflict,
    /// An `Idempotency-Key` reused with a different request.
    IdempotencyKeyConflict,
    /// Reserved: the reference's code for a first request with this `Idempotency-Key` that
    /// is still running. This server never sends it (concurrent requests with one key all
    /// get the original answer); a client may still meet it from another server.
    IdempotencyRequestInProgress,
    /// The body is over 1 MiB.
    RequestTooLarge,
    /// The body is not JSON.
    UnsupportedMediaType,
    /// The route exists, with other methods.
    MethodNotAllowed,
    /// Too many requests for this key.
    RateLimited,
    /// Anything unexpected. The message says whether the change may have happened (the
    /// failure came after the write was sent) or nothing was changed.
    SystemInternalError,
    /// A code this version of the crate does not know (a newer server). Never sent.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthInvalidCredentials => "AUTH_INVALID_CREDENTIALS",
            Self::AuthForbidden => "AUTH_FORBIDDEN",
            Self::ValidationMissingParameter => "VALIDATION_MISSING_PARAMETER",
            Self::ValidationInvalidParameter => "VALIDATION_INVALID_PARAMETER",
            Self::ResourceNotFound => "RESOURCE_NOT_FOUND",
            Self::ResourceConflict => "RESOURCE_CONFLICT",
            Self::IdempotencyKeyConflict => "IDEMPOTENCY_KEY_CONFLICT",
            Self::IdempotencyRequestInProgress => "IDEMPOTENCY_REQUEST_IN_PROGRESS",
            Self::RequestTooLarge => "REQUEST_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::RateLimited => "RATE_LIMITED",
            Self::SystemInternalError => "SYSTEM_INTERNAL_ERROR",
            Self::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Structured context of an error. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetails {
    /// The parameter at fault, by path: `name`, `items[3].redirectUris[0]`, `limit`,
    /// `Idempotency-Key`, `body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// The position of the failing item in a batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The limit that was exceeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// The apps whose stored secret could not be opened (a 500 that names them).
    #[serde(default, rename = "clientIds", skip_serializing_if = "Option::is_none")]
    pub client_ids: Option<Vec<ClientId>>,
}

impl ErrorDetails {
    fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// `{ code, message, details? }`: the `error` of an envelope, and of a failed batch item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// For people; may change between releases.
    pub message: String,
    /// Optional structured context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<ErrorDetails>,
}

impl ErrorObject {
    /// An error without details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// The same error with `details` (dropped when empty).
    pub fn with_details(mut self, details: ErrorDetails) -> Self {
        self.details = (!details.is_empty()).then_some(details);
        self
    }
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// What went wrong.
    pub error: ErrorObject,
    /// The request's id, also sent as `X-Request-Id`. Snake case, as in the reference.
    pub request_id: String,
}

/// Whether a field was absent or present and wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// A required field is absent: `VALIDATION_MISSING_PARAMETER`.
    Missing,
    /// A field is present with a wrong type or value, or is not allowed at all:
    /// `VALIDATION_INVALID_PARAMETER`.
    Invalid,
}

/// A request that does not validate: the parameter by path, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Missing or invalid.
    pub kind: FieldErrorKind,
    /// The parameter's path, as in [`ErrorDetails::parameter`].
    pub parameter: String,
    /// For people; starts with the parameter's path.
    pub message: String,
    /// The limit exceeded, where one was.
    pub max: Option<u64>,
    /// The batch item the error belongs to, where it does.
    pub index: Option<usize>,
}

impl FieldError {
    /// `parameter` is absent.
    pub fn missing(parameter: impl fmt::Display) -> Self {
        let parameter = parameter.to_string();
        Self {
            kind: FieldErrorKind::Missing,
            message: format!("{parameter} is required"),
            parameter,
            max: None,
            index: None,
        }
    }

    /// `parameter` is wrong; `why` completes the sentence "`parameter` ...".
    pub fn invalid(parameter: impl fmt::Display, why: impl fmt::Display) -> Self {
        let parameter = parameter.to_string();
        Self {
            kind: FieldErrorKind::Invalid,
            message: format!("{parameter} {why}"),
            parameter,
            max: None,
            index: None,
        }
    }

    /// The same error, recording the limit that was exceeded.
    pub fn with_max(mut self, max: u64) -> Self {
        self.max = Some(max);
        self
    }

    /// The same error with another message.
    #[cfg_attr(not(feature = "rules"), allow(dead_code))]
    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// The same error, attributed to batch item `index`.
    pub fn at_index(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }

    /// The error code for this kind.
    pub fn code(&self) -> ErrorCode {
        match self.kind {
            FieldErrorKind::Missing => ErrorCode::ValidationMissingParameter,
            FieldErrorKind::Invalid => ErrorCode::ValidationInvalidParameter,
        }
    }

    /// As the `error` of an envelope or of a batch result.
    pub fn to_error_object(&self) -> ErrorObject {
        ErrorObject::new(self.code(), self.message.clone()).with_details(ErrorDetails {
            parameter: Some(self.parameter.clone()),
            index: self.index,
            max: self.max,
            client_ids: None,
        })
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FieldError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_the_contract_shape() {
        let env = ErrorEnvelope {
            error: ErrorObject::new(
                ErrorCode::ValidationInvalidParameter,
                "redirectUris[0] must be an https URL",
            )
            .with_details(ErrorDetails {
                parameter: Some("redirectUris[0]".into()),
                ..ErrorDetails::default()
            }),
            request_id: "r".into(),
        };
        assert_eq!(
            serde_json::to_value(&env).unwrap(),
            serde_json::json!({
                "error": { "code": "VALIDATION_INVALID_PARAMETER",
                           "message": "redirectUris[0] must be an https URL",
                           "details": { "parameter": "redirectUris[0]" } },
                "request_id": "r"
            })
        );
    }

    #[test]
    fn unknown_codes_deserialize_for_forward_compatibility() {
        let e: ErrorObject =
            serde_json::from_str(r#"{"code":"SOMETHING_NEW","message":"m"}"#).unwrap();
        assert_eq!(e.code, ErrorCode::Unknown);
    }

    #[test]
    fn codes_serialize_as_their_wire_names() {
        for code in [
            ErrorCode::AuthInvalidCredentials,
            ErrorCode::IdempotencyRequestInProgress,
            ErrorCode::SystemInternalError,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn a_field_error_is_the_contract_envelope_error() {
        let err = FieldError::invalid("redirectUris[0]", "must be an https URL").with_max(20);
        let obj = serde_json::to_value(err.to_error_object()).unwrap();
        assert_eq!(
            obj,
            serde_json::json!({ "code": "VALIDATION_INVALID_PARAMETER",
                                "message": "redirectUris[0] must be an https URL",
                                "details": { "parameter": "redirectUris[0]", "max": 20 } })
        );
        assert_eq!(
            FieldError::missing("name").code(),
            ErrorCode::ValidationMissingParameter
        );
    }
}
