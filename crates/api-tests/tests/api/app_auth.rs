use chrono::Duration;

use keyturn_protocol::ErrorCode;

use crate::helpers::{spawn_app, Refusal, PASSWORD};

#[tokio::test]
async fn the_primary_password_fails_at_whoami() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    user.session.create_app_password("Mail").await.unwrap();
    assert_eq!(
        app.client.whoami(&user.email, PASSWORD).await.refused(),
        Some(ErrorCode::InvalidCredentials)
    );
}

#[tokio::test]
async fn an_app_password_works_in_any_case_with_or_without_hyphens_and_spaces() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let created = user.session.create_app_password("Mail").await.unwrap();
    let plain = created.password.expose().to_owned();
    let grouped = created.password.grouped().to_string();
    for typed in [
        plain.clone(),
        plain.to_uppercase(),
        grouped.clone(),
        grouped.replace('-', " ").to_uppercase(),
    ] {
        let who = app.client.whoami(&user.email.to_uppercase(), &typed).await;
        assert!(who.is_ok(), "{typed}: {who:?}");
    }
}

#[tokio::test]
async fn a_failed_sign_in_asks_for_basic_credentials() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for request in [
        reqwest::Client::new().get(app.url("/v1/app-auth/whoami")),
        reqwest::Client::new()
            .get(app.url("/v1/app-auth/whoami"))
            .basic_auth(&user.email, Some("abcd-efgh-ijkl-mnop")),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Basic realm=\"keyturn\"");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_credentials");
    }
}

#[tokio::test]
async fn another_accounts_password_does_not_work() {
    let app = spawn_app().await;
    let ann = app.new_user().await;
    let bob = app.new_user().await;
    let anns = ann.session.create_app_password("Mail").await.unwrap();
    assert_eq!(
        app.client.whoami(&bob.email, anns.password.expose()).await.refused(),
        Some(ErrorCode::InvalidCredentials)
    );
}

#[tokio::test]
async fn repeated_sign_ins_cost_one_argon2_run() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let created = user.session.create_app_password("Mail").await.unwrap();
    let before = app.state.argon2_verifications();
    app.client.whoami(&user.email, created.password.expose()).await.unwrap();
    assert_eq!(app.state.argon2_verifications(), before + 1);
    for _ in 0..20 {
        app.client
            .whoami(&user.email, &created.password.grouped())
            .await
            .unwrap();
    }
    assert_eq!(
        app.state.argon2_verifications(),
        before + 1,
        "later sign-ins hit the cache"
    );
    // A wrong password is never a cache hit.
    let wrong = "zzzz-zzzz-zzzz-zzzz";
    assert_eq!(
        app.client.whoami(&user.email, wrong).await.refused(),
        Some(ErrorCode::InvalidCredentials)
    );
}

#[tokio::test]
async fn last_used_is_written_at_most_once_a_minute() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let created = user.session.create_app_password("Mail").await.unwrap();
    let start = keyturn_server::Clock::now(&app.clock);
    app.client.whoami(&user.email, created.password.expose()).await.unwrap();
    let last_used = || async { user.session.list_app_passwords().await.unwrap()[0].last_used_at };
    assert_eq!(last_used().await, Some(start));
    app.clock.advance(Duration::seconds(59));
    app.client.whoami(&user.email, created.password.expose()).await.unwrap();
    assert_eq!(last_used().await, Some(start), "not rewritten within a minute");
    app.clock.advance(Duration::seconds(1));
    app.client.whoami(&user.email, created.password.expose()).await.unwrap();
    assert_eq!(last_used().await, Some(start + Duration::seconds(60)));
}
