//! `connect apps import FILE`: a customer list into apps, exactly once.
//!
//! The file is judged whole before anything is sent. Good rows go in batches of 100, in
//! file order; each batch's `Idempotency-Key` is derived from the file's content and the
//! batch's position, so running the same file again (after a crash, a Ctrl-C, a lost
//! answer) within the API's 24 hours replays what was done and does what was not. The
//! results file says what happened to every line; a rerun skips the batches it already
//! holds and adds only missing lines.

use crate::exit::Exit;
use crate::results::{self, Record, Results};
use crate::rows::{self, BadRow, Format, Row};
use connect_client::{BatchCreateRequest, BatchResult, Client};
use connect_core::rules::batch::MAX_BATCH_ITEMS;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::io::IsTerminal;
use std::path::PathBuf;

/// What `import` was asked to do.
pub struct Options {
    pub file: PathBuf,
    pub results: Option<PathBuf>,
    pub continue_on_error: bool,
}

/// Runs an import; the exit status says how it went.
pub fn run(client: &Client, options: &Options) -> Exit {
    let bytes = match std::fs::read(&options.file) {
        Ok(b) => b,
        Err(e) => return Exit::usage(format!("{}: {e}", options.file.display())),
    };
    let import_id = hex::encode(&Sha256::digest(&bytes)[..12]);
    let input = match rows::read(Format::of(&options.file, &bytes), &bytes) {
        Ok(input) => input,
        Err(e) => return Exit::usage(format!("{}: {e}", options.file.display())),
    };
    for bad in &input.bad {
        eprintln!("{}: {bad}", options.file.display());
    }
    if !input.bad.is_empty() && !options.continue_on_error {
        return Exit::usage(format!(
            "{} bad row(s); nothing was sent (fix them, or pass --continue-on-error to skip them)",
            input.bad.len()
        ));
    }
    let results_path = options
        .results
        .clone()
        .unwrap_or_else(|| results::default_path(&options.file));
    let mut results = match Results::open(&results_path, &import_id) {
        Ok(r) => r,
        Err(e) => return Exit::usage(e),
    };
    if let Err(e) = results.append(
        input
            .bad
            .iter()
            .map(|b| bad_record(b, &import_id))
            .collect(),
    ) {
        return Exit::usage(e);
    }

    let batches: Vec<&[Row]> = input.rows.chunks(MAX_BATCH_ITEMS).collect();
    let progress = Progress::new(input.rows.len() as u64, batches.len());
    let mut tally = Tally::default();
    for (index, batch) in batches.iter().enumerate() {
        if batch.iter().all(|row| results.has(row.line)) {
            tally.count(batch.iter().map(|row| &results.recorded[&row.line]));
            progress.batch(index, batch, "already recorded");
            continue;
        }
        let request = BatchCreateRequest {
            items: batch.iter().map(|row| row.item.clone()).collect(),
            continue_on_error: Some(true),
        };
        let key = batch_key(&import_id, index);
        let answer = match client.batch_create(&request, Some(&key)) {
            Ok(answer) => answer,
            Err(e) => {
                progress.finish();
                return Exit::from_error(
                    &e,
                    &format!("batch {} (lines {})", index + 1, lines(batch)),
                );
            }
        };
        let records: Vec<Record> = batch
            .iter()
            .zip(&answer.results)
            .map(|(row, result)| result_record(row, result, &import_id))
            .collect();
        tally.count(records.iter());
        if let Err(e) = results.append(records) {
            progress.finish();
            return Exit::failure(e);
        }
        let what = format!(
            "{} created, {} failed",
            answer.success_count, answer.error_count
        );
        progress.batch(index, batch, &what);
    }
    progress.finish();
    let failed = tally.failed + input.bad.len() as u64;
    println!(
        "{}: {} app(s) created or already there, {} line(s) failed; results in {}",
        options.file.display(),
        tally.created,
        failed,
        results.path().display()
    );
    if failed > 0 {
        Exit::RowsFailed
    } else {
        Exit::Done
    }
}

/// The `Idempotency-Key` of batch `index` of the input whose content hashes to
/// `import_id`: the same file gives the same keys on every run.
pub fn batch_key(import_id: &str, index: usize) -> String {
    format!("connect-import-{import_id}-{index}")
}

fn lines(batch: &[Row]) -> String {
    match (batch.first(), batch.last()) {
        (Some(a), Some(b)) => format!("{}-{}", a.line, b.line),
        _ => String::new(),
    }
}

fn bad_record(bad: &BadRow, import_id: &str) -> Record {
    Record {
        line: bad.line,
        import_id: import_id.to_owned(),
        idempotency_key: None,
        client_id: None,
        client_secret: None,
        error_code: Some(bad.code.to_string()),
        error_parameter: Some(bad.field.clone()),
        error_message: Some(bad.message.clone()),
    }
}

fn result_record(row: &Row, result: &BatchResult, import_id: &str) -> Record {
    let error = result.error.as_ref();
    Record {
        line: row.line,
        import_id: import_id.to_owned(),
        idempotency_key: row.item.idempotency_key.clone(),
        client_id: result.app.as_ref().map(|a| a.client_id.to_string()),
        client_secret: result
            .app
            .as_ref()
            .map(|a| a.client_secret.expose().to_owned()),
        error_code: error.map(|e| e.code.to_string()),
        error_parameter: error.and_then(|e| e.details.as_ref()?.parameter.clone()),
        error_message: error.map(|e| e.message.clone()),
    }
}

/// Lines that ended with an app, and lines that ended with an error.
#[derive(Default)]
struct Tally {
    created: u64,
    failed: u64,
}

impl Tally {
    fn count<'r>(&mut self, records: impl Iterator<Item = &'r Record>) {
        for r in records {
            if r.client_id.is_some() {
                self.created += 1;
            } else {
                self.failed += 1;
            }
        }
    }
}

/// A progress bar on a terminal; one plain line per batch otherwise (logs, pipes, CI).
struct Progress {
    bar: Option<ProgressBar>,
    batches: usize,
}

impl Progress {
    fn new(rows: u64, batches: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(rows);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} apps ({eta} left) {msg}")
                    .expect("a valid template"),
            );
            bar
        });
        Self { bar, batches }
    }

    fn batch(&self, index: usize, batch: &[Row], what: &str) {
        match &self.bar {
            Some(bar) => {
                bar.inc(batch.len() as u64);
                bar.set_message(format!("batch {}/{}", index + 1, self.batches));
            }
            None => eprintln!(
                "batch {}/{} (lines {}): {what}",
                index + 1,
                self.batches,
                lines(batch)
            ),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_keys_are_valid_and_differ_by_position() {
        let id = hex::encode(&Sha256::digest(b"name\nAcme\n")[..12]);
        let a = batch_key(&id, 0);
        assert_eq!(a, batch_key(&id, 0));
        assert_ne!(a, batch_key(&id, 1));
        connect_client::validate::idempotency_key(&a).unwrap();
    }
}
