use std::time::Duration as Wait;

use chrono::Duration;

use keyturn_client::ApiFailure;
use keyturn_protocol::ErrorCode;

use crate::helpers::{secret, spawn_app, Refusal, PASSWORD};

fn limited(secs: u64) -> Option<(ErrorCode, Option<Wait>)> {
    Some((ErrorCode::RateLimited, Some(Wait::from_secs(secs))))
}

#[tokio::test]
async fn sign_in_failures_grow_a_delay_answered_with_429_and_retry_after() {
    let app = spawn_app().await;
    app.add_account("ann@example.com", PASSWORD).await;
    for _ in 0..5 {
        assert_eq!(
            app.client
                .sign_in("ann@example.com", &secret("wrong"))
                .await
                .refused_with_wait(),
            Some((ErrorCode::InvalidCredentials, None))
        );
    }
    // Locked: even the right password waits.
    assert_eq!(
        app.client
            .sign_in("ann@example.com", &secret(PASSWORD))
            .await
            .refused_with_wait(),
        limited(1)
    );
    app.clock.advance(Duration::seconds(1));
    assert_eq!(
        app.client
            .sign_in("ann@example.com", &secret("wrong"))
            .await
            .refused_with_wait(),
        Some((ErrorCode::InvalidCredentials, None))
    );
    assert_eq!(
        app.client
            .sign_in("ann@example.com", &secret("wrong"))
            .await
            .refused_with_wait(),
        limited(2)
    );
    app.clock.advance(Duration::seconds(2));
    // A success clears the count.
    assert!(app.client.sign_in("ann@example.com", &secret(PASSWORD)).await.is_ok());
    assert_eq!(
        app.client
            .sign_in("ann@example.com", &secret("wrong"))
            .await
            .refused_with_wait(),
        Some((ErrorCode::InvalidCredentials, None))
    );
}

#[tokio::test]
async fn the_429_carries_a_retry_after_header() {
    let app = spawn_app().await;
    for _ in 0..5 {
        let _ = app.client.sign_in("ann@example.com", &secret("wrong")).await;
    }
    let response = reqwest::Client::new()
        .post(app.url("/v1/sessions"))
        .json(&serde_json::json!({"email": "ann@example.com", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    crate::helpers::assert_rate_limited_for_a_second(response).await;
}

#[tokio::test]
async fn one_address_guessing_at_many_accounts_is_throttled() {
    let app = spawn_app().await;
    // 50 failures in any 10 minutes from one address, across accounts; then it waits for the window to slide.
    for i in 0..50 {
        let email = format!("victim{i}@example.com");
        assert_eq!(
            app.client.sign_in(&email, &secret("guess")).await.refused_with_wait(),
            Some((ErrorCode::InvalidCredentials, None))
        );
    }
    let result = app.client.sign_in("victim99@example.com", &secret("guess")).await;
    assert_eq!(result.refused_with_wait(), limited(601));
    app.clock.advance(Duration::seconds(601));
    let result = app.client.sign_in("victim99@example.com", &secret("guess")).await;
    assert_eq!(result.refused_with_wait(), Some((ErrorCode::InvalidCredentials, None)));
}

#[tokio::test]
async fn sign_in_and_app_sign_in_are_counted_separately() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let created = user.session.create_app_password("Mail").await.unwrap();
    for _ in 0..5 {
        let _ = app.client.whoami(&user.email, "aaaa-aaaa-aaaa-aaaa").await;
    }
    assert_eq!(
        app.client
            .whoami(&user.email, created.password.expose())
            .await
            .refused_with_wait(),
        limited(1)
    );
    assert!(
        app.client.sign_in(&user.email, &secret(PASSWORD)).await.is_ok(),
        "the primary sign-in is not locked"
    );
    app.clock.advance(Duration::seconds(1));
    assert!(app.client.whoami(&user.email, created.password.expose()).await.is_ok());
}

#[tokio::test]
async fn an_account_takes_at_most_100_consecutive_failures_a_day() {
    let app = spawn_app().await;
    app.add_account("ann@example.com", PASSWORD).await;
    let start = keyturn_server::Clock::now(&app.clock);
    let mut failures = 0;
    loop {
        match app.client.sign_in("ann@example.com", &secret("wrong")).await {
            Err(e) if e.is(ErrorCode::InvalidCredentials) => failures += 1,
            Err(keyturn_client::Error::Api(ApiFailure {
                code: ErrorCode::RateLimited,
                retry_after: Some(wait),
                ..
            })) if wait < Wait::from_secs(3600) => {
                app.clock.advance(Duration::seconds(wait.as_secs() as i64));
            }
            Err(keyturn_client::Error::Api(ApiFailure {
                code: ErrorCode::RateLimited,
                retry_after: Some(wait),
                ..
            })) => {
                // Locked until a day after the first failure.
                let until = keyturn_server::Clock::now(&app.clock) + Duration::seconds(wait.as_secs() as i64);
                assert_eq!(until, start + Duration::hours(24));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(failures, 100);
    app.clock.advance(Duration::hours(24));
    assert!(app.client.sign_in("ann@example.com", &secret(PASSWORD)).await.is_ok());
}
