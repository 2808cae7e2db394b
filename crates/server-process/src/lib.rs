//! # Layout
//!
//! One type, [`ServerProcess`]: the real `keyturn-server` binary serving on a free loopback port, with its
//! admin CLI at hand, stopped gracefully (SIGTERM, then a kill if it lingers) when dropped. `cargo xtask demo`
//! and the end-to-end test both run the server this way. Only the standard library and `anyhow`, so xtask
//! stays quick to build.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How long a stopping server may take to finish its requests before it is killed.
const GRACE: Duration = Duration::from_secs(10);

pub struct ServerProcess {
    child: Child,
    bin: PathBuf,
    db: PathBuf,
    /// `http://127.0.0.1:PORT`, as the server printed it once ready.
    pub url: String,
    /// `127.0.0.1:PORT` of the LDAP door, when started with `--ldap-listen`.
    pub ldap: Option<String>,
    /// `http://127.0.0.1:PORT/metrics`, when started with `--metrics-listen`.
    pub metrics: Option<String>,
}

/// What adding an account found.
#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    Added,
    AlreadyThere,
}

impl ServerProcess {
    /// Starts `bin serve` on a free loopback port with the database file `db`, and waits until it listens.
    /// Its log goes to `log` (stderr), or nowhere.
    pub fn start(bin: &Path, db: &Path, log: Option<&Path>) -> Result<Self> {
        Self::start_with(bin, db, log, &[])
    }

    /// The same, with more of `serve`'s flags (`--require-second-factor`, say).
    pub fn start_with(bin: &Path, db: &Path, log: Option<&Path>, flags: &[&str]) -> Result<Self> {
        let stderr = match log {
            Some(path) => {
                Stdio::from(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?)
            }
            None => Stdio::null(),
        };
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .args(flags)
            // Only the flags given: not a configuration installed on this machine (/etc/keyturn/server.conf).
            .env("KEYTURN_CONFIG", "")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut announced = BufReader::new(child.stdout.take().context("the server's stdout")?);
        let mut line = String::new();
        announced.read_line(&mut line)?;
        let Some(url) = line.trim().strip_prefix("listening on ").map(str::to_owned) else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{} did not start: {line:?}", bin.display());
        };
        // One more line per other address asked for, in the order `serve` announces them.
        let mut ldap = None;
        let mut metrics = None;
        let others = flags
            .iter()
            .filter(|f| ["--metrics-listen", "--ldap-listen"].contains(f))
            .count();
        for _ in 0..others {
            line.clear();
            announced.read_line(&mut line)?;
            if let Some(at) = line.trim().strip_prefix("ldap on ldap://") {
                ldap = Some(at.to_owned());
            }
            if let Some(url) = line.trim().strip_prefix("metrics on ") {
                metrics = Some(url.to_owned());
            }
        }
        Ok(Self {
            url,
            ldap,
            metrics,
            child,
            bin: bin.to_owned(),
            db: db.to_owned(),
        })
    }

    /// The server's process id, to read its memory from `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Adds an account through the admin CLI, as support staff would, with the password on standard input.
    pub fn add_account(&self, email: &str, password: &str) -> Result<Added> {
        let mut add = Command::new(&self.bin)
            .args(["accounts", "add", email, "--db"])
            .arg(&self.db)
            .env("KEYTURN_CONFIG", "")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("running keyturn-server accounts add")?;
        add.stdin.take().context("stdin")?.write_all(password.as_bytes())?;
        let output = add.wait_with_output()?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        match output.status.success() {
            true => Ok(Added::Added),
            false if stderr.contains("already exists") => Ok(Added::AlreadyThere),
            false => bail!("adding {email} failed: {}", stderr.trim()),
        }
    }

    /// Asks the server to stop (SIGTERM) and waits for it; kills it if it takes longer than 10 s.
    pub fn stop(&mut self) -> Result<()> {
        if self.child.try_wait()?.is_some() {
            return Ok(());
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        self.child.wait()?;
        bail!("the server did not stop within {GRACE:?} of SIGTERM and was killed")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("keyturn-server: {e:#}");
        }
    }
}
