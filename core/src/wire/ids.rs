//! Identifier formats: what the API mints and what it accepts in a path.
//!
//! Every id is a newtype that can only hold a well-formed value, so a handler that has a
//! [`ClientId`] never needs to ask whether it is one. Each `parse` returns the
//! [`FieldError`] of every rule, naming the id as the API names it in paths and bodies
//! (`clientId`, `workspaceId`, `keyId`, `workflowId`, `nodeId`).

use crate::wire::error::FieldError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $parameter:literal, $what:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Accepts `s` if it is well formed; else an invalid
            #[doc = concat!("`", $parameter, "`.")]
            pub fn parse(s: &str) -> Result<Self, FieldError> {
                let check: fn(&str) -> bool = $check;
                if check(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(FieldError::invalid($parameter, concat!("must be ", $what)))
                }
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
                Self::parse(&s).map_err(|_| serde::de::Error::custom(concat!("expected ", $what)))
            }
        }
    };
}

macro_rules! fixed_id {
    ($(#[$doc:meta])* $name:ident, $len:literal, $parameter:literal, $what:literal, $check:expr) => {
        $(#[$doc])*
        ///
        /// Held inline (it has a fixed length): copying one allocates nothing.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Accepts `s` if it is well formed; else an invalid
            #[doc = concat!("`", $parameter, "`.")]
            pub fn parse(s: &str) -> Result<Self, FieldError> {
                let check: fn(&str) -> bool = $check;
                match <[u8; $len]>::try_from(s.as_bytes()) {
                    Ok(bytes) if check(s) => Ok(Self(bytes)),
                    _ => Err(FieldError::invalid($parameter, concat!("must be ", $what))),
                }
            }

            /// The id of these bytes, which the caller made of the right characters. (The
            /// rules mint workflow and node ids; only the server mints client ids.)
            #[cfg_attr(not(feature = "server"), allow(dead_code))]
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
                Self::parse(&s).map_err(|_| serde::de::Error::custom(concat!("expected ", $what)))
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
    /// An app's public identifier: 8 characters of `[A-Za-z0-9]`, random (uniformly
    /// within the class of the shard that minted it: `server::shards::ClientIdClass`,
    /// feature `server`), globally unique, immutable (for example `HqTRDIYH`).
    ClientId,
    8,
    "clientId",
    "8 characters of [A-Za-z0-9]",
    alnum
);

string_id!(
    /// A workspace (organization): `org_` followed by base62 characters.
    WorkspaceId,
    "workspaceId",
    "org_ followed by 1 to 64 characters of [A-Za-z0-9]",
    |s| prefixed(s, "org_", 1..=64, alnum)
);

string_id!(
    /// An API key's public identifier, what an operator revokes: `key_` + base62.
    ApiKeyId,
    "keyId",
    "key_ followed by 1 to 64 characters of [A-Za-z0-9]",
    |s| prefixed(s, "key_", 1..=64, alnum)
);

fixed_id!(
    /// A workflow of an app: `wf_` + 8 lowercase hex.
    WorkflowId,
    11,
    "workflowId",
    "wf_ followed by 8 lowercase hex digits",
    |s| prefixed(s, "wf_", 8..=8, lower_hex)
);

fixed_id!(
    /// A node of a workflow: `nd_` + 8 lowercase hex.
    NodeId,
    11,
    "nodeId",
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
            assert!(ClientId::parse(bad).is_err(), "{bad:?}");
        }
        for bad in ["org_", "org", "org_a/b", "ORG_abc", "org_\u{0}"] {
            assert!(WorkspaceId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(WorkflowId::parse("wf_ABCDEF12").is_err());
        assert!(NodeId::parse("nd_1234567").is_err());
    }

    /// Ids as a caller might send them: characters of the alphabet, a length around the
    /// right one, and now and then one character swapped for a near miss (punctuation, a
    /// space, an accented letter, a full-width digit, a control). Each comes with the verdict
    /// the format gives it, worked out from how it was built rather than by the code under
    /// test: well formed exactly when it has `len` characters and no near miss.
    fn id_like(
        alphabet: &'static str,
        lens: impl Strategy<Value = usize>,
        len_ok: fn(usize) -> bool,
    ) -> impl Strategy<Value = (String, bool)> {
        let chars: Vec<char> = alphabet.chars().collect();
        let near = prop::sample::select(vec![
            '-', '_', ' ', '/', '.', '\u{e9}', '\u{ff10}', '\u{0}', 'G', 'Z', 'g', 'z',
        ]);
        (
            lens.prop_flat_map(move |n| {
                prop::collection::vec(prop::sample::select(chars.clone()), n)
            }),
            prop::option::weighted(0.3, (any::<prop::sample::Index>(), near)),
        )
            .prop_map(move |(body, swap)| {
                let mut body: Vec<char> = body;
                let mut ok = len_ok(body.len());
                if let (Some((at, c)), false) = (swap, body.is_empty()) {
                    let at = at.index(body.len());
                    // A letter outside the alphabet is a near miss only where the alphabet
                    // lacks it (upper-case hex, `g`).
                    if !alphabet.contains(c) {
                        ok = false;
                    }
                    body[at] = c;
                }
                (body.into_iter().collect::<String>(), ok)
            })
    }

    /// A length of 8 half the time, else 5 to 11.
    fn eightish() -> impl Strategy<Value = usize> {
        prop_oneof![Just(8usize), 5..=11usize]
    }

    const BASE62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const LOWER_HEX: &str = "0123456789abcdef";

    #[test]
    fn the_id_generators_reach_both_sides() {
        use crate::reach::assert_both_sides;
        assert_both_sides(
            "client ids",
            id_like(BASE62, eightish(), |n| n == 8),
            0.15,
            |v| v.1,
        );
        assert_both_sides(
            "hex ids",
            id_like(LOWER_HEX, eightish(), |n| n == 8),
            0.15,
            |v| v.1,
        );
        assert_both_sides(
            "org ids",
            id_like(BASE62, 0..=66usize, |n| (1..=64).contains(&n)),
            0.15,
            |v| v.1,
        );
    }

    proptest! {
        #[test]
        fn client_id_parse_accepts_exactly_eight_alphanumerics(
            (s, ok) in id_like(BASE62, eightish(), |n| n == 8),
        ) {
            let parsed = ClientId::parse(&s);
            prop_assert_eq!(parsed.is_ok(), ok, "{:?}", s);
            if let Ok(id) = parsed {
                prop_assert_eq!(id.as_str(), s.as_str());
                let back: ClientId = serde_json::from_value(serde_json::json!(s)).unwrap();
                prop_assert_eq!(back, id);
            } else {
                let e = parsed.unwrap_err();
                prop_assert_eq!(e.parameter.as_str(), "clientId");
                prop_assert_eq!(e.message.as_str(), "clientId must be 8 characters of [A-Za-z0-9]");
                prop_assert!(serde_json::from_value::<ClientId>(serde_json::json!(s)).is_err());
            }
        }

        #[test]
        fn workspace_and_key_ids_are_a_prefix_and_1_to_64_alphanumerics(
            (body, ok) in id_like(BASE62, 0..=66usize, |n| (1..=64).contains(&n)),
            prefix in prop::sample::select(vec!["org_", "key_", "ORG_", "org", "key-", ""]),
        ) {
            let s = format!("{prefix}{body}");
            // Two near misses can make a valid id between them (`org` and `_0` are
            // `org_0`): no verdict is known for those.
            let joined = !prefix.ends_with('_') && body.starts_with('_');
            if !joined {
                prop_assert_eq!(WorkspaceId::parse(&s).is_ok(), ok && prefix == "org_", "{:?}", s);
                prop_assert_eq!(ApiKeyId::parse(&s).is_ok(), ok && prefix == "key_", "{:?}", s);
            }
        }

        #[test]
        fn workflow_and_node_ids_are_a_prefix_and_eight_lower_hex(
            (body, ok) in id_like(LOWER_HEX, eightish(), |n| n == 8),
            prefix in prop::sample::select(vec!["wf_", "nd_", "WF_", "wf", "nd-"]),
        ) {
            let s = format!("{prefix}{body}");
            let joined = !prefix.ends_with('_') && body.starts_with('_');
            if !joined {
                prop_assert_eq!(WorkflowId::parse(&s).is_ok(), ok && prefix == "wf_", "{:?}", s);
                prop_assert_eq!(NodeId::parse(&s).is_ok(), ok && prefix == "nd_", "{:?}", s);
            }
        }
    }
}
