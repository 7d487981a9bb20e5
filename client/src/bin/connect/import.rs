//! `connect apps import FILE`: a customer list into apps, exactly once per customer row.
//!
//! 1. The file is read and every row judged by the server's rules, and the results file
//!    (the journal, see [`crate::journal`]) is read. Each row is decided ([`Plan`]):
//!    already created, refused and unchanged, or to send. Without `--continue-on-error`
//!    a row that would not be created stops the import here: nothing is sent.
//! 2. `GET /connect/v1/workspace` says which workspace the key is of; a journal of another
//!    workspace or address is refused, nothing sent.
//! 3. Batches of an earlier run that went unanswered are sent again first, with their key
//!    and their items as recorded.
//! 4. The rows to send go in new batches, each with a fresh `Idempotency-Key` recorded with
//!    its items before it is sent, and each row's outcome recorded when the answer comes.

use crate::exit::{is_final, Exit};
use crate::identity::RowId;
use crate::journal::{
    self, Access, Created, Entry, Forgotten, Journal, Refusal, Refused, RowRef, Sending, SentItem,
    State, Unsent,
};
use crate::plan::{self, Decision, Plan};
use crate::report::{print_json, Counts, Progress, RowOutcome, Summary, Tally};
use crate::rows::{self, Format, Input, ReadOptions, Row};
use connect_client::{BatchCreateRequest, Client, Error, ErrorCode};
use connect_core::rules::idempotency::KEY_TTL_MS;
use connect_core::wire::ids::WorkspaceId;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// What `import` was asked to do.
pub struct Options {
    pub file: PathBuf,
    pub results: Option<PathBuf>,
    pub continue_on_error: bool,
    pub ignore_extra_columns: bool,
    pub dry_run: bool,
    pub batch_size: usize,
    pub forget_unanswered: bool,
    pub json: bool,
}

/// The oldest an unanswered batch may be and still be replayed: the API keeps a batch's
/// `Idempotency-Key` 24 hours; an hour is left for clocks and the replay itself.
const REPLAY_WINDOW_MS: i64 = KEY_TTL_MS - 60 * 60 * 1000;

/// The default results file of `input`: beside it, `customers.csv` giving
/// `customers.results.jsonl`.
pub fn default_results(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    input.with_file_name(format!("{stem}.results.jsonl"))
}

/// Runs an import; the exit status says how it went.
pub fn run(client: &Client, options: &Options) -> Exit {
    match Import::prepare(options) {
        Ok(import) => import.run(client),
        Err(exit) => exit,
    }
}

/// An import under way: its input and its journal.
struct Import<'o> {
    options: &'o Options,
    input: Input,
    results: PathBuf,
    journal: Option<Journal>,
    /// The state of a journal that does not exist yet.
    empty: State,
    /// The progress bar of the batches, on a terminal.
    progress: Progress,
    /// Rows created by this run (new batches and replays).
    created_now: HashSet<RowId>,
    batches_sent: usize,
    replayed: usize,
}

impl<'o> Import<'o> {
    /// Reads the input and the journal: no request yet.
    fn prepare(options: &'o Options) -> Result<Self, Exit> {
        let shown = options.file.display();
        let bytes =
            std::fs::read(&options.file).map_err(|e| Exit::usage(format!("{shown}: {e}")))?;
        let read_options = ReadOptions {
            ignore_extra_columns: options.ignore_extra_columns,
        };
        let input = rows::read(Format::of(&options.file, &bytes), &bytes, read_options)
            .map_err(|e| Exit::usage(format!("{shown}: {e}")))?;
        if !input.ignored_columns.is_empty() {
            let names: Vec<String> = input
                .ignored_columns
                .iter()
                .map(|n| format!("{n:?}"))
                .collect();
            eprintln!("{shown}: ignoring column(s) {}", names.join(", "));
        }
        let results = options
            .results
            .clone()
            .unwrap_or_else(|| default_results(&options.file));
        if results
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            return Err(Exit::usage(format!(
                "{}: the results file is a JSON Lines journal of what was sent and what came \
                 back; name a .jsonl file",
                results.display()
            )));
        }
        if same_file(&results, &options.file) {
            return Err(Exit::usage(format!(
                "{}: the results file cannot be the input",
                results.display()
            )));
        }
        let access = if options.dry_run {
            Access::Look
        } else {
            Access::Import
        };
        let journal = Journal::open(&results, access).map_err(|e| Exit::usage(e.to_string()))?;
        Ok(Self {
            options,
            input,
            results,
            journal,
            empty: State::default(),
            progress: Progress::none(),
            created_now: HashSet::new(),
            batches_sent: 0,
            replayed: 0,
        })
    }

    fn state(&self) -> &State {
        self.journal.as_ref().map_or(&self.empty, Journal::state)
    }

    /// A message about a row, on stderr (above the progress bar, if there is one).
    fn say(&self, message: String) {
        self.progress
            .say(format!("{}: {message}", self.options.file.display()));
    }

    fn run(mut self, client: &Client) -> Exit {
        let flag = self.options.continue_on_error;
        let blockers = Plan::new(&self.input, self.state()).blockers();
        if !flag && !blockers.is_empty() && !self.options.dry_run {
            return self.stop_before_sending(&blockers);
        }
        let workspace = match client.workspace() {
            Ok(w) => w.id,
            Err(e) => return Exit::from_error(&e, "reading the workspace of the key"),
        };
        if let Some(journal) = &self.journal {
            if let Err(e) = journal.check(client.base_url(), &workspace) {
                return Exit::usage(e.to_string());
            }
        }
        if self.options.dry_run {
            return self.dry_run(client.base_url(), &workspace);
        }
        let mut journal = match self.journal.take() {
            Some(j) => j,
            None => match Journal::create(&self.results) {
                Ok(j) => j,
                Err(e) => return Exit::usage(e.to_string()),
            },
        };
        if let Err(e) = journal.bind(client.base_url(), &workspace) {
            return Exit::usage(e.to_string());
        }
        self.journal = Some(journal);

        if let Err(exit) = self.replay(client) {
            return exit;
        }
        let to_send: Vec<Row> = {
            let plan = Plan::new(&self.input, self.state());
            let blockers = plan.blockers();
            if !flag && !blockers.is_empty() {
                return self.stop_before_sending(&blockers);
            }
            for (row, app) in plan.changed_since_created() {
                self.say(format!(
                    "{}: changed since its app {} was created (line {} then); not sent: an \
                     import creates apps, it does not update them",
                    row.who(),
                    app.client_id,
                    app.row.line
                ));
            }
            for (u, created) in &plan.unsendable {
                if created.is_none() {
                    self.say(format!("{}: not sent: {}", u.who(), u.fault));
                }
            }
            for (row, decision) in &plan.rows {
                if let Decision::StillRefused(r) = decision {
                    self.say(format!(
                        "{}: not sent: refused by the server in an earlier run, and unchanged \
                         since: {}",
                        row.who(),
                        r.error
                    ));
                }
            }
            plan.to_send().into_iter().cloned().collect()
        };
        let refs: Vec<&Row> = to_send.iter().collect();
        let batches = plan::batches(&refs, self.options.batch_size);
        self.progress = Progress::new(refs.len() as u64, batches.len());
        for (index, batch) in batches.iter().enumerate() {
            let sending = Sending {
                batch: uuid::Uuid::new_v4().to_string(),
                sent_at: journal::now(),
                continue_on_error: flag,
                items: batch
                    .iter()
                    .map(|row| SentItem {
                        line: row.line,
                        row: row.id.clone(),
                        content: row.content.clone(),
                        item: row.item.clone(),
                    })
                    .collect(),
            };
            if let Err(e) = self
                .journal_mut()
                .append(&[Entry::Sending(sending.clone())])
            {
                self.progress.finish();
                return Exit::failure(e.to_string());
            }
            self.batches_sent += 1;
            let label = format!(
                "batch {}/{} ({})",
                index + 1,
                batches.len(),
                lines(&sending)
            );
            match self.send(client, &sending, &label) {
                Ok(tally) => self
                    .progress
                    .batch(&label, batch.len() as u64, &tally.to_string()),
                Err(exit) => {
                    self.progress.finish();
                    return exit;
                }
            }
        }
        self.progress.finish();
        self.finish()
    }

    fn journal_mut(&mut self) -> &mut Journal {
        self.journal.as_mut().expect("bound before sending")
    }

    /// Without `--continue-on-error`: every row that would not be created, and nothing sent.
    fn stop_before_sending(&self, blockers: &[plan::Blocker]) -> Exit {
        for b in blockers {
            self.say(format!("{}: {}", b.who, b.why));
        }
        let waiting = self.state().unanswered().len();
        let replay = if waiting > 0 {
            format!(
                " ({waiting} unanswered batch(es) of an earlier run will be replayed by the \
                 next run)"
            )
        } else {
            String::new()
        };
        let sent = match self.replayed {
            0 => "nothing was sent".to_owned(),
            n => format!("no new batch was sent ({n} unanswered batch(es) replayed)"),
        };
        Exit::usage(format!(
            "{} row(s) would not be created; {sent}{replay}. Fix them, or pass \
             --continue-on-error to import the other rows",
            blockers.len()
        ))
    }

    /// Sends again the batches of earlier runs that went unanswered, with their key and
    /// items as recorded. One too old to replay safely stops the import before any is sent,
    /// unless `--forget-unanswered`.
    fn replay(&mut self, client: &Client) -> Result<(), Exit> {
        let unanswered: Vec<Sending> = self.state().unanswered().into_iter().cloned().collect();
        let now = journal::now().millis();
        let (old, young): (Vec<Sending>, Vec<Sending>) = unanswered
            .into_iter()
            .partition(|s| now - s.sent_at.millis() > REPLAY_WINDOW_MS);
        if !old.is_empty() && !self.options.forget_unanswered {
            let batches: Vec<String> = old
                .iter()
                .map(|s| {
                    format!(
                        "batch {} ({} of the run of {})",
                        s.batch,
                        lines(s),
                        s.sent_at
                    )
                })
                .collect();
            return Err(Exit::usage(format!(
                "{} went unanswered, and the API keeps a batch's key for 24 hours only: sent \
                 again now, it could create its apps a second time. Nothing was sent. See \
                 whether its apps exist (`connect apps list`); then remove from the input the \
                 rows whose apps exist, and run again with --forget-unanswered to send the \
                 others as new",
                batches.join(", ")
            )));
        }
        for sending in old {
            let forgotten = Entry::Forgotten(Forgotten {
                batch: sending.batch.clone(),
                at: journal::now(),
            });
            self.journal_mut()
                .append(&[forgotten])
                .map_err(|e| Exit::failure(e.to_string()))?;
            eprintln!(
                "batch {} ({} of the run of {}): forgotten; its rows count as never sent",
                sending.batch,
                lines(&sending),
                sending.sent_at
            );
        }
        for sending in young {
            let label = format!(
                "replaying batch {} sent {} ({} of that run)",
                sending.batch,
                sending.sent_at,
                lines(&sending)
            );
            let tally = self.send(client, &sending, &label)?;
            self.replayed += 1;
            eprintln!("{label}: {tally}");
        }
        Ok(())
    }

    /// Sends one recorded batch and records the outcome of each of its rows that has none
    /// yet. `Err` stops the import: a batch refused as a whole (recorded, so it is not
    /// sent again), or one whose answer did not come (left to the next run's replay).
    fn send(&mut self, client: &Client, sending: &Sending, label: &str) -> Result<Tally, Exit> {
        let request = BatchCreateRequest {
            items: sending.items.iter().map(|i| i.item.clone()).collect(),
            continue_on_error: Some(sending.continue_on_error),
        };
        let missing: HashSet<RowId> = self
            .state()
            .missing(sending)
            .into_iter()
            .map(|i| i.row.clone())
            .collect();
        let mut tally = Tally::default();
        let mut entries = Vec::new();
        let mut stop = None;
        match client.batch_create(&request, Some(&sending.batch)) {
            Ok(answer) if answer.results.len() == sending.items.len() => {
                for (sent, result) in sending.items.iter().zip(answer.results) {
                    let row = RowRef::of(sent);
                    match (result.app, result.error) {
                        (Some(app), _) => {
                            tally.created += 1;
                            if missing.contains(&sent.row) {
                                self.created_now.insert(sent.row.clone());
                            }
                            entries.push(Entry::Created(Created {
                                row,
                                client_id: app.client_id,
                                client_secret: app.client_secret,
                                batch: sending.batch.clone(),
                            }));
                        }
                        (None, error) => {
                            tally.refused += 1;
                            let error = match error {
                                Some(e) => refusal(
                                    e.code.as_str(),
                                    e.details.as_ref().and_then(|d| d.parameter.as_deref()),
                                    &e.message,
                                ),
                                None => Refusal {
                                    code: ErrorCode::Unknown.as_str().into(),
                                    parameter: None,
                                    message: "the answer holds neither an app nor an error".into(),
                                },
                            };
                            self.say(format!("{}: refused: {error}", who(sent)));
                            entries.push(Entry::Refused(Refused {
                                row,
                                error,
                                batch: sending.batch.clone(),
                            }));
                        }
                    }
                }
            }
            Ok(answer) => {
                return Err(Exit::failure(format!(
                    "{label}: the answer holds {} results for {} items; the batch is left \
                     unanswered in {} and replayed by the next run",
                    answer.results.len(),
                    sending.items.len(),
                    self.results.display()
                )))
            }
            Err(e) if refuses_the_body(&e) => {
                // The body itself was refused: no attempt of it, now or before, created
                // anything.
                let index = refused_index(&e);
                let culprit = index.and_then(|i| sending.items.get(i));
                for (at, sent) in sending.items.iter().enumerate() {
                    let row = RowRef::of(sent);
                    if Some(at) == index {
                        tally.refused += 1;
                        let error = refusal(
                            e.code().map_or("UNKNOWN", ErrorCode::as_str),
                            e.parameter(),
                            &message_of(&e),
                        );
                        self.say(format!("{}: refused: {error}", who(sent)));
                        entries.push(Entry::Refused(Refused {
                            row,
                            error,
                            batch: sending.batch.clone(),
                        }));
                    } else {
                        tally.not_sent += 1;
                        let reason = match culprit {
                            Some(c) => format!(
                                "not created: its batch was refused because of line {}",
                                c.line
                            ),
                            None => format!("not created: its batch was refused: {e}"),
                        };
                        entries.push(Entry::Unsent(Unsent {
                            row,
                            reason,
                            batch: sending.batch.clone(),
                        }));
                    }
                }
                stop = Some(match culprit {
                    Some(c) => Exit::usage(format!(
                        "{label}: refused because of line {}, so none of its apps was created; \
                         stopped there. Fix the line and run again, or pass \
                         --continue-on-error to import the other rows",
                        c.line
                    )),
                    None => Exit::usage(format!("{label}: {e}; none of its apps was created")),
                });
            }
            Err(e) if is_final(&e) => {
                // Refused for a reason that says nothing of an earlier attempt whose answer
                // was lost (a refused key, say): the batch stays unanswered.
                return Err(Exit::usage(format!(
                    "{label}: {e}. The batch stays unanswered in {}: once this is put right, \
                     the next run sends it again first, with its key",
                    self.results.display()
                )));
            }
            Err(e) => {
                let mut exit = Exit::from_error(&e, label);
                if let Exit::Failure(why) = &mut exit {
                    why.push_str(
                        ". The batch may or may not have been created: run the import again \
                         (within 23 hours) to complete it; the batch is sent again with its \
                         key first, and nothing is created twice",
                    );
                }
                return Err(exit);
            }
        }
        entries.retain(|entry| match entry {
            Entry::Created(c) => missing.contains(&c.row.row),
            Entry::Refused(r) => missing.contains(&r.row.row),
            Entry::Unsent(u) => missing.contains(&u.row.row),
            _ => true,
        });
        self.journal_mut().append(&entries).map_err(|e| {
            Exit::failure(format!(
                "{label}: answered, but the answer could not be recorded ({e}); the next run \
                 sends the batch again first, with its key, and records it then"
            ))
        })?;
        match stop {
            Some(exit) => Err(exit),
            None => Ok(tally),
        }
    }

    /// After the last batch: the summary, and the status.
    fn finish(self) -> Exit {
        let plan = Plan::new(&self.input, self.state());
        let rows = self.outcomes(&plan, None);
        let counts = Counts::of(&rows);
        if self.options.json {
            print_json(&Summary {
                file: self.options.file.display().to_string(),
                results: self.results.display().to_string(),
                dry_run: false,
                replayed_batches: self.replayed,
                batches_sent: self.batches_sent,
                counts: &counts,
                rows: &rows,
            });
        } else {
            println!(
                "{}: {} created, {} already created, {} not created; results in {}",
                self.options.file.display(),
                counts.created,
                counts.already_created,
                counts.refused + counts.not_sent,
                self.results.display()
            );
        }
        if counts.refused + counts.not_sent > 0 {
            Exit::RowsFailed
        } else {
            Exit::Done
        }
    }

    /// What a run would do, printed; nothing sent, nothing written.
    fn dry_run(&self, base_url: &str, workspace: &WorkspaceId) -> Exit {
        let plan = Plan::new(&self.input, self.state());
        let blockers = plan.blockers();
        // Without --continue-on-error, a row that would not be created stops the run
        // before anything is sent.
        let sends = self.options.continue_on_error || blockers.is_empty();
        let rows = self.outcomes(&plan, Some(sends));
        let counts = Counts::of(&rows);
        let to_send = if sends { plan.to_send() } else { Vec::new() };
        let batches = plan::batches(&to_send, self.options.batch_size);
        if self.options.json {
            print_json(&Summary {
                file: self.options.file.display().to_string(),
                results: self.results.display().to_string(),
                dry_run: true,
                replayed_batches: if sends { plan.unanswered.len() } else { 0 },
                batches_sent: batches.len(),
                counts: &counts,
                rows: &rows,
            });
        } else {
            println!(
                "Dry run of {} into workspace {workspace} at {base_url}: nothing was sent.",
                self.options.file.display()
            );
            if !sends {
                println!(
                    "A run would send nothing: {} row(s) would not be created, and without \
                     --continue-on-error that stops the import.",
                    blockers.len()
                );
            }
            for s in plan.unanswered.iter().filter(|_| sends) {
                println!(
                    "First, replay batch {} sent {} ({} rows, {} of that run), with its key \
                     and its rows as recorded.",
                    s.batch,
                    s.sent_at,
                    s.items.len(),
                    lines(s)
                );
            }
            if sends {
                println!(
                    "Would send {} row(s) in {} batch(es){}",
                    to_send.len(),
                    batches.len(),
                    if to_send.is_empty() { "." } else { ":" }
                );
            }
            if !to_send.is_empty() {
                let key_width = to_send
                    .iter()
                    .map(|r| {
                        r.item
                            .idempotency_key
                            .as_deref()
                            .unwrap_or("-")
                            .chars()
                            .count()
                    })
                    .max()
                    .unwrap_or(0)
                    .max("IDEMPOTENCY KEY".len());
                println!("  {:<6}  {:<key_width$}  NAME", "LINE", "IDEMPOTENCY KEY");
                for row in &to_send {
                    println!(
                        "  {:<6}  {:<key_width$}  {}",
                        row.line,
                        row.item.idempotency_key.as_deref().unwrap_or("-"),
                        row.item.app.name
                    );
                }
            }
            println!(
                "Already created, skipped: {} row(s).",
                counts.already_created
            );
            if counts.awaiting_replay > 0 {
                println!(
                    "Decided by the replay: {} row(s) of the unanswered batch(es).",
                    counts.awaiting_replay
                );
            }
            if !blockers.is_empty() {
                println!("Would not be created: {} row(s):", blockers.len());
                for b in &blockers {
                    println!("  {}: {}", b.who, b.why);
                }
            }
        }
        match (blockers.is_empty(), self.options.continue_on_error) {
            (true, _) => Exit::Done,
            (false, true) => Exit::RowsFailed,
            (false, false) => Exit::usage(format!(
                "{} row(s) would not be created, so a run would send nothing: fix them, or \
                 pass --continue-on-error to import the other rows",
                blockers.len()
            )),
        }
    }

    /// Each line's outcome, for the summary. In a dry run (`Some(sends)`: whether the run
    /// would send anything), what would become of it.
    fn outcomes(&self, plan: &Plan, dry_run: Option<bool>) -> Vec<RowOutcome> {
        let would_send = dry_run == Some(true);
        let mut rows: Vec<RowOutcome> = Vec::new();
        for (row, decision) in &plan.rows {
            let (outcome, client_id, error) = match decision {
                Decision::Created { app, .. } if self.created_now.contains(&row.id) => {
                    ("created", Some(app.client_id), None)
                }
                Decision::Created { app, .. } => ("alreadyCreated", Some(app.client_id), None),
                Decision::StillRefused(r) => ("refused", None, Some(r.error.to_string())),
                Decision::Send if would_send => {
                    ("toSend", None, row.fault.as_ref().map(|f| f.to_string()))
                }
                Decision::Send => ("notSent", None, row.fault.as_ref().map(|f| f.to_string())),
                Decision::AwaitingReplay if would_send => ("awaitingReplay", None, None),
                Decision::AwaitingReplay => ("notSent", None, None),
            };
            rows.push(RowOutcome {
                line: row.line,
                name: row.item.app.name.clone(),
                idempotency_key: row.item.idempotency_key.clone(),
                outcome,
                client_id,
                error,
            });
        }
        for (u, created) in &plan.unsendable {
            rows.push(RowOutcome {
                line: u.line,
                name: u.name.clone(),
                idempotency_key: u.idempotency_key.clone(),
                outcome: if created.is_some() {
                    "alreadyCreated"
                } else {
                    "refused"
                },
                client_id: created.map(|c| c.client_id),
                error: created.is_none().then(|| u.fault.to_string()),
            });
        }
        rows.sort_by_key(|r| r.line);
        rows
    }
}

/// Whether two paths name one file (both existing).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Whether a batch's refusal is the verdict on its body (a validation error, too large,
/// not JSON), which every attempt of that body gets: then no attempt created anything.
/// Any other refusal (a key refused, a route missing, another request under the batch's
/// key) says nothing of an earlier attempt whose answer was lost.
fn refuses_the_body(e: &Error) -> bool {
    matches!(
        e,
        Error::Api { error, .. } if matches!(
            error.code,
            ErrorCode::ValidationMissingParameter
                | ErrorCode::ValidationInvalidParameter
                | ErrorCode::RequestTooLarge
                | ErrorCode::UnsupportedMediaType
        )
    )
}

/// The item a whole-batch refusal names (`details.index`), if any.
fn refused_index(e: &Error) -> Option<usize> {
    match e {
        Error::Api { error, .. } => error.details.as_ref()?.index,
        Error::Invalid(e) => e.index,
        _ => None,
    }
}

fn message_of(e: &Error) -> String {
    match e {
        Error::Api { error, .. } => error.message.clone(),
        Error::Invalid(e) => e.message.clone(),
        other => other.to_string(),
    }
}

/// A refusal with its field named inside the item (`items[3].name` is `name`), as the
/// input's own checks name it.
fn refusal(code: &str, parameter: Option<&str>, message: &str) -> Refusal {
    let inside = |s: &str| match s.strip_prefix("items[") {
        Some(rest) => match rest.split_once("].") {
            Some((index, tail)) if index.bytes().all(|b| b.is_ascii_digit()) => tail.to_owned(),
            _ => s.to_owned(),
        },
        None => s.to_owned(),
    };
    Refusal {
        code: code.to_owned(),
        parameter: parameter.map(inside),
        message: inside(message),
    }
}

fn who(sent: &SentItem) -> String {
    rows::who(
        sent.line,
        sent.item.idempotency_key.as_deref(),
        &sent.item.app.name,
    )
}

/// The lines of a batch, `lines 2-101` or `line 7` (of the run that sent it).
fn lines(sending: &Sending) -> String {
    let first = sending.items.iter().map(|i| i.line).min().unwrap_or(0);
    let last = sending.items.iter().map(|i| i.line).max().unwrap_or(0);
    if first == last {
        format!("line {first}")
    } else {
        format!("lines {first}-{last}")
    }
}
