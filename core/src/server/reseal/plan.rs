//! What the re-seal moves: stored values sealed under older keys of the ring to its primary
//! key, a bounded window of rows at a time; and what each key seals, for an operator who
//! wants to know when an old key can leave the ring.
//!
//! The store walks each table in key order from a cursor (apps by workspace and position,
//! idempotency records by row id), [`WINDOW`] rows a call, and starts again from the
//! beginning after the last row. The
//! functions here decide, for the rows of one window, what to write and what the answer
//! says; they read and write nothing.

use crate::rules::random::Entropy;
use crate::server::admin::{ResealProgress, SealedCounts, SecretsKey, SecretsKeys};
use crate::server::recorded::RecordedResponse;
use crate::server::row::Stored;
use crate::server::seal::{KeyRing, SealContext, Sealed};
use crate::wire::app::App;
use serde::Deserialize;

/// Rows of each table a re-seal call reads: at most this many apps are written in one
/// statement, as a batch create of 100 writes its apps (D1 binds a string of up to 2 MB).
pub const WINDOW: usize = 100;

/// What a count of `sealed_counts` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SealedKind {
    /// Apps (each counts once under each key its client and webhook secrets name).
    Apps,
    /// Recorded answers of idempotent requests.
    IdempotencyRecords,
}

/// How many values of one kind one key seals: a row of `sealed_counts`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct KeyCount {
    /// Apps or idempotency records.
    pub kind: SealedKind,
    /// The key.
    pub key_id: String,
    /// How many.
    pub sealed: u64,
}

/// Where an app is stored: its workspace and its position there (the table's key), and
/// where the walk of apps goes on after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppKey {
    /// The workspace's id.
    pub workspace: String,
    /// The app's position in the workspace.
    pub position: i64,
}

/// An app of a window: where it is stored, the version an update must find, and the app.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRow {
    /// Its key.
    pub key: AppKey,
    /// Its version as read.
    pub version: i64,
    /// The app as stored.
    pub app: App<Stored>,
}

/// A recorded answer of a window, and what it was sealed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRow {
    /// Its row id.
    pub row: i64,
    /// The key's scope (a workspace id, or the operators').
    pub scope: String,
    /// The `Idempotency-Key`'s hash.
    pub key_hash: String,
    /// When it was claimed, in ms: with the row id, which claim this is.
    pub created_at: i64,
    /// The sealed answer.
    pub response: Sealed,
}

impl RecordRow {
    fn context(&self) -> SealContext<'_> {
        SealContext::RecordedResponse {
            scope: &self.scope,
            key_hash: &self.key_hash,
        }
    }
}

/// What one window's re-seal writes, and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Apps sealed again, each to be written only if still at the version read.
    pub apps: Vec<AppRow>,
    /// Recorded answers sealed again, each to be written only if still the claim read.
    pub records: Vec<RecordRow>,
    /// The answer: how many moved, how many remain.
    pub progress: ResealProgress,
}

/// Where a table's walk goes on after a window of `read` rows whose last row is `last`
/// (its key): after it, or from the beginning (`None`) when the window reached the end of
/// the table.
pub fn next_cursor<K>(read: usize, last: Option<K>) -> Option<K> {
    last.filter(|_| read >= WINDOW)
}

/// Seals the values of a window that are under another key of the ring again under its
/// primary. `counts` are the counts read with the window: the answer's `remaining` is
/// what they leave under the ring's other keys once this plan is written.
pub fn plan(
    ring: &KeyRing,
    apps: &[AppRow],
    records: &[RecordRow],
    counts: &[KeyCount],
    entropy: &mut dyn Entropy,
) -> Plan {
    let mut counts = counts.to_vec();
    let mut moved_apps = Vec::new();
    for row in apps {
        if let Some(app) = row.app.resealed(ring, entropy) {
            for id in row.app.key_ids() {
                count(&mut counts, SealedKind::Apps, &id, -1);
            }
            for id in app.key_ids() {
                count(&mut counts, SealedKind::Apps, &id, 1);
            }
            moved_apps.push(AppRow { app, ..row.clone() });
        }
    }
    let mut moved_records = Vec::new();
    for row in records {
        if let Some(response) =
            RecordedResponse::resealed(&row.response, ring, row.context(), entropy)
        {
            let kind = SealedKind::IdempotencyRecords;
            count(
                &mut counts,
                kind,
                row.response.key_id().unwrap_or_default(),
                -1,
            );
            count(&mut counts, kind, ring.primary_id(), 1);
            moved_records.push(RecordRow {
                response,
                ..row.clone()
            });
        }
    }
    let progress = ResealProgress {
        resealed: (moved_apps.len() + moved_records.len()) as u64,
        remaining: remaining(ring, &counts),
    };
    Plan {
        apps: moved_apps,
        records: moved_records,
        progress,
    }
}

fn count(counts: &mut Vec<KeyCount>, kind: SealedKind, key_id: &str, by: i64) {
    match counts
        .iter_mut()
        .find(|c| c.kind == kind && c.key_id == key_id)
    {
        Some(c) => c.sealed = c.sealed.saturating_add_signed(by),
        None => counts.push(KeyCount {
            kind,
            key_id: key_id.to_owned(),
            sealed: by.max(0) as u64,
        }),
    }
}

/// Values still under a key of the ring other than the primary: what the re-seal has yet
/// to move. Values under keys the ring does not hold cannot move and are not counted.
pub fn remaining(ring: &KeyRing, counts: &[KeyCount]) -> u64 {
    counts
        .iter()
        .filter(|c| c.key_id != ring.primary_id() && ring.key_ids().any(|id| id == c.key_id))
        .map(|c| c.sealed)
        .sum()
}

/// What each key seals: the ring's keys, the primary first, then the keys it does not hold
/// that still seal values.
pub fn secrets_keys(ring: &KeyRing, counts: &[KeyCount]) -> SecretsKeys {
    let sealed_by = |id: &str| {
        let mut sealed = SealedCounts::default();
        for c in counts.iter().filter(|c| c.key_id == id) {
            match c.kind {
                SealedKind::Apps => sealed.apps += c.sealed,
                SealedKind::IdempotencyRecords => sealed.idempotency_records += c.sealed,
            }
        }
        sealed
    };
    let mut keys: Vec<SecretsKey> = ring
        .key_ids()
        .map(|id| SecretsKey {
            id: id.to_owned(),
            primary: id == ring.primary_id(),
            in_ring: true,
            sealed: sealed_by(id),
        })
        .collect();
    let mut gone: Vec<&str> = counts
        .iter()
        .filter(|c| c.sealed > 0 && !ring.key_ids().any(|id| id == c.key_id))
        .map(|c| c.key_id.as_str())
        .collect();
    gone.sort();
    gone.dedup();
    keys.extend(gone.into_iter().map(|id| SecretsKey {
        id: id.to_owned(),
        primary: false,
        in_ring: false,
        sealed: sealed_by(id),
    }));
    SecretsKeys { keys }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::row::tests::minted;
    use crate::server::seal::tests::ring;
    use crate::test_util::SeededEntropy;

    fn key(id: &str, byte: &str) -> String {
        format!("{id}:{}", byte.repeat(32))
    }

    fn counts(list: &[(SealedKind, &str, u64)]) -> Vec<KeyCount> {
        list.iter()
            .map(|&(kind, id, sealed)| KeyCount {
                kind,
                key_id: id.into(),
                sealed,
            })
            .collect()
    }

    fn app_key(position: i64) -> AppKey {
        AppKey {
            workspace: "org_x".into(),
            position,
        }
    }

    fn record(ring: &KeyRing, row: i64, e: &mut SeededEntropy) -> RecordRow {
        let answer = RecordedResponse {
            status: 201,
            headers: Vec::new(),
            body: format!(r#"{{"row":{row}}}"#),
        };
        let hash = format!("h{row}");
        let response = answer.seal(
            ring,
            SealContext::RecordedResponse {
                scope: "org_x",
                key_hash: &hash,
            },
            e,
        );
        RecordRow {
            row,
            scope: "org_x".into(),
            key_hash: hash,
            created_at: 1,
            response,
        }
    }

    #[test]
    fn a_window_moves_what_is_under_older_keys_and_counts_what_remains() {
        use SealedKind::*;
        let mut e = SeededEntropy::new(40);
        let a = ring(&key("a", "0a"));
        let both = ring(&format!("{},{}", key("b", "0b"), key("a", "0a")));
        let apps = vec![
            AppRow {
                key: app_key(1),
                version: 3,
                app: minted("under a", 1).seal(&a, &mut e),
            },
            AppRow {
                key: app_key(2),
                version: 1,
                app: minted("under b", 2).seal(&both, &mut e),
            },
        ];
        let records = vec![record(&a, 7, &mut e), record(&both, 8, &mut e)];
        // Before: 5 apps and 4 records under `a` in all, some outside this window.
        let before = counts(&[(Apps, "a", 5), (Apps, "b", 1), (IdempotencyRecords, "a", 4)]);
        let plan = plan(&both, &apps, &records, &before, &mut e);
        assert_eq!(plan.apps.len(), 1);
        assert_eq!((&plan.apps[0].key, plan.apps[0].version), (&app_key(1), 3));
        assert_eq!(plan.apps[0].app.key_ids(), ["b"]);
        assert_eq!(plan.apps[0].app.open(&both), apps[0].app.open(&a));
        assert_eq!(plan.records.len(), 1);
        assert_eq!(plan.records[0].row, 7);
        assert_eq!(plan.records[0].response.key_id(), Some("b"));
        assert_eq!(
            RecordedResponse::open(&plan.records[0].response, &both, records[0].context()),
            RecordedResponse::open(&records[0].response, &a, records[0].context()),
        );
        assert_eq!(
            plan.progress,
            ResealProgress {
                resealed: 2,
                remaining: 4 + 3
            }
        );
    }

    #[test]
    fn values_under_a_key_the_ring_lacks_neither_move_nor_remain() {
        use SealedKind::*;
        let mut e = SeededEntropy::new(41);
        let gone = ring(&key("old", "0c"));
        let b = ring(&key("b", "0b"));
        let apps = vec![AppRow {
            key: app_key(1),
            version: 1,
            app: minted("lost", 3).seal(&gone, &mut e),
        }];
        let before = counts(&[(Apps, "old", 1), (Apps, "b", 9)]);
        let plan = plan(&b, &apps, &[], &before, &mut e);
        assert!(plan.apps.is_empty());
        assert_eq!(
            plan.progress,
            ResealProgress {
                resealed: 0,
                remaining: 0
            }
        );
        let keys = secrets_keys(&b, &before);
        assert_eq!(
            serde_json::to_value(&keys).unwrap(),
            serde_json::json!({ "keys": [
                { "id": "b", "primary": true, "inRing": true,
                  "sealed": { "apps": 9, "idempotencyRecords": 0 } },
                { "id": "old", "primary": false, "inRing": false,
                  "sealed": { "apps": 1, "idempotencyRecords": 0 } },
            ] })
        );
    }

    #[test]
    fn the_keys_list_the_ring_in_order_with_zero_for_what_seals_nothing() {
        use SealedKind::*;
        let both = ring(&format!("{},{}", key("b", "0b"), key("a", "0a")));
        let keys = secrets_keys(
            &both,
            &counts(&[(IdempotencyRecords, "b", 2), (Apps, "gone", 0)]),
        );
        let ids: Vec<(&str, bool, SealedCounts)> = keys
            .keys
            .iter()
            .map(|k| (k.id.as_str(), k.primary, k.sealed))
            .collect();
        assert_eq!(
            ids,
            [
                (
                    "b",
                    true,
                    SealedCounts {
                        apps: 0,
                        idempotency_records: 2
                    }
                ),
                ("a", false, SealedCounts::default()),
            ]
        );
    }

    #[test]
    fn the_walk_goes_on_from_a_full_window_and_starts_over_after_a_short_one() {
        assert_eq!(next_cursor(WINDOW, Some(912)), Some(912));
        assert_eq!(next_cursor(WINDOW - 1, Some(912)), None);
        assert_eq!(next_cursor::<i64>(0, None), None);
        assert_eq!(next_cursor(WINDOW, Some(app_key(7))), Some(app_key(7)));
    }
}
