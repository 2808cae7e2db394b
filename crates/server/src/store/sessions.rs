use chrono::{DateTime, Utc};
use keyturn_protocol::wire::SessionInfo;
use keyturn_protocol::{Email, Verifier};
use sqlx::Row;
use uuid::Uuid;

use super::accounts::stored_email;
use super::{audit, from_millis, millis, AccountId, AuditKind, Origin, Store, StoreError};
use crate::session_token::{TokenHash, SESSION_ABSOLUTE, SESSION_IDLE};

/// A session's client when its sign-in sent no User-Agent, or it signed in before sessions kept one.
pub const UNKNOWN_CLIENT: &str = "Unknown app";

pub struct SessionRow {
    pub account: AccountId,
    pub email: Email,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Stores a new session of `client` (the app that signed in, in words); it ends [`SESSION_ABSOLUTE`] from
    /// `now` at the latest, returned. `password` is the primary password's hash the sign-in checked: if it
    /// changed meanwhile (a password change committed between the check and here), no session is made
    /// ([`StoreError::PasswordChanged`]), under the account's write lock so the change cannot slip between.
    pub async fn insert_session(
        &self,
        token: &TokenHash,
        account: &AccountId,
        client: &str,
        password: &Verifier,
        second_factor_checked: bool,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StoreError> {
        let expires_at = now + SESSION_ABSOLUTE;
        let mut tx = self.begin_write(account).await?;
        let current: Option<String> = sqlx::query_scalar("SELECT password_hash FROM accounts WHERE id = $1")
            .bind(account.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if current.as_deref() != Some(password.as_str()) {
            return Err(StoreError::PasswordChanged);
        }
        // Two-factor authentication turned on after this sign-in found it off: a code is needed now.
        if !second_factor_checked && super::second_factor::on_in(&mut tx, account).await? {
            return Err(StoreError::SecondFactorTurnedOn);
        }
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at, expires_at, id, client)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token.as_str())
        .bind(account.as_str())
        .bind(millis(now))
        .bind(millis(now))
        .bind(millis(expires_at))
        .bind(Uuid::new_v4().to_string())
        .bind(client)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
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

    /// The account's sessions (its signed-in devices), the newest sign-in first: those still live at `now`, or
    /// with `None` every one stored (for support staff, who see lapsed ones the purge has not yet deleted).
    /// `current` marks the one whose token is `current`.
    pub async fn sessions(
        &self,
        account: &AccountId,
        current: Option<&TokenHash>,
        now: Option<DateTime<Utc>>,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        let now = now.unwrap_or(DateTime::<Utc>::MIN_UTC + SESSION_IDLE);
        let rows = sqlx::query(
            "SELECT id, token_hash, created_at, last_seen_at, client FROM sessions
             WHERE account_id = $1 AND expires_at > $2 AND last_seen_at > $3
             ORDER BY created_at DESC, id",
        )
        .bind(account.as_str())
        .bind(millis(now))
        .bind(millis(now - SESSION_IDLE))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SessionInfo {
                    id: r.try_get("id")?,
                    created_at: from_millis(r.try_get("created_at")?)?,
                    last_seen_at: from_millis(r.try_get("last_seen_at")?)?,
                    client: Some(r.try_get::<String, _>("client")?)
                        .filter(|client| !client.is_empty())
                        .unwrap_or_else(|| UNKNOWN_CLIENT.to_owned()),
                    current: current
                        .is_some_and(|t| r.try_get::<String, _>("token_hash").is_ok_and(|h| h == t.as_str())),
                })
            })
            .collect()
    }

    /// Ends one session of this account by its id: its token stops working at once. `false` if the account
    /// has no such session (another account's id included).
    pub async fn end_session(
        &self,
        account: &AccountId,
        id: &str,
        origin: Origin,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write(account).await?;
        let client: Option<String> =
            sqlx::query_scalar("DELETE FROM sessions WHERE account_id = $1 AND id = $2 RETURNING client")
                .bind(account.as_str())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(client) = &client {
            audit::record_in(&mut tx, account, origin, AuditKind::SessionEnded, client, now).await?;
        }
        // Ended either way, so the connection goes back to the pool clean.
        tx.commit().await?;
        Ok(client.is_some())
    }

    pub async fn delete_session(&self, token: &TokenHash) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
