//! Reading JSON text into a [`Value`], refusing what different parsers read differently.
//!
//! serde_json (like most parsers) lets the last of two members with one name win, others
//! keep the first or refuse: `{"name":"A","name":"B"}` means one thing to a proxy that
//! checks the first value and another to the service that stores the last. So an object
//! that repeats a member name, however the name is escaped (`"n\u0061me"` is `name`), is
//! refused here, naming the repeated member by its path (`items[1].name`). The reading is
//! serde_json's own (the same syntax, the same numbers, the same nesting limit); only the
//! building of the value is ours.
//!
//! Every body the API reads comes through [`read`] (by [`crate::rules::input::parse_body`]),
//! so the rules, the idempotency fingerprint and a client built on this crate see the same
//! value.

use crate::rules::input::{printable, Path};
use crate::wire::error::FieldError;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Value};
use std::fmt;

/// The deepest nesting of arrays and objects that is read: serde_json refuses the 128th
/// level before it recurses into it.
pub const MAX_DEPTH: usize = 127;

/// Reads `bytes` as one JSON value. Errors name `body`, or the repeated member.
pub fn read(bytes: &[u8]) -> Result<Value, FieldError> {
    let mut reader = Reader {
        bytes,
        negative_zeros: None,
        zeros_seen: 0,
        repeated: None,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = ValueSeed {
        reader: &mut reader,
        path: Path::Root,
    }
    .deserialize(&mut de)
    .and_then(|value| de.end().map(|()| value));
    match (result, reader.repeated) {
        (_, Some(repeated)) => Err(repeated),
        (Ok(value), None) => Ok(value),
        (Err(e), None) => Err(FieldError::invalid("body", why_not(&e, bytes))),
    }
}

/// Why serde_json refused `bytes`, completing "body ...".
fn why_not(e: &serde_json::Error, bytes: &[u8]) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io | Category::Eof => "is not complete JSON".to_owned(),
        _ if std::str::from_utf8(bytes).is_err() => "is not valid UTF-8".to_owned(),
        // serde_json's only word on its nesting limit is this message; a test holds it.
        _ if e.to_string().starts_with("recursion limit exceeded") => {
            format!("is nested too deeply (more than {MAX_DEPTH} levels of arrays and objects)")
        }
        _ => format!("is not valid JSON ({e})"),
    }
}

/// What one reading keeps besides the value being built.
struct Reader<'b> {
    bytes: &'b [u8],
    /// For each number of the text whose value is negative zero, in order: whether it is
    /// written as the integer `-0`. Found only when the first such number is met.
    negative_zeros: Option<Vec<bool>>,
    /// How many negative zeros were read so far.
    zeros_seen: usize,
    /// The refusal of a repeated member, when one was met.
    repeated: Option<FieldError>,
}

impl Reader<'_> {
    /// Whether the negative zero just read is written `-0`: an integer, read as `0`, as the
    /// API reads integers written as integers (serde_json reads `-0` as the float `-0.0`).
    fn next_zero_is_integer(&mut self) -> bool {
        let bytes = self.bytes;
        let zeros = self
            .negative_zeros
            .get_or_insert_with(|| negative_zeros(bytes));
        let integer = zeros.get(self.zeros_seen).copied().unwrap_or(false);
        self.zeros_seen += 1;
        integer
    }
}

/// For each number token of JSON text `bytes` (outside strings) whose value is negative
/// zero, in order: whether it is written `-0`. serde_json reads numbers in the same order,
/// so the n-th negative zero it reads is the n-th found here. (Text that is not JSON may
/// give a list that does not line up; its reading fails anyway.)
fn negative_zeros(bytes: &[u8]) -> Vec<bool> {
    let mut found = Vec::new();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
        } else if b == b'"' {
            in_string = true;
            i += 1;
        } else if b == b'-' || b.is_ascii_digit() {
            let end = bytes[i..]
                .iter()
                .position(|c| !matches!(c, b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E'))
                .map_or(bytes.len(), |n| i + n);
            let token = &bytes[i..end];
            let zero = std::str::from_utf8(token)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .is_some_and(|f| f == 0.0 && f.is_sign_negative());
            if zero {
                found.push(token == b"-0");
            }
            i = end;
        } else {
            i += 1;
        }
    }
    found
}

/// Builds the value found at `path`.
struct ValueSeed<'r, 'b, 'p> {
    reader: &'r mut Reader<'b>,
    path: Path<'p>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        if f == 0.0 && f.is_sign_negative() && self.reader.next_zero_is_integer() {
            return Ok(Value::from(0));
        }
        // JSON text has no NaN or infinity, so every float it holds is a number.
        Ok(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueSeed {
            reader: &mut *self.reader,
            path: self.path.index(items.len()),
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            match members.entry(name) {
                Entry::Vacant(slot) => {
                    let value = map.next_value_seed(ValueSeed {
                        reader: &mut *self.reader,
                        path: self.path.field(slot.key()),
                    })?;
                    slot.insert(value);
                }
                Entry::Occupied(first) => {
                    let parameter = shown(&self.path.field(first.key()));
                    self.reader.repeated = Some(FieldError::invalid(
                        parameter,
                        "is given more than once: an object must not repeat a member name",
                    ));
                    return Err(de::Error::custom("a repeated member name"));
                }
            }
        }
        Ok(Value::Object(members))
    }
}

/// The longest path a refusal shows, in bytes. A repeated member can sit as deep as the
/// nesting limit under names of 64 escaped characters each, which would make a parameter
/// of many kilobytes.
pub const MAX_SHOWN_PATH: usize = 1024;

/// A path as `details.parameter` shows it, each member name as [`printable`] writes it.
/// A path longer than [`MAX_SHOWN_PATH`] keeps its first step and as many of its last
/// steps as fit, `…` standing for the steps left out (the first step too, when even it
/// does not fit with the last).
fn shown(path: &Path<'_>) -> String {
    let mut steps = Vec::new();
    collect_steps(path, &mut steps);
    let total: usize = steps.iter().map(String::len).sum();
    if total <= MAX_SHOWN_PATH {
        return steps.concat();
    }
    let (first, rest) = steps.split_first().expect("a member's path has a step");
    let budget = |head: &str| MAX_SHOWN_PATH - head.len() - '…'.len_utf8();
    let head = if first.len() + rest.last().map_or(0, String::len) <= budget("") {
        first.as_str()
    } else {
        ""
    };
    let mut tail = Vec::new();
    let mut used = 0;
    for step in rest.iter().rev() {
        if used + step.len() > budget(head) {
            break;
        }
        used += step.len();
        tail.push(step.as_str());
    }
    tail.reverse();
    format!("{head}…{}", tail.concat())
}

/// The steps of `path` as they are written: the first bare (`items`, `body`), the others
/// with their separator (`[1]`, `.name`).
fn collect_steps(path: &Path<'_>, out: &mut Vec<String>) {
    match path {
        Path::Root => out.push("body".to_owned()),
        Path::Named(name) => out.push(printable(name)),
        Path::Field(Path::Root, name) => out.push(printable(name)),
        Path::Field(parent, name) => {
            collect_steps(parent, out);
            out.push(format!(".{}", printable(name)));
        }
        Path::Index(parent, index) => {
            collect_steps(parent, out);
            out.push(format!("[{index}]"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::error::FieldErrorKind;
    use proptest::prelude::*;
    use serde_json::json;

    fn refused(text: &str) -> FieldError {
        read(text.as_bytes()).expect_err(text)
    }

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"items":[{"name":"a","redirectUris":["https://a.example/"]}],"continueOnError":true}"#,
            r#"[1, -2, 3.5, 1e300, -1e-400, 18446744073709551615, -9223372036854775808, null, "\u00e9\ud83e\udd80"]"#,
            r#" { "a" : { "a" : { "a" : [] } }, "b": {"a": 1} } "#,
            r#"{"":1,"\u0000":2}"#,
        ] {
            let ours = read(text.as_bytes()).unwrap();
            let theirs: Value = serde_json::from_str(text).unwrap();
            assert_eq!(ours, theirs, "{text}");
        }
    }

    #[test]
    fn a_repeated_member_is_named_by_its_path() {
        for (text, parameter) in [
            (r#"{"items":[],"items":[]}"#, "items"),
            (r#"{"name":"","name":"ok"}"#, "name"),
            (r#"{"n\u0061me":"A","name":"B"}"#, "name"),
            (
                r#"{"redirectUris":["http://evil.com/"],"redirectUris":[]}"#,
                "redirectUris",
            ),
            (
                r#"{"items":[{"name":"a"},{"name":"b","name":"c"}]}"#,
                "items[1].name",
            ),
            (
                r#"{"webhookConfig":{"url":null,"enabled":true,"url":"https://h.example/"}}"#,
                "webhookConfig.url",
            ),
            (
                r#"[{"a":1},{"b":{"c":[{"d":1,"d":1}]}}]"#,
                "body[1].b.c[0].d",
            ),
            (r#"{"a\nb":{"x":1,"x":1}}"#, r"a\nb.x"),
            (r#"{"":1,"":2}"#, r#""""#),
        ] {
            let e = refused(text);
            assert_eq!(e.parameter, parameter, "{text}");
            assert_eq!(e.kind, FieldErrorKind::Invalid);
            assert!(e.message.starts_with(parameter), "{e:?}");
        }
    }

    #[test]
    fn a_path_too_long_to_show_keeps_its_ends() {
        let name = "\u{200B}".repeat(64);
        let mut text = String::new();
        for _ in 0..20 {
            text.push_str(&format!("{{\"{name}\":[{{\"k\":"));
        }
        text.push_str(&format!("{{\"{name}\":1,\"{name}\":2}}"));
        for _ in 0..20 {
            text.push_str("}]}");
        }
        let e = refused(&text);
        let step = printable(&name);
        assert!(e.parameter.len() <= MAX_SHOWN_PATH, "{}", e.parameter.len());
        assert!(
            e.parameter.ends_with(&format!("[0].k.{step}")),
            "{}",
            e.parameter
        );
        assert!(e.parameter.contains('…'));
        // Short paths are shown whole.
        assert_eq!(
            refused(r#"{"a":[{"b":{"c":1,"c":2}}]}"#).parameter,
            "a[0].b.c"
        );
    }

    #[test]
    fn the_same_name_in_two_objects_is_no_repeat() {
        let v = read(br#"{"a":{"a":1},"b":[{"a":1},{"a":2}]}"#).unwrap();
        assert_eq!(v, json!({ "a": { "a": 1 }, "b": [{ "a": 1 }, { "a": 2 }] }));
    }

    #[test]
    fn a_repeat_is_refused_before_the_rest_is_read() {
        let e = refused(r#"{"a":1,"a":{{{ not json"#);
        assert_eq!(e.parameter, "a");
    }

    #[test]
    fn negative_zero_written_as_an_integer_is_zero() {
        assert_eq!(read(b"-0").unwrap(), json!(0));
        assert!(read(b"-0").unwrap().is_i64());
        let v = read(br#"{"a":-0.0,"s":"-0","b":[-0, -0e1, -1e-400, -0],"c":-0}"#).unwrap();
        assert!(v["a"].is_f64());
        assert_eq!(v["s"], json!("-0"));
        let b = v["b"].as_array().unwrap();
        assert!(b[0].is_i64() && b[3].is_i64());
        assert!(b[1].is_f64() && b[2].is_f64());
        assert!(v["c"].is_i64());
    }

    #[test]
    fn nesting_past_the_limit_is_called_too_deep() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(read(nested(MAX_DEPTH).as_bytes()).is_ok());
        for n in [MAX_DEPTH + 1, 200_000] {
            let e = refused(&nested(n));
            assert_eq!(e.parameter, "body");
            assert!(e.message.contains("nested too deeply"), "{e:?}");
        }
        let e = refused(&"{\"a\":".repeat(100_000));
        assert!(e.message.contains("nested too deeply"), "{e:?}");
    }

    #[test]
    fn other_failures_name_the_body() {
        for (bad, why) in [
            (&b"{"[..], "is not complete JSON"),
            (b"{\"a\":1} x", "is not valid JSON"),
            (b"\xff\xfe", "is not valid UTF-8"),
            (b"{\"a\":\"\xc3\x28\"}", "is not valid UTF-8"),
        ] {
            let e = read(bad).unwrap_err();
            assert_eq!(e.parameter, "body");
            assert!(e.message.starts_with(&format!("body {why}")), "{e:?}");
        }
    }

    /// A member name as a client could write it: plain, or with some characters as
    /// `\uXXXX` escapes (surrogate pairs beyond the BMP).
    fn write_name(name: &str, escape: &[bool]) -> String {
        let mut out = String::from("\"");
        for (i, c) in name.chars().enumerate() {
            if escape.get(i).copied().unwrap_or(false) || c == '"' || c == '\\' || c < ' ' {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            } else {
                out.push(c);
            }
        }
        out.push('"');
        out
    }

    /// Writes `value` as JSON text, with the object at `target` (a chain of array indexes
    /// and member names, as in the body) given one more member: `name` (written with
    /// `escape`) inserted at `at` among its members.
    fn write_with_repeat(
        value: &Value,
        target: &[Step],
        name: &str,
        escape: &[bool],
        at: usize,
        out: &mut String,
    ) {
        match (value, target.split_first()) {
            (Value::Object(members), None) => {
                let mut parts: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("{}:{v}", write_name(k, &[])))
                    .collect();
                let extra = format!("{}:{}", write_name(name, escape), members[name]);
                parts.insert(at.min(parts.len()), extra);
                out.push('{');
                out.push_str(&parts.join(","));
                out.push('}');
            }
            (Value::Object(members), Some((Step::Member(key), rest))) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&write_name(k, &[]));
                    out.push(':');
                    if k == key {
                        write_with_repeat(v, rest, name, escape, at, out);
                    } else {
                        out.push_str(&v.to_string());
                    }
                }
                out.push('}');
            }
            (Value::Array(items), Some((Step::Item(index), rest))) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if i == *index {
                        write_with_repeat(v, rest, name, escape, at, out);
                    } else {
                        out.push_str(&v.to_string());
                    }
                }
                out.push(']');
            }
            _ => unreachable!("the target is an object of the value"),
        }
    }

    #[derive(Debug, Clone)]
    enum Step {
        Member(String),
        Item(usize),
    }

    /// Every object in `value` with at least one member, with the steps that lead to it
    /// and the path the API names it by.
    fn objects(value: &Value, steps: Vec<Step>, path: String, out: &mut Vec<(Vec<Step>, String)>) {
        match value {
            Value::Object(members) => {
                if !members.is_empty() {
                    out.push((steps.clone(), path.clone()));
                }
                for (k, v) in members {
                    let mut next = steps.clone();
                    next.push(Step::Member(k.clone()));
                    let child = if path == "body" {
                        printable(k)
                    } else {
                        format!("{path}.{}", printable(k))
                    };
                    objects(v, next, child, out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    let mut next = steps.clone();
                    next.push(Step::Item(i));
                    objects(v, next, format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }

    /// Request bodies of the API's own shapes: batches of items with names, redirect
    /// URIs and webhook settings, as clients send them.
    fn body() -> impl Strategy<Value = Value> {
        let uri = prop_oneof![
            Just(json!("https://a.example/cb")),
            Just(json!("http://localhost:3000/cb")),
            Just(json!("https://b.example/")),
        ];
        let webhook = (
            proptest::option::of(Just(json!("https://hooks.example/h"))),
            proptest::option::of(any::<bool>()),
            proptest::option::of(0i64..=10),
            proptest::option::of(prop::collection::vec(
                Just(json!("verification.completed")),
                0..3,
            )),
        )
            .prop_map(|(url, enabled, retries, events)| {
                let mut o = Map::new();
                if let Some(url) = url {
                    o.insert("url".into(), url);
                }
                if let Some(enabled) = enabled {
                    o.insert("enabled".into(), json!(enabled));
                }
                if let Some(retries) = retries {
                    o.insert("retryAttempts".into(), json!(retries));
                }
                if let Some(events) = events {
                    o.insert("events".into(), Value::Array(events));
                }
                Value::Object(o)
            });
        let item = (
            prop_oneof![Just("Acme"), Just("名前 🦀"), Just("n\"q\\")],
            proptest::option::of(prop::collection::vec(uri, 0..4)),
            proptest::option::of(webhook),
            proptest::option::of("[a-z0-9-]{1,12}"),
        )
            .prop_map(|(name, uris, webhook, key)| {
                let mut o = Map::new();
                o.insert("name".into(), json!(name));
                if let Some(uris) = uris {
                    o.insert("redirectUris".into(), Value::Array(uris));
                }
                if let Some(webhook) = webhook {
                    o.insert("webhookConfig".into(), webhook);
                }
                if let Some(key) = key {
                    o.insert("idempotencyKey".into(), json!(key));
                }
                Value::Object(o)
            });
        prop_oneof![
            item.clone(),
            (prop::collection::vec(item, 1..5), any::<bool>())
                .prop_map(|(items, c)| { json!({ "items": items, "continueOnError": c }) }),
        ]
    }

    proptest! {
        /// Any object of a body given a member it already has, wherever it sits, however
        /// the repeated name is escaped and wherever it is inserted, is refused naming it.
        #[test]
        fn any_repeated_member_is_refused_where_it_sits(
            body in body(),
            pick in any::<prop::sample::Index>(),
            member in any::<prop::sample::Index>(),
            at in 0usize..8,
            escape in prop::collection::vec(any::<bool>(), 0..16),
        ) {
            let mut found = Vec::new();
            objects(&body, Vec::new(), "body".to_owned(), &mut found);
            let (steps, path) = pick.get(&found).clone();
            let mut target = &body;
            for step in &steps {
                target = match step {
                    Step::Member(k) => &target[k.as_str()],
                    Step::Item(i) => &target[*i],
                };
            }
            let names: Vec<&String> = target.as_object().unwrap().keys().collect();
            let name = member.get(&names).as_str();
            let mut text = String::new();
            write_with_repeat(&body, &steps, name, &escape, at, &mut text);

            let e = read(text.as_bytes()).expect_err("a repeated member is refused");
            let expected = if path == "body" {
                printable(name)
            } else {
                format!("{path}.{}", printable(name))
            };
            prop_assert_eq!(&e.parameter, &expected, "{}", text);
            prop_assert_eq!(e.kind, FieldErrorKind::Invalid);
            // The same text without the repeat is read, to the body it was made from.
            prop_assert_eq!(read(body.to_string().as_bytes()), Ok(body));
        }
    }
}
