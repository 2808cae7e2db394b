//! For other crates' tests (feature `testkit`, never in a release build): the real server on a free loopback
//! port with a fresh database, and a clock the test steps.
//!
//! The database is a SQLite file in a temporary folder; when `KEYTURN_TEST_POSTGRES` names a PostgreSQL server
//! (`cargo xtask ci` starts one and runs the server's tests once on each engine), it is a new schema there.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, TimeZone, Utc};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::ldap::{Dn, LdapOptions};
use crate::store::Database;
use crate::{admin, AppState, Clock, Options, Store, SystemClock};

/// A clock that moves only when told to; shared between a test and the server it runs.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    /// 2026-03-01 09:00 UTC: a fixed start, so tests read the same on any day.
    pub fn at_test_start() -> Self {
        Self::new(Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().unwrap_or_default())
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The real server, serving on `127.0.0.1:0` in a task of the caller's runtime until dropped.
pub struct TestServer {
    pub address: SocketAddr,
    pub url: String,
    pub state: AppState,
    pub db: Database,
    /// `GET /metrics`, served apart as `--metrics-listen` does.
    pub metrics_url: String,
    /// LDAP binds (`--ldap-listen`, plain), under `dc=keyturn`.
    pub ldap_address: SocketAddr,
    _dir: tempfile::TempDir,
    _shutdown: [oneshot::Sender<()>; 2],
    _stop_ldap: tokio_util::sync::DropGuard,
    _stop_ldap_token: tokio_util::sync::CancellationToken,
}

impl TestServer {
    /// On the wall clock.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_clock(Arc::new(SystemClock)).await
    }

    pub async fn start_with_clock(clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        Self::start_with(clock, Options::default()).await
    }

    /// With the options a test needs, even argon2 parameters `serve` would refuse (to see what a client does
    /// with them).
    pub async fn start_with(clock: Arc<dyn Clock>, options: Options) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let db = fresh_database(dir.path()).await?;
        Self::serve(clock, options, db, dir).await
    }

    /// On a SQLite file whatever the engine under test, for what only a file shows (its bytes, its modes).
    pub async fn start_on_sqlite(clock: Arc<dyn Clock>, options: Options) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let db = Database::Sqlite(dir.path().join("keyturn.db"));
        Self::serve(clock, options, db, dir).await
    }

    /// Another instance on a database a server already uses, as a load balancer's second server would be.
    pub async fn start_on(clock: Arc<dyn Clock>, options: Options, db: Database) -> anyhow::Result<Self> {
        Self::serve(clock, options, db, tempfile::tempdir()?).await
    }

    async fn serve(
        clock: Arc<dyn Clock>,
        options: Options,
        db: Database,
        dir: tempfile::TempDir,
    ) -> anyhow::Result<Self> {
        let store = Store::open(&db).await?;
        let state = AppState::new(store, clock, options)?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(crate::run(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        let metrics = TcpListener::bind("127.0.0.1:0").await?;
        let metrics_url = format!("http://{}/metrics", metrics.local_addr()?);
        let (metrics_shutdown, metrics_stopped) = oneshot::channel::<()>();
        tokio::spawn(crate::run_metrics(metrics, state.clone(), async {
            let _ = metrics_stopped.await;
        }));
        let ldap = TcpListener::bind("127.0.0.1:0").await?;
        let ldap_address = ldap.local_addr()?;
        let stop_ldap = tokio_util::sync::CancellationToken::new();
        tokio::spawn(crate::ldap::run_ldap(
            ldap,
            state.clone(),
            ldap_options("127.0.0.0/8")?,
            stop_ldap.clone(),
        ));
        Ok(Self {
            address,
            url: format!("http://{address}"),
            state,
            db,
            metrics_url,
            ldap_address,
            _dir: dir,
            _shutdown: [shutdown, metrics_shutdown],
            _stop_ldap_token: stop_ldap.clone(),
            _stop_ldap: stop_ldap.drop_guard(),
        })
    }

    /// Another LDAP listener on this server, with `relays` (`CIDR[,CIDR…]`) as `--ldap-relays`: to see what a
    /// bind from a peer that is no relay is counted as. Serves until the server is dropped.
    pub async fn start_ldap(&self, relays: &str) -> anyhow::Result<SocketAddr> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let stop = self._stop_ldap_token.clone();
        tokio::spawn(crate::ldap::run_ldap(
            listener,
            self.state.clone(),
            ldap_options(relays)?,
            stop,
        ));
        Ok(address)
    }

    /// Adds an account as support staff would.
    pub async fn add_account(&self, email: &str, password: &str) -> anyhow::Result<()> {
        let password = SecretString::from(password);
        admin::add_account(self.state.store(), email, password, self.state.params()).await
    }
}

/// The LDAP door under `dc=keyturn`, plain, with these relays.
fn ldap_options(relays: &str) -> anyhow::Result<LdapOptions> {
    Ok(LdapOptions {
        base: Dn::parse("dc=keyturn")?,
        tls: None,
        relays: relays.parse()?,
    })
}

/// A database no other test uses: a SQLite file in `dir`, or a new schema on the PostgreSQL server that
/// `KEYTURN_TEST_POSTGRES` names (schemas are cheap to make; the throwaway cluster goes with them).
pub async fn fresh_database(dir: &Path) -> anyhow::Result<Database> {
    let base = match std::env::var("KEYTURN_TEST_POSTGRES") {
        Ok(base) if !base.is_empty() => base,
        _ => return Ok(Database::Sqlite(dir.join("keyturn.db"))),
    };
    let schema = format!("test_{}", uuid::Uuid::new_v4().simple());
    // A schema's name cannot be a bind parameter, so it goes into the SQL itself: only as a plain identifier.
    if !is_plain_identifier(&schema) {
        anyhow::bail!("not a plain SQL identifier: {schema:?}");
    }
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&base).await?;
    sqlx::QueryBuilder::<sqlx::Postgres>::new("CREATE SCHEMA ")
        .push(&schema)
        .build()
        .execute(&mut admin)
        .await?;
    let mut url = url::Url::parse(&base)?;
    url.query_pairs_mut()
        .append_pair("options", &format!("-c search_path={schema}"));
    Ok(Database::Postgres(url.to_string()))
}

/// Lowercase ASCII letters, digits and `_`, not starting with a digit: an identifier that needs no quoting and
/// can carry nothing else into SQL.
fn is_plain_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A pool on the same database as the server's, for a test that reads the rows themselves.
pub async fn raw_pool(db: &Database) -> anyhow::Result<sqlx::AnyPool> {
    sqlx::any::install_default_drivers();
    Ok(sqlx::AnyPool::connect(&db.url()?).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_schema_name_is_a_plain_identifier() {
        assert!(is_plain_identifier(&format!("test_{}", uuid::Uuid::new_v4().simple())));
    }

    #[test]
    fn a_name_that_could_carry_sql_is_not_a_plain_identifier() {
        for name in ["", "1a", "A", "a b", "a;b", "a\"b", "a-b", "a.b", "é"] {
            assert!(!is_plain_identifier(name), "{name:?}");
        }
    }
}
