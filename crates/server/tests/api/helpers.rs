use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use chrono::{TimeZone, Utc};
use keyturn_client::{Client, SessionClient};
use keyturn_protocol::wire::CreateAppPasswordRequest;
use keyturn_protocol::{AppPassword, LookupTag, Verifier, VerifierParams};
use keyturn_server::{AppState, ManualClock, Store};
use secrecy::SecretString;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: SocketAddr,
    pub client: Client,
    pub clock: ManualClock,
    pub state: AppState,
    pub db_path: PathBuf,
    _dir: TempDir,
    _shutdown: oneshot::Sender<()>,
}

/// The real server on a free loopback port, a fresh database, and a clock the test steps.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("keyturn.db");
    let store = Store::open(&db_path).await.unwrap();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap());
    let state = AppState::new(store, Arc::new(clock.clone()), VerifierParams::default()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server_state = state.clone();
    tokio::spawn(async move {
        keyturn_server::run(listener, server_state, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let client = Client::new(&format!("http://{address}")).unwrap();
    TestApp {
        address,
        client,
        clock,
        state,
        db_path,
        _dir: dir,
        _shutdown: shutdown,
    }
}

static NEXT_USER: AtomicU32 = AtomicU32::new(1);

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn add_account(&self, email: &str, password: &str) {
        keyturn_server::admin::add_account(self.state.store(), email, password.into(), self.state.params())
            .await
            .unwrap();
    }

    /// A new account with [`PASSWORD`], signed in.
    pub async fn new_user(&self) -> TestUser {
        let email = format!("user{}@example.com", NEXT_USER.fetch_add(1, Ordering::Relaxed));
        self.add_account(&email, PASSWORD).await;
        let signed_in = self.client.sign_in(&email, &secret(PASSWORD)).await.unwrap();
        let token = signed_in.token_copy();
        TestUser {
            session: self.client.session(signed_in.token),
            token,
            email,
        }
    }

    pub async fn db(&self) -> sqlx::SqlitePool {
        sqlx::SqlitePool::connect(&format!("sqlite://{}", self.db_path.display()))
            .await
            .unwrap()
    }
}

pub struct TestUser {
    pub email: String,
    pub session: SessionClient,
    pub token: String,
}

pub fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}

trait TokenCopy {
    fn token_copy(&self) -> String;
}

impl TokenCopy for keyturn_client::SignedIn {
    fn token_copy(&self) -> String {
        secrecy::ExposeSecret::expose_secret(&self.token).to_owned()
    }
}

/// One real password and its verifier, built once: tests that need many rows reuse it under other labels.
pub fn shared_verifier() -> &'static (AppPassword, Verifier) {
    static ONCE: OnceLock<(AppPassword, Verifier)> = OnceLock::new();
    ONCE.get_or_init(|| {
        let password = AppPassword::generate();
        let verifier = Verifier::build(password.expose().as_bytes(), VerifierParams::default()).unwrap();
        (password, verifier)
    })
}

pub fn create_request(label: &str) -> CreateAppPasswordRequest {
    let (password, verifier) = shared_verifier();
    CreateAppPasswordRequest {
        label: label.to_owned(),
        verifier: verifier.as_str().to_owned(),
        lookup_tag: LookupTag::of(password).as_str().to_owned(),
    }
}

pub fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}
