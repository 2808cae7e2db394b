//! For other crates' tests (feature `testkit`, never in a release build): the real server on a free loopback
//! port with a fresh SQLite file, and a clock the test steps.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, TimeZone, Utc};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

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
    pub db_path: PathBuf,
    _dir: tempfile::TempDir,
    _shutdown: oneshot::Sender<()>,
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
        let db_path = dir.path().join("keyturn.db");
        let store = Store::open(&db_path).await?;
        let state = AppState::new(store, clock, options)?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(crate::run(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        Ok(Self {
            address,
            url: format!("http://{address}"),
            state,
            db_path,
            _dir: dir,
            _shutdown: shutdown,
        })
    }

    /// Adds an account as support staff would.
    pub async fn add_account(&self, email: &str, password: &str) -> anyhow::Result<()> {
        let password = SecretString::from(password);
        admin::add_account(self.state.store(), email, password, self.state.params()).await
    }
}
