//! Reading JSON request bodies field by field, so that every rejection names its
//! parameter by path (`items[3].redirectUris[0]`) and says whether it was missing or wrong.
//!
//! serde's derived `Deserialize` stops at the first problem with a message meant for
//! programmers and no path; the API owes its callers the exact parameter. [`FromJson`] is
//! the server's deserializer for the raw request types of [`crate::request`].

use crate::error::FieldError;
use serde_json::{Map, Value};

/// The largest body the API reads: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Parses a request body. Bytes that are not UTF-8 or not JSON are an invalid `body`.
pub fn parse_body(bytes: &[u8]) -> Result<Value, FieldError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(
            FieldError::missing("body").with_message("body is required: send a JSON object")
        );
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let why = match e.classify() {
            serde_json::error::Category::Io | serde_json::error::Category::Eof => {
                "is not complete JSON".to_owned()
            }
            _ if std::str::from_utf8(bytes).is_err() => "is not valid UTF-8".to_owned(),
            _ => format!("is not valid JSON ({e})"),
        };
        FieldError::invalid("body", why)
    })
}

impl FieldError {
    /// The same error with another message.
    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
}

/// The path of a field of the object at `parent`.
pub fn field_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// The path of element `index` of the array at `parent`.
pub fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

fn shown(path: &str) -> &str {
    if path.is_empty() {
        "body"
    } else {
        path
    }
}

/// A type the server reads from a JSON value at a path.
pub trait FromJson: Sized {
    /// Reads `value`, naming `path` in any error.
    fn from_json(value: &Value, path: &str) -> Result<Self, FieldError>;
}

impl FromJson for String {
    fn from_json(value: &Value, path: &str) -> Result<Self, FieldError> {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| FieldError::invalid(shown(path), "must be a string"))
    }
}

impl FromJson for bool {
    fn from_json(value: &Value, path: &str) -> Result<Self, FieldError> {
        value
            .as_bool()
            .ok_or_else(|| FieldError::invalid(shown(path), "must be a boolean"))
    }
}

impl FromJson for i64 {
    /// Integers only: `3.0`, `"3"` and `1e2` are refused, so a caller's float arithmetic
    /// or quoting mistake is reported rather than rounded.
    fn from_json(value: &Value, path: &str) -> Result<Self, FieldError> {
        match value {
            Value::Number(n) if n.is_i64() => Ok(n.as_i64().unwrap_or_default()),
            Value::Number(n) if n.is_u64() => {
                Err(FieldError::invalid(shown(path), "is out of range"))
            }
            _ => Err(FieldError::invalid(shown(path), "must be an integer")),
        }
    }
}

impl FromJson for Value {
    fn from_json(value: &Value, _path: &str) -> Result<Self, FieldError> {
        Ok(value.clone())
    }
}

/// Reads an array of at most `max` elements (checked before any element is read, so a
/// list of ten thousand is refused for its size, not for its first bad element).
pub fn array_of<T: FromJson>(value: &Value, path: &str, max: usize) -> Result<Vec<T>, FieldError> {
    let items = value
        .as_array()
        .ok_or_else(|| FieldError::invalid(shown(path), "must be an array"))?;
    if items.len() > max {
        return Err(
            FieldError::invalid(shown(path), format!("must hold at most {max} entries"))
                .with_max(max as u64),
        );
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| T::from_json(v, &index_path(path, i)))
        .collect()
}

/// A JSON object being read, with its path.
#[derive(Debug, Clone, Copy)]
pub struct Object<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

impl<'a> Object<'a> {
    /// `value` as an object, or an invalid-parameter error naming `path`.
    pub fn new(value: &'a Value, path: &'a str) -> Result<Self, FieldError> {
        match value {
            Value::Object(map) => Ok(Self { map, path }),
            _ => Err(FieldError::invalid(shown(path), "must be a JSON object")),
        }
    }

    /// Refuses any field not in `allowed`, naming it (`redirectURIs`, not "the body"), so a
    /// typo is caught instead of ignored.
    pub fn only(&self, allowed: &[&str]) -> Result<(), FieldError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            None => Ok(()),
            Some(unknown) => Err(FieldError::invalid(
                field_path(self.path, &printable(unknown)),
                format!(
                    "is not a known field (expected one of: {})",
                    allowed.join(", ")
                ),
            )),
        }
    }

    /// The path of field `name`.
    pub fn path_of(&self, name: &str) -> String {
        field_path(self.path, name)
    }

    /// A field that must be present (and not null).
    pub fn required<T: FromJson>(&self, name: &str) -> Result<T, FieldError> {
        let path = self.path_of(name);
        match self.map.get(name) {
            None => Err(FieldError::missing(path)),
            Some(Value::Null) => Err(FieldError::invalid(path, "must not be null")),
            Some(v) => T::from_json(v, &path),
        }
    }

    /// A field that may be absent. `null` is not absence: it is refused, because the API
    /// gives null a meaning only where a field can be cleared (see [`Object::nullable`]).
    pub fn optional<T: FromJson>(&self, name: &str) -> Result<Option<T>, FieldError> {
        let path = self.path_of(name);
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Null) => Err(FieldError::invalid(path, "must not be null")),
            Some(v) => T::from_json(v, &path).map(Some),
        }
    }

    /// A field that may be absent (`None`), null (`Some(None)`: clear it) or set.
    pub fn nullable<T: FromJson>(&self, name: &str) -> Result<Option<Option<T>>, FieldError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(v) => T::from_json(v, &self.path_of(name)).map(|t| Some(Some(t))),
        }
    }

    /// An optional array of at most `max` elements.
    pub fn optional_array<T: FromJson>(
        &self,
        name: &str,
        max: usize,
    ) -> Result<Option<Vec<T>>, FieldError> {
        let path = self.path_of(name);
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Null) => Err(FieldError::invalid(path, "must not be null")),
            Some(v) => array_of(v, &path, max).map(Some),
        }
    }

    /// The raw value of a field, if present.
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name)
    }
}

/// A caller-chosen name as it can be shown in a message and a `parameter`: control
/// characters escaped and the length capped, so a hostile name cannot forge log lines or
/// bloat errors.
pub(crate) fn printable(name: &str) -> String {
    let mut out: String = name
        .chars()
        .take(64)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_unicode().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if name.chars().count() > 64 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldErrorKind;
    use serde_json::json;

    #[test]
    fn bodies_that_are_not_json_name_the_body() {
        for bad in [&b"{"[..], b"{\"a\":}", b"\xff\xfe", b"[1,]", b"nul"] {
            let e = parse_body(bad).unwrap_err();
            assert_eq!(e.parameter, "body", "{bad:?}");
            assert_eq!(e.kind, FieldErrorKind::Invalid);
        }
        assert_eq!(parse_body(b"  ").unwrap_err().kind, FieldErrorKind::Missing);
        let deep = "[".repeat(10_000);
        assert_eq!(parse_body(deep.as_bytes()).unwrap_err().parameter, "body");
    }

    #[test]
    fn fields_are_named_by_path() {
        let v = json!({ "items": [ { "name": 5 } ] });
        let items = Object::new(&v, "").unwrap();
        let arr = items.raw("items").unwrap().as_array().unwrap();
        let item = Object::new(&arr[0], "items[0]").unwrap();
        let e = item.required::<String>("name").unwrap_err();
        assert_eq!(e.parameter, "items[0].name");
        assert_eq!(e.message, "items[0].name must be a string");
        assert_eq!(
            item.required::<String>("other").unwrap_err().kind,
            FieldErrorKind::Missing
        );
    }

    #[test]
    fn unknown_fields_are_named() {
        let v = json!({ "name": "a", "redirectURIs": [] });
        let e = Object::new(&v, "")
            .unwrap()
            .only(&["name", "redirectUris"])
            .unwrap_err();
        assert_eq!(e.parameter, "redirectURIs");
        let v = json!({ "bad\nkey": 1 });
        let e = Object::new(&v, "x").unwrap().only(&[]).unwrap_err();
        assert_eq!(e.parameter, "x.bad\\u{a}key");
    }

    #[test]
    fn null_is_not_absence() {
        let v = json!({ "a": null });
        let o = Object::new(&v, "").unwrap();
        assert!(o.optional::<String>("a").is_err());
        assert_eq!(o.nullable::<String>("a").unwrap(), Some(None));
        assert_eq!(o.nullable::<String>("b").unwrap(), None);
    }

    #[test]
    fn integers_are_strict() {
        for (v, ok) in [
            (json!(3), true),
            (json!(3.0), false),
            (json!("3"), false),
            (json!(u64::MAX), false),
        ] {
            assert_eq!(i64::from_json(&v, "n").is_ok(), ok, "{v}");
        }
    }

    #[test]
    fn arrays_are_refused_for_size_before_content() {
        let v = json!([1, 2, 3]);
        let e = array_of::<String>(&v, "uris", 2).unwrap_err();
        assert_eq!((e.parameter.as_str(), e.max), ("uris", Some(2)));
        let e = array_of::<String>(&v, "uris", 5).unwrap_err();
        assert_eq!(e.parameter, "uris[0]");
    }
}
