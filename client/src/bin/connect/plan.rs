//! What an import does with each row of the input, given what the journal says: decided
//! here alone, so that a dry run and a run decide alike.
//!
//! - A row whose identity has an app is never sent again.
//! - A row the server refused is sent again only once its content changes.
//! - A row in a batch that went unanswered waits for that batch's replay, which a run does
//!   before anything else.
//! - Every other row that reads as an item is sent; rows that cannot be sent at all
//!   (unreadable, too large, a repeat) are refused here.

use crate::journal::{Created, Refused, Sending, State};
use crate::rows::{Input, Row, Unsendable, MAX_ITEM_BYTES};
use connect_core::rules::batch::MAX_BATCH_ITEMS;
use connect_core::rules::input::MAX_BODY_BYTES;
use std::collections::HashSet;

/// What becomes of a row that reads as an item.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision<'j> {
    /// It goes in a new batch.
    Send,
    /// Its app exists. `changed`: the row says something else now (a row with an
    /// `idempotencyKey` edited since); the import creates, it does not update.
    Created { app: &'j Created, changed: bool },
    /// The server refused it with this very content: sent again once it changes.
    StillRefused(&'j Refused),
    /// It is in a batch that went unanswered, whose replay decides it.
    AwaitingReplay,
}

/// Every row's fate.
#[derive(Debug)]
pub struct Plan<'i, 'j> {
    /// The rows that read as items, in file order.
    pub rows: Vec<(&'i Row, Decision<'j>)>,
    /// The rows that cannot be sent, each with its app if its key has one already.
    pub unsendable: Vec<(&'i Unsendable, Option<&'j Created>)>,
    /// Batches to replay first, in the order they were sent.
    pub unanswered: Vec<&'j Sending>,
}

/// A row that would be refused: who, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocker {
    pub who: String,
    pub why: String,
}

impl<'i, 'j> Plan<'i, 'j> {
    /// Decides every row of `input` against the journal's `state`.
    pub fn new(input: &'i Input, state: &'j State) -> Self {
        let unanswered = state.unanswered();
        let awaiting: HashSet<_> = unanswered
            .iter()
            .flat_map(|s| state.missing(s))
            .map(|i| &i.row)
            .collect();
        let rows = input
            .rows
            .iter()
            .map(|row| {
                let decision = if let Some(app) = state.created(&row.id) {
                    Decision::Created {
                        app,
                        changed: app.row.content != row.content,
                    }
                } else if awaiting.contains(&row.id) {
                    Decision::AwaitingReplay
                } else {
                    match state.refused(&row.id) {
                        Some(r) if r.row.content == row.content => Decision::StillRefused(r),
                        _ => Decision::Send,
                    }
                };
                (row, decision)
            })
            .collect();
        let unsendable = input
            .unsendable
            .iter()
            .map(|u| (u, u.id.as_ref().and_then(|id| state.created(id))))
            .collect();
        Self {
            rows,
            unsendable,
            unanswered,
        }
    }

    /// The rows to send in new batches, in file order.
    pub fn to_send(&self) -> Vec<&'i Row> {
        self.rows
            .iter()
            .filter(|(_, d)| *d == Decision::Send)
            .map(|(row, _)| *row)
            .collect()
    }

    /// The rows that will not end with an app: rows to send that the server's rules
    /// refuse, rows it refused before and that have not changed, and rows that cannot be
    /// sent (not already created). Without `--continue-on-error` any of them stops the
    /// import before anything is sent.
    pub fn blockers(&self) -> Vec<Blocker> {
        let mut found: Vec<(u64, Blocker)> = Vec::new();
        for (row, decision) in &self.rows {
            let why = match (decision, &row.fault) {
                (Decision::Send, Some(fault)) => format!("{fault}"),
                (Decision::StillRefused(r), _) => format!(
                    "refused by the server in an earlier run, and unchanged since: {}",
                    r.error
                ),
                _ => continue,
            };
            found.push((
                row.line,
                Blocker {
                    who: row.who(),
                    why,
                },
            ));
        }
        for (u, created) in &self.unsendable {
            if created.is_none() {
                found.push((
                    u.line,
                    Blocker {
                        who: u.who(),
                        why: u.fault.to_string(),
                    },
                ));
            }
        }
        found.sort_by_key(|(line, _)| *line);
        found.into_iter().map(|(_, b)| b).collect()
    }

    /// Rows already created whose content changed since: not sent, but worth a word.
    pub fn changed_since_created(&self) -> Vec<(&'i Row, &'j Created)> {
        self.rows
            .iter()
            .filter_map(|(row, d)| match d {
                Decision::Created { app, changed: true } => Some((*row, *app)),
                _ => None,
            })
            .collect()
    }
}

/// The envelope of a batch body around its items, in bytes (generously).
const ENVELOPE_BYTES: usize = 64;

/// Rows in batches of at most `size` items and at most the API's 1 MiB a body, in order.
pub fn batches<'r>(rows: &[&'r Row], size: usize) -> Vec<Vec<&'r Row>> {
    let size = size.clamp(1, MAX_BATCH_ITEMS);
    let mut batches: Vec<Vec<&Row>> = Vec::new();
    let mut bytes = ENVELOPE_BYTES;
    for row in rows {
        let item = serde_json::to_vec(&row.item).map_or(MAX_ITEM_BYTES, |b| b.len()) + 1;
        match batches.last_mut() {
            Some(batch) if batch.len() < size && bytes + item <= MAX_BODY_BYTES => {
                batch.push(row);
                bytes += item;
            }
            _ => {
                batches.push(vec![row]);
                bytes = ENVELOPE_BYTES + item;
            }
        }
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Entry, Journal, Refusal, RowRef, SentItem};
    use crate::rows::{read, Format, ReadOptions};
    use connect_client::ClientId;
    use connect_core::wire::ids::WorkspaceId;
    use connect_core::wire::secrets::ClientSecret;

    fn input(csv: &str) -> Input {
        read(Format::Csv, csv.as_bytes(), ReadOptions::default()).unwrap()
    }

    fn sent(row: &Row) -> SentItem {
        SentItem {
            line: row.line,
            row: row.id.clone(),
            content: row.content.clone(),
            item: row.item.clone(),
        }
    }

    /// A journal where `created` rows have apps, `refused` rows were refused, and
    /// `unanswered` rows are in a batch without an answer.
    fn journal(
        dir: &std::path::Path,
        created: &[&Row],
        refused: &[&Row],
        unanswered: &[&Row],
    ) -> Journal {
        let mut j = Journal::create(&dir.join("r.jsonl")).unwrap();
        j.bind("http://x/", &WorkspaceId::parse("org_x").unwrap())
            .unwrap();
        let mut entries = Vec::new();
        for (n, row) in created.iter().enumerate() {
            entries.push(Entry::Created(crate::journal::Created {
                row: RowRef::of(&sent(row)),
                client_id: ClientId::parse(&format!("Abcdefg{n}")).unwrap(),
                client_secret: ClientSecret::parse(&format!("sh_app_{}", "0".repeat(64))).unwrap(),
                batch: "b1".into(),
            }));
        }
        for row in refused {
            entries.push(Entry::Refused(crate::journal::Refused {
                row: RowRef::of(&sent(row)),
                error: Refusal {
                    code: "VALIDATION_INVALID_PARAMETER".into(),
                    parameter: Some("redirectUris[0]".into()),
                    message: "redirectUris[0] must be an https URL".into(),
                },
                batch: "b1".into(),
            }));
        }
        if !unanswered.is_empty() {
            entries.push(Entry::Sending(crate::journal::Sending {
                batch: "b2".into(),
                sent_at: crate::journal::now(),
                continue_on_error: true,
                items: unanswered.iter().map(|r| sent(r)).collect(),
            }));
        }
        j.append(&entries).unwrap();
        j
    }

    const FIRST: &str = "name,redirectUris,idempotencyKey\n\
        Acme,https://a.example.com/cb,c-1\n\
        Beta,http://b.example.com/cb,c-2\n\
        Gamma,https://g.example.com/cb,\n\
        Delta,javascript:x,\n\
        Eta,https://e.example.com/cb,c-5\n";

    #[test]
    fn created_rows_are_never_sent_and_refused_rows_only_once_changed() {
        let dir = tempfile::tempdir().unwrap();
        let first = input(FIRST);
        let r = |line: u64| first.rows.iter().find(|r| r.line == line).unwrap();
        let j = journal(dir.path(), &[r(2), r(4)], &[r(3), r(5)], &[r(6)]);

        // The same file: nothing to send; the refused rows are still refused.
        let plan = Plan::new(&first, j.state());
        assert!(plan.to_send().is_empty());
        assert_eq!(plan.unanswered.len(), 1);
        let blocked: Vec<String> = plan.blockers().into_iter().map(|b| b.who).collect();
        assert_eq!(blocked, ["line 3 (c-2, \"Beta\")", "line 5 (\"Delta\")"]);

        // Fixed, edited and moved: the keyed refused row keeps its identity and is sent
        // now it changed; the keyless one is a new row; Acme edited is still created
        // (and reported as changed); Gamma moved is still Gamma.
        let second = input(
            "name,redirectUris,idempotencyKey\n\
             Gamma,https://g.example.com/cb,\n\
             Acme Corp,https://a.example.com/cb,c-1\n\
             Beta,https://b.example.com/cb,c-2\n\
             Delta,https://d.example.com/cb,\n\
             Eta,https://e.example.com/cb,c-5\n\
             Zeta,https://z.example.com/cb,c-6\n",
        );
        let plan = Plan::new(&second, j.state());
        let decided: Vec<(u64, &str)> = plan
            .rows
            .iter()
            .map(|(row, d)| {
                let what = match d {
                    Decision::Send => "send",
                    Decision::Created { changed: false, .. } => "created",
                    Decision::Created { changed: true, .. } => "created, changed",
                    Decision::StillRefused(_) => "refused",
                    Decision::AwaitingReplay => "replay",
                };
                (row.line, what)
            })
            .collect();
        assert_eq!(
            decided,
            [
                (2, "created"),
                (3, "created, changed"),
                (4, "send"),
                (5, "send"),
                (6, "replay"),
                (7, "send")
            ]
        );
        assert!(plan.blockers().is_empty());
        assert_eq!(plan.changed_since_created().len(), 1);
    }

    #[test]
    fn a_row_to_send_that_the_rules_refuse_blocks_and_an_unsendable_created_row_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let first = input("name,idempotencyKey\nAcme,c-1\n");
        let j = journal(dir.path(), &[&first.rows[0]], &[], &[]);
        let now = input("name,idempotencyKey\nAcme,c-1,surplus\n,c-2\n");
        let plan = Plan::new(&now, j.state());
        assert!(plan.unsendable[0].1.is_some(), "c-1 has its app");
        let blocked: Vec<String> = plan.blockers().into_iter().map(|b| b.who).collect();
        assert_eq!(blocked, ["line 3 (c-2, \"\")"]);
    }

    #[test]
    fn batches_hold_at_most_their_size_and_a_request_s_bytes() {
        let small = input(&format!(
            "name\n{}",
            (0..250).map(|i| format!("C{i}\n")).collect::<String>()
        ));
        let rows: Vec<&Row> = small.rows.iter().collect();
        let sizes: Vec<usize> = batches(&rows, 100).iter().map(Vec::len).collect();
        assert_eq!(sizes, [100, 100, 50]);
        let sizes: Vec<usize> = batches(&rows, 3).iter().map(Vec::len).collect();
        assert_eq!(sizes.len(), 84);
        assert!(batches(&[], 100).is_empty());

        // Twenty 2 KB URIs a row: about 41 KB each, so 25 rows to a MiB.
        let uri = |i: usize, j: usize| format!("https://h{i}.example.com/{j}/{}", "p".repeat(2000));
        let text: String = (0..60)
            .map(|i| {
                let uris: Vec<String> = (0..20).map(|j| uri(i, j)).collect();
                format!("C{i},{}\n", uris.join(" "))
            })
            .collect();
        let big = input(&format!("name,redirectUris\n{text}"));
        assert!(big.unsendable.is_empty());
        let rows: Vec<&Row> = big.rows.iter().collect();
        let made = batches(&rows, 100);
        assert!(made.len() >= 3, "{}", made.len());
        for batch in &made {
            let body = serde_json::to_vec(&connect_client::BatchCreateRequest {
                items: batch.iter().map(|r| r.item.clone()).collect(),
                continue_on_error: Some(false),
            })
            .unwrap();
            assert!(body.len() <= MAX_BODY_BYTES, "{}", body.len());
        }
        assert_eq!(made.iter().map(Vec::len).sum::<usize>(), 60);
    }
}
