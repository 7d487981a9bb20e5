//! `Idempotency-Key`: one request, however often it is sent.
//!
//! The rules, all pure (the clock is passed in):
//! - The header is 1 to 255 visible ASCII characters; a value in double quotes (the IETF
//!   draft's structured-field string) means the text inside them. See [`IdempotencyKey`].
//! - A request's [`Fingerprint`] is SHA-256 over its method, its path and its body in
//!   canonical JSON, so key order and white space do not make a retry "different".
//! - [`decide`] tells, from what is stored under the key, whether to process, replay,
//!   refuse as a conflict or as in progress, or treat the old record as expired.
//!
//! What is stored is a [`StoredResponse`] (status, the headers that matter, the exact body
//! bytes), sealed like every secret because a created app's body holds its secret.

use crate::entropy::{is_lower_hex, push_lower_hex, Entropy};
use crate::error::FieldError;
use crate::ids::WorkspaceId;
use crate::sealed::{SealContext, SealError, SealJob, SealingKey};
use crate::secrets::sha256_hex;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt::Write as _;

/// The header's name, as errors name it.
pub const HEADER: &str = "Idempotency-Key";
/// Longest key, in characters.
pub const MAX_KEY_LEN: usize = 255;
/// How long a key holds its response: 24 hours.
pub const KEY_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// A valid `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

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

    /// SHA-256 hex of the key: how it is stored and looked up (fixed length, whatever the
    /// caller chose to put in it).
    pub fn hash(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }

    /// The name of the KV entry holding this key's response in `workspace`.
    pub fn kv_name(&self, workspace: &WorkspaceId) -> String {
        format!("idem/{workspace}/{}", self.hash())
    }
}

/// Canonical JSON: object keys sorted (by their UTF-8 bytes), no insignificant white
/// space, array order kept, strings and numbers as serde_json writes them.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
    }
}

fn write_string(s: &str, out: &mut String) {
    // serde_json's string escaping is deterministic; reuse it rather than restate it.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// What identifies a request for idempotency: SHA-256 hex over method, path and
/// canonical body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of `method path body`. A request without a body (a rotation) has
    /// `None`.
    pub fn of(method: &str, path: &str, body: Option<&Value>) -> Self {
        let mut text = format!("{}\n{path}\n", method.to_ascii_uppercase());
        if let Some(body) = body {
            write_canonical(body, &mut text);
        }
        Self(sha256_hex(text.as_bytes()))
    }

    /// A fingerprint read back from storage.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the store knows of a key: whose request it was, until when, and whether its
/// response is recorded yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimState {
    /// The fingerprint of the request that claimed the key.
    pub fingerprint: Fingerprint,
    /// When the key is free again.
    pub expires_at: Timestamp,
    /// Whether the response is recorded (a replay is possible).
    pub completed: bool,
}

/// What to do with a request that carries a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing stored: process the request and record its response with the claim.
    Process,
    /// The same request was answered: send the stored response again.
    Replay,
    /// The key belongs to another request (another body or route): 409
    /// `IDEMPOTENCY_KEY_CONFLICT`.
    Conflict,
    /// The same request is still running: 409 `IDEMPOTENCY_REQUEST_IN_PROGRESS`.
    InProgress,
    /// The stored claim is past its 24 hours: remove it, then process as new.
    Expired,
}

/// Decides what to do with a request of fingerprint `request` given what is stored.
pub fn decide(stored: Option<&ClaimState>, request: &Fingerprint, now: Timestamp) -> Decision {
    match stored {
        None => Decision::Process,
        Some(s) if s.expires_at <= now => Decision::Expired,
        Some(s) if s.fingerprint != *request => Decision::Conflict,
        Some(s) if !s.completed => Decision::InProgress,
        Some(_) => Decision::Replay,
    }
}

/// When a key claimed at `now` is free again.
pub fn expiry(now: Timestamp) -> Timestamp {
    now.plus_millis(KEY_TTL_MS)
}

/// A response as recorded for replay: byte-identical body, same status, and the headers
/// that are part of the answer (such as `Location`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers to send again, lower-case names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The exact body.
    pub body: String,
}

/// Prefixes of the secrets a response can hold in full, each followed by 64 lowercase hex.
const SECRET_PREFIXES: [&str; 2] = ["sh_app_", "whsec_"];
const SECRET_HEX: usize = 64;

/// A [`StoredResponse`] as it is kept in D1 and KV: the body in the clear except its
/// secrets, which are sealed together. Sealing only the secrets (a few kilobytes) rather
/// than the whole body (over 100 KB for a 100-item batch) keeps the cost of remembering a
/// response small; the rest of the body is what the apps table holds in the clear anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers to send again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The body with the hex of every secret replaced by `*`, or, when the body already
    /// held that pattern (so the secrets could not be put back unambiguously), empty.
    /// Written compressed when large, else a JSON object body as JSON (see
    /// [`template_text`]).
    #[serde(with = "template_text")]
    pub template: String,
    /// The sealed secrets (their hex, concatenated), or the whole sealed body when
    /// `template` is empty.
    pub sealed: String,
}

impl KeptResponse {
    /// Keeps `response`, sealing its secrets for `context`.
    pub fn keep(
        response: &StoredResponse,
        key: &SealingKey,
        context: SealContext<'_>,
        entropy: &mut dyn Entropy,
    ) -> Self {
        let job = Self::prepare(response, context, entropy);
        let sealed = key.seal_job(job.seal_job());
        job.finish(sealed)
    }

    /// Everything of [`KeptResponse::keep`] but the sealing, for an embedder that seals with
    /// a native AES-GCM (see [`SealJob`]).
    pub fn prepare(
        response: &StoredResponse,
        context: SealContext<'_>,
        entropy: &mut dyn Entropy,
    ) -> KeepJob {
        let (template, seal) = match split_secrets(&response.body) {
            Some((template, secrets)) => (template, SealJob::hex_bytes(secrets, context, entropy)),
            None => (
                String::new(),
                SealJob::new(response.body.as_bytes(), context, entropy),
            ),
        };
        KeepJob {
            status: response.status,
            headers: response.headers.clone(),
            template,
            seal,
        }
    }

    /// The response as it was kept.
    pub fn open(
        &self,
        key: &SealingKey,
        context: SealContext<'_>,
    ) -> Result<StoredResponse, SealError> {
        let plain = key.open_str(&self.sealed, context)?;
        let body = if self.template.is_empty() {
            plain
        } else {
            join_secrets(&self.template, &plain).ok_or(SealError::Malformed)?
        };
        Ok(StoredResponse {
            status: self.status,
            headers: self.headers.clone(),
            body,
        })
    }
}

/// A response on its way to being kept: its template made, its secrets waiting to be sealed
/// (see [`KeptResponse::prepare`]).
#[derive(Debug)]
pub struct KeepJob {
    status: u16,
    headers: Vec<(String, String)>,
    template: String,
    seal: SealJob,
}

impl KeepJob {
    /// What is left to seal: the secrets, or the whole body when it has no template.
    pub fn seal_job(&self) -> &SealJob {
        &self.seal
    }

    /// The kept response, given the sealed text of [`KeepJob::seal_job`].
    pub fn finish(self, sealed: String) -> KeptResponse {
        KeptResponse {
            status: self.status,
            headers: self.headers,
            template: self.template,
            sealed,
        }
    }
}

/// Where the hex of each secret in `body` starts, in order; `None` when the body already
/// holds a starred-out secret (a prefix and 64 `*`), which would make putting the secrets
/// back ambiguous.
///
/// One pass over the body (a 100-app batch answers with 94 KB): both prefixes end with `_`,
/// so it looks at each `_`, found by a fast byte search, and at what comes before and after.
fn secret_spans(body: &str) -> Option<Vec<usize>> {
    let bytes = body.as_bytes();
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(at) = body[from..].find('_') {
        let start = from + at + 1;
        from = start;
        let after_prefix = SECRET_PREFIXES
            .iter()
            .any(|p| bytes[..start].ends_with(p.as_bytes()));
        let Some(hex) = bytes
            .get(start..start + SECRET_HEX)
            .filter(|_| after_prefix)
        else {
            continue;
        };
        if hex.iter().all(|&b| b == b'*') {
            return None;
        }
        if is_lower_hex(hex) {
            spans.push(start);
        }
    }
    Some(spans)
}

/// The body with each secret's hex starred out, and the bytes the hex spells, concatenated
/// (sealed in the hex form, they open to the hex again); `None` when the body already holds
/// a starred-out secret.
fn split_secrets(body: &str) -> Option<(String, Vec<u8>)> {
    let spans = secret_spans(body)?;
    let mut template = body.as_bytes().to_vec();
    let mut secrets = Vec::with_capacity(spans.len() * SECRET_HEX / 2);
    for start in spans {
        let hex = &mut template[start..start + SECRET_HEX];
        // secret_spans found lowercase hex here.
        if !push_lower_hex(hex, &mut secrets) {
            return None;
        }
        hex.fill(b'*');
    }
    // Only ASCII hex was replaced by ASCII stars, so the bytes are still UTF-8.
    String::from_utf8(template).ok().map(|t| (t, secrets))
}

/// Puts the secrets back, in order, into the starred-out places of `template`.
fn join_secrets(template: &str, secrets: &str) -> Option<String> {
    let stars = "*".repeat(SECRET_HEX);
    let mut places: Vec<usize> = Vec::new();
    for prefix in SECRET_PREFIXES {
        let needle = format!("{prefix}{stars}");
        places.extend(
            template
                .match_indices(&needle)
                .map(|(at, _)| at + prefix.len()),
        );
    }
    places.sort_unstable();
    if places.len() * SECRET_HEX != secrets.len() {
        return None;
    }
    let mut out = template.as_bytes().to_vec();
    for (i, at) in places.into_iter().enumerate() {
        out[at..at + SECRET_HEX]
            .copy_from_slice(&secrets.as_bytes()[i * SECRET_HEX..(i + 1) * SECRET_HEX]);
    }
    String::from_utf8(out).ok()
}

/// Serde for a `String` holding a JSON object (a response body, a kept response): written
/// into the enclosing JSON as that object, not as a string of it, which would escape each
/// of its quotes, and escape them again one level up: that escaping was the largest cost
/// of remembering a 100-app response. Any other text is written as a string. Either form
/// reads back to exactly the text that was written, byte for byte, so replays stay
/// identical.
pub mod json_text {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::value::RawValue;

    /// Writes `text` as JSON when it is a JSON object, else as a string.
    pub fn serialize<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
        if text.starts_with('{') {
            if let Ok(raw) = serde_json::from_str::<&RawValue>(text) {
                if raw.get().len() == text.len() {
                    return raw.serialize(s);
                }
            }
        }
        s.serialize_str(text)
    }

    /// Reads either form back to the text. Works with `serde_json::from_str` and
    /// `from_slice` (not `from_value`, which has no raw text to give).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get();
        if text.starts_with('"') {
            serde_json::from_str(text).map_err(D::Error::custom)
        } else {
            Ok(text.to_owned())
        }
    }
}

/// Serde for [`KeptResponse::template`]: a template of [`template_text::PACK_FROM`] bytes
/// or more is written as `"lz4.<base64url of the LZ4 block, size prepended>"`, since a
/// recorded response is written to D1 and to KV and most of a batch's response is the same
/// default settings a hundred times over (a 100-app response packs from 94 to 19 KB). A
/// smaller one is written as [`json_text`] does. Reads either back exactly.
pub mod template_text {
    use super::json_text;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use serde::de::Error as _;
    use serde::{Deserializer, Serializer};

    /// Templates from this many bytes up are written compressed.
    pub const PACK_FROM: usize = 4096;
    /// What starts a compressed template. A string template that starts so is always
    /// compressed, so the prefix is never ambiguous.
    pub const PACKED: &str = "lz4.";
    /// The largest template a record may unpack to: more than any response (a body is at
    /// most a few hundred kilobytes), little enough that a corrupt size cannot exhaust
    /// memory.
    pub const MAX_UNPACKED: usize = 16 * 1024 * 1024;

    /// Writes `text` packed when large (or when it starts like a packed text).
    pub fn serialize<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
        if text.len() >= PACK_FROM || text.starts_with(PACKED) {
            let packed = lz4_flex::block::compress_prepend_size(text.as_bytes());
            let mut out = String::with_capacity(PACKED.len() + packed.len() * 4 / 3 + 4);
            out.push_str(PACKED);
            URL_SAFE_NO_PAD.encode_string(&packed, &mut out);
            return s.serialize_str(&out);
        }
        json_text::serialize(text, s)
    }

    /// Reads any form back to the text. A text written as JSON starts with `{`, so only
    /// one written as a string can be packed.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let text = json_text::deserialize(d)?;
        match text.strip_prefix(PACKED) {
            None => Ok(text),
            Some(b64) => unpack(b64).ok_or_else(|| D::Error::custom("a corrupt packed template")),
        }
    }

    fn unpack(b64: &str) -> Option<String> {
        let packed = URL_SAFE_NO_PAD.decode(b64).ok()?;
        let size = u32::from_le_bytes(packed.get(..4)?.try_into().ok()?) as usize;
        if size > MAX_UNPACKED {
            return None;
        }
        let bytes = lz4_flex::block::decompress_size_prepended(&packed).ok()?;
        String::from_utf8(bytes).ok()
    }
}

/// The KV entry of a key: enough to decide and replay without D1. The response is a
/// [`KeptResponse`] as JSON, its secrets sealed (see
/// [`crate::sealed::SealContext::StoredResponse`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KvRecord {
    /// Fingerprint of the request that claimed the key.
    pub fingerprint: Fingerprint,
    /// Milliseconds since the epoch when the key is free again.
    pub expires_at: i64,
    /// The [`KeptResponse`] as JSON, written into the record as JSON (see [`json_text`]).
    #[serde(with = "json_text")]
    pub response: String,
}

impl KvRecord {
    /// What this entry tells [`decide`].
    pub fn claim_state(&self) -> ClaimState {
        ClaimState {
            fingerprint: self.fingerprint.clone(),
            expires_at: Timestamp::from_millis(self.expires_at),
            completed: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn ctx_of(ws: &WorkspaceId) -> SealContext<'_> {
        SealContext::StoredResponse {
            workspace: ws,
            key_hash: "h",
        }
    }

    #[test]
    fn kept_responses_seal_only_their_secrets_and_replay_byte_for_byte() {
        let key = SealingKey::from_hex(&"0a".repeat(32)).unwrap();
        let ws = WorkspaceId::parse("org_kept").unwrap();
        let mut e = crate::entropy::SeededEntropy::new(3);
        let a = "a".repeat(64);
        let b = "0123456789abcdef".repeat(4);
        let body = format!(
            r#"{{"x":"sh_app_{a}","w":"whsec_{b}","p":"whsec_****abcd","n":"sh_app_short"}}"#
        );
        let response = StoredResponse {
            status: 201,
            headers: vec![("location".into(), "/x".into())],
            body,
        };
        let kept = KeptResponse::keep(&response, &key, ctx_of(&ws), &mut e);
        let text = serde_json::to_string(&kept).unwrap();
        assert!(!text.contains(&a) && !text.contains(&b), "{text}");
        assert!(kept.template.contains("whsec_****abcd") && kept.template.contains("sh_app_short"));
        assert_eq!(kept.open(&key, ctx_of(&ws)).unwrap(), response);
        let other = WorkspaceId::parse("org_other").unwrap();
        assert!(kept.open(&key, ctx_of(&other)).is_err());
    }

    #[test]
    fn a_response_sealed_elsewhere_is_kept_as_one_sealed_here() {
        let hex = "0c".repeat(32);
        let key = SealingKey::from_hex(&hex).unwrap();
        let ws = WorkspaceId::parse("org_kept").unwrap();
        let secret = format!("sh_app_{}", "5e".repeat(32));
        let starred = format!("sh_app_{}", "*".repeat(64));
        // With secrets to star out, and a body that must be sealed whole.
        for body in [
            format!(r#"{{"clientSecret":"{secret}"}}"#),
            format!(r#"{{"name":"{starred}","s":"{secret}"}}"#),
        ] {
            let response = StoredResponse {
                status: 201,
                headers: vec![("location".into(), "/x".into())],
                body,
            };
            let mut e = crate::entropy::SeededEntropy::new(6);
            let job = KeptResponse::prepare(&response, ctx_of(&ws), &mut e);
            let sealed = crate::sealed::tests::sealed_elsewhere(&hex, job.seal_job());
            let kept = job.finish(sealed);
            let mut e = crate::entropy::SeededEntropy::new(6);
            assert_eq!(
                kept,
                KeptResponse::keep(&response, &key, ctx_of(&ws), &mut e)
            );
            assert_eq!(kept.open(&key, ctx_of(&ws)).unwrap(), response);
        }
    }

    #[test]
    fn a_body_already_holding_the_placeholder_is_sealed_whole() {
        let key = SealingKey::from_hex(&"0b".repeat(32)).unwrap();
        let ws = WorkspaceId::parse("org_kept").unwrap();
        let mut e = crate::entropy::SeededEntropy::new(4);
        let body = format!(
            r#"{{"name":"sh_app_{}","s":"sh_app_{}"}}"#,
            "*".repeat(64),
            "c".repeat(64)
        );
        let response = StoredResponse {
            status: 201,
            headers: vec![],
            body,
        };
        let kept = KeptResponse::keep(&response, &key, ctx_of(&ws), &mut e);
        assert!(kept.template.is_empty());
        assert!(!kept.sealed.contains(&"c".repeat(64)));
        assert_eq!(kept.open(&key, ctx_of(&ws)).unwrap(), response);
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

    #[test]
    fn decisions() {
        let now = Timestamp::from_millis(1_000_000);
        let fp = Fingerprint::of("POST", "/p", Some(&json!({ "a": 1 })));
        let other = Fingerprint::of("POST", "/p", Some(&json!({ "a": 2 })));
        let state = |fingerprint: &Fingerprint, expires: i64, completed| ClaimState {
            fingerprint: fingerprint.clone(),
            expires_at: Timestamp::from_millis(expires),
            completed,
        };
        assert_eq!(decide(None, &fp, now), Decision::Process);
        assert_eq!(
            decide(Some(&state(&fp, 2_000_000, true)), &fp, now),
            Decision::Replay
        );
        assert_eq!(
            decide(Some(&state(&other, 2_000_000, true)), &fp, now),
            Decision::Conflict
        );
        assert_eq!(
            decide(Some(&state(&fp, 2_000_000, false)), &fp, now),
            Decision::InProgress
        );
        assert_eq!(
            decide(Some(&state(&other, 2_000_000, false)), &fp, now),
            Decision::Conflict
        );
        assert_eq!(
            decide(Some(&state(&other, 1_000_000, true)), &fp, now),
            Decision::Expired
        );
        assert_eq!(expiry(now).millis() - now.millis(), KEY_TTL_MS);
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

    fn record_with(response: &str) -> KvRecord {
        KvRecord {
            fingerprint: Fingerprint::from_stored("f".into()),
            expires_at: 1,
            response: response.to_owned(),
        }
    }

    #[test]
    fn json_bodies_are_kept_as_json_and_read_back_byte_for_byte() {
        for (text, raw) in [
            (r#"{"results":[{"name":"a \"q\""}],"successCount":1}"#, true),
            (r#"{ "spaced" : [ 1, 2 ] }"#, true),
            ("{not json", false),
            ("{}\n", false),
            ("", false),
            ("plain \"text\"", false),
            ("[1,2]", false),
        ] {
            let json = serde_json::to_string(&record_with(text)).unwrap();
            let written = if raw {
                text.to_owned()
            } else {
                serde_json::to_string(text).unwrap()
            };
            assert!(
                json.ends_with(&format!(r#""response":{written}}}"#)),
                "{json}"
            );
            let back: KvRecord = serde_json::from_str(&json).unwrap();
            assert_eq!(back.response, text);
        }
        // A kept response inside a record: neither level is escaped.
        let kept = KeptResponse {
            status: 201,
            headers: vec![],
            template: r#"{"a":"b"}"#.into(),
            sealed: "v1.x".into(),
        };
        let record = record_with(&serde_json::to_string(&kept).unwrap());
        let json = serde_json::to_string(&record).unwrap();
        assert!(json.contains(r#""template":{"a":"b"}"#), "{json}");
        let back: KvRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(
            serde_json::from_str::<KeptResponse>(&back.response).unwrap(),
            kept
        );
    }

    fn kept_with(template: &str) -> KeptResponse {
        KeptResponse {
            status: 201,
            headers: vec![],
            template: template.to_owned(),
            sealed: "v1.x".into(),
        }
    }

    #[test]
    fn large_templates_are_packed_and_read_back_exactly() {
        let large = format!(
            "{{\"results\":[{}]}}",
            vec![r#"{"app":{"name":"Acme \"q\" é","providers":["a","b"]}}"#; 200].join(",")
        );
        for (template, packed) in [
            (large.as_str(), true),
            (r#"{"small":true}"#, false),
            ("lz4.looks packed", true),
            ("", false),
        ] {
            let json = serde_json::to_string(&kept_with(template)).unwrap();
            assert_eq!(json.contains(r#""template":"lz4."#), packed, "{json}");
            if packed && template.len() > 1000 {
                assert!(json.len() < template.len() / 4, "{} bytes", json.len());
            }
            let back: KeptResponse = serde_json::from_str(&json).unwrap();
            assert_eq!(back.template, template);
        }
    }

    #[test]
    fn a_corrupt_packed_template_is_an_error_not_a_panic() {
        let huge_size = {
            let mut packed = u32::MAX.to_le_bytes().to_vec();
            packed.extend_from_slice(b"\x10a");
            format!(
                "lz4.{}",
                base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, packed)
            )
        };
        for bad in [
            "lz4.",
            "lz4.!!!",
            "lz4.AAAA",
            "lz4.AQAAAA",
            huge_size.as_str(),
        ] {
            let json = serde_json::to_string(&json!({
                "status": 201, "template": bad, "sealed": "v1.x"
            }))
            .unwrap();
            assert!(
                serde_json::from_str::<KeptResponse>(&json).is_err(),
                "{bad}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_template_survives_a_kept_response(text in ".{0,64}", repeat in 0usize..300) {
            let template = text.repeat(repeat);
            let json = serde_json::to_string(&kept_with(&template)).unwrap();
            let back: KeptResponse = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back.template, template);
        }

        #[test]
        fn any_text_survives_a_record(text in ".*", v in json_value()) {
            for t in [text, serde_json::to_string(&v).unwrap()] {
                let json = serde_json::to_string(&record_with(&t)).unwrap();
                let back: KvRecord = serde_json::from_str(&json).unwrap();
                prop_assert_eq!(back.response, t);
            }
        }

        #[test]
        fn reordering_keys_or_spacing_keeps_the_fingerprint(v in json_value()) {
            let again: Value = serde_json::from_str(&scramble(&v)).unwrap();
            prop_assert_eq!(
                Fingerprint::of("POST", "/p", Some(&v)),
                Fingerprint::of("POST", "/p", Some(&again))
            );
        }

        #[test]
        fn changing_a_value_changes_the_fingerprint(v in json_value(), w in json_value()) {
            prop_assume!(v != w);
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
        fn any_body_is_kept_and_replayed_exactly(body in "[a-z\"{}:,*_ ]{0,40}(sh_app_|whsec_)?[0-9a-f*]{0,70}[a-z\"{}]{0,10}", seed in any::<u64>()) {
            let key = SealingKey::from_hex(&"0c".repeat(32)).unwrap();
            let ws = WorkspaceId::parse("org_prop").unwrap();
            let mut e = crate::entropy::SeededEntropy::new(seed);
            let response = StoredResponse { status: 200, headers: vec![], body };
            let kept = KeptResponse::keep(&response, &key, ctx_of(&ws), &mut e);
            prop_assert_eq!(kept.open(&key, ctx_of(&ws)).unwrap(), response);
        }

        #[test]
        fn bodies_of_secrets_and_near_misses_keep_no_secret_and_replay_exactly(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just("sh_app_".to_owned()),
                    Just("whsec_".to_owned()),
                    Just("_".to_owned()),
                    Just("sh_app".to_owned()),
                    Just("*".repeat(64)),
                    "[0-9a-f]{64}",
                    "[0-9a-fA-F]{60,66}",
                    "[a-z\"{}:,_ ]{0,8}",
                ],
                0..12,
            ),
            seed in any::<u64>(),
        ) {
            let key = SealingKey::from_hex(&"0d".repeat(32)).unwrap();
            let ws = WorkspaceId::parse("org_prop").unwrap();
            let mut e = crate::entropy::SeededEntropy::new(seed);
            let body = pieces.concat();
            let response = StoredResponse { status: 201, headers: vec![], body: body.clone() };
            let kept = KeptResponse::keep(&response, &key, ctx_of(&ws), &mut e);
            prop_assert_eq!(kept.open(&key, ctx_of(&ws)).unwrap(), response);
            if !kept.template.is_empty() {
                // No prefix in the template is followed by a secret's 64 lowercase hex.
                for prefix in SECRET_PREFIXES {
                    for (at, _) in kept.template.match_indices(prefix) {
                        let after = &kept.template.as_bytes()[at + prefix.len()..];
                        let hex = after.get(..SECRET_HEX);
                        prop_assert!(!hex.is_some_and(is_lower_hex));
                    }
                }
            } else if !body.is_empty() {
                let stars = "*".repeat(SECRET_HEX);
                let starred = SECRET_PREFIXES.iter().any(|p| body.contains(&format!("{p}{stars}")));
                prop_assert!(starred);
            }
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
