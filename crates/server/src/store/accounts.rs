use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::{from_millis, is_constraint, millis, AuditKind, Store, StoreError};

pub struct AccountRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

impl AccountRow {
    fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            password_hash: row.try_get("password_hash")?,
            created_at: from_millis(row.try_get("created_at")?)?,
        })
    }
}

impl Store {
    pub async fn create_account(
        &self,
        email: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<AccountRow, StoreError> {
        let id = Uuid::new_v4().to_string();
        sqlx::query("INSERT INTO accounts (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)")
            .bind(&id)
            .bind(email)
            .bind(password_hash)
            .bind(millis(now))
            .execute(&self.pool)
            .await
            .map_err(|e| {
                if is_constraint(&e, "UNIQUE") {
                    StoreError::EmailTaken
                } else {
                    e.into()
                }
            })?;
        Ok(AccountRow {
            id,
            email: email.to_owned(),
            password_hash: password_hash.to_owned(),
            created_at: now,
        })
    }

    pub async fn find_account_by_email(&self, email: &str) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM accounts WHERE email = ?")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(AccountRow::from_row).transpose()
    }

    pub async fn account_by_email(&self, email: &str) -> Result<AccountRow, StoreError> {
        self.find_account_by_email(email)
            .await?
            .ok_or(StoreError::NoSuchAccount)
    }

    pub async fn find_account_by_id(&self, id: &str) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM accounts WHERE id = ?")
            .bind(id)
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
            .map(|r| Ok((AccountRow::from_row(r)?, r.try_get::<u32, _>("active")?)))
            .collect()
    }

    /// Sets a new primary password and, in the same transaction, revokes every app-specific password and
    /// ends every session but `keep_session`. Returns how many app passwords were revoked.
    pub async fn change_password(
        &self,
        account_id: &str,
        password_hash: &str,
        keep_session: &str,
        now: DateTime<Utc>,
        client_addr: &str,
    ) -> Result<u32, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE accounts SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE account_id = ? AND token_hash <> ?")
            .bind(account_id)
            .bind(keep_session)
            .execute(&mut *tx)
            .await?;
        Self::record_in(&mut tx, account_id, now, AuditKind::PasswordChanged, "", client_addr).await?;
        let revoked = Self::revoke_all_in(&mut tx, account_id, now, client_addr).await?;
        tx.commit().await?;
        Ok(revoked)
    }
}
