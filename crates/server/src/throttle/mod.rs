//! Throttling of failed sign-ins, for the primary sign-in and third-party sign-in separately. Three counts,
//! so that a stranger who knows an email cannot lock its owner out for long, and nobody guesses fast:
//!
//! - **Back-off per (account, address)**: 5 failures are free, then each failure doubles the wait before
//!   the next attempt from that address (1 s, 2 s, 4 s … up to 15 minutes), answered with 429 and
//!   `Retry-After`. A success clears it.
//! - **A daily cap per account**: at most 100 consecutive failures in 24 hours from anywhere (NIST SP 800-63B
//!   §5.2.2), then the account's sign-in waits out the day. A success clears it.
//! - **A sliding window per address**: at most 50 failures in any 10 minutes, across all accounts, so one
//!   client cannot spray guesses over many accounts. It decays by itself; a success does not clear it.
//!
//! An attempt [`reserve`](Throttle::reserve)s its place in all three before argon2 runs and counts as a
//! failure until it is settled, so many attempts at once get no more guesses than the same attempts one
//! after another. Accounts are known here only by a hash of their normalised email, addresses by the address
//! (IPv6 by its /64). The table is bounded: past its capacity the least recently used entries go. State is in
//! memory: a restart forgives, which an attacker cannot cause.

use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use keyturn_protocol::Email;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    SignIn,
    AppAuth,
    /// Verification and recovery codes, counted apart from passwords.
    SecondFactor,
}

/// An account as the throttle knows it: 128 bits of SHA-256 of the normalised email, never the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct AccountKey([u8; 16]);

impl AccountKey {
    fn of(email: &Email) -> Self {
        let digest = Sha256::new()
            .chain_update(b"keyturn-throttle-v1:")
            .chain_update(email.as_str())
            .finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        Self(key)
    }
}

/// A client address as counted: IPv4 as is, IPv6 by its /64 (one subscriber's usual allocation), an
/// IPv4-mapped IPv6 address as the IPv4 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct AddressKey(IpAddr);

impl AddressKey {
    fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                Self(IpAddr::V6(prefix.into()))
            }
            v4 => Self(v4),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    BackOff(Scope, AccountKey, AddressKey),
    DailyCap(Scope, AccountKey),
    Window(Scope, AddressKey),
}

const FREE_FAILURES: u32 = 5;
const MAX_DELAY: Duration = Duration::minutes(15);
const DAILY_CAP: u32 = 100;
const DAY: Duration = Duration::hours(24);
const ADDRESS_LIMIT: u32 = 50;
const ADDRESS_WINDOW: Duration = Duration::minutes(10);
/// Asked of an attempt that arrives while earlier ones that would reach a limit are still being checked.
const WAIT_FOR_IN_FLIGHT: Duration = Duration::seconds(1);
/// Entries kept at most (about 100 bytes each).
pub const CAPACITY: usize = 200_000;

#[derive(Clone, Debug)]
struct Entry {
    /// Attempts reserved and not yet settled; each counts as a failure until it succeeds.
    in_flight: u32,
    /// Back-off: failures since the last success, and when the last one was.
    consecutive: u32,
    last_failure: DateTime<Utc>,
    /// Daily cap: failures in the day that began at `window_start`. Sliding window: failures in the
    /// window that began at `window_start`, and in the window before it.
    window_start: DateTime<Utc>,
    window_failures: u32,
    previous_window_failures: u32,
}

impl Entry {
    fn new(now: DateTime<Utc>) -> Self {
        Self {
            in_flight: 0,
            consecutive: 0,
            last_failure: now,
            window_start: now,
            window_failures: 0,
            previous_window_failures: 0,
        }
    }

    /// When another attempt may start, if later than `now`.
    fn blocked_until(&self, key: &Key, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let wait_for_in_flight =
            |pending: u32, limit: u32| (self.in_flight > 0 && pending >= limit).then_some(now + WAIT_FOR_IN_FLIGHT);
        let until = match key {
            Key::BackOff(..) => {
                let backing_off = (self.consecutive >= FREE_FAILURES).then(|| {
                    let doublings = (self.consecutive - FREE_FAILURES).min(20);
                    self.last_failure + Duration::seconds(1i64 << doublings).min(MAX_DELAY)
                });
                backing_off.max(wait_for_in_flight(self.consecutive + self.in_flight, FREE_FAILURES))
            }
            Key::DailyCap(..) => {
                let failures = if now < self.window_start + DAY {
                    self.window_failures
                } else {
                    0
                };
                let capped = (failures >= DAILY_CAP).then_some(self.window_start + DAY);
                capped.max(wait_for_in_flight(failures + self.in_flight, DAILY_CAP))
            }
            Key::Window(..) => {
                let (start, current, previous) = self.rolled(now);
                let estimate = |t: DateTime<Utc>| sliding_estimate(start, current, previous, t);
                let over =
                    (estimate(now) >= f64::from(ADDRESS_LIMIT)).then(|| window_reopens(start, current, previous));
                over.max(wait_for_in_flight(
                    estimate(now).ceil() as u32 + self.in_flight,
                    ADDRESS_LIMIT,
                ))
            }
        };
        until.filter(|t| *t > now)
    }

    /// The sliding window's (start, current, previous) as of `now`, without changing the entry.
    fn rolled(&self, now: DateTime<Utc>) -> (DateTime<Utc>, u32, u32) {
        let elapsed = now - self.window_start;
        if elapsed < ADDRESS_WINDOW {
            (self.window_start, self.window_failures, self.previous_window_failures)
        } else if elapsed < ADDRESS_WINDOW * 2 {
            (self.window_start + ADDRESS_WINDOW, 0, self.window_failures)
        } else {
            (now, 0, 0)
        }
    }

    fn fail(&mut self, key: &Key, now: DateTime<Utc>) {
        match key {
            Key::BackOff(..) => {
                self.consecutive += 1;
                self.last_failure = now;
            }
            Key::DailyCap(..) => {
                if now >= self.window_start + DAY || self.window_failures == 0 {
                    self.window_start = now;
                    self.window_failures = 0;
                }
                self.window_failures += 1;
                self.last_failure = now;
            }
            Key::Window(..) => {
                (self.window_start, self.window_failures, self.previous_window_failures) = self.rolled(now);
                self.window_failures += 1;
                self.last_failure = now;
            }
        }
    }
}

/// Failures in the sliding window ending at `t`: this window's, plus the share of the previous window's that
/// the sliding window still covers.
fn sliding_estimate(start: DateTime<Utc>, current: u32, previous: u32, t: DateTime<Utc>) -> f64 {
    let covered =
        1.0 - ((t - start).num_milliseconds() as f64 / ADDRESS_WINDOW.num_milliseconds() as f64).clamp(0.0, 1.0);
    f64::from(previous) * covered + f64::from(current)
}

/// When the sliding estimate falls below the limit again, if no more failures come.
fn window_reopens(start: DateTime<Utc>, current: u32, previous: u32) -> DateTime<Utc> {
    let limit = f64::from(ADDRESS_LIMIT);
    let window_ms = ADDRESS_WINDOW.num_milliseconds() as f64;
    let (start, current, previous) = if f64::from(current) >= limit {
        // Not before this window has become the previous one and decayed below the limit.
        (start + ADDRESS_WINDOW, 0, current)
    } else {
        (start, current, previous)
    };
    if previous == 0 {
        return start;
    }
    // previous × (1 − x) + current < limit  ⇔  x > 1 − (limit − current) / previous
    let fraction = (1.0 - (limit - f64::from(current)) / f64::from(previous)).clamp(0.0, 1.0);
    start + Duration::milliseconds((fraction * window_ms).ceil() as i64 + 1)
}

pub struct Throttle {
    entries: Mutex<quick_cache::unsync::Cache<Key, Entry>>,
    refusals: Family<ScopeLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    /// `sign_in`, `app_auth` or `second_factor`.
    scope: &'static str,
}

impl Scope {
    fn label(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::AppAuth => "app_auth",
            Self::SecondFactor => "second_factor",
        }
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

/// Seconds to wait, rounded up, as sent in `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// One attempt's place: a failure until settled. Dropped unsettled (the request failed on the way), it
/// counts as a failure: an error must not be a free guess.
#[must_use = "settle the attempt with succeeded, failed or not_tried"]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    keys: Vec<Key>,
    at: DateTime<Utc>,
    settled: bool,
}

enum Outcome {
    Succeeded,
    Failed,
    NotTried,
}

impl Throttle {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(quick_cache::unsync::Cache::new(capacity)),
            refusals: Family::default(),
        }
    }

    /// Reserves an attempt, or says how long to wait. `email` is `None` when the request named no valid
    /// address: only the client's address is counted then.
    pub fn reserve(
        &self,
        scope: Scope,
        email: Option<&Email>,
        ip: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<Attempt<'_>, RetryAfter> {
        let keys = keys(scope, email, ip);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let until = keys
            .iter()
            .filter_map(|key| entries.get(key)?.blocked_until(key, now))
            .max();
        if let Some(until) = until {
            self.refusals.get_or_create(&ScopeLabels { scope: scope.label() }).inc();
            let millis = (until - now).num_milliseconds().max(1);
            return Err(RetryAfter(u64::try_from((millis + 999) / 1000).unwrap_or(1)));
        }
        for key in &keys {
            if entries.get(key).is_none() {
                entries.insert(*key, Entry::new(now));
            }
            if let Some(mut entry) = entries.get_mut(key) {
                entry.in_flight += 1;
            }
        }
        Ok(Attempt {
            throttle: self,
            keys,
            at: now,
            settled: false,
        })
    }

    fn settle(&self, attempt: &Attempt<'_>, outcome: &Outcome) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        for key in &attempt.keys {
            let clear = {
                let Some(mut entry) = entries.get_mut(key) else {
                    continue;
                };
                entry.in_flight = entry.in_flight.saturating_sub(1);
                match (outcome, key) {
                    (Outcome::Failed, key) => entry.fail(key, attempt.at),
                    // A correct password clears the account's counts (not the address's: one good account
                    // must not unlock guessing at others).
                    (Outcome::Succeeded, Key::BackOff(..) | Key::DailyCap(..)) => {
                        entry.consecutive = 0;
                        entry.window_failures = 0;
                    }
                    (Outcome::Succeeded, Key::Window(..)) | (Outcome::NotTried, _) => {}
                }
                entry.in_flight == 0
                    && entry.consecutive == 0
                    && entry.window_failures == 0
                    && entry.previous_window_failures == 0
            };
            if clear {
                entries.remove(key);
            }
        }
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "throttle_refusals",
            "Attempts refused with 429 before any check, by scope",
            self.refusals.clone(),
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).len()
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

    /// The attempt back with what the check found; or, when the check could not run (`Err`), the attempt
    /// settled as not tried.
    pub fn checked<T, E>(self, check: Result<T, E>) -> Result<(Self, T), E> {
        match check {
            Ok(found) => Ok((self, found)),
            Err(e) => {
                self.not_tried();
                Err(e)
            }
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.throttle.settle(self, &Outcome::Failed);
        }
    }
}

/// The counts an attempt goes into.
fn keys(scope: Scope, email: Option<&Email>, ip: IpAddr) -> Vec<Key> {
    let address = AddressKey::of(ip);
    let mut keys = vec![Key::Window(scope, address)];
    if let Some(email) = email {
        let account = AccountKey::of(email);
        keys.push(Key::BackOff(scope, account, address));
        keys.push(Key::DailyCap(scope, account));
    }
    keys
}

#[cfg(test)]
mod tests;
