//! SQLite storage: one file, WAL mode, migrations applied at open.
//!
//! Queries are plain, constant SQL through sqlx so the same code can later run on PostgreSQL. Each resource
//! has a module; every method takes `now` rather than reading a clock, and typed identities rather than
//! strings ([`AccountId`], [`AppPasswordId`](keyturn_protocol::AppPasswordId), [`Email`](keyturn_protocol::Email),
//! [`TokenHash`](crate::session_token::TokenHash), [`Origin`]).

mod accounts;
mod app_passwords;
mod audit;
mod idempotency;
mod second_factor;
mod sessions;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub use accounts::{AccountId, AccountRow};
pub use app_passwords::{AppPasswordRow, Candidate, CreateOutcome, NewAppPassword};
pub use audit::{AuditEvent, AuditKind, Origin};
pub use idempotency::{IdempotencyKey, RequestFingerprint};
pub use second_factor::SecondFactorRow;
pub use sessions::SessionRow;

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("an account with that email already exists")]
    EmailTaken,
    #[error("an active app-specific password already has that label")]
    DuplicateLabel,
    #[error("two-factor authentication is already on")]
    SecondFactorEnabled,
    #[error("an active app-specific password already has that lookup tag")]
    LookupTagConflict,
    #[error("the account has the most active app-specific passwords allowed")]
    LimitReached,
    #[error("the idempotency key was used for a different request")]
    IdempotencyMismatch,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("{path} can be read by other users of this computer; run: chmod 600 {path}")]
    Exposed { path: String },
    #[error("creating {path}: {source}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up to date. A new file is readable
    /// by its owner only; SQLite gives its -wal and -shm files the same permissions.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        create_private(path)?;
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // The admin CLI may write while the server runs; wait for the lock rather than fail.
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A request dropped at the wrong await (its client left) can leave its connection inside
            // `BEGIN IMMEDIATE` with nothing to end it: sqlx's `begin_with` awaits once more after the BEGIN.
            // Such a connection is closed, which rolls back and frees the write lock, never pooled again.
            // The ping first: it runs after any rollback a dropped `Transaction` queued, so only a connection
            // nothing will roll back is closed.
            .after_release(|conn, _| {
                Box::pin(async move {
                    sqlx::Connection::ping(conn).await?;
                    Ok(!sqlx::Connection::is_in_transaction(conn))
                })
            })
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Creates the database file with mode 0600 if it does not exist yet.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    match file.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::Create {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Refuses a database file, or its -wal or -shm, that group or others may read: it holds password hashes.
pub fn check_private(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(meta) = std::fs::metadata(&file) {
            if std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o077 != 0 {
                return Err(StoreError::Exposed {
                    path: file.display().to_string(),
                });
            }
        }
    }
    Ok(())
}

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("time {ms}")))
}

fn optional_millis(ms: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    ms.map(from_millis).transpose()
}

/// A unique index refused the row.
fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error().is_some_and(|db| db.is_unique_violation())
}

/// The `app_passwords_limit` trigger refused the row: SQLite reports `RAISE(ABORT, …)` only by its message.
fn is_limit_trigger(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.message() == app_passwords::LIMIT_TRIGGER_MESSAGE)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use keyturn_protocol::{AppPasswordId, MAX_APP_PASSWORDS};

    use super::accounts::AccountId;
    use super::audit::Origin;

    /// A client that leaves mid-request drops the handler's future at whatever await it reached, inside
    /// `BEGIN IMMEDIATE` too. No connection may go back to the pool inside a transaction: it would hold
    /// SQLite's write lock for good, and every later write would fail or wait out the busy timeout.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_dropped_midway_leaves_no_connection_inside_a_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::Store::open(&dir.path().join("k.db")).await.unwrap();
        let account = AccountId::from_stored("some-account".into());
        let id = AppPasswordId::new("no-such-password");
        let origin = Origin::Client([127, 0, 0, 1].into());
        // Many at once, as under load, so writes queue for the lock and are dropped while they wait.
        let leavers: Vec<_> = (0..16u64)
            .map(|client| {
                let (store, account, id) = (store.clone(), account.clone(), id.clone());
                tokio::spawn(async move {
                    for n in 0..100u64 {
                        let write = store.revoke_app_password(&account, &id, origin, chrono::Utc::now());
                        let _ =
                            tokio::time::timeout(Duration::from_micros((n * 37 + client * 101) % 2_000), write).await;
                    }
                })
            })
            .collect();
        for leaver in leavers {
            leaver.await.unwrap();
        }
        // More writes than the pool has connections, each within far less than the busy timeout.
        for n in 0..32 {
            let write = store.revoke_app_password(&account, &id, origin, chrono::Utc::now());
            let done = tokio::time::timeout(Duration::from_secs(2), write)
                .await
                .unwrap_or_else(|_| panic!("write {n} waited on a write lock nobody releases"));
            assert!(done.is_ok(), "write {n} failed: {done:?}");
        }
    }

    #[tokio::test]
    async fn an_accounts_list_reads_its_rows_through_an_index_not_the_whole_table() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::Store::open(&dir.path().join("k.db")).await.unwrap();
        let query = format!("EXPLAIN QUERY PLAN {}", super::app_passwords::LIST);
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(&query)
            .bind("some-account")
            .bind(false)
            .fetch_all(&store.pool)
            .await
            .unwrap();
        let plan: Vec<&str> = plan.iter().map(|row| row.3.as_str()).collect();
        assert!(
            plan.iter()
                .any(|step| step.contains("USING INDEX app_passwords_account")),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|step| step.starts_with("SCAN app_passwords")),
            "{plan:?}"
        );
    }

    /// The replay guard is one statement: of two requests with the same code's step, the second finds the step
    /// taken even if both read the row before either wrote it.
    #[tokio::test]
    async fn a_codes_step_is_accepted_once_and_never_an_older_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::Store::open(&dir.path().join("k.db")).await.unwrap();
        let email = keyturn_protocol::Email::parse("ann@example.com").unwrap();
        let hash = keyturn_protocol::Verifier::from_stored("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        let account = store
            .create_account(&email, &hash, chrono::Utc::now())
            .await
            .unwrap()
            .id;
        let origin = Origin::AdminCli;
        store
            .begin_second_factor(&account, "SECRET", origin, chrono::Utc::now())
            .await
            .unwrap();
        assert!(!store.accept_step(&account, 100).await.unwrap(), "not before it is on");
        assert!(store
            .enable_second_factor(&account, "SECRET", 100, &[], origin, chrono::Utc::now())
            .await
            .unwrap());
        assert!(
            !store.accept_step(&account, 100).await.unwrap(),
            "the confirming step is spent"
        );
        assert!(store.accept_step(&account, 101).await.unwrap());
        assert!(!store.accept_step(&account, 101).await.unwrap(), "a step once");
        assert!(!store.accept_step(&account, 99).await.unwrap(), "never an older one");
    }

    #[test]
    fn the_migrations_limit_trigger_is_the_protocols_limit() {
        let migration = include_str!("../../migrations/0001_initial.sql");
        let expected = format!("AND revoked_at IS NULL) >= {MAX_APP_PASSWORDS}\n");
        assert!(
            migration.contains(&expected),
            "the trigger in 0001_initial.sql must say {expected:?}"
        );
        assert!(migration.contains(&format!(
            "RAISE(ABORT, '{}')",
            super::app_passwords::LIMIT_TRIGGER_MESSAGE
        )));
    }
}
