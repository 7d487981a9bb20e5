//! The input of `connect apps import`: a CSV with a header row or JSON Lines of batch
//! items, read into batch items by line number, each with its identity (see
//! [`crate::identity`]) and its verdict under the server's own rules (`connect-core`),
//! before anything is sent.

use crate::identity::{Content, RowId};
use connect_client::validate;
use connect_client::{BatchItem, CreateAppRequest, ErrorCode, WebhookConfigInput};
use connect_core::rules::input::{parse_body, FromJson, MAX_BODY_BYTES};
use connect_core::wire::error::FieldError;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// The CSV columns. `name` is required; the others may be left out of the header or left
/// empty in a row. The header names them in any case (`Name`, `REDIRECTURIS`).
pub const COLUMNS: [&str; 5] = [
    "name",
    "redirectUris",
    "idempotencyKey",
    "webhookUrl",
    "webhookEvents",
];

/// The largest item that fits in a request of its own: the API reads at most 1 MiB, and
/// the envelope (`{"items":[...],"continueOnError":false}`) takes the rest.
pub const MAX_ITEM_BYTES: usize = MAX_BODY_BYTES - 64;

/// A row that reads as a batch item.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Its line in the file.
    pub line: u64,
    pub id: RowId,
    pub content: Content,
    pub item: BatchItem,
    /// Why the server will refuse it, by its own rules; `None` for a good row.
    pub fault: Option<Fault>,
}

/// A row that cannot be sent at all: unreadable, too large for a request, or a repeat of
/// an earlier row.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsendable {
    pub line: u64,
    /// Its identity where it has a readable `idempotencyKey` of its own (not a repeat): a
    /// row already created is not refused for being unreadable now.
    pub id: Option<RowId>,
    pub name: String,
    pub idempotency_key: Option<String>,
    pub fault: Fault,
}

/// Why a row is refused: the field as the server names it inside an item (`name`,
/// `redirectUris[1]`, `webhookConfig.url`), or `row` for a row that cannot be read; the
/// server's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub field: String,
    pub code: ErrorCode,
    pub message: String,
}

impl Fault {
    fn row(message: impl Into<String>) -> Self {
        Self {
            field: "row".into(),
            code: ErrorCode::ValidationInvalidParameter,
            message: message.into(),
        }
    }

    fn of(e: &FieldError) -> Self {
        let inside = |s: &str| s.strip_prefix("items[0].").unwrap_or(s).to_owned();
        Self {
            field: inside(&e.parameter),
            code: e.code(),
            message: inside(&e.message),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.field, self.code, self.message)
    }
}

/// How a row is named to people: `line 3 (customer-2, "Evil")`.
pub fn who(line: u64, idempotency_key: Option<&str>, name: &str) -> String {
    match idempotency_key {
        Some(key) => format!("line {line} ({key}, {name:?})"),
        None => format!("line {line} ({name:?})"),
    }
}

impl Row {
    pub fn who(&self) -> String {
        who(
            self.line,
            self.item.idempotency_key.as_deref(),
            &self.item.app.name,
        )
    }
}

impl Unsendable {
    pub fn who(&self) -> String {
        who(self.line, self.idempotency_key.as_deref(), &self.name)
    }
}

/// The whole file, read.
#[derive(Debug, Default)]
pub struct Input {
    /// Rows that read as items, in file order.
    pub rows: Vec<Row>,
    /// Rows that cannot be sent, in file order.
    pub unsendable: Vec<Unsendable>,
    /// Header names of columns the CLI does not know, left out (`--ignore-extra-columns`).
    pub ignored_columns: Vec<String>,
}

/// A file that cannot be imported at all (exit 2): unreadable, or a bad header.
#[derive(Debug)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How to read the file.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// Leave out CSV columns the CLI does not know, rather than refusing the file.
    pub ignore_extra_columns: bool,
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
pub fn read(format: Format, bytes: &[u8], options: ReadOptions) -> Result<Input, InputError> {
    let mut input = match format {
        Format::Csv => read_csv(without_bom(bytes), options)?,
        Format::JsonLines => read_json_lines(without_bom(bytes)),
    };
    refuse_repeats(&mut input);
    Ok(input)
}

/// The header: which field holds each known column.
fn columns(
    header: &csv::StringRecord,
    options: ReadOptions,
) -> Result<(HashMap<&'static str, usize>, Vec<String>), InputError> {
    let mut column_of: HashMap<&'static str, usize> = HashMap::new();
    let mut unknown = Vec::new();
    for (at, raw) in header.iter().enumerate() {
        let Some(&known) = COLUMNS.iter().find(|c| c.eq_ignore_ascii_case(raw.trim())) else {
            unknown.push(raw.to_owned());
            continue;
        };
        if let Some(first) = column_of.insert(known, at) {
            return Err(InputError(format!(
                "line 1: columns {} and {} are both {known:?} (names are matched without regard to case)",
                first + 1,
                at + 1
            )));
        }
    }
    if !unknown.is_empty() && !options.ignore_extra_columns {
        let names: Vec<String> = unknown.iter().map(|n| format!("{n:?}")).collect();
        return Err(InputError(format!(
            "line 1: unknown column(s) {}: the columns are {}; pass --ignore-extra-columns to import without them",
            names.join(", "),
            COLUMNS.join(", ")
        )));
    }
    if !column_of.contains_key("name") {
        return Err(InputError(
            "line 1: the header has no \"name\" column".to_owned(),
        ));
    }
    Ok((column_of, unknown))
}

fn read_csv(bytes: &[u8], options: ReadOptions) -> Result<Input, InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| InputError(format!("line 1: the header cannot be read: {e}")))?
        .clone();
    let (column_of, ignored_columns) = columns(&header, options)?;
    let mut input = Input {
        ignored_columns,
        ..Input::default()
    };
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(bytes, p));
                input.unsendable.push(Unsendable {
                    line,
                    id: None,
                    name: String::new(),
                    idempotency_key: None,
                    fault: Fault::row(format!("row cannot be read: {e}")),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_at(bytes, p));
        let cell = |name: &str| {
            column_of
                .get(name)
                .and_then(|&at| record.get(at))
                .filter(|v| !v.is_empty())
        };
        if record.len() > header.len() {
            let key = cell("idempotencyKey").map(str::to_owned);
            input.unsendable.push(Unsendable {
                line,
                id: key.as_deref().map(RowId::of_key),
                name: cell("name").unwrap_or_default().to_owned(),
                idempotency_key: key,
                fault: Fault::row(format!(
                    "row has {} fields; the header has {}",
                    record.len(),
                    header.len()
                )),
            });
            continue;
        }
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

fn read_json_lines(bytes: &[u8]) -> Input {
    let mut input = Input::default();
    for (at, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = at as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value = parse_body(raw);
        match value
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|v| BatchItem::from_json(v, ""))
        {
            Ok(item) => judge(&mut input, line, item),
            Err(e) => {
                let text = |field: &str| {
                    value
                        .as_ref()
                        .ok()
                        .and_then(|v| v.get(field))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                let key = text("idempotencyKey");
                input.unsendable.push(Unsendable {
                    line,
                    id: key.as_deref().map(RowId::of_key),
                    name: text("name").unwrap_or_default(),
                    idempotency_key: key,
                    fault: Fault::of(&e),
                })
            }
        }
    }
    input
}

/// Judges one item as the server judges the first item of a batch, and names the field
/// inside the item (`items[0].name` becomes `name`). An item too large for a request of
/// its own cannot be sent at all.
fn judge(input: &mut Input, line: u64, item: BatchItem) {
    let content = Content::of_item(&item);
    let id = RowId::of(item.idempotency_key.as_deref(), &content);
    let size = serde_json::to_vec(&item).map_or(usize::MAX, |b| b.len());
    if size > MAX_ITEM_BYTES {
        input.unsendable.push(Unsendable {
            line,
            id: item.idempotency_key.as_ref().map(|_| id),
            name: item.app.name.clone(),
            idempotency_key: item.idempotency_key.clone(),
            fault: Fault {
                field: "row".into(),
                code: ErrorCode::RequestTooLarge,
                message: format!(
                    "row is {size} bytes as JSON; a request holds at most {MAX_BODY_BYTES}"
                ),
            },
        });
        return;
    }
    let fault = validate::batch_item(&item, 0).err().map(|e| Fault::of(&e));
    input.rows.push(Row {
        line,
        id,
        content,
        item,
        fault,
    });
}

/// Two rows with one identity are one customer twice: the same `idempotencyKey` (the
/// caller's reference for a customer), or the same content without one. The later row is
/// refused.
fn refuse_repeats(input: &mut Input) {
    let mut first_line: HashMap<RowId, u64> = HashMap::new();
    let ids = input.rows.iter().map(|r| (&r.id, r.line)).chain(
        input
            .unsendable
            .iter()
            .filter_map(|u| u.id.as_ref().map(|id| (id, u.line))),
    );
    for (id, line) in ids {
        let first = first_line.entry(id.clone()).or_insert(line);
        *first = (*first).min(line);
    }
    for unsendable in &mut input.unsendable {
        if unsendable
            .id
            .as_ref()
            .is_some_and(|id| first_line[id] < unsendable.line)
        {
            unsendable.id = None;
        }
    }
    let mut kept = Vec::with_capacity(input.rows.len());
    for row in std::mem::take(&mut input.rows) {
        let first = first_line[&row.id];
        if first == row.line {
            kept.push(row);
            continue;
        }
        let (field, message) = match &row.item.idempotency_key {
            Some(_) => (
                "idempotencyKey",
                format!("idempotencyKey repeats the one on line {first}"),
            ),
            None => (
                "row",
                format!(
                    "row repeats line {first} (the same content and no idempotencyKey): \
                     give each customer its own idempotencyKey to import both"
                ),
            ),
        };
        input.unsendable.push(Unsendable {
            line: row.line,
            id: None,
            name: row.item.app.name,
            idempotency_key: row.item.idempotency_key,
            fault: Fault {
                field: field.into(),
                code: ErrorCode::ValidationInvalidParameter,
                message,
            },
        });
    }
    input.rows = kept;
    input.unsendable.sort_by_key(|u| u.line);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Input {
        read(Format::Csv, text.as_bytes(), ReadOptions::default()).expect("readable")
    }

    /// Every row that will not become an app, by line and field: refused by the rules
    /// (sent only with --continue-on-error) or not sendable at all.
    fn bad(input: &Input) -> Vec<(u64, &str)> {
        let mut all: Vec<(u64, &str)> = input
            .rows
            .iter()
            .filter_map(|r| Some((r.line, r.fault.as_ref()?.field.as_str())))
            .chain(
                input
                    .unsendable
                    .iter()
                    .map(|u| (u.line, u.fault.field.as_str())),
            )
            .collect();
        all.sort();
        all
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
        let javascript = input.rows.iter().find(|r| r.line == 3).unwrap();
        let fault = javascript.fault.as_ref().unwrap();
        assert_eq!(fault.code, ErrorCode::ValidationInvalidParameter);
        assert!(fault.message.starts_with("redirectUris[0] "), "{fault}");
        let good: Vec<_> = input
            .rows
            .iter()
            .filter(|r| r.fault.is_none())
            .map(|r| (r.line, r.item.app.name.as_str()))
            .collect();
        assert_eq!(
            good,
            vec![(2, "Acme"), (7, "Quoted, Inc."), (8, "Ünïcödé 株式会社")]
        );
        assert_eq!(
            input.rows[4].item.app.redirect_uris.as_deref(),
            Some(
                &[
                    "https://q.example.com/a".to_owned(),
                    "https://q.example.com/b".to_owned()
                ][..]
            )
        );
        // The surplus row keeps its key's identity; the repeat of c-1 has none of its own.
        let extra = input.unsendable.iter().find(|u| u.line == 6).unwrap();
        assert_eq!(extra.id, Some(RowId::of_key("c-5")));
        assert_eq!(extra.name, "Extra");
        let again = input.unsendable.iter().find(|u| u.line == 9).unwrap();
        assert_eq!(again.id, None);
        assert!(again.fault.message.contains("line 2"), "{}", again.fault);
    }

    #[test]
    fn a_header_that_cannot_be_right_stops_the_import() {
        for (text, says) in [
            ("name,NAME\nA,B\n", "columns 1 and 2 are both \"name\""),
            (
                "name,colour,Plan\nA,red,gold\n",
                "unknown column(s) \"colour\", \"Plan\"",
            ),
            ("redirectUris\nhttps://a.example.com\n", "no \"name\""),
        ] {
            let e = read(Format::Csv, text.as_bytes(), ReadOptions::default()).unwrap_err();
            assert!(e.0.starts_with("line 1: ") && e.0.contains(says), "{e}");
        }
        let e = read(Format::Csv, b"name,colour\nA,red\n", ReadOptions::default()).unwrap_err();
        assert!(e.0.contains("--ignore-extra-columns"), "{e}");
    }

    #[test]
    fn headers_are_matched_in_any_case_and_extra_columns_left_out_when_asked() {
        let text = "Customer No, Name ,REDIRECTURIS,IdempotencyKey,notes\n\
                    17,Acme,https://a.example.com/cb,c-17,gold plan\n";
        let ignore = ReadOptions {
            ignore_extra_columns: true,
        };
        let input = read(Format::Csv, text.as_bytes(), ignore).unwrap();
        assert_eq!(input.ignored_columns, ["Customer No", "notes"]);
        assert!(input.unsendable.is_empty(), "{:?}", input.unsendable);
        let row = &input.rows[0];
        assert_eq!(row.item.app.name, "Acme");
        assert_eq!(row.item.idempotency_key.as_deref(), Some("c-17"));
        assert_eq!(
            row.item.app.redirect_uris.as_deref(),
            Some(&["https://a.example.com/cb".to_owned()][..])
        );
        assert_eq!(row.fault, None);
    }

    #[test]
    fn rows_without_a_key_are_known_by_content_and_a_repeat_is_refused() {
        let input = csv("name,redirectUris\nAcme,https://a.example.com/cb\nBeta,\nAcme,https://a.example.com/cb\n");
        assert_eq!(input.rows.len(), 2);
        assert_eq!(
            input.rows[0].id,
            RowId::of(None, &Content::of_item(&input.rows[0].item))
        );
        assert_ne!(input.rows[0].id, input.rows[1].id);
        assert_eq!(input.unsendable.len(), 1);
        let repeat = &input.unsendable[0];
        assert_eq!((repeat.line, repeat.fault.field.as_str()), (4, "row"));
        assert!(
            repeat.fault.message.contains("repeats line 2"),
            "{}",
            repeat.fault
        );
    }

    #[test]
    fn a_row_too_large_for_a_request_cannot_be_sent() {
        let uris: Vec<String> = (0..600)
            .map(|i| format!("https://{i}.example.com/{}", "p".repeat(2000)))
            .collect();
        let text = format!(
            "name,redirectUris,idempotencyKey\nHuge,{},c-1\n",
            uris.join(" ")
        );
        let input = csv(&text);
        assert!(input.rows.is_empty());
        let huge = &input.unsendable[0];
        assert_eq!(huge.fault.code, ErrorCode::RequestTooLarge);
        assert_eq!(huge.id, Some(RowId::of_key("c-1")));
    }

    #[test]
    fn webhook_columns_make_an_enabled_webhook() {
        let input = csv("name,webhookUrl,webhookEvents\nA,https://h.example.com/in,verification.created verification.failed\nB,,\n");
        assert!(input.unsendable.is_empty(), "{:?}", input.unsendable);
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
                    {\"name\":\"D\",\"colour\":\"red\",\"idempotencyKey\":\"k4\"}\n\
                    not json\n\
                    {\"name\":\"E\",\"redirectUris\":[\"https://e.example.com/cb#x\"]}\n";
        let input = read(Format::JsonLines, text.as_bytes(), ReadOptions::default()).unwrap();
        assert_eq!(
            bad(&input),
            vec![
                (3, "name"),
                (4, "colour"),
                (5, "body"),
                (6, "redirectUris[0]")
            ]
        );
        assert_eq!(input.rows.len(), 2, "A, and E which the server will refuse");
        assert_eq!(input.rows[0].line, 1);
        let unknown_field = input.unsendable.iter().find(|u| u.line == 4).unwrap();
        assert_eq!(unknown_field.id, Some(RowId::of_key("k4")));
        assert_eq!(unknown_field.name, "D");
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
