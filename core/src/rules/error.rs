//! The error of the rules: a request that does not validate, naming its parameter by path.

use crate::wire::error::{ErrorCode, ErrorDetails, ErrorObject};
use std::fmt;

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
