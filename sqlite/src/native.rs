//! Shards as SQLite files, and the core's [`Backend`] over them.

use crate::faults::Faults;
use crate::kv::MemoryKv;
use crate::migrations;
use crate::sqlite::Sqlite;
use connect_core::server::failure::Failure;
use connect_core::server::perform::Backend;
use connect_core::server::session::{Session, Writes};
use connect_core::wire::time::Timestamp;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Runs a future of the core's to its end on this thread: on SQLite every storage call
/// finishes at once.
pub fn block_on<F: Future>(future: F) -> F::Output {
    futures_executor::block_on(future)
}

/// A deployment's shards, each a database file in one folder, migrated.
#[derive(Debug, Clone)]
pub struct Shards {
    dir: PathBuf,
    names: Vec<String>,
    faults: Option<Faults>,
}

impl Shards {
    /// Shards `names` (the first holds the directory) as files in `dir`, each with every
    /// migration applied.
    pub fn create(dir: &Path, names: &[&str]) -> Result<Self, Box<dyn std::error::Error>> {
        let shards = Self {
            dir: dir.to_owned(),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            faults: None,
        };
        for name in names {
            migrations::apply(&mut shards.open(name)?.connection())?;
        }
        Ok(shards)
    }

    /// Shards `names` as files in `dir`, each with the migrations up to `last` applied: a
    /// deployment as it was before the later ones. [`Shards::migrate`] applies the rest.
    pub fn create_through(
        dir: &Path,
        names: &[&str],
        last: &str,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let shards = Self {
            dir: dir.to_owned(),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            faults: None,
        };
        for name in names {
            migrations::apply_through(&mut shards.open(name)?.connection(), last)?;
        }
        Ok(shards)
    }

    /// Applies to every shard the migrations it has not recorded yet, as `wrangler d1
    /// migrations apply` does with foreign keys enforced (as on D1).
    pub fn migrate(&self) -> Result<(), Box<dyn std::error::Error>> {
        for name in &self.names {
            migrations::apply(&mut self.open(name)?.connection())?;
        }
        Ok(())
    }

    /// These shards, every connection opened from now on failing as `faults` says.
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = Some(faults);
        self
    }

    /// The shards' names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The file of shard `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.sqlite3"))
    }

    /// A new connection to shard `name`.
    pub fn open(&self, name: &str) -> rusqlite::Result<Sqlite> {
        let db = Sqlite::open(&self.path(name))?;
        Ok(match &self.faults {
            Some(faults) => db.with_faults(faults.clone()),
            None => db,
        })
    }
}

/// What one request (or one scheduled run) works on: the shards, the key-value store and
/// a clock, its writes counted in one [`Writes`].
pub struct Native<'a> {
    shards: &'a Shards,
    kv: Option<MemoryKv>,
    writes: Rc<Writes>,
    clock: Box<dyn Fn() -> Timestamp + 'a>,
}

impl<'a> Native<'a> {
    /// A request on `shards` with `kv`, on the system clock.
    pub fn new(shards: &'a Shards, kv: Option<MemoryKv>) -> Self {
        Self {
            shards,
            kv,
            writes: Rc::new(Writes::default()),
            clock: Box::new(system_now),
        }
    }

    /// This request, on `clock` instead.
    pub fn with_clock(mut self, clock: impl Fn() -> Timestamp + 'a) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// What the request's writes came to.
    pub fn writes(&self) -> &Writes {
        &self.writes
    }
}

/// The system clock.
pub fn system_now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp::from_millis(ms)
}

impl Backend for Native<'_> {
    type Db = Sqlite;
    type Kv = MemoryKv;

    fn clock(&self) -> Timestamp {
        (self.clock)()
    }

    fn kv(&self) -> Option<&MemoryKv> {
        self.kv.as_ref()
    }

    fn shard(&self, name: &str) -> Result<Session<Sqlite>, Failure> {
        if !self.shards.names.iter().any(|n| n == name) {
            return Err(Failure::Internal(format!("no shard {name}")));
        }
        let db = self
            .shards
            .open(name)
            .map_err(|e| Failure::Internal(format!("opening {name}: {e}")))?;
        Ok(Session::new(db, self.writes.clone()))
    }
}
