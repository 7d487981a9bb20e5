//! `GET /connect/v1/openapi.json`: the OpenAPI 3.1 document of the API, unauthenticated,
//! so client generators and people can read the contract from the service itself.

use crate::error::ApiResult;
use crate::http;
use worker::Response;

/// The document in the repository, compiled in (`openapi.json` at the root).
const DOCUMENT: &str = include_str!("../../../openapi.json");

/// The document.
pub fn get() -> ApiResult<Response> {
    http::json(200, DOCUMENT.to_owned())
}
