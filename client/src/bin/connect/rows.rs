//! The input of `connect apps import`: a CSV with a header row or JSON Lines of batch
//! items, read into batch items by line number and judged by the server's rules before
//! anything is sent.

use connect_client::validate;
use connect_client::{BatchItem, CreateAppRequest, ErrorCode, WebhookConfigInput};
use connect_core::rules::error::FieldError;
use connect_core::rules::input::{parse_body, FromJson};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// The CSV columns, as the header names them. `name` is required; the others may be
/// left out of the header or left empty in a row.
pub const COLUMNS: [&str; 5] = [
    "name",
    "redirectUris",
    "idempotencyKey",
    "webhookUrl",
    "webhookEvents",
];

/// A row that judges well: its line in the file and the batch item it becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: u64,
    pub item: BatchItem,
}

/// A row refused before sending: where, which field, and the server's code and message.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    pub line: u64,
    /// The field as the server names it inside an item (`name`, `redirectUris[1]`,
    /// `webhookConfig.url`), or `row` for a row that cannot be read at all.
    pub field: String,
    pub code: ErrorCode,
    pub message: String,
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {}: {}: {}",
            self.line, self.field, self.code, self.message
        )
    }
}

/// The whole file, judged.
#[derive(Debug, Default)]
pub struct Input {
    /// Good rows, in file order.
    pub rows: Vec<Row>,
    /// Refused rows, in file order.
    pub bad: Vec<BadRow>,
}

/// A file that cannot be imported at all (exit 2): unreadable, or a bad header.
#[derive(Debug)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The two formats an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// By extension (`.csv`; `.jsonl`, `.ndjson`), else by the first character: `{`
    /// starts JSON Lines.
    pub fn of(path: &Path, bytes: &[u8]) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => Self::Csv,
            Some(e) if e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson") => {
                Self::JsonLines
            }
            _ => match without_bom(bytes).iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{') => Self::JsonLines,
                _ => Self::Csv,
            },
        }
    }
}

fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Reads and judges the file's bytes.
pub fn read(format: Format, bytes: &[u8]) -> Result<Input, InputError> {
    let mut input = match format {
        Format::Csv => read_csv(without_bom(bytes))?,
        Format::JsonLines => read_json_lines(without_bom(bytes))?,
    };
    refuse_repeated_keys(&mut input);
    Ok(input)
}

fn read_csv(bytes: &[u8]) -> Result<Input, InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| InputError(format!("line 1: the header cannot be read: {e}")))?
        .clone();
    let mut column_of = HashMap::new();
    for (at, name) in header.iter().enumerate() {
        if !COLUMNS.contains(&name) {
            return Err(InputError(format!(
                "line 1: column {name:?} is not known (expected {})",
                COLUMNS.join(", ")
            )));
        }
        if column_of.insert(name, at).is_some() {
            return Err(InputError(format!(
                "line 1: column {name:?} appears twice in the header"
            )));
        }
    }
    if !column_of.contains_key("name") {
        return Err(InputError(
            "line 1: the header has no \"name\" column".to_owned(),
        ));
    }
    let mut input = Input::default();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(bytes, p));
                input.bad.push(BadRow {
                    line,
                    field: "row".into(),
                    code: ErrorCode::ValidationInvalidParameter,
                    message: format!("row cannot be read: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_at(bytes, p));
        if record.len() > header.len() {
            input.bad.push(BadRow {
                line,
                field: "row".into(),
                code: ErrorCode::ValidationInvalidParameter,
                message: format!(
                    "row has {} fields; the header has {}",
                    record.len(),
                    header.len()
                ),
            });
            continue;
        }
        let cell = |name: &str| {
            column_of
                .get(name)
                .and_then(|&at| record.get(at))
                .filter(|v| !v.is_empty())
        };
        let words =
            |name: &str| cell(name).map(|v| v.split_whitespace().map(str::to_owned).collect());
        let webhook_config = cell("webhookUrl").map(|url| WebhookConfigInput {
            url: Some(Some(url.to_owned())),
            enabled: Some(true),
            events: words("webhookEvents"),
            ..WebhookConfigInput::default()
        });
        let item = BatchItem {
            app: CreateAppRequest {
                name: cell("name").unwrap_or_default().to_owned(),
                logo: None,
                redirect_uris: words("redirectUris"),
                webhook_config,
            },
            idempotency_key: cell("idempotencyKey").map(str::to_owned),
        };
        judge(&mut input, line, item);
    }
    Ok(input)
}

/// The line a record starts on, counted from its byte offset: the csv crate's own line
/// count is one short per record after a CRLF line end (its offset then points at the
/// `\n` of the previous line's end, which is skipped here, as are blank lines).
fn line_at(bytes: &[u8], position: &csv::Position) -> u64 {
    let mut at = (position.byte() as usize).min(bytes.len());
    while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
        at += 1;
    }
    1 + bytes[..at].iter().filter(|b| **b == b'\n').count() as u64
}

fn read_json_lines(bytes: &[u8]) -> Result<Input, InputError> {
    let mut input = Input::default();
    for (at, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = at as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let read = parse_body(raw).and_then(|value| BatchItem::from_json(&value, ""));
        match read {
            Ok(item) => judge(&mut input, line, item),
            Err(e) => input.bad.push(bad_row(line, &e)),
        }
    }
    Ok(input)
}

/// Judges one item as the server judges the first item of a batch, and names the field
/// inside the item (`items[0].name` becomes `name`).
fn judge(input: &mut Input, line: u64, item: BatchItem) {
    match validate::batch_item(&item, 0) {
        Ok(()) => input.rows.push(Row { line, item }),
        Err(e) => input.bad.push(bad_row(line, &e)),
    }
}

fn bad_row(line: u64, e: &FieldError) -> BadRow {
    let inside = |s: &str| s.strip_prefix("items[0].").unwrap_or(s).to_owned();
    BadRow {
        line,
        field: inside(&e.parameter),
        code: e.code(),
        message: inside(&e.message),
    }
}

/// A per-item `idempotencyKey` is the caller's reference for a customer: two rows with
/// the same one are almost surely the same customer twice, so the later row is refused.
fn refuse_repeated_keys(input: &mut Input) {
    let mut first_line = HashMap::new();
    let mut kept = Vec::with_capacity(input.rows.len());
    for row in std::mem::take(&mut input.rows) {
        if let Some(key) = &row.item.idempotency_key {
            if let Some(first) = first_line.get(key) {
                input.bad.push(BadRow {
                    line: row.line,
                    field: "idempotencyKey".into(),
                    code: ErrorCode::ValidationInvalidParameter,
                    message: format!("idempotencyKey repeats the one on line {first}"),
                });
                continue;
            }
            first_line.insert(key.clone(), row.line);
        }
        kept.push(row);
    }
    input.rows = kept;
    input.bad.sort_by_key(|b| b.line);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Input {
        read(Format::Csv, text.as_bytes()).expect("readable")
    }

    fn bad(input: &Input) -> Vec<(u64, &str)> {
        input
            .bad
            .iter()
            .map(|b| (b.line, b.field.as_str()))
            .collect()
    }

    #[test]
    fn bad_rows_are_named_by_line_and_field_as_the_server_names_them() {
        let long = "x".repeat(101);
        let text = format!(
            "\u{FEFF}name,redirectUris,idempotencyKey\r\n\
             Acme,https://acme.example.com/cb,c-1\r\n\
             Evil,javascript:alert(1),c-2\r\n\
             ,https://empty.example.com/cb,c-3\r\n\
             {long},https://long.example.com/cb,c-4\r\n\
             Extra,https://x.example.com/cb,c-5,surplus\r\n\
             \"Quoted, Inc.\",\"https://q.example.com/a https://q.example.com/b\",c-6\r\n\
             Ünïcödé 株式会社,https://u.example.com/cb,c-7\r\n\
             Again,https://again.example.com/cb,c-1\r\n"
        );
        let lf = csv(&text.replace("\r\n", "\n"));
        let input = csv(&text);
        assert_eq!(
            bad(&lf),
            bad(&input),
            "the same lines whatever the line ends"
        );
        assert_eq!(
            bad(&input),
            vec![
                (3, "redirectUris[0]"),
                (4, "name"),
                (5, "name"),
                (6, "row"),
                (9, "idempotencyKey")
            ]
        );
        let javascript = &input.bad[0];
        assert_eq!(javascript.code, ErrorCode::ValidationInvalidParameter);
        assert!(
            javascript.message.starts_with("redirectUris[0] "),
            "{javascript}"
        );
        let good: Vec<_> = input
            .rows
            .iter()
            .map(|r| (r.line, r.item.app.name.as_str()))
            .collect();
        assert_eq!(
            good,
            vec![(2, "Acme"), (7, "Quoted, Inc."), (8, "Ünïcödé 株式会社")]
        );
        assert_eq!(
            input.rows[1].item.app.redirect_uris.as_deref(),
            Some(
                &[
                    "https://q.example.com/a".to_owned(),
                    "https://q.example.com/b".to_owned()
                ][..]
            )
        );
    }

    #[test]
    fn a_header_that_cannot_be_right_stops_the_import() {
        for (text, says) in [
            ("name,name\nA,B\n", "appears twice"),
            ("name,colour\nA,red\n", "not known"),
            ("redirectUris\nhttps://a.example.com\n", "no \"name\""),
        ] {
            let e = read(Format::Csv, text.as_bytes()).unwrap_err();
            assert!(e.0.starts_with("line 1: ") && e.0.contains(says), "{e}");
        }
    }

    #[test]
    fn webhook_columns_make_an_enabled_webhook() {
        let input = csv("name,webhookUrl,webhookEvents\nA,https://h.example.com/in,verification.created verification.failed\nB,,\n");
        assert!(input.bad.is_empty(), "{:?}", input.bad);
        let hook = input.rows[0].item.app.webhook_config.as_ref().unwrap();
        assert_eq!(hook.enabled, Some(true));
        assert_eq!(hook.events.as_ref().map(Vec::len), Some(2));
        assert_eq!(input.rows[1].item.app.webhook_config, None);
        assert_eq!(input.rows[1].item.app.redirect_uris, None);
    }

    #[test]
    fn json_lines_are_items_judged_by_the_server_reader() {
        let text = "{\"name\":\"A\",\"idempotencyKey\":\"k1\"}\r\n\n\
                    {\"name\":\"B\",\"name\":\"C\"}\n\
                    {\"name\":\"D\",\"colour\":\"red\"}\n\
                    not json\n\
                    {\"name\":\"E\",\"redirectUris\":[\"https://e.example.com/cb#x\"]}\n";
        let input = read(Format::JsonLines, text.as_bytes()).unwrap();
        assert_eq!(
            bad(&input),
            vec![
                (3, "name"),
                (4, "colour"),
                (5, "body"),
                (6, "redirectUris[0]")
            ]
        );
        assert_eq!(input.rows.len(), 1);
        assert_eq!(input.rows[0].line, 1);
    }

    #[test]
    fn the_format_follows_the_extension_then_the_first_character() {
        assert_eq!(Format::of(Path::new("a.csv"), b"{"), Format::Csv);
        assert_eq!(Format::of(Path::new("a.JSONL"), b"name"), Format::JsonLines);
        assert_eq!(
            Format::of(Path::new("a.txt"), b"\xEF\xBB\xBF {\"name\":1}"),
            Format::JsonLines
        );
        assert_eq!(Format::of(Path::new("a"), b"name\n"), Format::Csv);
    }
}
