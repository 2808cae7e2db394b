//! Revoking one password, or all of an account's at once (Revoke All, and a password change).

use chrono::{DateTime, Utc};
use keyturn_protocol::AppPasswordId;
use sqlx::AnyConnection;

use super::expiry::expire_due_in;
use crate::store::{audit, millis, AccountId, AuditKind, Origin, Store, StoreError};

impl Store {
    /// Revokes one active password of this account and returns its label; `None` if there is no such active
    /// password (another account's id included).
    pub async fn revoke_app_password(
        &self,
        account: &AccountId,
        id: &AppPasswordId,
        origin: Origin,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.begin_write(account).await?;
        // One past its expiry is expired, not revoked: marked so first, and then not found here.
        expire_due_in(&mut tx, account, now).await?;
        let label: Option<String> = sqlx::query_scalar(
            "UPDATE app_passwords SET revoked_at = $1 WHERE account_id = $2 AND id = $3 AND revoked_at IS NULL
             RETURNING label",
        )
        .bind(millis(now))
        .bind(account.as_str())
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(label) = &label {
            audit::record_in(&mut tx, account, origin, AuditKind::Revoked, label, now).await?;
        }
        tx.commit().await?;
        Ok(label)
    }

    /// Revoke All: returns the ids of the passwords that were active.
    pub async fn revoke_all_app_passwords(
        &self,
        account: &AccountId,
        origin: Origin,
        now: DateTime<Utc>,
    ) -> Result<Vec<AppPasswordId>, StoreError> {
        let mut tx = self.begin_write(account).await?;
        let revoked = Self::revoke_all_in(&mut tx, account, origin, now).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// Marks every active password of the account revoked and records it, inside the caller's transaction;
    /// those past their expiry are marked expired instead, and not counted.
    pub(in crate::store) async fn revoke_all_in(
        conn: &mut AnyConnection,
        account: &AccountId,
        origin: Origin,
        now: DateTime<Utc>,
    ) -> Result<Vec<AppPasswordId>, StoreError> {
        expire_due_in(conn, account, now).await?;
        let revoked: Vec<String> = sqlx::query_scalar(
            "UPDATE app_passwords SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL RETURNING id",
        )
        .bind(millis(now))
        .bind(account.as_str())
        .fetch_all(&mut *conn)
        .await?;
        let detail = format!("{} revoked", revoked.len());
        audit::record_in(conn, account, origin, AuditKind::RevokedAll, &detail, now).await?;
        Ok(revoked.into_iter().map(AppPasswordId::new).collect())
    }
}
