//! Secret formats: client secrets, webhook signing secrets and workspace API keys.
//!
//! Secret types print as `[redacted]` under `Debug`, so a stray `{:?}` in a log line
//! cannot leak one. The text is reachable only through an explicit `expose()`.

use crate::entropy::{base62, fill_hex, is_lower_hex, to_hex, Entropy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    to_hex(&Sha256::digest(data))
}

macro_rules! secret {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// The prefix every value starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh secret: the prefix and 256 random bits as 64 lowercase hex.
            pub fn generate(entropy: &mut dyn Entropy) -> Self {
                let mut digits = [0u8; 64];
                fill_hex(entropy, &mut digits);
                let mut s = String::with_capacity($prefix.len() + 64);
                s.push_str($prefix);
                s.extend(digits.iter().map(|&b| char::from(b)));
                Self(s)
            }

            /// Accepts a value of the exact format (prefix + 64 lowercase hex).
            pub fn parse(s: &str) -> Option<Self> {
                let rest = s.strip_prefix($prefix)?;
                (rest.len() == 64
                    && is_lower_hex(rest.as_bytes()))
                .then(|| Self(s.to_owned()))
            }

            /// The secret in plain text. Call it only to put it in a response body or to
            /// seal it.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(concat!("expected ", $prefix, " and 64 lowercase hex digits"))
                })
            }
        }
    };
}

secret!(
    /// An app's client secret: `sh_app_` + 64 lowercase hex (256 random bits).
    ClientSecret,
    "sh_app_"
);

secret!(
    /// A webhook signing secret: `whsec_` + 64 lowercase hex. Returned in full only by
    /// the rotation that creates it; everywhere else as a [`WebhookSecret::preview`].
    WebhookSecret,
    "whsec_"
);

impl WebhookSecret {
    /// What `GET` shows of the secret: the prefix, four stars and its last four
    /// characters (`whsec_****abc1`), enough to tell two secrets apart and no more.
    pub fn preview(&self) -> String {
        format!("whsec_****{}", &self.0[self.0.len() - 4..])
    }
}

/// Which deployment an API key belongs to: keys of one never work on the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEnvironment {
    /// Local and sandbox deployments: `sk_workspace_test_...`.
    Test,
    /// Production: `sk_workspace_prod_...`.
    Prod,
}

impl KeyEnvironment {
    /// Reads the `KEY_ENVIRONMENT` setting (`test` or `prod`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "test" => Some(Self::Test),
            "prod" => Some(Self::Prod),
            _ => None,
        }
    }

    /// The prefix of every key of this environment.
    pub fn key_prefix(self) -> &'static str {
        match self {
            Self::Test => "sk_workspace_test_",
            Self::Prod => "sk_workspace_prod_",
        }
    }
}

/// A workspace API key, as presented in `Authorization: Bearer ...`. Stored only as its
/// [`ApiKey::hash`].
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

/// Characters of randomness after the prefix of a minted key (about 190 bits).
const API_KEY_RANDOM_LEN: usize = 32;

impl ApiKey {
    /// A fresh key of `env`.
    pub fn generate(env: KeyEnvironment, entropy: &mut dyn Entropy) -> Self {
        Self(format!(
            "{}{}",
            env.key_prefix(),
            base62(entropy, API_KEY_RANDOM_LEN)
        ))
    }

    /// Accepts a presented key if it has the prefix of `env` followed by 16 to 128 base62
    /// characters. Anything else cannot be a key of this deployment, so it is refused
    /// before any lookup.
    pub fn parse(env: KeyEnvironment, s: &str) -> Option<Self> {
        let rest = s.strip_prefix(env.key_prefix())?;
        ((16..=128).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| Self(s.to_owned()))
    }

    /// Lowercase hex SHA-256 of the key: the only form in which it is stored. A fast hash
    /// is enough because keys carry about 190 random bits; there is nothing to brute-force.
    pub fn hash(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }

    /// The key in plain text, for the one response that hands it out.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl Serialize for ApiKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ApiKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(KeyEnvironment::Test, &s)
            .or_else(|| Self::parse(KeyEnvironment::Prod, &s))
            .ok_or_else(|| serde::de::Error::custom("expected an sk_workspace_ key"))
    }
}

/// Compares two byte strings in time that depends only on their lengths' digests, not on
/// where they differ: both sides are hashed first, so even the length of the secret side
/// is not revealed by timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (da, db) = (Sha256::digest(a), Sha256::digest(b));
    da.iter()
        .zip(db.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    #[test]
    fn secrets_have_the_contract_formats() {
        let mut e = SeededEntropy::new(5);
        let c = ClientSecret::generate(&mut e);
        assert!(c.expose().starts_with("sh_app_") && c.expose().len() == 7 + 64);
        assert_eq!(ClientSecret::parse(c.expose()), Some(c.clone()));
        let w = WebhookSecret::generate(&mut e);
        assert!(w.expose().starts_with("whsec_") && w.expose().len() == 6 + 64);
        let p = w.preview();
        assert!(p.starts_with("whsec_****") && p.len() == 14);
        assert!(w.expose().ends_with(&p[10..]));
        assert!(ClientSecret::parse("sh_app_ABC").is_none());
        assert!(ClientSecret::parse(&format!("sh_app_{}", "G".repeat(64))).is_none());
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let mut e = SeededEntropy::new(6);
        let c = ClientSecret::generate(&mut e);
        let k = ApiKey::generate(KeyEnvironment::Test, &mut e);
        let shown = format!("{c:?} {k:?} {:?}", WebhookSecret::generate(&mut e));
        assert!(
            !shown.contains("sh_app_")
                && !shown.contains("sk_workspace")
                && !shown.contains("whsec_")
        );
    }

    #[test]
    fn api_keys_belong_to_one_environment() {
        let mut e = SeededEntropy::new(8);
        let k = ApiKey::generate(KeyEnvironment::Test, &mut e);
        assert!(ApiKey::parse(KeyEnvironment::Test, k.expose()).is_some());
        assert!(ApiKey::parse(KeyEnvironment::Prod, k.expose()).is_none());
        assert!(ApiKey::parse(KeyEnvironment::Test, "sk_workspace_test_short").is_none());
        assert!(ApiKey::parse(
            KeyEnvironment::Test,
            "Bearer sk_workspace_test_aaaaaaaaaaaaaaaa"
        )
        .is_none());
        assert_eq!(k.hash().len(), 64);
        assert_eq!(
            sha256_hex(b"sk_workspace_test_peerbench"),
            "2ddb629c19790b00fedf41b15219e0b9c1cd9a17e8cdc416de20ace581647183"
        );
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }
}
