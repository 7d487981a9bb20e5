//! One logical call over HTTP: its attempts, the waits between them, and its answer read
//! into a type or into [`Error`].

use crate::error::Error;
use crate::retry::{Outcome, RetryPolicy};
use connect_core::wire::error::ErrorObject;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// The API's header for reading one's own writes.
const BOOKMARK: &str = "x-connect-bookmark";

/// An HTTP method the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

/// One logical call: what every attempt sends.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: Method,
    /// The URL, base included.
    pub url: Url,
    /// The JSON body, for POST, PUT and PATCH.
    pub body: Option<String>,
    /// The `Idempotency-Key` of every attempt of a POST.
    pub idempotency_key: Option<String>,
}

/// The connection, the key, the retry policy and the latest bookmark shared by every call
/// of a client.
#[derive(Clone)]
pub(crate) struct Transport {
    pub agent: ureq::Agent,
    pub api_key: String,
    pub policy: RetryPolicy,
    /// The latest `X-Connect-Bookmark` the API sent, sent back with every request: a read
    /// then sees at least what the client's earlier calls saw, its own writes included,
    /// wherever it is served from.
    pub bookmark: Arc<Mutex<Option<String>>>,
}

/// The envelope of an error answer.
#[derive(Deserialize)]
struct Envelope {
    error: ErrorObject,
    #[serde(default)]
    request_id: Option<String>,
}

/// What one attempt came back with.
enum Attempt {
    Answer {
        status: u16,
        retry_after: Option<u64>,
        body: String,
    },
    /// No answer; `retryable` is false for failures a retry cannot mend (a malformed URL,
    /// a TLS certificate refused).
    NoAnswer { why: String, retryable: bool },
}

impl Transport {
    /// Performs `call`, retrying as the policy allows, and reads a success as `T`.
    pub fn perform<T: DeserializeOwned>(&self, call: &Call) -> Result<T, Error> {
        self.perform_noting_doubt(call).0
    }

    /// [`Transport::perform`], also saying whether an attempt before the last may have
    /// changed something: it went unanswered, or its answer was a `5xx`.
    pub fn perform_noting_doubt<T: DeserializeOwned>(
        &self,
        call: &Call,
    ) -> (Result<T, Error>, bool) {
        let mut attempt = 1;
        let mut in_doubt = false;
        loop {
            let result = self.attempt(call);
            let outcome = match &result {
                Attempt::Answer {
                    status,
                    retry_after,
                    body,
                } => Some(Outcome::Answer {
                    status: *status,
                    code: serde_json::from_str::<Envelope>(body)
                        .ok()
                        .map(|e| e.error.code),
                    retry_after: *retry_after,
                }),
                Attempt::NoAnswer {
                    retryable: true, ..
                } => Some(Outcome::NoAnswer),
                Attempt::NoAnswer { .. } => None,
            };
            match outcome.and_then(|o| self.policy.delay(attempt, &o, fastrand::f64())) {
                Some(wait) => {
                    in_doubt |= match outcome {
                        Some(Outcome::Answer { status, .. }) => status >= 500,
                        _ => true,
                    };
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                None => return (self.finish(result), in_doubt),
            }
        }
    }

    fn latest_bookmark(&self) -> Option<String> {
        self.bookmark.lock().ok().and_then(|b| b.clone())
    }

    fn attempt(&self, call: &Call) -> Attempt {
        let url = call.url.as_str();
        let auth = format!("Bearer {}", self.api_key);
        let bookmark = self.latest_bookmark();
        let sent = match call.method {
            Method::Get | Method::Delete => {
                let builder = if call.method == Method::Get {
                    self.agent.get(url)
                } else {
                    self.agent.delete(url)
                };
                let mut builder = builder
                    .header("authorization", &auth)
                    .header("accept", "application/json");
                if let Some(bookmark) = &bookmark {
                    builder = builder.header(BOOKMARK, bookmark);
                }
                builder.call()
            }
            Method::Post | Method::Put | Method::Patch => {
                let builder = match call.method {
                    Method::Post => self.agent.post(url),
                    Method::Put => self.agent.put(url),
                    _ => self.agent.patch(url),
                };
                let mut builder = builder
                    .header("authorization", &auth)
                    .header("accept", "application/json")
                    .header("content-type", "application/json");
                if let Some(key) = &call.idempotency_key {
                    builder = builder.header("idempotency-key", key);
                }
                if let Some(bookmark) = &bookmark {
                    builder = builder.header(BOOKMARK, bookmark);
                }
                builder.send(call.body.as_deref().unwrap_or("").as_bytes())
            }
        };
        match sent {
            Ok(mut response) => {
                let status = response.status().as_u16();
                if let Some(latest) = response
                    .headers()
                    .get(BOOKMARK)
                    .and_then(|v| v.to_str().ok())
                {
                    if let Ok(mut kept) = self.bookmark.lock() {
                        *kept = Some(latest.to_owned());
                    }
                }
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                match response.body_mut().read_to_string() {
                    Ok(body) => Attempt::Answer {
                        status,
                        retry_after,
                        body,
                    },
                    Err(e) => Attempt::NoAnswer {
                        why: format!("reading the answer: {e}"),
                        retryable: true,
                    },
                }
            }
            Err(e) => Attempt::NoAnswer {
                retryable: is_retryable(&e),
                why: e.to_string(),
            },
        }
    }

    /// The call's result from its last attempt.
    fn finish<T: DeserializeOwned>(&self, last: Attempt) -> Result<T, Error> {
        match last {
            Attempt::NoAnswer { why, .. } => Err(Error::Transport(why)),
            Attempt::Answer { status, body, .. } if (200..300).contains(&status) => {
                serde_json::from_str(&body).map_err(|e| Error::Unexpected {
                    status,
                    reason: format!("{e}: {}", preview(&body)),
                })
            }
            Attempt::Answer { status, body, .. } => match serde_json::from_str::<Envelope>(&body) {
                Ok(envelope) => Err(Error::Api {
                    status,
                    error: Box::new(envelope.error),
                    request_id: envelope.request_id,
                }),
                Err(_) => Err(Error::Unexpected {
                    status,
                    reason: format!("no error envelope: {}", preview(&body)),
                }),
            },
        }
    }
}

/// Whether a failure to get an answer may go away by itself.
fn is_retryable(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
            | ureq::Error::Protocol(_)
    )
}

/// The start of a body, for an error message.
fn preview(body: &str) -> String {
    let mut cut: String = body.chars().take(200).collect();
    if cut.len() < body.len() {
        cut.push('…');
    }
    cut
}

/// The agent every client uses: status codes are answers, not errors (the envelope is
/// read from them), and no call hangs for ever.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .user_agent(concat!("connect-client/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}
