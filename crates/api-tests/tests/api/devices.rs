//! Signed-in devices (the account's sessions) and recent activity.

use chrono::Duration;
use keyturn_protocol::wire::{ActivityKind, SessionInfo};
use keyturn_protocol::ErrorCode;
use sha2::Digest;

use crate::helpers::{create_request, create_shared_request, new_key, secret, spawn_app, Refusal, PASSWORD};

#[tokio::test]
async fn each_device_is_listed_with_its_app_and_this_one_marked() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    app.clock.advance(Duration::minutes(5));
    let response = reqwest::Client::new()
        .post(app.url("/v1/sessions"))
        .header("User-Agent", "Keyturn/0.1.0 (Linux)")
        .json(&serde_json::json!({ "email": user.email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    let sessions: Vec<SessionInfo> = user.session.sessions().await.unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    // The newest sign-in first; the client library names itself the way Keyturn does.
    assert_eq!(sessions[0].client, "Keyturn 0.1.0 on Linux");
    assert!(!sessions[0].current);
    assert!(sessions[1].current);
    assert!(
        sessions[1].client.starts_with("Keyturn ") && sessions[1].client.contains(" on "),
        "{}",
        sessions[1].client
    );
    assert_eq!(sessions[0].created_at - sessions[1].created_at, Duration::minutes(5));
    assert_ne!(sessions[0].id, sessions[1].id);
    // Exactly the documented fields: neither the token nor the hash the server looks it up by.
    let answer: serde_json::Value = reqwest::Client::new()
        .get(app.url("/v1/sessions"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for session in answer["sessions"].as_array().unwrap() {
        let mut keys: Vec<&str> = session.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["client", "created_at", "current", "id", "last_seen_at"]);
    }
    let token_hash = hex::encode(sha2::Sha256::digest(user.token.as_bytes()));
    let text = answer.to_string();
    assert!(!text.contains(&user.token) && !text.contains(&token_hash), "{text}");
}

#[tokio::test]
async fn a_device_signed_out_from_another_session_is_refused_at_once() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let other = app.client.sign_in(&user.email, &secret(PASSWORD)).await.unwrap();
    let laptop = app.client.session(other.token);
    laptop.account().await.unwrap();

    let sessions = user.session.sessions().await.unwrap();
    let laptops = sessions.iter().find(|s| !s.current).unwrap();
    user.session.end_session(&laptops.id).await.unwrap();
    assert_eq!(laptop.account().await.refused(), Some(ErrorCode::Unauthenticated));
    assert_eq!(
        laptop.list_app_passwords().await.refused(),
        Some(ErrorCode::Unauthenticated)
    );
    // This device stays signed in, now alone.
    assert_eq!(user.session.sessions().await.unwrap().len(), 1);
    assert_eq!(
        user.session.end_session(&laptops.id).await.refused(),
        Some(ErrorCode::NotFound)
    );
}

#[tokio::test]
async fn another_accounts_device_cannot_be_signed_out() {
    let app = spawn_app().await;
    let ann = app.new_user().await;
    let bob = app.new_user().await;
    let bobs = bob.session.sessions().await.unwrap();
    assert_eq!(
        ann.session.end_session(&bobs[0].id).await.refused(),
        Some(ErrorCode::NotFound)
    );
    bob.session.account().await.unwrap();
    assert!(ann.session.sessions().await.unwrap().iter().all(|s| s.id != bobs[0].id));
    assert_eq!(
        ann.session.end_session("no-such-session").await.refused(),
        Some(ErrorCode::NotFound)
    );
}

#[tokio::test]
async fn recent_activity_tells_the_accounts_story_newest_first() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let (password, _) = crate::helpers::shared_verifier();
    let made = user
        .session
        .send_create(&create_shared_request("Mail on laptop"), &new_key())
        .await
        .unwrap();
    app.client.whoami(&user.email, password.expose()).await.unwrap();
    // Within the minute a second sign-in is not another event.
    app.client.whoami(&user.email, password.expose()).await.unwrap();
    app.clock.advance(Duration::minutes(1));
    app.client.whoami(&user.email, password.expose()).await.unwrap();
    assert!(app
        .client
        .sign_in(&user.email, &secret("wrong password!"))
        .await
        .is_err());
    user.session.rename(&made.id, "Mail").await.unwrap();
    user.session.revoke(&made.id).await.unwrap();
    user.session.revoke_all().await.unwrap();
    user.session
        .change_password(&secret(PASSWORD), &secret("a new and longer passphrase"))
        .await
        .unwrap();
    let after = app
        .client
        .sign_in(&user.email, &secret("a new and longer passphrase"))
        .await
        .unwrap();
    let token = after.token.clone();
    let session = app.client.session(after.token);

    let events = session.activity(None).await.unwrap();
    let story: Vec<(ActivityKind, Option<&str>)> = events.iter().map(|e| (e.kind, e.label.as_deref())).collect();
    assert_eq!(
        story,
        [
            (ActivityKind::SignIn, None),
            // A password change revokes every app-specific password, as the help article says.
            (ActivityKind::AppPasswordsRevokedAll, None),
            (ActivityKind::PasswordChanged, None),
            (ActivityKind::AppPasswordsRevokedAll, None),
            (ActivityKind::AppPasswordRevoked, Some("Mail")),
            (ActivityKind::AppPasswordRenamed, Some("Mail")),
            (ActivityKind::FailedSignIn, None),
            (ActivityKind::AppSignIn, Some("Mail on laptop")),
            (ActivityKind::AppSignIn, Some("Mail on laptop")),
            (ActivityKind::AppPasswordCreated, Some("Mail on laptop")),
            (ActivityKind::SignIn, None),
        ]
    );
    assert!(events.iter().all(|e| e.address.as_deref() == Some("127.0.0.1")));
    assert!(events.iter().all(|e| !e.over_ldap), "every sign-in here was over HTTP");
    assert!(events.windows(2).all(|w| w[0].at >= w[1].at));

    let latest_three = session.activity(Some(3)).await.unwrap();
    assert_eq!(latest_three, events[..3]);
    for limit in ["0", "201", "many"] {
        let response = reqwest::Client::new()
            .get(app.url(&format!("/v1/account/activity?limit={limit}")))
            .bearer_auth(secrecy::ExposeSecret::expose_secret(&token))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{limit}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "bad_request");
    }
}

#[tokio::test]
async fn another_accounts_activity_is_never_shown() {
    let app = spawn_app().await;
    let ann = app.new_user().await;
    let bob = app.new_user().await;
    ann.session
        .send_create(&create_shared_request("Ann's laptop"), &new_key())
        .await
        .unwrap();
    let bobs = bob.session.activity(None).await.unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].kind, ActivityKind::SignIn);
}

#[tokio::test]
async fn recent_activity_gives_the_newest_50_unless_asked_for_up_to_200() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let made = user
        .session
        .send_create(&create_request("Label 0"), &new_key())
        .await
        .unwrap();
    // Renames are the cheapest events: a sign-in, a create and 55 renames make 57.
    for n in 1..=55 {
        user.session.rename(&made.id, &format!("Label {n}")).await.unwrap();
    }

    let default = user.session.activity(None).await.unwrap();
    assert_eq!(default.len(), 50);
    assert_eq!(default[0].label.as_deref(), Some("Label 55"), "the newest first");
    let all = user.session.activity(Some(200)).await.unwrap();
    assert_eq!(all.len(), 57);
    assert_eq!(all[..50], default[..]);
    assert_eq!(all[56].kind, ActivityKind::SignIn);
    assert_eq!(user.session.activity(Some(1)).await.unwrap(), default[..1]);
}
