//! The recorded answer of an idempotent request, as kept in D1 with the key's claim and in
//! KV for fast replays: the whole response, compressed, then sealed.
//!
//! Sealed because a created app's answer holds its client secret; compressed (LZ4) because
//! the answer of a 100-app batch is about 94 KB, most of it the same default settings a
//! hundred times over, and it is written to D1 and to KV on every keyed batch (it packs
//! to about a fifth).
//!
//! The bytes sealed are the LZ4 block (size prepended) of the response's head as one JSON
//! line (`{"status":201,"headers":[["location","..."]]}`), a newline, and the body as it
//! was sent. A replay is byte-identical to the original.

use crate::rules::idempotency::Fingerprint;
use crate::rules::random::Entropy;
use crate::server::idempotency::Claim;
use crate::server::seal::{KeyRing, SealContext, SealError, SealJob, Sealed};
use crate::wire::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The largest response a record may unpack to: far more than any answer (a body is at
/// most a few megabytes), little enough that a corrupt size cannot exhaust memory.
pub const MAX_UNPACKED: usize = 16 * 1024 * 1024;

/// A response as recorded for replay: the same status, the headers that are part of the
/// answer (such as `Location`), and the exact body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers to send again, lower-case names.
    pub headers: Vec<(String, String)>,
    /// The exact body.
    pub body: String,
}

/// The first line of a recorded response.
#[derive(Serialize, Deserialize)]
struct Head {
    status: u16,
    headers: Vec<(String, String)>,
}

/// Why a recorded response could not be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// It did not open.
    Seal(SealError),
    /// It opened, but is not a recorded response (a bug, or a corrupt record).
    Malformed,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Seal(e) => write!(f, "recorded response: {e}"),
            Self::Malformed => f.write_str("recorded response: malformed"),
        }
    }
}

impl std::error::Error for RecordError {}

impl RecordedResponse {
    /// A response of `status` whose body is `value` as JSON, without headers.
    pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Self, serde_json::Error> {
        Ok(Self {
            status,
            headers: Vec::new(),
            body: serde_json::to_string(value)?,
        })
    }

    /// This response with header `name` (lower case) set to `value`.
    pub fn with_header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_owned(), value));
        self
    }

    /// The bytes to seal: the head line and the body, compressed.
    fn packed(&self) -> Vec<u8> {
        let head = Head {
            status: self.status,
            headers: self.headers.clone(),
        };
        // Serializing a plain struct cannot fail.
        let mut plain = serde_json::to_vec(&head).unwrap_or_default();
        plain.push(b'\n');
        plain.extend_from_slice(self.body.as_bytes());
        lz4_flex::block::compress_prepend_size(&plain)
    }

    fn unpack(packed: &[u8]) -> Result<Self, RecordError> {
        let size = packed
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map(|b| u32::from_le_bytes(b) as usize)
            .ok_or(RecordError::Malformed)?;
        if size > MAX_UNPACKED {
            return Err(RecordError::Malformed);
        }
        let plain = lz4_flex::block::decompress_size_prepended(packed)
            .map_err(|_| RecordError::Malformed)?;
        let newline = plain
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(RecordError::Malformed)?;
        let head: Head =
            serde_json::from_slice(&plain[..newline]).map_err(|_| RecordError::Malformed)?;
        let body =
            String::from_utf8(plain[newline + 1..].to_vec()).map_err(|_| RecordError::Malformed)?;
        Ok(Self {
            status: head.status,
            headers: head.headers,
            body,
        })
    }

    /// Everything of sealing this response for `context` but the AES-GCM itself (see
    /// [`SealJob`]).
    pub fn prepare(
        &self,
        ring: &KeyRing,
        context: SealContext<'_>,
        entropy: &mut dyn Entropy,
    ) -> SealJob {
        ring.prepare(self.packed(), context, entropy)
    }

    /// This response, compressed and sealed for `context` under the ring's primary key.
    pub fn seal(
        &self,
        ring: &KeyRing,
        context: SealContext<'_>,
        entropy: &mut dyn Entropy,
    ) -> Sealed {
        ring.seal_job(&self.prepare(ring, context, entropy))
    }

    /// The record sealed again under the ring's primary key; `None` when it is under the
    /// primary already or does not open.
    pub fn resealed(
        sealed: &Sealed,
        ring: &KeyRing,
        context: SealContext<'_>,
        entropy: &mut dyn Entropy,
    ) -> Option<Sealed> {
        if sealed.key_id() == Some(ring.primary_id()) {
            return None;
        }
        let plain = ring.open(sealed, context).ok()?;
        Some(ring.seal(plain, context, entropy))
    }

    /// The response a sealed record holds.
    pub fn open(
        sealed: &Sealed,
        ring: &KeyRing,
        context: SealContext<'_>,
    ) -> Result<Self, RecordError> {
        let packed = ring.open(sealed, context).map_err(RecordError::Seal)?;
        Self::unpack(&packed)
    }
}

/// The KV entry of a key: enough to decide and replay without D1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KvRecord {
    /// Fingerprint of the request that claimed the key.
    pub fingerprint: Fingerprint,
    /// Milliseconds since the epoch when the key is free again.
    pub expires_at: i64,
    /// The sealed [`RecordedResponse`].
    pub response: Sealed,
}

impl KvRecord {
    /// The claim this entry tells of.
    pub fn claim(&self) -> Claim {
        Claim {
            fingerprint: self.fingerprint.clone(),
            expires_at: Timestamp::from_millis(self.expires_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::seal::tests::{ring, sealed_elsewhere};
    use crate::test_util::SeededEntropy;
    use proptest::prelude::*;

    fn ctx() -> SealContext<'static> {
        SealContext::RecordedResponse {
            scope: "org_rec",
            key_hash: "h",
        }
    }

    fn response(body: &str) -> RecordedResponse {
        RecordedResponse {
            status: 201,
            headers: vec![("location".into(), "/connect/v1/apps/HqTRDIYH".into())],
            body: body.into(),
        }
    }

    #[test]
    fn a_large_answer_packs_small_holds_no_secret_and_replays_exactly() {
        let r = ring(&format!("k1:{}", "0a".repeat(32)));
        let secret = format!("sh_app_{}", "5e".repeat(32));
        let app = format!(
            r#"{{"app":{{"clientSecret":"{secret}","name":"Acme \"q\" é","webhookConfig":{{"enabled":false,"retryAttempts":3}}}}}}"#
        );
        let body = format!(r#"{{"results":[{}]}}"#, vec![app; 100].join(","));
        let original = response(&body);
        let sealed = original.seal(&r, ctx(), &mut SeededEntropy::new(1));
        assert!(!sealed.as_str().contains("sh_app_") && !sealed.as_str().contains("5e5e5e"));
        assert!(
            sealed.as_str().len() < body.len() / 4,
            "{} bytes",
            sealed.as_str().len()
        );
        assert_eq!(RecordedResponse::open(&sealed, &r, ctx()), Ok(original));
    }

    #[test]
    fn a_record_sealed_natively_opens_the_same() {
        let r = ring(&format!("k1:{}", "0b".repeat(32)));
        let original = response(r#"{"clientSecret":"x"}"#);
        let job = original.prepare(&r, ctx(), &mut SeededEntropy::new(2));
        let sealed = sealed_elsewhere(&r, &job);
        assert_eq!(RecordedResponse::open(&sealed, &r, ctx()), Ok(original));
    }

    #[test]
    fn a_record_opens_only_for_its_key_and_a_corrupt_one_is_an_error() {
        let r = ring(&format!("k1:{}", "0c".repeat(32)));
        let sealed = response("{}").seal(&r, ctx(), &mut SeededEntropy::new(3));
        let other = SealContext::RecordedResponse {
            scope: "org_rec",
            key_hash: "other",
        };
        assert_eq!(
            RecordedResponse::open(&sealed, &r, other),
            Err(RecordError::Seal(SealError::Unauthentic))
        );
        let mut huge = u32::MAX.to_le_bytes().to_vec();
        huge.extend_from_slice(b"\x10a");
        for packed in [
            vec![],
            vec![1, 0],
            huge,
            lz4_flex::block::compress_prepend_size(b"no newline"),
        ] {
            let sealed = r.seal(packed, ctx(), &mut SeededEntropy::new(4));
            assert_eq!(
                RecordedResponse::open(&sealed, &r, ctx()),
                Err(RecordError::Malformed)
            );
        }
    }

    #[test]
    fn a_record_resealed_under_the_primary_replays_the_same() {
        let old = ring(&format!("a:{}", "1a".repeat(32)));
        let both = ring(&format!("b:{},a:{}", "1b".repeat(32), "1a".repeat(32)));
        let original = response(r#"{"clientSecret":"sh_app_x"}"#);
        let sealed = original.seal(&old, ctx(), &mut SeededEntropy::new(5));
        let moved =
            RecordedResponse::resealed(&sealed, &both, ctx(), &mut SeededEntropy::new(6)).unwrap();
        assert_eq!(moved.key_id(), Some("b"));
        assert_eq!(RecordedResponse::open(&moved, &both, ctx()), Ok(original));
        assert_eq!(
            RecordedResponse::resealed(&moved, &both, ctx(), &mut SeededEntropy::new(7)),
            None
        );
    }

    #[test]
    fn a_kv_record_tells_its_claim() {
        let record = KvRecord {
            fingerprint: Fingerprint::from_stored("f".into()),
            expires_at: 7,
            response: Sealed::from_stored("k1.x".into()),
        };
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(
            json,
            r#"{"fingerprint":"f","expiresAt":7,"response":"k1.x"}"#
        );
        assert_eq!(record.claim().expires_at, Timestamp::from_millis(7));
    }

    proptest! {
        #[test]
        fn any_response_replays_exactly(
            status in 100u16..600,
            headers in proptest::collection::vec(("[a-z-]{1,10}", "\\PC{0,20}"), 0..3),
            body in "\\PC{0,200}|(\\{\"a\":\"\\n\"\\}){0,50}",
            seed in any::<u64>(),
        ) {
            let r = ring(&format!("k1:{}", "0d".repeat(32)));
            let original = RecordedResponse { status, headers, body };
            let sealed = original.seal(&r, ctx(), &mut SeededEntropy::new(seed));
            prop_assert_eq!(RecordedResponse::open(&sealed, &r, ctx()), Ok(original));
        }
    }
}
