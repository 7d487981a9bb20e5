//! The manual is kept honest against the code, without a server:
//!
//! - every route of the route table (`connect_core::wire::routes::ROUTES`), with each of
//!   its methods, is a row of a table in `docs/api-guide.md`;
//! - every setting is in the one table of `docs/configuration.md`: each `[vars]` entry of
//!   `wrangler.toml` (top level and every `[env.*.vars]`), each binding (`binding` of its
//!   D1 databases and KV namespaces, `name` of its rate limiters), each cron, and each
//!   variable, secret or binding the Worker's code reads by name (`var("...")`,
//!   `secret("...")`, `kv("...")`, `rate_limiter("...")`, ...), so that a setting added to
//!   either without documentation fails here;
//! - every link of `README.md` and `docs/*.md` resolves to a file of the repository (and a
//!   `#anchor` to a heading of it), and none points outside the repository;
//! - the README stays at most 250 lines and gives the two commands.
//!
//! The last test feeds each check a page with something missing and expects it found.

use connect_core::wire::routes::{RouteSpec, ROUTES};
use connect_e2e::workspace_root;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

const API_GUIDE: &str = "docs/api-guide.md";
const CONFIGURATION: &str = "docs/configuration.md";

fn read(relative: &str) -> String {
    let path = workspace_root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of `markdown` outside fenced code blocks.
fn prose_lines(markdown: &str) -> Vec<&str> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
        } else if !fenced {
            lines.push(line);
        }
    }
    lines
}

/// The rows of the tables of `markdown`.
fn table_rows(markdown: &str) -> Vec<&str> {
    prose_lines(markdown)
        .into_iter()
        .filter(|l| l.trim_start().starts_with('|'))
        .collect()
}

/// The texts of the code spans of `text` (`` `a` `` gives `a`).
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// `line` with its code spans blanked out.
fn without_code_spans(line: &str) -> String {
    line.split('`').step_by(2).collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------------------------------
// Routes

/// `METHOD path` of every method of `routes` that no table row of `guide` names together
/// with its path, each as a code span.
fn missing_routes(guide: &str, routes: &[RouteSpec]) -> Vec<String> {
    let rows: Vec<Vec<&str>> = table_rows(guide).into_iter().map(code_spans).collect();
    let mut missing = Vec::new();
    for route in routes {
        for method in route.methods {
            let documented = rows
                .iter()
                .any(|spans| spans.contains(&route.path) && spans.contains(method));
            if !documented {
                missing.push(format!("{method} {}", route.path));
            }
        }
    }
    missing
}

#[test]
fn every_route_of_the_route_table_is_in_the_api_guide() {
    assert!(ROUTES.len() >= 15, "the route table lost its routes");
    let missing = missing_routes(&read(API_GUIDE), ROUTES);
    assert!(
        missing.is_empty(),
        "{API_GUIDE} has no table row naming these routes (`METHOD` and `path` as code spans): {missing:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// Settings

/// What a setting is, for the failure message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Setting {
    name: String,
    from: String,
}

/// The quoted strings of `text`.
fn quoted(text: &str) -> Vec<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// `line` without its comment (a `#` outside a quoted string).
fn without_comment(line: &str) -> &str {
    let mut in_string = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '#' if !in_string => return &line[..i],
            _ => {}
        }
    }
    line
}

/// The vars, bindings and crons `wrangler.toml` declares.
fn wrangler_settings(toml: &str) -> Vec<Setting> {
    let mut settings = Vec::new();
    let mut section = String::new();
    let mut array_of_tables = false;
    let mut in_crons = false;
    let mut add = |name: String, from: String| settings.push(Setting { name, from });
    for raw in toml.lines() {
        let line = without_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        if in_crons {
            for cron in quoted(line) {
                add(cron, "wrangler.toml crons".into());
            }
            in_crons = !line.contains(']');
            continue;
        }
        if let Some(inner) = line.strip_prefix("[[") {
            section = inner.trim_end_matches(']').trim().to_owned();
            array_of_tables = true;
            continue;
        }
        if let Some(inner) = line.strip_prefix('[') {
            section = inner.trim_end_matches(']').trim().to_owned();
            array_of_tables = false;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let from = format!("wrangler.toml [{section}] {key}");
        if key == "crons" {
            for cron in quoted(value) {
                add(cron, from.clone());
            }
            in_crons = value.contains('[') && !value.contains(']');
        } else if section == "vars" || section.ends_with(".vars") {
            add(key.to_owned(), from);
        } else if array_of_tables
            && (key == "binding" || (key == "name" && section.ends_with("ratelimits")))
        {
            for name in quoted(value) {
                add(name, from.clone());
            }
        }
    }
    settings
}

/// The calls through which the Worker reads a setting by name from its `Env`.
const READERS: &[&str] = &[
    "var",
    "secret",
    "object_var",
    "kv",
    "d1",
    "rate_limiter",
    "durable_object",
    "service",
    "bucket",
    "queue",
    "analytics_engine",
    "assets",
];

/// The names `source` reads through [`READERS`] with a literal (`env.var("SHARDS")`).
fn settings_read_in(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    for reader in READERS {
        let call = format!("{reader}(\"");
        let mut from = 0;
        while let Some(at) = source[from..].find(&call) {
            let start = from + at;
            from = start + call.len();
            let preceded_by_identifier = source[..start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            if preceded_by_identifier {
                continue;
            }
            let Some(len) = source[from..].find('"') else {
                continue;
            };
            let name = &source[from..from + len];
            let setting_like = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if setting_like {
                names.push(name.to_owned());
            }
        }
    }
    names
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every setting the Worker's code reads by name.
fn settings_in_code() -> Vec<Setting> {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("worker/src"), &mut files);
    files.sort();
    let mut settings = Vec::new();
    for file in files {
        let source = fs::read_to_string(&file).unwrap();
        let from = file.strip_prefix(&root).unwrap().display().to_string();
        for name in settings_read_in(&source) {
            settings.push(Setting {
                name,
                from: from.clone(),
            });
        }
    }
    settings
}

/// The names in the first column of the tables of `page`, each a code span.
fn table_names(page: &str) -> BTreeSet<String> {
    table_rows(page)
        .into_iter()
        .filter_map(|row| row.trim().trim_start_matches('|').split('|').next())
        .flat_map(code_spans)
        .map(|s| s.trim().to_owned())
        .collect()
}

/// The settings that `page`'s tables do not name in their first column.
fn missing_settings(page: &str, settings: &[Setting]) -> Vec<Setting> {
    let documented = table_names(page);
    let mut missing: Vec<Setting> = settings
        .iter()
        .filter(|s| !documented.contains(&s.name))
        .cloned()
        .collect();
    missing.sort();
    missing.dedup();
    missing
}

#[test]
fn every_variable_secret_binding_and_cron_is_in_the_configuration_table() {
    let declared = wrangler_settings(&read("wrangler.toml"));
    let read_by_code = settings_in_code();
    let names = |s: &[Setting]| s.iter().map(|s| s.name.clone()).collect::<BTreeSet<_>>();
    for expected in [
        "KEY_ENVIRONMENT",
        "SHARDS",
        "SHARD_1",
        "IDEMPOTENCY",
        "RATE_LIMITER",
    ] {
        assert!(
            names(&declared).contains(expected),
            "wrangler.toml's {expected} was not found: is the parser still right?"
        );
    }
    assert!(
        declared.iter().any(|s| s.name.contains('*')),
        "no cron found in wrangler.toml"
    );
    for expected in ["SECRETS_KEYS", "ADMIN_TOKEN", "SHARDS", "PAGE_CACHE"] {
        assert!(
            names(&read_by_code).contains(expected),
            "the Worker's reading of {expected} was not found: is the scan still right?"
        );
    }
    let all: Vec<Setting> = declared.into_iter().chain(read_by_code).collect();
    let missing = missing_settings(&read(CONFIGURATION), &all);
    assert!(
        missing.is_empty(),
        "{CONFIGURATION}'s table has no row naming these (as a code span in its first column): {missing:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// Links

/// The link targets of one line of prose (code spans already removed): inline links and
/// images `[text](target)`, reference definitions `[label]: target`, autolinks `<...:...>`,
/// and bare web addresses in the rest (which GitHub turns into links).
fn link_targets(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    // What is left once the links are taken out, for the bare addresses.
    let mut rest = String::new();
    let mut text = line;
    while let Some(at) = text.find("](") {
        rest.push_str(&text[..at]);
        let after = &text[at + 2..];
        let end = after.find(')').unwrap_or(after.len());
        let target = after[..end].split_whitespace().next().unwrap_or("");
        targets.push(target.trim_matches(['<', '>']).to_owned());
        text = &after[end..];
    }
    rest.push_str(text);
    let trimmed = rest.trim_start();
    if trimmed.starts_with('[') {
        if let Some((label, target)) = trimmed.split_once("]:") {
            if let Some(target) = target.split_whitespace().next() {
                targets.push(target.trim_matches(['<', '>']).to_owned());
                rest = label.to_owned();
            }
        }
    }
    let mut bare = String::new();
    let mut text = rest.as_str();
    while let Some(at) = text.find('<') {
        bare.push_str(&text[..at]);
        let after = &text[at + 1..];
        let end = after.find('>').unwrap_or(after.len());
        let inside = &after[..end];
        if inside.contains(':') && !inside.contains(char::is_whitespace) {
            targets.push(inside.to_owned());
        } else {
            bare.push_str(inside);
        }
        text = after.get(end + 1..).unwrap_or("");
    }
    bare.push_str(text);
    for word in bare.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
        let word = word.trim_end_matches(['.', ',', ';', ':', '!', '?', '*', '_']);
        let start = ["http://", "https://", "www."]
            .iter()
            .filter_map(|scheme| word.find(scheme))
            .min();
        if let Some(start) = start {
            targets.push(word[start..].to_owned());
        }
    }
    targets
}

/// `path` with its `.` and `..` steps resolved, as text (the file need not exist).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// GitHub's anchors of the headings of `markdown`: lower-cased, punctuation (code-span
/// backticks included) dropped, spaces as hyphens, a repeated one numbered.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for line in prose_lines(markdown) {
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        let text = heading.trim_start_matches('#');
        if !text.starts_with(' ') {
            continue;
        }
        let slug: String = text
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut unique = slug.clone();
        let mut n = 0;
        while seen.contains(&unique) {
            n += 1;
            unique = format!("{slug}-{n}");
        }
        seen.insert(unique);
    }
    seen
}

/// What is wrong with the links of `markdown`, the text of `file` in the repository at
/// `root`: a link outside the repository, to a file that does not exist, or to an anchor
/// its page does not have.
fn broken_links(root: &Path, file: &Path, markdown: &str) -> Vec<String> {
    let root = root.canonicalize().unwrap();
    let name = file
        .strip_prefix(&root)
        .unwrap_or(file)
        .display()
        .to_string();
    let mut problems = Vec::new();
    for line in prose_lines(markdown) {
        for target in link_targets(&without_code_spans(line)) {
            let scheme = target
                .split(['/', '#', '?'])
                .next()
                .is_some_and(|first| first.contains(':'));
            if scheme || target.starts_with("www.") || target.starts_with('/') {
                problems.push(format!("{name}: {target} points outside the repository"));
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let linked = if path.is_empty() {
                file.to_path_buf()
            } else {
                normalize(&file.parent().unwrap().join(path))
            };
            if !linked.starts_with(&root) {
                problems.push(format!("{name}: {target} points outside the repository"));
                continue;
            }
            let Ok(resolved) = linked.canonicalize() else {
                problems.push(format!("{name}: {target} does not exist"));
                continue;
            };
            if !resolved.starts_with(&root) {
                problems.push(format!("{name}: {target} points outside the repository"));
                continue;
            }
            if let Some(anchor) = anchor {
                let page = fs::read_to_string(&resolved).unwrap_or_default();
                if !anchors(&page).contains(anchor) {
                    problems.push(format!("{name}: {target} has no heading #{anchor}"));
                }
            }
        }
    }
    problems
}

/// README.md and every page of docs/.
fn manual_pages() -> Vec<PathBuf> {
    let root = workspace_root().canonicalize().unwrap();
    let mut pages = vec![root.join("README.md")];
    for entry in fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    pages.sort();
    pages
}

#[test]
fn every_link_of_the_manual_resolves_inside_the_repository() {
    let root = workspace_root();
    let pages = manual_pages();
    assert!(
        pages.len() >= 7,
        "README.md and the pages of docs/: {pages:?}"
    );
    let mut links = 0;
    let mut problems = Vec::new();
    for page in &pages {
        let text = fs::read_to_string(page).unwrap();
        links += prose_lines(&text)
            .iter()
            .map(|l| link_targets(&without_code_spans(l)).len())
            .sum::<usize>();
        problems.extend(broken_links(&root, page, &text));
    }
    assert!(
        links >= 20,
        "only {links} links found: is the scan still right?"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_readme_is_short_and_gives_the_two_commands() {
    let readme = read("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= 250,
        "README.md has {lines} lines: it is for users and operators, the rest belongs in docs/"
    );
    for command in ["./scripts/dev.sh", "./scripts/test.sh"] {
        assert!(
            readme.lines().any(|l| l.starts_with(command)),
            "README.md gives no line starting with {command}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The checks themselves

#[test]
fn each_check_finds_what_is_missing() {
    // A guide without the PATCH of an app, and with DELETE only in prose.
    let app = ROUTES
        .iter()
        .find(|r| r.path == "/connect/v1/apps/{clientId}")
        .unwrap();
    let guide = "| `GET`, `HEAD` | `/connect/v1/apps/{clientId}` | read |\n\
                 `DELETE` `/connect/v1/apps/{clientId}` deletes it.\n";
    assert_eq!(
        missing_routes(guide, std::slice::from_ref(app)),
        [
            "PATCH /connect/v1/apps/{clientId}",
            "DELETE /connect/v1/apps/{clientId}"
        ]
    );

    // wrangler.toml's settings, one of them left out of the table or only in prose.
    let toml = "name = \"w\"\n[triggers]\ncrons = [\"* * * * *\",\n  \"17 * * * *\"]\n\
                [vars]\nA = \"1\" # a comment\n[env.p.vars]\nB = \"2\"\n\
                [[env.p.d1_databases]]\nbinding = \"DB\"\ndatabase_name = \"x\"\n\
                [[ratelimits]]\nname = \"LIMIT\"\nsimple = { limit = 1, period = 10 }\n\
                [[kv_namespaces]]\nbinding = \"KV\"\n";
    let settings = wrangler_settings(toml);
    let names: Vec<&str> = settings.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["* * * * *", "17 * * * *", "A", "B", "DB", "LIMIT", "KV"]
    );
    let table =
        "| name | what |\n|---|---|\n| `A`, `B` | vars |\n| `DB` | `KV` in the second column |\n\
                 | `* * * * *` | a cron |\n\nThe `LIMIT` binding, in prose.\n";
    let missing: Vec<String> = missing_settings(table, &settings)
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(missing, ["17 * * * *", "KV", "LIMIT"]);

    // The code scan: a reader behind `env.` or alone, not another function's name.
    let code = "let a = env.var(\"NEW_VAR\"); let b = env.secret(\"NEW_SECRET\");\n\
                let c = var(\"BARE\"); env.kv(\"STORE\"); self.my_var(\"NOT_ONE\"); env.var(name);";
    assert_eq!(
        settings_read_in(code),
        ["NEW_VAR", "BARE", "NEW_SECRET", "STORE"]
    );

    // Links: outside the repository, missing, a missing anchor, a web address; a link in
    // a code span or a code block is not one.
    let root = workspace_root().canonicalize().unwrap();
    let readme = root.join("README.md");
    let page = "[contract](../shared/api-contract.md), [a page](docs/nope.md),\n\
                [config](docs/configuration.md#no-such-heading), [web](https://example.com),\n\
                see https://example.org/x, [guide](docs/api-guide.md), `[code](nope.md)`\n\
                ```\n[block](nope.md)\n```\n";
    let problems = broken_links(&root, &readme, page);
    assert_eq!(problems.len(), 5, "{problems:#?}");
    for (problem, expected) in problems.iter().zip([
        "../shared/api-contract.md points outside",
        "docs/nope.md does not exist",
        "has no heading #no-such-heading",
        "https://example.com points outside",
        "https://example.org/x points outside",
    ]) {
        assert!(problem.contains(expected), "{problem}");
    }
    assert!(
        anchors("# A `code` Title\n## Step 2: go\n## Step 2: go\n").is_superset(
            &["a-code-title", "step-2-go", "step-2-go-1"]
                .map(String::from)
                .into()
        )
    );
}
