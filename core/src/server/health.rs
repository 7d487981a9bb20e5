//! Whether a deployment is ready to serve (`GET /admin/v1/health`): its settings read, and
//! every shard bound and migrated to the schema the Worker was built with, the directory
//! present in the first. The Worker gathers what it finds ([`Checkup`]); this module
//! judges it into a [`HealthReport`] that names each problem, never a key.
//!
//! A shard is migrated when its `d1_migrations` table (the one `wrangler d1 migrations
//! apply` keeps, locally and in production) records every migration the Worker knows.

use crate::server::admin::{HealthProblem, HealthReport};
use crate::server::seal::KeyRing;
use crate::server::shards::ShardList;
use crate::wire::secrets::KeyEnvironment;

/// What the Worker found of one shard's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardState {
    /// No D1 database is bound under the shard's name.
    Unbound,
    /// The migrations its `d1_migrations` table records, by file name.
    Migrated(Vec<String>),
    /// It has no `d1_migrations` table: no migration was ever applied to it.
    NeverMigrated,
    /// It could not be read: D1's error.
    Unreadable(String),
}

/// What the Worker found of the directory, in the first shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryState {
    /// Its tables answer: how many workspaces it places in each shard.
    Listed(Vec<(String, u64)>),
    /// Its tables are not there.
    Missing,
    /// Its shard is not bound (said with the shard).
    Unbound,
    /// It could not be read: D1's error.
    Unreadable(String),
}

/// The checks of one health request, problem by problem.
#[derive(Debug, Clone)]
pub struct Checkup<'a> {
    /// The migrations the Worker needs in every shard, oldest first.
    migrations: &'a [&'a str],
    problems: Vec<HealthProblem>,
}

impl<'a> Checkup<'a> {
    /// A checkup of a Worker built with `migrations` (file names, oldest first).
    pub fn new(migrations: &'a [&'a str]) -> Self {
        Self {
            migrations,
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, component: &str, message: impl Into<String>) {
        self.problems.push(HealthProblem {
            component: component.to_owned(),
            message: message.into(),
        });
    }

    /// `SECRETS_KEYS`, the key ring's text (`None`: not set). What is wrong is said by
    /// position and key id, never with key material.
    pub fn key_ring(&mut self, text: Option<&str>) {
        match text.map(KeyRing::parse) {
            None => self.problem(
                "SECRETS_KEYS",
                "is not set: a Worker secret kid:64hex[,kid:64hex...], the key that seals first",
            ),
            Some(Err(e)) => self.problem("SECRETS_KEYS", e.to_string()),
            Some(Ok(_)) => {}
        }
    }

    /// `KEY_ENVIRONMENT` (`None`: not set).
    pub fn key_environment(&mut self, text: Option<&str>) {
        if text.and_then(|t| KeyEnvironment::parse(t).ok()).is_none() {
            self.problem("KEY_ENVIRONMENT", "must be test or prod");
        }
    }

    /// `SHARDS` (`None`: not set): the list of shards if it reads as one.
    pub fn shards(&mut self, text: Option<&str>) -> Option<ShardList> {
        match text.map(ShardList::parse) {
            None => {
                self.problem("SHARDS", "is not set: the D1 bindings, comma-separated");
                None
            }
            Some(Err(e)) => {
                self.problem("SHARDS", format!("{e}"));
                None
            }
            Some(Ok(list)) => Some(list),
        }
    }

    /// One shard of `SHARDS` (its binding's name) and what its database holds.
    pub fn shard(&mut self, name: &str, state: &ShardState) {
        let message = match state {
            ShardState::Unbound => {
                "SHARDS names it, but no D1 database is bound under this name (a [[d1_databases]] binding in wrangler.toml)".to_owned()
            }
            ShardState::NeverMigrated => {
                "is not migrated: no migration was ever applied to its database (wrangler d1 migrations apply)".to_owned()
            }
            ShardState::Unreadable(error) => format!("its database could not be read: {error}"),
            ShardState::Migrated(applied) => {
                let missing: Vec<&str> = self
                    .migrations
                    .iter()
                    .copied()
                    .filter(|m| !applied.iter().any(|a| a == m))
                    .collect();
                if missing.is_empty() {
                    return;
                }
                format!(
                    "is not migrated to the latest schema: {} not applied (wrangler d1 migrations apply)",
                    missing.join(", ")
                )
            }
        };
        self.problem(name, message);
    }

    /// The directory, in `shards`' first shard.
    pub fn directory(&mut self, shards: &ShardList, state: &DirectoryState) {
        let first = shards.directory();
        match state {
            DirectoryState::Missing => self.problem(
                "directory",
                format!("is missing: {first}, the first shard of SHARDS, has no directory tables (its migrations are not applied, or SHARDS names another shard first)"),
            ),
            DirectoryState::Unbound => self.problem(
                "directory",
                format!("cannot be read: it lives in {first}, the first shard of SHARDS, which is not bound"),
            ),
            DirectoryState::Unreadable(error) => self.problem(
                "directory",
                format!("could not be read in {first}: {error}"),
            ),
            DirectoryState::Listed(placed) => {
                for (shard, workspaces) in placed {
                    if *workspaces > 0 && !shards.contains(shard) {
                        self.problem(
                            "directory",
                            format!("places {workspaces} workspace(s) in {shard}, which SHARDS does not name: they cannot be reached (a shard is never removed or renamed)"),
                        );
                    }
                }
            }
        }
    }

    /// The report: ready when nothing was found wrong.
    pub fn report(self) -> HealthReport {
        HealthReport {
            ready: self.problems.is_empty(),
            latest_migration: self.migrations.last().copied().unwrap_or("").to_owned(),
            problems: self.problems,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIGRATIONS: [&str; 3] = ["0001_a.sql", "0002_b.sql", "0003_c.sql"];

    fn applied(names: &[&str]) -> ShardState {
        ShardState::Migrated(names.iter().map(|n| n.to_string()).collect())
    }

    fn healthy<'a>() -> (Checkup<'a>, ShardList) {
        let mut c = Checkup::new(&MIGRATIONS);
        c.key_ring(Some(&format!("a:{}", "ab".repeat(32))));
        c.key_environment(Some("test"));
        let shards = c.shards(Some("SHARD_1,SHARD_2")).unwrap();
        for name in shards.names() {
            c.shard(name, &applied(&MIGRATIONS));
        }
        c.directory(
            &shards,
            &DirectoryState::Listed(vec![("SHARD_1".into(), 3)]),
        );
        (c, shards)
    }

    fn components(report: &HealthReport) -> Vec<&str> {
        report
            .problems
            .iter()
            .map(|p| p.component.as_str())
            .collect()
    }

    #[test]
    fn a_deployment_with_nothing_wrong_is_ready() {
        let report = healthy().0.report();
        assert!(report.ready, "{report:?}");
        assert!(report.problems.is_empty());
        assert_eq!(report.latest_migration, "0003_c.sql");
    }

    #[test]
    fn each_problem_is_named_once_and_none_shows_a_key() {
        let hex = "0123456789abcdef".repeat(4);
        let (mut c, shards) = healthy();
        c.key_ring(Some(&format!("a:{hex},{hex}")));
        c.key_environment(Some("staging"));
        c.shard("SHARD_2", &applied(&MIGRATIONS[..2]));
        c.shard("SHARD_3", &ShardState::Unbound);
        c.shard("SHARD_4", &ShardState::NeverMigrated);
        c.shard("SHARD_5", &ShardState::Unreadable("D1_ERROR: busy".into()));
        c.directory(&shards, &DirectoryState::Missing);
        c.directory(&shards, &DirectoryState::Unbound);
        c.directory(
            &shards,
            &DirectoryState::Listed(vec![("SHARD_1".into(), 1), ("SHARD_9".into(), 2)]),
        );
        let report = c.report();
        assert!(!report.ready);
        assert_eq!(
            components(&report),
            [
                "SECRETS_KEYS",
                "KEY_ENVIRONMENT",
                "SHARD_2",
                "SHARD_3",
                "SHARD_4",
                "SHARD_5",
                "directory",
                "directory",
                "directory"
            ]
        );
        let text = serde_json::to_string(&report).unwrap();
        assert!(!text.contains(&hex[..16]), "key material in {text}");
        let says = |i: usize, what: &str| {
            assert!(
                report.problems[i].message.contains(what),
                "{:?} does not say {what:?}",
                report.problems[i]
            )
        };
        says(0, "entry 2 of the key ring is not kid:64hex");
        says(2, "0003_c.sql not applied");
        says(3, "no D1 database is bound");
        says(4, "no migration was ever applied");
        says(5, "D1_ERROR: busy");
        says(
            6,
            "SHARD_1, the first shard of SHARDS, has no directory tables",
        );
        says(7, "SHARD_1, the first shard of SHARDS, which is not bound");
        says(8, "places 2 workspace(s) in SHARD_9");
    }

    #[test]
    fn missing_settings_are_problems() {
        let mut c = Checkup::new(&MIGRATIONS);
        c.key_ring(None);
        c.key_environment(None);
        assert_eq!(c.shards(None), None);
        assert_eq!(c.shards(Some("SHARD_1,SHARD_1")), None);
        let report = c.report();
        assert_eq!(
            components(&report),
            ["SECRETS_KEYS", "KEY_ENVIRONMENT", "SHARDS", "SHARDS"]
        );
        assert!(report.problems[3].message.contains("twice"), "{report:?}");
    }

    #[test]
    fn a_shard_with_more_migrations_than_the_worker_knows_is_ready() {
        let mut c = Checkup::new(&MIGRATIONS);
        c.shard(
            "SHARD_1",
            &applied(&["0001_a.sql", "0002_b.sql", "0003_c.sql", "0004_d.sql"]),
        );
        c.directory(
            &ShardList::parse("SHARD_1").unwrap(),
            &DirectoryState::Listed(vec![("SHARD_1".into(), 0), ("OLD".into(), 0)]),
        );
        assert!(c.report().problems.is_empty());
    }
}
