use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::{from_millis, millis, AccountId, Store, StoreError};

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
    SecondFactorPending,
    SecondFactorOn,
    SecondFactorOff,
    SecondFactorReset,
    FailedSecondFactor,
    RecoveryCodeUsed,
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
            AuditKind::SecondFactorPending => "two-factor setup started",
            AuditKind::SecondFactorOn => "two-factor on",
            AuditKind::SecondFactorOff => "two-factor off",
            AuditKind::SecondFactorReset => "two-factor reset by support",
            AuditKind::FailedSecondFactor => "failed verification code",
            AuditKind::RecoveryCodeUsed => "recovery code used",
        }
    }
}

/// Where a change came from: a client's address, or support staff at the admin CLI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Client(IpAddr),
    AdminCli,
}

impl From<IpAddr> for Origin {
    fn from(ip: IpAddr) -> Self {
        Origin::Client(ip)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Client(ip) => ip.fmt(f),
            Origin::AdminCli => f.write_str("admin-cli"),
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
    /// Records an event that needs no detail (a sign-in, a failure, a sign-out).
    pub async fn record(
        &self,
        account: &AccountId,
        origin: Origin,
        kind: AuditKind,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        record_in(&mut conn, account, origin, kind, "", now).await
    }

    /// Records an event about one app-specific password, named by its label.
    pub async fn record_about(
        &self,
        account: &AccountId,
        origin: Origin,
        kind: AuditKind,
        label: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        record_in(&mut conn, account, origin, kind, label, now).await
    }

    /// Oldest first, as a story reads.
    pub async fn audit_events(&self, account: &AccountId) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query("SELECT * FROM audit_events WHERE account_id = $1 ORDER BY at, id")
            .bind(account.as_str())
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

/// Records inside the caller's transaction, so the event and the change commit together.
pub(super) async fn record_in(
    conn: &mut AnyConnection,
    account: &AccountId,
    origin: Origin,
    kind: AuditKind,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO audit_events (account_id, at, kind, detail, client_addr) VALUES ($1, $2, $3, $4, $5)")
        .bind(account.as_str())
        .bind(millis(now))
        .bind(kind.as_str())
        .bind(detail)
        .bind(origin.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
