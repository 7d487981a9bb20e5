//! Identifier formats: what the API mints and what it accepts in a path.
//!
//! Every id is a newtype that can only hold a well-formed value, so a handler that has a
//! [`ClientId`] never needs to ask whether it is one.

use crate::entropy::{base62, fill_base62, fill_hex, is_lower_hex, Entropy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Accepts `s` if it is well formed.
            pub fn parse(s: &str) -> Option<Self> {
                let check: fn(&str) -> bool = $check;
                check(s).then(|| Self(s.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
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
                    serde::de::Error::custom(concat!("expected ", $what))
                })
            }
        }
    };
}

macro_rules! fixed_id {
    ($(#[$doc:meta])* $name:ident, $len:literal, $what:literal, $check:expr) => {
        $(#[$doc])*
        ///
        /// Held inline (it has a fixed length): copying one allocates nothing.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Accepts `s` if it is well formed.
            pub fn parse(s: &str) -> Option<Self> {
                let check: fn(&str) -> bool = $check;
                (s.len() == $len && check(s)).then(|| Self(s.as_bytes().try_into().unwrap_or([b'0'; $len])))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                // Only ASCII is ever stored (checked by `parse`, or minted from ASCII).
                std::str::from_utf8(&self.0).unwrap_or_default()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| serde::de::Error::custom(concat!("expected ", $what)))
            }
        }
    };
}

fn alnum(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn lower_hex(s: &str) -> bool {
    is_lower_hex(s.as_bytes())
}

fn prefixed(
    s: &str,
    prefix: &str,
    len: std::ops::RangeInclusive<usize>,
    body: fn(&str) -> bool,
) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|rest| len.contains(&rest.len()) && body(rest))
}

fixed_id!(
    /// An app's public identifier: 8 characters of `[A-Za-z0-9]`, uniformly random,
    /// globally unique, immutable (for example `HqTRDIYH`).
    ClientId,
    8,
    "8 characters of [A-Za-z0-9]",
    alnum
);

string_id!(
    /// A workspace (organization): `org_` followed by base62 characters.
    WorkspaceId,
    "org_ followed by 1 to 64 characters of [A-Za-z0-9]",
    |s| prefixed(s, "org_", 1..=64, alnum)
);

string_id!(
    /// An API key's public identifier, what an operator revokes: `key_` + base62.
    ApiKeyId,
    "key_ followed by 1 to 64 characters of [A-Za-z0-9]",
    |s| prefixed(s, "key_", 1..=64, alnum)
);

fixed_id!(
    /// A workflow of an app: `wf_` + 8 lowercase hex.
    WorkflowId,
    11,
    "wf_ followed by 8 lowercase hex digits",
    |s| prefixed(s, "wf_", 8..=8, lower_hex)
);

fixed_id!(
    /// A node of a workflow: `nd_` + 8 lowercase hex.
    NodeId,
    11,
    "nd_ followed by 8 lowercase hex digits",
    |s| prefixed(s, "nd_", 8..=8, lower_hex)
);

impl ClientId {
    /// A fresh random client id. 62^8 (about 2^47.6) values: the store's primary key
    /// catches the rare collision and the caller mints again.
    pub fn generate(entropy: &mut dyn Entropy) -> Self {
        let mut id = [0u8; 8];
        fill_base62(entropy, &mut id);
        Self(id)
    }
}

impl WorkspaceId {
    /// A fresh workspace id, `org_` + 27 base62 (about 160 bits).
    pub fn generate(entropy: &mut dyn Entropy) -> Self {
        Self(format!("org_{}", base62(entropy, 27)))
    }
}

impl ApiKeyId {
    /// A fresh key id, `key_` + 16 base62.
    pub fn generate(entropy: &mut dyn Entropy) -> Self {
        Self(format!("key_{}", base62(entropy, 16)))
    }
}

impl WorkflowId {
    /// A fresh workflow id, `wf_` + 8 hex. Unique within its app is all that is needed.
    pub fn generate(entropy: &mut dyn Entropy) -> Self {
        let mut id = *b"wf_00000000";
        fill_hex(entropy, &mut id[3..]);
        Self(id)
    }
}

impl NodeId {
    /// A fresh node id, `nd_` + 8 hex.
    pub fn generate(entropy: &mut dyn Entropy) -> Self {
        let mut id = *b"nd_00000000";
        fill_hex(entropy, &mut id[3..]);
        Self(id)
    }
}

/// A random (version 4) UUID in its lowercase hyphenated form, for `X-Request-Id`.
pub fn request_id(entropy: &mut dyn Entropy) -> String {
    let mut b = [0u8; 16];
    entropy.fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::entropy::to_hex(&b);
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
    use crate::entropy::SeededEntropy;
    use proptest::prelude::*;

    #[test]
    fn generated_ids_parse() {
        let mut e = SeededEntropy::new(3);
        for _ in 0..100 {
            let c = ClientId::generate(&mut e);
            assert_eq!(ClientId::parse(c.as_str()), Some(c));
            let w = WorkspaceId::generate(&mut e);
            assert_eq!(w.as_str().len(), 31);
            assert!(WorkspaceId::parse(w.as_str()).is_some());
            assert!(ApiKeyId::parse(ApiKeyId::generate(&mut e).as_str()).is_some());
            assert!(WorkflowId::parse(WorkflowId::generate(&mut e).as_str()).is_some());
            assert!(NodeId::parse(NodeId::generate(&mut e).as_str()).is_some());
        }
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "HqTRDIY",
            "HqTRDIYHX",
            "HqTRD-YH",
            "HqTRDIY\u{e9}",
            "../../..",
            "HqTRDIY ",
        ] {
            assert!(ClientId::parse(bad).is_none(), "{bad:?}");
        }
        for bad in ["org_", "org", "org_a/b", "ORG_abc", "org_\u{0}"] {
            assert!(WorkspaceId::parse(bad).is_none(), "{bad:?}");
        }
        assert!(WorkflowId::parse("wf_ABCDEF12").is_none());
        assert!(NodeId::parse("nd_1234567").is_none());
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

    proptest! {
        #[test]
        fn client_id_parse_accepts_exactly_eight_alphanumerics(s in "\\PC{0,12}") {
            let ok = s.len() == 8 && s.bytes().all(|b| b.is_ascii_alphanumeric());
            prop_assert_eq!(ClientId::parse(&s).is_some(), ok);
        }
    }
}
