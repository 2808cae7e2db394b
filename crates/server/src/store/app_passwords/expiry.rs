//! Expiry: a password past its end is marked expired (revoked at that moment) with a line in the audit
//! trail, when its account is next written or read, and by the server's periodic sweep.

use chrono::{DateTime, Utc};
use keyturn_protocol::AppPasswordId;
use sqlx::{AnyConnection, Row};

use crate::store::{audit, from_millis, millis, AccountId, AuditKind, Origin, Store, StoreError};

impl Store {
    /// Marks the account's passwords that are past their expiry expired, each with an "expired" line in the
    /// audit trail at the moment it expired. Returns their ids.
    pub async fn expire_due(&self, account: &AccountId, now: DateTime<Utc>) -> Result<Vec<AppPasswordId>, StoreError> {
        // A read first: almost always nothing is due, and then no write lock is taken.
        let due: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM app_passwords
             WHERE account_id = $1 AND revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= $2 LIMIT 1",
        )
        .bind(account.as_str())
        .bind(millis(now))
        .fetch_optional(&self.pool)
        .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write(account).await?;
        let expired = expire_due_in(&mut tx, account, now).await?;
        tx.commit().await?;
        Ok(expired)
    }

    /// [`Store::expire_due`] for every account at once: the server's periodic sweep. Returns how many expired.
    pub async fn expire_all_due(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let due: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT account_id FROM app_passwords
             WHERE revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= $1",
        )
        .bind(millis(now))
        .fetch_all(&self.pool)
        .await?;
        let mut expired = 0;
        for account in due {
            expired += self.expire_due(&AccountId::from_stored(account), now).await?.len() as u64;
        }
        Ok(expired)
    }
}

/// Marks the account's passwords past their expiry expired (revoked at that moment), inside the caller's
/// writing transaction, and records each.
pub(super) async fn expire_due_in(
    conn: &mut AnyConnection,
    account: &AccountId,
    now: DateTime<Utc>,
) -> Result<Vec<AppPasswordId>, StoreError> {
    let rows = sqlx::query(
        "UPDATE app_passwords SET revoked_at = expires_at
         WHERE account_id = $1 AND revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= $2
         RETURNING id, label, expires_at",
    )
    .bind(account.as_str())
    .bind(millis(now))
    .fetch_all(&mut *conn)
    .await?;
    let mut expired = Vec::with_capacity(rows.len());
    for row in rows {
        let label: String = row.try_get("label")?;
        let at = from_millis(row.try_get("expires_at")?)?;
        audit::record_in(conn, account, Origin::Server, AuditKind::Expired, &label, at).await?;
        expired.push(AppPasswordId::new(row.try_get::<String, _>("id")?));
    }
    Ok(expired)
}
