//! Many requests at once: the rules hold for a burst as they do one at a time, and argon2 work is bounded.
//! argon2 runs are counted by the server itself.

use std::future::Future;

use keyturn_protocol::ErrorCode;
use keyturn_server::Argon2Limits;

use crate::helpers::{ann_signed_in, secret, spawn_app, spawn_app_with, Refusal, TestApp, PASSWORD};

/// Runs every request at once, each in its own task, and returns the answers in order.
pub(crate) async fn join_all<T: Send + 'static>(
    requests: impl Iterator<Item = impl Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let tasks: Vec<_> = requests.map(tokio::spawn).collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// Every answer in a burst, as (code, Retry-After in seconds); success reads as `None`.
fn tally<T>(answers: Vec<Result<T, keyturn_client::Error>>) -> Vec<Option<(ErrorCode, Option<u64>)>> {
    answers
        .into_iter()
        .map(|a| {
            a.refused_with_wait()
                .map(|(code, wait)| (code, wait.map(|w| w.as_secs())))
        })
        .collect()
}

fn count(answers: &[Option<(ErrorCode, Option<u64>)>], code: ErrorCode) -> usize {
    answers.iter().filter(|a| a.is_some_and(|(c, _)| c == code)).count()
}

/// Every 429 in a burst says when to come back (`Retry-After`, at least a second).
fn assert_every_429_says_when(answers: &[Option<(ErrorCode, Option<u64>)>]) {
    assert!(
        answers
            .iter()
            .filter(|a| a.is_some_and(|(c, _)| c == ErrorCode::RateLimited))
            .all(|a| a.is_some_and(|(_, wait)| wait.is_some_and(|w| w >= 1))),
        "every 429 says when to come back: {answers:?}"
    )
}

/// Of a burst of 50 guesses, at most the free five ran argon2 (`before`: the server's count when they began),
/// and the rest were refused as too many, each saying when to come back. Returns how many ran.
fn at_most_five_ran(app: &TestApp, before: u64, answers: &[Option<(ErrorCode, Option<u64>)>]) -> u64 {
    let runs = app.state.argon2_verifications() - before;
    assert!(runs <= 5, "{runs} argon2 runs for 50 concurrent guesses");
    assert_eq!(count(answers, ErrorCode::RateLimited) as u64, 50 - runs);
    assert_every_429_says_when(answers);
    runs
}

/// `GET /healthz` on a server's address answers 200.
async fn healthy(base_url: &str) -> bool {
    reqwest::get(format!("{base_url}/healthz"))
        .await
        .is_ok_and(|r| r.status() == 200)
}

#[tokio::test]
async fn fifty_wrong_sign_ins_at_once_cost_at_most_the_free_five_argon2_runs() {
    let app = spawn_app().await;
    app.add_account("ann@example.com", PASSWORD).await;
    let before = app.state.argon2_verifications();
    let guesses = (0..50).map(|i| {
        let client = app.client.clone();
        async move { client.sign_in("ann@example.com", &secret(&format!("guess {i}"))).await }
    });
    let answers = tally(join_all(guesses).await);
    let runs = at_most_five_ran(&app, before, &answers);
    assert_eq!(count(&answers, ErrorCode::InvalidCredentials) as u64, runs);
}

#[tokio::test]
async fn fifty_wrong_app_passwords_at_once_cost_at_most_five_argon2_runs() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    // A real password, so every guess has a candidate row to verify against (same lookup tag is unlikely,
    // so most guesses verify the dummy: argon2 either way).
    user.session.create_app_password("Mail").await.unwrap();
    let before = app.state.argon2_verifications();
    let guesses = (0..50).map(|_| {
        let (client, email) = (app.client.clone(), user.email.clone());
        let guess = keyturn_protocol::AppPassword::generate();
        async move { client.whoami(&email, &guess.grouped()).await }
    });
    let answers = tally(join_all(guesses).await);
    at_most_five_ran(&app, before, &answers);
}

#[tokio::test]
async fn fifty_wrong_current_passwords_at_once_cost_at_most_five_argon2_runs() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let before = app.state.argon2_verifications();
    let guesses = (0..50).map(|i| {
        let session = user.session.clone();
        async move {
            session
                .change_password(&secret(&format!("guess {i}")), &secret("a brand new password"))
                .await
        }
    });
    let answers = tally(join_all(guesses).await);
    at_most_five_ran(&app, before, &answers);
}

#[tokio::test]
async fn beyond_the_argon2_queue_the_answer_is_503_and_costs_nothing_while_cached_sign_ins_go_on() {
    let app = spawn_app_with(Argon2Limits {
        concurrency: 1,
        queue: 4,
    })
    .await;
    let user = app.new_user().await;
    let created = user.session.create_app_password("Mail").await.unwrap();
    let password = created.password.grouped().to_string();
    app.client.whoami(&user.email, &password).await.unwrap();

    let before = app.state.argon2_verifications();
    // 20 unknown emails at once: each needs one argon2 run (the dummy), one runs and four wait.
    let flood = (0..20).map(|i| {
        let client = app.client.clone();
        async move {
            client
                .sign_in(&format!("nobody{i}@example.com"), &secret("wrong"))
                .await
        }
    });
    let base_url = app.url("");
    let cached = async {
        // While the flood is in, a mail client that signed in before still gets in: no argon2 needed.
        let mut answers = Vec::new();
        let mut health = Vec::new();
        for _ in 0..5 {
            answers.push(app.client.whoami(&user.email, &password).await.map(|w| w.label));
            health.push(healthy(&base_url).await);
        }
        (answers, health)
    };
    let (answers, (cached, health)) = tokio::join!(join_all(flood), cached);
    let answers = tally(answers);
    let runs = app.state.argon2_verifications() - before;
    let overloaded = count(&answers, ErrorCode::Overloaded);
    assert!(overloaded >= 1, "{answers:?}");
    assert_eq!(
        count(&answers, ErrorCode::InvalidCredentials) as u64,
        runs,
        "a 503 ran no argon2"
    );
    assert_eq!(
        count(&answers, ErrorCode::InvalidCredentials) + overloaded,
        20,
        "{answers:?}"
    );
    assert!(
        answers
            .iter()
            .filter(|a| a.is_some_and(|(c, _)| c == ErrorCode::Overloaded))
            .all(|a| a.is_some_and(|(_, wait)| wait == Some(1))),
        "a 503 says Retry-After: 1: {answers:?}"
    );
    assert!(
        cached.iter().all(|label| label.as_deref().is_ok_and(|l| l == "Mail")),
        "{cached:?}"
    );
    assert!(health.iter().all(|ok| *ok), "/healthz answered throughout: {health:?}");
    assert!(app.client.config().await.is_ok(), "the server still answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sign_ins_from_a_thousand_addresses_at_once_leave_the_server_answering() {
    // Behind a trusted proxy, so each request is its own client and no address throttle stops the flood:
    // only the argon2 pool's bound does.
    let options = keyturn_server::Options {
        trusted_proxies: "127.0.0.1/32".parse().unwrap(),
        ..keyturn_server::Options::default()
    };
    let clock = keyturn_server::testkit::ManualClock::at_test_start();
    let server = keyturn_server::testkit::TestServer::start_with(std::sync::Arc::new(clock), options)
        .await
        .unwrap();
    let (client, session) = ann_signed_in(&server).await;
    let mail = session
        .create_app_password("Mail")
        .await
        .unwrap()
        .password
        .grouped()
        .to_string();
    client.whoami("ann@example.com", &mail).await.unwrap();

    // Both ends of 1,000 connections live in this process: make room for 2,000 open files.
    raise_open_file_limit(4096);
    let http = reqwest::Client::new();
    let before = server.state.argon2_verifications();
    let flood = (0..1000u32).map(|i| {
        let (http, url) = (http.clone(), format!("{}/v1/sessions", server.url));
        async move {
            http.post(url)
                .header(
                    "x-forwarded-for",
                    format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256),
                )
                .json(&serde_json::json!({"email": format!("nobody{i}@example.com"), "password": "guess"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    });
    let meanwhile = async {
        let mut answers = Vec::new();
        for _ in 0..10 {
            answers.push(healthy(&server.url).await);
            answers.push(client.config().await.is_ok());
            answers.push(client.whoami("ann@example.com", &mail).await.is_ok());
        }
        answers
    };
    let (statuses, meanwhile) = tokio::join!(join_all(flood), meanwhile);
    let runs = server.state.argon2_verifications() - before;
    let unauthorized = statuses.iter().filter(|s| **s == 401).count() as u64;
    let overloaded = statuses.iter().filter(|s| **s == 503).count();
    assert!(statuses.iter().all(|s| *s == 401 || *s == 503), "only 401 and 503");
    assert_eq!(unauthorized, runs, "each 401 cost one argon2 run, each 503 none");
    assert!(overloaded > 0, "the queue overflowed");
    assert!(
        meanwhile.iter().all(|answered| *answered),
        "health and cached sign-ins answered throughout"
    );
}

/// Raises this process's soft limit on open files towards `wanted` (never past the hard limit), with util-linux's
/// `prlimit`, as `ulimit -n` would in a shell.
pub(crate) fn raise_open_file_limit(wanted: u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let Some(line) = limits.lines().find(|l| l.starts_with("Max open files")) else {
        return;
    };
    let numbers: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    let [soft, hard] = numbers[..] else { return };
    if soft < wanted {
        let _ = std::process::Command::new("prlimit")
            .arg(format!("--pid={}", std::process::id()))
            .arg(format!("--nofile={}:{hard}", wanted.min(hard)))
            .status();
    }
}
