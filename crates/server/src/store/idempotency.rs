//! Idempotent creates: a client that lost the answer to a create sends it again under the same
//! `Idempotency-Key` and gets the same answer, and nothing is created twice. Keys are per account and kept
//! for 24 hours; only successful creates are remembered.

use chrono::{DateTime, Duration, Utc};
use keyturn_protocol::wire::AppPasswordInfo;
use keyturn_protocol::{Label, LookupTag, Scopes, Verifier};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use super::{millis, AccountId, StoreError};

/// How long an Idempotency-Key is remembered.
const TTL: Duration = Duration::hours(24);
/// Longest key accepted.
const MAX_KEY_LEN: usize = 255;

/// The client's `Idempotency-Key`: 1 to 255 characters after trimming.
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(header: &str) -> Option<Self> {
        let key = header.trim();
        (!key.is_empty() && key.len() <= MAX_KEY_LEN).then(|| Self(key.to_owned()))
    }
}

/// SHA-256 of what a create asks for, so a key reused with another body is caught.
pub struct RequestFingerprint(String);

impl RequestFingerprint {
    pub fn of(
        label: &Label,
        verifier: &Verifier,
        lookup_tag: &LookupTag,
        scopes: Scopes,
        expires_in_days: Option<i64>,
    ) -> Self {
        let mut digest = Sha256::new()
            .chain_update(label.as_str())
            .chain_update([0])
            .chain_update(verifier.as_str())
            .chain_update([0])
            .chain_update(lookup_tag.as_str());
        // A create asking for neither hashes as it did before scopes and expiry existed, so a retry that spans
        // the upgrade still replays.
        if scopes != Scopes::EVERYTHING || expires_in_days.is_some() {
            let expiry = expires_in_days.map_or_else(String::new, |days| days.to_string());
            digest = digest
                .chain_update([0])
                .chain_update(scopes.to_stored())
                .chain_update([0])
                .chain_update(expiry);
        }
        let digest = digest.finalize();
        Self(hex::encode(digest))
    }
}

/// What was answered to an earlier create with this key, if any; a mismatch if the body differed.
pub(super) async fn earlier_answer(
    conn: &mut AnyConnection,
    account: &AccountId,
    key: &IdempotencyKey,
    fingerprint: &RequestFingerprint,
    now: DateTime<Utc>,
) -> Result<Option<AppPasswordInfo>, StoreError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(millis(now - TTL))
        .execute(&mut *conn)
        .await?;
    let earlier =
        sqlx::query("SELECT request_hash, response_body FROM idempotency_keys WHERE account_id = $1 AND key = $2")
            .bind(account.as_str())
            .bind(&key.0)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(row) = earlier else { return Ok(None) };
    let request_hash: String = row.try_get("request_hash")?;
    if request_hash != fingerprint.0 {
        return Err(StoreError::IdempotencyMismatch);
    }
    let body: String = row.try_get("response_body")?;
    let info = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Some(info))
}

/// Forgets keys older than 24 hours; returns how many.
pub(super) async fn purge(conn: &mut AnyConnection, now: DateTime<Utc>) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(millis(now - TTL))
        .execute(conn)
        .await?
        .rows_affected())
}

/// Remembers the answer to a create, in the create's transaction.
pub(super) async fn remember(
    conn: &mut AnyConnection,
    account: &AccountId,
    key: &IdempotencyKey,
    fingerprint: &RequestFingerprint,
    answer: &AppPasswordInfo,
) -> Result<(), StoreError> {
    let body = serde_json::to_string(answer).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO idempotency_keys (account_id, key, request_hash, response_body, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(account.as_str())
    .bind(&key.0)
    .bind(&fingerprint.0)
    .bind(body)
    .bind(millis(answer.created_at))
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use keyturn_protocol::{AppPassword, VerifierParams};

    use super::*;

    /// A create asking for no limits hashes as every create did before scopes and expiry existed, so a retry
    /// across the upgrade still replays; asking for limits makes another fingerprint.
    #[test]
    fn a_plain_create_keeps_the_fingerprint_it_had_before_scopes() {
        let label = Label::parse("Mail").unwrap();
        let password = AppPassword::generate();
        let verifier = Verifier::build(password.expose().as_bytes(), VerifierParams::default()).unwrap();
        let tag = LookupTag::of(&password);
        let before = hex::encode(
            Sha256::new()
                .chain_update("Mail")
                .chain_update([0])
                .chain_update(verifier.as_str())
                .chain_update([0])
                .chain_update(tag.as_str())
                .finalize(),
        );
        let plain = RequestFingerprint::of(&label, &verifier, &tag, Scopes::EVERYTHING, None);
        assert_eq!(plain.0, before);
        let mail = Scopes::parse(&["mail"]).unwrap();
        let limited = RequestFingerprint::of(&label, &verifier, &tag, mail, None);
        let expiring = RequestFingerprint::of(&label, &verifier, &tag, Scopes::EVERYTHING, Some(30));
        assert!(limited.0 != before && expiring.0 != before && limited.0 != expiring.0);
    }

    #[test]
    fn a_key_is_trimmed_and_must_be_1_to_255_characters() {
        assert_eq!(IdempotencyKey::parse("  k  ").map(|k| k.0), Some("k".to_owned()));
        assert!(IdempotencyKey::parse("   ").is_none());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_some());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_none());
    }
}
