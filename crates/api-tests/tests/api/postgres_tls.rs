//! PostgreSQL over TLS, against the throwaway cluster of `cargo xtask test-postgres` (TLS only, a CA of the
//! run's own): `sslmode=verify-full` with that CA connects and the connection is encrypted; the same URL
//! trusting another CA is refused with a clear error that shows no password; plaintext is refused.

use std::process::Command;

use crate::helpers::SERVER_BIN;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: `cargo xtask test-postgres` runs this test"))
}

/// `keyturn-server migrate --db URL`: whether it worked, and what it said.
fn migrate(url: &str) -> (bool, String) {
    let out = Command::new(SERVER_BIN)
        .args(["migrate", "--db", url])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

#[tokio::test]
#[ignore = "needs the TLS cluster of `cargo xtask test-postgres`"]
async fn postgres_is_reached_only_over_verified_tls_and_a_wrong_root_is_refused_clearly() {
    let url = env("KEYTURN_TEST_POSTGRES");
    let other_root = env("KEYTURN_TEST_POSTGRES_OTHER_ROOT");
    assert!(url.contains("sslmode=verify-full&sslrootcert="), "{url}");

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let encrypted: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(encrypted, "the connection is encrypted");
    let (ok, said) = migrate(&url);
    assert!(ok, "{said}");

    // A password in the URL (the cluster trusts its user, so it is not checked) is never shown.
    let with_password = url.replacen("keyturn@", "keyturn:pw-never-shown@", 1);
    let (root, _) = with_password.split_once("sslrootcert=").unwrap();
    let (ok, said) = migrate(&format!("{root}sslrootcert={other_root}"));
    assert!(!ok, "another CA's root was trusted: {said}");
    assert!(
        said.to_lowercase().contains("certificate"),
        "the error names the certificate: {said}"
    );
    assert!(!said.contains("pw-never-shown"), "{said}");

    let (plain, _) = with_password.split_once('?').unwrap();
    let (ok, said) = migrate(&format!("{plain}?sslmode=disable"));
    assert!(!ok, "a plaintext connection was let in: {said}");
    assert!(!said.contains("pw-never-shown"), "{said}");
}
