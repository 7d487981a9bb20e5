//! Secret formats: client secrets, webhook signing secrets and workspace API keys.
//!
//! Secret types print as `[redacted]` under `Debug`, so a stray `{:?}` in a log line
//! cannot leak one. The text is reachable only through an explicit `expose()`.
//!
//! They compare in constant time, with `==` as with `verify`: how long a comparison takes
//! does not depend on where the two values differ, so a caller timing many guesses (at an
//! authorization server checking a client secret, say) learns nothing of the secret. Only
//! the length may show, and a secret's format makes it public anyway.

use crate::wire::error::FieldError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use subtle::ConstantTimeEq;

/// Whether every byte is a lowercase hex digit.
fn is_lower_hex(s: &[u8]) -> bool {
    s.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

macro_rules! secret {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $parameter:literal) => {
        $(#[$doc])*
        ///
        /// `==` compares in constant time, as [`Self::verify`] does.
        #[derive(Clone)]
        pub struct $name(String);

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.verify(&other.0)
            }
        }

        impl Eq for $name {}

        impl $name {
            /// The prefix every value starts with.
            pub const PREFIX: &'static str = $prefix;

            /// The secret whose 64 lowercase hex digits follow the prefix.
            #[cfg_attr(not(feature = "rules"), allow(dead_code))]
            pub(crate) fn from_hex_digits(hex: &str) -> Option<Self> {
                Self::parse(&format!("{}{hex}", $prefix)).ok()
            }

            /// The 64 lowercase hex digits after the prefix.
            pub fn hex_digits(&self) -> &str {
                &self.0[$prefix.len()..]
            }

            /// Accepts a value of the exact format (prefix + 64 lowercase hex); else an
            #[doc = concat!("invalid `", $parameter, "` (whose message does not repeat the value).")]
            pub fn parse(s: &str) -> Result<Self, FieldError> {
                match s.strip_prefix($prefix) {
                    Some(rest) if rest.len() == 64 && is_lower_hex(rest.as_bytes()) => {
                        Ok(Self(s.to_owned()))
                    }
                    _ => Err(FieldError::invalid(
                        $parameter,
                        concat!("must be ", $prefix, " and 64 lowercase hex digits"),
                    )),
                }
            }

            /// The secret in plain text. Call it only to put it in a response body or to
            /// seal it.
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// Whether `presented` is this secret, compared in constant time: the time
            /// taken does not depend on where they differ. A value of another length is
            /// refused at once (the format fixes a secret's length).
            pub fn verify(&self, presented: &str) -> bool {
                bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
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
                Self::parse(&s).map_err(|_| {
                    serde::de::Error::custom(concat!("expected ", $prefix, " and 64 lowercase hex digits"))
                })
            }
        }
    };
}

secret!(
    /// An app's client secret: `sh_app_` + 64 lowercase hex (256 random bits).
    ClientSecret,
    "sh_app_",
    "clientSecret"
);

secret!(
    /// A webhook signing secret: `whsec_` + 64 lowercase hex. Returned in full only by
    /// the rotation that creates it; everywhere else as a [`WebhookSecret::preview`].
    WebhookSecret,
    "whsec_",
    "secret"
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
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s {
            "test" => Ok(Self::Test),
            "prod" => Ok(Self::Prod),
            _ => Err(FieldError::invalid(
                "KEY_ENVIRONMENT",
                "must be test or prod",
            )),
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
/// hash (`ApiKey::hash`, feature `rules`). `==` compares in constant time, as
/// [`ApiKey::verify`] does.
#[derive(Clone)]
pub struct ApiKey(String);

impl PartialEq for ApiKey {
    fn eq(&self, other: &Self) -> bool {
        self.verify(&other.0)
    }
}

impl Eq for ApiKey {}

impl ApiKey {
    /// The key of this text, which the caller made well formed.
    #[cfg_attr(not(feature = "rules"), allow(dead_code))]
    pub(crate) fn from_string(s: String) -> Self {
        Self(s)
    }

    /// Accepts a presented key if it has the prefix of `env` followed by 16 to 128 base62
    /// characters. Anything else cannot be a key of this deployment, so it is refused
    /// before any lookup: an invalid `Authorization` (whose message does not repeat the
    /// value).
    pub fn parse(env: KeyEnvironment, s: &str) -> Result<Self, FieldError> {
        match s.strip_prefix(env.key_prefix()) {
            Some(rest)
                if (16..=128).contains(&rest.len())
                    && rest.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                Ok(Self(s.to_owned()))
            }
            _ => Err(FieldError::invalid(
                "Authorization",
                format!(
                    "must hold an API key of this deployment: {} followed by 16 to 128 characters of [A-Za-z0-9]",
                    env.key_prefix()
                ),
            )),
        }
    }

    /// The key in plain text, for the one response that hands it out.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its last four characters, kept beside its hash so that an operator can tell keys
    /// apart (`GET /admin/v1/workspaces/{id}/api-keys`): four of at least 16 random base62
    /// characters, which leave at least 71 bits unknown.
    pub fn last4(&self) -> &str {
        // A key is ASCII and has at least 16 characters after its prefix.
        &self.0[self.0.len() - 4..]
    }

    /// Whether `presented` is this key, compared in constant time: the time taken does
    /// not depend on where they differ.
    pub fn verify(&self, presented: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
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
            .or_else(|_| Self::parse(KeyEnvironment::Prod, &s))
            .map_err(|_| serde::de::Error::custom("expected an sk_workspace_ key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_contract_formats() {
        let hex = "0123456789abcdef".repeat(4);
        let c = ClientSecret::parse(&format!("sh_app_{hex}")).unwrap();
        assert_eq!(c.hex_digits(), hex);
        assert_eq!(ClientSecret::from_hex_digits(&hex), Some(c));
        let w = WebhookSecret::from_hex_digits(&hex).unwrap();
        assert_eq!(w.expose(), format!("whsec_{hex}"));
        assert_eq!(w.preview(), "whsec_****cdef");
        for bad in [
            "sh_app_ABC".to_owned(),
            format!("sh_app_{}", "G".repeat(64)),
            format!("sh_app_{}", "A".repeat(64)),
            format!("sh_app_{hex}0"),
            format!("whsec_{hex}"),
        ] {
            let e = ClientSecret::parse(&bad).unwrap_err();
            assert_eq!(e.parameter, "clientSecret");
            assert!(!e.message.contains(&bad), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let hex = "ab".repeat(32);
        let c = ClientSecret::from_hex_digits(&hex).unwrap();
        let w = WebhookSecret::from_hex_digits(&hex).unwrap();
        let k = ApiKey::parse(KeyEnvironment::Test, "sk_workspace_test_abcdefghijklmnop").unwrap();
        let shown = format!("{c:?} {k:?} {w:?}");
        assert!(
            !shown.contains(&hex) && !shown.contains("sk_workspace"),
            "{shown}"
        );
    }

    #[test]
    fn a_keys_last_four_characters_are_its_end() {
        let k = ApiKey::parse(KeyEnvironment::Prod, "sk_workspace_prod_abcdefghijklmnoP").unwrap();
        assert_eq!(k.last4(), "mnoP");
    }

    #[test]
    fn a_secret_is_verified_against_exactly_itself() {
        let hex = "0123456789abcdef".repeat(4);
        let secret = ClientSecret::from_hex_digits(&hex).unwrap();
        assert!(secret.verify(secret.expose()));
        assert!(secret == ClientSecret::from_hex_digits(&hex).unwrap());
        let text = secret.expose().to_owned();
        for at in 0..text.len() {
            let mut other = text.clone().into_bytes();
            other[at] = if other[at] == b'0' { b'1' } else { b'0' };
            let other = String::from_utf8(other).unwrap();
            assert!(!secret.verify(&other), "differs at {at}");
        }
        for other in ["", "sh_app_", &text[..text.len() - 1], &format!("{text}0")] {
            assert!(!secret.verify(other), "{other:?}");
        }
        assert!(secret != ClientSecret::from_hex_digits(&"f".repeat(64)).unwrap());
        let hook = WebhookSecret::from_hex_digits(&hex).unwrap();
        assert!(hook.verify(&format!("whsec_{hex}")) && !hook.verify(&format!("sh_app_{hex}")));
        let key =
            ApiKey::parse(KeyEnvironment::Test, "sk_workspace_test_abcdefghijklmnop").unwrap();
        assert!(key.verify("sk_workspace_test_abcdefghijklmnop"));
        assert!(!key.verify("sk_workspace_test_abcdefghijklmnoq"));
    }

    #[test]
    fn api_keys_belong_to_one_environment() {
        let text = "sk_workspace_test_abcdefghijklmnop";
        assert!(ApiKey::parse(KeyEnvironment::Test, text).is_ok());
        assert!(ApiKey::parse(KeyEnvironment::Prod, text).is_err());
        assert!(ApiKey::parse(KeyEnvironment::Test, "sk_workspace_test_short").is_err());
        assert!(ApiKey::parse(
            KeyEnvironment::Test,
            "Bearer sk_workspace_test_aaaaaaaaaaaaaaaa"
        )
        .is_err());
    }
}
