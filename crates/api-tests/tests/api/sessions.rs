use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration as Span;
use sha2::{Digest, Sha256};

use keyturn_protocol::ErrorCode;

use crate::helpers::{ann_signed_in, secret, spawn_app, spawn_sqlite_app, Refusal, PASSWORD};

#[tokio::test]
async fn signing_in_returns_a_256_bit_token_that_is_stored_only_as_its_sha256() {
    // On a file, to search its bytes too.
    let app = spawn_sqlite_app().await;
    app.add_account("ann@example.com", PASSWORD).await;
    let signed_in = app.client.sign_in("ann@example.com", &secret(PASSWORD)).await.unwrap();
    let token = secrecy::ExposeSecret::expose_secret(&signed_in.token).to_owned();
    assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
    assert_eq!(signed_in.email.as_str(), "ann@example.com");
    assert_eq!(
        signed_in.expires_at,
        keyturn_server::Clock::now(&app.clock) + Span::days(30)
    );

    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(&app.db().await)
        .await
        .unwrap();
    assert_eq!(stored, vec![hex::encode(Sha256::digest(token.as_bytes()))]);
    let raw = std::fs::read(app.db_file()).unwrap();
    let wal = std::fs::read(app.db_file().with_extension("db-wal")).unwrap_or_default();
    for bytes in [raw, wal] {
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token is in the database file"
        );
    }
}

#[tokio::test]
async fn the_email_is_matched_without_case_or_spaces() {
    let app = spawn_app().await;
    app.add_account("ann@example.com", PASSWORD).await;
    assert!(app
        .client
        .sign_in("  Ann@Example.COM ", &secret(PASSWORD))
        .await
        .is_ok());
}

#[tokio::test]
async fn two_sign_ins_get_different_tokens() {
    let app = spawn_app().await;
    app.add_account("ann@example.com", PASSWORD).await;
    let a = app.client.sign_in("ann@example.com", &secret(PASSWORD)).await.unwrap();
    let b = app.client.sign_in("ann@example.com", &secret(PASSWORD)).await.unwrap();
    assert_ne!(
        secrecy::ExposeSecret::expose_secret(&a.token),
        secrecy::ExposeSecret::expose_secret(&b.token)
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_error() {
    let app = spawn_app().await;
    app.add_account("ann@example.com", PASSWORD).await;
    let wrong = app
        .client
        .sign_in("ann@example.com", &secret("not the password"))
        .await
        .refused();
    let unknown = app
        .client
        .sign_in("nobody@example.com", &secret(PASSWORD))
        .await
        .refused();
    assert_eq!(wrong, Some(ErrorCode::InvalidCredentials));
    assert_eq!(unknown, Some(ErrorCode::InvalidCredentials));
}

#[tokio::test]
async fn an_unknown_email_takes_as_long_as_a_wrong_password() {
    let app = spawn_app().await;
    app.add_account("ann@example.com", PASSWORD).await;
    let attempt = |email: &'static str| {
        let app = &app;
        async move {
            // Past any throttling delay, so every attempt really checks a password.
            app.clock.advance(Span::hours(1));
            let start = Instant::now();
            let result = app.client.sign_in(email, &secret("wrong password")).await;
            assert_eq!(result.refused(), Some(ErrorCode::InvalidCredentials));
            start.elapsed()
        }
    };
    // Interleaved, so both see the same load from the tests running beside this one.
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..9 {
        wrong.push(attempt("ann@example.com").await);
        unknown.push(attempt("nobody@example.com").await);
    }
    wrong.sort();
    unknown.sort();
    let (wrong, unknown) = (wrong[4], unknown[4]);
    // Both run one argon2 verification (tens of milliseconds); skipping it would make `unknown` ~1 ms.
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!(
        (0.5..2.0).contains(&ratio),
        "wrong password {wrong:?}, unknown email {unknown:?}"
    );
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    user.session.sign_out().await.unwrap();
    assert_eq!(user.session.account().await.refused(), Some(ErrorCode::Unauthenticated));
    assert_eq!(
        user.session.sign_out().await.refused(),
        Some(ErrorCode::Unauthenticated)
    );
}

#[tokio::test]
async fn a_request_without_a_token_or_with_a_made_up_one_is_unauthenticated() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/v1/account")).await.unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
    let forged = app
        .client
        .session(secret("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(
        forged.list_app_passwords().await.refused(),
        Some(ErrorCode::Unauthenticated)
    );
}

#[tokio::test]
async fn a_session_unused_for_seven_days_expires() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    app.clock.advance(Span::days(7) - Span::seconds(1));
    assert!(user.session.account().await.is_ok());
    // Used just now, so another almost-7-days is fine …
    app.clock.advance(Span::days(7) - Span::seconds(1));
    assert!(user.session.account().await.is_ok());
    // … but 7 idle days are not.
    app.clock.advance(Span::days(7));
    assert_eq!(user.session.account().await.refused(), Some(ErrorCode::Unauthenticated));
}

#[tokio::test]
async fn a_session_ends_after_thirty_days_however_much_it_is_used() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for _ in 0..4 {
        app.clock.advance(Span::days(6));
        assert!(user.session.account().await.is_ok());
    }
    app.clock.advance(Span::days(6) - Span::seconds(1));
    assert!(user.session.account().await.is_ok(), "29 days and change");
    app.clock.advance(Span::seconds(1));
    assert_eq!(user.session.account().await.refused(), Some(ErrorCode::Unauthenticated));
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert_eq!(left, 0, "an expired session is deleted");
}

#[tokio::test]
async fn an_app_password_never_works_for_the_primary_sign_in() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let created = user.session.create_app_password("Mail").await.unwrap();
    let grouped = created.password.grouped();
    let result = app.client.sign_in(&user.email, &secret(&grouped)).await;
    assert_eq!(result.refused(), Some(ErrorCode::InvalidCredentials));
    let result = app
        .client
        .sign_in(&user.email, &secret(created.password.expose()))
        .await;
    assert_eq!(result.refused(), Some(ErrorCode::InvalidCredentials));
}

#[tokio::test]
async fn a_sign_in_answer_is_never_cached() {
    let app = spawn_app().await;
    app.add_account("ann@example.com", PASSWORD).await;
    let response = reqwest::Client::new()
        .post(app.url("/v1/sessions"))
        .json(&serde_json::json!({"email": "ann@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let list = reqwest::Client::new()
        .get(app.url("/v1/app-passwords"))
        .send()
        .await
        .unwrap();
    assert_eq!(list.headers()["cache-control"], "no-store", "errors too");
}

#[tokio::test]
async fn expired_sessions_and_old_idempotency_keys_are_purged_in_the_background() {
    let (clock, server) = crate::helpers::spawn_sweeping_server().await;
    let (_, session) = ann_signed_in(&server).await;
    session.create_app_password("Mail").await.unwrap();
    let db = keyturn_server::testkit::raw_pool(&server.db).await.unwrap();
    let rows = |table: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        (rows("sessions").await, rows("idempotency_keys").await),
        (1, 1),
        "nothing expired yet"
    );
    clock.advance(Span::days(8));
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    while rows("sessions").await + rows("idempotency_keys").await > 0 && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!((rows("sessions").await, rows("idempotency_keys").await), (0, 0));
}

#[tokio::test]
async fn a_sign_in_rehashes_a_password_stored_with_older_parameters() {
    let app = spawn_app().await;
    let older = keyturn_protocol::VerifierParams {
        m_cost: 12_288,
        t_cost: 3,
        p_cost: 1,
    };
    keyturn_server::admin::add_account(app.state.store(), "ann@example.com", secret(PASSWORD), older)
        .await
        .unwrap();
    let db = app.db().await;
    let stored = || async {
        sqlx::query_scalar::<_, String>("SELECT password_hash FROM accounts")
            .fetch_one(&db)
            .await
            .unwrap()
    };
    assert!(stored().await.contains("m=12288,t=3,p=1"));
    app.client.sign_in("ann@example.com", &secret(PASSWORD)).await.unwrap();
    assert!(
        stored().await.contains("m=19456,t=2,p=1"),
        "rehashed with the server's parameters"
    );
    assert!(app.client.sign_in("ann@example.com", &secret(PASSWORD)).await.is_ok());
}

/// The account's write lock, held by the test as a password change holds it: on SQLite the write lock, on
/// PostgreSQL the account's row. What the held transaction then does commits before any waiting write.
pub(crate) async fn hold_the_accounts_lock<'a>(db: &'a sqlx::AnyPool, email: &str) -> sqlx::Transaction<'a, sqlx::Any> {
    let mut held = db.begin().await.unwrap();
    sqlx::query("UPDATE accounts SET email = email WHERE email = $1")
        .bind(email)
        .execute(&mut *held)
        .await
        .unwrap();
    held
}

/// A create that passed its session check and then waits for the account's lock while a password change
/// (here: its session deleted, as a change from another device does) commits, is refused: it checks its
/// session again under the lock, and makes nothing that would outlive the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_waited_out_the_end_of_its_session_is_refused() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let db = app.db().await;
    let mut held = hold_the_accounts_lock(&db, &user.email).await;
    let session = user.session.clone();
    let create = tokio::spawn(async move { session.create_app_password("Mail").await });
    // The request reaches the lock and waits there.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(!create.is_finished(), "the create waits for the account's lock");
    sqlx::query("DELETE FROM sessions WHERE account_id = (SELECT id FROM accounts WHERE email = $1)")
        .bind(&user.email)
        .execute(&mut *held)
        .await
        .unwrap();
    held.commit().await.unwrap();
    let result = create.await.unwrap();
    assert_eq!(result.refused(), Some(ErrorCode::Unauthenticated));
    let made: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM app_passwords")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(made, 0, "nothing outlives the end of the session");
}

/// A sign-in whose password was right when checked, but changed before its session was stored, is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_that_waited_out_a_password_change_is_refused() {
    let app = spawn_app().await;
    app.add_account("ann@example.com", PASSWORD).await;
    let db = app.db().await;
    let mut held = hold_the_accounts_lock(&db, "ann@example.com").await;
    let client = app.client.clone();
    let sign_in = tokio::spawn(async move { client.sign_in("ann@example.com", &secret(PASSWORD)).await });
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(!sign_in.is_finished(), "the sign-in waits for the account's lock");
    // The change: another hash, as a new password gets (any text will do: nothing verifies against it here).
    sqlx::query("UPDATE accounts SET password_hash = 'changed meanwhile' WHERE email = $1")
        .bind("ann@example.com")
        .execute(&mut *held)
        .await
        .unwrap();
    held.commit().await.unwrap();
    let result = sign_in.await.unwrap();
    assert_eq!(result.refused(), Some(ErrorCode::InvalidCredentials));
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(sessions, 0);
}

/// A password change racing 50 creates from another device: once it is done, none of them is standing
/// (each was refused, or made before the change and revoked by it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_racing_fifty_creates_leaves_none_of_them_standing() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let other = app.client.sign_in(&user.email, &secret(PASSWORD)).await.unwrap();
    let other = app.client.session(other.token);
    let creates: Vec<_> = (0..50)
        .map(|n| {
            let other = other.clone();
            tokio::spawn(async move { other.create_app_password(&format!("App {n}")).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    user.session
        .change_password(&secret(PASSWORD), &secret("a brand new passphrase here"))
        .await
        .unwrap();
    let mut made = 0;
    for create in creates {
        made += usize::from(create.await.unwrap().is_ok());
    }
    let standing = user.session.list_app_passwords().await.unwrap();
    assert!(
        standing.is_empty(),
        "{} of {made} made are standing after the change",
        standing.len()
    );
}
