//! Real mail and calendar servers, none of them written here, check Keyturn's app-specific passwords:
//! OpenLDAP's `ldapwhoami` against the LDAP door, Dovecot (IMAP, and the SASL socket Postfix asks for SMTP
//! AUTH) binding over LDAP with Python's `imaplib` signing in, and nginx's `auth_request` in front of
//! Radicale with the `caldav` package as the calendar app. Each server runs from the configs in `deploy/`
//! as they ship, filled in for loopback ports.
//!
//! Ignored by a plain `cargo test`: they need Debian's dovecot-imapd, dovecot-ldap, nginx, radicale and
//! ldap-utils, and the caldav package; `cargo xtask integrations` (and `cargo xtask ci`) installs them and runs
//! these with `--ignored`.

mod installed;
mod services;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyturn_client::{AppPasswordOptions, Client, CreatedAppPassword, SessionClient};
use keyturn_protocol::Scopes;
use keyturn_server::testkit::TestServer;
use keyturn_server::{Options, SystemClock};
use secrecy::SecretString;

use services::{client, deploy, fill, free_port, python, script, Service};

const ANN: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery staple";
/// The revocation window the Dovecot config promises: its auth cache's TTL (30 s), and a margin.
const DOVECOT_WINDOW: Duration = Duration::from_secs(60);

/// Keyturn on the wall clock (Dovecot's cache runs on it too), nginx on this computer trusted to name the
/// client; Ann signed in.
async fn keyturn() -> (TestServer, SessionClient) {
    let options = Options {
        trusted_proxies: "127.0.0.1/32".parse().unwrap(),
        ..Options::default()
    };
    let server = TestServer::start_with(Arc::new(SystemClock), options).await.unwrap();
    server.add_account(ANN, PASSWORD).await.unwrap();
    let client = Client::new(&server.url).unwrap();
    let token = client.sign_in(ANN, &SecretString::from(PASSWORD)).await.unwrap().token;
    (server, client.session(token))
}

async fn create(session: &SessionClient, label: &str, scopes: &[&str]) -> CreatedAppPassword {
    let options = AppPasswordOptions {
        scopes: Scopes::parse(scopes).unwrap(),
        expires_in_days: None,
    };
    session.create_app_password_with_options(label, options).await.unwrap()
}

/// `ldapwhoami -x -H ldap://LDAP -D DN -y FILE`: its exit code (the LDAP result code) and what it printed.
fn ldapwhoami(ldap: &str, dn: &str, password: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    // `-y FILE`, not `-w`: a password on the command line is shown by `ps` to anyone on the machine.
    let file = dir.path().join("password");
    std::fs::write(&file, password).unwrap();
    // Readable by its owner only, or ldapwhoami warns (and rightly).
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = Command::new("ldapwhoami")
        .args(["-x", "-H", &format!("ldap://{ldap}"), "-D", dn, "-y"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("running ldapwhoami: {e} (`cargo xtask integrations` installs ldap-utils)"));
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let printed = if out.status.success() {
        printed
    } else {
        printed + &String::from_utf8_lossy(&out.stderr)
    };
    (out.status.code().unwrap_or(-1), printed)
}

fn mail_dn(email: &str) -> String {
    format!("uid={email},ou=mail,dc=keyturn")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ldap-utils: run by `cargo xtask integrations`"]
async fn ldapwhoami_binds_with_a_mail_password_and_every_other_password_is_49() {
    let (server, ann) = keyturn().await;
    let mail = create(&ann, "Thunderbird", &["mail"]).await;
    let calendars = create(&ann, "Phone calendar", &["calendars"]).await;
    let (code, printed) = ldapwhoami(&server.ldap_address.to_string(), &mail_dn(ANN), mail.password.expose());
    assert_eq!(code, 0, "{printed}");
    assert_eq!(printed, format!("dn:{}", mail_dn(ANN)));
    for (what, password) in [
        ("the primary password", PASSWORD),
        ("a calendars-only password", calendars.password.expose()),
        ("a wrong password", "abcd-efgh-ijkl-mnop"),
    ] {
        let (code, printed) = ldapwhoami(&server.ldap_address.to_string(), &mail_dn(ANN), password);
        assert_eq!(code, 49, "{what}: {printed}");
        assert!(printed.contains("Invalid credentials"), "{what}: {printed}");
    }
    ann.revoke(&mail.info.id).await.unwrap();
    let (code, printed) = ldapwhoami(&server.ldap_address.to_string(), &mail_dn(ANN), mail.password.expose());
    assert_eq!(code, 49, "a revoked password, at once: {printed}");
}

/// Dovecot with deploy/dovecot/, binding to the LDAP door at `ldap` (`127.0.0.1:PORT`); it and its IMAP port.
fn dovecot(ldap: &str, dir: &std::path::Path) -> (Service, u16) {
    let imap = free_port();
    let run = dir.join("dovecot");
    for sub in ["run", "state", "mail"] {
        std::fs::create_dir_all(run.join(sub)).unwrap();
    }
    // The mailboxes belong to the static userdb's uid and gid (nobody, nogroup).
    let chown = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(run.join("mail"))
        .status()
        .unwrap();
    assert!(chown.success());
    let values = [
        ("KEYTURN_LDAP", ldap.to_owned()),
        ("DOVECOT_DIR", run.display().to_string()),
        ("VMAIL_UID", "65534".to_owned()),
        ("VMAIL_GID", "65534".to_owned()),
        ("MAIL_HOME", run.join("mail").display().to_string()),
        ("RUN", run.display().to_string()),
        ("IMAP_PORT", imap.to_string()),
    ];
    fill(
        &deploy("dovecot/keyturn-ldap.conf.ext"),
        &run.join("keyturn-ldap.conf.ext"),
        &values,
    );
    fill(
        &deploy("dovecot/10-keyturn.conf"),
        &run.join("10-keyturn.conf"),
        &values,
    );
    fill(&script("dovecot.conf"), &run.join("dovecot.conf"), &values);
    let mut command = Command::new("dovecot");
    command.arg("-F").arg("-c").arg(run.join("dovecot.conf"));
    (
        Service::start("dovecot", command, imap, run.join("dovecot.stdout")),
        imap,
    )
}

/// A client script of `xtask/integrations/`: whether its expectation held, and its line.
fn check(name: &str, args: &[&str], password: &str) -> (bool, String) {
    let script = script(name);
    let mut all = vec![script.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = client(&python(), &all, password);
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), printed)
}

/// Python's `imaplib` signs in to Dovecot on `port` and selects INBOX: whether `expect` (ok, refused) held.
fn imap_check(port: &str, user: &str, password: &str, expect: &str) -> (bool, String) {
    check(
        "imap_check.py",
        &["127.0.0.1", port, user, "--expect", expect],
        password,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Dovecot: run by `cargo xtask integrations`"]
async fn dovecot_signs_in_with_a_mail_password_and_refuses_the_rest() {
    let (server, ann) = keyturn().await;
    let mail = create(&ann, "Thunderbird", &["mail"]).await;
    let calendars = create(&ann, "Phone calendar", &["calendars"]).await;
    let dir = tempfile::tempdir().unwrap();
    let (dovecot, port) = dovecot(&server.ldap_address.to_string(), dir.path());
    let port = port.to_string();
    let log = || std::fs::read_to_string(dir.path().join("dovecot/dovecot.log")).unwrap_or_default();
    let imap = |user: &str, password: &str, expect: &str| imap_check(&port, user, password, expect);

    let (held, line) = imap(ANN, mail.password.expose(), "ok");
    assert!(held, "{line}\n{}", log());
    // As a user types it: the email in capitals, the password grouped.
    let (held, line) = imap(&ANN.to_uppercase(), &mail.password.grouped(), "ok");
    assert!(held, "{line}\n{}", log());
    for (what, password) in [
        ("the primary password", PASSWORD),
        ("a calendars-only password", calendars.password.expose()),
        ("a wrong password", "abcd-efgh-ijkl-mnop"),
    ] {
        let (held, line) = imap(ANN, password, "refused");
        assert!(held, "{what}: {line}\n{}", log());
    }
    // SMTP AUTH: Postfix asks Dovecot's SASL socket, which asks the same passdb.
    let socket = dir.path().join("dovecot/run/postfix-auth");
    let socket = socket.to_str().unwrap();
    let (held, line) = check(
        "dovecot_sasl_check.py",
        &[socket, ANN, "--expect", "ok"],
        mail.password.expose(),
    );
    assert!(held, "SMTP AUTH with the mail password: {line}");
    let (held, line) = check(
        "dovecot_sasl_check.py",
        &[socket, ANN, "--expect", "refused"],
        calendars.password.expose(),
    );
    assert!(held, "SMTP AUTH with a calendars password: {line}");

    // Revoked: Dovecot's cache answers for at most its TTL, then Keyturn refuses.
    ann.revoke(&mail.info.id).await.unwrap();
    let revoked = Instant::now();
    let refused_after = loop {
        if imap(ANN, mail.password.expose(), "refused").0 {
            break revoked.elapsed();
        }
        assert!(
            revoked.elapsed() < DOVECOT_WINDOW,
            "a revoked password still signs in to Dovecot after {DOVECOT_WINDOW:?}\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    println!(
        "dovecot: a revoked password was refused {:.1} s after the revoke",
        refused_after.as_secs_f64()
    );
    drop(dovecot);
}

/// Radicale with deploy/radicale/config behind nginx with deploy/nginx/keyturn-auth.conf; both, and nginx's URL.
fn dav(server: &TestServer, dir: &std::path::Path) -> (Service, Service, String) {
    let (nginx_port, radicale_port) = (free_port(), free_port());
    let run = dir.join("dav");
    std::fs::create_dir_all(run.join("collections")).unwrap();
    let values = [
        ("KEYTURN_HTTP", server.address.to_string()),
        ("RADICALE", format!("127.0.0.1:{radicale_port}")),
        ("RADICALE_STORAGE", run.join("collections").display().to_string()),
        ("RUN", run.display().to_string()),
        ("NGINX_PORT", nginx_port.to_string()),
    ];
    fill(&deploy("radicale/config"), &run.join("radicale.conf"), &values);
    fill(
        &deploy("nginx/keyturn-auth.conf"),
        &run.join("keyturn-auth.conf"),
        &values,
    );
    fill(&script("nginx.conf"), &run.join("nginx.conf"), &values);
    let mut radicale = Command::new("/usr/bin/python3");
    radicale
        .args(["-m", "radicale", "--config"])
        .arg(run.join("radicale.conf"));
    let radicale = Service::start("radicale", radicale, radicale_port, run.join("radicale.log"));
    let mut nginx = Command::new("nginx");
    nginx
        .arg("-e")
        .arg(run.join("error.log"))
        .arg("-p")
        .arg(&run)
        .arg("-c")
        .arg(run.join("nginx.conf"));
    let nginx = Service::start("nginx", nginx, nginx_port, run.join("nginx.stdout"));
    (radicale, nginx, format!("http://127.0.0.1:{nginx_port}/"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nginx and Radicale: run by `cargo xtask integrations`"]
async fn a_calendar_app_reaches_radicale_through_nginx_with_a_calendars_password_only() {
    let (server, ann) = keyturn().await;
    let calendars = create(&ann, "Phone calendar", &["calendars"]).await;
    let mail = create(&ann, "Thunderbird", &["mail"]).await;
    let dir = tempfile::tempdir().unwrap();
    let (_radicale, _nginx, url) = dav(&server, dir.path());
    let caldav = |password: &str, expect: &str| check("caldav_check.py", &[&url, ANN, "--expect", expect], password);

    let (held, printed) = caldav(calendars.password.expose(), "ok");
    assert!(held, "{printed}");
    let (held, printed) = caldav(mail.password.expose(), "403");
    assert!(held, "a mail-only password: {printed}");
    let (held, printed) = caldav(PASSWORD, "401");
    assert!(held, "the primary password: {printed}");
    ann.revoke(&calendars.info.id).await.unwrap();
    let (held, printed) = caldav(calendars.password.expose(), "401");
    assert!(held, "a revoked password, at once: {printed}");
    // Keyturn saw the calendar app's sign-in: it is in Recent Activity under the password's label.
    let events = ann.activity(None).await.unwrap();
    assert!(
        events.iter().any(|e| e.label.as_deref() == Some("Phone calendar")),
        "the calendar app's sign-in is in Recent Activity: {events:?}"
    );
}
