//! What one app-specific password may reach (scopes) and how long it lasts (expiry).

use chrono::Duration;
use keyturn_client::AppPasswordOptions;
use keyturn_protocol::wire::ActivityKind;
use keyturn_protocol::{ErrorCode, Scope, Scopes, MAX_APP_PASSWORDS};
use keyturn_server::Clock;

use crate::helpers::{create_request, create_shared_request, new_key, secret, spawn_app, Refusal, PASSWORD};

fn only(names: &[&str]) -> Scopes {
    Scopes::parse(names).unwrap()
}

#[tokio::test]
async fn a_password_limited_to_mail_is_refused_for_files_at_whoami() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let options = AppPasswordOptions {
        scopes: only(&["mail"]),
        expires_in_days: None,
    };
    let mail = user
        .session
        .create_app_password_with_options("Mail on laptop", options)
        .await
        .unwrap();
    assert_eq!(mail.info.scopes, only(&["mail"]));
    let password = mail.password.expose();

    let signed_in = app
        .client
        .whoami_for(&user.email, password, Some(Scope::Mail))
        .await
        .unwrap();
    assert_eq!(signed_in.scopes, only(&["mail"]));
    assert_eq!(
        app.client
            .whoami_for(&user.email, password, Some(Scope::Files))
            .await
            .refused(),
        Some(ErrorCode::InsufficientScope)
    );
    // Without naming a scope, a limited password is refused: a limit never fails open.
    assert_eq!(
        app.client.whoami(&user.email, password).await.refused(),
        Some(ErrorCode::InsufficientScope)
    );
    // A wrong password is wrong, whatever it asks to reach.
    assert_eq!(
        app.client
            .whoami_for(&user.email, "abcd-efgh-ijkl-mnop", Some(Scope::Files))
            .await
            .refused(),
        Some(ErrorCode::InvalidCredentials)
    );
    let listed = user.session.list_app_passwords().await.unwrap();
    assert_eq!(listed[0].scopes, only(&["mail"]));
}

#[tokio::test]
async fn absent_scopes_mean_all_four_and_empty_or_unknown_ones_are_refused() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let everything = user
        .session
        .send_create(&create_request("Phone"), &new_key())
        .await
        .unwrap();
    assert_eq!(everything.scopes, Scopes::EVERYTHING);
    let json = serde_json::to_value(&everything).unwrap();
    assert_eq!(
        json["scopes"],
        serde_json::json!(["mail", "calendars", "contacts", "files"])
    );
    assert_eq!(json["expires_at"], serde_json::Value::Null);

    for bad in [vec![], vec!["mail", "printers"], vec!["Mail"]] {
        let mut request = create_request("Tablet");
        request.scopes = Some(bad.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            user.session.send_create(&request, &new_key()).await.refused(),
            Some(ErrorCode::InvalidScopes),
            "{bad:?}"
        );
    }
    assert_eq!(user.session.list_app_passwords().await.unwrap().len(), 1);

    // An app naming a scope that does not exist is told so before any password is checked.
    let response = reqwest::Client::new()
        .get(app.url("/v1/app-auth/whoami?scope=printers"))
        .basic_auth(&user.email, Some("abcd-efgh-ijkl-mnop"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_scopes");
}

#[tokio::test]
async fn an_expired_password_is_refused_leaves_the_list_and_stops_counting() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let mut request = create_shared_request("Calendar on tablet");
    request.expires_in_days = Some(30);
    let expiring = user.session.send_create(&request, &new_key()).await.unwrap();
    let made_at = app.clock.now();
    assert_eq!(expiring.expires_at, Some(made_at + Duration::days(30)));
    user.session
        .send_create(&create_request("Phone"), &new_key())
        .await
        .unwrap();
    let (password, _) = crate::helpers::shared_verifier();
    app.client.whoami(&user.email, password.expose()).await.unwrap();

    app.clock.advance(Duration::days(30) - Duration::seconds(1));
    app.client.whoami(&user.email, password.expose()).await.unwrap();
    app.clock.advance(Duration::seconds(1));
    // Refused even though this server verified it a moment ago (the verified cache does not outlive expiry).
    assert_eq!(
        app.client.whoami(&user.email, password.expose()).await.refused(),
        Some(ErrorCode::InvalidCredentials)
    );
    // A month on, the user signs in again (sessions end after a week unused).
    let signed_in = app.client.sign_in(&user.email, &secret(PASSWORD)).await.unwrap();
    let session = app.client.session(signed_in.token);
    let labels: Vec<String> = session
        .list_app_passwords()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.label)
        .collect();
    assert_eq!(labels, ["Phone"]);
    assert_eq!(session.account().await.unwrap().active_app_passwords, 1);
    // Its label is free again.
    session
        .send_create(&create_request("Calendar on tablet"), &new_key())
        .await
        .unwrap();

    let expired: Vec<_> = session
        .activity(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == ActivityKind::AppPasswordExpired)
        .collect();
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(expired[0].label.as_deref(), Some("Calendar on tablet"));
    assert_eq!(expired[0].at, made_at + Duration::days(30));
    assert_eq!(expired[0].address, None);
}

#[tokio::test]
async fn expired_passwords_stop_counting_toward_the_limit() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for i in 0..MAX_APP_PASSWORDS {
        let mut request = create_request(&format!("App {i}"));
        request.expires_in_days = Some(1);
        user.session.send_create(&request, &new_key()).await.unwrap();
    }
    assert_eq!(
        user.session
            .send_create(&create_request("One more"), &new_key())
            .await
            .refused(),
        Some(ErrorCode::LimitReached)
    );
    app.clock.advance(Duration::days(1));
    // The create itself marks them expired first, so the database's own limit agrees.
    user.session
        .send_create(&create_request("One more"), &new_key())
        .await
        .unwrap();
    assert_eq!(user.session.list_app_passwords().await.unwrap().len(), 1);
}

#[tokio::test]
async fn expiry_is_one_to_365_days_or_never() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for days in [0, -1, 366, 100_000] {
        let mut request = create_request("Laptop");
        request.expires_in_days = Some(days);
        assert_eq!(
            user.session.send_create(&request, &new_key()).await.refused(),
            Some(ErrorCode::InvalidExpiry),
            "{days}"
        );
    }
    for days in [1, 365] {
        let mut request = create_request(&format!("{days} days"));
        request.expires_in_days = Some(days);
        let made = user.session.send_create(&request, &new_key()).await.unwrap();
        assert_eq!(made.expires_at, Some(app.clock.now() + Duration::days(days)));
    }
}

#[tokio::test]
async fn a_key_sent_again_with_other_scopes_or_expiry_is_a_mismatch() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let key = new_key();
    let first = user.session.send_create(&create_request("Laptop"), &key).await.unwrap();
    let mut other_scopes = create_request("Laptop");
    other_scopes.scopes = Some(vec!["mail".to_owned()]);
    assert_eq!(
        user.session.send_create(&other_scopes, &key).await.refused(),
        Some(ErrorCode::IdempotencyMismatch)
    );
    let mut other_expiry = create_request("Laptop");
    other_expiry.expires_in_days = Some(30);
    assert_eq!(
        user.session.send_create(&other_expiry, &key).await.refused(),
        Some(ErrorCode::IdempotencyMismatch)
    );
    assert_eq!(
        user.session.send_create(&create_request("Laptop"), &key).await.unwrap(),
        first
    );
}

#[tokio::test]
async fn the_servers_sweep_marks_expired_passwords_without_anyone_looking() {
    let (clock, server) = crate::helpers::spawn_sweeping_server().await;
    let (_, session) = crate::helpers::ann_signed_in(&server).await;
    let mut request = create_request("Calendar");
    request.expires_in_days = Some(1);
    session.send_create(&request, &new_key()).await.unwrap();
    let db = keyturn_server::testkit::raw_pool(&server.db).await.unwrap();
    let expired_lines = || {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_events WHERE kind = 'expired'")
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(expired_lines().await, 0, "nothing expired yet");
    clock.advance(Duration::days(1));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while expired_lines().await == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(expired_lines().await, 1);
    let active: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM app_passwords WHERE revoked_at IS NULL")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(active, 0);
}

#[tokio::test]
async fn a_password_past_its_expiry_is_expired_not_revoked() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let mut request = create_request("Calendar");
    request.expires_in_days = Some(1);
    let calendar = user.session.send_create(&request, &new_key()).await.unwrap();
    user.session
        .send_create(&create_request("Mail"), &new_key())
        .await
        .unwrap();
    app.clock.advance(Duration::days(1));
    let signed_in = app.client.sign_in(&user.email, &secret(PASSWORD)).await.unwrap();
    let session = app.client.session(signed_in.token);
    // Neither one revoke nor Revoke All finds it: it stopped working by itself.
    assert_eq!(session.revoke(&calendar.id).await.refused(), Some(ErrorCode::NotFound));
    assert_eq!(session.revoke_all().await.unwrap(), 1);
    let kinds: Vec<(ActivityKind, Option<String>)> = session
        .activity(None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.label))
        .filter(|(kind, _)| *kind != ActivityKind::SignIn)
        .collect();
    assert_eq!(
        kinds,
        [
            (ActivityKind::AppPasswordsRevokedAll, None),
            (ActivityKind::AppPasswordExpired, Some("Calendar".to_owned())),
            (ActivityKind::AppPasswordCreated, Some("Mail".to_owned())),
            (ActivityKind::AppPasswordCreated, Some("Calendar".to_owned())),
        ]
    );
}
