use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use keyturn_client::{Client, SessionClient};
use keyturn_protocol::wire::CreateAppPasswordRequest;
use keyturn_protocol::{AppPassword, ErrorCode, LookupTag, Verifier, VerifierParams};
use keyturn_server::testkit::{ManualClock, TestServer};
use keyturn_server::{AppState, Argon2Limits, Database, Options};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

/// The `keyturn-server` binary this suite runs for the admin CLI and `serve` (built from the server's `cli::main`).
pub const SERVER_BIN: &str = env!("CARGO_BIN_EXE_keyturn-server-under-test");

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: SocketAddr,
    pub client: Client,
    pub clock: ManualClock,
    pub state: AppState,
    /// The database the server uses, as `--db` names it (for the admin CLI).
    pub db: Database,
    pub metrics_url: String,
    /// Where the server answers LDAP binds (plain, `dc=keyturn`).
    pub ldap_address: SocketAddr,
    server: TestServer,
}

/// A server whose background purge runs every 20 ms, on a clock the test steps.
pub async fn spawn_sweeping_server() -> (ManualClock, TestServer) {
    let clock = ManualClock::at_test_start();
    let options = Options {
        purge_every: std::time::Duration::from_millis(20),
        ..Options::default()
    };
    let server = TestServer::start_with(Arc::new(clock.clone()), options).await.unwrap();
    (clock, server)
}

/// A raw answer is 429 `rate_limited`, saying to come back in a second.
pub async fn assert_rate_limited_for_a_second(response: reqwest::Response) {
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
}

/// The real server on a free loopback port, a fresh database, and a clock the test steps.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Argon2Limits::default()).await
}

/// The same, with the argon2 concurrency and queue a test needs.
pub async fn spawn_app_with(limits: Argon2Limits) -> TestApp {
    spawn_app_with_options(Options {
        argon2: limits,
        ..Options::default()
    })
    .await
}

/// The same, with `serve`'s options as a test sets them.
pub async fn spawn_app_with_options(options: Options) -> TestApp {
    let clock = ManualClock::at_test_start();
    let server = TestServer::start_with(Arc::new(clock.clone()), options).await.unwrap();
    test_app(server, clock)
}

/// On a SQLite file whatever the engine under test, for what only a file shows.
pub async fn spawn_sqlite_app() -> TestApp {
    let clock = ManualClock::at_test_start();
    let server = TestServer::start_on_sqlite(Arc::new(clock.clone()), Options::default())
        .await
        .unwrap();
    test_app(server, clock)
}

impl TestApp {
    /// A second server on this one's database and clock: two instances behind one load balancer.
    pub async fn another_instance(&self) -> TestApp {
        let server = TestServer::start_on(Arc::new(self.clock.clone()), Options::default(), self.db.clone())
            .await
            .unwrap();
        test_app(server, self.clock.clone())
    }
}

fn test_app(server: TestServer, clock: ManualClock) -> TestApp {
    TestApp {
        address: server.address,
        client: Client::new(&server.url).unwrap(),
        clock,
        state: server.state.clone(),
        db: server.db.clone(),
        metrics_url: server.metrics_url.clone(),
        ldap_address: server.ldap_address,
        server,
    }
}

static NEXT_USER: AtomicU32 = AtomicU32::new(1);

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The server itself, for what only it can start (another LDAP listener).
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    pub async fn add_account(&self, email: &str, password: &str) {
        self.server.add_account(email, password).await.unwrap();
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

    pub async fn db(&self) -> sqlx::AnyPool {
        keyturn_server::testkit::raw_pool(&self.db).await.unwrap()
    }

    /// The database file, for a test that runs on [`spawn_sqlite_app`].
    pub fn db_file(&self) -> &std::path::Path {
        match &self.db {
            Database::Sqlite(path) => path,
            Database::Postgres(_) => panic!("this test reads a SQLite file: start it with spawn_sqlite_app"),
        }
    }

    /// `--db` as the admin CLI takes it.
    pub fn db_arg(&self) -> String {
        match &self.db {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url) => url.clone(),
        }
    }
}

pub struct TestUser {
    pub email: String,
    pub session: SessionClient,
    pub token: String,
}

impl TestUser {
    /// The labels of the account's active app passwords, as the list answers them (newest first).
    pub async fn labels(&self) -> Vec<String> {
        let list = self.session.list_app_passwords().await.unwrap();
        list.into_iter().map(|p| p.label).collect()
    }
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

/// A create under `label` with the shared verifier. Active passwords need distinct lookup tags, so the tag is
/// made from the label (the same label, the same request: replays stay replays); such a row never signs in.
pub fn create_request(label: &str) -> CreateAppPasswordRequest {
    let (_, verifier) = shared_verifier();
    let tag = Sha256::digest(format!("test tag for {label}").as_bytes());
    CreateAppPasswordRequest {
        label: label.to_owned(),
        verifier: verifier.as_str().to_owned(),
        lookup_tag: hex::encode(&tag[..4]),
        scopes: None,
        expires_in_days: None,
    }
}

/// A create of the shared password itself, under `label`: it signs in at whoami.
pub fn create_shared_request(label: &str) -> CreateAppPasswordRequest {
    let (password, verifier) = shared_verifier();
    CreateAppPasswordRequest {
        label: label.to_owned(),
        verifier: verifier.as_str().to_owned(),
        lookup_tag: LookupTag::of(password).as_str().to_owned(),
        scopes: None,
        expires_in_days: None,
    }
}

pub fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// How a call was refused, as the tests compare it.
pub trait Refusal {
    /// The server's error code, or `None` if the call succeeded or failed on this side.
    fn refused(self) -> Option<ErrorCode>;
    /// The code and, for a 429, the `Retry-After` wait.
    fn refused_with_wait(self) -> Option<(ErrorCode, Option<std::time::Duration>)>;
}

impl<T> Refusal for Result<T, keyturn_client::Error> {
    fn refused(self) -> Option<ErrorCode> {
        self.err().and_then(|e| e.code())
    }

    fn refused_with_wait(self) -> Option<(ErrorCode, Option<std::time::Duration>)> {
        match self.err()? {
            keyturn_client::Error::Api(failure) => Some((failure.code, failure.retry_after)),
            _ => None,
        }
    }
}

/// Ann's account on `server`, and a client signed in as her: for tests that start a server of their own.
pub async fn ann_signed_in(server: &TestServer) -> (Client, SessionClient) {
    server.add_account("ann@example.com", PASSWORD).await.unwrap();
    let client = Client::new(&server.url).unwrap();
    let token = client
        .sign_in("ann@example.com", &secret(PASSWORD))
        .await
        .unwrap()
        .token;
    let session = client.session(token);
    (client, session)
}
