//! The state a server starts from: its D1 databases with the config's migrations applied
//! by `wrangler d1 migrations apply --local`, made once and copied for every server after.
//!
//! Applying the migrations is a wrangler CLI call per database (a node process and a
//! `workerd`, 2 to 3 CPU-seconds), and the suite starts about a hundred servers. The
//! migrated state is kept in the system's temp directory under a name made from all that
//! decides it (the wrangler install, each database's name and id, its migrations' names
//! and texts), so a changed migration makes a new one; test binaries running side by side
//! share it, the first to finish making it publishing it with an atomic rename.

use crate::cleanup::{next_id, register, unregister, Cleanup};
use crate::cli::{local_args, os, run_wrangler};
use crate::config::ServerConfig;
use crate::local_d1::{named, D1Database};
use crate::miniflare_files::d1_file;
use crate::paths::{copy_tree, fresh_temp_dir, wrangler_bin};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};

/// Fills the empty `--persist-to` directory `state_dir` with `cfg`'s databases named in its
/// `d1_names`, migrated. `cfg` is the server's run configuration (its relative paths
/// resolve in its directory).
pub(crate) fn copy_migrated_state(cfg: &ServerConfig, state_dir: &Path) -> Result<(), String> {
    let dbs = named(cfg, &cfg.d1_names)?;
    let template = std::env::temp_dir().join(format!("connect-e2e-migrated-{}", key(&dbs)?));
    if !template.is_dir() {
        make(cfg, &dbs, &template)?;
    }
    copy_tree(&template, state_dir, &[]).map_err(|e| {
        format!(
            "copy {} to {}: {e}",
            template.display(),
            state_dir.display()
        )
    })
}

/// What decides the migrated state, hashed: 16 bytes in hex.
fn key(dbs: &[D1Database]) -> Result<String, String> {
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    let wrangler = wrangler_bin()
        .canonicalize()
        .unwrap_or_else(|_| wrangler_bin());
    field(wrangler.as_os_str().as_encoded_bytes());
    // The wrangler package's manifest (its version), next to its `bin/` directory.
    let manifest = wrangler
        .parent()
        .and_then(Path::parent)
        .map(|p| p.join("package.json"));
    field(&manifest.and_then(|m| fs::read(m).ok()).unwrap_or_default());
    for db in dbs {
        field(db.name.as_bytes());
        field(db.id.as_bytes());
        let mut migrations: Vec<PathBuf> = fs::read_dir(&db.migrations_dir)
            .map_err(|e| format!("read {}: {e}", db.migrations_dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|x| x == "sql"))
            .collect();
        migrations.sort();
        for path in migrations {
            field(path.file_name().unwrap_or_default().as_encoded_bytes());
            field(&fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?);
        }
    }
    Ok(hex::encode(&hash.finalize()[..16]))
}

/// Applies the migrations of every database of `dbs` at once into a fresh directory, checks
/// that each database is where [`d1_file`] says, and publishes the directory as
/// `template` (unless another process did first).
fn make(cfg: &ServerConfig, dbs: &[D1Database], template: &Path) -> Result<(), String> {
    let staging = fresh_temp_dir("migrating");
    let cleanup = register(Cleanup {
        id: next_id(),
        pgid: None,
        watchdog: None,
        pgid_file: None,
        dirs: vec![staging.clone()],
    });
    let applied: Vec<_> = std::thread::scope(|scope| {
        let runs: Vec<_> = dbs
            .iter()
            .map(|db| {
                let mut args = vec![os("d1"), os("migrations"), os("apply"), os(&db.name)];
                args.extend(local_args(cfg, &staging));
                let dir = cfg.dir();
                scope.spawn(move || run_wrangler(&dir, &args))
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().unwrap_or_else(|_| Err("panicked".into())))
            .collect()
    });
    let outcome = applied.into_iter().try_for_each(|outcome| match outcome {
        Ok(out) if out.success => Ok(()),
        Ok(out) => Err(out.describe("wrangler d1 migrations apply failed")),
        Err(e) => Err(e),
    });
    let outcome = outcome.and_then(|()| {
        for db in dbs {
            let file = d1_file(&staging, &db.id);
            if !file.is_file() {
                return Err(format!(
                    "wrangler migrated D1 database {} but not into {}, where the harness looks for it (has miniflare changed how it names its files?)",
                    db.name,
                    file.display()
                ));
            }
        }
        // Fails when another process published the same state first: then it is used.
        if fs::rename(&staging, template).is_err() && !template.is_dir() {
            return Err(format!("publish {} as {}", staging.display(), template.display()));
        }
        Ok(())
    });
    if let Some(c) = unregister(cleanup) {
        c.run();
    }
    outcome
}
