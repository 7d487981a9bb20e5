//! The exit statuses of `connect`, for scripts: 0 all done, 1 not all done (some rows
//! not created, a deletion declined), 2 usage or input error, 3 server or network failure
//! after retries.

use connect_client::retry::Outcome;
use connect_client::Error;
use std::process::ExitCode;

/// How a command ended.
#[derive(Debug)]
pub enum Exit {
    /// Everything asked was done.
    Done,
    /// Some rows of an import did not become apps (refused by the server, or unsendable);
    /// the others are done. What went wrong was reported row by row.
    RowsFailed,
    /// Not done, as the user answered (1).
    Declined(String),
    /// The command, its input or its configuration is wrong (2).
    Usage(String),
    /// The server failed or could not be reached, after retries (3).
    Failure(String),
}

impl Exit {
    pub fn usage(why: impl Into<String>) -> Self {
        Self::Usage(why.into())
    }

    pub fn failure(why: impl Into<String>) -> Self {
        Self::Failure(why.into())
    }

    /// A failed call. An answer that the same request would always get again (a `4xx`
    /// other than `429`), or a request refused before sending, is the caller's to fix
    /// (2). A `5xx`, a `429` or an `IDEMPOTENCY_REQUEST_IN_PROGRESS` that outlasted the
    /// retries, a network failure, or an answer that makes no sense is 3: try again later.
    pub fn from_error(e: &Error, doing: &str) -> Self {
        let why = format!("{doing}: {e}");
        if is_final(e) {
            Self::Usage(why)
        } else {
            Self::Failure(why)
        }
    }

    /// Reports the reason, if any, on stderr and gives the status.
    pub fn report(self) -> ExitCode {
        match self {
            Self::Done => ExitCode::SUCCESS,
            Self::RowsFailed => ExitCode::from(1),
            Self::Declined(why) => {
                eprintln!("connect: {why}");
                ExitCode::from(1)
            }
            Self::Usage(why) => {
                eprintln!("connect: {why}");
                ExitCode::from(2)
            }
            Self::Failure(why) => {
                eprintln!("connect: {why}");
                ExitCode::from(3)
            }
        }
    }
}

/// Whether the same request would get the same answer again: refused before sending, or
/// an answer the client's retry rules would not retry. A write refused so did nothing.
pub fn is_final(e: &Error) -> bool {
    match e {
        Error::Invalid(_) | Error::Config(_) => true,
        Error::Api { status, error, .. } => !Outcome::Answer {
            status: *status,
            code: Some(error.code),
            retry_after: None,
        }
        .is_retryable(),
        Error::Transport(_) | Error::Unexpected { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_client::{ErrorCode, ErrorObject};

    fn api(status: u16, code: ErrorCode) -> Error {
        Error::Api {
            status,
            error: Box::new(ErrorObject::new(code, "m")),
            request_id: None,
        }
    }

    #[test]
    fn what_a_retry_could_change_is_a_failure_and_the_rest_is_the_callers() {
        for (e, status) in [
            (api(400, ErrorCode::ValidationInvalidParameter), 2),
            (api(401, ErrorCode::AuthInvalidCredentials), 2),
            (api(404, ErrorCode::ResourceNotFound), 2),
            (api(409, ErrorCode::IdempotencyKeyConflict), 2),
            (api(429, ErrorCode::RateLimited), 3),
            (api(409, ErrorCode::IdempotencyRequestInProgress), 3),
            (api(500, ErrorCode::SystemInternalError), 3),
            (api(503, ErrorCode::Unknown), 3),
            (Error::Transport("reset".into()), 3),
        ] {
            let got = match Exit::from_error(&e, "x") {
                Exit::Usage(_) => 2,
                Exit::Failure(_) => 3,
                other => panic!("{other:?}"),
            };
            assert_eq!(got, status, "{e}");
        }
    }
}
