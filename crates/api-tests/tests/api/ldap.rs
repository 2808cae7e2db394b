//! The LDAP door: a mail server binds as `uid=EMAIL,ou=SCOPE,dc=keyturn` with an app-specific password, and
//! the bind goes through the same rules as every app sign-in.

use chrono::Duration;
use keyturn_client::{AppPasswordOptions, CreatedAppPassword};
use keyturn_protocol::wire::ActivityKind;
use keyturn_protocol::Scopes;
use ldap3_proto::proto::{LdapAddRequest, LdapExtendedRequest, LdapOp};
use ldap3_proto::{LdapResultCode, LdapSearchScope};

use crate::abuse::join_all;
use crate::helpers::{TestApp, TestUser, PASSWORD};
use crate::ldap_client::{dn, values, LdapConn};

async fn create(user: &TestUser, label: &str, scopes: &[&str], expires_in_days: Option<u32>) -> CreatedAppPassword {
    let options = AppPasswordOptions {
        scopes: Scopes::parse(scopes).unwrap(),
        expires_in_days,
    };
    user.session
        .create_app_password_with_options(label, options)
        .await
        .unwrap()
}

async fn bind(app: &TestApp, dn: &str, password: &str) -> LdapResultCode {
    LdapConn::connect(app.ldap_address).await.bind(dn, password).await
}

#[tokio::test]
async fn a_mail_password_binds_and_whoami_and_its_own_entry_name_the_account() {
    let app = crate::helpers::spawn_app().await;
    let user = app.new_user().await;
    let mail = create(&user, "Thunderbird", &["mail"], None).await;
    let mut conn = LdapConn::connect(app.ldap_address).await;
    // The email in any case, the password as typed or grouped: as at whoami.
    let typed = dn(&user.email.to_uppercase(), "MAIL");
    assert_eq!(conn.bind(&typed, mail.password.expose()).await, LdapResultCode::Success);
    let own = dn(&user.email, "mail");
    assert_eq!(conn.whoami().await, format!("dn:{own}"));

    let (entries, code) = conn.search(&own, LdapSearchScope::Base, "(objectClass=*)").await;
    assert_eq!(code, LdapResultCode::Success);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].dn, own);
    for attribute in ["uid", "mail", "cn"] {
        assert_eq!(values(&entries[0], attribute), vec![user.email.clone()], "{attribute}");
    }
    // Looked up by its uid from the base, as a server with a user filter does: only its own entry.
    let filter = format!("(&(objectClass=inetOrgPerson)(uid={}))", user.email);
    let (found, _) = conn.search("dc=keyturn", LdapSearchScope::Subtree, &filter).await;
    assert_eq!(found.len(), 1);
    let (none, code) = conn
        .search("dc=keyturn", LdapSearchScope::Subtree, "(uid=someone@else.com)")
        .await;
    assert!(none.is_empty());
    assert_eq!(code, LdapResultCode::Success);
    // Another account's entry is not for this bind to read.
    let (_, code) = conn
        .search(
            &dn("other@example.com", "mail"),
            LdapSearchScope::Base,
            "(objectClass=*)",
        )
        .await;
    assert_eq!(code, LdapResultCode::InsufficentAccessRights);

    // The root DSE names the directory, to anyone.
    let mut anonymous = LdapConn::connect(app.ldap_address).await;
    let (root, code) = anonymous.search("", LdapSearchScope::Base, "(objectClass=*)").await;
    assert_eq!(code, LdapResultCode::Success);
    assert_eq!(values(&root[0], "namingContexts"), vec!["dc=keyturn"]);
}

#[tokio::test]
async fn every_refused_bind_is_invalid_credentials_after_one_argon2_run() {
    let app = crate::helpers::spawn_app().await;
    let user = app.new_user().await;
    let calendars = create(&user, "Calendar", &["calendars"], None).await;
    let revoked = create(&user, "Old phone", &["mail"], None).await;
    let expiring = create(&user, "Laptop for a month", &["mail"], Some(1)).await;
    user.session.revoke(&revoked.info.id).await.unwrap();
    app.clock.advance(Duration::days(1));
    let mail_dn = dn(&user.email, "mail");
    let refusals = [
        ("the primary password", mail_dn.clone(), PASSWORD.to_owned()),
        (
            "a calendars-only password",
            mail_dn.clone(),
            calendars.password.expose().to_owned(),
        ),
        ("a wrong password", mail_dn.clone(), "abcd-efgh-ijkl-mnop".to_owned()),
        (
            "a revoked password",
            mail_dn.clone(),
            revoked.password.expose().to_owned(),
        ),
        (
            "an expired password",
            mail_dn.clone(),
            expiring.password.expose().to_owned(),
        ),
        (
            "an unknown account",
            dn("nobody@example.com", "mail"),
            calendars.password.expose().to_owned(),
        ),
        (
            "a DN without a scope",
            "uid=".to_owned() + &user.email,
            calendars.password.expose().to_owned(),
        ),
        (
            "a malformed DN",
            r"uid=\zz,ou=mail,dc=keyturn".to_owned(),
            calendars.password.expose().to_owned(),
        ),
        (
            "another base",
            format!("uid={},ou=mail,dc=example", user.email),
            calendars.password.expose().to_owned(),
        ),
        (
            "a scope that does not exist",
            dn(&user.email, "printers"),
            calendars.password.expose().to_owned(),
        ),
        ("an empty password", mail_dn.clone(), String::new()),
    ];
    for (what, dn, password) in refusals {
        let before = app.state.argon2_verifications();
        assert_eq!(
            bind(&app, &dn, &password).await,
            LdapResultCode::InvalidCredentials,
            "{what}"
        );
        assert_eq!(
            app.state.argon2_verifications() - before,
            1,
            "{what} costs one argon2 run, like the rest"
        );
    }
    // The calendars password itself is right, for calendars.
    assert_eq!(
        bind(&app, &dn(&user.email, "calendars"), calendars.password.expose()).await,
        LdapResultCode::Success
    );
}

#[tokio::test]
async fn a_revoked_password_stops_binding_at_once_even_from_the_cache() {
    let app = crate::helpers::spawn_app().await;
    let user = app.new_user().await;
    let mail = create(&user, "Thunderbird", &["mail"], None).await;
    let mail_dn = dn(&user.email, "mail");
    assert_eq!(
        bind(&app, &mail_dn, mail.password.expose()).await,
        LdapResultCode::Success
    );
    let before = app.state.argon2_verifications();
    assert_eq!(
        bind(&app, &mail_dn, mail.password.expose()).await,
        LdapResultCode::Success
    );
    assert_eq!(
        app.state.argon2_verifications(),
        before,
        "the second bind is proven from the cache"
    );
    user.session.revoke(&mail.info.id).await.unwrap();
    assert_eq!(
        bind(&app, &mail_dn, mail.password.expose()).await,
        LdapResultCode::InvalidCredentials
    );
}

#[tokio::test]
async fn anonymous_binds_read_nothing_and_writes_are_refused() {
    let app = crate::helpers::spawn_app().await;
    let user = app.new_user().await;
    let mut conn = LdapConn::connect(app.ldap_address).await;
    assert_eq!(conn.bind("", "").await, LdapResultCode::Success);
    assert_eq!(conn.whoami().await, "");
    let (entries, code) = conn
        .search(&dn(&user.email, "mail"), LdapSearchScope::Base, "(objectClass=*)")
        .await;
    assert!(entries.is_empty());
    assert_eq!(code, LdapResultCode::InsufficentAccessRights);
    let (_, code) = conn.search("dc=keyturn", LdapSearchScope::Subtree, "(uid=*)").await;
    assert_eq!(code, LdapResultCode::InsufficentAccessRights);

    let add = LdapOp::AddRequest(LdapAddRequest {
        dn: dn("new@example.com", "mail"),
        attributes: vec![],
    });
    match conn.request(add).await {
        Some(LdapOp::AddResponse(result)) => assert_eq!(result.code, LdapResultCode::UnwillingToPerform),
        other => panic!("{other:?}"),
    }
    let start_tls = LdapOp::ExtendedRequest(LdapExtendedRequest {
        name: "1.3.6.1.4.1.1466.20037".to_owned(),
        value: None,
    });
    match conn.request(start_tls).await {
        Some(LdapOp::ExtendedResponse(response)) => assert_eq!(response.res.code, LdapResultCode::ProtocolError),
        other => panic!("{other:?}"),
    }
    // Still the same connection, still anonymous.
    assert_eq!(conn.whoami().await, "");
    // A failed bind leaves the connection anonymous, not bound as before.
    let mail = create(&user, "Mail", &["mail"], None).await;
    assert_eq!(
        conn.bind(&dn(&user.email, "mail"), mail.password.expose()).await,
        LdapResultCode::Success
    );
    assert_eq!(
        conn.bind(&dn(&user.email, "mail"), "wrong").await,
        LdapResultCode::InvalidCredentials
    );
    assert_eq!(conn.whoami().await, "");
}

#[tokio::test]
async fn bytes_that_are_not_ldap_end_that_connection_only() {
    let app = crate::helpers::spawn_app().await;
    let mut conn = LdapConn::connect(app.ldap_address).await;
    conn.send_garbage().await;
    // The notice of disconnection, then the end.
    let notice = conn.receive().await.expect("a notice of disconnection");
    assert!(matches!(notice.op, LdapOp::ExtendedResponse(_)), "{notice:?}");
    assert!(conn.receive().await.is_none(), "the connection is closed");
    let mut other = LdapConn::connect(app.ldap_address).await;
    assert_eq!(other.bind("", "").await, LdapResultCode::Success);
}

#[tokio::test]
async fn a_bind_is_last_used_recent_activity_and_an_audit_line() {
    let app = crate::helpers::spawn_app().await;
    let user = app.new_user().await;
    let mail = create(&user, "Thunderbird", &["mail"], None).await;
    assert_eq!(
        bind(&app, &dn(&user.email, "mail"), mail.password.expose()).await,
        LdapResultCode::Success
    );
    let listed = user.session.list_app_passwords().await.unwrap();
    assert!(listed[0].last_used_at.is_some(), "last used is set by a bind");
    let events = user.session.activity(None).await.unwrap();
    let signed_in = events
        .iter()
        .find(|e| e.kind == ActivityKind::AppSignIn)
        .expect("an app sign-in");
    assert_eq!(signed_in.label.as_deref(), Some("Thunderbird"));
    assert!(
        signed_in.over_ldap,
        "Recent Activity says the mail server checked it over LDAP"
    );
    assert_eq!(
        signed_in.address.as_deref(),
        Some("127.0.0.1"),
        "the mail server's address"
    );
    let store = app.state.store();
    let email = keyturn_protocol::Email::parse(&user.email).unwrap();
    let account = store.find_account_by_email(&email).await.unwrap().unwrap();
    let kinds: Vec<String> = store
        .audit_events(&account.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&"app sign-in over LDAP".to_owned()), "{kinds:?}");
}

#[tokio::test]
async fn sixty_wrong_binds_through_one_relay_leave_another_account_and_the_owners_cached_password_working() {
    let app = crate::helpers::spawn_app().await;
    let (ann, bob) = (app.new_user().await, app.new_user().await);
    let anns = create(&ann, "Mail", &["mail"], None).await;
    let bobs = create(&bob, "Mail", &["mail"], None).await;
    let ann_dn = dn(&ann.email, "mail");
    // Ann's mail client has signed in before: its password is in the cache.
    assert_eq!(
        bind(&app, &ann_dn, anns.password.expose()).await,
        LdapResultCode::Success
    );
    // Every bind comes from the mail server's one address: 10 guesses at Ann, 50 at addresses that are no
    // account, more than the 50 failures a client address may make in 10 minutes.
    let mut conn = LdapConn::connect(app.ldap_address).await;
    let mut answers = Vec::new();
    for i in 0..60 {
        let target = if i < 10 {
            ann_dn.clone()
        } else {
            dn(&format!("guess{i}@example.com"), "mail")
        };
        answers.push(conn.bind(&target, &format!("wrong-guess-{i}")).await);
    }
    assert!(
        answers
            .iter()
            .all(|code| matches!(code, LdapResultCode::InvalidCredentials | LdapResultCode::Busy)),
        "{answers:?}"
    );
    assert!(
        answers[..10].contains(&LdapResultCode::Busy),
        "Ann's account backs off: {answers:?}"
    );
    // Through the same relay, at once:
    assert_eq!(
        bind(&app, &dn(&bob.email, "mail"), bobs.password.expose()).await,
        LdapResultCode::Success,
        "another account is not locked out by the relay's failures"
    );
    assert_eq!(
        bind(&app, &ann_dn, anns.password.expose()).await,
        LdapResultCode::Success,
        "Ann's own mail client still signs in from the cache"
    );
}

#[tokio::test]
async fn fifty_wrong_binds_at_once_for_one_account_cost_at_most_the_free_five_argon2_runs() {
    let app = crate::helpers::spawn_app().await;
    let user = app.new_user().await;
    create(&user, "Mail", &["mail"], None).await;
    let before = app.state.argon2_verifications();
    let address = app.ldap_address;
    let guesses = (0..50).map(|i| {
        let dn = dn(&user.email, "mail");
        async move { LdapConn::connect(address).await.bind(&dn, &format!("guess-{i}")).await }
    });
    let answers = join_all(guesses).await;
    let runs = app.state.argon2_verifications() - before;
    assert!(runs <= 5, "{runs} argon2 runs for 50 concurrent binds");
    let busy = answers.iter().filter(|a| **a == LdapResultCode::Busy).count() as u64;
    assert_eq!(busy, 50 - runs, "{answers:?}");
}

#[tokio::test]
async fn a_message_declared_too_large_or_nested_too_deep_ends_that_connection_only() {
    let app = crate::helpers::spawn_app().await;
    // A SEQUENCE declaring 2 GB: refused from its first bytes, never buffered.
    let mut huge = LdapConn::connect(app.ldap_address).await;
    huge.send_raw(&[0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01])
        .await;
    let notice = huge.receive().await.expect("a notice of disconnection");
    assert!(matches!(notice.op, LdapOp::ExtendedResponse(_)), "{notice:?}");
    assert!(huge.receive().await.is_none());
    // Thousands of nested sequences in 12 KiB: refused without recursing into them.
    let mut deep = vec![0x02, 0x01, 0x05];
    while deep.len() < 12 * 1024 {
        let len = deep.len();
        let mut outer = if len < 0x80 {
            vec![0x30, len as u8]
        } else {
            vec![0x30, 0x82, (len >> 8) as u8, len as u8]
        };
        outer.extend(deep);
        deep = outer;
    }
    let mut nested = LdapConn::connect(app.ldap_address).await;
    nested.send_raw(&deep).await;
    let notice = nested.receive().await.expect("a notice of disconnection");
    assert!(matches!(notice.op, LdapOp::ExtendedResponse(_)), "{notice:?}");
    assert!(nested.receive().await.is_none());
    // The server goes on.
    assert_eq!(
        LdapConn::connect(app.ldap_address).await.bind("", "").await,
        LdapResultCode::Success
    );
}

#[tokio::test]
async fn a_peer_that_is_no_relay_is_counted_by_its_address() {
    let app = crate::helpers::spawn_app().await;
    let bob = app.new_user().await;
    let bobs = create(&bob, "Mail", &["mail"], None).await;
    // This listener names no relay: 127.0.0.1 is a client like any other.
    let at = app.server().start_ldap("").await.unwrap();
    let mut conn = LdapConn::connect(at).await;
    for i in 0..55 {
        conn.bind(&dn(&format!("guess{i}@example.com"), "mail"), "wrong-guess")
            .await;
    }
    // 50 failures from one address in 10 minutes: that address waits, whoever it names.
    assert_eq!(
        LdapConn::connect(at)
            .await
            .bind(&dn(&bob.email, "mail"), bobs.password.expose())
            .await,
        LdapResultCode::Busy
    );
}
