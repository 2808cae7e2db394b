//! The throttle's rules, one at a time, on a clock the tests set; each rule on both kinds of counts: in
//! memory, and in a database (a SQLite file here; the server's integration tests run them on PostgreSQL).

use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Runs a rule, written as `async fn rule(throttle: Throttle)`, once on each kind of counts.
macro_rules! on_both {
    ($($rule:ident),* $(,)?) => {$(
        mod $rule {
            #[tokio::test]
            async fn in_memory() {
                super::$rule(super::Throttle::default()).await;
            }

            #[tokio::test]
            async fn in_the_database() {
                let (throttle, _dir) = super::in_database().await;
                super::$rule(throttle).await;
            }
        }
    )*};
}

on_both!(
    five_failures_are_free_then_the_wait_doubles,
    the_wait_stops_growing_at_fifteen_minutes,
    a_stranger_guessing_elsewhere_does_not_delay_the_owner,
    the_daily_cap_counts_failures_from_every_address,
    one_address_is_limited_across_accounts_and_the_limit_decays,
    ipv6_clients_count_by_their_64,
    success_clears_the_account_but_not_the_address,
    scopes_are_counted_separately,
    attempts_in_flight_count_as_failures_past_the_free_allowance,
    an_attempt_dropped_unsettled_is_a_failure_and_one_not_tried_is_not,
);

async fn in_database() -> (Throttle, tempfile::TempDir) {
    let (store, dir) = crate::store::temporary().await;
    (Throttle::in_database(store), dir)
}

const IP_A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const IP_B: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));

fn email(name: &str) -> Email {
    Email::parse(&format!("{name}@example.com")).unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

async fn fail(throttle: &Throttle, who: &Email, ip: IpAddr, now: DateTime<Utc>) {
    throttle
        .reserve(Kind::SignIn, Some(who), Some(ip), now)
        .await
        .unwrap()
        .failed()
        .await;
}

async fn refused(throttle: &Throttle, who: &Email, ip: IpAddr, now: DateTime<Utc>) -> Option<RetryAfter> {
    match throttle.reserve(Kind::SignIn, Some(who), Some(ip), now).await {
        Ok(attempt) => {
            attempt.not_tried().await;
            None
        }
        Err(Refused::Wait(wait)) => Some(wait),
        Err(Refused::Store(e)) => panic!("{e}"),
    }
}

async fn five_failures_are_free_then_the_wait_doubles(throttle: Throttle) {
    let a = email("a");
    let mut now = t0();
    for _ in 0..5 {
        fail(&throttle, &a, IP_A, now).await;
    }
    for expected in [1, 2, 4, 8] {
        assert_eq!(refused(&throttle, &a, IP_A, now).await, Some(RetryAfter(expected)));
        now += Duration::seconds(expected as i64);
        fail(&throttle, &a, IP_A, now).await;
    }
}

async fn the_wait_stops_growing_at_fifteen_minutes(throttle: Throttle) {
    let a = email("a");
    let mut now = t0();
    for _ in 0..25 {
        fail(&throttle, &a, IP_A, now).await;
        now += Duration::minutes(15);
    }
    assert_eq!(
        refused(&throttle, &a, IP_A, now - Duration::minutes(15)).await,
        Some(RetryAfter(900))
    );
}

async fn a_stranger_guessing_elsewhere_does_not_delay_the_owner(throttle: Throttle) {
    let a = email("a");
    for _ in 0..20 {
        if let Ok(attempt) = throttle.reserve(Kind::SignIn, Some(&a), Some(IP_B), t0()).await {
            attempt.failed().await;
        }
    }
    assert!(refused(&throttle, &a, IP_B, t0()).await.is_some());
    assert_eq!(refused(&throttle, &a, IP_A, t0()).await, None);
}

async fn the_daily_cap_counts_failures_from_every_address(throttle: Throttle) {
    let a = email("a");
    // 100 failures over 25 addresses, four each: within every address's free allowance.
    for i in 0..100u8 {
        fail(&throttle, &a, IpAddr::V4(Ipv4Addr::new(203, 0, 113, i / 4)), t0()).await;
    }
    assert_eq!(refused(&throttle, &a, IP_A, t0()).await, Some(RetryAfter(24 * 3600)));
    assert_eq!(refused(&throttle, &a, IP_A, t0() + DAY).await, None);
}

async fn one_address_is_limited_across_accounts_and_the_limit_decays(throttle: Throttle) {
    for i in 0..ADDRESS_LIMIT {
        fail(&throttle, &email(&format!("user{i}")), IP_A, t0()).await;
    }
    let someone = email("someone");
    assert_eq!(refused(&throttle, &someone, IP_A, t0()).await, Some(RetryAfter(601)));
    assert!(refused(&throttle, &someone, IP_A, t0() + ADDRESS_WINDOW)
        .await
        .is_some());
    assert_eq!(
        refused(&throttle, &someone, IP_A, t0() + ADDRESS_WINDOW + Duration::seconds(1)).await,
        None
    );
    assert_eq!(
        refused(&throttle, &someone, IP_B, t0()).await,
        None,
        "other addresses are not affected"
    );
}

async fn ipv6_clients_count_by_their_64(throttle: Throttle) {
    let a = email("a");
    for host in 1..=5u16 {
        fail(
            &throttle,
            &a,
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, host)),
            t0(),
        )
        .await;
    }
    let same_64 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0xffff, 0, 0, 99));
    let next_64 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1));
    assert!(refused(&throttle, &a, same_64, t0()).await.is_some());
    assert_eq!(refused(&throttle, &a, next_64, t0()).await, None);
}

async fn success_clears_the_account_but_not_the_address(throttle: Throttle) {
    let owner = throttle
        .reserve(Kind::SignIn, Some(&email("user0")), Some(IP_A), t0())
        .await
        .unwrap();
    for i in 1..ADDRESS_LIMIT {
        fail(&throttle, &email(&format!("user{i}")), IP_A, t0()).await;
    }
    owner.succeeded().await;
    fail(&throttle, &email("one-more"), IP_A, t0()).await;
    assert!(refused(&throttle, &email("someone-else"), IP_A, t0()).await.is_some());
}

async fn scopes_are_counted_separately(throttle: Throttle) {
    let a = email("a");
    for _ in 0..5 {
        fail(&throttle, &a, IP_A, t0()).await;
    }
    assert!(refused(&throttle, &a, IP_A, t0()).await.is_some());
    assert!(throttle
        .reserve(Kind::AppSignIn, Some(&a), Some(IP_A), t0())
        .await
        .is_ok());
}

async fn attempts_in_flight_count_as_failures_past_the_free_allowance(throttle: Throttle) {
    let a = email("a");
    let mut in_flight = Vec::new();
    for _ in 0..5 {
        in_flight.push(
            throttle
                .reserve(Kind::SignIn, Some(&a), Some(IP_A), t0())
                .await
                .unwrap(),
        );
    }
    assert_eq!(refused(&throttle, &a, IP_A, t0()).await, Some(RetryAfter(1)));
    let mut in_flight = in_flight.into_iter();
    in_flight.next().unwrap().succeeded().await;
    assert_eq!(
        refused(&throttle, &a, IP_A, t0()).await,
        None,
        "a success frees a place"
    );
}

async fn an_attempt_dropped_unsettled_is_a_failure_and_one_not_tried_is_not(throttle: Throttle) {
    let a = email("a");
    for _ in 0..10 {
        throttle
            .reserve(Kind::SignIn, Some(&a), Some(IP_A), t0())
            .await
            .unwrap()
            .not_tried()
            .await;
    }
    for _ in 0..5 {
        drop(
            throttle
                .reserve(Kind::SignIn, Some(&a), Some(IP_A), t0())
                .await
                .unwrap(),
        );
    }
    assert_eq!(refused(&throttle, &a, IP_A, t0()).await, Some(RetryAfter(1)));
    // Settled as failures (in the database, by a task of their own): one more makes six, and the wait 2 s.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let later = t0() + Duration::seconds(1);
    fail(&throttle, &a, IP_A, later).await;
    assert_eq!(refused(&throttle, &a, IP_A, later).await, Some(RetryAfter(2)));
}

#[tokio::test]
async fn a_flood_of_new_accounts_and_addresses_stays_within_the_capacity() {
    let throttle = Throttle::with_capacity(1_000);
    for i in 0..20_000u32 {
        let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        fail(&throttle, &email(&format!("flood{i}")), ip, t0()).await;
    }
    let len = throttle.len();
    assert!(len <= 1_000, "{len} entries");
}

#[tokio::test]
async fn the_table_knows_accounts_only_by_a_hash() {
    let throttle = Throttle::default();
    fail(&throttle, &email("ann"), IP_A, t0()).await;
    let Counts::Memory(entries) = &throttle.counts else {
        unreachable!("the default throttle counts in memory")
    };
    let entries = entries.lock().unwrap();
    let keys = format!("{:?}", entries.iter().map(|(k, _)| *k).collect::<Vec<_>>());
    assert!(!keys.contains("ann"), "{keys}");
    assert!(keys.contains("DailyCap"), "{keys}");
}

#[tokio::test]
async fn the_database_knows_accounts_only_by_a_hash_and_keeps_no_empty_counts() {
    let (throttle, _dir) = in_database().await;
    let Counts::Database(store) = &throttle.counts else {
        unreachable!()
    };
    fail(&throttle, &email("ann"), IP_A, t0()).await;
    let keys = store.throttle_keys().await.unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(keys.iter().all(|k| !k.contains("ann")), "{keys:?}");
    let ok = throttle
        .reserve(Kind::SignIn, Some(&email("bob")), Some(IP_B), t0())
        .await
        .unwrap();
    ok.succeeded().await;
    assert_eq!(
        store.throttle_keys().await.unwrap(),
        keys,
        "a success leaves nothing behind"
    );
}

#[tokio::test]
async fn a_reservation_an_instance_left_behind_is_forgotten_after_a_minute() {
    let (throttle, _dir) = in_database().await;
    let a = email("a");
    for _ in 0..5 {
        // As if the instance holding them stopped: never settled, never dropped.
        std::mem::forget(
            throttle
                .reserve(Kind::SignIn, Some(&a), Some(IP_A), t0())
                .await
                .unwrap(),
        );
    }
    assert_eq!(refused(&throttle, &a, IP_A, t0()).await, Some(RetryAfter(1)));
    assert_eq!(refused(&throttle, &a, IP_A, t0() + IN_FLIGHT_FORGOTTEN).await, None);
}
