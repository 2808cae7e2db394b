//! The throttle's rules, one at a time, on a clock the tests set.

use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

const IP_A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const IP_B: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));

fn email(name: &str) -> Email {
    Email::parse(&format!("{name}@example.com")).unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn fail(throttle: &Throttle, who: &Email, ip: IpAddr, now: DateTime<Utc>) {
    throttle.reserve(Scope::SignIn, Some(who), ip, now).unwrap().failed();
}

fn refused(throttle: &Throttle, who: &Email, ip: IpAddr, now: DateTime<Utc>) -> Option<RetryAfter> {
    let attempt = throttle.reserve(Scope::SignIn, Some(who), ip, now);
    attempt.map(Attempt::not_tried).err()
}

#[test]
fn five_failures_are_free_then_the_wait_doubles() {
    let throttle = Throttle::default();
    let a = email("a");
    let mut now = t0();
    for _ in 0..5 {
        fail(&throttle, &a, IP_A, now);
    }
    for expected in [1, 2, 4, 8] {
        assert_eq!(refused(&throttle, &a, IP_A, now), Some(RetryAfter(expected)));
        now += Duration::seconds(expected as i64);
        fail(&throttle, &a, IP_A, now);
    }
}

#[test]
fn the_wait_stops_growing_at_fifteen_minutes() {
    let throttle = Throttle::default();
    let a = email("a");
    let mut now = t0();
    for _ in 0..25 {
        fail(&throttle, &a, IP_A, now);
        now += Duration::minutes(15);
    }
    assert_eq!(
        refused(&throttle, &a, IP_A, now - Duration::minutes(15)),
        Some(RetryAfter(900))
    );
}

#[test]
fn a_stranger_guessing_elsewhere_does_not_delay_the_owner() {
    let throttle = Throttle::default();
    let a = email("a");
    for _ in 0..20 {
        let _ = throttle
            .reserve(Scope::SignIn, Some(&a), IP_B, t0())
            .map(Attempt::failed);
    }
    assert!(refused(&throttle, &a, IP_B, t0()).is_some());
    assert_eq!(refused(&throttle, &a, IP_A, t0()), None);
}

#[test]
fn the_daily_cap_counts_failures_from_every_address() {
    let throttle = Throttle::default();
    let a = email("a");
    // 100 failures over 25 addresses, four each: within every address's free allowance.
    for i in 0..100u8 {
        fail(&throttle, &a, IpAddr::V4(Ipv4Addr::new(203, 0, 113, i / 4)), t0());
    }
    assert_eq!(refused(&throttle, &a, IP_A, t0()), Some(RetryAfter(24 * 3600)));
    assert_eq!(refused(&throttle, &a, IP_A, t0() + DAY), None);
}

#[test]
fn one_address_is_limited_across_accounts_and_the_limit_decays() {
    let throttle = Throttle::default();
    for i in 0..ADDRESS_LIMIT {
        fail(&throttle, &email(&format!("user{i}")), IP_A, t0());
    }
    let someone = email("someone");
    assert_eq!(refused(&throttle, &someone, IP_A, t0()), Some(RetryAfter(601)));
    assert!(refused(&throttle, &someone, IP_A, t0() + ADDRESS_WINDOW).is_some());
    assert_eq!(
        refused(&throttle, &someone, IP_A, t0() + ADDRESS_WINDOW + Duration::seconds(1)),
        None
    );
    assert_eq!(
        refused(&throttle, &someone, IP_B, t0()),
        None,
        "other addresses are not affected"
    );
}

#[test]
fn ipv6_clients_count_by_their_64() {
    let throttle = Throttle::default();
    let a = email("a");
    for host in 1..=5u16 {
        fail(
            &throttle,
            &a,
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, host)),
            t0(),
        );
    }
    let same_64 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0xffff, 0, 0, 99));
    let next_64 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1));
    assert!(refused(&throttle, &a, same_64, t0()).is_some());
    assert_eq!(refused(&throttle, &a, next_64, t0()), None);
}

#[test]
fn success_clears_the_account_but_not_the_address() {
    let throttle = Throttle::default();
    let owner = throttle
        .reserve(Scope::SignIn, Some(&email("user0")), IP_A, t0())
        .unwrap();
    for i in 1..ADDRESS_LIMIT {
        fail(&throttle, &email(&format!("user{i}")), IP_A, t0());
    }
    owner.succeeded();
    fail(&throttle, &email("one-more"), IP_A, t0());
    assert!(refused(&throttle, &email("someone-else"), IP_A, t0()).is_some());
}

#[test]
fn scopes_are_counted_separately() {
    let throttle = Throttle::default();
    let a = email("a");
    for _ in 0..5 {
        fail(&throttle, &a, IP_A, t0());
    }
    assert!(refused(&throttle, &a, IP_A, t0()).is_some());
    assert!(throttle.reserve(Scope::AppAuth, Some(&a), IP_A, t0()).is_ok());
}

#[test]
fn attempts_in_flight_count_as_failures_past_the_free_allowance() {
    let throttle = Throttle::default();
    let a = email("a");
    let in_flight: Vec<_> = (0..5)
        .map(|_| throttle.reserve(Scope::SignIn, Some(&a), IP_A, t0()).unwrap())
        .collect();
    assert_eq!(refused(&throttle, &a, IP_A, t0()), Some(RetryAfter(1)));
    let mut in_flight = in_flight.into_iter();
    in_flight.next().unwrap().succeeded();
    assert_eq!(refused(&throttle, &a, IP_A, t0()), None, "a success frees a place");
}

#[test]
fn an_attempt_dropped_unsettled_is_a_failure_and_one_not_tried_is_not() {
    let throttle = Throttle::default();
    let a = email("a");
    for _ in 0..10 {
        throttle
            .reserve(Scope::SignIn, Some(&a), IP_A, t0())
            .unwrap()
            .not_tried();
    }
    for _ in 0..5 {
        drop(throttle.reserve(Scope::SignIn, Some(&a), IP_A, t0()).unwrap());
    }
    assert_eq!(refused(&throttle, &a, IP_A, t0()), Some(RetryAfter(1)));
}

#[test]
fn a_flood_of_new_accounts_and_addresses_stays_within_the_capacity() {
    let throttle = Throttle::with_capacity(1_000);
    for i in 0..20_000u32 {
        let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        fail(&throttle, &email(&format!("flood{i}")), ip, t0());
    }
    let len = throttle.len();
    assert!(len <= 1_000, "{len} entries");
}

#[test]
fn the_table_knows_accounts_only_by_a_hash() {
    let throttle = Throttle::default();
    fail(&throttle, &email("ann"), IP_A, t0());
    let entries = throttle.entries.lock().unwrap();
    let keys = format!("{:?}", entries.iter().map(|(k, _)| *k).collect::<Vec<_>>());
    assert!(!keys.contains("ann"), "{keys}");
    assert!(keys.contains("DailyCap"), "{keys}");
}
