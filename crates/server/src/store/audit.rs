use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use keyturn_protocol::wire::{ActivityEvent, ActivityKind};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::{from_millis, millis, AccountId, Store, StoreError};

/// What support staff see in `keyturn-server audit EMAIL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditKind {
    Created,
    Renamed,
    Expired,
    Revoked,
    RevokedAll,
    SignIn,
    FailedSignIn,
    /// The right password without a code, for an account with two-factor authentication on.
    SecondFactorAsked,
    SignOut,
    SessionEnded,
    AppSignIn,
    /// An app sign-in by an LDAP bind, as a mail server makes it; its address is the server's.
    LdapSignIn,
    FailedAppSignIn,
    /// The right app-specific password, refused for a scope it may not reach; the detail names both.
    RefusedScope,
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
            AuditKind::Renamed => "renamed",
            AuditKind::Expired => "expired",
            AuditKind::Revoked => "revoked",
            AuditKind::RevokedAll => "revoked-all",
            AuditKind::SignIn => "sign-in",
            AuditKind::FailedSignIn => "failed sign-in",
            AuditKind::SecondFactorAsked => "right password, code asked for",
            AuditKind::SignOut => "sign-out",
            AuditKind::SessionEnded => "device signed out",
            AuditKind::AppSignIn => "app sign-in",
            AuditKind::LdapSignIn => "app sign-in over LDAP",
            AuditKind::FailedAppSignIn => "failed app sign-in",
            AuditKind::RefusedScope => "app sign-in refused for scope",
            AuditKind::PasswordChanged => "password changed",
            AuditKind::SecondFactorPending => "two-factor setup started",
            AuditKind::SecondFactorOn => "two-factor on",
            AuditKind::SecondFactorOff => "two-factor off",
            AuditKind::SecondFactorReset => "two-factor reset by support",
            AuditKind::FailedSecondFactor => "failed verification code",
            AuditKind::RecoveryCodeUsed => "recovery code used",
        }
    }

    /// Whether Recent Activity shows the event's detail as is: the recovery codes left, the device signed out.
    fn shows_its_detail(self) -> bool {
        matches!(self, AuditKind::RecoveryCodeUsed | AuditKind::SessionEnded)
    }

    /// Whether the event's detail is the label of one app-specific password.
    fn names_a_password(self) -> bool {
        matches!(
            self,
            AuditKind::Created
                | AuditKind::Renamed
                | AuditKind::Expired
                | AuditKind::Revoked
                | AuditKind::AppSignIn
                | AuditKind::LdapSignIn
        )
    }
}

/// What recent activity shows of the audit trail, and how it names each kind; the rest (sign-outs, failed app
/// sign-ins, scope refusals, two-factor steps) support staff see in `audit`.
const ACTIVITY: [(AuditKind, ActivityKind); 16] = [
    (AuditKind::Created, ActivityKind::AppPasswordCreated),
    (AuditKind::Renamed, ActivityKind::AppPasswordRenamed),
    (AuditKind::Revoked, ActivityKind::AppPasswordRevoked),
    (AuditKind::RevokedAll, ActivityKind::AppPasswordsRevokedAll),
    (AuditKind::Expired, ActivityKind::AppPasswordExpired),
    (AuditKind::AppSignIn, ActivityKind::AppSignIn),
    (AuditKind::LdapSignIn, ActivityKind::AppSignIn),
    (AuditKind::SignIn, ActivityKind::SignIn),
    (AuditKind::FailedSignIn, ActivityKind::FailedSignIn),
    (AuditKind::SecondFactorAsked, ActivityKind::VerificationCodeAsked),
    (AuditKind::PasswordChanged, ActivityKind::PasswordChanged),
    (AuditKind::SecondFactorOn, ActivityKind::SecondFactorOn),
    (AuditKind::SecondFactorOff, ActivityKind::SecondFactorOff),
    (AuditKind::SecondFactorReset, ActivityKind::SecondFactorReset),
    (AuditKind::RecoveryCodeUsed, ActivityKind::RecoveryCodeUsed),
    (AuditKind::SessionEnded, ActivityKind::DeviceSignedOut),
];

/// Where a change came from: a client's address, or support staff at the admin CLI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Client(IpAddr),
    AdminCli,
    /// The server itself, as when a password expires.
    Server,
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
            Origin::Server => f.write_str("server"),
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

    /// The account's recent activity, newest first: at most `limit` events of the kinds it shows.
    pub async fn activity(&self, account: &AccountId, limit: u32) -> Result<Vec<ActivityEvent>, StoreError> {
        // `$1` the account, then one parameter per kind of ACTIVITY in order, then the limit. The SQL is fixed
        // (sqlx's `Any` binds no arrays, and its query builder writes `?`, which PostgreSQL does not take), so a
        // kind added to ACTIVITY fails the build below until it has its `$n` here.
        const SQL: &str = "SELECT at, kind, detail, client_addr FROM audit_events
             WHERE account_id = $1
               AND kind IN ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             ORDER BY at DESC, id DESC LIMIT $18";
        const _: () = assert!(parameters(SQL) == ACTIVITY.len() + 2, "one `$n` per kind of ACTIVITY");
        let mut query = sqlx::query(SQL).bind(account.as_str());
        for (kind, _) in ACTIVITY {
            query = query.bind(kind.as_str());
        }
        let rows = query.bind(i64::from(limit)).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let stored: String = r.try_get("kind")?;
                let (kind, shown) = ACTIVITY
                    .into_iter()
                    .find(|(kind, _)| kind.as_str() == stored)
                    .ok_or_else(|| StoreError::Corrupt(format!("audit kind {stored:?}")))?;
                let detail: String = r.try_get("detail")?;
                let address: String = r.try_get("client_addr")?;
                Ok(ActivityEvent {
                    at: from_millis(r.try_get("at")?)?,
                    kind: shown,
                    label: kind.names_a_password().then(|| detail.clone()),
                    detail: kind.shows_its_detail().then_some(detail).filter(|d| !d.is_empty()),
                    address: address.parse::<IpAddr>().ok().map(|ip| ip.to_string()),
                    over_ldap: kind == AuditKind::LdapSignIn,
                })
            })
            .collect()
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

/// How many `$n` parameters `sql` has (each numbered once).
const fn parameters(sql: &str) -> usize {
    let bytes = sql.as_bytes();
    let (mut i, mut count) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b'$' {
            count += 1;
        }
        i += 1;
    }
    count
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
