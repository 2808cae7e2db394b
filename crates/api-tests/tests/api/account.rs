use keyturn_protocol::ErrorCode;

use crate::helpers::{create_request, new_key, secret, spawn_app, Refusal, PASSWORD};

#[tokio::test]
async fn the_account_shows_its_email_and_how_many_passwords_are_active() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let before = user.session.account().await.unwrap();
    assert_eq!(
        (
            before.email.as_str(),
            before.active_app_passwords,
            before.max_app_passwords
        ),
        (user.email.as_str(), 0, 25)
    );
    user.session
        .send_create(&create_request("One"), &new_key())
        .await
        .unwrap();
    user.session
        .send_create(&create_request("Two"), &new_key())
        .await
        .unwrap();
    assert_eq!(user.session.account().await.unwrap().active_app_passwords, 2);
}

#[tokio::test]
async fn a_new_password_under_twelve_characters_is_weak() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let result = user
        .session
        .change_password(&secret(PASSWORD), &secret("elevenchars"))
        .await;
    assert_eq!(result.refused(), Some(ErrorCode::WeakPassword));
    assert!(
        app.client.sign_in(&user.email, &secret(PASSWORD)).await.is_ok(),
        "the old password still works"
    );
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let result = user
        .session
        .change_password(&secret("not my password"), &secret("a brand new password"))
        .await;
    assert_eq!(result.refused(), Some(ErrorCode::InvalidCredentials));
    assert!(app.client.sign_in(&user.email, &secret(PASSWORD)).await.is_ok());
}

#[tokio::test]
async fn changing_the_password_revokes_every_app_password_and_every_other_session() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let other_device = app
        .client
        .session(app.client.sign_in(&user.email, &secret(PASSWORD)).await.unwrap().token);
    let mail = user.session.create_app_password("Mail").await.unwrap();
    let calendar = user.session.create_app_password("Calendar").await.unwrap();
    assert!(app.client.whoami(&user.email, mail.password.expose()).await.is_ok());

    let new_password = "a much better passphrase";
    user.session
        .change_password(&secret(PASSWORD), &secret(new_password))
        .await
        .unwrap();

    for created in [&mail, &calendar] {
        let result = app.client.whoami(&user.email, created.password.expose()).await;
        assert_eq!(result.refused(), Some(ErrorCode::InvalidCredentials));
    }
    assert_eq!(other_device.account().await.refused(), Some(ErrorCode::Unauthenticated));
    assert_eq!(
        user.session.account().await.unwrap().active_app_passwords,
        0,
        "this session goes on"
    );
    assert_eq!(
        app.client.sign_in(&user.email, &secret(PASSWORD)).await.refused(),
        Some(ErrorCode::InvalidCredentials)
    );
    assert!(app.client.sign_in(&user.email, &secret(new_password)).await.is_ok());
}

#[tokio::test]
async fn a_common_new_password_is_weak_and_the_answer_says_why() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let result = user
        .session
        .change_password(&secret(PASSWORD), &secret("password1234"))
        .await;
    match result {
        Err(keyturn_client::Error::Api(failure)) => {
            assert_eq!((failure.status, failure.code), (422, ErrorCode::WeakPassword));
            assert!(
                failure.message.starts_with("This password is too easy to guess."),
                "{}",
                failure.message
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        app.client.sign_in(&user.email, &secret(PASSWORD)).await.is_ok(),
        "nothing changed"
    );
}
