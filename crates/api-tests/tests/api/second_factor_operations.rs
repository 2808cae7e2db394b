//! Two-factor authentication from the operator's side: `--require-second-factor`, the audit trail, and the
//! support staff's `second-factor` commands.

use std::process::Command;

use keyturn_protocol::ErrorCode;
use keyturn_server::Options;

use crate::helpers::{create_request, new_key, secret, spawn_app, spawn_app_with_options, Refusal, PASSWORD};
use crate::second_factor::{code, user_with_second_factor};

#[tokio::test]
async fn a_server_that_requires_it_makes_app_passwords_only_for_accounts_with_it_on() {
    let app = spawn_app_with_options(Options {
        require_second_factor: true,
        ..Options::default()
    })
    .await;
    let user = app.new_user().await;
    let refused = user.session.send_create(&create_request("Mail"), &new_key()).await;
    assert_eq!(refused.refused(), Some(ErrorCode::SecondFactorRequired));
    let enrolment = user.session.enrol_totp(&secret(PASSWORD)).await.unwrap();
    user.session
        .confirm_totp(&secret(&code(&app, &enrolment.secret, 0)))
        .await
        .unwrap();
    assert!(user
        .session
        .send_create(&create_request("Mail"), &new_key())
        .await
        .is_ok());
}

#[tokio::test]
async fn every_step_is_in_the_audit_trail() {
    let app = spawn_app().await;
    let (user, totp_secret, recovery) = user_with_second_factor(&app).await;
    let password = secret(PASSWORD);
    let _ = app
        .client
        .sign_in_with_code(&user.email, &password, Some(&secret("000000")))
        .await;
    app.client
        .sign_in_with_code(&user.email, &password, Some(&secret(&recovery[0])))
        .await
        .unwrap();
    user.session
        .disable_totp(&password, &secret(&code(&app, &totp_secret, 0)))
        .await
        .unwrap();
    let output = Command::new(crate::helpers::SERVER_BIN)
        .args(["audit", &user.email, "--db"])
        .arg(app.db_arg())
        .output()
        .unwrap();
    let trail = String::from_utf8(output.stdout).unwrap();
    for event in [
        "two-factor setup started",
        "two-factor on",
        "failed verification code",
        "recovery code used",
        "two-factor off",
    ] {
        assert!(trail.contains(event), "{event:?} is missing from:\n{trail}");
    }
}

#[tokio::test]
async fn support_staff_see_it_and_reset_it_for_a_user_who_lost_the_phone() {
    let app = spawn_app().await;
    let (user, _, _) = user_with_second_factor(&app).await;
    let run = |args: &[&str]| {
        let output = Command::new(crate::helpers::SERVER_BIN)
            .args(args)
            .arg("--db")
            .arg(app.db_arg())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let status = run(&["second-factor", "status", &user.email]);
    assert!(
        status.starts_with(&format!("Two-factor authentication is on for {} since ", user.email)),
        "{status}"
    );
    assert!(status.contains("10 of 10 recovery codes left"), "{status}");
    let json: serde_json::Value =
        serde_json::from_str(&run(&["second-factor", "status", &user.email, "--json"])).unwrap();
    assert_eq!(json["state"], "on");

    assert_eq!(
        run(&["second-factor", "reset", &user.email]),
        format!(
            "Two-factor authentication is now off for {}. They sign in with their password and can turn it on again.\n",
            user.email
        )
    );
    assert!(app.client.sign_in(&user.email, &secret(PASSWORD)).await.is_ok());
    assert!(run(&["audit", &user.email]).contains("two-factor reset by support"));
    assert_eq!(
        run(&["second-factor", "status", &user.email]),
        format!("Two-factor authentication is off for {}.\n", user.email)
    );
}

#[tokio::test]
async fn with_it_required_an_app_password_made_earlier_keeps_working_after_a_reset() {
    let app = spawn_app_with_options(Options {
        require_second_factor: true,
        ..Options::default()
    })
    .await;
    let user = app.new_user().await;
    let enrolment = user.session.enrol_totp(&secret(PASSWORD)).await.unwrap();
    user.session
        .confirm_totp(&secret(&code(&app, &enrolment.secret, 0)))
        .await
        .unwrap();
    let created = user.session.create_app_password("Mail").await.unwrap();
    let output = Command::new(crate::helpers::SERVER_BIN)
        .args(["second-factor", "reset", &user.email, "--db"])
        .arg(app.db_arg())
        .output()
        .unwrap();
    assert!(output.status.success());
    let password = created.password.grouped();
    assert!(
        app.client.whoami(&user.email, &password).await.is_ok(),
        "the mail client stays signed in"
    );
    // The reset signed the user's devices out; signed in again (with the password alone now), a new password
    // needs two-factor authentication turned on first.
    assert_eq!(user.session.account().await.refused(), Some(ErrorCode::Unauthenticated));
    let again = app.client.sign_in(&user.email, &secret(PASSWORD)).await.unwrap();
    let refused = app
        .client
        .session(again.token)
        .send_create(&create_request("Calendar"), &new_key())
        .await;
    assert_eq!(refused.refused(), Some(ErrorCode::SecondFactorRequired));
}
