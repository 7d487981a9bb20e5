//! Schemathesis against the real Worker (issue 5): every operation of `openapi.json`,
//! positive and negative data from a fixed seed, with the server-error, status-code,
//! content-type, response-header and response-schema checks. Any failure fails this test.
//!
//! The run is `scripts/schemathesis.sh` (Python tooling pinned in
//! `tests/schemathesis/requirements.txt`). It serves its own Worker on `wrangler dev` (a
//! free port, fresh local D1 and KV in a temporary directory, the admin operations
//! included) without the rate-limiting binding, because a thousand cases at 10 requests a
//! second per key would spend minutes waiting; `hostile.rs` tests the limiter itself. The
//! script stops its `wrangler dev` process group on any exit.

use connect_e2e::workspace_root;
use std::process::Command;

#[test]
fn schemathesis_finds_no_failure_on_any_operation() {
    let root = workspace_root();
    let out = Command::new("bash")
        .arg(root.join("scripts/schemathesis.sh"))
        .current_dir(&root)
        // The script serves its own Worker only when it is not pointed at one.
        .env_remove("E2E_BASE_URL")
        .env_remove("E2E_API_KEY")
        .env_remove("E2E_ADMIN_TOKEN")
        .env_remove("E2E_OPENAPI")
        .output()
        .expect("run scripts/schemathesis.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis failed ({}):\n{stdout}\n{stderr}",
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
