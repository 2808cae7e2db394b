//! The README's path for a provider, on the installed `keyturn-server` package: its service (started by
//! `cargo xtask bundle`'s check as the unit would start it, user `keyturn`, settings from
//! /etc/keyturn/server.conf) answers Dovecot over LDAP, and support staff's admin commands reach its
//! database with no path typed.
//!
//! `cargo xtask integrations` skips it; the package check runs it with `KEYTURN_INSTALLED_URL` and
//! `KEYTURN_INSTALLED_LDAP` set, and it fails without them rather than pass having checked nothing.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use keyturn_client::Client;
use secrecy::SecretString;

use crate::{create, dovecot, imap_check, ldapwhoami, mail_dn, ANN, PASSWORD};

fn installed(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: `cargo xtask bundle` runs this test"))
}

/// `keyturn-server ARGS` as support staff run it on the server (the service's user, the installed
/// configuration: not the empty KEYTURN_CONFIG cargo gives tests), `stdin` typed in.
fn support_staff(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new("runuser")
        .args(["-u", "keyturn", "--", "/usr/bin/keyturn-server"])
        .args(args)
        .env_remove("KEYTURN_CONFIG")
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the installed keyturn-server package: run by `cargo xtask bundle`"]
async fn installed_package_from_admin_cli_to_an_imap_sign_in_and_a_revoke() {
    let url = installed("KEYTURN_INSTALLED_URL");
    let ldap = installed("KEYTURN_INSTALLED_LDAP");

    let added = support_staff(&["accounts", "add", ANN], &format!("{PASSWORD}\n"));
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    // Root is sent to the service's user rather than leave root-owned files beside its database.
    let as_root = Command::new("/usr/bin/keyturn-server")
        .args(["accounts", "list"])
        .env_remove("KEYTURN_CONFIG")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&as_root.stderr);
    assert!(
        !as_root.status.success() && said.contains("run this as that user (sudo -u keyturn"),
        "{said}"
    );

    let client = Client::new(&url).unwrap();
    let token = client.sign_in(ANN, &SecretString::from(PASSWORD)).await.unwrap().token;
    let ann = client.session(token);
    let mail = create(&ann, "Thunderbird", &["mail"]).await;

    let dir = tempfile::tempdir().unwrap();
    let (_dovecot, port) = dovecot(&ldap, dir.path());
    let port = port.to_string();
    let (held, line) = imap_check(&port, ANN, mail.password.expose(), "ok");
    assert!(held, "{line}");
    let (held, line) = imap_check(&port, ANN, PASSWORD, "refused");
    assert!(held, "the primary password: {line}");

    let listed = support_staff(&["app-passwords", "list", ANN], "");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("Thunderbird") && listed.contains("mail"), "{listed}");
    let revoked = support_staff(&["app-passwords", "revoke", ANN, "Thunderbird"], "");
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
    let (code, printed) = ldapwhoami(&ldap, &mail_dn(ANN), mail.password.expose());
    assert_eq!(code, 49, "revoked by support staff, at once: {printed}");
}
