//! The `idempotency_keys` table: each key's claim, with its fingerprint and the sealed
//! recorded answer, written in the same transaction as the request's writes.

use super::sql;
use super::{n, s, Store};
use crate::error::ApiResult;
use connect_core::rules::idempotency::{Claim, Fingerprint};
use connect_core::server::seal::Sealed;
use connect_core::wire::time::Timestamp;
use serde::Deserialize;
use worker::D1PreparedStatement;

/// A stored claim and its recorded answer.
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

impl Store {
    /// The statement that frees the key if its claim has expired; it runs first in the
    /// transaction that writes the new claim.
    pub fn release_expired_claim(
        &self,
        scope: &str,
        key_hash: &str,
        now: Timestamp,
    ) -> ApiResult<D1PreparedStatement> {
        self.stmt(
            sql::CLAIM_RELEASE_EXPIRED,
            &[s(scope), s(key_hash), n(now.millis())],
        )
    }

    /// The statement claiming a key with the answer it records. It fails, rolling back the
    /// whole transaction, if a live claim exists: of any number of concurrent requests
    /// with one key, exactly one transaction commits.
    pub fn claim(
        &self,
        scope: &str,
        key_hash: &str,
        fingerprint: &Fingerprint,
        response: &Sealed,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> ApiResult<D1PreparedStatement> {
        self.stmt(
            sql::CLAIM_INSERT,
            &[
                s(scope),
                s(key_hash),
                s(fingerprint.as_str()),
                s(response.as_str()),
                n(now.millis()),
                n(expires_at.millis()),
                s(response.key_id().unwrap_or_default()),
            ],
        )
    }

    /// The claim on a key, expired or not.
    pub async fn find_claim(&self, scope: &str, key_hash: &str) -> ApiResult<Option<ClaimRecord>> {
        let row: Option<ClaimRow> = self
            .first(self.stmt(sql::CLAIM_GET, &[s(scope), s(key_hash)])?)
            .await?;
        Ok(row.map(|r| ClaimRecord {
            claim: Claim {
                fingerprint: Fingerprint::from_stored(r.fingerprint),
                expires_at: Timestamp::from_millis(r.expires_at),
            },
            response: Sealed::from_stored(r.response),
        }))
    }

    /// Removes at most `limit` of the claims expired at `now`, the longest expired first;
    /// returns how many.
    pub async fn purge_expired_claims(&self, now: Timestamp, limit: u32) -> ApiResult<usize> {
        self.run(self.stmt(
            sql::CLAIMS_PURGE_EXPIRED,
            &[n(now.millis()), n(limit.into())],
        )?)
        .await
    }
}
