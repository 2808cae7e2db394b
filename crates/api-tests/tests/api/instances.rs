//! Two server instances on one database, as behind a load balancer: every rule holds across both, on each
//! engine (two processes' worth of servers on one SQLite file, or on one PostgreSQL database).

use std::collections::HashSet;

use keyturn_protocol::{ErrorCode, MAX_APP_PASSWORDS};
use keyturn_server::Database;

use crate::helpers::{create_request, create_shared_request, new_key, secret, shared_verifier, spawn_app, Refusal};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_split_across_two_instances_stop_at_the_cap() {
    let a = spawn_app().await;
    let b = a.another_instance().await;
    let user = a.new_user().await;
    let on_b = b.client.session(secret(&user.token));
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let session = if n % 2 == 0 { user.session.clone() } else { on_b.clone() };
            tokio::spawn(async move {
                session
                    .send_create(&create_request(&format!("App {n}")), &new_key())
                    .await
            })
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap().refused() {
            None => created += 1,
            Some(ErrorCode::LimitReached) => refused += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((created, refused), (MAX_APP_PASSWORDS, 40 - MAX_APP_PASSWORDS));
    assert_eq!(
        on_b.list_app_passwords().await.unwrap().len(),
        MAX_APP_PASSWORDS as usize
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_idempotency_key_sent_to_both_instances_creates_one_password() {
    let a = spawn_app().await;
    let b = a.another_instance().await;
    let user = a.new_user().await;
    let on_b = b.client.session(secret(&user.token));
    let key = new_key();
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let session = if n % 2 == 0 { user.session.clone() } else { on_b.clone() };
            let key = key.clone();
            tokio::spawn(async move { session.send_create(&create_request("Mail"), &key).await.unwrap() })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap().id);
    }
    assert_eq!(ids.len(), 1, "every answer names the one password");
    assert_eq!(on_b.list_app_passwords().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_password_revoked_on_one_instance_is_refused_at_once_by_the_other() {
    let a = spawn_app().await;
    let b = a.another_instance().await;
    let user = a.new_user().await;
    let created = user
        .session
        .send_create(&create_shared_request("Mail"), &new_key())
        .await
        .unwrap();
    let (password, _) = shared_verifier();
    let typed = password.grouped().to_string();
    // B verifies it, and keeps it in its own verified-password cache.
    b.client.whoami(&user.email, &typed).await.unwrap();
    b.client.whoami(&user.email, &typed).await.unwrap();

    user.session.revoke(&created.id).await.unwrap();
    assert_eq!(
        b.client.whoami(&user.email, &typed).await.refused(),
        Some(ErrorCode::InvalidCredentials)
    );
}

#[tokio::test]
async fn a_password_change_on_one_instance_ends_the_sessions_the_other_serves() {
    let a = spawn_app().await;
    let b = a.another_instance().await;
    let user = a.new_user().await;
    // A second device, signed in through B.
    let other = b
        .client
        .sign_in(&user.email, &secret(crate::helpers::PASSWORD))
        .await
        .unwrap();
    let other = b.client.session(other.token);
    other.list_app_passwords().await.unwrap();

    user.session
        .change_password(
            &secret(crate::helpers::PASSWORD),
            &secret("a new primary password, long enough"),
        )
        .await
        .unwrap();
    assert_eq!(
        other.list_app_passwords().await.refused(),
        Some(ErrorCode::Unauthenticated)
    );
    user.session.list_app_passwords().await.unwrap();
}

/// With PostgreSQL the failed-attempt counts are rows, so guesses spread over the instances are throttled as
/// if one server had them all. With SQLite (one machine, the embedded case) each server counts its own.
#[tokio::test]
async fn wrong_passwords_spread_over_two_instances_count_once_on_postgresql_and_per_instance_on_sqlite() {
    let a = spawn_app().await;
    let b = a.another_instance().await;
    let user = a.new_user().await;
    for n in 0..5 {
        let app = if n % 2 == 0 { &a } else { &b };
        let guess = secret(&format!("wrong guess number {n}"));
        assert_eq!(
            app.client.sign_in(&user.email, &guess).await.refused(),
            Some(ErrorCode::InvalidCredentials),
            "the 5 free failures"
        );
    }
    let guess = secret("one guess too many");
    let sixth = (
        a.client.sign_in(&user.email, &guess).await.refused(),
        b.client.sign_in(&user.email, &guess).await.refused(),
    );
    match a.db {
        Database::Postgres(_) => assert_eq!(sixth, (Some(ErrorCode::RateLimited), Some(ErrorCode::RateLimited))),
        // A has counted 3, B 2: each within its free allowance.
        Database::Sqlite(_) => assert_eq!(
            sixth,
            (Some(ErrorCode::InvalidCredentials), Some(ErrorCode::InvalidCredentials))
        ),
    }
}

/// The same attack at once: 20 wrong sign-ins for one account, half to each instance. On PostgreSQL the
/// reservations are rows both instances lock, so only the free 5 run argon2 across both and the other 15 are
/// refused with 429; on SQLite each instance allows its own 5.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_wrong_passwords_at_once_over_two_instances_cost_the_free_five_argon2_runs_on_postgresql() {
    let a = spawn_app().await;
    let b = a.another_instance().await;
    let user = a.new_user().await;
    let before = [a.state.argon2_verifications(), b.state.argon2_verifications()];
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let client = if n % 2 == 0 { a.client.clone() } else { b.client.clone() };
            let email = user.email.clone();
            tokio::spawn(async move {
                client
                    .sign_in(&email, &secret(&format!("wrong guess at once {n}")))
                    .await
                    .refused()
            })
        })
        .collect();
    let (mut wrong, mut throttled) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Some(ErrorCode::InvalidCredentials) => wrong += 1,
            Some(ErrorCode::RateLimited) => throttled += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    let runs = [
        a.state.argon2_verifications() - before[0],
        b.state.argon2_verifications() - before[1],
    ];
    assert_eq!(wrong, runs[0] + runs[1], "each 401 is one argon2 run: {runs:?}");
    assert_eq!(wrong + throttled, 20);
    match a.db {
        Database::Postgres(_) => assert_eq!(runs[0] + runs[1], 5, "argon2 runs on A and B: {runs:?}"),
        Database::Sqlite(_) => assert_eq!(runs, [5, 5], "each instance's own allowance"),
    }
}
