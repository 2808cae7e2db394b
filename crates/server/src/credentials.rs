//! argon2, on threads of its own and never more at once than the server allows.
//!
//! Each argon2id run takes ~19 MiB and tens of milliseconds of a core. [`Argon2Pool`] runs at most
//! `concurrency` of them at once and lets at most `queue` more wait; a request beyond that is answered at once
//! with 503 ([`ErrorCode::Overloaded`](keyturn_protocol::ErrorCode::Overloaded)) and costs nothing. So a
//! flood of sign-ins cannot grow the server's memory or starve the requests that need no argon2 (cached app
//! sign-ins, lists, revokes).

use std::cell::RefCell;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, PoisonError};

use keyturn_protocol::{AppPassword, Argon2Memory, Verifier, VerifierError, VerifierParams};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use secrecy::{ExposeSecret, SecretString};

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
    /// Jobs for the argon2 threads; holds at most `queue` waiting.
    jobs: SyncSender<Job>,
    /// Runs since start: the cost the verified-password cache exists to save, and the tests' witness.
    runs: Counter,
    /// Jobs sent and not yet started by an argon2 thread.
    waiting: Gauge,
}

type Job = Box<dyn FnOnce() + Send>;

impl Argon2Pool {
    /// Starts `concurrency` threads that run argon2 and nothing else, each in memory it allocates once and
    /// keeps: argon2's memory is `concurrency` × m_cost, however many sign-ins come (allocating it afresh per
    /// run fragmented the heap to 204 MB resident under a 30 s flood; see the README's measured figures).
    pub fn new(limits: Argon2Limits) -> Self {
        let (jobs, waiting) = std::sync::mpsc::sync_channel::<Job>(limits.queue);
        let waiting = Arc::new(Mutex::new(waiting));
        for n in 0..limits.concurrency.max(1) {
            let waiting = Arc::clone(&waiting);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || loop {
                    let job = waiting.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    match job {
                        Ok(job) => job(),
                        // The pool is gone, and with it this thread's work.
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start an argon2 thread");
            }
        }
        Self {
            jobs,
            runs: Counter::default(),
            waiting: Gauge::default(),
        }
    }

    /// Runs `work` (one argon2 computation) on an argon2 thread, or refuses at once if `queue` jobs wait.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Overloaded> {
        let (done, result) = tokio::sync::oneshot::channel();
        let (runs, waiting) = (self.runs.clone(), self.waiting.clone());
        let job: Job = Box::new(move || {
            waiting.dec();
            runs.inc();
            let _ = done.send(work());
        });
        // Counted before it is sent, so a thread that starts it at once never takes the gauge below zero.
        self.waiting.inc();
        if self.jobs.try_send(job).is_err() {
            self.waiting.dec();
            return Err(Overloaded);
        }
        result.await.map_err(|_| Overloaded)
    }

    /// One argon2 verification of a primary password.
    pub async fn verify_password(&self, verifier: Verifier, password: SecretString) -> Result<bool, Overloaded> {
        self.run(move || verify(&verifier, password.expose_secret().as_bytes()))
            .await
    }

    /// One argon2 verification of an app-specific password.
    pub async fn verify_app_password(&self, verifier: Verifier, password: AppPassword) -> Result<bool, Overloaded> {
        self.run(move || verify(&verifier, password.expose().as_bytes())).await
    }

    /// Hashes a new primary password with the server's parameters.
    pub async fn hash_password(&self, password: SecretString, params: VerifierParams) -> Result<Verifier, HashError> {
        Ok(self
            .run(move || Verifier::build(password.expose_secret().as_bytes(), params))
            .await??)
    }

    pub fn runs(&self) -> u64 {
        self.runs.get()
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register("argon2_runs", "argon2 computations run", self.runs.clone());
        registry.register(
            "argon2_waiting",
            "argon2 computations waiting for a thread",
            self.waiting.clone(),
        );
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error(transparent)]
    Overloaded(#[from] Overloaded),
    #[error("hashing the password failed: {0}")]
    Params(#[from] VerifierError),
}

thread_local! {
    /// Each argon2 thread's memory, allocated at its first run and reused by every later one.
    static MEMORY: RefCell<Argon2Memory> = RefCell::new(Argon2Memory::default());
}

/// Verifies in this thread's kept memory.
fn verify(verifier: &Verifier, secret: &[u8]) -> bool {
    MEMORY.with(|memory| verifier.verify_in(secret, &mut memory.borrow_mut()))
}

/// A verifier of a random password nobody knows, with the real parameters.
pub fn dummy_verifier(params: VerifierParams) -> anyhow::Result<Verifier> {
    Ok(Verifier::build(AppPassword::generate().expose().as_bytes(), params)?)
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::Receiver;
    use std::time::Duration;

    use super::*;

    /// A job that runs until the test lets it finish.
    fn held(gate: &Arc<Mutex<Receiver<()>>>) -> impl FnOnce() -> bool + Send + 'static {
        let gate = Arc::clone(gate);
        move || gate.lock().map(|g| g.recv().is_ok()).unwrap_or(false)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beyond_the_threads_and_the_queue_a_run_is_refused_at_once() {
        let pool = Arc::new(Argon2Pool::new(Argon2Limits {
            concurrency: 1,
            queue: 2,
        }));
        let (go, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let spawn = |pool: &Arc<Argon2Pool>| {
            let (pool, job) = (Arc::clone(pool), held(&gate));
            tokio::spawn(async move { pool.run(job).await })
        };
        // One running, then two waiting: a fourth is refused without running.
        let mut tasks = vec![spawn(&pool)];
        while pool.runs() < 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tasks.push(spawn(&pool));
        tasks.push(spawn(&pool));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(pool.run(|| true).await, Err(Overloaded));
        for _ in 0..3 {
            go.send(()).unwrap();
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), Ok(true));
        }
        assert_eq!(pool.runs(), 3);
        assert_eq!(pool.run(|| 7).await, Ok(7), "the queue has room again");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_use_only_the_pools_own_threads() {
        let pool = Argon2Pool::new(Argon2Limits {
            concurrency: 2,
            queue: 8,
        });
        let mut names = std::collections::BTreeSet::new();
        for _ in 0..20 {
            names.insert(
                pool.run(|| std::thread::current().name().map(str::to_owned))
                    .await
                    .unwrap(),
            );
        }
        assert!(names.len() <= 2, "{names:?}");
        assert!(
            names
                .iter()
                .all(|n| n.as_deref().is_some_and(|n| n.starts_with("argon2-"))),
            "{names:?}"
        );
    }
}
