use chrono::{Duration, TimeZone};

use super::*;

fn row(expires_at: Option<DateTime<Utc>>, revoked_at: Option<DateTime<Utc>>) -> AppPasswordRow {
    AppPasswordRow {
        id: AppPasswordId::new("p1"),
        label: "Mail".to_owned(),
        scopes: Scopes::EVERYTHING,
        created_at: start(),
        last_used_at: None,
        expires_at,
        revoked_at,
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

#[test]
fn a_row_is_active_until_it_expires_or_is_revoked() {
    let end = start() + Duration::days(30);
    let now = start() + Duration::days(1);
    assert_eq!(row(None, None).state(now), "active");
    assert_eq!(row(Some(end), None).state(now), "active");
    // Past its end but not yet marked: expired all the same.
    assert_eq!(row(Some(end), None).state(end), "expired");
    assert_eq!(row(Some(end), Some(end)).state(end + Duration::days(1)), "expired");
    assert_eq!(row(Some(end), Some(now)).state(end + Duration::days(1)), "revoked");
    assert_eq!(row(None, Some(now)).state(now), "revoked");
}
