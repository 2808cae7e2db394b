//! Failed-attempt counts kept in the database, so that several server instances throttle as one: an attack
//! spread over them is counted once. Keys name a scope, a hash of the account and an address, never an email.

use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};

/// One count as stored; the throttle gives the numbers their meaning. Times are Unix milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThrottleRow {
    pub key: String,
    /// Attempts reserved and not settled, and when the last was reserved: an instance that stops mid-attempt
    /// leaves its reservations behind, and the throttle forgets them once they are old.
    pub in_flight: u32,
    pub in_flight_at: i64,
    pub consecutive: u32,
    pub last_failure: i64,
    pub window_start: i64,
    pub window_failures: u32,
    pub previous_window_failures: u32,
    /// Set by the caller when the count holds nothing any more: the row goes.
    pub clear: bool,
}

/// How long after the last failure a count is kept at all (a day's cap, and a little more).
const KEEP_MS: i64 = 25 * 3600 * 1000;

impl Store {
    /// Locks the counts named by `keys` (each made empty, as of `now_ms`, where missing), lets `change` read and
    /// change them, and writes them back, in one transaction: attempts at once, on any instance, take their
    /// turns. The rows come in the order of their keys, sorted, which is also the order they are locked in,
    /// so two transactions never wait on each other's rows.
    pub async fn change_throttle_counts<T>(
        &self,
        keys: &[String],
        now_ms: i64,
        change: impl FnOnce(&mut [ThrottleRow]) -> T,
    ) -> Result<T, StoreError> {
        let mut sorted: Vec<&String> = keys.iter().collect();
        sorted.sort();
        sorted.dedup();
        // SQLite: the write lock first, as for every write. PostgreSQL: the upsert locks each row.
        let mut tx = self.begin_writing().await?;
        let mut rows = Vec::with_capacity(sorted.len());
        for key in sorted {
            rows.push(lock_or_create(&mut tx, key, now_ms).await?);
        }
        let loaded = rows.clone();
        let answer = change(&mut rows);
        // Only what changed is written: a refused attempt (a flood's usual answer) changes nothing.
        for row in rows
            .iter()
            .zip(&loaded)
            .filter(|(row, loaded)| row != loaded)
            .map(|(row, _)| row)
        {
            if row.clear {
                sqlx::query("DELETE FROM throttle_counts WHERE key = $1")
                    .bind(&row.key)
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query(
                    "UPDATE throttle_counts SET in_flight = $2, in_flight_at = $3, consecutive = $4,
                     last_failure = $5, window_start = $6, window_failures = $7, previous_window_failures = $8
                     WHERE key = $1",
                )
                .bind(&row.key)
                .bind(i64::from(row.in_flight))
                .bind(row.in_flight_at)
                .bind(i64::from(row.consecutive))
                .bind(row.last_failure)
                .bind(row.window_start)
                .bind(i64::from(row.window_failures))
                .bind(i64::from(row.previous_window_failures))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(answer)
    }

    /// Forgets counts with nothing in flight and no failure for 25 hours; returns how many.
    pub(super) async fn purge_throttle_counts(conn: &mut AnyConnection, now_ms: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM throttle_counts WHERE in_flight = 0 AND last_failure < $1 AND window_start < $1")
                .bind(now_ms - KEEP_MS)
                .execute(conn)
                .await?
                .rows_affected(),
        )
    }

    /// How many counts are stored, for tests.
    #[cfg(test)]
    pub async fn throttle_keys(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT key FROM throttle_counts ORDER BY key")
            .fetch_all(&self.pool)
            .await?)
    }
}

async fn lock_or_create(conn: &mut AnyConnection, key: &str, now_ms: i64) -> Result<ThrottleRow, StoreError> {
    let row = sqlx::query(
        "INSERT INTO throttle_counts (key, in_flight, in_flight_at, consecutive, last_failure, window_start,
             window_failures, previous_window_failures)
         VALUES ($1, 0, $2, 0, $2, $2, 0, 0)
         ON CONFLICT (key) DO UPDATE SET key = excluded.key
         RETURNING in_flight, in_flight_at, consecutive, last_failure, window_start, window_failures,
             previous_window_failures",
    )
    .bind(key)
    .bind(now_ms)
    .fetch_one(conn)
    .await?;
    let count = |name: &str| -> Result<u32, StoreError> { super::count(row.try_get(name)?) };
    Ok(ThrottleRow {
        key: key.to_owned(),
        in_flight: count("in_flight")?,
        in_flight_at: row.try_get("in_flight_at")?,
        consecutive: count("consecutive")?,
        last_failure: row.try_get("last_failure")?,
        window_start: row.try_get("window_start")?,
        window_failures: count("window_failures")?,
        previous_window_failures: count("previous_window_failures")?,
        clear: false,
    })
}
