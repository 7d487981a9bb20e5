//! One SQLite database file, as the core's [`Database`].

use crate::faults::{Call, Faults};
use connect_core::server::storage::{Database, Param, Results, Row, Statement, StorageError};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{params_from_iter, Connection, TransactionBehavior};
use serde_json::{Number, Value};
use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

/// A connection to one database file. Each thread of a test opens its own; SQLite takes
/// one writer at a time (a write waits for the file's lock, as D1's single writer does).
pub struct Sqlite {
    name: String,
    conn: RefCell<Connection>,
    faults: Option<Faults>,
}

impl Sqlite {
    /// Opens (or creates) the database at `path`, with D1's settings: foreign keys on.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "wal")?;
        conn.pragma_update(None, "foreign_keys", "on")?;
        Ok(Self {
            name: path
                .file_stem()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            conn: RefCell::new(conn),
            faults: None,
        })
    }

    /// This database, its calls failing as `faults` says.
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = Some(faults);
        self
    }

    /// The connection, for a test's own queries (`EXPLAIN QUERY PLAN`, counts).
    pub fn connection(&self) -> std::cell::RefMut<'_, Connection> {
        self.conn.borrow_mut()
    }

    fn run_all(
        &self,
        statements: &[Statement],
        behavior: TransactionBehavior,
    ) -> Result<Results, StorageError> {
        let mut conn = self.conn.borrow_mut();
        let tx = conn
            .transaction_with_behavior(behavior)
            .map_err(storage_error)?;
        let mut results = Vec::with_capacity(statements.len());
        for statement in statements {
            // On an error the transaction is dropped: it rolls back.
            results.push(run(&tx, statement)?);
        }
        tx.commit().map_err(storage_error)?;
        Ok(results)
    }

    fn call(
        &self,
        call: Call,
        statements: Vec<Statement>,
        behavior: TransactionBehavior,
    ) -> Result<Results, StorageError> {
        let fault = self.faults.as_ref().and_then(|f| f.draw(call));
        fault.map_or(Ok(()), |f| f.before())?;
        let results = self.run_all(&statements, behavior)?;
        fault.map_or(Ok(()), |f| f.after())?;
        Ok(results)
    }
}

fn storage_error(e: rusqlite::Error) -> StorageError {
    StorageError::new(e.to_string())
}

fn to_sql(param: &Param) -> SqlValue {
    match param {
        Param::Null => SqlValue::Null,
        Param::Int(v) => SqlValue::Integer(*v),
        Param::Text(v) => SqlValue::Text(v.clone()),
    }
}

fn to_json(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(v) => Value::Number(v.into()),
        ValueRef::Real(v) => Number::from_f64(v).map_or(Value::Null, Value::Number),
        ValueRef::Text(v) => Value::String(String::from_utf8_lossy(v).into_owned()),
        ValueRef::Blob(v) => Value::String(String::from_utf8_lossy(v).into_owned()),
    }
}

/// Runs one statement: its rows as JSON objects by column name.
fn run(conn: &Connection, statement: &Statement) -> Result<Vec<Row>, StorageError> {
    let mut prepared = conn
        .prepare_cached(statement.sql())
        .map_err(storage_error)?;
    let names: Vec<String> = prepared
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut rows = prepared
        .query(params_from_iter(statement.params().iter().map(to_sql)))
        .map_err(storage_error)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(storage_error)? {
        let mut map = Row::new();
        for (i, name) in names.iter().enumerate() {
            map.insert(
                name.clone(),
                to_json(row.get_ref(i).map_err(storage_error)?),
            );
        }
        out.push(map);
    }
    Ok(out)
}

impl Database for Sqlite {
    fn name(&self) -> &str {
        &self.name
    }

    async fn read(&self, statements: Vec<Statement>) -> Result<Results, StorageError> {
        self.call(Call::Read, statements, TransactionBehavior::Deferred)
    }

    async fn write(&self, statements: Vec<Statement>) -> Result<Results, StorageError> {
        self.call(Call::Write, statements, TransactionBehavior::Immediate)
    }
}
