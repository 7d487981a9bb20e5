//! Where things are: the repository, the shared directory next to it, the wrangler binary,
//! and fresh temporary directories.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The repository root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The read-only shared directory next to the repository (`../shared`), holding the
/// peer baseline Worker. Same layout locally and in CI.
pub fn shared_dir() -> PathBuf {
    let dir = workspace_root().join("../shared");
    dir.canonicalize().unwrap_or(dir)
}

/// The wrangler binary: `$E2E_WRANGLER`, else the repository's pinned
/// `node_modules/.bin/wrangler`.
pub fn wrangler_bin() -> PathBuf {
    match std::env::var_os("E2E_WRANGLER") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join("node_modules/.bin/wrangler"),
    }
}

pub(crate) static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh, empty directory under the system temp dir, unique per process and call.
pub(crate) fn fresh_temp_dir(kind: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("connect-e2e-{}-{n}-{kind}", std::process::id()));
    if dir.exists() {
        // Left over by an earlier process that had the same pid.
        let _ = fs::remove_dir_all(&dir);
    }
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// Copies the directory `src` into `dst` (made if missing), entries named in `skip` left
/// out at every level. Symlinks are followed; read-only sources become writable copies.
pub(crate) fn copy_tree(src: &Path, dst: &Path, skip: &[&str]) -> io::Result<()> {
    fs::create_dir_all(dst)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        if skip.iter().any(|n| name == OsStr::new(n)) {
            continue;
        }
        let to = dst.join(&name);
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &to, skip)?;
        } else {
            fs::write(&to, fs::read(entry.path())?)?;
        }
    }
    Ok(())
}
