//! Labels: the rules they break and what makes two the same.

use keyturn_protocol::ErrorCode;

use crate::helpers::{create_request, new_key, spawn_app, Refusal};

#[tokio::test]
async fn full_width_letters_do_not_make_a_second_label() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    user.session
        .send_create(&create_request("mail"), &new_key())
        .await
        .unwrap();
    let wide = user.session.send_create(&create_request("Ｍａｉｌ"), &new_key()).await;
    assert_eq!(wide.refused(), Some(ErrorCode::DuplicateLabel));
}

#[tokio::test]
async fn a_label_that_case_folds_to_another_is_a_duplicate() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    user.session
        .send_create(&create_request("Straße"), &new_key())
        .await
        .unwrap();
    let upper = user.session.send_create(&create_request("STRASSE"), &new_key()).await;
    assert_eq!(upper.refused(), Some(ErrorCode::DuplicateLabel), "ß folds to ss");
}

#[tokio::test]
async fn labels_are_unique_per_account_regardless_of_case() {
    let app = spawn_app().await;
    let ann = app.new_user().await;
    let bob = app.new_user().await;
    ann.session
        .send_create(&create_request("Thunderbird"), &new_key())
        .await
        .unwrap();
    let result = ann
        .session
        .send_create(&create_request("  THUNDERBIRD "), &new_key())
        .await;
    assert_eq!(result.refused(), Some(ErrorCode::DuplicateLabel));
    assert!(
        bob.session
            .send_create(&create_request("Thunderbird"), &new_key())
            .await
            .is_ok(),
        "other accounts may"
    );
    ann.session.revoke_all().await.unwrap();
    assert!(
        ann.session
            .send_create(&create_request("Thunderbird"), &new_key())
            .await
            .is_ok(),
        "revoked ones free it"
    );
}

#[tokio::test]
async fn bad_labels_are_rejected_with_the_rule_they_broke() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for (label, says) in [
        ("   ", "Enter a label"),
        (&*"x".repeat(61), "at most 60"),
        ("Mail\nclient", "control"),
        ("Mail\u{202E}kcatta", "invisible"),
    ] {
        match user.session.send_create(&create_request(label), &new_key()).await {
            Err(keyturn_client::Error::Api(failure)) if failure.code == ErrorCode::InvalidLabel => {
                assert!(failure.message.contains(says), "{}", failure.message);
            }
            other => panic!("{label:?}: {other:?}"),
        }
    }
}
