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
mod idempotency;
mod second_factor;
mod sessions;
mod throttle;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Transaction};

pub use accounts::{AccountId, AccountRow};
pub use app_passwords::{AppPasswordRow, Candidate, CreateOutcome, NewAppPassword};
pub use audit::{AuditEvent, AuditKind, Origin};
pub use idempotency::{IdempotencyKey, RequestFingerprint};
pub use second_factor::SecondFactorRow;
pub use sessions::{SessionRow, UNKNOWN_CLIENT};
pub use throttle::ThrottleRow;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Where the data lives, as `--db` names it: a `postgres://` or `postgresql://` URL, or else a SQLite file's path.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl FromStr for Database {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Self::Postgres(s.to_owned())
        } else {
            Self::Sqlite(PathBuf::from(s))
        })
    }
}

/// The path, or the URL without its password: fit for a log line.
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => path.display().fmt(f),
            Self::Postgres(url) => match url::Url::parse(url) {
                Ok(mut url) => {
                    let _ = url.set_password(None);
                    url.fmt(f)
                }
                Err(_) => f.write_str("postgres://(unreadable URL)"),
            },
        }
    }
}

impl Database {
    /// The URL sqlx opens: a `sqlite://` URL for a path (percent-encoded, so `?` or `#` stay part of the
    /// name), or the PostgreSQL URL as given.
    pub fn url(&self) -> Result<String, StoreError> {
        match self {
            Self::Sqlite(path) => {
                let path = path
                    .to_str()
                    .ok_or(StoreError::Unsupported("the database file's path must be UTF-8"))?;
                Ok(format!(
                    "sqlite://{}?mode=rwc",
                    percent_encoding::utf8_percent_encode(path, URL_PATH)
                ))
            }
            Self::Postgres(url) => Ok(url.clone()),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

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

/// What a path keeps of itself in a `sqlite://` URL: everything but the URL's own marks and `%`.
const URL_PATH: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'?')
    .add(b'<')
    .add(b'>');

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
        let (store, _dir) = super::temporary().await;
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
        let (store, _dir) = super::temporary().await;
        let query = format!(
            "EXPLAIN QUERY PLAN {}",
            super::app_passwords::list(super::Backend::Sqlite)
        );
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
        let (store, _dir) = super::temporary().await;
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

    /// The URL is logged at start and named in errors: never with its password.
    #[test]
    fn a_postgres_url_is_shown_without_its_password_and_a_path_as_itself() {
        let db: super::Database = "postgres://keyturn:hunter2-secret@db.internal:5432/keyturn"
            .parse()
            .unwrap();
        assert!(matches!(db, super::Database::Postgres(_)));
        for shown in [db.to_string(), format!("{db:?}")] {
            assert!(!shown.contains("hunter2-secret"), "{shown}");
            assert!(shown.contains("keyturn@db.internal:5432/keyturn"), "{shown}");
        }
        let file: super::Database = "/var/lib/keyturn/keyturn.db".parse().unwrap();
        assert_eq!(file, super::Database::Sqlite("/var/lib/keyturn/keyturn.db".into()));
        assert_eq!(file.to_string(), "/var/lib/keyturn/keyturn.db");
        let odd: super::Database = "/tmp/a ?#%.db".parse().unwrap();
        assert_eq!(odd.url().unwrap(), "sqlite:///tmp/a%20%3F%23%25.db?mode=rwc");
    }

    #[tokio::test]
    async fn a_database_file_whose_name_has_url_marks_is_made_under_that_very_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyturn ?#%20.db");
        let store = super::Store::open(&super::Database::Sqlite(path.clone()))
            .await
            .unwrap();
        assert!(store.ready().await.unwrap());
        store.close().await;
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.contains(&"keyturn ?#%20.db".to_owned()), "{names:?}");
        assert!(names.iter().all(|n| n.starts_with("keyturn ?#%20.db")), "{names:?}");
    }

    #[test]
    fn each_engines_limit_trigger_is_the_protocols_limit() {
        let message = super::app_passwords::LIMIT_TRIGGER_MESSAGE;
        for (engine, migration, raise) in [
            (
                "sqlite",
                include_str!("../../migrations/sqlite/0001_initial.sql"),
                format!("RAISE(ABORT, '{message}')"),
            ),
            (
                "postgres",
                include_str!("../../migrations/postgres/0001_initial.sql"),
                format!("RAISE EXCEPTION '{message}'"),
            ),
        ] {
            let expected = format!("AND revoked_at IS NULL) >= {MAX_APP_PASSWORDS}");
            assert!(
                migration.contains(&expected),
                "the trigger in {engine}/0001_initial.sql must say {expected:?}"
            );
            assert!(
                migration.contains(&raise),
                "{engine}/0001_initial.sql must raise {raise:?}"
            );
        }
    }

    /// Migration 0006 on a database made before it: a signed-in session gets an id (and reads as an unknown
    /// app), and an app password reaches everything, as it did.
    #[tokio::test]
    async fn rows_from_before_scopes_and_devices_keep_working() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let earlier = dir.path().join("migrations before 0006");
        std::fs::create_dir(&earlier).unwrap();
        let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        for entry in std::fs::read_dir(&all).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name().to_string_lossy().as_ref() < "0006" {
                std::fs::copy(entry.path(), earlier.join(entry.file_name())).unwrap();
            }
        }
        let db = super::Database::Sqlite(dir.path().join("k.db"));
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&db.url().unwrap()).await.unwrap();
        sqlx::migrate::Migrator::new(earlier.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        for statement in [
            "INSERT INTO accounts (id, email, password_hash, created_at) VALUES ('a1', 'ann@example.com', 'x', 0)",
            "INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at, expires_at)
             VALUES ('h1', 'a1', 0, 0, 1)",
            "INSERT INTO app_passwords (id, account_id, label, label_key, verifier, lookup_tag, created_at)
             VALUES ('p1', 'a1', 'Mail', 'mail', 'v', '0000abcd', 0)",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;
        let file = dir.path().join("k.db");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();

        let store = super::Store::open(&db).await.unwrap();
        let account = AccountId::from_stored("a1".to_owned());
        let sessions = store.sessions(&account, None, None).await.unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].id.len(), 32, "{:?}", sessions[0].id);
        assert_eq!(sessions[0].client, super::UNKNOWN_CLIENT);
        let passwords = store.all_app_passwords(&account).await.unwrap();
        assert_eq!(passwords[0].scopes, keyturn_protocol::Scopes::EVERYTHING);
        assert_eq!(passwords[0].expires_at, None);
    }
}
