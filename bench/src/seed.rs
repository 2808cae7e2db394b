//! The database, filled in bulk: accounts, sessions with known tokens, and app-specific passwords, written
//! straight into SQLite in large transactions (a million rows take seconds, not a million argon2 runs). Only
//! the passwords a measurement signs in with get real verifiers; the others share one valid verifier and
//! differ in their lookup tags, as real rows do.

use std::path::Path;

use anyhow::{Context, Result};
use keyturn_protocol::{AppPassword, LookupTag, Verifier, VerifierParams};
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

/// The primary password of every seeded account (one real hash, shared).
pub const PRIMARY: &str = "correct horse battery staple";

/// An app-specific password the measurements can sign in with.
pub struct Credential {
    pub email: String,
    pub password: String,
}

/// A seeded account's session, for the Bearer requests.
pub struct Session {
    pub account: usize,
    pub token: String,
}

pub struct Seeder {
    db: SqliteConnection,
    now_ms: i64,
    /// A valid verifier for rows nobody signs in with.
    filler: String,
    primary_hash: String,
}

impl Seeder {
    /// Opens a database the server has already migrated.
    pub async fn open(path: &Path, primary_hash: String) -> Result<Self> {
        let options = SqliteConnectOptions::new().filename(path).foreign_keys(true);
        let db = SqliteConnection::connect_with(&options)
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        let filler = Verifier::build(b"filler", VerifierParams::default())?
            .as_str()
            .to_owned();
        Ok(Self {
            db,
            now_ms: chrono::Utc::now().timestamp_millis(),
            filler,
            primary_hash,
        })
    }

    pub fn email(account: usize) -> String {
        format!("user{account}@bench.test")
    }

    fn account_id(account: usize) -> String {
        format!("00000000-0000-4000-8000-{account:012x}")
    }

    /// Accounts in `range`, each with `passwords` app-specific passwords; `real` are spread evenly over the
    /// range as the first password of their account. Returns what signs in with each real one.
    pub async fn accounts(
        &mut self,
        range: std::ops::Range<usize>,
        passwords: usize,
        real: Vec<Real>,
    ) -> Result<Vec<Credential>> {
        let stride = if real.is_empty() {
            usize::MAX
        } else {
            (range.len() / real.len()).max(1)
        };
        let mut real = real.into_iter();
        let mut credentials = Vec::new();
        let chunk = 5_000;
        let mut start = range.start;
        while start < range.end {
            let end = (start + chunk).min(range.end);
            let mut tx = self.db.begin().await?;
            for account in start..end {
                sqlx::query("INSERT INTO accounts (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)")
                    .bind(Self::account_id(account))
                    .bind(Self::email(account))
                    .bind(&self.primary_hash)
                    .bind(self.now_ms)
                    .execute(&mut *tx)
                    .await?;
                let mut first = (account - range.start)
                    .is_multiple_of(stride)
                    .then(|| real.next())
                    .flatten();
                for n in 0..passwords {
                    let (verifier, tag) = match first.take() {
                        Some(row) => {
                            credentials.push(Credential {
                                email: Self::email(account),
                                password: row.password,
                            });
                            (row.verifier, row.tag)
                        }
                        None => (self.filler.clone(), format!("{:08x}", (account * 31 + n) as u32)),
                    };
                    sqlx::query(
                        "INSERT INTO app_passwords (id, account_id, label, label_key, verifier, lookup_tag, created_at)
                         VALUES (?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(app_password_id(account, n))
                    .bind(Self::account_id(account))
                    .bind(format!("Seed {n}"))
                    .bind(format!("seed {n}"))
                    .bind(verifier)
                    .bind(tag)
                    .bind(self.now_ms)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            start = end;
        }
        Ok(credentials)
    }

    /// A session for each account in `range`, with a token known to the bench.
    pub async fn sessions(&mut self, range: std::ops::Range<usize>) -> Result<Vec<Session>> {
        let mut tx = self.db.begin().await?;
        let mut sessions = Vec::new();
        for account in range {
            let token = format!("bench-session-token-{account:08}-0123456789abcdef");
            sqlx::query(
                "INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(hex::encode(Sha256::digest(token.as_bytes())))
            .bind(Self::account_id(account))
            .bind(self.now_ms)
            .bind(self.now_ms)
            .bind(self.now_ms + 7 * 86_400_000)
            .execute(&mut *tx)
            .await?;
            sessions.push(Session { account, token });
        }
        tx.commit().await?;
        Ok(sessions)
    }

    pub async fn close(self) -> Result<()> {
        self.db.close().await?;
        Ok(())
    }
}

/// A real app-specific password with its verifier (argon2, at the server's default parameters) and tag.
pub struct Real {
    password: String,
    verifier: String,
    tag: String,
}

/// `n` real passwords, their verifiers built on every core.
pub fn real_passwords(n: usize) -> Result<Vec<Real>> {
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let per_thread = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || -> Result<Vec<Real>> {
                    let count = per_thread.min(n.saturating_sub(t * per_thread));
                    (0..count)
                        .map(|_| {
                            let password = AppPassword::generate();
                            let verifier = Verifier::build(password.expose().as_bytes(), VerifierParams::default())?;
                            Ok(Real {
                                tag: LookupTag::of(&password).as_str().to_owned(),
                                password: password.expose().to_owned(),
                                verifier: verifier.as_str().to_owned(),
                            })
                        })
                        .collect()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(n);
        for worker in workers {
            all.extend(
                worker
                    .join()
                    .map_err(|_| anyhow::anyhow!("a verifier thread panicked"))??,
            );
        }
        Ok(all)
    })
}

/// The id of an account's `n`-th seeded password.
pub fn app_password_id(account: usize, n: usize) -> String {
    format!("{:08x}-0000-4000-8000-{account:012x}", n)
}
