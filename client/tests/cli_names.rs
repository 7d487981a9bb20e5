//! `connect apps import` judges names offline by the server's own rule (issue 30): a pile
//! of combining marks, or a mark with no character before it, is reported by line, field
//! and position before any request is made; a name spelled decomposed is a good row.

mod support;

use support::{connect_to, describe, run, Double};

#[test]
fn piled_combining_marks_are_refused_by_line_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("marks.csv");
    let flood = format!("Z{}", "\u{301}".repeat(99));
    let four = "x\u{363}\u{363}\u{363}\u{363}";
    std::fs::write(
        &file,
        format!(
            "name,redirectUris\n\
             Cafe\u{301},https://a.example.com:0443/cb\n\
             {flood},https://z.example.com/cb\n\
             \u{301}Acme,https://m.example.com/cb\n\
             {four},https://x.example.com/cb\n"
        ),
    )
    .unwrap();
    // A server that records every request: none may reach it.
    let double = Double::start(vec![]);
    let out = run(connect_to(&double.base_url, "sk_workspace_test_unused")
        .args(["apps", "import"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = |n: usize| {
        stderr
            .lines()
            .find(|l| l.contains(&format!(": line {n} (")))
            .unwrap_or_default()
    };
    assert!(
        line(3).ends_with(
            "): name: VALIDATION_INVALID_PARAMETER: name must not have more than 4 combining \
             marks on one character (98 on character 1, U+0179)"
        ),
        "line 3 in\n{stderr}"
    );
    assert!(
        line(4).ends_with(
            "): name: VALIDATION_INVALID_PARAMETER: name must not start with a combining mark \
             (U+0301)"
        ),
        "line 4 in\n{stderr}"
    );
    assert!(
        stderr.contains("2 row(s) would not be created; nothing was sent"),
        "{stderr}"
    );
    for good in [": line 2 (", ": line 5 ("] {
        assert!(!stderr.contains(good), "{good} is a good row:\n{stderr}");
    }
    assert!(double.seen().is_empty(), "{:?}", double.seen());
    assert!(!dir.path().join("marks.results.jsonl").exists());
}
