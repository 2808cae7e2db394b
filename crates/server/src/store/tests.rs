use std::time::Duration;

use keyturn_protocol::{AppPasswordId, MAX_APP_PASSWORDS};

use super::accounts::AccountId;
use super::audit::Origin;

/// A client that leaves mid-request drops the handler's future at whatever await it reached, inside
/// `BEGIN IMMEDIATE` too. No connection may go back to the pool inside a transaction: it would hold
/// SQLite's write lock for good, and every later write would fail or wait out the busy timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_dropped_midway_leaves_no_connection_inside_a_transaction() {
    let (store, _dir) = super::temporary().await;
    let account = AccountId::from_stored("some-account".into());
    let id = AppPasswordId::new("no-such-password");
    let origin = Origin::Client([127, 0, 0, 1].into());
    // Many at once, as under load, so writes queue for the lock and are dropped while they wait.
    let leavers: Vec<_> = (0..16u64)
        .map(|client| {
            let (store, account, id) = (store.clone(), account.clone(), id.clone());
            tokio::spawn(async move {
                for n in 0..100u64 {
                    let write = store.revoke_app_password(&account, &id, origin, chrono::Utc::now());
                    let _ = tokio::time::timeout(Duration::from_micros((n * 37 + client * 101) % 2_000), write).await;
                }
            })
        })
        .collect();
    for leaver in leavers {
        leaver.await.unwrap();
    }
    // More writes than the pool has connections, each within far less than the busy timeout.
    for n in 0..32 {
        let write = store.revoke_app_password(&account, &id, origin, chrono::Utc::now());
        let done = tokio::time::timeout(Duration::from_secs(2), write)
            .await
            .unwrap_or_else(|_| panic!("write {n} waited on a write lock nobody releases"));
        assert!(done.is_ok(), "write {n} failed: {done:?}");
    }
}

#[tokio::test]
async fn an_accounts_list_reads_its_rows_through_an_index_not_the_whole_table() {
    let (store, _dir) = super::temporary().await;
    let query = format!(
        "EXPLAIN QUERY PLAN {}",
        super::app_passwords::list(super::Backend::Sqlite)
    );
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(&query)
        .bind("some-account")
        .bind(false)
        .fetch_all(&store.pool)
        .await
        .unwrap();
    let plan: Vec<&str> = plan.iter().map(|row| row.3.as_str()).collect();
    assert!(
        plan.iter()
            .any(|step| step.contains("USING INDEX app_passwords_account")),
        "{plan:?}"
    );
    assert!(
        !plan.iter().any(|step| step.starts_with("SCAN app_passwords")),
        "{plan:?}"
    );
}

/// The replay guard is one statement: of two requests with the same code's step, the second finds the step
/// taken even if both read the row before either wrote it.
#[tokio::test]
async fn a_codes_step_is_accepted_once_and_never_an_older_one() {
    let (store, _dir) = super::temporary().await;
    let email = keyturn_protocol::Email::parse("ann@example.com").unwrap();
    let hash = keyturn_protocol::Verifier::from_stored("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
    let account = store
        .create_account(&email, &hash, chrono::Utc::now())
        .await
        .unwrap()
        .id;
    let origin = Origin::AdminCli;
    let (_, session) = crate::session_token::SessionToken::issue();
    store
        .insert_session(&session, &account, "test", &hash, false, chrono::Utc::now())
        .await
        .unwrap();
    store
        .begin_second_factor(&account, "SECRET", origin, chrono::Utc::now())
        .await
        .unwrap();
    assert!(!store.accept_step(&account, 100).await.unwrap(), "not before it is on");
    assert!(store
        .enable_second_factor(&account, "SECRET", 100, &[], &session, origin, chrono::Utc::now())
        .await
        .unwrap());
    assert!(
        !store.accept_step(&account, 100).await.unwrap(),
        "the confirming step is spent"
    );
    assert!(store.accept_step(&account, 101).await.unwrap());
    assert!(!store.accept_step(&account, 101).await.unwrap(), "a step once");
    assert!(!store.accept_step(&account, 99).await.unwrap(), "never an older one");
}

/// The URL is logged at start and named in errors: never with its password.
#[test]
fn a_postgres_url_is_shown_without_its_password_and_a_path_as_itself() {
    let db: super::Database = "postgres://keyturn:hunter2-secret@db.internal:5432/keyturn"
        .parse()
        .unwrap();
    assert!(matches!(db, super::Database::Postgres(_)));
    for shown in [db.to_string(), format!("{db:?}")] {
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("keyturn@db.internal:5432/keyturn"), "{shown}");
    }
    let file: super::Database = "/var/lib/keyturn/keyturn.db".parse().unwrap();
    assert_eq!(file, super::Database::Sqlite("/var/lib/keyturn/keyturn.db".into()));
    assert_eq!(file.to_string(), "/var/lib/keyturn/keyturn.db");
    let odd: super::Database = "/tmp/a ?#%.db".parse().unwrap();
    assert_eq!(odd.url().unwrap(), "sqlite:///tmp/a%20%3F%23%25.db?mode=rwc");
}

#[tokio::test]
async fn a_database_file_whose_name_has_url_marks_is_made_under_that_very_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyturn ?#%20.db");
    let store = super::Store::open(&super::Database::Sqlite(path.clone()))
        .await
        .unwrap();
    assert!(store.ready().await.unwrap());
    store.close().await;
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"keyturn ?#%20.db".to_owned()), "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("keyturn ?#%20.db")), "{names:?}");
}

#[test]
fn each_engines_limit_trigger_is_the_protocols_limit() {
    let message = super::app_passwords::LIMIT_TRIGGER_MESSAGE;
    for (engine, migration, raise) in [
        (
            "sqlite",
            include_str!("../../migrations/sqlite/0001_initial.sql"),
            format!("RAISE(ABORT, '{message}')"),
        ),
        (
            "postgres",
            include_str!("../../migrations/postgres/0001_initial.sql"),
            format!("RAISE EXCEPTION '{message}'"),
        ),
    ] {
        let expected = format!("AND revoked_at IS NULL) >= {MAX_APP_PASSWORDS}");
        assert!(
            migration.contains(&expected),
            "the trigger in {engine}/0001_initial.sql must say {expected:?}"
        );
        assert!(
            migration.contains(&raise),
            "{engine}/0001_initial.sql must raise {raise:?}"
        );
    }
}

/// Migration 0006 on a database made before it: a signed-in session gets an id (and reads as an unknown
/// app), and an app password reaches everything, as it did.
#[tokio::test]
async fn rows_from_before_scopes_and_devices_keep_working() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let earlier = dir.path().join("migrations before 0006");
    std::fs::create_dir(&earlier).unwrap();
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for entry in std::fs::read_dir(&all).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().as_ref() < "0006" {
            std::fs::copy(entry.path(), earlier.join(entry.file_name())).unwrap();
        }
    }
    let db = super::Database::Sqlite(dir.path().join("k.db"));
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url().unwrap()).await.unwrap();
    sqlx::migrate::Migrator::new(earlier.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    for statement in [
        "INSERT INTO accounts (id, email, password_hash, created_at) VALUES ('a1', 'ann@example.com', 'x', 0)",
        "INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at, expires_at)
         VALUES ('h1', 'a1', 0, 0, 1)",
        "INSERT INTO app_passwords (id, account_id, label, label_key, verifier, lookup_tag, created_at)
         VALUES ('p1', 'a1', 'Mail', 'mail', 'v', '0000abcd', 0)",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let file = dir.path().join("k.db");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();

    let store = super::Store::open(&db).await.unwrap();
    let account = AccountId::from_stored("a1".to_owned());
    let sessions = store.sessions(&account, None, None).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].id.len(), 32, "{:?}", sessions[0].id);
    assert_eq!(sessions[0].client, super::UNKNOWN_CLIENT);
    let passwords = store.all_app_passwords(&account).await.unwrap();
    assert_eq!(passwords[0].scopes, keyturn_protocol::Scopes::EVERYTHING);
    assert_eq!(passwords[0].expires_at, None);
}

/// A sign-in that rehashes the password it checked replaces only that hash: a change stored meanwhile stays.
#[tokio::test]
async fn a_rehash_replaces_only_the_hash_it_read() {
    use keyturn_protocol::{Email, Verifier};
    let (store, _dir) = super::temporary().await;
    let email = Email::parse("ann@example.com").unwrap();
    let stored = |text: &str| Verifier::from_stored(text.to_owned());
    let account = store
        .create_account(&email, &stored("read by the sign-in"), chrono::Utc::now())
        .await
        .unwrap();
    assert!(store
        .rehash_password(
            &account.id,
            &stored("read by the sign-in"),
            &stored("a password change")
        )
        .await
        .unwrap());
    assert!(!store
        .rehash_password(&account.id, &stored("read by the sign-in"), &stored("the stale rehash"))
        .await
        .unwrap());
    let now = store.find_account_by_id(&account.id).await.unwrap().unwrap();
    assert_eq!(now.password.as_str(), "a password change");
}
