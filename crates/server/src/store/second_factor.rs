//! Two-factor authentication rows: the account's TOTP secret (pending until confirmed) with the last step
//! it accepted, and its recovery codes' hashes. Every change is audited in the same transaction.

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};
use zeroize::Zeroizing;

use super::audit::{record_in, AuditKind, Origin};
use super::{count, from_millis, millis, AccountId, Store, StoreError};
use crate::session_token::TokenHash;

/// An account's second factor as stored.
pub struct SecondFactorRow {
    /// Base32; never logged.
    pub secret: Zeroizing<String>,
    /// `None` while the enrolment waits for its first code.
    pub enabled_at: Option<DateTime<Utc>>,
    /// The newest time step a code was accepted for.
    pub last_step: Option<u64>,
}

impl Store {
    pub async fn second_factor(&self, account: &AccountId) -> Result<Option<SecondFactorRow>, StoreError> {
        let row = sqlx::query("SELECT secret, enabled_at, last_step FROM second_factors WHERE account_id = $1")
            .bind(account.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let enabled_at: Option<i64> = row.try_get("enabled_at")?;
        let last_step: Option<i64> = row.try_get("last_step")?;
        Ok(Some(SecondFactorRow {
            secret: Zeroizing::new(row.try_get("secret")?),
            enabled_at: enabled_at.map(from_millis).transpose()?,
            last_step: last_step.and_then(|s| u64::try_from(s).ok()),
        }))
    }

    /// Whether two-factor authentication is on (confirmed) for the account.
    pub async fn second_factor_on(&self, account: &AccountId) -> Result<bool, StoreError> {
        Ok(self
            .second_factor(account)
            .await?
            .is_some_and(|row| row.enabled_at.is_some()))
    }

    /// Starts an enrolment with `secret`, replacing an earlier pending one; refused when it is already on.
    pub async fn begin_second_factor(
        &self,
        account: &AccountId,
        secret: &str,
        origin: Origin,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write(account).await?;
        if on_in(&mut tx, account).await? {
            return Err(StoreError::SecondFactorEnabled);
        }
        sqlx::query("DELETE FROM second_factors WHERE account_id = $1")
            .bind(account.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO second_factors (account_id, secret, created_at) VALUES ($1, $2, $3)")
            .bind(account.as_str())
            .bind(secret)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
        record_in(&mut tx, account, origin, AuditKind::SecondFactorPending, "", now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Turns the pending enrolment with `secret` on, its first code's `step` accepted, with new recovery codes
    /// (their hashes). `Ok(false)` when that secret is not (or no longer) the one pending.
    ///
    /// Every session but `keep` (the one turning it on) ends: one signed in with the password alone is not
    /// left standing beside the second factor.
    #[allow(clippy::too_many_arguments)]
    pub async fn enable_second_factor(
        &self,
        account: &AccountId,
        secret: &str,
        step: u64,
        recovery_hashes: &[String],
        keep: &TokenHash,
        origin: Origin,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write(account).await?;
        session_still_open(&mut tx, account, keep).await?;
        let enabled = sqlx::query(
            "UPDATE second_factors SET enabled_at = $1, last_step = $2
             WHERE account_id = $3 AND secret = $4 AND enabled_at IS NULL",
        )
        .bind(millis(now))
        .bind(step_value(step))
        .bind(account.as_str())
        .bind(secret)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if enabled == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
            .bind(account.as_str())
            .execute(&mut *tx)
            .await?;
        for hash in recovery_hashes {
            sqlx::query("INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)")
                .bind(account.as_str())
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        end_other_sessions(&mut tx, account, Some(keep)).await?;
        record_in(&mut tx, account, origin, AuditKind::SecondFactorOn, "", now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Accepts a code's time step if it is newer than the last one accepted: one statement, so two requests
    /// with the same code cannot both pass.
    pub async fn accept_step(&self, account: &AccountId, step: u64) -> Result<bool, StoreError> {
        let accepted = sqlx::query(
            "UPDATE second_factors SET last_step = $1
             WHERE account_id = $2 AND enabled_at IS NOT NULL AND (last_step IS NULL OR last_step < $3)",
        )
        .bind(step_value(step))
        .bind(account.as_str())
        .bind(step_value(step))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(accepted == 1)
    }

    /// Spends a recovery code (by its hash); `false` if it is not one of the account's unused codes.
    pub async fn use_recovery_code(
        &self,
        account: &AccountId,
        code_hash: &str,
        origin: Origin,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write(account).await?;
        let used = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE account_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(millis(now))
        .bind(account.as_str())
        .bind(code_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if used == 1 {
            // How many are left, in the same transaction: the line says it ("7"), so the user knows when to
            // make new ones.
            let left: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL")
                    .bind(account.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
            record_in(
                &mut tx,
                account,
                origin,
                AuditKind::RecoveryCodeUsed,
                &left.to_string(),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(used == 1)
    }

    pub async fn recovery_codes_left(&self, account: &AccountId) -> Result<u32, StoreError> {
        let left: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL")
                .bind(account.as_str())
                .fetch_one(&self.pool)
                .await?;
        count(left)
    }

    /// Turns two-factor authentication off (or drops a pending enrolment) and deletes the recovery codes,
    /// audited as `kind`. `false` if there was nothing to remove. Every session but `keep` ends (all of them
    /// for support's reset, `None`): a change to how the account signs in signs every other device out.
    pub async fn remove_second_factor(
        &self,
        account: &AccountId,
        kind: AuditKind,
        keep: Option<&TokenHash>,
        origin: Origin,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write(account).await?;
        if let Some(keep) = keep {
            session_still_open(&mut tx, account, keep).await?;
        }
        let was_on: Option<Option<i64>> =
            sqlx::query_scalar("SELECT enabled_at FROM second_factors WHERE account_id = $1")
                .bind(account.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let removed = sqlx::query("DELETE FROM second_factors WHERE account_id = $1")
            .bind(account.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
            .bind(account.as_str())
            .execute(&mut *tx)
            .await?;
        // A setup never confirmed was never on: nothing to tell, no device to sign out.
        if was_on.flatten().is_some() {
            end_other_sessions(&mut tx, account, keep).await?;
            record_in(&mut tx, account, origin, kind, "", now).await?;
        }
        tx.commit().await?;
        Ok(removed == 1)
    }
}

/// Steps are counted from 1970 in 30 s: far inside an i64 for as long as this code runs.
fn step_value(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

/// Deletes the account's sessions but `keep` (all of them with `None`), in the caller's transaction.
async fn end_other_sessions(
    conn: &mut AnyConnection,
    account: &AccountId,
    keep: Option<&TokenHash>,
) -> Result<(), StoreError> {
    match keep {
        Some(keep) => {
            sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2")
                .bind(account.as_str())
                .bind(keep.as_str())
                .execute(&mut *conn)
                .await?
        }
        None => {
            sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                .bind(account.as_str())
                .execute(&mut *conn)
                .await?
        }
    };
    Ok(())
}

/// The session acting (`keep`) is still there, under the account's lock: one a password change ended while this
/// request waited must not turn two-factor authentication on or off, nor make an app-specific password.
pub(super) async fn session_still_open(
    conn: &mut AnyConnection,
    account: &AccountId,
    keep: &TokenHash,
) -> Result<(), StoreError> {
    let open: Option<i64> = sqlx::query_scalar("SELECT 1 FROM sessions WHERE token_hash = $1 AND account_id = $2")
        .bind(keep.as_str())
        .bind(account.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    open.map(drop).ok_or(StoreError::SessionEnded)
}

/// Whether the account's second factor is on (confirmed), read in the caller's transaction.
pub(super) async fn on_in(conn: &mut AnyConnection, account: &AccountId) -> Result<bool, StoreError> {
    let on: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM second_factors WHERE account_id = $1 AND enabled_at IS NOT NULL")
            .bind(account.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(on.is_some())
}
