//! The results file of an import: a journal of what was sent and what came back, one JSON
//! object a line, appended and synced to disk entry by entry, never rewritten.
//!
//! - First a [`Header`]: the journal's version, the API's base URL and the workspace id, so
//!   that the file is never used against another workspace.
//! - For each batch, a [`Sending`] entry (the batch's `Idempotency-Key` and the exact items
//!   sent, each with its row's identity and line) written and synced *before* the request.
//! - Then one outcome per row of the batch: [`Created`] (the app's client id and secret),
//!   [`Refused`] (the server's error) or [`Unsent`] (the batch was refused as a whole).
//!
//! A batch with a `Sending` entry and rows without an outcome went unanswered (a crash, a
//! network failure, a lost answer): the next run sends it again with its key and its items
//! as recorded, whatever the input file says now, and the API replays its first answer or
//! performs it once. [`Forgotten`] gives up on such a batch (`--forget-unanswered`).
//!
//! It holds client secrets: created with mode 0600, and an existing one set to 0600. One
//! import at a time holds it (an advisory lock). A last line cut short by a crash is cut
//! off before anything is appended.

use crate::identity::{Content, RowId};
use connect_client::{BatchItem, ClientId};
use connect_core::rules::input::FromJson;
use connect_core::wire::ids::WorkspaceId;
use connect_core::wire::secrets::ClientSecret;
use connect_core::wire::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The journal's format version, in its header.
pub const VERSION: u32 = 1;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "camelCase")]
pub enum Entry {
    /// The first line.
    Journal(Header),
    Sending(Sending),
    Created(Created),
    Refused(Refused),
    Unsent(Unsent),
    Forgotten(Forgotten),
}

/// Which import this is: where, and into which workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    pub version: u32,
    /// The API's address as the client uses it (`https://api.example.com/`).
    pub base_url: String,
    /// The workspace of the key, as `GET /connect/v1/workspace` names it.
    pub workspace_id: WorkspaceId,
    pub started_at: Timestamp,
}

/// A batch about to be sent: its `Idempotency-Key` and its items, exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sending {
    /// The batch's `Idempotency-Key`: a fresh UUID, sent with every attempt and replay.
    pub batch: String,
    pub sent_at: Timestamp,
    pub continue_on_error: bool,
    pub items: Vec<SentItem>,
}

/// One item of a batch and the row it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentItem {
    pub line: u64,
    pub row: RowId,
    pub content: Content,
    #[serde(deserialize_with = "read_item")]
    pub item: BatchItem,
}

/// An item as recorded, read back as the server reads one (a raw request type has no
/// serde `Deserialize`): an unknown field or a wrong type is refused by name.
fn read_item<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BatchItem, D::Error> {
    let value = Value::deserialize(d)?;
    BatchItem::from_json(&value, "item").map_err(serde::de::Error::custom)
}

/// A row as an outcome names it: its line in the run that sent it, its name and key, its
/// identity and content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RowRef {
    pub line: u64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub row: RowId,
    pub content: Content,
}

impl RowRef {
    /// The row of a sent item.
    pub fn of(sent: &SentItem) -> Self {
        Self {
            line: sent.line,
            name: sent.item.app.name.clone(),
            idempotency_key: sent.item.idempotency_key.clone(),
            row: sent.row.clone(),
            content: sent.content.clone(),
        }
    }
}

/// A row's app was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    #[serde(flatten)]
    pub row: RowRef,
    pub client_id: ClientId,
    pub client_secret: ClientSecret,
    pub batch: String,
}

/// The server refused a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refused {
    #[serde(flatten)]
    pub row: RowRef,
    pub error: Refusal,
    pub batch: String,
}

/// The server's error for one row: its code, the field inside the item, its message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parameter) = &self.parameter {
            write!(f, "{parameter}: ")?;
        }
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// A row of a batch refused as a whole: nothing of the batch was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unsent {
    #[serde(flatten)]
    pub row: RowRef,
    pub reason: String,
    pub batch: String,
}

/// An unanswered batch given up (`--forget-unanswered`): its rows count as never sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Forgotten {
    pub batch: String,
    pub at: Timestamp,
}

/// What the journal says so far.
#[derive(Debug, Default)]
pub struct State {
    created: HashMap<RowId, Created>,
    /// The latest outcome of each row not created, when it was a refusal.
    refused: HashMap<RowId, Refused>,
    sendings: Vec<Sending>,
    /// The rows of each batch that have an outcome.
    answered: HashMap<String, HashSet<RowId>>,
    forgotten: HashSet<String>,
}

impl State {
    /// The app created for this row, if one was.
    pub fn created(&self, row: &RowId) -> Option<&Created> {
        self.created.get(row)
    }

    /// The server's latest refusal of this row, if it was refused and never created.
    pub fn refused(&self, row: &RowId) -> Option<&Refused> {
        self.refused.get(row)
    }

    /// Batches sent whose rows do not all have an outcome, in the order they were sent.
    pub fn unanswered(&self) -> Vec<&Sending> {
        self.sendings
            .iter()
            .filter(|s| !self.forgotten.contains(&s.batch))
            .filter(|s| !self.missing(s).is_empty())
            .collect()
    }

    /// The items of a batch whose rows have no outcome yet.
    pub fn missing<'s>(&self, sending: &'s Sending) -> Vec<&'s SentItem> {
        let answered = self.answered.get(&sending.batch);
        sending
            .items
            .iter()
            .filter(|i| !answered.is_some_and(|a| a.contains(&i.row)))
            .collect()
    }

    fn apply(&mut self, entry: Entry) {
        let mut answer = |batch: &str, row: &RowId| {
            self.answered
                .entry(batch.to_owned())
                .or_default()
                .insert(row.clone());
        };
        match entry {
            Entry::Journal(_) => {}
            Entry::Sending(s) => self.sendings.push(s),
            Entry::Created(c) => {
                answer(&c.batch, &c.row.row);
                self.refused.remove(&c.row.row);
                self.created.entry(c.row.row.clone()).or_insert(c);
            }
            Entry::Refused(r) => {
                answer(&r.batch, &r.row.row);
                if !self.created.contains_key(&r.row.row) {
                    self.refused.insert(r.row.row.clone(), r);
                }
            }
            Entry::Unsent(u) => {
                answer(&u.batch, &u.row.row);
                self.refused.remove(&u.row.row);
            }
            Entry::Forgotten(f) => {
                self.forgotten.insert(f.batch);
            }
        }
    }
}

/// Why the results file cannot be used.
#[derive(Debug)]
pub enum JournalError {
    /// Reading or writing it failed.
    Io { path: PathBuf, source: io::Error },
    /// Another import holds it.
    Busy { path: PathBuf },
    /// A results file of the connect before the journal.
    OldFormat { path: PathBuf },
    /// Not a results file of connect at all.
    NotJournal { path: PathBuf, why: String },
    /// A journal of a newer connect.
    Version { path: PathBuf, found: u32 },
    /// A line after the header that cannot be read.
    Unreadable {
        path: PathBuf,
        line: usize,
        why: String,
    },
    /// A journal of another workspace or another address.
    OtherWorkspace {
        path: PathBuf,
        recorded: Box<Header>,
        base_url: String,
        workspace_id: WorkspaceId,
    },
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Busy { path } => write!(
                f,
                "{} is in use by another `connect apps import`; let it finish first",
                path.display()
            ),
            Self::OldFormat { path } => write!(
                f,
                "{} is a results file of an earlier connect (one record per line, without the \
                 journal of what was sent that this version keeps), so this import cannot know \
                 which of its rows were created. Nothing was sent. Keep that file: it holds the \
                 client secrets of the apps it lists. Remove the rows it lists with a clientId \
                 from the input, and name a new results file with --results",
                path.display()
            ),
            Self::NotJournal { path, why } => write!(
                f,
                "{} is not a results file of connect ({why}); nothing was sent: name another \
                 file with --results",
                path.display()
            ),
            Self::Version { path, found } => write!(
                f,
                "{} was written by a newer connect (journal version {found}; this one reads \
                 version {VERSION}): use that version",
                path.display()
            ),
            Self::Unreadable { path, line, why } => write!(
                f,
                "{}: line {line} cannot be read ({why}); nothing was sent. The file is written \
                 only by connect: restore it, or name another with --results",
                path.display()
            ),
            Self::OtherWorkspace {
                path,
                recorded,
                base_url,
                workspace_id,
            } => {
                let place = if recorded.workspace_id != *workspace_id {
                    format!(
                        "workspace {} at {}, and this key is of workspace {workspace_id} at \
                         {base_url}",
                        recorded.workspace_id, recorded.base_url
                    )
                } else {
                    format!(
                        "workspace {} at {}, and this run is at {base_url}",
                        recorded.workspace_id, recorded.base_url
                    )
                };
                write!(
                    f,
                    "{} records an import into {place}. Nothing was sent. Name another results \
                     file with --results for this workspace (keep that one: it holds the client \
                     secrets of its own workspace's apps)",
                    path.display()
                )
            }
        }
    }
}

/// How a journal is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// To import: locked for this run alone; a torn last line is cut off.
    Import,
    /// To look (`--dry-run`): shared with other readers, never changed.
    Look,
}

/// An open results file.
pub struct Journal {
    file: File,
    path: PathBuf,
    header: Option<Header>,
    state: State,
}

impl Journal {
    /// Opens the results file at `path`, or `None` when there is none.
    pub fn open(path: &Path, access: Access) -> Result<Option<Self>, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = match OpenOptions::new()
            .read(true)
            .append(access == Access::Import)
            .open(path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let locked = match access {
            Access::Import => file.try_lock(),
            Access::Look => file.try_lock_shared(),
        };
        match locked {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(JournalError::Busy {
                    path: path.to_owned(),
                })
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let whole = bytes
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |at| at + 1);
        let (header, state) = read(path, &bytes[..whole], whole < bytes.len())?;
        if access == Access::Import {
            // Only a file known to be a journal is changed.
            if whole < bytes.len() {
                file.set_len(whole as u64).map_err(io)?;
            }
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io)?;
        }
        Ok(Some(Self {
            file,
            path: path.to_owned(),
            header,
            state,
        }))
    }

    /// Creates a new, empty results file (mode 0600) at `path`, locked for this run.
    pub fn create(path: &Path) -> Result<Self, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(JournalError::Busy {
                    path: path.to_owned(),
                })
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // The new name itself must survive a crash, not only what is written to it.
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        Ok(Self {
            file,
            path: path.to_owned(),
            header: None,
            state: State::default(),
        })
    }

    /// Checks that the journal is of this address and workspace; a journal without a
    /// header yet gets one.
    pub fn bind(&mut self, base_url: &str, workspace_id: &WorkspaceId) -> Result<(), JournalError> {
        check(self.header.as_ref(), &self.path, base_url, workspace_id)?;
        if self.header.is_none() {
            let header = Header {
                version: VERSION,
                base_url: base_url.to_owned(),
                workspace_id: workspace_id.clone(),
                started_at: now(),
            };
            self.append(&[Entry::Journal(header.clone())])?;
            self.header = Some(header);
        }
        Ok(())
    }

    /// Checks, without writing, that the journal is of this address and workspace.
    pub fn check(&self, base_url: &str, workspace_id: &WorkspaceId) -> Result<(), JournalError> {
        check(self.header.as_ref(), &self.path, base_url, workspace_id)
    }

    /// Appends entries as whole lines in one write, and syncs them to disk.
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), JournalError> {
        let mut text = String::new();
        for entry in entries {
            text.push_str(&serde_json::to_string(entry).expect("entries serialize"));
            text.push('\n');
        }
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|source| JournalError::Io {
                path: self.path.clone(),
                source,
            })?;
        for entry in entries {
            self.state.apply(entry.clone());
        }
        Ok(())
    }

    pub fn state(&self) -> &State {
        &self.state
    }
}

fn check(
    header: Option<&Header>,
    path: &Path,
    base_url: &str,
    workspace_id: &WorkspaceId,
) -> Result<(), JournalError> {
    match header {
        Some(h) if h.base_url != base_url || h.workspace_id != *workspace_id => {
            Err(JournalError::OtherWorkspace {
                path: path.to_owned(),
                recorded: Box::new(h.clone()),
                base_url: base_url.to_owned(),
                workspace_id: workspace_id.clone(),
            })
        }
        _ => Ok(()),
    }
}

/// Reads the whole lines of a journal: its header (none in an empty file) and state.
/// `torn` says a partial line followed them.
fn read(path: &Path, bytes: &[u8], torn: bool) -> Result<(Option<Header>, State), JournalError> {
    let not_journal = |why: &str| JournalError::NotJournal {
        path: path.to_owned(),
        why: why.to_owned(),
    };
    let text = std::str::from_utf8(bytes).map_err(|_| not_journal("it is not UTF-8 text"))?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, first)) = lines.next() else {
        return if torn {
            Err(not_journal("it holds no whole line"))
        } else {
            Ok((None, State::default()))
        };
    };
    let header = match serde_json::from_str::<Entry>(first) {
        Ok(Entry::Journal(h)) => h,
        _ => {
            let value = serde_json::from_str::<Value>(first).ok();
            let old = value
                .as_ref()
                .is_some_and(|v| v.get("importId").is_some() && v.get("entry").is_none());
            if old || first.split(',').any(|f| f.trim() == "importId") {
                return Err(JournalError::OldFormat {
                    path: path.to_owned(),
                });
            }
            let version = value
                .as_ref()
                .filter(|v| v.get("entry").and_then(Value::as_str) == Some("journal"))
                .and_then(|v| v.get("version")?.as_u64());
            return match version {
                Some(found) if found != u64::from(VERSION) => Err(JournalError::Version {
                    path: path.to_owned(),
                    found: found.try_into().unwrap_or(u32::MAX),
                }),
                _ => Err(not_journal("its first line is not a journal header")),
            };
        }
    };
    if header.version != VERSION {
        return Err(JournalError::Version {
            path: path.to_owned(),
            found: header.version,
        });
    }
    let mut state = State::default();
    for (at, line) in lines {
        let unreadable = |why: String| JournalError::Unreadable {
            path: path.to_owned(),
            line: at + 1,
            why,
        };
        match serde_json::from_str::<Entry>(line) {
            Ok(Entry::Journal(_)) => return Err(unreadable("a second header".into())),
            Ok(entry) => state.apply(entry),
            Err(e) => return Err(unreadable(e.to_string())),
        }
    }
    Ok((Some(header), state))
}

/// The time now.
pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::{read, Format, ReadOptions};

    const BASE: &str = "http://127.0.0.1:8787/";

    fn org(id: &str) -> WorkspaceId {
        WorkspaceId::parse(id).unwrap()
    }

    /// Sent items of the rows of a small CSV (`name,idempotencyKey`).
    fn sent(csv: &str) -> Vec<SentItem> {
        let input = read(Format::Csv, csv.as_bytes(), ReadOptions::default()).unwrap();
        input
            .rows
            .into_iter()
            .map(|r| SentItem {
                line: r.line,
                row: r.id,
                content: r.content,
                item: r.item,
            })
            .collect()
    }

    fn created(item: &SentItem, batch: &str, n: u8) -> Entry {
        Entry::Created(Created {
            row: RowRef::of(item),
            client_id: ClientId::parse(&format!("Abcdefg{n}")).unwrap(),
            client_secret: ClientSecret::parse(&format!("sh_app_{}", "a".repeat(64))).unwrap(),
            batch: batch.into(),
        })
    }

    fn refused(item: &SentItem, batch: &str) -> Entry {
        Entry::Refused(Refused {
            row: RowRef::of(item),
            error: Refusal {
                code: "VALIDATION_INVALID_PARAMETER".into(),
                parameter: Some("name".into()),
                message: "name must not be empty".into(),
            },
            batch: batch.into(),
        })
    }

    fn sending(batch: &str, items: &[SentItem]) -> Entry {
        Entry::Sending(Sending {
            batch: batch.into(),
            sent_at: now(),
            continue_on_error: true,
            items: items.to_vec(),
        })
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_batch_is_unanswered_until_each_of_its_rows_has_an_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let items = sent("name,idempotencyKey\nA,c-1\nB,c-2\nC,c-3\n");
        let mut journal = Journal::create(&path).unwrap();
        journal.bind(BASE, &org("org_one")).unwrap();
        journal.append(&[sending("b1", &items)]).unwrap();
        journal
            .append(&[created(&items[0], "b1", 1), refused(&items[1], "b1")])
            .unwrap();
        assert_eq!(mode(&path), 0o600);
        drop(journal);

        let journal = Journal::open(&path, Access::Import).unwrap().unwrap();
        let state = journal.state();
        assert_eq!(
            state.created(&items[0].row).unwrap().client_id.as_str(),
            "Abcdefg1"
        );
        assert_eq!(
            state.refused(&items[1].row).unwrap().error.code,
            "VALIDATION_INVALID_PARAMETER"
        );
        let open = state.unanswered();
        assert_eq!(open.len(), 1);
        assert_eq!(state.missing(open[0]), vec![&items[2]]);
        drop(journal);

        let mut journal = Journal::open(&path, Access::Import).unwrap().unwrap();
        journal.append(&[created(&items[2], "b1", 3)]).unwrap();
        assert!(journal.state().unanswered().is_empty());
        // A later batch creates the refused row (fixed): created wins for good.
        journal
            .append(&[sending("b2", &items[1..2]), created(&items[1], "b2", 2)])
            .unwrap();
        journal.append(&[refused(&items[1], "b3")]).unwrap();
        assert!(journal.state().refused(&items[1].row).is_none());
        assert_eq!(journal.state().created(&items[1].row).unwrap().batch, "b2");
    }

    #[test]
    fn a_forgotten_batch_is_no_longer_unanswered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let items = sent("name\nA\n");
        let mut journal = Journal::create(&path).unwrap();
        journal.bind(BASE, &org("org_one")).unwrap();
        journal.append(&[sending("b1", &items)]).unwrap();
        assert_eq!(journal.state().unanswered().len(), 1);
        journal
            .append(&[Entry::Forgotten(Forgotten {
                batch: "b1".into(),
                at: now(),
            })])
            .unwrap();
        assert!(journal.state().unanswered().is_empty());
        assert!(journal.state().created(&items[0].row).is_none());
    }

    #[test]
    fn a_torn_last_line_is_cut_by_an_import_and_left_alone_by_a_look() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let items = sent("name,idempotencyKey\nA,c-1\n");
        let mut journal = Journal::create(&path).unwrap();
        journal.bind(BASE, &org("org_one")).unwrap();
        journal.append(&[sending("b1", &items)]).unwrap();
        drop(journal);
        let whole = std::fs::read(&path).unwrap();
        let mut torn = whole.clone();
        torn.extend_from_slice(b"{\"entry\":\"created\",\"line\":2,\"na");
        std::fs::write(&path, &torn).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

        let look = Journal::open(&path, Access::Look).unwrap().unwrap();
        assert_eq!(look.state().unanswered().len(), 1);
        drop(look);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            torn,
            "a look changes nothing"
        );
        assert_eq!(mode(&path), 0o644);

        let journal = Journal::open(&path, Access::Import).unwrap().unwrap();
        assert_eq!(journal.state().unanswered().len(), 1);
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        assert_eq!(mode(&path), 0o600, "an existing journal is set to 0600");
    }

    #[test]
    fn one_import_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let mut first = Journal::create(&path).unwrap();
        first.bind(BASE, &org("org_one")).unwrap();
        let busy = Journal::open(&path, Access::Import).err().expect("busy");
        assert!(matches!(busy, JournalError::Busy { .. }), "{busy}");
        assert!(Journal::open(&path, Access::Look).is_err());
        drop(first);
        assert!(Journal::open(&path, Access::Import).unwrap().is_some());
    }

    #[test]
    fn a_journal_of_another_workspace_or_address_is_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let mut journal = Journal::create(&path).unwrap();
        journal.bind(BASE, &org("org_sandbox")).unwrap();
        drop(journal);
        let mut journal = Journal::open(&path, Access::Import).unwrap().unwrap();
        let e = journal
            .bind(BASE, &org("org_prod"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("workspace org_sandbox at http://127.0.0.1:8787/")
                && e.contains("this key is of workspace org_prod")
                && e.contains("Nothing was sent"),
            "{e}"
        );
        let e = journal
            .check("https://api.example.com/", &org("org_sandbox"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("this run is at https://api.example.com/"), "{e}");
        journal.bind(BASE, &org("org_sandbox")).unwrap();
        let lines = std::fs::read_to_string(&path).unwrap();
        assert_eq!(lines.lines().count(), 1, "one header: {lines}");
    }

    #[test]
    fn files_that_are_not_journals_are_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        for (text, kind) in [
            (
                "{\"line\":2,\"importId\":\"abc\",\"clientId\":\"Abcdefg1\"}\n",
                "earlier connect",
            ),
            (
                "line,importId,idempotencyKey,clientId\n2,abc,k,Abcdefg1\n",
                "earlier connect",
            ),
            (
                "name,redirectUris\nAcme,https://a.example.com",
                "not a results file",
            ),
            (
                "{\"entry\":\"journal\",\"version\":9,\"baseUrl\":\"x\"}\n",
                "newer connect",
            ),
        ] {
            let path = dir.path().join("r.jsonl");
            std::fs::write(&path, text).unwrap();
            let e = Journal::open(&path, Access::Import)
                .err()
                .expect(kind)
                .to_string();
            assert!(e.contains(kind), "{e}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "untouched");
        }
        let path = dir.path().join("r.jsonl");
        let mut journal = Journal::create(&dir.path().join("ok.jsonl")).unwrap();
        journal.bind(BASE, &org("org_one")).unwrap();
        let header = std::fs::read_to_string(dir.path().join("ok.jsonl")).unwrap();
        std::fs::write(&path, format!("{header}{{\"entry\":\"created\"}}\n")).unwrap();
        let e = Journal::open(&path, Access::Import)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("line 2 cannot be read"), "{e}");
    }
}
