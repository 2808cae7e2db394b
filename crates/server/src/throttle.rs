//! Throttling of failed sign-ins: per account and per client IP, for the primary sign-in and third-party
//! sign-in separately.
//!
//! A few failures are free; after that each failure doubles the wait before the next attempt (1 s, 2 s, 4 s …
//! up to 15 minutes), answered with 429 and `Retry-After`. Independently, an account takes at most 100
//! consecutive failures in 24 hours (NIST SP 800-63B §5.2.2), then waits out the day. A success clears the
//! account's count. State is in memory: a restart forgives, which an attacker cannot cause.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use keyturn_protocol::Email;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    SignIn,
    AppAuth,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Subject {
    Account(Email),
    Ip(IpAddr),
}

struct Policy {
    free_failures: u32,
    max_delay: Duration,
    daily_cap: Option<u32>,
}

/// Per account: 5 free, then the doubling delay, and the daily cap.
const ACCOUNT: Policy = Policy {
    free_failures: 5,
    max_delay: Duration::minutes(15),
    daily_cap: Some(DAILY_CAP),
};
/// Per IP: more room, since many people can share one address.
const IP: Policy = Policy {
    free_failures: 20,
    max_delay: Duration::minutes(15),
    daily_cap: None,
};
const DAILY_CAP: u32 = 100;
const DAY: Duration = Duration::hours(24);
/// Beyond this many tracked subjects, stale ones are dropped.
const PRUNE_AT: usize = 100_000;

#[derive(Clone)]
struct Entry {
    consecutive: u32,
    last_failure: DateTime<Utc>,
    window_start: DateTime<Utc>,
    window_failures: u32,
}

impl Entry {
    /// When the next attempt is allowed, if later than `now`.
    fn blocked_until(&self, policy: &Policy, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut until = None;
        if self.consecutive >= policy.free_failures {
            let doublings = (self.consecutive - policy.free_failures).min(20);
            let delay = Duration::seconds(1i64 << doublings).min(policy.max_delay);
            until = Some(self.last_failure + delay);
        }
        if let Some(cap) = policy.daily_cap {
            if self.window_failures >= cap && now < self.window_start + DAY {
                until = until.max(Some(self.window_start + DAY));
            }
        }
        until.filter(|t| *t > now)
    }
}

#[derive(Default)]
pub struct Throttle {
    entries: Mutex<HashMap<(Scope, Subject), Entry>>,
}

/// Seconds to wait, rounded up, as sent in `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

impl Throttle {
    /// `Err` with the wait if either the account or the address must wait. `email` is `None` when the
    /// request named no valid address: only the client's address is counted then.
    pub fn check(&self, scope: Scope, email: Option<&Email>, ip: IpAddr, now: DateTime<Utc>) -> Result<(), RetryAfter> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let until = subjects(email, ip)
            .into_iter()
            .filter_map(|(subject, policy)| entries.get(&(scope, subject))?.blocked_until(policy, now))
            .max();
        match until {
            Some(until) => {
                let millis = (until - now).num_milliseconds().max(1);
                Err(RetryAfter(u64::try_from((millis + 999) / 1000).unwrap_or(1)))
            }
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, scope: Scope, email: Option<&Email>, ip: IpAddr, now: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() > PRUNE_AT {
            entries.retain(|_, e| now - e.last_failure < DAY);
        }
        for (subject, _) in subjects(email, ip) {
            let entry = entries.entry((scope, subject)).or_insert(Entry {
                consecutive: 0,
                last_failure: now,
                window_start: now,
                window_failures: 0,
            });
            if now >= entry.window_start + DAY {
                entry.window_start = now;
                entry.window_failures = 0;
            }
            entry.consecutive += 1;
            entry.window_failures += 1;
            entry.last_failure = now;
        }
    }

    /// A correct password clears the account's failures (not the address's: one good account must not
    /// unlock guessing at others).
    pub fn record_success(&self, scope: Scope, email: &Email) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.remove(&(scope, Subject::Account(email.clone())));
    }
}

/// Whom an attempt counts against, each with its policy.
fn subjects(email: Option<&Email>, ip: IpAddr) -> Vec<(Subject, &'static Policy)> {
    let account = email.map(|email| (Subject::Account(email.clone()), &ACCOUNT));
    account.into_iter().chain([(Subject::Ip(ip), &IP)]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const IP_A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    fn email(name: &str) -> Email {
        Email::parse(&format!("{name}@example.com")).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn five_failures_are_free_then_the_wait_doubles() {
        let throttle = Throttle::default();
        let a = email("a");
        let mut now = t0();
        for _ in 0..5 {
            assert_eq!(throttle.check(Scope::SignIn, Some(&a), IP_A, now), Ok(()));
            throttle.record_failure(Scope::SignIn, Some(&a), IP_A, now);
        }
        for expected in [1, 2, 4, 8] {
            assert_eq!(
                throttle.check(Scope::SignIn, Some(&a), IP_A, now),
                Err(RetryAfter(expected))
            );
            now += Duration::seconds(expected as i64);
            assert_eq!(throttle.check(Scope::SignIn, Some(&a), IP_A, now), Ok(()));
            throttle.record_failure(Scope::SignIn, Some(&a), IP_A, now);
        }
    }

    #[test]
    fn the_wait_stops_growing_at_fifteen_minutes() {
        let throttle = Throttle::default();
        let a = email("a");
        let now = t0();
        for _ in 0..40 {
            throttle.record_failure(Scope::SignIn, Some(&a), IP_A, now);
        }
        assert_eq!(throttle.check(Scope::SignIn, Some(&a), IP_A, now), Err(RetryAfter(900)));
    }

    #[test]
    fn scopes_are_counted_separately() {
        let throttle = Throttle::default();
        let a = email("a");
        for _ in 0..10 {
            throttle.record_failure(Scope::SignIn, Some(&a), IP_A, t0());
        }
        assert_eq!(throttle.check(Scope::AppAuth, Some(&a), IP_A, t0()), Ok(()));
    }

    #[test]
    fn success_clears_the_account_but_not_the_address() {
        let throttle = Throttle::default();
        for i in 0..25 {
            throttle.record_failure(Scope::SignIn, Some(&email(&format!("user{i}"))), IP_A, t0());
        }
        throttle.record_success(Scope::SignIn, &email("user0"));
        assert!(throttle
            .check(Scope::SignIn, Some(&email("someone-else")), IP_A, t0())
            .is_err());
    }
}
