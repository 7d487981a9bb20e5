//! A client that someone else generates from `openapi.json` is typed where it matters:
//! openapi-typescript (pinned in package.json) turns the pinned document into types, and
//! the TypeScript compiler, in strict mode, accepts a program that can only compile when a
//! batch result is a union of a success holding `app` and a failure holding `error`, and
//! when every response declares its `Server-Timing` header.

use connect_e2e::{run_command, workspace_root};
use std::process::Command;
use std::time::Duration;

/// Uses the generated types; each line fails to compile if the document loses the
/// typing it checks.
const PROGRAM: &str = r#"
import type { components, operations } from "./api";

type BatchResult = components["schemas"]["BatchResult"];
declare const result: BatchResult;

if ("app" in result) {
  const id: string = result.app.clientId;
  const secret: string = result.app.clientSecret;
  console.log(id, secret);
} else {
  const code: string = result.error.code;
  console.log(code);
}
// Without narrowing, a result may be either: reading `app` must not compile. (If the
// results were untyped, this line would compile and the directive would fail.)
// @ts-expect-error
console.log(result.app.clientId);
const reference: string | undefined = result.idempotencyKey;
console.log(reference);

type Created = operations["batchCreateApps"]["responses"][201];
declare const created: Created;
const results: BatchResult[] = created.content["application/json"].results;
const timing: string = created.headers["Server-Timing"];
const requestId: string = created.headers["X-Request-Id"];
console.log(results, timing, requestId);

type Refused = components["responses"]["BadRequest"];
declare const refused: Refused;
const refusedTiming: string = refused.headers["Server-Timing"];
console.log(refusedTiming);
"#;

#[test]
fn a_generated_typescript_client_types_batch_results_and_headers() {
    let root = workspace_root();
    let bin = root.join("node_modules/.bin");
    let dir = std::env::temp_dir().join(format!("connect-generated-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let types = dir.join("api.d.ts");

    let generated = run_command(
        Command::new(bin.join("openapi-typescript"))
            .arg(root.join("openapi.json"))
            .arg("--output")
            .arg(&types),
        Duration::from_secs(120),
    )
    .expect("run openapi-typescript (installed by scripts/setup.sh)");
    assert!(
        generated.status.is_some_and(|s| s.success()),
        "openapi-typescript: {}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let text = std::fs::read_to_string(&types).unwrap();
    assert!(
        text.contains("BatchResult:"),
        "a batch result is the union of two complete schemas:\n{}",
        text.lines()
            .filter(|l| l.contains("BatchResult"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    std::fs::write(dir.join("check.ts"), PROGRAM).unwrap();
    let compiled = run_command(
        Command::new(bin.join("tsc"))
            .args([
                "--noEmit",
                "--strict",
                "--target",
                "es2022",
                "--module",
                "es2022",
                "--moduleResolution",
                "bundler",
                "--lib",
                "es2022,dom",
            ])
            .arg(dir.join("check.ts")),
        Duration::from_secs(120),
    )
    .expect("run tsc");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        compiled.status.is_some_and(|s| s.success()),
        "tsc --strict refused the program:\n{}{}",
        String::from_utf8_lossy(&compiled.stdout),
        String::from_utf8_lossy(&compiled.stderr)
    );
}
