//! Throttling of failed sign-ins: per account and per client IP, for the primary sign-in and third-party
//! sign-in separately.
//!
//! A few failures are free; after that each failure doubles the wait before the next attempt (1 s, 2 s, 4 s …
//! up to 15 minutes), answered with 429 and `Retry-After`. Independently, an account takes at most 100
//! consecutive failures in 24 hours (NIST SP 800-63B §5.2.2), then waits out the day. A success clears the
//! account's count. State is in memory: a restart forgives, which an attacker cannot cause.
//!
//! An attempt [`reserve`](Throttle::reserve)s its place before argon2 runs and counts as a failure until it
//! is settled, so many attempts at once get no more guesses than the same attempts one after another: past
//! the free allowance, only one attempt per subject is in flight at a time.

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
/// Asked of an attempt that arrives while another past the free allowance is still being checked.
const WAIT_FOR_IN_FLIGHT: Duration = Duration::seconds(1);
/// Beyond this many tracked subjects, stale ones are dropped.
const PRUNE_AT: usize = 100_000;

#[derive(Clone)]
struct Entry {
    consecutive: u32,
    /// Attempts reserved and not yet settled; each counts as a failure until it succeeds.
    in_flight: u32,
    last_failure: DateTime<Utc>,
    window_start: DateTime<Utc>,
    window_failures: u32,
}

impl Entry {
    fn new(now: DateTime<Utc>) -> Self {
        Self {
            consecutive: 0,
            in_flight: 0,
            last_failure: now,
            window_start: now,
            window_failures: 0,
        }
    }

    /// When another attempt may start, if later than `now`.
    fn blocked_until(&self, policy: &Policy, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut until = None;
        if self.in_flight > 0 && self.consecutive + self.in_flight >= policy.free_failures {
            until = Some(now + WAIT_FOR_IN_FLIGHT);
        }
        if self.consecutive >= policy.free_failures {
            let doublings = (self.consecutive - policy.free_failures).min(20);
            let delay = Duration::seconds(1i64 << doublings).min(policy.max_delay);
            until = until.max(Some(self.last_failure + delay));
        }
        if let Some(cap) = policy.daily_cap {
            let in_window = now < self.window_start + DAY;
            if in_window && self.window_failures >= cap {
                until = until.max(Some(self.window_start + DAY));
            } else if in_window && self.in_flight > 0 && self.window_failures + self.in_flight >= cap {
                until = until.max(Some(now + WAIT_FOR_IN_FLIGHT));
            }
        }
        until.filter(|t| *t > now)
    }

    fn fail(&mut self, now: DateTime<Utc>) {
        if now >= self.window_start + DAY {
            self.window_start = now;
            self.window_failures = 0;
        }
        self.consecutive += 1;
        self.window_failures += 1;
        self.last_failure = now;
    }

    fn is_clear(&self) -> bool {
        self.consecutive == 0 && self.in_flight == 0
    }
}

#[derive(Default)]
pub struct Throttle {
    entries: Mutex<HashMap<(Scope, Subject), Entry>>,
}

/// Seconds to wait, rounded up, as sent in `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// One attempt's place: a failure until settled. Dropped unsettled (the request failed on the way), it
/// counts as a failure: an error must not be a free guess.
#[must_use = "settle the attempt with succeeded, failed or not_tried"]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    scope: Scope,
    subjects: Vec<Subject>,
    at: DateTime<Utc>,
    settled: bool,
}

enum Outcome {
    Succeeded,
    Failed,
    NotTried,
}

impl Throttle {
    /// Reserves an attempt, or says how long to wait if the account or the address must. `email` is `None`
    /// when the request named no valid address: only the client's address is counted then.
    pub fn reserve(
        &self,
        scope: Scope,
        email: Option<&Email>,
        ip: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<Attempt<'_>, RetryAfter> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let subjects = subjects(email, ip);
        let until = subjects
            .iter()
            .filter_map(|(subject, policy)| entries.get(&(scope, subject.clone()))?.blocked_until(policy, now))
            .max();
        if let Some(until) = until {
            let millis = (until - now).num_milliseconds().max(1);
            return Err(RetryAfter(u64::try_from((millis + 999) / 1000).unwrap_or(1)));
        }
        if entries.len() > PRUNE_AT {
            entries.retain(|_, e| e.in_flight > 0 || now - e.last_failure < DAY);
        }
        for (subject, _) in &subjects {
            entries
                .entry((scope, subject.clone()))
                .or_insert_with(|| Entry::new(now))
                .in_flight += 1;
        }
        Ok(Attempt {
            throttle: self,
            scope,
            subjects: subjects.into_iter().map(|(subject, _)| subject).collect(),
            at: now,
            settled: false,
        })
    }

    fn settle(&self, attempt: &Attempt<'_>, outcome: &Outcome) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        for subject in &attempt.subjects {
            let key = (attempt.scope, subject.clone());
            let Some(entry) = entries.get_mut(&key) else { continue };
            entry.in_flight = entry.in_flight.saturating_sub(1);
            match (outcome, subject) {
                (Outcome::Failed, _) => entry.fail(attempt.at),
                // A correct password clears the account's failures (not the address's: one good account must
                // not unlock guessing at others).
                (Outcome::Succeeded, Subject::Account(_)) => {
                    entry.consecutive = 0;
                    entry.window_failures = 0;
                }
                (Outcome::Succeeded, Subject::Ip(_)) | (Outcome::NotTried, _) => {}
            }
            if entry.is_clear() && entry.window_failures == 0 {
                entries.remove(&key);
            }
        }
    }
}

impl Attempt<'_> {
    pub fn succeeded(mut self) {
        self.settled = true;
        self.throttle.settle(&self, &Outcome::Succeeded);
    }

    pub fn failed(mut self) {
        self.settled = true;
        self.throttle.settle(&self, &Outcome::Failed);
    }

    /// Nothing was checked (the server was too busy to run argon2): no guess, no count.
    pub fn not_tried(mut self) {
        self.settled = true;
        self.throttle.settle(&self, &Outcome::NotTried);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.throttle.settle(self, &Outcome::Failed);
        }
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

    fn fail(throttle: &Throttle, scope: Scope, who: &Email, now: DateTime<Utc>) {
        throttle.reserve(scope, Some(who), IP_A, now).unwrap().failed();
    }

    #[test]
    fn five_failures_are_free_then_the_wait_doubles() {
        let throttle = Throttle::default();
        let a = email("a");
        let mut now = t0();
        for _ in 0..5 {
            fail(&throttle, Scope::SignIn, &a, now);
        }
        for expected in [1, 2, 4, 8] {
            let refused = throttle.reserve(Scope::SignIn, Some(&a), IP_A, now).err();
            assert_eq!(refused, Some(RetryAfter(expected)));
            now += Duration::seconds(expected as i64);
            fail(&throttle, Scope::SignIn, &a, now);
        }
    }

    #[test]
    fn the_wait_stops_growing_at_fifteen_minutes() {
        let throttle = Throttle::default();
        let a = email("a");
        let mut now = t0();
        for _ in 0..40 {
            fail(&throttle, Scope::SignIn, &a, now);
            now += Duration::minutes(15);
        }
        let refused = throttle
            .reserve(Scope::SignIn, Some(&a), IP_A, now - Duration::minutes(15))
            .err();
        assert_eq!(refused, Some(RetryAfter(900)));
    }

    #[test]
    fn scopes_are_counted_separately() {
        let throttle = Throttle::default();
        let a = email("a");
        for _ in 0..5 {
            fail(&throttle, Scope::SignIn, &a, t0());
        }
        assert!(throttle.reserve(Scope::SignIn, Some(&a), IP_A, t0()).is_err());
        assert!(throttle.reserve(Scope::AppAuth, Some(&a), IP_A, t0()).is_ok());
    }

    #[test]
    fn success_clears_the_account_but_not_the_address() {
        let throttle = Throttle::default();
        let user0 = throttle
            .reserve(Scope::SignIn, Some(&email("user0")), IP_A, t0())
            .unwrap();
        for i in 1..20 {
            fail(&throttle, Scope::SignIn, &email(&format!("user{i}")), t0());
        }
        user0.succeeded();
        fail(&throttle, Scope::SignIn, &email("user20"), t0());
        // 20 failures from one address, one success among them: the address still waits.
        assert!(throttle
            .reserve(Scope::SignIn, Some(&email("someone-else")), IP_A, t0())
            .is_err());
    }

    #[test]
    fn attempts_in_flight_count_as_failures_past_the_free_allowance() {
        let throttle = Throttle::default();
        let a = email("a");
        // Five may be checked at once; a sixth waits until one of them is settled.
        let in_flight: Vec<_> = (0..5)
            .map(|_| throttle.reserve(Scope::SignIn, Some(&a), IP_A, t0()).unwrap())
            .collect();
        assert_eq!(
            throttle.reserve(Scope::SignIn, Some(&a), IP_A, t0()).err(),
            Some(RetryAfter(1))
        );
        let mut in_flight = in_flight.into_iter();
        in_flight.next().unwrap().succeeded();
        assert!(
            throttle.reserve(Scope::SignIn, Some(&a), IP_A, t0()).is_ok(),
            "one success frees a place"
        );
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
        assert_eq!(
            throttle.reserve(Scope::SignIn, Some(&a), IP_A, t0()).err(),
            Some(RetryAfter(1))
        );
    }
}
