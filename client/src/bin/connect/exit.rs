//! The exit statuses of `connect`, for scripts: 0 all done, 1 some rows failed, 2 usage
//! or input error, 3 server or network failure after retries.

use connect_client::Error;
use std::process::ExitCode;

/// How a command ended.
#[derive(Debug)]
pub enum Exit {
    /// Everything asked was done.
    Done,
    /// Some rows of an import failed (bad rows skipped, or refused by the server); the
    /// others are done.
    RowsFailed,
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

    /// A failed call: refused as asked (a 4xx, or refused before sending) is the caller's
    /// to fix (2); a 5xx, a network failure or an answer that makes no sense is 3.
    pub fn from_error(e: &Error, doing: &str) -> Self {
        let why = format!("{doing}: {e}");
        match e {
            Error::Invalid(_) | Error::Config(_) => Self::Usage(why),
            Error::Api { status, .. } if *status < 500 => Self::Usage(why),
            _ => Self::Failure(why),
        }
    }

    /// Reports the reason, if any, on stderr and gives the status.
    pub fn report(self) -> ExitCode {
        match self {
            Self::Done => ExitCode::SUCCESS,
            Self::RowsFailed => ExitCode::from(1),
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
