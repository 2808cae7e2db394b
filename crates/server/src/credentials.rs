//! argon2, always on the blocking pool and never more at once than the server allows.
//!
//! Each argon2id run takes ~19 MiB and tens of milliseconds of a core. [`Argon2Pool`] runs at most
//! `concurrency` of them at once and lets at most `queue` more wait; a request beyond that is answered at once
//! with 503 `overloaded` and costs nothing. So a flood of sign-ins cannot grow the server's memory or starve
//! the requests that need no argon2 (cached app sign-ins, lists, revokes).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use keyturn_protocol::{AppPassword, Verifier, VerifierError, VerifierParams};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

/// How many argon2 runs at once, and how many may wait for one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Limits {
    pub concurrency: usize,
    pub queue: usize,
}

impl Default for Argon2Limits {
    /// One run per core, 64 waiting.
    fn default() -> Self {
        Self {
            concurrency: std::thread::available_parallelism().map_or(1, usize::from),
            queue: 64,
        }
    }
}

/// The argon2 runs in flight and waiting are at their limits: nothing ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many argon2 runs in flight")]
pub struct Overloaded;

pub struct Argon2Pool {
    permits: Semaphore,
    waiting: AtomicUsize,
    limits: Argon2Limits,
    /// Runs since start: the cost the verified-password cache exists to save, and the tests' witness.
    runs: AtomicU64,
}

/// Counts one waiting request, and uncounts it however the wait ends (a client that hangs up included).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Argon2Pool {
    pub fn new(limits: Argon2Limits) -> Self {
        Self {
            permits: Semaphore::new(limits.concurrency.max(1)),
            waiting: AtomicUsize::new(0),
            limits,
            runs: AtomicU64::new(0),
        }
    }

    /// Runs `work` (one argon2 computation) on the blocking pool when a slot is free.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Overloaded> {
        let _permit = match self.permits.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.limits.queue {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(Overloaded);
                }
                let _waiting = Waiting(&self.waiting);
                self.permits.acquire().await.map_err(|_| Overloaded)?
            }
        };
        self.runs.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(work).await.map_err(|_| Overloaded)
    }

    /// One argon2 verification of a primary password.
    pub async fn verify_password(&self, verifier: Verifier, password: SecretString) -> Result<bool, Overloaded> {
        self.run(move || verifier.verify(password.expose_secret().as_bytes()))
            .await
    }

    /// One argon2 verification of an app-specific password.
    pub async fn verify_app_password(&self, verifier: Verifier, password: AppPassword) -> Result<bool, Overloaded> {
        self.run(move || verifier.verify(password.expose().as_bytes())).await
    }

    /// Hashes a new primary password with the server's parameters.
    pub async fn hash_password(&self, password: SecretString, params: VerifierParams) -> Result<Verifier, HashError> {
        Ok(self
            .run(move || Verifier::build(password.expose_secret().as_bytes(), params))
            .await??)
    }

    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Requests waiting for a slot now.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error(transparent)]
    Overloaded(#[from] Overloaded),
    #[error("hashing the password failed: {0}")]
    Params(#[from] VerifierError),
}

/// A verifier of a random password nobody knows, with the real parameters.
pub fn dummy_verifier(params: VerifierParams) -> anyhow::Result<Verifier> {
    Ok(Verifier::build(AppPassword::generate().expose().as_bytes(), params)?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beyond_the_slots_and_the_queue_a_run_is_refused_at_once() {
        let pool = Arc::new(Argon2Pool::new(Argon2Limits {
            concurrency: 1,
            queue: 2,
        }));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Arc::new(std::sync::Mutex::new(hold));
        // One running, two waiting: the fourth is refused without running.
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let (pool, hold) = (Arc::clone(&pool), Arc::clone(&hold));
                tokio::spawn(async move {
                    pool.run(move || hold.lock().map(|h| h.recv().is_ok()).unwrap_or(false))
                        .await
                })
            })
            .collect();
        while pool.runs() < 1 || pool.waiting() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(pool.run(|| true).await, Err(Overloaded));
        for _ in 0..3 {
            release.send(()).unwrap();
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), Ok(true));
        }
        assert_eq!(pool.runs(), 3);
        assert_eq!(pool.waiting(), 0);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_leaves_the_queue() {
        let pool = Arc::new(Argon2Pool::new(Argon2Limits {
            concurrency: 1,
            queue: 1,
        }));
        let permit = pool.permits.acquire().await.unwrap();
        let waiter = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { pool.run(|| ()).await })
        };
        while pool.waiting() < 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(pool.waiting(), 0);
        drop(permit);
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }
}
