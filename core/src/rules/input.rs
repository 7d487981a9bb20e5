//! Reading JSON request bodies field by field, so that every rejection names its
//! parameter by path (`items[3].redirectUris[0]`) and says whether it was missing or wrong.
//!
//! serde's derived `Deserialize` stops at the first problem with a message meant for
//! programmers and no path; the API owes its callers the exact parameter. [`FromJson`] is
//! the server's deserializer for the raw request types of [`crate::wire::request`].

use crate::rules::invisible;
use crate::rules::json;
use crate::wire::error::FieldError;
use serde_json::{Map, Value};
use std::fmt;

/// The largest body the API reads: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Parses a request body: empty (or white space only) is a missing `body`; bytes that are
/// not UTF-8 JSON, or nested too deeply, are an invalid `body`; an object that repeats a
/// member name is refused naming that member (see [`crate::rules::json`]).
pub fn parse_body(bytes: &[u8]) -> Result<Value, FieldError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(
            FieldError::missing("body").with_message("body is required: send a JSON object")
        );
    }
    json::read(bytes)
}

/// Where a parameter sits in a request: built for free as a body is read, and turned into
/// text (`items[3].redirectUris[0]`) only when an error names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path<'a> {
    /// The whole body, named `body`.
    Root,
    /// A parameter known by name: a top-level field, a header or a query parameter.
    Named(&'a str),
    /// A field of the object at the inner path.
    Field(&'a Path<'a>, &'a str),
    /// An element of the array at the inner path.
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    /// The path of field `name` of the object here.
    pub fn field(&'a self, name: &'a str) -> Path<'a> {
        Path::Field(self, name)
    }

    /// The path of element `index` of the array here.
    pub fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }
}

/// `""` is the body itself; any other text names a parameter.
impl<'a> From<&'a str> for Path<'a> {
    fn from(s: &'a str) -> Self {
        if s.is_empty() {
            Path::Root
        } else {
            Path::Named(s)
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("body"),
            Path::Named(name) => f.write_str(name),
            Path::Field(Path::Root, name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// A type the server reads from a JSON value at a path.
pub trait FromJson: Sized {
    /// Reads `value`, naming `path` in any error.
    fn read(value: &Value, path: Path<'_>) -> Result<Self, FieldError>;

    /// Reads `value` found at `path` (`""` for a whole body, or a [`Path`]).
    fn from_json<'p>(value: &Value, path: impl Into<Path<'p>>) -> Result<Self, FieldError> {
        Self::read(value, path.into())
    }
}

impl FromJson for String {
    fn read(value: &Value, path: Path<'_>) -> Result<Self, FieldError> {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| FieldError::invalid(path, "must be a string"))
    }
}

impl FromJson for bool {
    fn read(value: &Value, path: Path<'_>) -> Result<Self, FieldError> {
        value
            .as_bool()
            .ok_or_else(|| FieldError::invalid(path, "must be a boolean"))
    }
}

impl FromJson for i64 {
    /// Integers only: `3.0`, `"3"` and `1e2` are refused, so a caller's float arithmetic
    /// or quoting mistake is reported rather than rounded.
    fn read(value: &Value, path: Path<'_>) -> Result<Self, FieldError> {
        match value {
            Value::Number(n) if n.is_i64() => Ok(n.as_i64().unwrap_or_default()),
            Value::Number(n) if n.is_u64() => Err(FieldError::invalid(path, "is out of range")),
            _ => Err(FieldError::invalid(path, "must be an integer")),
        }
    }
}

impl FromJson for Value {
    fn read(value: &Value, _path: Path<'_>) -> Result<Self, FieldError> {
        Ok(value.clone())
    }
}

/// Reads an array of at most `max` elements (checked before any element is read, so a
/// list of ten thousand is refused for its size, not for its first bad element).
pub fn array_of<T: FromJson>(
    value: &Value,
    path: Path<'_>,
    max: usize,
) -> Result<Vec<T>, FieldError> {
    let items = value
        .as_array()
        .ok_or_else(|| FieldError::invalid(path, "must be an array"))?;
    if items.len() > max {
        return Err(too_many(path, max));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| T::read(v, path.index(i)))
        .collect()
}

/// The refusal of a list of more than `max` entries at `path`.
pub(crate) fn too_many(path: Path<'_>, max: usize) -> FieldError {
    FieldError::invalid(path, format!("must hold at most {max} entries")).with_max(max as u64)
}

/// A JSON object being read, with its path.
#[derive(Debug, Clone, Copy)]
pub struct Object<'a> {
    map: &'a Map<String, Value>,
    path: Path<'a>,
}

impl<'a> Object<'a> {
    /// `value` as an object, or an invalid-parameter error naming `path`.
    pub fn new(value: &'a Value, path: impl Into<Path<'a>>) -> Result<Self, FieldError> {
        let path = path.into();
        match value {
            Value::Object(map) => Ok(Self { map, path }),
            _ => Err(FieldError::invalid(path, "must be a JSON object")),
        }
    }

    /// Refuses any field not in `allowed`, naming it (`redirectURIs`, not "the body"), so a
    /// typo is caught instead of ignored.
    pub fn only(&self, allowed: &[&str]) -> Result<(), FieldError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            None => Ok(()),
            Some(unknown) => Err(FieldError::invalid(
                self.path.field(&printable(unknown)),
                format!(
                    "is not a known field (expected one of: {})",
                    allowed.join(", ")
                ),
            )),
        }
    }

    /// The path of field `name`.
    pub fn path_of<'n>(&'n self, name: &'n str) -> Path<'n> {
        self.path.field(name)
    }

    /// A field that must be present (and not null).
    pub fn required<T: FromJson>(&self, name: &str) -> Result<T, FieldError> {
        match self.map.get(name) {
            None => Err(FieldError::missing(self.path_of(name))),
            Some(Value::Null) => Err(FieldError::invalid(self.path_of(name), "must not be null")),
            Some(v) => T::read(v, self.path_of(name)),
        }
    }

    /// A field that may be absent. `null` is not absence: it is refused, because the API
    /// gives null a meaning only where a field can be cleared (see [`Object::nullable`]).
    pub fn optional<T: FromJson>(&self, name: &str) -> Result<Option<T>, FieldError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Null) => Err(FieldError::invalid(self.path_of(name), "must not be null")),
            Some(v) => T::read(v, self.path_of(name)).map(Some),
        }
    }

    /// A field that may be absent (`None`), null (`Some(None)`: clear it) or set.
    pub fn nullable<T: FromJson>(&self, name: &str) -> Result<Option<Option<T>>, FieldError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(v) => T::read(v, self.path_of(name)).map(|t| Some(Some(t))),
        }
    }

    /// An optional array of at most `max` elements.
    pub fn optional_array<T: FromJson>(
        &self,
        name: &str,
        max: usize,
    ) -> Result<Option<Vec<T>>, FieldError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Null) => Err(FieldError::invalid(self.path_of(name), "must not be null")),
            Some(v) => array_of(v, self.path_of(name), max).map(Some),
        }
    }

    /// The raw value of a field, if present.
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name)
    }
}

/// A caller-chosen name as it can be shown in a message and a `parameter`: written as in
/// JSON text (`"` and `\` escaped, control characters as `\n` or `\u0001`), with the
/// characters that render as nothing or reorder text escaped too (`\u200b`, `\u202e`), and
/// the length capped at 64 characters, so a hostile name cannot forge log lines, hide in a
/// console or bloat errors. The empty name shows as `""`, so that a refusal still names
/// something.
pub(crate) fn printable(name: &str) -> String {
    if name.is_empty() {
        return "\"\"".to_owned();
    }
    let mut out = String::with_capacity(name.len());
    for c in name.chars().take(64) {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() || invisible::is_hidden(c) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    if name.chars().nth(64).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::error::FieldErrorKind;
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
        let items_path = Path::Named("items");
        let item = Object::new(&arr[0], items_path.index(0)).unwrap();
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
        assert_eq!(e.parameter, "x.bad\\nkey");
    }

    #[test]
    fn unknown_field_names_are_written_as_json_writes_them() {
        for (name, shown) in [
            ("a\nb", r"a\nb"),
            ("tab\there", r"tab\there"),
            ("q\"uote", r#"q\"uote"#),
            ("back\\slash", r"back\\slash"),
            ("\u{1}\u{7f}\u{85}", r"\u0001\u007f\u0085"),
            ("zero\u{200B}width", r"zero\u200bwidth"),
            ("rtl\u{202E}", r"rtl\u202e"),
            ("tag\u{E0041}", r"tag\udb40\udc41"),
            ("名前 🦀", "名前 🦀"),
            ("", r#""""#),
        ] {
            let v = Value::Object(Map::from_iter([(name.to_owned(), json!(1))]));
            let e = Object::new(&v, "").unwrap().only(&[]).unwrap_err();
            assert_eq!(e.parameter, shown, "{name:?}");
            assert!(!e.parameter.contains("\\u{"), "no Rust escapes: {e:?}");
        }
        let long = "k".repeat(65);
        assert_eq!(printable(&long), format!("{}…", "k".repeat(64)));
        assert_eq!(printable(&"k".repeat(64)), "k".repeat(64));
    }

    #[test]
    fn minus_zero_is_an_integer_and_minus_zero_point_zero_is_not() {
        let body = parse_body(br#"{"a": -0, "b": -0.0, "c": 0.0}"#).unwrap();
        let o = Object::new(&body, "").unwrap();
        assert_eq!(o.required::<i64>("a"), Ok(0));
        for name in ["b", "c"] {
            assert_eq!(
                o.required::<i64>(name).unwrap_err().message,
                format!("{name} must be an integer")
            );
        }
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
        let e = array_of::<String>(&v, "uris".into(), 2).unwrap_err();
        assert_eq!((e.parameter.as_str(), e.max), ("uris", Some(2)));
        let e = array_of::<String>(&v, "uris".into(), 5).unwrap_err();
        assert_eq!(e.parameter, "uris[0]");
    }
}
