//! Two-factor authentication's rules around the password: a wrong one when turning it on is throttled with
//! sign-in's allowance, and each wrong one (or a right one without the code) is an audit line the user sees.

use chrono::Duration;
use keyturn_protocol::wire::ActivityKind;
use keyturn_protocol::ErrorCode;

use crate::admin_cli::run::{admin, stdout};
use crate::helpers::{secret, spawn_app, Refusal, TestApp, TestUser, PASSWORD};

/// A signed-in user who turned two-factor authentication on, and the secret; the confirming code is spent.
async fn user_with_second_factor(app: &TestApp) -> (TestUser, String) {
    let user = app.new_user().await;
    let enrolment = user.session.enrol_totp(&secret(PASSWORD)).await.unwrap();
    user.session
        .confirm_totp(&secret(&crate::second_factor::code(app, &enrolment.secret, 0)))
        .await
        .unwrap();
    app.clock.advance(Duration::seconds(30));
    (user, enrolment.secret)
}

/// The account's audit trail as support staff read it: `(kind, detail)`, oldest first.
fn audit_trail(app: &TestApp, email: &str) -> Vec<(String, String)> {
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&admin(app.db_arg(), &["audit", email, "--json"]))).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_wrong_password_when_turning_it_on_is_throttled_with_sign_ins_allowance() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for _ in 0..5 {
        assert_eq!(
            user.session
                .enrol_totp(&secret("not my password"))
                .await
                .refused_with_wait(),
            Some((ErrorCode::InvalidCredentials, None))
        );
    }
    // Locked: even the right password waits, with a Retry-After.
    let response = reqwest::Client::new()
        .post(app.url("/v1/account/totp"))
        .bearer_auth(&user.token)
        .json(&serde_json::json!({ "current_password": PASSWORD }))
        .send()
        .await
        .unwrap();
    crate::helpers::assert_rate_limited_for_a_second(response).await;
    // The same count as signing in: guessing through a stolen session is no faster.
    assert_eq!(
        app.client.sign_in(&user.email, &secret(PASSWORD)).await.refused(),
        Some(ErrorCode::RateLimited)
    );
    app.clock.advance(Duration::seconds(1));
    assert!(user.session.enrol_totp(&secret(PASSWORD)).await.is_ok());
}

#[tokio::test]
async fn the_right_password_without_a_code_is_recorded_and_shown_in_recent_activity() {
    let app = spawn_app().await;
    let (user, _) = user_with_second_factor(&app).await;
    let wrong = app.client.sign_in(&user.email, &secret("not my password")).await;
    assert_eq!(wrong.refused(), Some(ErrorCode::InvalidCredentials));
    let no_code = app.client.sign_in(&user.email, &secret(PASSWORD)).await;
    assert_eq!(no_code.refused(), Some(ErrorCode::SecondFactorRequired));

    let events = user.session.activity(Some(2)).await.unwrap();
    let kinds: Vec<ActivityKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [ActivityKind::VerificationCodeAsked, ActivityKind::FailedSignIn],
        "a wrong password asks for no code"
    );
    assert_eq!(events[0].address.as_deref(), Some("127.0.0.1"));
    assert_eq!(events[0].label, None);
    let trail = audit_trail(&app, &user.email);
    assert_eq!(
        trail
            .iter()
            .filter(|(kind, _)| kind == "right password, code asked for")
            .count(),
        1,
        "{trail:?}"
    );
}

#[tokio::test]
async fn a_wrong_password_when_turning_it_on_or_off_is_a_failed_sign_in() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let refused = user.session.enrol_totp(&secret("not my password")).await;
    assert_eq!(refused.refused(), Some(ErrorCode::InvalidCredentials));
    let latest = user.session.activity(Some(1)).await.unwrap();
    assert_eq!(latest[0].kind, ActivityKind::FailedSignIn);
    assert_eq!(latest[0].address.as_deref(), Some("127.0.0.1"));
    assert_eq!(failed_sign_ins(&app, &user.email), ["two-factor setup"]);

    let (user, totp_secret) = user_with_second_factor(&app).await;
    let refused = user
        .session
        .disable_totp(
            &secret("not my password"),
            &secret(&crate::second_factor::code(&app, &totp_secret, 0)),
        )
        .await;
    assert_eq!(refused.refused(), Some(ErrorCode::InvalidCredentials));
    assert!(user.session.account().await.unwrap().second_factor, "still on");
    let latest = user.session.activity(Some(1)).await.unwrap();
    assert_eq!(latest[0].kind, ActivityKind::FailedSignIn);
    assert_eq!(failed_sign_ins(&app, &user.email), ["turning two-factor off"]);
}

/// The details of the account's "failed sign-in" lines: where the wrong password was typed.
fn failed_sign_ins(app: &TestApp, email: &str) -> Vec<String> {
    audit_trail(app, email)
        .into_iter()
        .filter(|(kind, _)| kind == "failed sign-in")
        .map(|(_, detail)| detail)
        .collect()
}
