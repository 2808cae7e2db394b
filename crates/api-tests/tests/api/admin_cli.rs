//! The `keyturn-server` binary itself: admin commands on the database of a running server, graceful
//! shutdown, and logs without secrets.

pub(crate) mod run;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use base64::Engine;
use keyturn_client::Client;

use keyturn_protocol::ErrorCode;

use crate::helpers::{secret, spawn_app, spawn_sqlite_app, Refusal, PASSWORD};

use crate::helpers::SERVER_BIN as BIN;
use run::{add_with_stdin, admin, stdout};

#[tokio::test]
async fn support_staff_add_an_account_with_a_password_from_stdin() {
    let app = spawn_app().await;
    let out = add_with_stdin(app.db_arg(), "Ann@Example.com", PASSWORD);
    assert_eq!(stdout(&out), "Added ann@example.com.\n");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(PASSWORD));
    assert!(app.client.sign_in("ann@example.com", &secret(PASSWORD)).await.is_ok());
    let again = add_with_stdin(app.db_arg(), "ann@example.com", PASSWORD);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[tokio::test]
async fn a_generated_password_is_printed_once_and_works() {
    let app = spawn_app().await;
    let out = stdout(&admin(
        app.db_arg(),
        &["accounts", "add", "bob@example.com", "--generate"],
    ));
    let password = out.trim().rsplit(' ').next().unwrap();
    assert_eq!(password.len(), 19, "{out}");
    assert!(app.client.sign_in("bob@example.com", &secret(password)).await.is_ok());
}

#[tokio::test]
async fn bad_input_gets_a_clear_error() {
    let app = spawn_app().await;
    let short = add_with_stdin(app.db_arg(), "ann@example.com", "short");
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12 characters"));
    let not_email = add_with_stdin(app.db_arg(), "ann", PASSWORD);
    assert!(String::from_utf8_lossy(&not_email.stderr).contains("not an email address"));
    let unknown = admin(app.db_arg(), &["app-passwords", "list", "nobody@example.com"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account with email nobody@example.com"));
}

#[tokio::test]
async fn a_guessable_password_of_twelve_characters_is_refused_with_the_reason_and_adds_nothing() {
    let app = spawn_app().await;
    let out = add_with_stdin(app.db_arg(), "ann@example.com", "password1234");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("This password is too easy to guess. This is a very common password."),
        "{said}"
    );
    let accounts = stdout(&admin(app.db_arg(), &["accounts", "list"]));
    assert_eq!(accounts, "No accounts.\n");
}

#[tokio::test]
async fn support_staff_see_what_the_user_sees_and_revoke_by_label() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let mail = user.session.create_app_password("Thunderbird on laptop").await.unwrap();
    let calendar = user.session.create_app_password("Calendar").await.unwrap();
    app.client.whoami(&user.email, mail.password.expose()).await.unwrap();

    let accounts = stdout(&admin(app.db_arg(), &["accounts", "list"]));
    assert!(
        accounts
            .lines()
            .any(|l| l.starts_with(&user.email) && l.contains(" 2 ")),
        "{accounts}"
    );

    let list = stdout(&admin(app.db_arg(), &["app-passwords", "list", &user.email]));
    let mail_line = list.lines().find(|l| l.starts_with("Thunderbird on laptop")).unwrap();
    assert!(
        mail_line.contains("2026-03-01 09:00 UTC") && mail_line.ends_with("active"),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("Calendar") && l.contains("Never used")),
        "{list}"
    );

    let revoked = stdout(&admin(
        app.db_arg(),
        &["app-passwords", "revoke", &user.email, "thunderbird ON laptop"],
    ));
    assert!(revoked.starts_with("Revoked \"Thunderbird on laptop\""), "{revoked}");
    // The running server refuses it at once, cached or not.
    assert_eq!(
        app.client.whoami(&user.email, mail.password.expose()).await.refused(),
        Some(ErrorCode::InvalidCredentials)
    );
    assert!(app.client.whoami(&user.email, calendar.password.expose()).await.is_ok());

    let json: serde_json::Value = serde_json::from_str(&stdout(&admin(
        app.db_arg(),
        &["app-passwords", "list", &user.email, "--json"],
    )))
    .unwrap();
    let states: Vec<(&str, &str)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["label"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("Calendar", "active"), ("Thunderbird on laptop", "revoked")]);

    let missing = admin(
        app.db_arg(),
        &["app-passwords", "revoke", &user.email, "Thunderbird on laptop"],
    );
    assert!(!missing.status.success(), "already revoked");

    let all = stdout(&admin(app.db_arg(), &["app-passwords", "revoke-all", &user.email]));
    assert_eq!(all, format!("Revoked 1 app-specific password for {}.\n", user.email));
    assert_eq!(
        app.client
            .whoami(&user.email, calendar.password.expose())
            .await
            .refused(),
        Some(ErrorCode::InvalidCredentials)
    );
}

#[tokio::test]
async fn the_audit_trail_tells_the_story_with_addresses() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let _ = app.client.sign_in(&user.email, &secret("wrong password")).await;
    let mail = user.session.create_app_password("Mail").await.unwrap();
    app.client.whoami(&user.email, mail.password.expose()).await.unwrap();
    let _ = app.client.whoami(&user.email, "aaaa-bbbb-cccc-dddd").await;
    user.session.revoke(&mail.info.id).await.unwrap();
    user.session.revoke_all().await.unwrap();

    let json: serde_json::Value =
        serde_json::from_str(&stdout(&admin(app.db_arg(), &["audit", &user.email, "--json"]))).unwrap();
    let kinds: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "sign-in",
            "failed sign-in",
            "created",
            "app sign-in",
            "failed app sign-in",
            "revoked",
            "revoked-all"
        ]
    );
    assert!(json.as_array().unwrap().iter().all(|e| e["client_addr"] == "127.0.0.1"));
    let text = stdout(&admin(app.db_arg(), &["audit", &user.email]));
    assert!(
        text.lines().any(|l| l.contains("created") && l.contains("Mail")),
        "{text}"
    );
}

#[test]
fn the_server_logs_json_without_secrets_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keyturn.db");
    crate::admin_cli::run::migrated(&db);
    assert!(add_with_stdin(&db, "ann@example.com", PASSWORD).status.success());
    let mut server = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--ldap-listen",
            "127.0.0.1:0",
            "--log-json",
            "--db",
        ])
        .arg(&db)
        .env("RUST_LOG", "trace,ldap3_proto::proto=trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut first_line, mut ldap_line) = (String::new(), String::new());
    let mut announced = BufReader::new(server.stdout.take().unwrap());
    announced.read_line(&mut first_line).unwrap();
    announced.read_line(&mut ldap_line).unwrap();
    let url = first_line.trim().strip_prefix("listening on ").unwrap().to_owned();
    let ldap: std::net::SocketAddr = ldap_line
        .trim()
        .strip_prefix("ldap on ldap://")
        .unwrap()
        .parse()
        .unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (token, app_password) = runtime.block_on(async {
        let client = Client::new(&url).unwrap();
        let signed_in = client.sign_in("ann@example.com", &secret(PASSWORD)).await.unwrap();
        let token = secrecy::ExposeSecret::expose_secret(&signed_in.token).to_owned();
        let session = client.session(signed_in.token);
        let created = session.create_app_password("Mail").await.unwrap();
        client
            .whoami("ann@example.com", &created.password.grouped())
            .await
            .unwrap();
        let _ = client.sign_in("ann@example.com", &secret("a wrong guess here")).await;
        // The LDAP door too, at `trace`: its codec would print whole messages, bind passwords among them.
        let dn = "uid=ann@example.com,ou=mail,dc=keyturn";
        let mut conn = crate::ldap_client::LdapConn::connect(ldap).await;
        assert_eq!(
            conn.bind(dn, &created.password.grouped()).await,
            ldap3_proto::LdapResultCode::Success
        );
        assert_eq!(
            conn.bind(dn, "a wrong guess here").await,
            ldap3_proto::LdapResultCode::InvalidCredentials
        );
        (token, created.password.expose().to_owned())
    });
    let grouped = keyturn_protocol::AppPassword::parse(&app_password)
        .unwrap()
        .grouped()
        .to_string();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("ann@example.com:{grouped}"));
    let verifier: String = runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query_scalar("SELECT verifier FROM app_passwords")
            .fetch_one(&pool)
            .await
            .unwrap()
    });

    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = server.wait_with_output().unwrap();
    assert!(output.status.success(), "exit status {:?}", output.status);
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(logs.contains("shutting down") && logs.contains("stopped"), "{logs}");
    let mut creates = Vec::new();
    for line in logs.lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(entry["level"].is_string() && entry["fields"].is_object(), "{line}");
        if entry["fields"]["message"] == "app password created" {
            creates.push(entry);
        }
    }
    // One request's lines can be found together: the create's line names its request id and the account.
    assert_eq!(creates.len(), 1, "{logs}");
    let spans = creates[0]["spans"].as_array().unwrap();
    let request = spans.iter().find(|s| s["name"] == "request").unwrap();
    let request_id = request["request_id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&request_id).is_ok(), "{}", creates[0]);
    assert_eq!(request["path"], "/v1/app-passwords");
    assert!(creates[0]["span"]["account"].is_string(), "{}", creates[0]);
    let same_request = logs.lines().filter(|l| l.contains(&request_id)).count();
    assert!(same_request >= 2, "only {same_request} lines of the create's request");
    for secret in [
        PASSWORD,
        "a wrong guess here",
        &token,
        &app_password,
        &app_password[..4],
        &grouped,
        &basic,
        &verifier,
    ] {
        assert!(!logs.contains(secret), "the log contains a secret");
    }
    // Nor as the list of bytes a `Debug` of a BER tag prints (`[97, 98, …]`), as the LDAP codec's trace does.
    for secret in [&grouped, "a wrong guess here"] {
        let bytes = format!("{:?}", secret.as_bytes());
        assert!(
            !logs.contains(bytes.trim_matches(['[', ']'])),
            "the log contains a secret's bytes"
        );
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_database_and_its_journal_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_sqlite_app().await;
    app.new_user().await;
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", app.db_file().display());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file} is {mode:o}");
    }
}

#[cfg(unix)]
#[test]
fn serve_refuses_a_database_others_can_read_and_says_how_to_fix_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keyturn.db");
    crate::admin_cli::run::migrated(&db);
    assert!(add_with_stdin(&db, "ann@example.com", PASSWORD).status.success());
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut serve = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // If the rule broke, serve would run until killed: give it 10 s to refuse.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while serve.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = serve.kill();
    let output = serve.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains(&format!("chmod 600 {}", db.display())), "{stderr}");
}

#[tokio::test]
async fn support_staff_see_access_and_expiry_and_sign_a_device_out() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let options = keyturn_client::AppPasswordOptions {
        scopes: keyturn_protocol::Scopes::parse(&["mail", "calendars"]).unwrap(),
        expires_in_days: Some(30),
    };
    user.session
        .create_app_password_with_options("Mail on laptop", options)
        .await
        .unwrap();
    user.session.create_app_password("Phone").await.unwrap();

    let list = stdout(&admin(app.db_arg(), &["app-passwords", "list", &user.email]));
    let header = list.lines().next().unwrap();
    assert!(header.contains("ACCESS") && header.contains("EXPIRES"), "{list}");
    let mail = list.lines().find(|l| l.starts_with("Mail on laptop")).unwrap();
    assert!(
        mail.contains("mail, calendars") && mail.contains("2026-03-31 09:00 UTC"),
        "{list}"
    );
    let phone = list.lines().find(|l| l.starts_with("Phone")).unwrap();
    assert!(phone.contains(" all ") && phone.contains("Never"), "{list}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&admin(
        app.db_arg(),
        &["app-passwords", "list", &user.email, "--json"],
    )))
    .unwrap();
    assert_eq!(json[1]["scopes"], serde_json::json!(["mail", "calendars"]));
    assert_eq!(json[0]["expires_at"], serde_json::Value::Null);

    // A second device signs in; support staff find it and sign it out.
    let laptop = app.client.sign_in(&user.email, &secret(PASSWORD)).await.unwrap();
    let laptop = app.client.session(laptop.token);
    let sessions = stdout(&admin(app.db_arg(), &["sessions", "list", &user.email]));
    assert!(sessions.starts_with("ID"), "{sessions}");
    let rows: Vec<&str> = sessions.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{sessions}");
    assert!(rows.iter().all(|r| r.contains("Keyturn ")), "{sessions}");
    let listed: serde_json::Value = serde_json::from_str(&stdout(&admin(
        app.db_arg(),
        &["sessions", "list", &user.email, "--json"],
    )))
    .unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let mine = user.session.sessions().await.unwrap();
    let laptops = mine.iter().find(|s| !s.current).unwrap();
    assert!(ids.contains(&laptops.id.as_str()));

    let ended = stdout(&admin(app.db_arg(), &["sessions", "end", &user.email, &laptops.id]));
    assert!(ended.starts_with("Signed out session"), "{ended}");
    assert_eq!(laptop.account().await.refused(), Some(ErrorCode::Unauthenticated));
    user.session.account().await.unwrap();
    let again = admin(app.db_arg(), &["sessions", "end", &user.email, &laptops.id]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("no signed-in device"));
    let audit = stdout(&admin(app.db_arg(), &["audit", &user.email]));
    assert!(
        audit
            .lines()
            .any(|l| l.contains("device signed out") && l.contains("admin-cli")),
        "{audit}"
    );
}

#[test]
fn an_admin_command_refuses_a_missing_database_and_creates_none() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo.db");
    for args in [
        &["accounts", "list"][..],
        &["accounts", "add", "ann@example.com", "--generate"],
        &["app-passwords", "revoke-all", "ann@example.com"],
    ] {
        let out = admin(&missing, args);
        assert!(!out.status.success(), "{args:?}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("no database at ") && said.contains("typo.db"),
            "{args:?}: {said}"
        );
    }
    assert!(!missing.exists());
    // `migrate` creates it; then the same command works.
    assert!(Command::new(BIN)
        .args(["migrate", "--db"])
        .arg(&missing)
        .output()
        .unwrap()
        .status
        .success());
    assert_eq!(stdout(&admin(&missing, &["accounts", "list"])), "No accounts.\n");
}

/// Support staff type no path: the configuration file names the service's database, the environment
/// overrides it, a flag overrides both, and a misspelt setting is an error with its line.
#[tokio::test]
async fn the_configuration_file_names_the_database_for_every_admin_command() {
    let app = spawn_sqlite_app().await;
    let user = app.new_user().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.conf");
    std::fs::write(&config, format!("# the service's\nKEYTURN_DB=\"{}\"\n", app.db_arg())).unwrap();
    let with_config = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("KEYTURN_CONFIG", &config)
            .output()
            .unwrap()
    };

    let accounts = stdout(&with_config(&["accounts", "list"]));
    assert!(accounts.contains(&user.email), "{accounts}");
    let elsewhere = dir.path().join("elsewhere.db");
    let flag = with_config(&["accounts", "list", "--db", &elsewhere.to_string_lossy()]);
    assert!(String::from_utf8_lossy(&flag.stderr).contains("elsewhere.db"));
    let env = Command::new(BIN)
        .args(["accounts", "list"])
        .env("KEYTURN_CONFIG", &config)
        .env("KEYTURN_DB", &elsewhere)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&env.stderr).contains("elsewhere.db"));

    std::fs::write(&config, "KEYTURN_DB=/x\nKEYTURN_LISTN=127.0.0.1:1\n").unwrap();
    let typo = with_config(&["accounts", "list"]);
    assert!(!typo.status.success());
    let said = String::from_utf8_lossy(&typo.stderr);
    assert!(
        said.contains("server.conf:2: unknown setting \"KEYTURN_LISTN\""),
        "{said}"
    );
    let gone = Command::new(BIN)
        .args(["accounts", "list"])
        .env("KEYTURN_CONFIG", dir.path().join("none.conf"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&gone.stderr).contains("none.conf, which is not a file"));
}
