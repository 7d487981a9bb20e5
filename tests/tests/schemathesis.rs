//! Schemathesis against the real Worker (issue 5): every operation of `openapi.json`,
//! positive and negative data from a fixed seed, with every check that applies (the list
//! and why two are left out are in the script): the responses' conformance (server error,
//! status code, content type, headers, schema), `negative_data_rejection` (data the schema
//! forbids is refused with a 4xx), `ignored_auth` (no or a wrong credential is 401),
//! `use_after_free`, `ensure_resource_availability`, `missing_required_header` and
//! `unsupported_method`. Any failure fails this test.
//!
//! The run is `scripts/schemathesis.sh` (Python tooling pinned in
//! `tests/schemathesis/requirements.txt`). It serves its own Worker on `wrangler dev` (a
//! free port, fresh local D1 and KV in a temporary directory, the admin operations
//! included) without the rate-limiting binding, because a thousand cases at 10 requests a
//! second per key would spend minutes waiting; `hostile.rs` tests the limiter itself. The
//! script stops its `wrangler dev` process group on any exit.
//!
//! The script runs in a process group of its own with a time limit, 15 minutes by default
//! (`E2E_SCHEMATHESIS_TIMEOUT_SECS`); past it the whole group is stopped and the test
//! fails. Within the script, schemathesis itself has a time limit (`SCHEMATHESIS_TIMEOUT`).

use connect_e2e::{run_command, workspace_root, CommandOutput, Server};
use std::process::Command;
use std::time::Duration;

/// Time limit of one run of the script (the venv, the Worker build, its server and the
/// schemathesis run): `E2E_SCHEMATHESIS_TIMEOUT_SECS`, else 15 minutes.
fn script_time_limit() -> Duration {
    std::env::var("E2E_SCHEMATHESIS_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(15 * 60))
}

/// Runs `scripts/schemathesis.sh` with `env` (the `E2E_*` variables it reads are cleared
/// first) within [`script_time_limit`]; fails the test when it passes that limit.
fn run_script(env: &[(&str, &str)]) -> CommandOutput {
    let root = workspace_root();
    let mut cmd = Command::new("bash");
    cmd.arg(root.join("scripts/schemathesis.sh"))
        .current_dir(&root)
        .env_remove("E2E_BASE_URL")
        .env_remove("E2E_API_KEY")
        .env_remove("E2E_ADMIN_TOKEN")
        .env_remove("E2E_OPENAPI")
        .envs(env.iter().copied());
    let limit = script_time_limit();
    let out = run_command(&mut cmd, limit).expect("run scripts/schemathesis.sh");
    assert!(
        !out.timed_out(),
        "scripts/schemathesis.sh did not finish within {limit:?} (E2E_SCHEMATHESIS_TIMEOUT_SECS); its process group was stopped:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn schemathesis_finds_no_failure_on_any_operation() {
    // The script serves its own Worker only when it is not pointed at one.
    let out = run_script(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.success(),
        "schemathesis failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
    // A run that tested nothing would also exit 0: make sure every operation was reached.
    assert!(
        stdout.contains("No issues found"),
        "no summary in the output:\n{stdout}\n{stderr}"
    );
    let selected = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Tested: "))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no `Tested:` count in the output:\n{stdout}"));
    let operations: usize = connect_core::wire::routes::ROUTES
        .iter()
        .map(|r| r.methods.len())
        .sum();
    assert_eq!(
        selected, operations,
        "schemathesis tested every route of the Worker:\n{stdout}"
    );
}

#[test]
fn the_schemathesis_run_stops_at_its_time_limit() {
    // Against the shared server (no admin operations): a full run takes far longer than 2 s.
    let server = Server::shared();
    let tenant = server.tenant();
    let base_url = server.base_url();
    let out = run_script(&[
        ("E2E_BASE_URL", base_url.as_str()),
        ("E2E_API_KEY", tenant.key.as_str()),
        ("SCHEMATHESIS_TIMEOUT", "2"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.and_then(|s| s.code()), Some(124), "{out:?}");
    assert!(
        stderr.contains("did not finish within 2 s (SCHEMATHESIS_TIMEOUT)"),
        "{stderr}"
    );
}
