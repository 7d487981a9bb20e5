//! What the server does with an `Idempotency-Key` ([`crate::rules::idempotency`]): the
//! key and the request's fingerprint as stored, the claim a request writes on its key, and
//! the decision to process, replay or refuse a request given the claim found.
//!
//! The claim on a key is written with the request's writes and its recorded answer in
//! one transaction, so a claim always has its answer: there is no "in progress" state to
//! decide about. How the answer is recorded is [`crate::server::recorded`]'s business.

use crate::rules::api_key::sha256_hex;
use crate::rules::idempotency::{Fingerprint, IdempotencyKey, KEY_TTL_MS};
use crate::wire::time::Timestamp;

impl IdempotencyKey {
    /// SHA-256 hex of the key: how it is stored and looked up (fixed length, whatever the
    /// caller chose to put in it).
    pub fn hash(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }
}

impl Fingerprint {
    /// A fingerprint read back from storage.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }
}

/// A key's claim as stored: whose request it was, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The fingerprint of the request that claimed the key.
    pub fingerprint: Fingerprint,
    /// When the key is free again.
    pub expires_at: Timestamp,
}

/// What to do with a request that carries a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No live claim: process the request, writing its claim and answer with its writes
    /// (and freeing an expired claim in the same transaction).
    Process,
    /// The same request was answered: send the recorded answer again.
    Replay,
    /// The key belongs to another request (another body or route): 409
    /// `IDEMPOTENCY_KEY_CONFLICT`.
    Conflict,
}

/// Decides what to do with a request of fingerprint `request` given the claim stored under
/// its key, if any.
pub fn decide(stored: Option<&Claim>, request: &Fingerprint, now: Timestamp) -> Decision {
    match stored {
        None => Decision::Process,
        Some(c) if c.expires_at <= now => Decision::Process,
        Some(c) if c.fingerprint != *request => Decision::Conflict,
        Some(_) => Decision::Replay,
    }
}

/// When a key claimed at `now` is free again.
pub fn expiry(now: Timestamp) -> Timestamp {
    now.plus_millis(KEY_TTL_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_and_fingerprints_are_stored_as_sha256_hex() {
        // SHA-256("abc"), FIPS 180-2's first example.
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(IdempotencyKey::parse("abc").unwrap().hash(), abc);
        assert_eq!(IdempotencyKey::parse("\"abc\"").unwrap().hash(), abc);
        let f = Fingerprint::of("post", "/p", Some(&json!({ "b": 1, "a": [true] })));
        let text = "POST\n/p\n{\"a\":[true],\"b\":1}";
        assert_eq!(f.as_str(), sha256_hex(text.as_bytes()));
        assert_eq!(Fingerprint::from_stored(f.as_str().to_owned()), f);
    }

    #[test]
    fn decisions() {
        let now = Timestamp::from_millis(1_000_000);
        let fp = Fingerprint::of("POST", "/p", Some(&json!({ "a": 1 })));
        let other = Fingerprint::of("POST", "/p", Some(&json!({ "a": 2 })));
        let claim = |fingerprint: &Fingerprint, expires: i64| Claim {
            fingerprint: fingerprint.clone(),
            expires_at: Timestamp::from_millis(expires),
        };
        assert_eq!(decide(None, &fp, now), Decision::Process);
        assert_eq!(
            decide(Some(&claim(&fp, 2_000_000)), &fp, now),
            Decision::Replay
        );
        assert_eq!(
            decide(Some(&claim(&other, 2_000_000)), &fp, now),
            Decision::Conflict
        );
        for expired in [1_000_000, 999_999] {
            assert_eq!(
                decide(Some(&claim(&other, expired)), &fp, now),
                Decision::Process
            );
            assert_eq!(
                decide(Some(&claim(&fp, expired)), &fp, now),
                Decision::Process
            );
        }
        assert_eq!(expiry(now).millis() - now.millis(), KEY_TTL_MS);
    }
}
