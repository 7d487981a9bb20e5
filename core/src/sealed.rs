//! Secrets at rest: AES-256-GCM under a key held in a Worker secret.
//!
//! A sealed value is text, `v1.` followed by unpadded base64url of the 96-bit random nonce
//! and the ciphertext with its tag. The associated data binds each ciphertext to where it
//! belongs ([`SealContext`]): a client secret copied onto another app's row, or a stored
//! response moved to another workspace's key, fails to open instead of being served.

use crate::entropy::Entropy;
use crate::ids::{ClientId, WorkspaceId};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::fmt;

const VERSION: &str = "v1.";
const NONCE_LEN: usize = 12;

/// Why a key could not be read or a value could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealError {
    /// The key is not 64 hex digits (32 bytes).
    BadKey,
    /// The value is not of the sealed format.
    Malformed,
    /// Authentication failed: another key, another context, or tampering.
    Unauthentic,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadKey => "the sealing key must be 64 hex digits",
            Self::Malformed => "the sealed value is malformed",
            Self::Unauthentic => "the sealed value does not open with this key and context",
        })
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
    /// A stored response of an idempotent request, by workspace and key hash.
    StoredResponse {
        /// The workspace the key belongs to.
        workspace: &'a WorkspaceId,
        /// SHA-256 hex of the `Idempotency-Key`.
        key_hash: &'a str,
    },
}

impl SealContext<'_> {
    fn aad(&self) -> String {
        match self {
            Self::ClientSecret(id) => format!("client_secret\n{id}"),
            Self::WebhookSecret(id) => format!("webhook_secret\n{id}"),
            Self::StoredResponse {
                workspace,
                key_hash,
            } => {
                format!("stored_response\n{workspace}\n{key_hash}")
            }
        }
    }
}

/// The AES-256-GCM key that seals every secret at rest.
#[derive(Clone)]
pub struct SealingKey(Aes256Gcm);

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey([redacted])")
    }
}

impl SealingKey {
    /// Reads a key from 64 hex digits (either case, surrounding white space ignored).
    pub fn from_hex(s: &str) -> Result<Self, SealError> {
        let s = s.trim();
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SealError::BadKey);
        }
        let mut key = [0u8; 32];
        for (i, out) in key.iter_mut().enumerate() {
            *out = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| SealError::BadKey)?;
        }
        Ok(Self(Aes256Gcm::new(&key.into())))
    }

    /// Seals `plaintext` for `context` under a fresh random nonce.
    pub fn seal(
        &self,
        plaintext: &[u8],
        context: SealContext<'_>,
        entropy: &mut dyn Entropy,
    ) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        entropy.fill(&mut nonce);
        let aad = context.aad();
        // Encryption with a valid key and in-memory buffers cannot fail; the error type
        // exists for output-length limits far beyond anything sealed here.
        let ciphertext = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut raw = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&ciphertext);
        format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(raw))
    }

    /// Opens a value sealed for `context`.
    pub fn open(&self, sealed: &str, context: SealContext<'_>) -> Result<Vec<u8>, SealError> {
        let body = sealed.strip_prefix(VERSION).ok_or(SealError::Malformed)?;
        let raw = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Malformed)?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let aad = context.aad();
        self.0
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Unauthentic)
    }

    /// Opens a sealed value that must hold UTF-8 text.
    pub fn open_str(&self, sealed: &str, context: SealContext<'_>) -> Result<String, SealError> {
        String::from_utf8(self.open(sealed, context)?).map_err(|_| SealError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;
    use proptest::prelude::*;

    fn key(byte: char) -> SealingKey {
        SealingKey::from_hex(&byte.to_string().repeat(64)).unwrap()
    }

    #[test]
    fn seals_and_opens_in_context() {
        let mut e = SeededEntropy::new(1);
        let id = ClientId::parse("HqTRDIYH").unwrap();
        let other = ClientId::parse("MkPQRSTU").unwrap();
        let k = key('a');
        let sealed = k.seal(b"sh_app_secret", SealContext::ClientSecret(&id), &mut e);
        assert!(sealed.starts_with("v1.") && !sealed.contains("sh_app_"));
        assert_eq!(
            k.open(&sealed, SealContext::ClientSecret(&id)).unwrap(),
            b"sh_app_secret"
        );
        assert_eq!(
            k.open(&sealed, SealContext::ClientSecret(&other)),
            Err(SealError::Unauthentic)
        );
        assert_eq!(
            k.open(&sealed, SealContext::WebhookSecret(&id)),
            Err(SealError::Unauthentic)
        );
        assert_eq!(
            key('b').open(&sealed, SealContext::ClientSecret(&id)),
            Err(SealError::Unauthentic)
        );
    }

    #[test]
    fn same_plaintext_seals_differently_each_time() {
        let mut e = SeededEntropy::new(2);
        let id = ClientId::parse("HqTRDIYH").unwrap();
        let k = key('c');
        let a = k.seal(b"x", SealContext::ClientSecret(&id), &mut e);
        let b = k.seal(b"x", SealContext::ClientSecret(&id), &mut e);
        assert_ne!(a, b);
    }

    #[test]
    fn bad_keys_and_values_are_refused() {
        assert_eq!(SealingKey::from_hex("abc").err(), Some(SealError::BadKey));
        assert_eq!(
            SealingKey::from_hex(&"g".repeat(64)).err(),
            Some(SealError::BadKey)
        );
        let id = ClientId::parse("HqTRDIYH").unwrap();
        let k = key('d');
        for bad in [
            "",
            "v1.",
            "v2.AAAA",
            "v1.!!!!",
            "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(
                k.open(bad, SealContext::ClientSecret(&id)).is_err(),
                "{bad}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_plaintext_round_trips(data in proptest::collection::vec(any::<u8>(), 0..2048), seed in any::<u64>()) {
            let mut e = SeededEntropy::new(seed);
            let ws = WorkspaceId::parse("org_abc").unwrap();
            let ctx = SealContext::StoredResponse { workspace: &ws, key_hash: "k" };
            let k = key('e');
            let sealed = k.seal(&data, ctx, &mut e);
            prop_assert_eq!(k.open(&sealed, ctx).unwrap(), data);
        }

        #[test]
        fn any_flipped_byte_is_detected(data in proptest::collection::vec(any::<u8>(), 1..256), pos in any::<usize>()) {
            let mut e = SeededEntropy::new(4);
            let id = ClientId::parse("HqTRDIYH").unwrap();
            let k = key('f');
            let sealed = k.seal(&data, SealContext::ClientSecret(&id), &mut e);
            let mut raw = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
            let i = pos % raw.len();
            raw[i] ^= 1;
            let tampered = format!("v1.{}", URL_SAFE_NO_PAD.encode(raw));
            prop_assert!(k.open(&tampered, SealContext::ClientSecret(&id)).is_err());
        }
    }
}
