//! What crosses HTTP: request bodies, the App and every answer, the error envelope and its
//! codes, the formats of ids, secrets and timestamps, and the route table. serde only:
//! this is what a client needs.

pub mod app;
pub mod error;
pub mod ids;
pub mod request;
pub mod response;
pub mod routes;
pub mod secrets;
pub mod time;
