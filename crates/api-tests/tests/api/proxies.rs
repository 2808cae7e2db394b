//! The client's address behind a trusted proxy, and what a stranger who knows an email can and cannot do.

use std::sync::Arc;

use keyturn_protocol::ErrorCode;
use keyturn_server::testkit::{ManualClock, TestServer};
use keyturn_server::Options;
use serde_json::json;

use crate::helpers::{secret, spawn_app, Refusal, PASSWORD};

/// A server behind a proxy on this computer: 127.0.0.1 is trusted to say who the client is.
pub(crate) async fn proxied_server() -> TestServer {
    let options = Options {
        trusted_proxies: "127.0.0.1/32".parse().unwrap(),
        ..Options::default()
    };
    TestServer::start_with(Arc::new(ManualClock::at_test_start()), options)
        .await
        .unwrap()
}

/// The same, with Ann's account.
async fn behind_a_proxy() -> TestServer {
    let server = proxied_server().await;
    server.add_account("ann@example.com", PASSWORD).await.unwrap();
    server
}

/// A sign-in as the proxy forwards it: the status code.
async fn sign_in_from(server: &TestServer, client: &str, password: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/v1/sessions", server.url))
        .header("x-forwarded-for", client)
        .json(&json!({"email": "ann@example.com", "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_a_trusted_proxy_a_stranger_guessing_does_not_lock_out_the_owner() {
    let server = behind_a_proxy().await;
    for _ in 0..5 {
        assert_eq!(sign_in_from(&server, "198.51.100.66", "guess").await, 401);
    }
    assert_eq!(sign_in_from(&server, "198.51.100.66", "guess").await, 429);
    // The owner, at home, behind the same proxy.
    assert_eq!(sign_in_from(&server, "203.0.113.7", PASSWORD).await, 201);
}

#[tokio::test]
async fn the_audit_trail_names_the_forwarded_client() {
    let server = behind_a_proxy().await;
    assert_eq!(sign_in_from(&server, "203.0.113.7", PASSWORD).await, 201);
    let account = server
        .state
        .store()
        .find_account_by_email(&keyturn_protocol::Email::parse("ann@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    let events = server.state.store().audit_events(&account.id).await.unwrap();
    assert_eq!(events.last().unwrap().client_addr, "203.0.113.7");
}

#[tokio::test]
async fn without_trusted_proxies_a_forged_header_buys_no_fresh_guesses() {
    let app = spawn_app().await;
    app.add_account("ann@example.com", PASSWORD).await;
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..8 {
        let status = http
            .post(app.url("/v1/sessions"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .json(&json!({"email": "ann@example.com", "password": "guess"}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        statuses.push(status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
}

#[tokio::test]
async fn a_mail_client_whose_password_is_cached_is_never_refused_by_the_back_off() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let mail = user.session.create_app_password("Mail").await.unwrap();
    let mail = mail.password.grouped().to_string();
    let revoked = user.session.create_app_password("Old laptop").await.unwrap();
    app.client.whoami(&user.email, &mail).await.unwrap();
    user.session.revoke(&revoked.info.id).await.unwrap();
    // The old laptop keeps retrying its revoked password from the same address until it is throttled.
    let old = revoked.password.grouped().to_string();
    let mut throttled = false;
    for _ in 0..20 {
        throttled |= app.client.whoami(&user.email, &old).await.refused() == Some(ErrorCode::RateLimited);
    }
    assert!(throttled, "the revoked password's retries are throttled");
    // The mail client on the same computer still gets in.
    assert_eq!(app.client.whoami(&user.email, &mail).await.unwrap().label, "Mail");
}

#[tokio::test]
async fn an_email_longer_than_any_account_is_refused_before_any_argon2() {
    let app = spawn_app().await;
    let long = format!("{}@example.com", "a".repeat(300));
    let before = app.state.argon2_verifications();
    assert_eq!(
        app.client.sign_in(&long, &secret(PASSWORD)).await.refused(),
        Some(ErrorCode::InvalidCredentials)
    );
    assert_eq!(
        app.client.whoami(&long, "abcd-efgh-ijkl-mnop").await.refused(),
        Some(ErrorCode::InvalidCredentials)
    );
    assert_eq!(app.state.argon2_verifications(), before);
}
