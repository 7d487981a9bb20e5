//! The results file of an import: one record per input line (its app's client id and
//! secret, or its error), JSON Lines or CSV by extension. It holds client secrets, so it
//! is created with mode 0600 (and an existing one is set to 0600). Records are appended
//! and flushed after each batch; a rerun reads what is there and adds only the lines
//! that are missing.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// One input line's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The line of the input file.
    pub line: u64,
    /// Which input this belongs to: the start of the SHA-256 of the input file.
    pub import_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_parameter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// The CSV header of a results file, the [`Record`] fields in order.
const CSV_HEADER: [&str; 8] = [
    "line",
    "importId",
    "idempotencyKey",
    "clientId",
    "clientSecret",
    "errorCode",
    "errorParameter",
    "errorMessage",
];

/// The default results file of `input`: beside it, `customers.csv` giving
/// `customers.results.jsonl`.
pub fn default_path(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    input.with_file_name(format!("{stem}.results.jsonl"))
}

/// An open results file and the lines it already holds.
pub struct Results {
    file: File,
    csv: bool,
    path: PathBuf,
    /// Lines already recorded, with their records.
    pub recorded: BTreeMap<u64, Record>,
}

impl Results {
    /// Opens (or creates, mode 0600) the results file of the import `import_id`. A record
    /// of another import means the file belongs to another input: refused. A last line
    /// cut short by a crash is dropped.
    pub fn open(path: &Path, import_id: &str) -> Result<Self, String> {
        let shown = path.display();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("{shown}: {e}"))?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("{shown}: {e}"))?;
        let csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| format!("{shown}: {e}"))?;
        // A crash can leave a partial last line: cut it off so appends stay whole.
        let whole = text.rfind('\n').map_or(0, |at| at + 1);
        if whole < text.len() {
            file.set_len(whole as u64)
                .map_err(|e| format!("{shown}: {e}"))?;
            text.truncate(whole);
        }
        file.seek(SeekFrom::End(0))
            .map_err(|e| format!("{shown}: {e}"))?;
        let records = if csv {
            read_csv(&text)
        } else {
            read_jsonl(&text)
        }
        .map_err(|e| format!("{shown}: {e}"))?;
        let mut recorded = BTreeMap::new();
        for record in records {
            if record.import_id != import_id {
                return Err(format!(
                    "{shown} holds results of another input (import {}, this one is {import_id}); \
                     move it away or name another file with --results",
                    record.import_id
                ));
            }
            recorded.insert(record.line, record);
        }
        let mut results = Self {
            file,
            csv,
            path: path.to_owned(),
            recorded,
        };
        if csv && text.is_empty() {
            let header = csv_line(CSV_HEADER.iter().map(|s| s.to_string()));
            results.write_all(header.as_bytes())?;
        }
        Ok(results)
    }

    /// Whether `line` has a record.
    pub fn has(&self, line: u64) -> bool {
        self.recorded.contains_key(&line)
    }

    /// Appends the records of lines not yet recorded, then flushes them to disk.
    pub fn append(&mut self, records: Vec<Record>) -> Result<(), String> {
        let mut text = String::new();
        for record in records {
            if self.recorded.contains_key(&record.line) {
                continue;
            }
            if self.csv {
                text.push_str(&csv_line(csv_fields(&record)));
            } else {
                text.push_str(&serde_json::to_string(&record).expect("records serialize"));
                text.push('\n');
            }
            self.recorded.insert(record.line, record);
        }
        if !text.is_empty() {
            self.write_all(text.as_bytes())?;
        }
        Ok(())
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.file
            .write_all(bytes)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn read_jsonl(text: &str) -> io::Result<Vec<Record>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(io::Error::other))
        .collect()
}

fn read_csv(text: &str) -> io::Result<Vec<Record>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for row in reader.records() {
        let row = row.map_err(io::Error::other)?;
        let field = |at: usize| row.get(at).filter(|v| !v.is_empty()).map(str::to_owned);
        records.push(Record {
            line: row
                .get(0)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| io::Error::other("a record without its line"))?,
            import_id: field(1).unwrap_or_default(),
            idempotency_key: field(2),
            client_id: field(3),
            client_secret: field(4),
            error_code: field(5),
            error_parameter: field(6),
            error_message: field(7),
        });
    }
    Ok(records)
}

fn csv_fields(r: &Record) -> impl Iterator<Item = String> {
    [
        Some(r.line.to_string()),
        Some(r.import_id.clone()),
        r.idempotency_key.clone(),
        r.client_id.clone(),
        r.client_secret.clone(),
        r.error_code.clone(),
        r.error_parameter.clone(),
        r.error_message.clone(),
    ]
    .into_iter()
    .map(Option::unwrap_or_default)
}

fn csv_line(fields: impl Iterator<Item = String>) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(fields.collect::<Vec<_>>())
        .expect("writing to memory");
    String::from_utf8(writer.into_inner().expect("writing to memory")).expect("UTF-8 in, UTF-8 out")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(line: u64, client: &str) -> Record {
        Record {
            line,
            import_id: "abc".into(),
            idempotency_key: Some(format!("k,{line}")),
            client_id: Some(client.into()),
            client_secret: Some("secret".into()),
            error_code: None,
            error_parameter: None,
            error_message: None,
        }
    }

    #[test]
    fn a_rerun_adds_only_missing_lines_in_either_format_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["r.jsonl", "r.csv"] {
            let path = dir.path().join(name);
            let mut first = Results::open(&path, "abc").unwrap();
            first.append(vec![record(2, "A"), record(3, "B")]).unwrap();
            drop(first);
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
            // A crash in the middle of a write leaves part of a line.
            let mut f = OpenOptions::new().append(true).open(&path).unwrap();
            f.write_all(b"4,abc,k").unwrap();
            drop(f);
            let mut again = Results::open(&path, "abc").unwrap();
            assert_eq!(
                again.recorded.keys().copied().collect::<Vec<_>>(),
                vec![2, 3]
            );
            assert_eq!(again.recorded[&2], record(2, "A"), "{name}");
            again.append(vec![record(3, "B"), record(4, "C")]).unwrap();
            drop(again);
            let reread = Results::open(&path, "abc").unwrap();
            assert_eq!(reread.recorded.len(), 3, "{name}");
            let other = Results::open(&path, "other").err().expect("refused");
            assert!(other.contains("another input"), "{other}");
        }
    }

    #[test]
    fn the_default_is_beside_the_input() {
        assert_eq!(
            default_path(Path::new("/data/customers.csv")),
            PathBuf::from("/data/customers.results.jsonl")
        );
    }
}
