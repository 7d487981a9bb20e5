//! Lists the D1 migrations (`migrations/*.sql`, in name order) into the Worker, so that
//! it knows the schema it was built for: `GET /admin/v1/health` holds every shard to it,
//! and a new workspace is placed only in a shard that has the latest (see `src/schema.rs`).
//! A migration added to the directory is in the next build; none is listed by hand.

use std::fs;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").file_name())
        .filter_map(|name| name.into_string().ok())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    // wrangler applies them in this order and records each by its file name.
    names.sort();
    assert!(!names.is_empty(), "no migration in {}", dir.display());
    let list: String = names.iter().map(|n| format!("    {n:?},\n")).collect();
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("migrations.rs");
    fs::write(
        &out,
        format!("/// The migration files, oldest first.\npub const MIGRATIONS: &[&str] = &[\n{list}];\n"),
    )
    .unwrap_or_else(|e| panic!("write {}: {e}", out.display()));
}
