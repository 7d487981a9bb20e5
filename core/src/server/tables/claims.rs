//! The `idempotency_keys` table: each key's claim, with its fingerprint and the sealed
//! recorded answer, written in the same transaction as the request's writes; and the
//! hourly purge of expired claims.

use crate::rules::idempotency::Fingerprint;
use crate::server::failure::Failure;
use crate::server::idempotency::Claim;
use crate::server::seal::Sealed;
use crate::server::session::Session;
use crate::server::sql;
use crate::server::storage::{Database, Statement};
use crate::wire::time::Timestamp;
use serde::Deserialize;

/// A stored claim and its recorded answer.
#[derive(Debug, Clone)]
pub struct ClaimRecord {
    /// Whose request it was, and until when.
    pub claim: Claim,
    /// The sealed recorded answer.
    pub response: Sealed,
}

#[derive(Deserialize)]
struct ClaimRow {
    fingerprint: String,
    response: String,
    expires_at: i64,
}

/// The statement that frees the key if its claim has expired; it runs first in the
/// transaction that writes the new claim.
pub fn release_expired(scope: &str, key_hash: &str, now: Timestamp) -> Statement {
    Statement::new(
        sql::CLAIM_RELEASE_EXPIRED,
        vec![scope.into(), key_hash.into(), now.millis().into()],
    )
}

/// The statement claiming a key with the answer it records. It fails, rolling back the
/// whole transaction, if a live claim exists: of any number of concurrent requests with
/// one key, exactly one transaction commits.
pub fn insert(
    scope: &str,
    key_hash: &str,
    fingerprint: &Fingerprint,
    response: &Sealed,
    now: Timestamp,
    expires_at: Timestamp,
) -> Statement {
    Statement::new(
        sql::CLAIM_INSERT,
        vec![
            scope.into(),
            key_hash.into(),
            fingerprint.as_str().into(),
            response.as_str().into(),
            now.millis().into(),
            expires_at.millis().into(),
            response.key_id().unwrap_or_default().into(),
        ],
    )
}

/// The claim on a key, expired or not.
pub async fn find<D: Database>(
    db: &Session<D>,
    scope: &str,
    key_hash: &str,
) -> Result<Option<ClaimRecord>, Failure> {
    let row: Option<ClaimRow> = db
        .first(Statement::new(
            sql::CLAIM_GET,
            vec![scope.into(), key_hash.into()],
        ))
        .await?;
    Ok(row.map(|r| ClaimRecord {
        claim: Claim {
            fingerprint: Fingerprint::from_stored(r.fingerprint),
            expires_at: Timestamp::from_millis(r.expires_at),
        },
        response: Sealed::from_stored(r.response),
    }))
}

/// The statement removing at most `limit` of the claims expired at `now`, the longest
/// expired first: one chunk of the hourly purge, a row returned for each claim removed.
pub fn purge_expired(now: Timestamp, limit: u32) -> Statement {
    Statement::new(
        sql::CLAIMS_PURGE_EXPIRED,
        vec![now.millis().into(), limit.into()],
    )
}
