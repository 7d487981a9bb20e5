//! When a call is tried again, and after how long.
//!
//! Retried: no answer at all (connection refused or reset, timeout), any `5xx`, `429`
//! and `409 IDEMPOTENCY_REQUEST_IN_PROGRESS`. Never another `4xx`: the same request would
//! get the same answer. The wait doubles from [`RetryPolicy::base`] up to
//! [`RetryPolicy::max_delay`], with full jitter (a random wait between none and that
//! bound, so many clients that failed together do not retry together); a `Retry-After`
//! from the server is a floor.

use connect_core::wire::error::ErrorCode;
use std::time::Duration;

/// How often and how patiently a call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: never retry).
    pub max_attempts: u32,
    /// The bound of the first wait; doubled for each further one.
    pub base: Duration,
    /// The largest bound of a wait (before `Retry-After`, which may ask for more).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Six attempts, waits bounded by 0.25 s, 0.5 s, 1 s, 2 s, 4 s: about 8 s at most
    /// before giving up, unless the server asks for longer with `Retry-After`.
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

/// What came back from one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No answer (connection failed, reset, timed out).
    NoAnswer,
    /// An answer: its status, its error code if it was an envelope, and its
    /// `Retry-After` in seconds if it had one.
    Answer {
        /// HTTP status.
        status: u16,
        /// The envelope's code.
        code: Option<ErrorCode>,
        /// `Retry-After`, in seconds.
        retry_after: Option<u64>,
    },
}

impl Outcome {
    /// Whether the same request could get another answer later.
    pub fn is_retryable(&self) -> bool {
        match *self {
            Self::NoAnswer => true,
            Self::Answer { status, code, .. } => {
                status >= 500
                    || status == 429
                    || (status == 409 && code == Some(ErrorCode::IdempotencyRequestInProgress))
            }
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before attempt `attempt + 1` after attempt `attempt` (1-based) came back
    /// as `outcome`, or `None` when the call should stop there. `jitter` is a number in
    /// `[0, 1)`.
    pub fn delay(&self, attempt: u32, outcome: &Outcome, jitter: f64) -> Option<Duration> {
        if attempt >= self.max_attempts || !outcome.is_retryable() {
            return None;
        }
        let doubling = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
        let bound = self.base.saturating_mul(doubling).min(self.max_delay);
        let wait = bound.mul_f64(jitter.clamp(0.0, 1.0));
        let floor = match outcome {
            Outcome::Answer {
                retry_after: Some(s),
                ..
            } => Duration::from_secs(*s),
            _ => Duration::ZERO,
        };
        Some(wait.max(floor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, code: Option<ErrorCode>, retry_after: Option<u64>) -> Outcome {
        Outcome::Answer {
            status,
            code,
            retry_after,
        }
    }

    #[test]
    fn only_answers_that_may_change_are_retried() {
        let p = RetryPolicy::default();
        for retried in [
            Outcome::NoAnswer,
            answer(500, Some(ErrorCode::SystemInternalError), None),
            answer(502, None, None),
            answer(429, Some(ErrorCode::RateLimited), Some(1)),
            answer(409, Some(ErrorCode::IdempotencyRequestInProgress), Some(1)),
        ] {
            assert!(p.delay(1, &retried, 0.5).is_some(), "{retried:?}");
        }
        for final_ in [
            answer(400, Some(ErrorCode::ValidationInvalidParameter), None),
            answer(401, Some(ErrorCode::AuthInvalidCredentials), None),
            answer(404, Some(ErrorCode::ResourceNotFound), None),
            answer(409, Some(ErrorCode::IdempotencyKeyConflict), None),
            answer(409, Some(ErrorCode::ResourceConflict), None),
            answer(413, Some(ErrorCode::RequestTooLarge), None),
        ] {
            assert_eq!(p.delay(1, &final_, 0.5), None, "{final_:?}");
        }
    }

    #[test]
    fn waits_double_up_to_the_cap_and_stop_at_the_last_attempt() {
        let p = RetryPolicy::default();
        let full = |attempt| p.delay(attempt, &Outcome::NoAnswer, 0.999_999);
        let ms = |d: Option<Duration>| d.map(|d| d.as_millis());
        assert_eq!(ms(full(1)), Some(249));
        assert_eq!(ms(full(2)), Some(499));
        assert_eq!(ms(full(3)), Some(999));
        assert_eq!(ms(full(5)), Some(3_999));
        assert_eq!(full(6), None);
        let long = RetryPolicy {
            max_attempts: 100,
            ..p
        };
        assert_eq!(
            long.delay(60, &Outcome::NoAnswer, 0.999_999)
                .map(|d| d.as_secs()),
            Some(7)
        );
        assert_eq!(
            p.delay(1, &Outcome::NoAnswer, 0.0),
            Some(Duration::ZERO),
            "full jitter reaches zero"
        );
    }

    #[test]
    fn retry_after_is_a_floor() {
        let p = RetryPolicy::default();
        let limited = answer(429, Some(ErrorCode::RateLimited), Some(3));
        assert_eq!(p.delay(1, &limited, 0.1), Some(Duration::from_secs(3)));
        assert_eq!(RetryPolicy::none().delay(1, &limited, 0.1), None);
    }
}
