//! `Idempotency-Key`: one request, however often it is sent.
//!
//! The rules, all pure (the clock is passed in):
//! - The header is 1 to 255 visible ASCII characters; a value in double quotes (the IETF
//!   draft's structured-field string) means the text inside them. See [`IdempotencyKey`].
//! - A request's [`Fingerprint`] is SHA-256 over its method, its path and its body in
//!   canonical JSON, so key order and white space do not make a retry "different".
//!
//! What the server does with a key (its claim, the decision to process, replay or refuse,
//! the recorded answer) is the server's business (`connect_core::server::idempotency`,
//! feature `server`).

use crate::rules::api_key::sha256_hex;
use crate::wire::error::FieldError;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The header's name, as errors name it.
pub const HEADER: &str = "Idempotency-Key";
/// Longest key, in characters.
pub const MAX_KEY_LEN: usize = 255;
/// How long a key holds its response: 24 hours.
pub const KEY_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// A valid `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(pub(crate) String);

impl IdempotencyKey {
    /// Reads the header value. `"abc"` means `abc`; inside quotes `"` and `\` are not
    /// allowed (the structured-field escapes are not worth their ambiguity here).
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let invalid = |why: &str| FieldError::invalid(HEADER, why);
        let (text, quoted) = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(inner) if raw.len() >= 2 => (inner, true),
            _ => (raw, false),
        };
        if text.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if text.len() > MAX_KEY_LEN {
            return Err(invalid("must be at most 255 characters").with_max(MAX_KEY_LEN as u64));
        }
        let visible = |b: u8| (0x21..=0x7e).contains(&b) && !(quoted && (b == b'"' || b == b'\\'));
        if !text.bytes().all(visible) {
            return Err(invalid(
                "must hold only visible ASCII characters (no spaces or control characters)",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Canonical JSON: object keys sorted (by their UTF-8 bytes), no insignificant white
/// space, array order kept, strings and numbers as serde_json writes them.
///
/// That is serde_json's own compact output of a [`Value`]: its objects are `BTreeMap`s,
/// which iterate in key order (the crate's `preserve_order` feature, which would keep the
/// order they were written in, is on nowhere in this build; a test holds it so).
pub fn canonical_json(value: &Value) -> String {
    // Serializing a Value to a String cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// What identifies a request for idempotency: SHA-256 hex over method, path and
/// canonical body. Read back from JSON, it must be 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Fingerprint(pub(crate) String);

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let hex = String::deserialize(d)?;
        let digest = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if digest {
            Ok(Self(hex))
        } else {
            Err(serde::de::Error::custom(
                "expected a fingerprint: 64 lowercase hex digits",
            ))
        }
    }
}

impl Fingerprint {
    /// The fingerprint of `method path body`. A request without a body (a rotation) has
    /// `None`.
    pub fn of(method: &str, path: &str, body: Option<&Value>) -> Self {
        let mut text = format!("{}\n{path}\n", method.to_ascii_uppercase());
        if let Some(body) = body {
            text.push_str(&canonical_json(body));
        }
        Self(sha256_hex(text.as_bytes()))
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn a_key_holds_its_answer_for_24_hours() {
        assert_eq!(KEY_TTL_MS, 86_400_000);
    }

    #[test]
    fn header_values() {
        assert_eq!(
            IdempotencyKey::parse("7f3c9a1e-2b4d").unwrap().as_str(),
            "7f3c9a1e-2b4d"
        );
        assert_eq!(IdempotencyKey::parse("\"abc\"").unwrap().as_str(), "abc");
        assert_eq!(IdempotencyKey::parse("\"").unwrap().as_str(), "\"");
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse(&format!("\"{}\"", "k".repeat(255))).is_ok());
        for bad in [
            "",
            "\"\"",
            "a b",
            "a\tb",
            "a\u{1}",
            "caf\u{e9}",
            "\"a\"b\"",
            "\"a\\b\"",
        ] {
            let e = IdempotencyKey::parse(bad).unwrap_err();
            assert_eq!(e.parameter, "Idempotency-Key", "{bad:?}");
        }
        assert_eq!(
            IdempotencyKey::parse(&"k".repeat(256)).unwrap_err().max,
            Some(255)
        );
    }

    #[test]
    fn json_objects_iterate_in_key_order_whatever_order_they_were_written_in() {
        // Fails if serde_json's `preserve_order` feature gets turned on by any crate of
        // the build, which would make the fingerprint depend on the caller's key order.
        let v: Value = serde_json::from_str(r#"{ "b": 1, "a": 2, "é": 3, "B": 4 }"#).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["B", "a", "b", "\u{e9}"]);
    }

    #[test]
    fn canonical_json_sorts_keys_and_drops_space() {
        let v: Value =
            serde_json::from_str(r#" { "b" : [ 3 , { "z":1, "a" : "x\n" } ], "a": null } "#)
                .unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":null,"b":[3,{"a":"x\n","z":1}]}"#
        );
    }

    #[test]
    fn fingerprint_covers_method_path_and_body() {
        let body = json!({ "items": [ { "name": "a" } ] });
        let fp = Fingerprint::of("POST", "/connect/v1/apps/batch", Some(&body));
        assert_ne!(fp, Fingerprint::of("POST", "/connect/v1/apps", Some(&body)));
        assert_ne!(
            fp,
            Fingerprint::of("PUT", "/connect/v1/apps/batch", Some(&body))
        );
        assert_ne!(fp, Fingerprint::of("POST", "/connect/v1/apps/batch", None));
        assert_eq!(
            fp,
            Fingerprint::of("post", "/connect/v1/apps/batch", Some(&body))
        );
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z\\n\"é ]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                proptest::collection::btree_map("[a-zA-Z]{1,6}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Re-serializes with keys in reverse order and generous white space.
    fn scramble(v: &Value) -> String {
        match v {
            Value::Object(m) => {
                let mut entries: Vec<_> = m.iter().collect();
                entries.reverse();
                let parts: Vec<String> = entries
                    .into_iter()
                    .map(|(k, v)| {
                        format!(
                            " {} :\n {} ",
                            serde_json::to_string(k).unwrap(),
                            scramble(v)
                        )
                    })
                    .collect();
                format!("{{ {} }}", parts.join(" ,\t"))
            }
            Value::Array(a) => format!(
                "[ {} ]",
                a.iter().map(scramble).collect::<Vec<_>>().join(" , ")
            ),
            other => other.to_string(),
        }
    }

    proptest! {
        #[test]
        fn reordering_keys_or_spacing_keeps_the_fingerprint(v in json_value()) {
            let again: Value = serde_json::from_str(&scramble(&v)).unwrap();
            prop_assert_eq!(
                Fingerprint::of("POST", "/p", Some(&v)),
                Fingerprint::of("POST", "/p", Some(&again))
            );
        }

        #[test]
        fn changing_a_value_changes_the_fingerprint(
            // Two different values: when the draws are equal, the second is wrapped in an
            // array, so no case is skipped.
            (v, w) in (json_value(), json_value())
                .prop_map(|(v, w)| if v == w { (v, Value::Array(vec![w])) } else { (v, w) }),
        ) {
            prop_assert_ne!(
                Fingerprint::of("POST", "/p", Some(&v)),
                Fingerprint::of("POST", "/p", Some(&w))
            );
        }

        #[test]
        fn canonical_json_is_json_of_the_same_value(v in json_value()) {
            let back: Value = serde_json::from_str(&canonical_json(&v)).unwrap();
            prop_assert_eq!(back, v);
        }

        #[test]
        fn any_visible_ascii_key_up_to_255_parses(k in "[!-~]{1,255}") {
            let quoted = k.len() >= 2 && k.starts_with('"') && k.ends_with('"');
            let expected = !quoted || {
                let inner = &k[1..k.len() - 1];
                !inner.is_empty() && !inner.bytes().any(|b| b == b'"' || b == b'\\')
            };
            prop_assert_eq!(IdempotencyKey::parse(&k).is_ok(), expected);
        }
    }
}
