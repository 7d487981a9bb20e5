//! Identifier formats: what the API mints and what it accepts in a path.
//!
//! Every id is a newtype that can only hold a well-formed value, so a handler that has a
//! [`ClientId`] never needs to ask whether it is one.

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

            /// The id of this text, which the caller made well formed.
            #[cfg_attr(not(feature = "rules"), allow(dead_code))]
            pub(crate) fn from_string(s: String) -> Self {
                Self(s)
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

            /// The id of these bytes, which the caller made of the right characters.
            #[cfg_attr(not(feature = "rules"), allow(dead_code))]
            pub(crate) fn from_ascii(bytes: [u8; $len]) -> Self {
                Self(bytes)
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
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    proptest! {
        #[test]
        fn client_id_parse_accepts_exactly_eight_alphanumerics(s in "\\PC{0,12}") {
            let ok = s.len() == 8 && s.bytes().all(|b| b.is_ascii_alphanumeric());
            prop_assert_eq!(ClientId::parse(&s).is_some(), ok);
        }
    }
}
