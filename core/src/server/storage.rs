//! Storage as data: what the server asks of its database and of its key-value store.
//!
//! A write is decided here, in the core, and expressed as [`Statement`]s: SQL text from
//! [`super::sql`] with its parameters. Statements that must happen together are handed to
//! [`Database::write`] as one list, run as one transaction; reads go to
//! [`Database::read`], run in one snapshot. The core never opens a connection: an adapter
//! runs the statements, on D1 in the Worker, on SQLite in the native tests
//! (`connect-sqlite`). Both run the same SQL on the same schema (`migrations/`).
//!
//! A database refuses a transaction by failing one of the schema's constraints; the core
//! reads which from the error's text ([`Refusal::of`]), so the adapters pass it on as they
//! got it. Anything else may have come after the commit: the write is then in doubt.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::fmt;

/// A value bound to a statement's parameter (`?1`, `?2`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// SQL `NULL`.
    Null,
    /// An integer. D1 carries numbers as JavaScript doubles: every integer the server binds
    /// (counts, positions, times in milliseconds) is far below 2^53.
    Int(i64),
    /// Text.
    Text(String),
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}

impl From<String> for Param {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}

impl From<&String> for Param {
    fn from(v: &String) -> Self {
        Self::Text(v.clone())
    }
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

impl From<u32> for Param {
    fn from(v: u32) -> Self {
        Self::Int(v.into())
    }
}

impl From<usize> for Param {
    fn from(v: usize) -> Self {
        Self::Int(v as i64)
    }
}

impl<T: Into<Param>> From<Option<T>> for Param {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

/// One SQL statement of [`super::sql`] with its parameters bound in order.
#[derive(Clone, PartialEq, Eq)]
pub struct Statement {
    sql: &'static str,
    params: Vec<Param>,
}

impl Statement {
    /// `sql` with `params` as `?1`, `?2`, ...
    pub fn new(sql: &'static str, params: Vec<Param>) -> Self {
        Self { sql, params }
    }

    /// The SQL text.
    pub fn sql(&self) -> &'static str {
        self.sql
    }

    /// The parameters, in order.
    pub fn params(&self) -> &[Param] {
        &self.params
    }
}

impl fmt::Debug for Statement {
    /// The SQL's first words and the number of parameters: parameters hold sealed secrets
    /// and key hashes, which have no place in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head: String = self.sql.chars().take(48).collect();
        write!(f, "Statement({head:?}.., {} params)", self.params.len())
    }
}

/// One row: its columns by name, as JSON values (text, numbers, null).
pub type Row = Map<String, Value>;

/// The rows each statement of a call returned, in the order of the statements.
pub type Results = Vec<Vec<Row>>;

/// Rows read into `T`, column by column (serde's field names are the columns').
pub fn rows_as<T: DeserializeOwned>(rows: Vec<Row>) -> Result<Vec<T>, StorageError> {
    rows.into_iter()
        .map(|row| {
            serde_json::from_value(Value::Object(row))
                .map_err(|e| StorageError::new(format!("a row of an unexpected shape: {e}")))
        })
        .collect()
}

/// A storage call that failed, with the adapter's text (a constraint's name, a driver's
/// message). Never holds a parameter's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageError(String);

impl StorageError {
    /// An error with this text.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StorageError {}

/// Why a database refused a transaction, when that is part of the protocol rather than a
/// fault: it rolled back and wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A freshly minted client id exists already in the shard (each new id meets one of
    /// the shard's N apps with odds of about N in 2^37.6): mint again.
    ClientIdTaken,
    /// Another request claimed the `Idempotency-Key` first: answer as it did.
    KeyTaken,
    /// A guarded statement found the row changed or gone since it was read: read again.
    StateMoved,
    /// The request's API key is no longer live (revoked since its lookup was cached).
    KeyRevoked,
}

impl Refusal {
    /// The refusal a failed transaction's error text tells of, if it is one: each is a
    /// constraint of the schema, named in SQLite's message (which D1 passes on).
    pub fn of(error: &StorageError) -> Option<Self> {
        let text = error.text();
        if text.contains("UNIQUE constraint failed: apps.client_id") {
            Some(Self::ClientIdTaken)
        } else if text.contains("UNIQUE constraint failed: idempotency_keys.") {
            Some(Self::KeyTaken)
        } else if text.contains("write_guard_state_moved") {
            Some(Self::StateMoved)
        } else if text.contains("write_guard_key_revoked") {
            Some(Self::KeyRevoked)
        } else {
            None
        }
    }
}

/// Whether a failure says the database lacks a table or column a statement names: its
/// schema is behind the server's, and the statement was refused before it ran.
pub fn schema_missing(error: &StorageError) -> bool {
    error.text().contains("no such table") || error.text().contains("no such column")
}

/// A database: one shard's, in whatever session the adapter opened it.
///
/// The futures need not be `Send`: the Worker's are not, and the native adapter's finish
/// at once.
#[allow(async_fn_in_trait)]
pub trait Database {
    /// Which database this is, for messages: its shard's name.
    fn name(&self) -> &str;

    /// Runs `statements` together, in one round trip and one consistent snapshot: the rows
    /// of each, in order. They only read.
    async fn read(&self, statements: Vec<Statement>) -> Result<Results, StorageError>;

    /// Runs `statements` as one transaction, in order: all of them or none. The rows of
    /// each (a statement that must tell what it changed says so in `RETURNING`).
    async fn write(&self, statements: Vec<Statement>) -> Result<Results, StorageError>;
}

/// A key-value store with expiry: the edge copy of recorded answers (KV in the Worker).
/// Eventually consistent at best, so only ever a shortcut: a miss or a failure falls
/// through to the database. Failures are the adapter's to log; they are not errors here.
#[allow(async_fn_in_trait)]
pub trait KeyValue {
    /// The text under `name`, if any (`None` on a miss or a failure).
    async fn get(&self, name: &str) -> Option<String>;

    /// Stores `text` under `name` for `ttl_seconds` (at least 60: KV's floor).
    async fn put(&self, name: &str, text: String, ttl_seconds: u64);

    /// Removes the entry under `name`.
    async fn delete(&self, name: &str);
}

/// A write to the key-value store, as data: what to put, done once the answer is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct KvPut {
    /// The entry's name.
    pub name: String,
    /// Its text.
    pub text: String,
    /// Seconds until it expires.
    pub ttl_seconds: u64,
}

impl fmt::Debug for KvPut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KvPut({:?}, {} bytes)", self.name, self.text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[test]
    fn refusals_are_read_from_the_constraint_named() {
        let of = |t: &str| Refusal::of(&StorageError::new(t));
        assert_eq!(
            of("D1_ERROR: UNIQUE constraint failed: apps.client_id: SQLITE_CONSTRAINT"),
            Some(Refusal::ClientIdTaken)
        );
        assert_eq!(
            of("UNIQUE constraint failed: idempotency_keys.scope, idempotency_keys.key_hash"),
            Some(Refusal::KeyTaken)
        );
        assert_eq!(
            of("CHECK constraint failed: write_guard_state_moved"),
            Some(Refusal::StateMoved)
        );
        assert_eq!(
            of("CHECK constraint failed: write_guard_key_revoked"),
            Some(Refusal::KeyRevoked)
        );
        assert_eq!(of("D1_ERROR: Network connection lost."), None);
        assert_eq!(
            of("UNIQUE constraint failed: directory_api_keys.key_id"),
            None
        );
    }

    #[test]
    fn rows_read_as_types_by_column_name() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct R {
            a: i64,
            b: Option<String>,
        }
        let rows = vec![
            json!({"a": 1, "b": "x"}).as_object().unwrap().clone(),
            json!({"a": 2, "b": null}).as_object().unwrap().clone(),
        ];
        assert_eq!(
            rows_as::<R>(rows).unwrap(),
            vec![
                R {
                    a: 1,
                    b: Some("x".into())
                },
                R { a: 2, b: None }
            ]
        );
        let bad = vec![json!({"a": "one"}).as_object().unwrap().clone()];
        assert!(rows_as::<R>(bad).is_err());
    }

    #[test]
    fn a_statement_never_shows_its_parameters() {
        let s = Statement::new("SELECT 1 WHERE ?1", vec!["sh_app_secret".into()]);
        let shown = format!("{s:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("1 params"));
    }
}
