//! Scans of stored state: which files under a directory (a server's `--persist-to`
//! directory: SQLite databases, KV blobs, the wrangler log) hold some bytes.

use crate::bytes::find;
use crate::Server;
use std::fs;
use std::path::{Path, PathBuf};

/// Files under `dir` (recursively, symlinks not followed) whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    assert!(!needle.is_empty(), "empty needle");
    files_matching(dir, |bytes| find(bytes, needle).is_some())
}

/// Files under `dir` (recursively, symlinks not followed) whose bytes satisfy `matches`,
/// sorted.
pub fn files_matching(dir: &Path, matches: impl Fn(&[u8]) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(ty) = entry.file_type() else { continue };
            if ty.is_dir() {
                stack.push(path);
            } else if ty.is_file() {
                // Files may vanish meanwhile (SQLite journals): skip them.
                if let Ok(bytes) = fs::read(&path) {
                    if matches(&bytes) {
                        found.push(path);
                    }
                }
            }
        }
    }
    found.sort();
    found
}

impl Server {
    /// Every file under the state directory (recursively: SQLite databases with their
    /// `-wal`/`-shm` files, KV blobs, and `wrangler.log`) whose bytes contain `needle`.
    pub fn state_files_containing(&self, needle: &[u8]) -> Vec<PathBuf> {
        files_containing(&self.state_dir, needle)
    }

    /// Every file under the state directory whose bytes satisfy `matches`.
    pub fn state_files_matching(&self, matches: impl Fn(&[u8]) -> bool) -> Vec<PathBuf> {
        files_matching(&self.state_dir, matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::fresh_temp_dir;

    #[test]
    fn file_scan_finds_needles_in_nested_files() {
        let dir = fresh_temp_dir("scan-unit");
        fs::create_dir_all(dir.join("a/b")).unwrap();
        fs::write(dir.join("a/b/x-wal"), b"..NEEDLE..").unwrap();
        fs::write(dir.join("y"), b"nothing").unwrap();
        assert_eq!(
            files_containing(&dir, b"NEEDLE"),
            vec![dir.join("a/b/x-wal")]
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
