use std::collections::HashSet;

use keyturn_protocol::wire::CreateAppPasswordRequest;
use keyturn_protocol::{AppPassword, AppPasswordId, ErrorCode, LookupTag, Verifier, VerifierParams};

use crate::helpers::{create_request, create_shared_request, new_key, shared_verifier, spawn_app, Refusal};

#[tokio::test]
async fn a_created_password_signs_in_and_stops_working_right_after_revoke() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let created = user.session.create_app_password("Thunderbird on laptop").await.unwrap();
    assert_eq!(created.info.label, "Thunderbird on laptop");
    assert_eq!(created.info.last_used_at, None);
    let who = app
        .client
        .whoami(&user.email, &created.password.grouped())
        .await
        .unwrap();
    assert_eq!(
        (who.email.as_str(), who.app_password_id.as_str()),
        (user.email.as_str(), created.info.id.as_str())
    );
    assert_eq!(who.label, "Thunderbird on laptop");
    // Signed in again, now from the cache …
    assert!(app
        .client
        .whoami(&user.email, &created.password.grouped())
        .await
        .is_ok());

    user.session.revoke(&created.info.id).await.unwrap();
    // … and refused on the very next request.
    let result = app.client.whoami(&user.email, &created.password.grouped()).await;
    assert_eq!(result.refused(), Some(ErrorCode::InvalidCredentials));
    assert!(user.session.list_app_passwords().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_list_shows_active_passwords_newest_first() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for label in ["First", "Second", "Third"] {
        user.session
            .send_create(&create_request(label), &new_key())
            .await
            .unwrap();
        app.clock.advance(chrono::Duration::seconds(1));
    }
    let second = user.session.list_app_passwords().await.unwrap()[1].id.clone();
    user.session.revoke(&second).await.unwrap();
    let labels = user.labels().await;
    assert_eq!(labels, ["Third", "First"]);
}

#[tokio::test]
async fn ids_are_opaque_uuids() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let a = user
        .session
        .send_create(&create_request("A"), &new_key())
        .await
        .unwrap();
    let b = user
        .session
        .send_create(&create_request("B"), &new_key())
        .await
        .unwrap();
    for id in [&a.id, &b.id] {
        assert_eq!(uuid::Uuid::parse_str(id.as_str()).unwrap().get_version_num(), 4);
    }
}

#[tokio::test]
async fn revoke_all_revokes_every_active_password() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let one = user.session.create_app_password("One").await.unwrap();
    let two = user.session.create_app_password("Two").await.unwrap();
    assert_eq!(user.session.revoke_all().await.unwrap(), 2);
    for created in [one, two] {
        assert_eq!(
            app.client
                .whoami(&user.email, created.password.expose())
                .await
                .refused(),
            Some(ErrorCode::InvalidCredentials)
        );
    }
    assert!(user.session.list_app_passwords().await.unwrap().is_empty());
    assert_eq!(user.session.revoke_all().await.unwrap(), 0);
}

#[tokio::test]
async fn revoked_rows_are_kept_and_marked() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let a = user
        .session
        .send_create(&create_request("A"), &new_key())
        .await
        .unwrap();
    user.session
        .send_create(&create_request("B"), &new_key())
        .await
        .unwrap();
    user.session.revoke(&a.id).await.unwrap();
    user.session.revoke_all().await.unwrap();
    let rows: Vec<(String, Option<i64>)> = sqlx::query_as("SELECT label, revoked_at FROM app_passwords ORDER BY label")
        .fetch_all(&app.db().await)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|(_, revoked)| revoked.is_some()));
}

#[tokio::test]
async fn revoking_an_unknown_or_another_accounts_id_is_not_found() {
    let app = spawn_app().await;
    let ann = app.new_user().await;
    let bob = app.new_user().await;
    let anns = ann
        .session
        .send_create(&create_request("Mail"), &new_key())
        .await
        .unwrap();
    assert_eq!(bob.session.revoke(&anns.id).await.refused(), Some(ErrorCode::NotFound));
    assert_eq!(
        bob.session.revoke(&AppPasswordId::new("no-such-id")).await.refused(),
        Some(ErrorCode::NotFound)
    );
    assert_eq!(
        ann.session.list_app_passwords().await.unwrap().len(),
        1,
        "Ann's password is untouched"
    );
    ann.session.revoke(&anns.id).await.unwrap();
    assert_eq!(
        ann.session.revoke(&anns.id).await.refused(),
        Some(ErrorCode::NotFound),
        "already revoked"
    );
}

#[tokio::test]
async fn the_26th_create_is_refused_until_one_is_revoked() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let mut first = None;
    for i in 1..=25 {
        let info = user
            .session
            .send_create(&create_request(&format!("App {i}")), &new_key())
            .await
            .unwrap();
        first.get_or_insert(info.id);
    }
    let result = user.session.send_create(&create_request("App 26"), &new_key()).await;
    assert_eq!(result.refused(), Some(ErrorCode::LimitReached));
    user.session.revoke(&first.unwrap()).await.unwrap();
    assert!(user
        .session
        .send_create(&create_request("App 26"), &new_key())
        .await
        .is_ok());
}

#[tokio::test]
async fn concurrent_creates_never_exceed_25() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let session = user.session.clone();
            tokio::spawn(async move {
                session
                    .send_create(&create_request(&format!("Parallel {i}")), &new_key())
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(e) => assert_eq!(e.code(), Some(ErrorCode::LimitReached)),
        }
    }
    assert_eq!(created, 25);
    assert_eq!(user.session.list_app_passwords().await.unwrap().len(), 25);
}

#[tokio::test]
async fn a_replayed_idempotency_key_creates_one_row_and_answers_the_same() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let key = new_key();
    let first = user.session.send_create(&create_request("Mail"), &key).await.unwrap();
    let again = user.session.send_create(&create_request("Mail"), &key).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(user.session.list_app_passwords().await.unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_replays_of_one_key_create_one_row() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let key = new_key();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (session, key) = (user.session.clone(), key.clone());
            tokio::spawn(async move { session.send_create(&create_request("Mail"), &key).await.unwrap() })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap().id);
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(user.session.list_app_passwords().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_reused_key_with_another_body_is_a_mismatch() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let key = new_key();
    user.session.send_create(&create_request("Mail"), &key).await.unwrap();
    let result = user.session.send_create(&create_request("Calendar"), &key).await;
    assert_eq!(result.refused(), Some(ErrorCode::IdempotencyMismatch));
}

#[tokio::test]
async fn a_create_without_an_idempotency_key_is_a_bad_request() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let response = reqwest::Client::new()
        .post(app.url("/v1/app-passwords"))
        .bearer_auth(&user.token)
        .json(&create_request("Mail"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "missing_idempotency_key");
}

#[tokio::test]
async fn verifiers_with_other_parameters_or_algorithms_are_rejected() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let password = AppPassword::generate();
    let weak = VerifierParams {
        m_cost: 1024,
        t_cost: 1,
        p_cost: 1,
    };
    let weak_verifier = Verifier::build(password.expose().as_bytes(), weak).unwrap();
    let good = create_request("Mail");
    let cases = [
        weak_verifier.as_str().to_owned(),
        good.verifier.replacen("argon2id", "argon2i", 1),
        "$2b$12$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234".to_owned(),
        "plain text".to_owned(),
    ];
    for verifier in cases {
        let request = CreateAppPasswordRequest {
            verifier: verifier.clone(),
            ..good.clone()
        };
        let result = user.session.send_create(&request, &new_key()).await;
        assert_eq!(result.refused(), Some(ErrorCode::InvalidVerifier), "{verifier}");
    }
}

#[tokio::test]
async fn a_malformed_lookup_tag_is_rejected() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let good = create_request("Mail");
    for tag in ["ABCDEF12", "abc", "abcdefgh", ""] {
        let request = CreateAppPasswordRequest {
            lookup_tag: tag.to_owned(),
            ..good.clone()
        };
        assert_eq!(
            user.session.send_create(&request, &new_key()).await.refused(),
            Some(ErrorCode::InvalidLookupTag)
        );
    }
    assert_eq!(LookupTag::parse(&good.lookup_tag).unwrap().as_str(), good.lookup_tag);
}

#[tokio::test]
async fn a_lookup_tag_already_active_in_the_account_is_a_conflict_until_revoked() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let mail = user
        .session
        .send_create(&create_shared_request("Mail"), &new_key())
        .await
        .unwrap();
    let again = user
        .session
        .send_create(&create_shared_request("Calendar"), &new_key())
        .await;
    assert_eq!(again.refused(), Some(ErrorCode::LookupTagConflict));
    let other = app.new_user().await;
    assert!(
        other
            .session
            .send_create(&create_shared_request("Calendar"), &new_key())
            .await
            .is_ok(),
        "other accounts may"
    );
    user.session.revoke(&mail.id).await.unwrap();
    assert!(user
        .session
        .send_create(&create_shared_request("Calendar"), &new_key())
        .await
        .is_ok());
}

#[tokio::test]
async fn the_client_makes_another_password_when_its_lookup_tag_is_taken() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    user.session
        .send_create(&create_shared_request("Mail"), &new_key())
        .await
        .unwrap();
    // The first password the device makes collides with Mail's tag; the second does not.
    let (taken, _) = shared_verifier();
    let mut made = vec![AppPassword::generate(), taken.clone()];
    let created = user
        .session
        .create_app_password_with("Calendar", || made.pop().unwrap())
        .await
        .unwrap();
    assert_ne!(created.password.expose(), taken.expose());
    let before = app.state.argon2_verifications();
    let who = app
        .client
        .whoami(&user.email, &created.password.grouped())
        .await
        .unwrap();
    assert_eq!(who.label, "Calendar");
    assert_eq!(
        app.state.argon2_verifications() - before,
        1,
        "one candidate, one argon2 run"
    );
}
