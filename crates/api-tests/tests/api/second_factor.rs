//! Two-factor authentication (RFC 6238 TOTP): turning it on and off, signing in and changing the password
//! with a code or a recovery code, each code once, wrong codes throttled. Codes are computed here, at the
//! server's (stepped) clock. `--require-second-factor` and the support staff's `second-factor` commands are
//! in `second_factor_operations`.

use chrono::Duration;
use keyturn_client::SessionClient;
use keyturn_protocol::{ErrorCode, RECOVERY_CODES};
use keyturn_server::Clock;
use totp_rs::{Algorithm, Builder, Secret};

use crate::helpers::{secret, spawn_app, Refusal, TestApp, TestUser, PASSWORD};

/// The code an authenticator app shows for `secret` at the server's clock, `steps` periods away.
pub(crate) fn code(app: &TestApp, secret_b32: &str, steps: i64) -> String {
    let at = app.clock.now() + Duration::seconds(30 * steps);
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(secret_b32).unwrap())
        .build()
        .unwrap()
        .generate(at.timestamp() as u64)
        .to_string()
}

/// A signed-in user who turned two-factor authentication on: their secret and recovery codes.
pub(crate) async fn user_with_second_factor(app: &TestApp) -> (TestUser, String, Vec<String>) {
    let user = app.new_user().await;
    let enrolment = user.session.enrol_totp(&secret(PASSWORD)).await.unwrap();
    let codes = user
        .session
        .confirm_totp(&secret(&code(app, &enrolment.secret, 0)))
        .await
        .unwrap()
        .recovery_codes;
    // The confirming code is spent: the next sign-in uses the next period's.
    app.clock.advance(Duration::seconds(30));
    (user, enrolment.secret, codes)
}

async fn second_factor_on(session: &SessionClient) -> bool {
    session.account().await.unwrap().second_factor
}

#[tokio::test]
async fn turning_it_on_takes_the_password_then_a_code_and_answers_the_recovery_codes_once() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    assert!(!second_factor_on(&user.session).await);
    let wrong = user.session.enrol_totp(&secret("not my password")).await;
    assert_eq!(wrong.refused(), Some(ErrorCode::InvalidCredentials));

    let enrolment = user.session.enrol_totp(&secret(PASSWORD)).await.unwrap();
    assert_eq!(enrolment.secret.len(), 32, "160 bits of base32");
    assert_eq!(
        enrolment.otpauth_uri,
        format!(
            "otpauth://totp/Keyturn:{}?secret={}&issuer=Keyturn&algorithm=SHA1&digits=6&period=30",
            user.email, enrolment.secret
        )
    );
    assert!(!second_factor_on(&user.session).await, "pending until confirmed");

    let right = code(&app, &enrolment.secret, 0);
    let wrong_code = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    let refused = user.session.confirm_totp(&secret(&wrong_code)).await;
    assert_eq!(refused.refused(), Some(ErrorCode::InvalidSecondFactor));
    assert!(!second_factor_on(&user.session).await);

    let codes = user.session.confirm_totp(&secret(&right)).await.unwrap().recovery_codes;
    assert_eq!(codes.len(), RECOVERY_CODES);
    assert!(second_factor_on(&user.session).await);
    let again = user.session.enrol_totp(&secret(PASSWORD)).await;
    assert_eq!(again.refused(), Some(ErrorCode::SecondFactorEnabled));
    let confirm_again = user
        .session
        .confirm_totp(&secret(&code(&app, &enrolment.secret, 1)))
        .await;
    assert_eq!(confirm_again.refused(), Some(ErrorCode::SecondFactorEnabled));
}

#[tokio::test]
async fn a_new_setup_replaces_a_pending_one_and_nothing_pending_confirms_nothing() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let nothing = user.session.confirm_totp(&secret("123456")).await;
    assert_eq!(nothing.refused(), Some(ErrorCode::InvalidSecondFactor));
    let first = user.session.enrol_totp(&secret(PASSWORD)).await.unwrap();
    let second = user.session.enrol_totp(&secret(PASSWORD)).await.unwrap();
    assert_ne!(first.secret, second.secret);
    let stale = user.session.confirm_totp(&secret(&code(&app, &first.secret, 0))).await;
    assert_eq!(stale.refused(), Some(ErrorCode::InvalidSecondFactor));
    assert!(user
        .session
        .confirm_totp(&secret(&code(&app, &second.secret, 0)))
        .await
        .is_ok());
}

#[tokio::test]
async fn with_it_on_a_sign_in_needs_a_code_and_each_code_works_once() {
    let app = spawn_app().await;
    let (user, totp_secret, _) = user_with_second_factor(&app).await;
    let password = secret(PASSWORD);

    let no_code = app.client.sign_in(&user.email, &password).await;
    assert_eq!(no_code.refused(), Some(ErrorCode::SecondFactorRequired));
    let wrong_password = app
        .client
        .sign_in_with_code(
            &user.email,
            &secret("not my password"),
            Some(&secret(&code(&app, &totp_secret, 0))),
        )
        .await;
    assert_eq!(
        wrong_password.refused(),
        Some(ErrorCode::InvalidCredentials),
        "a wrong password says nothing of the second factor"
    );

    let now = secret(&code(&app, &totp_secret, 0));
    assert!(app
        .client
        .sign_in_with_code(&user.email, &password, Some(&now))
        .await
        .is_ok());
    let replay = app.client.sign_in_with_code(&user.email, &password, Some(&now)).await;
    assert_eq!(
        replay.refused(),
        Some(ErrorCode::InvalidSecondFactor),
        "a code works once"
    );

    // One step of drift either way is accepted; two are not.
    app.clock.advance(Duration::seconds(90));
    let late = secret(&code(&app, &totp_secret, -1));
    assert!(app
        .client
        .sign_in_with_code(&user.email, &password, Some(&late))
        .await
        .is_ok());
    app.clock.advance(Duration::seconds(90));
    let early = secret(&code(&app, &totp_secret, 1));
    assert!(app
        .client
        .sign_in_with_code(&user.email, &password, Some(&early))
        .await
        .is_ok());
    app.clock.advance(Duration::seconds(120));
    let too_old = secret(&code(&app, &totp_secret, -2));
    let refused = app
        .client
        .sign_in_with_code(&user.email, &password, Some(&too_old))
        .await;
    assert_eq!(refused.refused(), Some(ErrorCode::InvalidSecondFactor));
}

#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let app = spawn_app().await;
    let (user, _, recovery) = user_with_second_factor(&app).await;
    let password = secret(PASSWORD);
    let first = secret(&recovery[0].to_uppercase());
    assert!(
        app.client
            .sign_in_with_code(&user.email, &password, Some(&first))
            .await
            .is_ok(),
        "case does not matter"
    );
    let again = app.client.sign_in_with_code(&user.email, &password, Some(&first)).await;
    assert_eq!(again.refused(), Some(ErrorCode::InvalidSecondFactor));
    let made_up = app
        .client
        .sign_in_with_code(&user.email, &password, Some(&secret("abcde-fghjk")))
        .await;
    assert_eq!(made_up.refused(), Some(ErrorCode::InvalidSecondFactor));
    assert!(app
        .client
        .sign_in_with_code(&user.email, &password, Some(&secret(&recovery[1])))
        .await
        .is_ok());
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_passwords() {
    let app = spawn_app().await;
    let (user, totp_secret, _) = user_with_second_factor(&app).await;
    let password = secret(PASSWORD);
    let right = code(&app, &totp_secret, 0);
    let wrong = secret(&format!("{:06}", (right.parse::<u32>().unwrap() + 7) % 1_000_000));
    for _ in 0..5 {
        let refused = app.client.sign_in_with_code(&user.email, &password, Some(&wrong)).await;
        assert_eq!(refused.refused(), Some(ErrorCode::InvalidSecondFactor));
    }
    let throttled = app
        .client
        .sign_in_with_code(&user.email, &password, Some(&secret(&right)))
        .await;
    assert_eq!(
        throttled.refused(),
        Some(ErrorCode::RateLimited),
        "after 5 wrong codes even the right one waits"
    );
}

#[tokio::test]
async fn changing_the_password_with_it_on_needs_a_code() {
    let app = spawn_app().await;
    let (user, totp_secret, _) = user_with_second_factor(&app).await;
    let (current, new) = (secret(PASSWORD), secret("a brand new password"));
    let no_code = user.session.change_password(&current, &new).await;
    assert_eq!(no_code.refused(), Some(ErrorCode::SecondFactorRequired));
    let wrong = user
        .session
        .change_password_with_code(&current, &new, Some(&secret("000000")))
        .await;
    assert!(matches!(wrong.refused(), Some(ErrorCode::InvalidSecondFactor)));
    user.session
        .change_password_with_code(&current, &new, Some(&secret(&code(&app, &totp_secret, 0))))
        .await
        .unwrap();
    app.clock.advance(Duration::seconds(30));
    assert!(app
        .client
        .sign_in_with_code(&user.email, &new, Some(&secret(&code(&app, &totp_secret, 0))))
        .await
        .is_ok());
}

#[tokio::test]
async fn turning_it_off_takes_the_password_and_a_code_or_a_recovery_code() {
    let app = spawn_app().await;
    let (user, totp_secret, recovery) = user_with_second_factor(&app).await;
    let wrong_password = user
        .session
        .disable_totp(&secret("not my password"), &secret(&code(&app, &totp_secret, 0)))
        .await;
    assert_eq!(wrong_password.refused(), Some(ErrorCode::InvalidCredentials));
    let wrong_code = user
        .session
        .disable_totp(&secret(PASSWORD), &secret("abcde-fghjk"))
        .await;
    assert_eq!(wrong_code.refused(), Some(ErrorCode::InvalidSecondFactor));
    assert!(second_factor_on(&user.session).await);

    user.session
        .disable_totp(&secret(PASSWORD), &secret(&recovery[0]))
        .await
        .unwrap();
    assert!(!second_factor_on(&user.session).await);
    assert!(app.client.sign_in(&user.email, &secret(PASSWORD)).await.is_ok());
    let off = user
        .session
        .disable_totp(&secret(PASSWORD), &secret(&code(&app, &totp_secret, 0)))
        .await;
    assert_eq!(off.refused(), Some(ErrorCode::NotFound));
    let old_recovery = app
        .client
        .sign_in_with_code(&user.email, &secret(PASSWORD), Some(&secret(&recovery[1])))
        .await;
    assert!(
        old_recovery.is_ok(),
        "with it off a code is not asked for, and not checked"
    );
}

#[tokio::test]
async fn a_weak_new_password_does_not_spend_the_recovery_code() {
    let app = spawn_app().await;
    let (user, _, recovery) = user_with_second_factor(&app).await;
    let weak = user
        .session
        .change_password_with_code(&secret(PASSWORD), &secret("elevenchars"), Some(&secret(&recovery[0])))
        .await;
    assert_eq!(weak.refused(), Some(ErrorCode::WeakPassword));
    assert!(app
        .client
        .sign_in_with_code(&user.email, &secret(PASSWORD), Some(&secret(&recovery[0])))
        .await
        .is_ok());
}

#[tokio::test]
async fn recovery_codes_are_stored_only_as_hashes() {
    let app = spawn_app().await;
    let (user, _, recovery) = user_with_second_factor(&app).await;
    let stored: Vec<(String,)> = sqlx::query_as("SELECT code_hash FROM recovery_codes")
        .fetch_all(&app.db().await)
        .await
        .unwrap();
    assert_eq!(stored.len(), RECOVERY_CODES);
    for code in &recovery {
        let bare = code.replace('-', "");
        assert!(
            stored
                .iter()
                .all(|(hash,)| !hash.contains(code.as_str()) && !hash.contains(&bare)),
            "{}'s code is stored in the clear",
            user.email
        );
    }
}

#[tokio::test]
async fn confirming_with_nothing_pending_is_no_guess() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for _ in 0..8 {
        let refused = user.session.confirm_totp(&secret("123456")).await;
        assert_eq!(refused.refused(), Some(ErrorCode::InvalidSecondFactor));
    }
    let enrolment = user.session.enrol_totp(&secret(PASSWORD)).await.unwrap();
    assert!(
        user.session
            .confirm_totp(&secret(&code(&app, &enrolment.secret, 0)))
            .await
            .is_ok(),
        "not throttled by the confirmations that had nothing to confirm"
    );
}

/// Recent Activity tells the whole story of the second factor and of devices, each in its own kind: turned
/// on, a recovery code used (with how many are left), a device signed out from another, turned off, and a
/// support reset (no address: support did it).
#[tokio::test]
async fn recent_activity_names_each_second_factor_and_device_event() {
    use keyturn_protocol::wire::ActivityKind;
    let app = spawn_app().await;
    let (user, totp_secret, recovery) = user_with_second_factor(&app).await;
    let laptop = app
        .client
        .sign_in_with_code(&user.email, &secret(PASSWORD), Some(&secret(&recovery[0])))
        .await
        .unwrap();
    let laptop = app.client.session(laptop.token);
    let others: Vec<_> = user
        .session
        .sessions()
        .await
        .unwrap()
        .into_iter()
        .filter(|s| !s.current)
        .collect();
    assert_eq!(others.len(), 1);
    user.session.end_session(&others[0].id).await.unwrap();
    assert!(laptop.account().await.is_err());
    user.session
        .disable_totp(&secret(PASSWORD), &secret(&code(&app, &totp_secret, 0)))
        .await
        .unwrap();
    app.clock.advance(Duration::seconds(30));
    let again = user.session.enrol_totp(&secret(PASSWORD)).await.unwrap();
    user.session
        .confirm_totp(&secret(&code(&app, &again.secret, 0)))
        .await
        .unwrap();
    let reset = crate::admin_cli::run::admin(app.db_arg(), &["second-factor", "reset", &user.email]);
    assert!(reset.status.success(), "{}", String::from_utf8_lossy(&reset.stderr));

    // The reset signed every device out: the user signs in again, with the password alone now.
    let after = app.client.sign_in(&user.email, &secret(PASSWORD)).await.unwrap();
    let events = app.client.session(after.token).activity(None).await.unwrap();
    // Support's reset is stamped by the wall clock, the rest by the test's: compared as a set, not in order.
    let line = |kind: ActivityKind, detail: Option<&str>, address: bool| {
        (format!("{kind:?}"), detail.map(str::to_owned), address)
    };
    let mut told: Vec<_> = events
        .iter()
        .filter(|e| e.kind != ActivityKind::SignIn)
        .map(|e| line(e.kind, e.detail.as_deref(), e.address.is_some()))
        .collect();
    let left = (RECOVERY_CODES - 1).to_string();
    let mut expected = vec![
        line(ActivityKind::SecondFactorReset, None, false),
        line(ActivityKind::SecondFactorOn, None, true),
        line(ActivityKind::SecondFactorOff, None, true),
        line(ActivityKind::DeviceSignedOut, Some(&others[0].client), true),
        line(ActivityKind::RecoveryCodeUsed, Some(&left), true),
        line(ActivityKind::SecondFactorOn, None, true),
    ];
    told.sort();
    expected.sort();
    assert_eq!(told, expected);
}

/// Turning two-factor authentication on or off signs every other device out (the one that did it stays);
/// support's reset signs out every device.
#[tokio::test]
async fn turning_it_on_or_off_signs_every_other_device_out_and_a_reset_every_device() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let laptop = app.client.sign_in(&user.email, &secret(PASSWORD)).await.unwrap();
    let laptop = app.client.session(laptop.token);
    let enrolment = user.session.enrol_totp(&secret(PASSWORD)).await.unwrap();
    user.session
        .confirm_totp(&secret(&code(&app, &enrolment.secret, 0)))
        .await
        .unwrap();
    assert_eq!(
        laptop.account().await.refused(),
        Some(ErrorCode::Unauthenticated),
        "on: the laptop is out"
    );
    assert!(
        user.session.account().await.is_ok(),
        "the device that turned it on stays"
    );

    app.clock.advance(Duration::seconds(30));
    let phone = app
        .client
        .sign_in_with_code(
            &user.email,
            &secret(PASSWORD),
            Some(&secret(&code(&app, &enrolment.secret, 0))),
        )
        .await
        .unwrap();
    let phone = app.client.session(phone.token);
    app.clock.advance(Duration::seconds(30));
    user.session
        .disable_totp(&secret(PASSWORD), &secret(&code(&app, &enrolment.secret, 0)))
        .await
        .unwrap();
    assert_eq!(
        phone.account().await.refused(),
        Some(ErrorCode::Unauthenticated),
        "off: the phone is out"
    );
    assert!(user.session.account().await.is_ok());

    app.clock.advance(Duration::seconds(30));
    let again = user.session.enrol_totp(&secret(PASSWORD)).await.unwrap();
    user.session
        .confirm_totp(&secret(&code(&app, &again.secret, 0)))
        .await
        .unwrap();
    let reset = crate::admin_cli::run::admin(app.db_arg(), &["second-factor", "reset", &user.email]);
    assert!(reset.status.success(), "{}", String::from_utf8_lossy(&reset.stderr));
    assert_eq!(
        user.session.account().await.refused(),
        Some(ErrorCode::Unauthenticated),
        "reset: every device is out"
    );
}

/// Turning it on from a session that a password change ended while the request waited for the account's
/// lock is refused: a device signed out cannot set the second factor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_while_waiting_cannot_turn_it_on() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let enrolment = user.session.enrol_totp(&secret(PASSWORD)).await.unwrap();
    let db = app.db().await;
    let mut held = crate::sessions::hold_the_accounts_lock(&db, &user.email).await;
    let session = user.session.clone();
    let first_code = secret(&code(&app, &enrolment.secret, 0));
    let confirm = tokio::spawn(async move { session.confirm_totp(&first_code).await });
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(!confirm.is_finished(), "the confirm waits for the account's lock");
    sqlx::query("DELETE FROM sessions WHERE account_id = (SELECT id FROM accounts WHERE email = $1)")
        .bind(&user.email)
        .execute(&mut *held)
        .await
        .unwrap();
    held.commit().await.unwrap();
    assert_eq!(confirm.await.unwrap().refused(), Some(ErrorCode::Unauthenticated));
    let again = app.client.sign_in(&user.email, &secret(PASSWORD)).await.unwrap();
    assert!(
        !second_factor_on(&app.client.session(again.token)).await,
        "it stayed off"
    );
}

/// A password-only sign-in that found two-factor authentication off, and waited while it was turned on,
/// gets no session: it is asked for a code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_that_waited_out_turning_it_on_needs_a_code() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let db = app.db().await;
    let mut held = crate::sessions::hold_the_accounts_lock(&db, &user.email).await;
    let client = app.client.clone();
    let email = user.email.clone();
    let sign_in = tokio::spawn(async move { client.sign_in(&email, &secret(PASSWORD)).await });
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(!sign_in.is_finished(), "the sign-in waits for the account's lock");
    // Turned on meanwhile (as a confirm from the user's other device commits).
    sqlx::query(
        "INSERT INTO second_factors (account_id, secret, created_at, enabled_at, last_step)
         SELECT id, 'JBSWY3DPEHPK3PXP', 1, 1, 0 FROM accounts WHERE email = $1",
    )
    .bind(&user.email)
    .execute(&mut *held)
    .await
    .unwrap();
    held.commit().await.unwrap();
    assert_eq!(sign_in.await.unwrap().refused(), Some(ErrorCode::SecondFactorRequired));
}
