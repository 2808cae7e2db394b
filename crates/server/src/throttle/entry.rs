//! One count's state, and the rules that turn failures into a wait: the back-off's doubling, the day's cap,
//! the address's sliding window.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::keys::Key;
use super::{Outcome, ADDRESS_LIMIT, ADDRESS_WINDOW, DAILY_CAP, DAY, FREE_FAILURES, IN_FLIGHT_FORGOTTEN};
use super::{MAX_DELAY, WAIT_FOR_IN_FLIGHT};
use crate::store::{millis, ThrottleRow};

#[derive(Clone, Debug)]
pub(super) struct Entry {
    /// Attempts reserved and not yet settled; each counts as a failure until it succeeds.
    pub(super) in_flight: u32,
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
    pub(super) fn new(now: DateTime<Utc>) -> Self {
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
    pub(super) fn blocked_until(&self, key: &Key, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
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
    pub(super) fn settle(&mut self, key: &Key, at: DateTime<Utc>, outcome: Outcome) -> bool {
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
    pub(super) fn from_row(row: &ThrottleRow, now: DateTime<Utc>) -> Self {
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

    pub(super) fn write_to(&self, row: &mut ThrottleRow) {
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
