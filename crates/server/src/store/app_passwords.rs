use chrono::{DateTime, Utc};
use keyturn_protocol::wire::AppPasswordInfo;
use keyturn_protocol::{AppPasswordId, ErrorCode, Label, LookupTag, Scopes, Verifier, MAX_APP_PASSWORDS};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::session_token::TokenHash;

use super::idempotency::{self, IdempotencyKey, RequestFingerprint};
use super::{audit, is_limit_trigger, is_unique_violation, millis, optional_millis};
use super::{count, AccountId, AuditKind, Backend, Origin, Store, StoreError};

mod expiry;
mod revoke;
mod row;

use expiry::expire_due_in;
use row::stored_scopes;
pub use row::AppPasswordRow;

/// What the `app_passwords_limit` trigger of the first migration raises (a test keeps the two equal).
pub(super) const LIMIT_TRIGGER_MESSAGE: &str = ErrorCode::LimitReached.as_str();

/// An account's passwords, newest first (the later insert first within one millisecond); the second parameter
/// includes revoked ones. Read through the `app_passwords_account` index (migration 0003).
macro_rules! list_ordered_by {
    ($insert_order:literal) => {
        concat!(
            "SELECT id, label, scopes, created_at, last_used_at, expires_at, revoked_at FROM app_passwords
     WHERE account_id = $1 AND ($2 OR revoked_at IS NULL) ORDER BY created_at DESC, ",
            $insert_order,
            " DESC"
        )
    };
}

/// The list's query in each backend's words: SQLite numbers rows by itself, PostgreSQL by the `seq` column.
pub(super) fn list(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => list_ordered_by!("rowid"),
        Backend::Postgres => list_ordered_by!("seq"),
    }
}

/// An active password whose lookup tag matched a sign-in attempt.
pub struct Candidate {
    pub id: AppPasswordId,
    pub label: String,
    pub scopes: Scopes,
    pub verifier: Verifier,
    pub last_used_at: Option<DateTime<Utc>>,
}

pub struct NewAppPassword<'a> {
    pub account: &'a AccountId,
    /// The session asking: checked again inside the write, so a password change that ended it meanwhile wins.
    pub session: &'a TokenHash,
    pub key: &'a IdempotencyKey,
    pub fingerprint: &'a RequestFingerprint,
    pub label: &'a Label,
    pub verifier: &'a Verifier,
    pub lookup_tag: &'a LookupTag,
    pub scopes: Scopes,
    pub expires_at: Option<DateTime<Utc>>,
    pub origin: Origin,
}

pub enum CreateOutcome {
    Created(AppPasswordInfo),
    /// The same Idempotency-Key and body were seen before: this is what was answered then.
    Replayed(AppPasswordInfo),
}

impl Store {
    /// Creates one app password, or replays an earlier create with the same key.
    ///
    /// `BEGIN IMMEDIATE` takes the write lock before the checks, so concurrent creates see each other's rows;
    /// the limit trigger and the unique label index hold even if this code were wrong.
    pub async fn create_app_password(
        &self,
        new: NewAppPassword<'_>,
        now: DateTime<Utc>,
    ) -> Result<CreateOutcome, StoreError> {
        let mut tx = self.begin_write(new.account).await?;
        // The session again, under the account's write lock: a password change (which ends every other
        // session and revokes every app password) that committed after this request's own check must not be
        // outlived by a password this request makes.
        super::second_factor::session_still_open(&mut tx, new.account, new.session).await?;
        if let Some(answer) = idempotency::earlier_answer(&mut tx, new.account, new.key, new.fingerprint, now).await? {
            return Ok(CreateOutcome::Replayed(answer));
        }
        // Expired passwords stop counting toward the limit and free their label and tag, for the trigger too.
        expire_due_in(&mut tx, new.account, now).await?;
        let active = count_active(&mut tx, new.account).await?;
        if active >= MAX_APP_PASSWORDS {
            return Err(StoreError::LimitReached);
        }
        // Checked here, under the write lock, so the unique indexes' violations below can only be the label's;
        // the tag's index holds even if this check were wrong.
        let tag_taken: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM app_passwords WHERE account_id = $1 AND lookup_tag = $2 AND revoked_at IS NULL",
        )
        .bind(new.account.as_str())
        .bind(new.lookup_tag.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if tag_taken.is_some() {
            return Err(StoreError::LookupTagConflict);
        }
        let info = AppPasswordInfo {
            id: AppPasswordId::new(Uuid::new_v4().to_string()),
            label: new.label.as_str().to_owned(),
            created_at: now,
            last_used_at: None,
            scopes: new.scopes,
            expires_at: new.expires_at,
        };
        sqlx::query(
            "INSERT INTO app_passwords
             (id, account_id, label, label_key, verifier, lookup_tag, created_at, scopes, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(info.id.as_str())
        .bind(new.account.as_str())
        .bind(new.label.as_str())
        .bind(new.label.uniqueness_key())
        .bind(new.verifier.as_str())
        .bind(new.lookup_tag.as_str())
        .bind(millis(now))
        .bind(new.scopes.to_stored())
        .bind(new.expires_at.map(millis))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::DuplicateLabel
            } else if is_limit_trigger(&e) {
                StoreError::LimitReached
            } else {
                e.into()
            }
        })?;
        idempotency::remember(&mut tx, new.account, new.key, new.fingerprint, &info).await?;
        audit::record_in(
            &mut tx,
            new.account,
            new.origin,
            AuditKind::Created,
            new.label.as_str(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(CreateOutcome::Created(info))
    }

    /// Active passwords, newest first. One that expired since the last look is marked expired first (a write
    /// only then; a list with none due is one read).
    pub async fn active_app_passwords(
        &self,
        account: &AccountId,
        now: DateTime<Utc>,
    ) -> Result<Vec<AppPasswordRow>, StoreError> {
        let mut rows = self.app_passwords(account, false).await?;
        if rows.iter().any(|row| row.is_due(now)) {
            self.expire_due(account, now).await?;
            rows.retain(|row| !row.is_due(now));
        }
        Ok(rows)
    }

    /// Every password the account ever had, newest first; for support staff.
    pub async fn all_app_passwords(&self, account: &AccountId) -> Result<Vec<AppPasswordRow>, StoreError> {
        self.app_passwords(account, true).await
    }

    async fn app_passwords(&self, account: &AccountId, with_revoked: bool) -> Result<Vec<AppPasswordRow>, StoreError> {
        let rows = sqlx::query(list(self.backend))
            .bind(account.as_str())
            .bind(with_revoked)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(AppPasswordRow::from_row).collect()
    }

    /// Active passwords not yet past their expiry.
    pub async fn count_active_app_passwords(&self, account: &AccountId, now: DateTime<Utc>) -> Result<u32, StoreError> {
        let active = sqlx::query_scalar(
            "SELECT COUNT(*) FROM app_passwords
             WHERE account_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(account.as_str())
        .bind(millis(now))
        .fetch_one(&self.pool)
        .await?;
        count(active)
    }

    /// Active, unexpired passwords of the account with this lookup tag: almost always zero or one.
    pub async fn candidates(
        &self,
        account: &AccountId,
        tag: &LookupTag,
        now: DateTime<Utc>,
    ) -> Result<Vec<Candidate>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, label, scopes, verifier, last_used_at FROM app_passwords
             WHERE account_id = $1 AND lookup_tag = $2 AND revoked_at IS NULL
             AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(account.as_str())
        .bind(tag.as_str())
        .bind(millis(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Candidate {
                    id: AppPasswordId::new(r.try_get::<String, _>("id")?),
                    label: r.try_get("label")?,
                    scopes: stored_scopes(r)?,
                    verifier: Verifier::from_stored(r.try_get("verifier")?),
                    last_used_at: optional_millis(r.try_get("last_used_at")?)?,
                })
            })
            .collect()
    }

    pub async fn mark_used(&self, id: &AppPasswordId, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE app_passwords SET last_used_at = $1 WHERE id = $2")
            .bind(millis(now))
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Gives one active password of this account a new label; `None` if there is no such active password
    /// (another account's id included). The label must be free among the account's active passwords.
    pub async fn rename_app_password(
        &self,
        account: &AccountId,
        id: &AppPasswordId,
        label: &Label,
        origin: Origin,
        now: DateTime<Utc>,
    ) -> Result<Option<AppPasswordRow>, StoreError> {
        let mut tx = self.begin_write(account).await?;
        expire_due_in(&mut tx, account, now).await?;
        let row = sqlx::query(
            "UPDATE app_passwords SET label = $1, label_key = $2
             WHERE account_id = $3 AND id = $4 AND revoked_at IS NULL
             RETURNING id, label, scopes, created_at, last_used_at, expires_at, revoked_at",
        )
        .bind(label.as_str())
        .bind(label.uniqueness_key())
        .bind(account.as_str())
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::DuplicateLabel
            } else {
                e.into()
            }
        })?;
        if row.is_some() {
            audit::record_in(&mut tx, account, origin, AuditKind::Renamed, label.as_str(), now).await?;
        }
        // Committed either way: the expiries marked above stand even when there was nothing to rename.
        tx.commit().await?;
        row.as_ref().map(AppPasswordRow::from_row).transpose()
    }

    /// The id of the active, unexpired password with this label (any case), for the admin CLI.
    pub async fn active_id_by_label(
        &self,
        account: &AccountId,
        label: &Label,
        now: DateTime<Utc>,
    ) -> Result<Option<AppPasswordId>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM app_passwords WHERE account_id = $1 AND label_key = $2 AND revoked_at IS NULL
             AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(account.as_str())
        .bind(label.uniqueness_key())
        .bind(millis(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(id.map(AppPasswordId::new))
    }
}

async fn count_active(conn: &mut AnyConnection, account: &AccountId) -> Result<u32, StoreError> {
    let active = sqlx::query_scalar("SELECT COUNT(*) FROM app_passwords WHERE account_id = $1 AND revoked_at IS NULL")
        .bind(account.as_str())
        .fetch_one(conn)
        .await?;
    count(active)
}

#[cfg(test)]
mod tests;
