//! A right app-specific password refused for a scope it may not reach is an audit line, at most one a minute
//! per password and scope, as app sign-ins are.

use chrono::Duration;
use keyturn_protocol::{ErrorCode, Scope};

use crate::admin_cli::run::{admin, stdout};
use crate::helpers::{create_shared_request, new_key, shared_verifier, spawn_app, Refusal, TestApp};

const REFUSED: &str = "app sign-in refused for scope";

/// The details of the account's scope refusals, oldest first.
fn refusals(app: &TestApp, email: &str) -> Vec<String> {
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&admin(app.db_arg(), &["audit", email, "--json"]))).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == REFUSED)
        .map(|e| {
            assert_eq!(e["client_addr"], "127.0.0.1");
            e["detail"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_password_refused_for_a_scope_is_audited_once_a_minute() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let mut request = create_shared_request("Mail on laptop");
    request.scopes = Some(vec!["mail".to_owned()]);
    user.session.send_create(&request, &new_key()).await.unwrap();
    let (password, _) = shared_verifier();
    let ask = |scope| app.client.whoami_for(&user.email, password.expose(), Some(scope));

    assert_eq!(ask(Scope::Files).await.refused(), Some(ErrorCode::InsufficientScope));
    // A client asking again within the minute writes nothing more.
    assert_eq!(ask(Scope::Files).await.refused(), Some(ErrorCode::InsufficientScope));
    assert_eq!(refusals(&app, &user.email), ["Mail on laptop asked for files"]);
    // Another scope is another story.
    assert_eq!(
        ask(Scope::Calendars).await.refused(),
        Some(ErrorCode::InsufficientScope)
    );
    app.clock.advance(Duration::minutes(1));
    assert_eq!(ask(Scope::Files).await.refused(), Some(ErrorCode::InsufficientScope));
    assert_eq!(
        refusals(&app, &user.email),
        [
            "Mail on laptop asked for files",
            "Mail on laptop asked for calendars",
            "Mail on laptop asked for files"
        ]
    );
    // What it may reach is no refusal.
    ask(Scope::Mail).await.unwrap();
    assert_eq!(refusals(&app, &user.email).len(), 3);
}
