//! The server binary's memory under a flood: with `--argon2-concurrency 2 --argon2-queue 64`, a few seconds of
//! hundreds of concurrent wrong app passwords and unknown-email sign-ins leave it under 200 MB resident at its
//! peak (`VmHWM`), while `/healthz`, `/v1/config` and a cached app sign-in keep answering.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use keyturn_client::Client;
use keyturn_protocol::AppPassword;

use crate::abuse::{join_all, raise_open_file_limit};
use crate::admin_cli::run::add_with_stdin;
use crate::helpers::{secret, PASSWORD, SERVER_BIN};

/// The bound on the server's resident memory under a flood.
const MAX_RESIDENT_BYTES: u64 = 200 * 1024 * 1024;
/// The argon2 bounds the server runs with.
const ARGON2_LIMITS: [&str; 4] = ["--argon2-concurrency", "2", "--argon2-queue", "64"];
/// Clients flooding at once, each on its own connection and its own forwarded address.
const FLOODERS: u32 = 800;
/// Requests each flooder sends at most, and how long the flood lasts at most.
const ROUNDS: u32 = 10;
const FLOOD_FOR: Duration = Duration::from_secs(4);
const ANN: &str = "ann@example.com";

/// `keyturn-server serve` on a free loopback port; killed when dropped, so a failed test leaves no server.
struct Served {
    child: Child,
    url: String,
}

impl Served {
    /// The peak resident memory of the server process so far, from `/proc/PID/status`.
    fn peak_resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &std::path::Path) -> Served {
    let mut child = Command::new(SERVER_BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(ARGON2_LIMITS)
        // Each flooder is its own client, so no per-address count stops the flood: only the argon2 bound does.
        .args(["--trusted-proxies", "127.0.0.1/32", "--db"])
        .arg(db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let url = first_line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{first_line:?}"))
        .to_owned();
    Served { child, url }
}

/// One flooder: up to [`ROUNDS`] requests, one after another, until the flood ends; the statuses it got
/// (0: no answer). Even flooders guess Ann's app password, odd ones sign in to accounts that do not exist.
async fn flooder(http: reqwest::Client, url: String, i: u32, until: Instant) -> Vec<u16> {
    let forwarded = format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256);
    let mut statuses = Vec::new();
    for round in 0..ROUNDS {
        if Instant::now() >= until {
            break;
        }
        let request = if i.is_multiple_of(2) {
            let guess = AppPassword::generate();
            http.get(format!("{url}/v1/app-auth/whoami"))
                .basic_auth(ANN, Some(guess.grouped().as_str()))
        } else {
            http.post(format!("{url}/v1/sessions")).json(&serde_json::json!({
                "email": format!("nobody{i}.{round}@example.com"),
                "password": "a guess of some length",
            }))
        };
        let status = request.header("x-forwarded-for", &forwarded).send().await;
        statuses.push(status.map(|r| r.status().as_u16()).unwrap_or(0));
    }
    statuses
}

/// What a user and an operator see while the flood is in: `/healthz`, `/v1/config` and a cached app sign-in,
/// each answered within 5 s, every 200 ms until `done`. Returns each check's name and whether it answered.
async fn meanwhile(client: &Client, url: &str, mail: &str, done: &AtomicBool) -> Vec<(&'static str, bool)> {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut answers = Vec::new();
    while !done.load(Ordering::SeqCst) {
        let health = within(http.get(format!("{url}/healthz")).send()).await;
        answers.push(("healthz", health.is_some_and(|r| r.is_ok_and(|r| r.status() == 200))));
        answers.push(("config", within(client.config()).await.is_some_and(|r| r.is_ok())));
        let cached = within(client.whoami(ANN, mail)).await;
        answers.push(("cached whoami", cached.is_some_and(|r| r.is_ok())));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    answers
}

/// The answer, if it comes within 5 s.
async fn within<T>(answer: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::time::timeout(Duration::from_secs(5), answer).await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_wrong_passwords_and_unknown_emails_leaves_the_server_under_200_mb_and_answering() {
    // Both ends of the flood's connections are on this computer: room for them, before the server inherits it.
    raise_open_file_limit(4096);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keyturn.db");
    crate::admin_cli::run::migrated(&db);
    assert!(add_with_stdin(&db, ANN, PASSWORD).status.success());
    let server = serve(&db);
    let client = Client::new(&server.url).unwrap();
    let token = client.sign_in(ANN, &secret(PASSWORD)).await.unwrap().token;
    let created = client.session(token).create_app_password("Mail").await.unwrap();
    let mail = created.password.grouped().to_string();
    client.whoami(ANN, &mail).await.unwrap();
    let before = server.peak_resident_bytes();

    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let until = Instant::now() + FLOOD_FOR;
    let done = AtomicBool::new(false);
    let flood = async {
        let flooders = (0..FLOODERS).map(|i| flooder(http.clone(), server.url.clone(), i, until));
        let statuses: Vec<u16> = join_all(flooders).await.into_iter().flatten().collect();
        done.store(true, Ordering::SeqCst);
        statuses
    };
    let (statuses, answers) = tokio::join!(flood, meanwhile(&client, &server.url, &mail, &done));
    let peak = server.peak_resident_bytes();
    eprintln!(
        "server peak resident: {} MB before the flood, {} MB after {} requests",
        before / (1024 * 1024),
        peak / (1024 * 1024),
        statuses.len()
    );

    assert!(
        peak < MAX_RESIDENT_BYTES,
        "the server peaked at {} MB resident",
        peak / (1024 * 1024)
    );
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "only refusals, each answered"
    );
    assert!(statuses.contains(&503), "the flood filled the argon2 queue");
    assert!(!answers.is_empty(), "checked while the flood was in");
    let unanswered: Vec<_> = answers.iter().filter(|(_, ok)| !ok).collect();
    assert!(unanswered.is_empty(), "unanswered during the flood: {unanswered:?}");
}
