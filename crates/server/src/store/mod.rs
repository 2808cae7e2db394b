//! Storage: a SQLite file (the embedded default) or a PostgreSQL database (for several server instances),
//! migrations applied at open.
//!
//! Queries are plain, constant SQL through sqlx's `Any` driver, written once in the words both engines share
//! (`$1` parameters, `RETURNING`); where they differ (the list's insert order, how a write takes its lock),
//! [`Backend`] says which. Each engine has its own migrations and enforces the rules itself: the cap of 25,
//! label and lookup-tag uniqueness, one answer per idempotency key. Each resource has a module; every method
//! takes `now` rather than reading a clock, and typed identities rather than strings ([`AccountId`],
//! [`AppPasswordId`](keyturn_protocol::AppPasswordId), [`Email`](keyturn_protocol::Email),
//! [`TokenHash`](crate::session_token::TokenHash), [`Origin`]).

mod accounts;
mod app_passwords;
mod audit;
mod database;
mod idempotency;
mod second_factor;
mod sessions;
mod throttle;

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Transaction};

pub use accounts::{AccountId, AccountRow};
pub use app_passwords::{AppPasswordRow, Candidate, CreateOutcome, NewAppPassword};
pub use audit::{AuditEvent, AuditKind, Origin};
pub use database::Database;
pub use idempotency::{IdempotencyKey, RequestFingerprint};
pub use second_factor::SecondFactorRow;
pub use sessions::{SessionRow, UNKNOWN_CLIENT};
pub use throttle::ThrottleRow;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which engine a [`Store`] talks to, where their SQL differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
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
    /// The session the request came with ended (a password change, a sign-out) before its write.
    #[error("the session ended")]
    SessionEnded,
    /// The primary password changed after it was checked, before the sign-in's session was stored.
    #[error("the password changed meanwhile")]
    PasswordChanged,
    /// Two-factor authentication was turned on after a sign-in found it off, before its session was stored.
    #[error("two-factor authentication was turned on meanwhile")]
    SecondFactorTurnedOn,
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
    #[error("{0}")]
    Unsupported(&'static str),
}

impl Store {
    /// Opens the database (creating a SQLite file if needed) and brings its schema up to date.
    pub async fn open(db: &Database) -> Result<Self, StoreError> {
        let store = Self::connect(db).await?;
        store.migrator().run(&store.pool).await?;
        Ok(store)
    }

    /// Opens the database without touching its schema.
    pub async fn connect(db: &Database) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        match db {
            Database::Sqlite(path) => {
                create_private(path)?;
                Self::connect_sqlite(&db.url()?).await
            }
            Database::Postgres(url) => Self::connect_postgres(url).await,
        }
    }

    /// The file was made readable by its owner only; SQLite gives its -wal and -shm files the same permissions.
    async fn connect_sqlite(url: &str) -> Result<Self, StoreError> {
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // The admin CLI may write while the server runs: wait for the lock rather than fail.
                    sqlx::Executor::execute(
                        &mut *conn,
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
                         PRAGMA busy_timeout = 5000;",
                    )
                    .await?;
                    Ok(())
                })
            })
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
            .connect(url)
            .await?;
        Ok(Self {
            pool,
            backend: Backend::Sqlite,
        })
    }

    async fn connect_postgres(url: &str) -> Result<Self, StoreError> {
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            // As for SQLite, a connection is never pooled inside a transaction (no ping: it would cost a round
            // trip on every release; a rollback a dropped transaction queued only closes one connection early).
            .after_release(|conn, _| Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) }))
            .connect(url)
            .await?;
        Ok(Self {
            pool,
            backend: Backend::Postgres,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies the migrations not yet applied; returns how many there were.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let before = self.applied_migrations().await?;
        self.migrator().run(&self.pool).await?;
        Ok(self.applied_migrations().await? - before)
    }

    /// Whether the database answers and has every migration this server knows: what `/readyz` reports.
    pub async fn ready(&self) -> Result<bool, StoreError> {
        Ok(self.applied_migrations().await? >= self.migrator().iter().count())
    }

    async fn applied_migrations(&self) -> Result<usize, StoreError> {
        let table: Option<i64> = sqlx::query_scalar(match self.backend {
            Backend::Sqlite => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            Backend::Postgres => {
                "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = '_sqlx_migrations'"
            }
        })
        .fetch_optional(&self.pool)
        .await?;
        if table.is_none() {
            return Ok(0);
        }
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await?;
        Ok(usize::try_from(applied).unwrap_or(0))
    }

    /// A consistent copy of a SQLite database to a new file (mode 0600), safe while the server writes.
    pub async fn backup_to(&self, to: &Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Unsupported(
                "backup copies a SQLite file; for PostgreSQL use pg_dump (see the README)",
            ));
        }
        let target = to
            .to_str()
            .ok_or(StoreError::Unsupported("the backup's path must be UTF-8"))?;
        // VACUUM INTO writes into an empty file, so it is made first, private, and never over another.
        create_new_private(to)?;
        if let Err(e) = sqlx::query("VACUUM INTO $1").bind(target).execute(&self.pool).await {
            let _ = std::fs::remove_file(to);
            return Err(e.into());
        }
        Ok(())
    }

    /// A transaction for writing one account's rows. SQLite: `BEGIN IMMEDIATE` takes the database's write lock
    /// before the first read. PostgreSQL: the account's row is locked first, so the writes of one account
    /// queue up across every server instance (and the checks inside see each other's rows) while other
    /// accounts' writes go on.
    async fn begin_write(&self, account: &AccountId) -> Result<Transaction<'static, Any>, StoreError> {
        let mut tx = self.begin_writing().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE")
                .bind(account.as_str())
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// A transaction that will write: on SQLite with the write lock taken at once (`BEGIN IMMEDIATE`), so its
    /// reads see what no other writer can change before it commits; on PostgreSQL a plain one, whose
    /// statements lock the rows they need.
    async fn begin_writing(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Creates the database file with mode 0600 if it does not exist yet.
fn create_private(path: &Path) -> Result<(), StoreError> {
    match create_new_private(path) {
        Err(StoreError::Create { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

/// Creates a new, empty file with mode 0600; an existing file is an error.
fn create_new_private(path: &Path) -> Result<(), StoreError> {
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    file.open(path).map(drop).map_err(|source| StoreError::Create {
        path: path.display().to_string(),
        source,
    })
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

/// A `COUNT(*)` as the number it is.
fn count(n: i64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("count {n}")))
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

/// A store on a new SQLite file in a temporary folder, for unit tests; the folder goes with the returned guard.
#[cfg(test)]
pub(crate) async fn temporary() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = Store::open(&Database::Sqlite(dir.path().join("k.db")))
        .await
        .expect("a new SQLite store");
    (store, dir)
}

#[cfg(test)]
mod tests;
