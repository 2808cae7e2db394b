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
//! (IPv6 by its /64).
//!
//! With one server (SQLite) the counts are in memory, in a table bounded by its capacity (the least recently
//! used entries go); a restart forgives, which an attacker cannot cause. With several servers on PostgreSQL
//! they are rows of the database, each attempt's reservation and settling a transaction that locks its rows,
//! so an attack spread over the instances is counted once; rows idle for 25 hours are purged.

use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, TimeZone, Utc};
use keyturn_protocol::Email;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};

use crate::store::{millis, Store, StoreError, ThrottleRow};

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

impl Key {
    /// The key as the database keeps it: the scope, the count, the account's hash, the address.
    fn stored(&self) -> String {
        match self {
            Self::BackOff(scope, account, address) => {
                format!("{}/back-off/{}/{}", scope.label(), hex::encode(account.0), address.0)
            }
            Self::DailyCap(scope, account) => format!("{}/day/{}", scope.label(), hex::encode(account.0)),
            Self::Window(scope, address) => format!("{}/window/{}", scope.label(), address.0),
        }
    }

    /// Which of `keys` a stored key is.
    fn from_stored(keys: &[Key], stored: &str) -> Option<Key> {
        keys.iter().copied().find(|key| key.stored() == stored)
    }
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

impl Entry {
    /// Applies an attempt's outcome; true when the entry holds nothing any more and may go.
    fn settle(&mut self, key: &Key, at: DateTime<Utc>, outcome: Outcome) -> bool {
        self.in_flight = self.in_flight.saturating_sub(1);
        match (outcome, key) {
            (Outcome::Failed, key) => self.fail(key, at),
            // A correct password clears the account's counts (not the address's: one good account must not
            // unlock guessing at others).
            (Outcome::Succeeded, Key::BackOff(..) | Key::DailyCap(..)) => {
                self.consecutive = 0;
                self.window_failures = 0;
            }
            (Outcome::Succeeded, Key::Window(..)) | (Outcome::NotTried, _) => {}
        }
        self.in_flight == 0 && self.consecutive == 0 && self.window_failures == 0 && self.previous_window_failures == 0
    }

    /// As stored; reservations older than a minute are forgotten.
    fn from_row(row: &ThrottleRow, now: DateTime<Utc>) -> Self {
        let at = |ms: i64| Utc.timestamp_millis_opt(ms).single().unwrap_or(now);
        let in_flight_fresh = now - at(row.in_flight_at) < IN_FLIGHT_FORGOTTEN;
        Self {
            in_flight: if in_flight_fresh { row.in_flight } else { 0 },
            consecutive: row.consecutive,
            last_failure: at(row.last_failure),
            window_start: at(row.window_start),
            window_failures: row.window_failures,
            previous_window_failures: row.previous_window_failures,
        }
    }

    fn write_to(&self, row: &mut ThrottleRow) {
        row.in_flight = self.in_flight;
        row.consecutive = self.consecutive;
        row.last_failure = millis(self.last_failure);
        row.window_start = millis(self.window_start);
        row.window_failures = self.window_failures;
        row.previous_window_failures = self.previous_window_failures;
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
    counts: Counts,
    refusals: Family<ScopeLabels, Counter>,
}

/// Where the counts live: this process's memory (one server on SQLite), or the database (several on
/// PostgreSQL, which then throttle as one).
enum Counts {
    Memory(Mutex<quick_cache::unsync::Cache<Key, Entry>>),
    Database(Store),
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

/// Why an attempt may not start.
#[derive(Debug)]
pub enum Refused {
    Wait(RetryAfter),
    /// The database that keeps the counts failed: no attempt without counting it.
    Store(StoreError),
}

/// One attempt's place: a failure until settled. Dropped unsettled (the request failed on the way), it
/// counts as a failure: an error must not be a free guess.
#[must_use = "settle the attempt with succeeded, failed or not_tried"]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    keys: Vec<Key>,
    at: DateTime<Utc>,
    settled: bool,
}

#[derive(Clone, Copy)]
enum Outcome {
    Succeeded,
    Failed,
    NotTried,
}

/// Reservations older than this are forgotten: only an instance that stopped mid-attempt leaves one.
const IN_FLIGHT_FORGOTTEN: Duration = Duration::seconds(60);

impl Throttle {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            counts: Counts::Memory(Mutex::new(quick_cache::unsync::Cache::new(capacity))),
            refusals: Family::default(),
        }
    }

    /// Counts kept in `store`'s database, shared by every server on it.
    pub fn in_database(store: Store) -> Self {
        Self {
            counts: Counts::Database(store),
            refusals: Family::default(),
        }
    }

    /// Reserves an attempt, or says how long to wait. `email` is `None` when the request named no valid
    /// address: only the client's address is counted then.
    pub async fn reserve(
        &self,
        scope: Scope,
        email: Option<&Email>,
        ip: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<Attempt<'_>, Refused> {
        let keys = keys(scope, email, ip);
        let blocked = match &self.counts {
            Counts::Memory(entries) => {
                let mut entries = entries.lock().unwrap_or_else(PoisonError::into_inner);
                let until = keys
                    .iter()
                    .filter_map(|key| entries.get(key)?.blocked_until(key, now))
                    .max();
                if until.is_none() {
                    for key in &keys {
                        if entries.get(key).is_none() {
                            entries.insert(*key, Entry::new(now));
                        }
                        if let Some(mut entry) = entries.get_mut(key) {
                            entry.in_flight += 1;
                        }
                    }
                }
                until
            }
            Counts::Database(store) => {
                let stored: Vec<String> = keys.iter().map(Key::stored).collect();
                store
                    .change_throttle_counts(&stored, millis(now), |rows| {
                        let mut entries: Vec<(Option<Key>, Entry)> = rows
                            .iter()
                            .map(|row| (Key::from_stored(&keys, &row.key), Entry::from_row(row, now)))
                            .collect();
                        let until = entries
                            .iter()
                            .filter_map(|(key, entry)| entry.blocked_until(key.as_ref()?, now))
                            .max();
                        if until.is_none() {
                            for ((_, entry), row) in entries.iter_mut().zip(rows.iter_mut()) {
                                entry.in_flight += 1;
                                entry.write_to(row);
                                row.in_flight_at = millis(now);
                            }
                        }
                        until
                    })
                    .await
                    .map_err(Refused::Store)?
            }
        };
        if let Some(until) = blocked {
            self.refusals.get_or_create(&ScopeLabels { scope: scope.label() }).inc();
            let millis = (until - now).num_milliseconds().max(1);
            return Err(Refused::Wait(RetryAfter(
                u64::try_from((millis + 999) / 1000).unwrap_or(1),
            )));
        }
        Ok(Attempt {
            throttle: self,
            keys,
            at: now,
            settled: false,
        })
    }

    async fn settle(&self, keys: &[Key], at: DateTime<Utc>, outcome: Outcome) {
        match &self.counts {
            Counts::Memory(entries) => settle_in_memory(entries, keys, at, outcome),
            Counts::Database(store) => settle_in_database(store, keys, at, outcome).await,
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
        match &self.counts {
            Counts::Memory(entries) => entries.lock().unwrap_or_else(PoisonError::into_inner).len(),
            Counts::Database(_) => 0,
        }
    }
}

fn settle_in_memory(
    entries: &Mutex<quick_cache::unsync::Cache<Key, Entry>>,
    keys: &[Key],
    at: DateTime<Utc>,
    outcome: Outcome,
) {
    let mut entries = entries.lock().unwrap_or_else(PoisonError::into_inner);
    for key in keys {
        let clear = match entries.get_mut(key) {
            Some(mut entry) => entry.settle(key, at, outcome),
            None => continue,
        };
        if clear {
            entries.remove(key);
        }
    }
}

async fn settle_in_database(store: &Store, keys: &[Key], at: DateTime<Utc>, outcome: Outcome) {
    let stored: Vec<String> = keys.iter().map(Key::stored).collect();
    let settled = store
        .change_throttle_counts(&stored, millis(at), |rows| {
            for row in rows.iter_mut() {
                let Some(key) = Key::from_stored(keys, &row.key) else {
                    continue;
                };
                let mut entry = Entry::from_row(row, at);
                row.clear = entry.settle(&key, at, outcome);
                entry.write_to(row);
            }
        })
        .await;
    if let Err(e) = settled {
        // Its reservation stays in flight until it is old enough to be forgotten (a minute).
        tracing::warn!(error = %e, "settling a throttled attempt failed");
    }
}

impl Attempt<'_> {
    pub async fn succeeded(mut self) {
        self.settled = true;
        self.throttle.settle(&self.keys, self.at, Outcome::Succeeded).await;
    }

    pub async fn failed(mut self) {
        self.settled = true;
        self.throttle.settle(&self.keys, self.at, Outcome::Failed).await;
    }

    /// Nothing was checked (the server was too busy to run argon2): no guess, no count.
    pub async fn not_tried(mut self) {
        self.settled = true;
        self.throttle.settle(&self.keys, self.at, Outcome::NotTried).await;
    }

    /// The attempt back with what the check found; or, when the check could not run (`Err`), the attempt
    /// settled as not tried.
    pub async fn checked<T, E>(self, check: Result<T, E>) -> Result<(Self, T), E> {
        match check {
            Ok(found) => Ok((self, found)),
            Err(e) => {
                self.not_tried().await;
                Err(e)
            }
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        match &self.throttle.counts {
            Counts::Memory(entries) => settle_in_memory(entries, &self.keys, self.at, Outcome::Failed),
            Counts::Database(store) => {
                let (store, keys, at) = (store.clone(), std::mem::take(&mut self.keys), self.at);
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => {
                        runtime.spawn(async move { settle_in_database(&store, &keys, at, Outcome::Failed).await });
                    }
                    Err(_) => tracing::warn!("an unsettled attempt outlived the runtime; it is forgotten in a minute"),
                }
            }
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
