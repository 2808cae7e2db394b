//! Renaming an app-specific password: the label rules and uniqueness of a new one, the app using it unaffected.

use keyturn_protocol::wire::ActivityKind;
use keyturn_protocol::{AppPasswordId, ErrorCode, MAX_LABEL_CHARS};

use crate::helpers::{create_request, create_shared_request, new_key, spawn_app, Refusal};

#[tokio::test]
async fn a_renamed_password_keeps_working_under_its_new_label() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let mut request = create_shared_request("Thunderbird");
    request.scopes = Some(vec!["mail".to_owned(), "calendars".to_owned()]);
    request.expires_in_days = Some(90);
    let made = user.session.send_create(&request, &new_key()).await.unwrap();

    let renamed = user.session.rename(&made.id, "  Thunderbird on laptop ").await.unwrap();
    assert_eq!(renamed.id, made.id);
    assert_eq!(renamed.label, "Thunderbird on laptop");
    assert_eq!((renamed.scopes, renamed.expires_at), (made.scopes, made.expires_at));
    assert_eq!(
        user.session.list_app_passwords().await.unwrap(),
        std::slice::from_ref(&renamed)
    );

    let (password, _) = crate::helpers::shared_verifier();
    let signed_in = app
        .client
        .whoami_for(&user.email, password.expose(), Some(keyturn_protocol::Scope::Mail))
        .await
        .unwrap();
    assert_eq!(signed_in.label, "Thunderbird on laptop");

    let events = user.session.activity(None).await.unwrap();
    let rename = events
        .iter()
        .find(|e| e.kind == ActivityKind::AppPasswordRenamed)
        .unwrap();
    assert_eq!(rename.label.as_deref(), Some("Thunderbird on laptop"));
    assert_eq!(rename.address.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn a_rename_follows_the_label_rules_and_uniqueness() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let laptop = user
        .session
        .send_create(&create_request("Laptop"), &new_key())
        .await
        .unwrap();
    user.session
        .send_create(&create_request("Phone"), &new_key())
        .await
        .unwrap();

    assert_eq!(
        user.session.rename(&laptop.id, "PHONE").await.refused(),
        Some(ErrorCode::DuplicateLabel)
    );
    // Sent as the server sees it, past the client's own check.
    let http = reqwest::Client::new();
    for label in [String::new(), "   ".to_owned(), "x".repeat(MAX_LABEL_CHARS + 1)] {
        let response = http
            .patch(app.url(&format!("/v1/app-passwords/{}", laptop.id)))
            .bearer_auth(&user.token)
            .json(&serde_json::json!({ "label": label }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{label:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_label");
    }
    // Its own label in another case is no clash.
    assert_eq!(user.session.rename(&laptop.id, "LAPTOP").await.unwrap().label, "LAPTOP");
    let labels = user.labels().await;
    assert_eq!(labels, ["Phone", "LAPTOP"]);
}

#[tokio::test]
async fn another_accounts_or_a_revoked_password_is_not_found() {
    let app = spawn_app().await;
    let ann = app.new_user().await;
    let bob = app.new_user().await;
    let anns = ann
        .session
        .send_create(&create_request("Laptop"), &new_key())
        .await
        .unwrap();
    assert_eq!(
        bob.session.rename(&anns.id, "Mine now").await.refused(),
        Some(ErrorCode::NotFound)
    );
    assert_eq!(ann.session.list_app_passwords().await.unwrap()[0].label, "Laptop");
    assert_eq!(
        ann.session
            .rename(&AppPasswordId::new("no-such-id"), "Anything")
            .await
            .refused(),
        Some(ErrorCode::NotFound)
    );
    ann.session.revoke(&anns.id).await.unwrap();
    assert_eq!(
        ann.session.rename(&anns.id, "Back again").await.refused(),
        Some(ErrorCode::NotFound)
    );
}
