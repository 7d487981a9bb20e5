//! A server's run directory: the directory wrangler sees as the Worker's own.
//!
//! wrangler reads the Worker's local settings (`.dev.vars`, `.dev.vars.<env>`, and without
//! those `.env` files) from the directory of the config it is given, so a server run
//! straight from the repository would get a developer's local `.dev.vars` (say
//! `PAGE_CACHE=off`) on top of what the test passes. The run directory holds a copy of the
//! config without its `[build]` tables (the harness runs the build first: see
//! `build_step`), a `.dev.vars` of the harness's own, and a symlink to every other entry of
//! the config's directory: relative paths in the config (`main`, `migrations_dir`) resolve
//! as before, and the original directory's local settings are never read. Every wrangler
//! call of the server runs with it as config directory and working directory.

use crate::build_step::without_build_table;
use crate::config::ServerConfig;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The run directory's `.dev.vars`. Having one keeps wrangler from falling back to `.env`
/// files and (with `CLOUDFLARE_INCLUDE_PROCESS_ENV`) the process environment.
pub(crate) const DEV_VARS: &str = "\
# Written by connect-e2e. This server's variables are the [vars] of its config and its
# --var arguments, nothing else: no .dev.vars or .env of the Worker's own directory.
";

/// Entries of the config's directory left out of the run directory: the local settings
/// wrangler would read (`.dev.vars*`, `.env*`) and wrangler's own `.wrangler` (local state
/// and temporary files of other runs).
fn left_out(name: &OsStr) -> bool {
    let name = name.as_bytes();
    name == b".wrangler"
        || name.starts_with(b".dev.vars")
        || name == b".env"
        || name.starts_with(b".env.")
}

/// Fills the empty directory `run_dir` for `cfg` (see the module docs) and returns `cfg`
/// pointed at the copy of its config there.
pub(crate) fn prepare_run_dir(cfg: &ServerConfig, run_dir: &Path) -> io::Result<ServerConfig> {
    let src_dir = std::path::absolute(cfg.dir())?;
    let file = cfg.config.file_name().expect("config is a file");
    for entry in fs::read_dir(&src_dir)? {
        let name = entry?.file_name();
        if name != file && !left_out(&name) {
            std::os::unix::fs::symlink(src_dir.join(&name), run_dir.join(&name))?;
        }
    }
    let config = fs::read_to_string(&cfg.config)?;
    fs::write(run_dir.join(file), without_build_table(&config))?;
    fs::write(run_dir.join(".dev.vars"), DEV_VARS)?;
    Ok(ServerConfig {
        config: run_dir.join(file),
        ..cfg.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::fresh_temp_dir;

    #[test]
    fn the_run_dir_leaves_out_local_settings_and_links_the_rest() {
        let worker = fresh_temp_dir("worker-unit");
        fs::create_dir_all(worker.join("src")).unwrap();
        fs::create_dir_all(worker.join(".wrangler/state")).unwrap();
        fs::write(
            worker.join("wrangler.toml"),
            "name = \"w\"\n\n[build]\ncommand = \"make\"\n\n[vars]\nA = \"1\"\n",
        )
        .unwrap();
        fs::write(worker.join("src/index.js"), "// js\n").unwrap();
        for local in [".dev.vars", ".dev.vars.staging", ".env", ".env.local"] {
            fs::write(worker.join(local), "PAGE_CACHE=off\n").unwrap();
        }
        let cfg = ServerConfig::new(worker.join("wrangler.toml"), "db").with_var("A", "1");
        let run_dir = fresh_temp_dir("run-unit");

        let run_cfg = prepare_run_dir(&cfg, &run_dir).unwrap();

        assert_eq!(run_cfg.config, run_dir.join("wrangler.toml"));
        assert_eq!(run_cfg.dir(), run_dir);
        assert_eq!(
            (&run_cfg.d1_names, &run_cfg.vars),
            (&cfg.d1_names, &cfg.vars)
        );
        let mut names: Vec<String> = fs::read_dir(&run_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".dev.vars", "src", "wrangler.toml"]);
        assert_eq!(
            fs::read_to_string(run_dir.join(".dev.vars")).unwrap(),
            DEV_VARS
        );
        let config = fs::symlink_metadata(run_dir.join("wrangler.toml")).unwrap();
        assert!(config.is_file(), "the config is a copy, not a link");
        assert_eq!(
            fs::read_to_string(run_dir.join("wrangler.toml")).unwrap(),
            "name = \"w\"\n\n[vars]\nA = \"1\"\n",
            "the copy has no [build]: the harness built before (build_step)"
        );
        assert_eq!(
            fs::read_link(run_dir.join("src")).unwrap(),
            worker.join("src")
        );
        assert_eq!(
            fs::read_to_string(run_dir.join("src/index.js")).unwrap(),
            "// js\n"
        );
        fs::remove_dir_all(&worker).unwrap();
        fs::remove_dir_all(&run_dir).unwrap();
    }
}
