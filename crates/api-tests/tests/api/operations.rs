//! What an operator runs: health and readiness probes, metrics on their own address, `migrate` and `backup`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::helpers::{secret, spawn_app, spawn_sqlite_app};

use crate::helpers::SERVER_BIN as BIN;

#[tokio::test]
async fn healthz_says_alive_and_readyz_says_ready_only_with_every_migration_applied() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    let health = http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<serde_json::Value>().await.unwrap()["status"], "ok");
    let ready = http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<serde_json::Value>().await.unwrap()["status"], "ready");

    // As if a newer server's migration had not run on this database yet.
    let db = app.db().await;
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
        .execute(&db)
        .await
        .unwrap();
    let pending = http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(pending.status(), 503);
    assert_eq!(
        pending.json::<serde_json::Value>().await.unwrap()["status"],
        "migrations_pending"
    );
    assert_eq!(
        http.get(app.url("/healthz")).send().await.unwrap().status(),
        200,
        "still alive"
    );

    db.close().await;
    app.state.store().close().await;
    let gone = http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(gone.status(), 503);
    assert_eq!(
        gone.json::<serde_json::Value>().await.unwrap()["status"],
        "database_unreachable"
    );
}

/// The value of one series in Prometheus text, e.g. `keyturn_argon2_runs_total`.
fn series(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_per_route_argon2_runs_throttle_refusals_and_cache_hits_apart_from_the_api() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(app.url("/metrics")).send().await.unwrap().status(),
        404,
        "not on the API's address"
    );
    let user = app.new_user().await;
    let created = user.session.create_app_password("Mail").await.unwrap();
    let password = created.password.grouped().to_string();
    for _ in 0..3 {
        app.client.whoami(&user.email, &password).await.unwrap();
    }
    user.session.revoke(&created.info.id).await.unwrap();
    for _ in 0..7 {
        let _ = app
            .client
            .sign_in(&user.email, &secret("not the password at all"))
            .await;
    }

    let answer = http.get(&app.metrics_url).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = answer.text().await.unwrap();
    let requests = |method: &str, route: &str, status: u16| {
        series(
            &text,
            &format!(r#"keyturn_http_requests_total{{method="{method}",route="{route}",status="{status}"}}"#),
        )
    };
    assert_eq!(requests("GET", "/v1/app-auth/whoami", 200), Some(3.0), "{text}");
    assert_eq!(requests("POST", "/v1/app-passwords", 201), Some(1.0), "{text}");
    assert_eq!(
        requests("DELETE", "/v1/app-passwords/{id}", 204),
        Some(1.0),
        "by template, not by id: {text}"
    );
    assert_eq!(requests("POST", "/v1/sessions", 201), Some(1.0), "{text}");
    assert_eq!(
        requests("POST", "/v1/sessions", 401),
        Some(5.0),
        "5 free failures: {text}"
    );
    assert_eq!(requests("POST", "/v1/sessions", 429), Some(2.0), "{text}");
    assert_eq!(
        series(&text, r#"keyturn_throttle_refusals_total{scope="sign_in"}"#),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        series(
            &text,
            r#"keyturn_http_request_duration_seconds_count{method="GET",route="/v1/app-auth/whoami"}"#
        ),
        Some(3.0),
        "{text}"
    );
    // The first whoami ran argon2 and filled the cache; the next two were hits.
    assert_eq!(
        series(&text, r#"keyturn_verified_cache_lookups_total{result="hit"}"#),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        series(&text, "keyturn_argon2_runs_total"),
        Some(app.state.argon2_verifications() as f64),
        "{text}"
    );
    assert_eq!(series(&text, "keyturn_argon2_waiting"), Some(0.0), "{text}");
    assert!(
        !text.contains(&password) && !text.contains(&user.email),
        "no secrets or emails"
    );
}

#[test]
fn migrate_brings_a_new_database_up_to_date_and_then_has_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keyturn.db");
    let run = || {
        let out = Command::new(BIN).args(["migrate", "--db"]).arg(&db).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run();
    assert!(first.starts_with("6 migration(s) applied;"), "{first}");
    assert_eq!(
        run(),
        format!("0 migration(s) applied; {} is up to date\n", db.display())
    );
}

/// A new schema on the suite's PostgreSQL server as a `--db` URL, or `None` when the suite runs on SQLite
/// (`KEYTURN_TEST_POSTGRES` unset): `cargo xtask test-postgres` runs these.
async fn fresh_postgres_url(dir: &std::path::Path) -> Option<String> {
    match keyturn_server::testkit::fresh_database(dir).await.unwrap() {
        keyturn_server::Database::Postgres(url) => Some(url),
        keyturn_server::Database::Sqlite(_) => None,
    }
}

#[tokio::test]
async fn migrate_brings_a_new_postgresql_database_up_to_date_and_then_has_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh_postgres_url(dir.path()).await else {
        return;
    };
    let run = || {
        let out = Command::new(BIN).args(["migrate", "--db", &url]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run();
    assert!(first.starts_with("6 migration(s) applied;"), "{first}");
    let second = run();
    assert!(
        second.starts_with("0 migration(s) applied;") && second.ends_with(" is up to date\n"),
        "{second}"
    );
    // The PostgreSQL schema itself, in the test's own schema: every migration recorded, the tables there.
    let db = keyturn_server::testkit::raw_pool(&keyturn_server::Database::Postgres(url.clone()))
        .await
        .unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(applied, 6);
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(accounts, 0);
}

#[tokio::test]
async fn backup_of_a_postgresql_database_is_refused_with_a_pointer_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh_postgres_url(dir.path()).await else {
        return;
    };
    let copy = dir.path().join("copy.db");
    let out = Command::new(BIN)
        .args(["backup", "--to"])
        .arg(&copy)
        .args(["--db", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(!copy.exists(), "no file is left behind");
}

#[tokio::test]
async fn backup_copies_a_serving_sqlite_database_to_a_private_new_file_and_never_over_one() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_sqlite_app().await;
    let user = app.new_user().await;
    user.session.create_app_password("Mail").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let backup = |to: &std::path::Path| {
        Command::new(BIN)
            .args(["backup", "--to"])
            .arg(to)
            .arg("--db")
            .arg(app.db_arg())
            .output()
            .unwrap()
    };
    let out = backup(&copy);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // The copy is a whole database: the admin CLI reads the account and its password from it.
    let list = Command::new(BIN)
        .args(["app-passwords", "list", &user.email, "--db"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("Mail"), "{list:?}");

    let again = backup(&copy);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"), "{again:?}");
}

#[test]
fn serve_answers_metrics_only_on_the_metrics_address_it_prints_second() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--db",
        ])
        .arg(dir.path().join("keyturn.db"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let mut line = |prefix: &str| {
        let line = lines.next().unwrap().unwrap();
        line.strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{line:?}"))
            .to_owned()
    };
    let api = line("listening on ");
    let metrics = line("metrics on ");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (health, on_api, text) = runtime.block_on(async {
        let http = reqwest::Client::new();
        let health = http.get(format!("{api}/healthz")).send().await.unwrap().status();
        let on_api = http.get(format!("{api}/metrics")).send().await.unwrap().status();
        let text = http.get(&metrics).send().await.unwrap().text().await.unwrap();
        (health, on_api, text)
    });
    assert_eq!((health.as_u16(), on_api.as_u16()), (200, 404));
    assert_eq!(
        series(
            &text,
            r#"keyturn_http_requests_total{method="GET",route="/healthz",status="200"}"#
        ),
        Some(1.0),
        "{text}"
    );
    let stopped = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(
        server.wait().unwrap().success(),
        "stops cleanly, the metrics server with it"
    );
}

/// Resident memory of a process now (`VmRSS`), from `/proc/PID/status`.
fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// The series of `keyturn_http_requests_total` and `keyturn_http_request_duration_seconds` (one line each per
/// label set: the counter's, and the histogram's `_count`).
async fn request_series(http: &reqwest::Client, metrics: &str) -> usize {
    let text = http.get(metrics).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("keyturn_http_requests_total{")
                || l.starts_with("keyturn_http_request_duration_seconds_count{")
        })
        .count()
}

/// Methods a client makes up are counted as `other`: 10,000 distinct ones on a known path add two series at
/// most (`other` and its status), and the server's memory stays where it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_made_up_methods_leave_the_metrics_and_the_memory_flat() {
    const METHODS: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let server = keyturn_server_process::ServerProcess::start_with(
        std::path::Path::new(BIN),
        &dir.path().join("keyturn.db"),
        None,
        &["--metrics-listen", "127.0.0.1:0"],
    )
    .unwrap();
    let metrics = server.metrics.clone().unwrap();
    let http = reqwest::Client::new();
    let config = format!("{}/v1/config", server.url);
    // Warm up: the series of the methods a client really uses, and the allocator's first arenas.
    for _ in 0..200 {
        http.get(&config).send().await.unwrap();
        let other = reqwest::Method::from_bytes(b"WARM").unwrap();
        http.request(other, &config).send().await.unwrap();
    }
    let series_before = request_series(&http, &metrics).await;
    let memory_before = resident_bytes(server.pid());
    for n in 0..METHODS {
        let method = reqwest::Method::from_bytes(format!("FOO{n}").as_bytes()).unwrap();
        let status = http.request(method, &config).send().await.unwrap().status();
        assert_eq!(status, 405);
    }
    let series_after = request_series(&http, &metrics).await;
    let memory_after = resident_bytes(server.pid());
    assert_eq!(series_after, series_before, "made-up methods made new series");
    let grown = memory_after.saturating_sub(memory_before);
    println!("10,000 made-up methods: {series_before} series before and after; resident memory grew {grown} bytes");
    assert!(grown < 2 * 1024 * 1024, "the server's memory grew {grown} bytes");
    let text = http.get(&metrics).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains(r#"keyturn_http_requests_total{method="other",route="/v1/config",status="405"}"#),
        "{text}"
    );
    assert!(!text.contains("FOO"), "a made-up method is a label");
}
