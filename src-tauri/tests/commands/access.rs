use serde_json::json;

use crate::helpers::{dead_url, TestApp};

#[test]
fn the_window_may_call_only_keyturns_own_commands() {
    let app = TestApp::new(&dead_url());
    for (command, args) in [
        ("plugin:window|close", json!({"label": "main"})),
        ("plugin:event|emit", json!({"event": "x", "payload": null})),
        ("plugin:webview|print", json!({"label": "main"})),
    ] {
        let error = app.invoke(command, args).unwrap_err();
        assert!(
            error.as_str().is_some_and(|e| e.contains("not allowed")),
            "{command}: {error}"
        );
    }
    assert!(
        app.invoke("app_info", json!({})).is_ok(),
        "the app's own commands are granted"
    );
}
