//! Randomness, passed in, and what is minted from it: ids, secrets, API keys, request ids.
//!
//! `core` does no IO, and reading the operating system's (or the Workers runtime's) CSPRNG
//! is IO. Everything that mints an id or a secret takes an [`Entropy`] instead: the Worker
//! hands in `crypto.getRandomValues`, tests hand in a seeded generator.

use crate::wire::ids::{ApiKeyId, NodeId, WorkflowId, WorkspaceId};
use crate::wire::secrets::{ApiKey, ClientSecret, KeyEnvironment, WebhookSecret};

/// A source of random bytes. Implementations used for ids and secrets must be
/// cryptographically secure.
pub trait Entropy {
    /// Fills `buf` entirely with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

impl<F: FnMut(&mut [u8])> Entropy for F {
    fn fill(&mut self, buf: &mut [u8]) {
        self(buf)
    }
}

/// The 62 characters of base62 ids, in ASCII order.
pub(crate) const BASE62: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Fills `out` with characters drawn uniformly from [`BASE62`].
///
/// Bytes of 248 and above are rejected rather than folded with `% 62`, which would make
/// the first eight characters slightly likelier than the rest.
fn fill_base62(entropy: &mut dyn Entropy, out: &mut [u8]) {
    let mut filled = 0;
    let mut buf = [0u8; 32];
    while filled < out.len() {
        entropy.fill(&mut buf);
        for &b in &buf {
            if b < 248 && filled < out.len() {
                out[filled] = BASE62[usize::from(b % 62)];
                filled += 1;
            }
        }
    }
}

/// `len` characters drawn uniformly from [`BASE62`].
fn base62(entropy: &mut dyn Entropy, len: usize) -> String {
    let mut out = vec![0u8; len];
    fill_base62(entropy, &mut out);
    out.into_iter().map(char::from).collect()
}

/// The lowercase hex of `N` random bytes.
fn random_hex<const N: usize>(entropy: &mut dyn Entropy) -> String {
    let mut bytes = [0u8; N];
    entropy.fill(&mut bytes);
    hex::encode(bytes)
}

/// `prefix` (3 bytes) and 8 random lowercase hex digits.
fn prefixed_hex8(prefix: &[u8; 3], entropy: &mut dyn Entropy) -> [u8; 11] {
    let mut id = [0u8; 11];
    id[..3].copy_from_slice(prefix);
    id[3..].copy_from_slice(random_hex::<4>(entropy).as_bytes());
    id
}

impl WorkspaceId {
    /// A fresh workspace id, `org_` + 27 base62 (about 160 bits).
    pub fn generate(entropy: &mut dyn Entropy) -> Self {
        Self::from_string(format!("org_{}", base62(entropy, 27)))
    }
}

impl ApiKeyId {
    /// A fresh key id, `key_` + 16 base62.
    pub fn generate(entropy: &mut dyn Entropy) -> Self {
        Self::from_string(format!("key_{}", base62(entropy, 16)))
    }
}

impl WorkflowId {
    /// A fresh workflow id, `wf_` + 8 hex. Unique within its app is all that is needed.
    pub fn generate(entropy: &mut dyn Entropy) -> Self {
        Self::from_ascii(prefixed_hex8(b"wf_", entropy))
    }
}

impl NodeId {
    /// A fresh node id, `nd_` + 8 hex.
    pub fn generate(entropy: &mut dyn Entropy) -> Self {
        Self::from_ascii(prefixed_hex8(b"nd_", entropy))
    }
}

/// Mints a secret: its prefix and 256 random bits as 64 lowercase hex.
macro_rules! generate_secret {
    ($name:ident) => {
        impl $name {
            /// A fresh secret: the prefix and 256 random bits as 64 lowercase hex.
            pub fn generate(entropy: &mut dyn Entropy) -> Self {
                Self::from_hex_digits(&random_hex::<32>(entropy))
                    .unwrap_or_else(|| unreachable!("hex::encode writes 64 lowercase hex"))
            }
        }
    };
}

generate_secret!(ClientSecret);
generate_secret!(WebhookSecret);

/// Characters of randomness after the prefix of a minted API key (about 190 bits).
const API_KEY_RANDOM_LEN: usize = 32;

impl ApiKey {
    /// A fresh key of `env`.
    pub fn generate(env: KeyEnvironment, entropy: &mut dyn Entropy) -> Self {
        Self::from_string(format!(
            "{}{}",
            env.key_prefix(),
            base62(entropy, API_KEY_RANDOM_LEN)
        ))
    }
}

/// A random (version 4) UUID in its lowercase hyphenated form, for `X-Request-Id`.
pub fn request_id(entropy: &mut dyn Entropy) -> String {
    let mut b = [0u8; 16];
    entropy.fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::SeededEntropy;

    #[test]
    fn generated_ids_and_secrets_parse() {
        let mut e = SeededEntropy::new(3);
        for _ in 0..100 {
            let w = WorkspaceId::generate(&mut e);
            assert_eq!(w.as_str().len(), 31);
            assert_eq!(WorkspaceId::parse(w.as_str()), Ok(w));
            let k = ApiKeyId::generate(&mut e);
            assert_eq!(ApiKeyId::parse(k.as_str()), Ok(k));
            let wf = WorkflowId::generate(&mut e);
            assert_eq!(WorkflowId::parse(wf.as_str()), Ok(wf));
            let nd = NodeId::generate(&mut e);
            assert_eq!(NodeId::parse(nd.as_str()), Ok(nd));
            let s = ClientSecret::generate(&mut e);
            assert_eq!(ClientSecret::parse(s.expose()), Ok(s));
            let s = WebhookSecret::generate(&mut e);
            assert_eq!(WebhookSecret::parse(s.expose()), Ok(s));
            let key = ApiKey::generate(KeyEnvironment::Prod, &mut e);
            assert_eq!(ApiKey::parse(KeyEnvironment::Prod, key.expose()), Ok(key));
        }
    }

    #[test]
    fn base62_has_the_length_and_alphabet_asked_for() {
        let mut e = SeededEntropy::new(7);
        for len in [0, 1, 8, 27, 100] {
            let s = base62(&mut e, len);
            assert_eq!(s.len(), len);
            assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn base62_is_roughly_uniform() {
        let mut e = SeededEntropy::new(42);
        let mut counts = [0u32; 62];
        let s = base62(&mut e, 62_000);
        for b in s.bytes() {
            counts[BASE62.iter().position(|&c| c == b).unwrap()] += 1;
        }
        // Each character is expected 1000 times; a fold with % 62 would give the first
        // eight about 1016 and the rest about 984 on a large sample. Here: loose bounds.
        assert!(
            counts.iter().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn base62_rejects_biased_bytes() {
        // An entropy that only ever yields 255 then 1: 255 must be skipped, never folded.
        let mut flip = false;
        let mut e = |buf: &mut [u8]| {
            for b in buf.iter_mut() {
                *b = if flip { 1 } else { 255 };
                flip = !flip;
            }
        };
        assert_eq!(base62(&mut e, 4), "1111");
    }

    #[test]
    fn request_ids_are_version_4_uuids() {
        let mut e = SeededEntropy::new(9);
        let id = request_id(&mut e);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(id.matches('-').count(), 4);
    }
}
