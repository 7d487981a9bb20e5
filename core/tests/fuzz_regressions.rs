//! Inputs from fuzzing (`fuzz/`, run with `./scripts/fuzz.sh`), replayed under plain
//! `cargo test` on stable, without cargo-fuzz or libFuzzer.
//!
//! Every input goes through exactly the checks the fuzz targets run: this file includes
//! `fuzz/src/lib.rs`, where each target's invariants live, so a crash found by a target
//! replays here through the same code.
//!
//! - `seeds_of_*`: the committed seed inputs of each target (`fuzz/seeds/<target>/`).
//! - the other tests: crashing inputs the fuzzer found, minimised, each with the broken
//!   invariant also stated directly. A finding that core does not fix yet is `#[ignore]`d
//!   with the reason, and the `#[ignore]` dropped with the fix.

#[path = "../../fuzz/src/lib.rs"]
mod checks;

use connect_core::rules::batch;
use connect_core::rules::idempotency::canonical_json;
use connect_core::rules::input::{parse_body, FromJson};
use connect_core::wire::request::{CreateAppRequest, UpdateAppRequest};
use std::path::PathBuf;

/// Replays every seed of `target` through its checks.
fn replay_seeds(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    for seed in seeds {
        let bytes = std::fs::read(&seed).unwrap_or_else(|e| panic!("{}: {e}", seed.display()));
        eprintln!("replaying {}", seed.display());
        check(&bytes);
    }
}

#[test]
fn seeds_of_batch() {
    replay_seeds("batch", checks::batch);
}

#[test]
fn seeds_of_app() {
    replay_seeds("app", checks::app);
}

#[test]
fn seeds_of_patch() {
    replay_seeds("patch", checks::patch);
}

#[test]
fn seeds_of_redirect_uri() {
    replay_seeds("redirect_uri", checks::redirect_uri);
}

#[test]
fn seeds_of_idempotency_key() {
    replay_seeds("idempotency_key", checks::idempotency_key);
}

#[test]
fn seeds_of_json() {
    replay_seeds("json", checks::json);
    // Every body seed of the other targets is a case of the JSON reader too.
    for target in ["batch", "app", "patch"] {
        replay_seeds(target, checks::json);
    }
}

/// The count `json` checks against sees what the reader refuses: a repeated member is two
/// members of the text and one of serde_json's value, however its name is escaped.
#[test]
fn the_json_check_counts_repeated_members() {
    let text = br#"{"items":[{"name":"A","n\u0061me":"B"}],"x":[]}"#;
    let last_wins: serde_json::Value = serde_json::from_slice(text).expect("valid JSON");
    assert_eq!(checks::members_in_text(text), Some(4));
    assert_eq!(checks::members_in_value(&last_wins), 3);
    assert!(parse_body(text).is_err());
    checks::json(text);
}

/// Found by `json` in 15 seconds (its input is the seed `json/long-path-repeat`): a member
/// repeated deep inside objects whose names are long runs of escaped characters. The
/// refusal named it by its whole path, thousands of bytes long (a name shows up to 64
/// characters, each up to 12 bytes escaped, and objects nest up to 127 deep). Fixed: a
/// path over 1,024 bytes keeps its first and last steps, `…` for the rest.
#[test]
fn a_repeated_member_deep_under_long_names_is_named_briefly() {
    let name = "\\u200b".repeat(64);
    let mut text = String::new();
    for _ in 0..30 {
        text.push_str(&format!("{{\"{name}\":"));
    }
    text.push_str(r#"{"url":1,"url":2}"#);
    text.push_str(&"}".repeat(30));
    let e = parse_body(text.as_bytes()).expect_err("a repeated member");
    assert!(e.parameter.len() <= 1024, "{} bytes", e.parameter.len());
    assert!(e.parameter.ends_with(".url"), "{}", e.parameter);
    checks::json(text.as_bytes());
}

#[test]
fn seeds_of_pagination() {
    replay_seeds("pagination", checks::pagination);
}

/// Found by `batch`, `app` and `patch` within seconds: a body with a field whose name is
/// the empty string. `Object::only` refuses it as unknown, naming the path of the field,
/// and a field named `""` at the top of a body displays as `""`: the 400 has
/// `details.parameter: ""` and the message `" is not a known field (...)"`, naming nothing.
/// (Nested, the same field displayed as `items[0].`.) Fixed: the empty name shows as `""`.
#[test]
fn an_unknown_empty_field_name_is_named() {
    let input = br#"{"":0}"#;
    let body = parse_body(input).expect("valid JSON");
    let refusals = [
        batch::plan(&body).expect_err("an unknown field"),
        CreateAppRequest::from_json(&body, "").expect_err("an unknown field"),
        UpdateAppRequest::from_json(&body, "").expect_err("an unknown field"),
    ];
    for e in refusals {
        assert!(
            !e.parameter.is_empty(),
            "the refusal names a parameter: {e:?}"
        );
    }
    checks::batch(input);
    checks::app(input);
    checks::patch(input);
}

/// Found by `idempotency_key` in under a second: a number that serde_json parses as a
/// float (here an integer past `u64::MAX`) whose canonical JSON re-parses to another
/// float, one unit in the last place away. serde_json's default float parser is not
/// correctly rounded (its `float_roundtrip` feature is), so `96222222222222222222` parses
/// to 0x4414dd6805373903 (the nearest double is ...904), prints as the shortest text for
/// that double, `9.622222222222221e+19`, and that text parses to ...902. So canonical
/// JSON is not stable under re-canonicalisation, and a retry whose client reformats a
/// number (keeping its value) can get another fingerprint. Fixed: the workspace enables
/// serde_json's `float_roundtrip`.
#[test]
fn canonical_json_of_a_float_re_parses_to_it() {
    for input in [&b"96222222222222222222"[..], b"2.222222e+33"] {
        let value = parse_body(input).expect("valid JSON");
        let canonical = canonical_json(&value);
        let back = parse_body(canonical.as_bytes()).expect("canonical JSON is JSON");
        assert_eq!(back, value, "{canonical}");
        assert_eq!(canonical_json(&back), canonical);
        checks::idempotency_key(input);
    }
}
