//! Secrets at rest: AES-256-GCM under a key ring.
//!
//! A [`KeyRing`] is read from the Worker secret `SECRETS_KEYS`, `kid:64hex[,kid:64hex...]`:
//! the first key is the primary, which seals; every key opens. A sealed value ([`Sealed`])
//! is text that names its key: `<kid>.<base64url of the 96-bit nonce, the ciphertext and
//! its tag>`. The associated data binds each value to where it belongs ([`SealContext`]):
//! a client secret copied onto another app, or a recorded response moved to another key,
//! fails to open instead of being served.
//!
//! Client and webhook secrets are sealed as the 32 bytes their hex spells
//! ([`KeyRing::seal_secret`]), recorded responses as the bytes given.

use crate::rules::random::Entropy;
use crate::wire::ids::ClientId;
use crate::wire::secrets::{ClientSecret, WebhookSecret};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Bytes of an AES-GCM nonce.
pub const NONCE_LEN: usize = 12;
/// Bytes of an AES-GCM tag.
const TAG_LEN: usize = 16;
/// The longest key id.
pub const MAX_KEY_ID_LEN: usize = 16;

/// Whether `text` can be a key id: 1 to [`MAX_KEY_ID_LEN`] characters of `[a-z0-9]`.
pub fn is_key_id(text: &str) -> bool {
    (1..=MAX_KEY_ID_LEN).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A sealed value: `<kid>.<base64url>`. Opens only with the ring key `kid` names, in the
/// context it was sealed for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sealed(String);

impl Sealed {
    /// A sealed value read back from storage (checked when opened).
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The sealed text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the key that sealed it, if the text has the sealed form.
    pub fn key_id(&self) -> Option<&str> {
        self.0.split_once('.').map(|(kid, _)| kid)
    }
}

/// Why a ring could not be read. The messages name positions and key ids, never key
/// material, so they can go to a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRingError {
    /// No key at all.
    Empty,
    /// Entry `n` (from 1) is not `kid:64hex`.
    Malformed(usize),
    /// Entry `n` has a key id that is not 1 to 16 characters of `[a-z0-9]`.
    BadKeyId(usize),
    /// The key of this id is not 64 hex digits.
    BadKey(String),
    /// Two keys have this id.
    Duplicate(String),
}

impl fmt::Display for KeyRingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the key ring holds no key"),
            Self::Malformed(n) => write!(f, "entry {n} of the key ring is not kid:64hex"),
            Self::BadKeyId(n) => write!(
                f,
                "entry {n} of the key ring has a key id that is not 1 to 16 characters of [a-z0-9]"
            ),
            Self::BadKey(kid) => write!(f, "key {kid} of the key ring is not 64 hex digits"),
            Self::Duplicate(kid) => write!(f, "key id {kid} appears twice in the key ring"),
        }
    }
}

impl std::error::Error for KeyRingError {}

/// Why a value could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealError {
    /// The value is not of the sealed form.
    Malformed,
    /// The value names a key the ring does not hold (it was removed too early).
    UnknownKey(String),
    /// Authentication failed: another context, or tampering.
    Unauthentic,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("the sealed value is malformed"),
            Self::UnknownKey(kid) => write!(
                f,
                "the sealed value names key {kid}, which the ring does not hold"
            ),
            Self::Unauthentic => f.write_str("the sealed value does not open in this context"),
        }
    }
}

impl std::error::Error for SealError {}

/// What a sealed value is, and of whom: its associated data.
#[derive(Debug, Clone, Copy)]
pub enum SealContext<'a> {
    /// The client secret of an app.
    ClientSecret(&'a ClientId),
    /// The webhook signing secret of an app.
    WebhookSecret(&'a ClientId),
    /// The recorded response of an idempotent request, by the key's scope (a workspace
    /// id, or the operators') and the key's hash.
    RecordedResponse {
        /// Where the key belongs.
        scope: &'a str,
        /// SHA-256 hex of the `Idempotency-Key`.
        key_hash: &'a str,
    },
}

impl SealContext<'_> {
    fn aad(&self) -> String {
        match self {
            Self::ClientSecret(id) => format!("client_secret\n{id}"),
            Self::WebhookSecret(id) => format!("webhook_secret\n{id}"),
            Self::RecordedResponse { scope, key_hash } => {
                format!("recorded_response\n{scope}\n{key_hash}")
            }
        }
    }
}

/// A value to seal with everything decided but the AES-256-GCM itself: the key id, a fresh
/// random nonce, the associated data and the plaintext.
///
/// [`KeyRing::seal_job`] runs it with this crate's AES-GCM. An embedder holding the primary
/// key in a native AES-GCM (the Worker hands recorded responses to the runtime's
/// WebCrypto) encrypts [`SealJob::plaintext`] under [`SealJob::nonce`] with
/// [`SealJob::aad`] and hands the output to [`SealJob::finish`]: the same sealed form.
#[derive(Clone)]
pub struct SealJob {
    key_id: String,
    nonce: [u8; NONCE_LEN],
    aad: String,
    plaintext: Vec<u8>,
}

impl fmt::Debug for SealJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealJob")
            .field("key_id", &self.key_id)
            .field("aad", &self.aad)
            .field(
                "plaintext",
                &format_args!("[{} bytes redacted]", self.plaintext.len()),
            )
            .finish_non_exhaustive()
    }
}

impl SealJob {
    /// The 96-bit nonce.
    pub fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }

    /// The associated data.
    pub fn aad(&self) -> &[u8] {
        self.aad.as_bytes()
    }

    /// What to encrypt.
    pub fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }

    /// The sealed value, from the AES-256-GCM output of this job (the ciphertext followed
    /// by its 16-byte tag, as WebCrypto and this crate's AES-GCM both return it).
    pub fn finish(&self, ciphertext: &[u8]) -> Sealed {
        let mut raw = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        raw.extend_from_slice(&self.nonce);
        raw.extend_from_slice(ciphertext);
        let mut out = String::with_capacity(self.key_id.len() + 1 + (raw.len() * 4).div_ceil(3));
        out.push_str(&self.key_id);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(raw, &mut out);
        Sealed(out)
    }
}

/// A secret sealed as the 32 bytes its hex spells.
pub trait SealableSecret: Sized {
    /// Its 64 lowercase hex digits.
    fn hex_digits(&self) -> &str;
    /// The secret of these hex digits.
    fn from_hex_digits(hex: &str) -> Option<Self>;
    /// Where a secret of this kind of app `id` belongs.
    fn context(id: &ClientId) -> SealContext<'_>;
}

impl SealableSecret for ClientSecret {
    fn hex_digits(&self) -> &str {
        ClientSecret::hex_digits(self)
    }
    fn from_hex_digits(hex: &str) -> Option<Self> {
        ClientSecret::from_hex_digits(hex)
    }
    fn context(id: &ClientId) -> SealContext<'_> {
        SealContext::ClientSecret(id)
    }
}

impl SealableSecret for WebhookSecret {
    fn hex_digits(&self) -> &str {
        WebhookSecret::hex_digits(self)
    }
    fn from_hex_digits(hex: &str) -> Option<Self> {
        WebhookSecret::from_hex_digits(hex)
    }
    fn context(id: &ClientId) -> SealContext<'_> {
        SealContext::WebhookSecret(id)
    }
}

struct RingKey {
    id: String,
    bytes: [u8; 32],
    cipher: Aes256Gcm,
}

/// The keys that seal and open every secret at rest: the first is the primary.
pub struct KeyRing {
    keys: Vec<RingKey>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        write!(f, "KeyRing({ids:?}, keys redacted)")
    }
}

impl KeyRing {
    /// Reads `kid:64hex[,kid:64hex...]` (white space around entries ignored, hex in either
    /// case). A key id is 1 to 16 characters of `[a-z0-9]`.
    pub fn parse(text: &str) -> Result<Self, KeyRingError> {
        let mut keys: Vec<RingKey> = Vec::new();
        for (i, entry) in text.split(',').map(str::trim).enumerate() {
            let n = i + 1;
            if entry.is_empty() && text.trim().is_empty() {
                return Err(KeyRingError::Empty);
            }
            let (id, hex) = entry.split_once(':').ok_or(KeyRingError::Malformed(n))?;
            let (id, hex) = (id.trim(), hex.trim());
            if !is_key_id(id) {
                return Err(KeyRingError::BadKeyId(n));
            }
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(hex, &mut bytes)
                .map_err(|_| KeyRingError::BadKey(id.to_owned()))?;
            if keys.iter().any(|k| k.id == id) {
                return Err(KeyRingError::Duplicate(id.to_owned()));
            }
            keys.push(RingKey {
                id: id.to_owned(),
                cipher: Aes256Gcm::new(&bytes.into()),
                bytes,
            });
        }
        Ok(Self { keys })
    }

    /// The primary key's id: what new values are sealed under.
    pub fn primary_id(&self) -> &str {
        &self.primary().id
    }

    /// The primary key's 32 bytes, for an embedder that also hands it to a native AES-GCM
    /// (see [`SealJob`]). Never log them.
    pub fn primary_key_bytes(&self) -> &[u8; 32] {
        &self.primary().bytes
    }

    /// The ring's keys by id, the primary first: for keys derived from them in this crate
    /// (see `server::bookmark`), never to leave it.
    pub(crate) fn keys(&self) -> impl Iterator<Item = (&str, &[u8; 32])> {
        self.keys.iter().map(|k| (k.id.as_str(), &k.bytes))
    }

    /// The ids of the ring's keys, the primary first.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    fn primary(&self) -> &RingKey {
        // `parse` refuses an empty ring.
        &self.keys[0]
    }

    /// Everything of sealing `plaintext` for `context` under the primary key but the
    /// AES-GCM itself.
    pub fn prepare(
        &self,
        plaintext: Vec<u8>,
        context: SealContext<'_>,
        entropy: &mut dyn Entropy,
    ) -> SealJob {
        let mut nonce = [0u8; NONCE_LEN];
        entropy.fill(&mut nonce);
        SealJob {
            key_id: self.primary().id.clone(),
            nonce,
            aad: context.aad(),
            plaintext,
        }
    }

    /// Seals `plaintext` for `context` under the primary key and a fresh random nonce.
    pub fn seal(
        &self,
        plaintext: Vec<u8>,
        context: SealContext<'_>,
        entropy: &mut dyn Entropy,
    ) -> Sealed {
        self.seal_job(&self.prepare(plaintext, context, entropy))
    }

    /// Runs `job` with this crate's AES-256-GCM (in software on wasm32).
    pub fn seal_job(&self, job: &SealJob) -> Sealed {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == job.key_id)
            .unwrap_or_else(|| self.primary());
        // Encryption with a valid key and in-memory buffers cannot fail; the error type
        // exists for output-length limits far beyond anything sealed here.
        let ciphertext = key
            .cipher
            .encrypt(
                Nonce::from_slice(&job.nonce),
                Payload {
                    msg: &job.plaintext,
                    aad: job.aad.as_bytes(),
                },
            )
            .unwrap_or_default();
        job.finish(&ciphertext)
    }

    /// Opens a value sealed for `context` by any key of the ring.
    pub fn open(&self, sealed: &Sealed, context: SealContext<'_>) -> Result<Vec<u8>, SealError> {
        let (kid, body) = sealed.0.split_once('.').ok_or(SealError::Malformed)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == kid)
            .ok_or_else(|| SealError::UnknownKey(kid.to_owned()))?;
        let raw = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Malformed)?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        key.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.aad().as_bytes(),
                },
            )
            .map_err(|_| SealError::Unauthentic)
    }

    /// Seals the secret of app `id` as the 32 bytes its hex spells.
    pub fn seal_secret<S: SealableSecret>(
        &self,
        secret: &S,
        id: &ClientId,
        entropy: &mut dyn Entropy,
    ) -> Sealed {
        // The hex of a secret is 64 lowercase hex digits by construction.
        let bytes = hex::decode(secret.hex_digits()).unwrap_or_default();
        self.seal(bytes, S::context(id), entropy)
    }

    /// Opens a secret of app `id` sealed by [`KeyRing::seal_secret`].
    pub fn open_secret<S: SealableSecret>(
        &self,
        sealed: &Sealed,
        id: &ClientId,
    ) -> Result<S, SealError> {
        let bytes = self.open(sealed, S::context(id))?;
        S::from_hex_digits(&hex::encode(bytes)).ok_or(SealError::Malformed)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::test_util::SeededEntropy;
    use proptest::prelude::*;

    /// A ring of the given `kid:hex` entries, for tests here and elsewhere in the crate.
    pub(crate) fn ring(text: &str) -> KeyRing {
        KeyRing::parse(text).unwrap()
    }

    fn id() -> ClientId {
        ClientId::parse("HqTRDIYH").unwrap()
    }

    #[test]
    fn the_primary_seals_every_key_opens_and_a_value_names_its_key() {
        let mut e = SeededEntropy::new(1);
        let old = ring(&format!("a:{}", "aa".repeat(32)));
        let both = ring(&format!("b:{},a:{}", "bb".repeat(32), "aa".repeat(32)));
        let ctx = SealContext::ClientSecret(&id());
        let by_a = old.seal(b"text".to_vec(), ctx, &mut e);
        let by_b = both.seal(b"text".to_vec(), ctx, &mut e);
        assert_eq!((by_a.key_id(), by_b.key_id()), (Some("a"), Some("b")));
        assert!(by_a.as_str().starts_with("a.") && by_b.as_str().starts_with("b."));
        assert_eq!(both.open(&by_a, ctx).unwrap(), b"text");
        assert_eq!(both.open(&by_b, ctx).unwrap(), b"text");
        assert_eq!(old.open(&by_b, ctx), Err(SealError::UnknownKey("b".into())));
        assert_eq!(both.primary_id(), "b");
        assert_eq!(both.key_ids().collect::<Vec<_>>(), ["b", "a"]);
    }

    #[test]
    fn a_value_opens_only_in_its_context() {
        let mut e = SeededEntropy::new(2);
        let r = ring(&format!("k1:{}", "cd".repeat(32)));
        let other = ClientId::parse("MkPQRSTU").unwrap();
        let secret = ClientSecret::generate(&mut e);
        let sealed = r.seal_secret(&secret, &id(), &mut e);
        assert!(!sealed.as_str().contains(secret.hex_digits()));
        assert_eq!(r.open_secret::<ClientSecret>(&sealed, &id()), Ok(secret));
        assert_eq!(
            r.open_secret::<ClientSecret>(&sealed, &other),
            Err(SealError::Unauthentic)
        );
        assert_eq!(
            r.open_secret::<WebhookSecret>(&sealed, &id()),
            Err(SealError::Unauthentic)
        );
        let recorded = SealContext::RecordedResponse {
            scope: "org_a",
            key_hash: "h",
        };
        let elsewhere = SealContext::RecordedResponse {
            scope: "org_b",
            key_hash: "h",
        };
        let sealed = r.seal(b"body".to_vec(), recorded, &mut e);
        assert_eq!(r.open(&sealed, elsewhere), Err(SealError::Unauthentic));
    }

    #[test]
    fn a_secret_seals_to_a_short_value_and_never_twice_the_same() {
        let mut e = SeededEntropy::new(3);
        let r = ring(&format!("k1:{}", "ef".repeat(32)));
        let secret = WebhookSecret::generate(&mut e);
        let a = r.seal_secret(&secret, &id(), &mut e);
        let b = r.seal_secret(&secret, &id(), &mut e);
        assert_ne!(a, b);
        // "k1." + base64url of 12 + 32 + 16 bytes.
        assert_eq!(a.as_str().len(), 3 + 80);
    }

    #[test]
    fn bad_rings_are_refused_without_showing_a_key() {
        let hex = "ab".repeat(32);
        for (text, want) in [
            ("", KeyRingError::Empty),
            ("  ", KeyRingError::Empty),
            ("abc", KeyRingError::Malformed(1)),
            (&format!("a:{hex},"), KeyRingError::Malformed(2)),
            (&format!(":{hex}"), KeyRingError::BadKeyId(1)),
            (&format!("A:{hex}"), KeyRingError::BadKeyId(1)),
            (
                &format!("{}:{hex}", "a".repeat(17)),
                KeyRingError::BadKeyId(1),
            ),
            (&format!("a:{hex},a-b:{hex}"), KeyRingError::BadKeyId(2)),
            ("a:abc", KeyRingError::BadKey("a".into())),
            (
                &format!("a:{}", "g".repeat(64)),
                KeyRingError::BadKey("a".into()),
            ),
            (&format!("a:{hex}ab"), KeyRingError::BadKey("a".into())),
            (
                &format!("a:{hex},b:{hex},a:{hex}"),
                KeyRingError::Duplicate("a".into()),
            ),
        ] {
            let err = KeyRing::parse(text).unwrap_err();
            assert_eq!(err, want, "{text}");
            assert!(!err.to_string().contains(&hex[..8]));
        }
        let spaced = ring(&format!(
            " k1 : {} , k2:{}",
            "AB".repeat(32),
            "cd".repeat(32)
        ));
        assert_eq!(spaced.key_ids().collect::<Vec<_>>(), ["k1", "k2"]);
        assert!(!format!("{spaced:?}").contains("ab"));
    }

    #[test]
    fn malformed_values_are_refused() {
        let r = ring(&format!("k1:{}", "dd".repeat(32)));
        let ctx = SealContext::ClientSecret(&id());
        for bad in [
            "",
            "k1",
            "k1.",
            "k1.AAAA",
            "k1.!!!!",
            "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(
                r.open(&Sealed::from_stored(bad.into()), ctx).is_err(),
                "{bad}"
            );
        }
    }

    /// `job` sealed as an embedder would: by an AES-GCM of its own, made from the primary
    /// key's bytes.
    pub(crate) fn sealed_elsewhere(ring: &KeyRing, job: &SealJob) -> Sealed {
        let native = Aes256Gcm::new(&(*ring.primary_key_bytes()).into());
        let payload = Payload {
            msg: job.plaintext(),
            aad: job.aad(),
        };
        job.finish(
            &native
                .encrypt(Nonce::from_slice(job.nonce()), payload)
                .unwrap(),
        )
    }

    #[test]
    fn a_job_sealed_by_another_aes_gcm_opens_here() {
        let r = ring(&format!("p:{},o:{}", "3f".repeat(32), "40".repeat(32)));
        let ctx = SealContext::RecordedResponse {
            scope: "org_a",
            key_hash: "h",
        };
        let job = r.prepare(
            b"a recorded response".to_vec(),
            ctx,
            &mut SeededEntropy::new(12),
        );
        let sealed = sealed_elsewhere(&r, &job);
        assert_eq!(sealed, r.seal_job(&job));
        assert_eq!(r.open(&sealed, ctx).unwrap(), b"a recorded response");
        assert!(!format!("{job:?}").contains("recorded response"));
    }

    proptest! {
        #[test]
        fn any_plaintext_round_trips(data in proptest::collection::vec(any::<u8>(), 0..2048), seed in any::<u64>()) {
            let mut e = SeededEntropy::new(seed);
            let ctx = SealContext::RecordedResponse { scope: "org_a", key_hash: "k" };
            let r = ring(&format!("k1:{}", "ee".repeat(32)));
            let sealed = r.seal(data.clone(), ctx, &mut e);
            prop_assert_eq!(r.open(&sealed, ctx).unwrap(), data);
        }

        #[test]
        fn any_flipped_byte_is_detected(data in proptest::collection::vec(any::<u8>(), 1..256), pos in any::<usize>()) {
            let mut e = SeededEntropy::new(4);
            let ctx = SealContext::ClientSecret(&id());
            let r = ring(&format!("k1:{}", "ff".repeat(32)));
            let sealed = r.seal(data, ctx, &mut e);
            let mut raw = URL_SAFE_NO_PAD.decode(&sealed.as_str()[3..]).unwrap();
            let i = pos % raw.len();
            raw[i] ^= 1;
            let tampered = Sealed::from_stored(format!("k1.{}", URL_SAFE_NO_PAD.encode(raw)));
            prop_assert_eq!(r.open(&tampered, ctx), Err(SealError::Unauthentic));
        }
    }
}
