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
//! With one server (SQLite) the counts are in memory, in a table bounded by its capacity (quick_cache evicts
//! the cold entries first); a restart forgives, which an attacker cannot cause. With several servers on PostgreSQL
//! they are rows of the database, each attempt's reservation and settling a transaction that locks its rows,
//! so an attack spread over the instances is counted once; rows idle for 25 hours are purged.

use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use keyturn_protocol::Email;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::store::{millis, Store, StoreError};

mod entry;
mod keys;

use entry::Entry;
use keys::{keys, Key};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    SignIn,
    AppSignIn,
    /// Verification and recovery codes, counted apart from passwords.
    SecondFactor,
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

pub struct Throttle {
    counts: Counts,
    refusals: Family<KindLabels, Counter>,
}

/// Where the counts live: this process's memory (one server on SQLite), or the database (several on
/// PostgreSQL, which then throttle as one).
enum Counts {
    Memory(Mutex<quick_cache::unsync::Cache<Key, Entry>>),
    Database(Store),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    /// `sign_in`, `app_auth` or `second_factor`.
    scope: &'static str,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::AppSignIn => "app_auth",
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
    /// address: only the client's address is counted then. `ip` is `None` when no address is known (an LDAP
    /// bind relayed by a mail server): only the account is counted then.
    pub async fn reserve(
        &self,
        kind: Kind,
        email: Option<&Email>,
        ip: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<Attempt<'_>, Refused> {
        let keys = keys(kind, email, ip);
        let blocked = match &self.counts {
            // Nothing to count under (no account named, no address known): nothing to look up either.
            _ if keys.is_empty() => None,
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
            self.refusals.get_or_create(&KindLabels { scope: kind.label() }).inc();
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
    if keys.is_empty() {
        return;
    }
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

#[cfg(test)]
mod tests;
