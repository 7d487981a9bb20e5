//! What a row of an import is known by from one run to the next, and what it says.
//!
//! A row with an `idempotencyKey` is that key: the caller's own reference for the
//! customer, which stays the same when the row is corrected, moved or the file exported
//! again. A row without one is its content: change it and it is another customer.

use connect_client::BatchItem;
use connect_core::rules::idempotency::canonical_json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// A row's identity: `key:<idempotencyKey>`, or `content:<SHA-256 of its content>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RowId(String);

impl RowId {
    /// The identity of a row with this `idempotencyKey` (if any) and this content.
    pub fn of(idempotency_key: Option<&str>, content: &Content) -> Self {
        match idempotency_key {
            Some(key) => Self::of_key(key),
            None => Self(format!("content:{}", content.0)),
        }
    }

    /// The identity of a row with this `idempotencyKey`, whatever else it says.
    pub fn of_key(idempotency_key: &str) -> Self {
        Self(format!("key:{idempotency_key}"))
    }
}

impl TryFrom<String> for RowId {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let known = s.strip_prefix("key:").is_some_and(|k| !k.is_empty())
            || s.strip_prefix("content:").is_some_and(is_sha256_hex);
        if known {
            Ok(Self(s))
        } else {
            Err(format!(
                "{s:?} is not a row identity (key:... or content:<sha-256>)"
            ))
        }
    }
}

impl From<RowId> for String {
    fn from(id: RowId) -> String {
        id.0
    }
}

impl fmt::Display for RowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a row says: SHA-256 (hex) of its batch item in canonical JSON (the form of the
/// API's idempotency fingerprint, so key order and spacing do not count), or of its raw
/// text when it cannot be read as an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Content(String);

impl Content {
    /// The content of a row that reads as a batch item.
    pub fn of_item(item: &BatchItem) -> Self {
        let value = serde_json::to_value(item).expect("batch items serialize");
        Self::digest(format!("item\n{}", canonical_json(&value)).as_bytes())
    }

    /// The content of a row that cannot be read as an item: its raw text.
    pub fn of_text(raw: &str) -> Self {
        Self::digest(format!("text\n{raw}").as_bytes())
    }

    fn digest(bytes: &[u8]) -> Self {
        Self(hex::encode(Sha256::digest(bytes)))
    }
}

impl TryFrom<String> for Content {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        if is_sha256_hex(&s) {
            Ok(Self(s))
        } else {
            Err(format!("{s:?} is not a SHA-256 in hex"))
        }
    }
}

impl From<Content> for String {
    fn from(c: Content) -> String {
        c.0
    }
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_client::CreateAppRequest;

    fn item(name: &str, key: Option<&str>) -> BatchItem {
        BatchItem {
            app: CreateAppRequest {
                name: name.into(),
                logo: None,
                redirect_uris: Some(vec!["https://a.example.com/cb".into()]),
                webhook_config: None,
            },
            idempotency_key: key.map(str::to_owned),
        }
    }

    #[test]
    fn a_keyed_row_keeps_its_identity_when_its_content_changes() {
        let (before, after) = (item("Acme", Some("c-1")), item("Acme Corp", Some("c-1")));
        let (a, b) = (Content::of_item(&before), Content::of_item(&after));
        assert_ne!(a, b);
        assert_eq!(RowId::of(Some("c-1"), &a), RowId::of(Some("c-1"), &b));
        assert_eq!(RowId::of(Some("c-1"), &a).to_string(), "key:c-1");
    }

    #[test]
    fn a_row_without_a_key_is_its_content() {
        let a = Content::of_item(&item("Acme", None));
        assert_eq!(a, Content::of_item(&item("Acme", None)));
        assert_ne!(a, Content::of_item(&item("Acme ", None)));
        assert_ne!(a, Content::of_text("Acme,https://a.example.com/cb"));
        assert_eq!(
            RowId::of(None, &a).to_string(),
            format!("content:{}", String::from(a))
        );
    }

    #[test]
    fn identities_read_back_only_in_their_own_form() {
        let c = Content::of_text("x");
        let id = RowId::of(None, &c);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<RowId>(&json).unwrap(), id);
        for bad in ["\"key:\"", "\"content:abc\"", "\"customer-1\""] {
            assert!(serde_json::from_str::<RowId>(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Content>("\"ABC\"").is_err());
    }
}
