//! `whoami` as a reverse proxy's auth check (nginx `auth_request`, Traefik or Caddy forward auth): the account
//! in a header, a prompt on 401, a limit that never fails open, and a relay that is not the user.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use keyturn_client::AppPasswordOptions;
use keyturn_protocol::Scopes;

use crate::helpers::{ann_signed_in, spawn_app};

/// `whoami` as a proxy asks it: Basic credentials, `?scope=` if any, the end client in `X-Forwarded-For`.
async fn ask(
    base_url: &str,
    email: &str,
    password: &str,
    scope: Option<&str>,
    client: Option<&str>,
) -> reqwest::Response {
    let query = scope.map(|s| format!("?scope={s}")).unwrap_or_default();
    let basic = STANDARD.encode(format!("{email}:{password}"));
    let mut request = reqwest::Client::new()
        .get(format!("{base_url}/v1/app-auth/whoami{query}"))
        .header("authorization", format!("Basic {basic}"));
    if let Some(client) = client {
        request = request.header("x-forwarded-for", client);
    }
    request.send().await.unwrap()
}

fn only(names: &[&str]) -> AppPasswordOptions {
    AppPasswordOptions {
        scopes: Scopes::parse(names).unwrap(),
        expires_in_days: None,
    }
}

#[tokio::test]
async fn a_200_names_the_account_and_a_401_asks_for_basic_credentials() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let calendars = user
        .session
        .create_app_password_with_options("Phone calendar", only(&["calendars"]))
        .await
        .unwrap();
    let url = app.url("");
    let typed = user.email.to_uppercase();
    let ok = ask(&url, &typed, calendars.password.expose(), Some("calendars"), None).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.headers()["keyturn-account"],
        user.email.as_str(),
        "the canonical email, not as typed"
    );

    let wrong = ask(&url, &user.email, "abcd-efgh-ijkl-mnop", Some("calendars"), None).await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.headers()["www-authenticate"], "Basic realm=\"keyturn\"");
    assert!(wrong.headers().get("keyturn-account").is_none());

    let out_of_scope = ask(&url, &user.email, calendars.password.expose(), Some("mail"), None).await;
    assert_eq!(out_of_scope.status(), 403);
    assert!(out_of_scope.headers().get("keyturn-account").is_none());
}

#[tokio::test]
async fn a_limited_password_is_refused_without_a_scope_and_an_unlimited_one_is_not() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let url = app.url("");
    let mail = user
        .session
        .create_app_password_with_options("Mail", only(&["mail"]))
        .await
        .unwrap();
    let everything = user.session.create_app_password("Everything").await.unwrap();
    let refused = ask(&url, &user.email, mail.password.expose(), None, None).await;
    assert_eq!(refused.status(), 403, "a limit fails closed");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "insufficient_scope");
    assert_eq!(
        ask(&url, &user.email, everything.password.expose(), None, None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn sixty_wrong_passwords_through_a_relay_lock_out_neither_another_account_nor_the_owners_app() {
    let server = crate::proxies::proxied_server().await;
    let (_, ann) = ann_signed_in(&server).await;
    let anns = ann.create_app_password("Mail").await.unwrap();
    server
        .add_account("bob@example.com", crate::helpers::PASSWORD)
        .await
        .unwrap();
    let bob = keyturn_client::Client::new(&server.url).unwrap().session(
        keyturn_client::Client::new(&server.url)
            .unwrap()
            .sign_in("bob@example.com", &crate::helpers::secret(crate::helpers::PASSWORD))
            .await
            .unwrap()
            .token,
    );
    let bobs = bob.create_app_password("Mail").await.unwrap();
    let url = server.url.clone();
    // Ann's phone has signed in through the relay before.
    let phone = Some("203.0.113.7");
    assert_eq!(
        ask(&url, "ann@example.com", anns.password.expose(), None, phone)
            .await
            .status(),
        200
    );
    // One guesser behind the relay: 10 guesses at Ann, 50 at addresses that are no account, more than the 50
    // failures one client address may make in 10 minutes.
    let mut statuses = Vec::new();
    for i in 0..60 {
        let (other, guess) = (format!("guess{i}@example.com"), format!("wrong-guess-{i}"));
        let email = if i < 10 { "ann@example.com" } else { other.as_str() };
        statuses.push(
            ask(&url, email, &guess, None, Some("198.51.100.66"))
                .await
                .status()
                .as_u16(),
        );
    }
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");
    assert!(statuses.contains(&429), "the guesser is slowed down: {statuses:?}");
    // Through the same relay, at once: Bob from his own address, and Ann's phone from the cache.
    assert_eq!(
        ask(
            &url,
            "bob@example.com",
            bobs.password.expose(),
            None,
            Some("192.0.2.44")
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        ask(&url, "ann@example.com", anns.password.expose(), None, phone)
            .await
            .status(),
        200
    );
    // X-Real-IP, as nginx sets it, names the client too: the guesser's address is still the guesser's.
    let real_ip = reqwest::Client::new()
        .get(format!("{url}/v1/app-auth/whoami"))
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode("ann@example.com:abcd-efgh-ijkl-mnop")),
        )
        .header("x-real-ip", "198.51.100.66")
        .send()
        .await
        .unwrap();
    assert_eq!(real_ip.status(), 429);
}
