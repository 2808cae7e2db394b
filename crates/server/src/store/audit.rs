use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{Row, SqliteConnection};

use super::{from_millis, millis, Store, StoreError};

/// What support staff see in `keyturn-server audit EMAIL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditKind {
    Created,
    Revoked,
    RevokedAll,
    SignIn,
    FailedSignIn,
    SignOut,
    AppSignIn,
    FailedAppSignIn,
    PasswordChanged,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Created => "created",
            AuditKind::Revoked => "revoked",
            AuditKind::RevokedAll => "revoked-all",
            AuditKind::SignIn => "sign-in",
            AuditKind::FailedSignIn => "failed sign-in",
            AuditKind::SignOut => "sign-out",
            AuditKind::AppSignIn => "app sign-in",
            AuditKind::FailedAppSignIn => "failed app sign-in",
            AuditKind::PasswordChanged => "password changed",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub detail: String,
    pub client_addr: String,
}

impl Store {
    pub async fn record(
        &self,
        account_id: &str,
        now: DateTime<Utc>,
        kind: AuditKind,
        detail: &str,
        client_addr: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        Self::record_in(&mut conn, account_id, now, kind, detail, client_addr).await
    }

    pub(super) async fn record_in(
        conn: &mut SqliteConnection,
        account_id: &str,
        now: DateTime<Utc>,
        kind: AuditKind,
        detail: &str,
        client_addr: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit_events (account_id, at, kind, detail, client_addr) VALUES (?, ?, ?, ?, ?)")
            .bind(account_id)
            .bind(millis(now))
            .bind(kind.as_str())
            .bind(detail)
            .bind(client_addr)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Oldest first, as a story reads.
    pub async fn audit_events(&self, account_id: &str) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query("SELECT * FROM audit_events WHERE account_id = ? ORDER BY at, id")
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEvent {
                    at: from_millis(r.try_get("at")?)?,
                    kind: r.try_get("kind")?,
                    detail: r.try_get("detail")?,
                    client_addr: r.try_get("client_addr")?,
                })
            })
            .collect()
    }
}
