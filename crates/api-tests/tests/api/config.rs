use std::sync::Arc;

use keyturn_client::{AppPasswordOptions, CreatedAppPassword, Error};
use keyturn_protocol::wire::ServiceInfo;
use keyturn_protocol::{Scopes, VerifierParams};
use keyturn_server::testkit::TestServer;
use keyturn_server::{Options, SystemClock};

use crate::helpers::{ann_signed_in, spawn_app, spawn_app_with_options};

#[tokio::test]
async fn config_advertises_the_verifier_parameters_and_the_limit() {
    let app = spawn_app().await;
    let config = app.client.config().await.unwrap();
    assert_eq!(
        config.verifier_params,
        VerifierParams {
            m_cost: 19_456,
            t_cost: 2,
            p_cost: 1
        }
    );
    assert_eq!(config.max_app_passwords, 25);
}

#[tokio::test]
async fn config_says_whether_app_specific_passwords_need_two_factor_authentication_first() {
    let relaxed = spawn_app().await;
    let strict = spawn_app_with_options(Options {
        require_second_factor: true,
        ..Options::default()
    })
    .await;
    for (app, required) in [(&relaxed, false), (&strict, true)] {
        assert_eq!(app.client.config().await.unwrap().second_factor_required, required);
        // Spelled out on the wire either way, not left to a default.
        let body: serde_json::Value = reqwest::get(app.url("/v1/config")).await.unwrap().json().await.unwrap();
        assert_eq!(body["second_factor_required"], serde_json::json!(required), "{body}");
    }
}

#[tokio::test]
async fn an_unknown_path_answers_a_json_error() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/v1/nothing-here")).await.unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["message"], "No such endpoint.");
}

#[tokio::test]
async fn a_body_over_16_kib_is_rejected_with_413() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let huge = serde_json::json!({"label": "x".repeat(17 * 1024), "verifier": "v", "lookup_tag": "t"});
    let response = reqwest::Client::new()
        .post(app.url("/v1/app-passwords"))
        .bearer_auth(&user.token)
        .header("Idempotency-Key", "k")
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn a_client_refuses_to_build_verifiers_with_parameters_outside_the_protocols_bounds() {
    // A hostile or misconfigured server asks for a verifier that would be cheap to crack.
    let weak = VerifierParams {
        m_cost: 1024,
        t_cost: 1,
        p_cost: 1,
    };
    let server = TestServer::start_with(
        Arc::new(SystemClock),
        Options {
            params: weak,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let (_, session) = ann_signed_in(&server).await;
    let result = session.create_app_password("Mail").await;
    assert!(
        matches!(result, Err(Error::UnacceptableParams(_))),
        "{:?}",
        result.err()
    );
    assert!(
        session.list_app_passwords().await.unwrap().is_empty(),
        "nothing was sent"
    );
}

#[test]
fn serve_refuses_to_advertise_parameters_clients_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = std::process::Command::new(crate::helpers::SERVER_BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--argon2-m-cost", "1024", "--db"])
        .arg(dir.path().join("keyturn.db"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // If the rule broke, the server would serve until killed: give it 10 s to refuse.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = serve.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            serve.kill().unwrap();
            serve.wait().unwrap();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut serve.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        status.is_some_and(|s| !s.success()),
        "serve started with m=1024: {stderr}"
    );
    assert!(stderr.contains("outside what Keyturn accepts"), "{stderr}");
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_keeps_the_clients_own() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    let answer = http.get(app.url("/v1/config")).send().await.unwrap();
    let made = answer.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    let answer = http
        .get(app.url("/v1/nothing-here"))
        .header("x-request-id", "support-ticket-42")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["x-request-id"], "support-ticket-42");
}

fn service(scope: &str, url: &str, host: &str) -> ServiceInfo {
    ServiceInfo {
        scope: scope.to_owned(),
        url: url.to_owned(),
        host: host.to_owned(),
    }
}

/// The operator names its services; `/v1/config` publishes them, and a new password comes back with those its
/// scopes reach, for the reveal to name.
#[tokio::test]
async fn a_new_password_comes_with_the_operators_services_its_scopes_reach() {
    let services = vec![
        service("mail", "imaps://mail.example.com:993", "mail.example.com"),
        service("mail", "smtps://smtp.example.com:465", "smtp.example.com"),
        service("calendars", "https://dav.example.com/", "dav.example.com"),
    ];
    let app = spawn_app_with_options(Options {
        services: services.clone(),
        ..Options::default()
    })
    .await;
    assert_eq!(app.client.config().await.unwrap().services, services);
    let user = app.new_user().await;
    let hosts = |created: &CreatedAppPassword| created.services.iter().map(|s| s.host.clone()).collect::<Vec<_>>();
    let mail = user
        .session
        .create_app_password_with_options(
            "Thunderbird",
            AppPasswordOptions {
                scopes: Scopes::parse(&["mail"]).unwrap(),
                expires_in_days: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(hosts(&mail), ["mail.example.com", "smtp.example.com"]);
    let calendars = user
        .session
        .create_app_password_with_options(
            "Phone",
            AppPasswordOptions {
                scopes: Scopes::parse(&["calendars", "contacts"]).unwrap(),
                expires_in_days: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(hosts(&calendars), ["dav.example.com"]);
    let everything = user.session.create_app_password("Laptop").await.unwrap();
    assert_eq!(everything.services, services);

    // Without services the config says so on the wire, and a new password names none.
    let plain = spawn_app().await;
    let body: serde_json::Value = reqwest::get(plain.url("/v1/config"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["services"], serde_json::json!([]), "{body}");
    let user = plain.new_user().await;
    assert!(user
        .session
        .create_app_password("Mail")
        .await
        .unwrap()
        .services
        .is_empty());
}

/// `serve --service SCOPE=URL`, repeated: published as given, with the host name; a bad one stops `serve`
/// with the reason.
#[tokio::test]
async fn serve_takes_services_from_its_flags_and_refuses_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keyturn.db");
    let server = keyturn_server_process::ServerProcess::start_with(
        std::path::Path::new(crate::helpers::SERVER_BIN),
        &db,
        None,
        &[
            "--service",
            "mail=imaps://mail.example.com:993",
            "--service",
            "calendars=https://dav.example.com/",
        ],
    )
    .unwrap();
    let body: serde_json::Value = reqwest::get(format!("{}/v1/config", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["services"],
        serde_json::json!([
            {"scope": "mail", "url": "imaps://mail.example.com:993", "host": "mail.example.com"},
            {"scope": "calendars", "url": "https://dav.example.com/", "host": "dav.example.com"},
        ])
    );
    let bad = std::process::Command::new(crate::helpers::SERVER_BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--service",
            "photos=https://x.example",
            "--db",
        ])
        .arg(dir.path().join("other.db"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(
        said.contains("unknown scope \"photos\": one of mail, calendars, contacts, files"),
        "{said}"
    );
}
