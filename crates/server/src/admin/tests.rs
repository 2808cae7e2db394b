use chrono::{Duration, TimeZone};
use keyturn_protocol::Verifier;

use super::*;
use crate::session_token::SessionToken;

fn at(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + Duration::hours(hours)
}

async fn listed(store: &Store, now: DateTime<Utc>) -> serde_json::Value {
    let mut out = Vec::new();
    list_sessions(store, "ann@example.com", true, now, &mut out)
        .await
        .unwrap();
    serde_json::from_slice(&out).unwrap()
}

#[tokio::test]
async fn a_session_is_active_until_its_idle_or_absolute_end_then_lapsed() {
    let (store, _dir) = crate::store::temporary().await;
    let email = Email::parse("ann@example.com").unwrap();
    let account = store
        .create_account(&email, &Verifier::from_stored("x".to_owned()), at(0))
        .await
        .unwrap();
    let (_, hash) = SessionToken::issue();
    store
        .insert_session(&hash, &account.id, "curl/8", &account.password, false, at(0))
        .await
        .unwrap();

    assert_eq!(listed(&store, at(1)).await[0]["state"], "active");
    assert_eq!(listed(&store, at(1)).await[0]["client"], "curl/8");
    assert_eq!(listed(&store, at(0) + SESSION_IDLE).await[0]["state"], "lapsed");
    store.touch_session(&hash, at(24 * 6)).await.unwrap();
    assert_eq!(listed(&store, at(24 * 12)).await[0]["state"], "active");
    assert_eq!(listed(&store, at(0) + SESSION_ABSOLUTE).await[0]["state"], "lapsed");
}
