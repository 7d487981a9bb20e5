//! What `connect apps import` reports: a tally of each batch, the summary of `--json` (a
//! line of the input each, never a secret), and the progress on stderr.

use connect_client::ClientId;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::IsTerminal;

/// What became of one batch's rows.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) created: u64,
    pub(crate) refused: u64,
    pub(crate) not_sent: u64,
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} created, {} refused", self.created, self.refused)?;
        if self.not_sent > 0 {
            write!(f, ", {} not created", self.not_sent)?;
        }
        Ok(())
    }
}

/// One line of the input in the summary (`--json`). No secrets: those are in the results
/// file alone.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RowOutcome {
    pub(crate) line: u64,
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) idempotency_key: Option<String>,
    /// `created`, `alreadyCreated`, `refused`, `notSent`; in a dry run `toSend` and
    /// `awaitingReplay` too.
    pub(crate) outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_id: Option<ClientId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Counts {
    pub(crate) created: usize,
    pub(crate) already_created: usize,
    pub(crate) refused: usize,
    pub(crate) not_sent: usize,
    pub(crate) to_send: usize,
    pub(crate) awaiting_replay: usize,
}

impl Counts {
    pub(crate) fn of(rows: &[RowOutcome]) -> Self {
        let mut c = Self::default();
        for r in rows {
            *match r.outcome {
                "created" => &mut c.created,
                "alreadyCreated" => &mut c.already_created,
                "refused" => &mut c.refused,
                "toSend" => &mut c.to_send,
                "awaitingReplay" => &mut c.awaiting_replay,
                _ => &mut c.not_sent,
            } += 1;
        }
        c
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary<'a> {
    pub(crate) file: String,
    pub(crate) results: String,
    pub(crate) dry_run: bool,
    /// Unanswered batches of earlier runs sent again (in a dry run: to send again).
    pub(crate) replayed_batches: usize,
    /// New batches sent (in a dry run: to send).
    pub(crate) batches_sent: usize,
    pub(crate) counts: &'a Counts,
    pub(crate) rows: &'a [RowOutcome],
}

pub(crate) fn print_json<T: Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("summaries serialize")
    );
}

/// A progress bar on a terminal; one plain line per batch otherwise (logs, pipes, CI).
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// No bar (yet).
    pub(crate) fn none() -> Self {
        Self { bar: None }
    }

    pub(crate) fn new(rows: u64, batches: usize) -> Self {
        let bar = (batches > 0 && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(rows);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({eta} left) {msg}")
                    .expect("a valid template"),
            );
            bar
        });
        Self { bar }
    }

    pub(crate) fn batch(&self, label: &str, rows: u64, what: &str) {
        match &self.bar {
            Some(bar) => {
                bar.inc(rows);
                bar.set_message(label.to_owned());
            }
            None => eprintln!("{label}: {what}"),
        }
    }

    /// A line on stderr, above the bar.
    pub(crate) fn say(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
