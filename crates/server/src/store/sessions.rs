use chrono::{DateTime, Utc};
use keyturn_protocol::Email;
use sqlx::Row;

use super::accounts::stored_email;
use super::{from_millis, millis, AccountId, Store, StoreError};
use crate::session_token::{TokenHash, SESSION_ABSOLUTE, SESSION_IDLE};

pub struct SessionRow {
    pub account: AccountId,
    pub email: Email,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Stores a new session; it ends [`SESSION_ABSOLUTE`] from `now` at the latest, returned.
    pub async fn insert_session(
        &self,
        token: &TokenHash,
        account: &AccountId,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StoreError> {
        let expires_at = now + SESSION_ABSOLUTE;
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token.as_str())
        .bind(account.as_str())
        .bind(millis(now))
        .bind(millis(now))
        .bind(millis(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(expires_at)
    }

    pub async fn find_session(&self, token: &TokenHash) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT s.account_id, a.email, s.last_seen_at, s.expires_at
             FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = $1",
        )
        .bind(token.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let email: String = row.try_get("email")?;
        Ok(Some(SessionRow {
            account: AccountId::from_stored(row.try_get("account_id")?),
            email: stored_email(&email)?,
            last_seen_at: from_millis(row.try_get("last_seen_at")?)?,
            expires_at: from_millis(row.try_get("expires_at")?)?,
        }))
    }

    pub async fn touch_session(&self, token: &TokenHash, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(millis(now))
            .bind(token.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes sessions past their absolute or idle end, idempotency keys older than 24 hours, and throttle
    /// counts idle for 25 hours, so none lingers in the database. Returns how many rows went.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
            .bind(millis(now))
            .bind(millis(now - SESSION_IDLE))
            .execute(&mut *conn)
            .await?
            .rows_affected();
        let keys = super::idempotency::purge(&mut conn, now).await?;
        Ok(sessions + keys + Self::purge_throttle_counts(&mut conn, super::millis(now)).await?)
    }

    pub async fn delete_session(&self, token: &TokenHash) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
