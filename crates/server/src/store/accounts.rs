use std::fmt;

use chrono::{DateTime, Utc};
use keyturn_protocol::{Email, Verifier};
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use super::{audit, count, from_millis, is_unique_violation, millis, AuditKind, Origin, Store, StoreError};
use crate::session_token::TokenHash;

/// An account's opaque id, made by the store.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AccountId(String);

impl AccountId {
    pub(super) fn from_stored(id: String) -> Self {
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub struct AccountRow {
    pub id: AccountId,
    pub email: Email,
    /// The primary password's argon2id verifier.
    pub password: Verifier,
    pub created_at: DateTime<Utc>,
}

impl AccountRow {
    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let email: String = row.try_get("email")?;
        Ok(Self {
            id: AccountId(row.try_get("id")?),
            email: stored_email(&email)?,
            password: Verifier::from_stored(row.try_get("password_hash")?),
            created_at: from_millis(row.try_get("created_at")?)?,
        })
    }
}

impl Store {
    pub async fn create_account(
        &self,
        email: &Email,
        password: &Verifier,
        now: DateTime<Utc>,
    ) -> Result<AccountRow, StoreError> {
        let id = AccountId(Uuid::new_v4().to_string());
        sqlx::query("INSERT INTO accounts (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id.as_str())
            .bind(email.as_str())
            .bind(password.as_str())
            .bind(millis(now))
            .execute(&self.pool)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::EmailTaken
                } else {
                    e.into()
                }
            })?;
        Ok(AccountRow {
            id,
            email: email.clone(),
            password: password.clone(),
            created_at: now,
        })
    }

    pub async fn find_account_by_email(&self, email: &Email) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM accounts WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(AccountRow::from_row).transpose()
    }

    pub async fn find_account_by_id(&self, id: &AccountId) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM accounts WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(AccountRow::from_row).transpose()
    }

    pub async fn list_accounts(&self) -> Result<Vec<(AccountRow, u32)>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.*, (SELECT COUNT(*) FROM app_passwords p WHERE p.account_id = a.id AND p.revoked_at IS NULL)
                 AS active
             FROM accounts a ORDER BY a.email",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((AccountRow::from_row(r)?, count(r.try_get("active")?)?)))
            .collect()
    }

    /// Replaces the stored hash `old` of the primary password with `new`, the same password hashed with the
    /// server's current parameters: only if `old` is still the one stored (a change meanwhile is kept, never
    /// overwritten with the old password). Whether it replaced it.
    pub async fn rehash_password(
        &self,
        account: &AccountId,
        old: &Verifier,
        new: &Verifier,
    ) -> Result<bool, StoreError> {
        let replaced = sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
            .bind(new.as_str())
            .bind(account.as_str())
            .bind(old.as_str())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(replaced == 1)
    }

    /// Sets a new primary password and, in the same transaction, revokes every app-specific password and
    /// ends every session but `keep`. Returns the ids of the app passwords revoked.
    pub async fn change_password(
        &self,
        account: &AccountId,
        password: &Verifier,
        keep: &TokenHash,
        origin: Origin,
        now: DateTime<Utc>,
    ) -> Result<Vec<keyturn_protocol::AppPasswordId>, StoreError> {
        let mut tx = self.begin_write(account).await?;
        sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
            .bind(password.as_str())
            .bind(account.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2")
            .bind(account.as_str())
            .bind(keep.as_str())
            .execute(&mut *tx)
            .await?;
        audit::record_in(&mut tx, account, origin, AuditKind::PasswordChanged, "", now).await?;
        let revoked = Self::revoke_all_in(&mut tx, account, origin, now).await?;
        tx.commit().await?;
        Ok(revoked)
    }
}

/// An email read back from the database, where only parsed ones are written.
pub(super) fn stored_email(email: &str) -> Result<Email, StoreError> {
    Email::parse(email).map_err(|e| StoreError::Corrupt(format!("email {email:?}: {e}")))
}
