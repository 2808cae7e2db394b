//! What the machine gives: argon2 verifications per second on every core (the bound the server is judged
//! against), and a process's peak memory.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use keyturn_protocol::{Argon2Memory, Verifier, VerifierParams};

/// argon2 verifications per second at the default parameters, one thread per core, each with its own
/// reused memory (as the server's pool does).
pub(super) fn argon2_bound(secs: u32) -> Result<f64> {
    let verifier = Verifier::build(b"bound", VerifierParams::default())?;
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let until = Instant::now() + Duration::from_secs(u64::from(secs));
    let started = Instant::now();
    let runs: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut memory = Argon2Memory::default();
                    let mut n = 0u64;
                    while Instant::now() < until {
                        assert!(verifier.verify_in(b"bound", &mut memory));
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    Ok(runs as f64 / started.elapsed().as_secs_f64())
}

/// `VmHWM` of a process, in MB.
pub fn peak_memory_mb(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|l| l.trim().trim_end_matches(" kB").parse().ok())
        .context("VmHWM")?;
    Ok(kb / 1000.0)
}
