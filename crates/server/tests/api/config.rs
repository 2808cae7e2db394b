use keyturn_protocol::VerifierParams;

use crate::helpers::spawn_app;

#[tokio::test]
async fn config_advertises_the_verifier_parameters_and_the_limit() {
    let app = spawn_app().await;
    let config = app.client.config().await.unwrap();
    assert_eq!(
        config.verifier_params,
        VerifierParams {
            m_cost: 19_456,
            t_cost: 2,
            p_cost: 1
        }
    );
    assert_eq!(config.max_app_passwords, 25);
}

#[tokio::test]
async fn an_unknown_path_answers_a_json_error() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/v1/nothing-here")).await.unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["message"], "No such endpoint.");
}

#[tokio::test]
async fn a_body_over_16_kib_is_rejected_with_413() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let huge = serde_json::json!({"label": "x".repeat(17 * 1024), "verifier": "v", "lookup_tag": "t"});
    let response = reqwest::Client::new()
        .post(app.url("/v1/app-passwords"))
        .bearer_auth(&user.token)
        .header("Idempotency-Key", "k")
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
}
