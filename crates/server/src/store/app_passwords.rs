use chrono::{DateTime, Duration, Utc};
use keyturn_protocol::wire::AppPasswordInfo;
use keyturn_protocol::{Label, LookupTag, Verifier, MAX_APP_PASSWORDS};
use serde::Serialize;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use super::{from_millis, is_constraint, millis, AuditKind, Store, StoreError};

/// A row as support staff see it: active or revoked.
#[derive(Clone, Debug, Serialize)]
pub struct AppPasswordRow {
    pub id: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl AppPasswordRow {
    fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.try_get("id")?,
            label: row.try_get("label")?,
            created_at: from_millis(row.try_get("created_at")?)?,
            last_used_at: row
                .try_get::<Option<i64>, _>("last_used_at")?
                .map(from_millis)
                .transpose()?,
            revoked_at: row
                .try_get::<Option<i64>, _>("revoked_at")?
                .map(from_millis)
                .transpose()?,
        })
    }

    pub fn info(&self) -> AppPasswordInfo {
        AppPasswordInfo {
            id: self.id.clone(),
            label: self.label.clone(),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        }
    }
}

/// An active password whose lookup tag matched a sign-in attempt.
pub struct Candidate {
    pub id: String,
    pub label: String,
    pub verifier: Verifier,
    pub last_used_at: Option<DateTime<Utc>>,
}

pub struct NewAppPassword<'a> {
    pub account_id: &'a str,
    pub idempotency_key: &'a str,
    /// SHA-256 of the request, so a reused key with another body is caught.
    pub request_hash: &'a str,
    pub label: &'a Label,
    pub verifier: &'a Verifier,
    pub lookup_tag: &'a LookupTag,
    pub client_addr: &'a str,
}

pub enum CreateOutcome {
    Created(AppPasswordInfo),
    /// The same Idempotency-Key and body were seen before: this is what was answered then.
    Replayed(AppPasswordInfo),
}

/// How long an Idempotency-Key is remembered.
const IDEMPOTENCY_TTL: Duration = Duration::hours(24);

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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
            .bind(millis(now - IDEMPOTENCY_TTL))
            .execute(&mut *tx)
            .await?;
        let earlier =
            sqlx::query("SELECT request_hash, response_body FROM idempotency_keys WHERE account_id = ? AND key = ?")
                .bind(new.account_id)
                .bind(new.idempotency_key)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(row) = earlier {
            let request_hash: String = row.try_get("request_hash")?;
            if request_hash != new.request_hash {
                return Err(StoreError::IdempotencyMismatch);
            }
            let body: String = row.try_get("response_body")?;
            let info = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            return Ok(CreateOutcome::Replayed(info));
        }
        let active: u32 =
            sqlx::query_scalar("SELECT COUNT(*) FROM app_passwords WHERE account_id = ? AND revoked_at IS NULL")
                .bind(new.account_id)
                .fetch_one(&mut *tx)
                .await?;
        if active >= MAX_APP_PASSWORDS {
            return Err(StoreError::LimitReached);
        }
        let info = AppPasswordInfo {
            id: Uuid::new_v4().to_string(),
            label: new.label.as_str().to_owned(),
            created_at: now,
            last_used_at: None,
        };
        sqlx::query(
            "INSERT INTO app_passwords (id, account_id, label, label_key, verifier, lookup_tag, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&info.id)
        .bind(new.account_id)
        .bind(new.label.as_str())
        .bind(new.label.uniqueness_key())
        .bind(new.verifier.as_str())
        .bind(new.lookup_tag.as_str())
        .bind(millis(now))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_constraint(&e, "UNIQUE") {
                StoreError::DuplicateLabel
            } else if is_constraint(&e, "limit_reached") {
                StoreError::LimitReached
            } else {
                e.into()
            }
        })?;
        let body = serde_json::to_string(&info).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO idempotency_keys (account_id, key, request_hash, response_body, created_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(new.account_id)
        .bind(new.idempotency_key)
        .bind(new.request_hash)
        .bind(body)
        .bind(millis(now))
        .execute(&mut *tx)
        .await?;
        Self::record_in(
            &mut tx,
            new.account_id,
            now,
            AuditKind::Created,
            new.label.as_str(),
            new.client_addr,
        )
        .await?;
        tx.commit().await?;
        Ok(CreateOutcome::Created(info))
    }

    /// Active passwords, newest first.
    pub async fn active_app_passwords(&self, account_id: &str) -> Result<Vec<AppPasswordRow>, StoreError> {
        self.app_passwords_where(account_id, "AND revoked_at IS NULL").await
    }

    /// Every password the account ever had, newest first; for support staff.
    pub async fn all_app_passwords(&self, account_id: &str) -> Result<Vec<AppPasswordRow>, StoreError> {
        self.app_passwords_where(account_id, "").await
    }

    async fn app_passwords_where(&self, account_id: &str, filter: &str) -> Result<Vec<AppPasswordRow>, StoreError> {
        let sql = format!(
            "SELECT id, label, created_at, last_used_at, revoked_at FROM app_passwords
             WHERE account_id = ? {filter} ORDER BY created_at DESC, rowid DESC"
        );
        let rows = sqlx::query(&sql).bind(account_id).fetch_all(&self.pool).await?;
        rows.iter().map(AppPasswordRow::from_row).collect()
    }

    pub async fn count_active_app_passwords(&self, account_id: &str) -> Result<u32, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM app_passwords WHERE account_id = ? AND revoked_at IS NULL")
                .bind(account_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Active passwords of the account with this lookup tag: almost always zero or one.
    pub async fn candidates(&self, account_id: &str, tag: &LookupTag) -> Result<Vec<Candidate>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, label, verifier, last_used_at FROM app_passwords
             WHERE account_id = ? AND lookup_tag = ? AND revoked_at IS NULL",
        )
        .bind(account_id)
        .bind(tag.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Candidate {
                    id: r.try_get("id")?,
                    label: r.try_get("label")?,
                    verifier: Verifier::from_stored(r.try_get("verifier")?),
                    last_used_at: r
                        .try_get::<Option<i64>, _>("last_used_at")?
                        .map(from_millis)
                        .transpose()?,
                })
            })
            .collect()
    }

    pub async fn mark_used(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE app_passwords SET last_used_at = ? WHERE id = ?")
            .bind(millis(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Revokes one active password of this account. `None` if there is no such active password (another
    /// account's id included).
    pub async fn revoke_app_password(
        &self,
        account_id: &str,
        id: &str,
        now: DateTime<Utc>,
        client_addr: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let label: Option<String> = sqlx::query_scalar(
            "UPDATE app_passwords SET revoked_at = ? WHERE account_id = ? AND id = ? AND revoked_at IS NULL
             RETURNING label",
        )
        .bind(millis(now))
        .bind(account_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(label) = &label {
            Self::record_in(&mut tx, account_id, now, AuditKind::Revoked, label, client_addr).await?;
        }
        tx.commit().await?;
        Ok(label)
    }

    /// The id of the active password with this label (any case), for the admin CLI.
    pub async fn active_id_by_label(&self, account_id: &str, label: &Label) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM app_passwords WHERE account_id = ? AND label_key = ? AND revoked_at IS NULL",
        )
        .bind(account_id)
        .bind(label.uniqueness_key())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Revoke All: returns how many were active.
    pub async fn revoke_all_app_passwords(
        &self,
        account_id: &str,
        now: DateTime<Utc>,
        client_addr: &str,
    ) -> Result<u32, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let revoked = Self::revoke_all_in(&mut tx, account_id, now, client_addr).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// Marks every active password of the account revoked and records it, inside the caller's transaction.
    pub(super) async fn revoke_all_in(
        conn: &mut SqliteConnection,
        account_id: &str,
        now: DateTime<Utc>,
        client_addr: &str,
    ) -> Result<u32, StoreError> {
        let revoked =
            sqlx::query("UPDATE app_passwords SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL")
                .bind(millis(now))
                .bind(account_id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        let revoked = u32::try_from(revoked).unwrap_or(u32::MAX);
        let detail = format!("{revoked} revoked");
        Self::record_in(conn, account_id, now, AuditKind::RevokedAll, &detail, client_addr).await?;
        Ok(revoked)
    }
}
