//! The release server over loopback, under wrk: primary sign-in, cold and cached third-party sign-in against
//! the argon2 bound, list/create/revoke at 64 connections, its peak memory; then app sign-in against 10k,
//! 100k and 1M stored app-specific passwords, with the start time and the database's size.

use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use keyturn_protocol::{AppPassword, Verifier, VerifierParams};
use keyturn_server_process::ServerProcess;
use serde_json::json;

use crate::report::{Goal, Report};
use crate::seed::{self, Credential, Seeder};
use crate::wrk::{Outcome, Request, Wrk};
use crate::Scale;

mod resources;
mod rows;

use resources::argon2_bound;
pub use resources::peak_memory_mb;
use rows::rows;

pub(crate) const CONNECTIONS: u32 = 64;

pub fn measure(server_bin: &Path, out: &Path, scale: &Scale, report: &mut Report) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let wrk = Wrk::new(&out.join("wrk"))?;
    let threads = std::thread::available_parallelism().map_or(2, usize::from) as u32;

    // The bound: argon2 verifications at the server's parameters, on every core, in this process.
    let bound = argon2_bound(scale.latency_secs)?;
    report.add(
        "argon2_bound",
        "argon2 verifications on every core (the bound)",
        bound,
        "/s",
        None,
    );

    let db = fresh_db(out, "load")?;
    let primary_hash = migrate_and_add_owner(server_bin, &db, out, &runtime)?;
    let cold_count = (bound * f64::from(scale.cold_secs) * 1.5).ceil() as usize + 16;
    println!("bench: seeding {cold_count} real app-specific passwords and the load accounts");
    let (cold, cached, creators, revokers, lister) = runtime.block_on(async {
        let mut seeder = Seeder::open(&db, primary_hash).await?;
        let cold = seeder
            .accounts(1..cold_count + 1, 1, seed::real_passwords(cold_count)?)
            .await?;
        let base = cold_count + 1;
        let cached = seeder.accounts(base..base + 1, 10, seed::real_passwords(1)?).await?;
        let creators_range = base + 1..base + 1 + scale.load_accounts;
        seeder.accounts(creators_range.clone(), 0, Vec::new()).await?;
        let creators = seeder.sessions(creators_range.clone()).await?;
        let revokers_range = creators_range.end..creators_range.end + scale.load_accounts;
        seeder.accounts(revokers_range.clone(), 25, Vec::new()).await?;
        let revokers = seeder.sessions(revokers_range).await?;
        let lister = seeder.sessions(base..base + 1).await?;
        seeder.close().await?;
        anyhow::Ok((cold, cached, creators, revokers, lister))
    })?;
    let load_log = out.join("server-load.log");
    let server = ServerProcess::start_with(server_bin, &db, Some(&load_log), &["--ldap-listen", "127.0.0.1:0"])?;

    let sign_in = Request::get("/v1/sessions")
        .method("POST")
        .json(json!({"email": OWNER, "password": seed::PRIMARY}));
    let outcome = wrk.run("primary-sign-in", &server.url, &[sign_in], 1, 1, scale.latency_secs)?;
    answered(&outcome, "primary sign-ins", &load_log)?;
    report.add(
        "primary_sign_in_p50",
        "primary sign-in (one argon2), p50",
        ms(outcome.p50_us),
        "ms",
        None,
    );
    report.add(
        "primary_sign_in_p99",
        "primary sign-in (one argon2), p99",
        ms(outcome.p99_us),
        "ms",
        None,
    );

    let cold_requests: Vec<Request> = cold.iter().map(basic).collect();
    let outcome = wrk.run(
        "cold-app-sign-in",
        &server.url,
        &cold_requests,
        threads * 4,
        threads,
        scale.cold_secs,
    )?;
    ensure!(
        outcome.wrapped == 0,
        "cold sign-ins ran out of fresh passwords: {outcome:?}"
    );
    answered(&outcome, "cold sign-ins", &load_log)?;
    report.add(
        "cold_app_sign_in",
        "cold app sign-in (one argon2 each), throughput",
        outcome.per_second(),
        "/s",
        None,
    );
    report.add(
        "cold_to_bound",
        "cold app sign-in throughput against the argon2 bound",
        outcome.per_second() / bound,
        "ratio",
        Some(Goal::AtLeast(0.9)),
    );

    let cached_request = basic(&cached[0]);
    // One sign-in first, as a mail client makes before it polls: the rest find the password verified.
    wrk.run("cached-app-sign-in-warm", &server.url, &[basic(&cached[0])], 1, 1, 1)?;
    let outcome = wrk.run(
        "cached-app-sign-in",
        &server.url,
        &[cached_request],
        CONNECTIONS,
        threads,
        scale.secs,
    )?;
    answered(&outcome, "cached sign-ins", &load_log)?;
    report.add(
        "cached_app_sign_in",
        "cached app sign-in at 64 connections",
        outcome.per_second(),
        "/s",
        Some(Goal::AtLeast(20_000.0)),
    );
    report.add(
        "cached_app_sign_in_p50",
        "cached app sign-in at 64 connections, p50",
        ms(outcome.p50_us),
        "ms",
        None,
    );
    report.add(
        "cached_app_sign_in_p99",
        "cached app sign-in at 64 connections, p99",
        ms(outcome.p99_us),
        "ms",
        Some(Goal::Below(5.0)),
    );

    // The same password as a mail server checks it, over LDAP, at the same connections.
    let ldap_at = server
        .ldap
        .as_deref()
        .context("the server announced no LDAP address")?
        .parse()?;
    let dn = format!("uid={},ou=mail,dc=keyturn", cached[0].email);
    let binds = runtime.block_on(crate::ldap::binds(
        ldap_at,
        &dn,
        &cached[0].password,
        CONNECTIONS,
        scale.secs,
    ))?;
    ensure!(
        binds.refused == 0,
        "{} of {} cached LDAP binds were refused",
        binds.refused,
        binds.binds
    );
    report.add(
        "cached_ldap_bind",
        "cached LDAP bind at 64 connections",
        binds.per_second,
        "/s",
        None,
    );
    report.add(
        "cached_ldap_bind_p50",
        "cached LDAP bind at 64 connections, p50",
        binds.p50_ms,
        "ms",
        None,
    );
    report.add(
        "cached_ldap_bind_p99",
        "cached LDAP bind at 64 connections, p99",
        binds.p99_ms,
        "ms",
        None,
    );
    report.add(
        "ldap_to_whoami",
        "cached LDAP binds against cached whoami, same run",
        binds.per_second / outcome.per_second(),
        "ratio",
        None,
    );

    let list = Request::get("/v1/app-passwords").header("Authorization", format!("Bearer {}", lister[0].token));
    let outcome = wrk.run("list", &server.url, &[list], CONNECTIONS, threads, scale.secs)?;
    answered(&outcome, "lists", &load_log)?;
    report.add(
        "list_p50",
        "list (10 passwords) at 64 connections, p50",
        ms(outcome.p50_us),
        "ms",
        None,
    );
    report.add(
        "list_p99",
        "list (10 passwords) at 64 connections, p99",
        ms(outcome.p99_us),
        "ms",
        Some(Goal::Below(10.0)),
    );

    let verifier = Verifier::build(AppPassword::generate().expose().as_bytes(), VerifierParams::default())?;
    let mut creates = Vec::new();
    for n in 0..25 {
        for session in &creators {
            creates.push(
                Request::get("/v1/app-passwords")
                    .method("POST")
                    .header("Authorization", format!("Bearer {}", session.token))
                    .header("Idempotency-Key", format!("bench-{}-{n}", session.account))
                    .json(json!({
                        "label": format!("Bench {n}"),
                        "verifier": verifier.as_str(),
                        "lookup_tag": format!("{:08x}", n as u32 * 7919 + 1),
                    })),
            );
        }
    }
    let outcome = wrk.run("create", &server.url, &creates, CONNECTIONS, threads, scale.secs)?;
    ensure!(
        outcome.wrapped == 0,
        "creates ran out of accounts with room: {outcome:?}"
    );
    answered(&outcome, "creates", &load_log)?;
    report.add(
        "create_p50",
        "create at 64 connections, p50",
        ms(outcome.p50_us),
        "ms",
        None,
    );
    report.add(
        "create_p99",
        "create at 64 connections, p99",
        ms(outcome.p99_us),
        "ms",
        Some(Goal::Below(10.0)),
    );

    let mut revokes = Vec::new();
    for n in 0..25 {
        for session in &revokers {
            revokes.push(
                Request::get(format!(
                    "/v1/app-passwords/{}",
                    seed::app_password_id(session.account, n)
                ))
                .method("DELETE")
                .header("Authorization", format!("Bearer {}", session.token)),
            );
        }
    }
    let outcome = wrk.run("revoke", &server.url, &revokes, CONNECTIONS, threads, scale.secs)?;
    ensure!(outcome.wrapped == 0, "revokes ran out of passwords: {outcome:?}");
    answered(&outcome, "revokes", &load_log)?;
    report.add(
        "revoke_p50",
        "revoke at 64 connections, p50",
        ms(outcome.p50_us),
        "ms",
        None,
    );
    report.add(
        "revoke_p99",
        "revoke at 64 connections, p99",
        ms(outcome.p99_us),
        "ms",
        Some(Goal::Below(10.0)),
    );

    report.add(
        "server_peak_memory",
        "the server's peak resident memory under this load",
        peak_memory_mb(server.pid())?,
        "MB",
        None,
    );
    drop(server);

    rows(server_bin, out, scale, report, &wrk, &runtime)
}

/// The account whose primary password the sign-in figure uses, added through the admin CLI.
const OWNER: &str = "owner@bench.test";

/// Runs the server once on a new database (it applies the migrations), adds the owner account as support
/// staff would, and returns its password hash for the seeded accounts to share.
fn migrate_and_add_owner(
    server_bin: &Path,
    db: &Path,
    out: &Path,
    runtime: &tokio::runtime::Runtime,
) -> Result<String> {
    let server = ServerProcess::start(server_bin, db, Some(&out.join("server-migrate.log")))?;
    server.add_account(OWNER, seed::PRIMARY)?;
    drop(server);
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await?;
        let hash: (String,) = sqlx::query_as("SELECT password_hash FROM accounts WHERE email = ?")
            .bind(OWNER)
            .fetch_one(&mut conn)
            .await?;
        conn.close().await?;
        Ok(hash.0)
    })
}

/// Every request got a 2xx answer; otherwise an error with what the server answered and its last warnings
/// and errors.
pub(crate) fn answered(outcome: &Outcome, what: &str, log: &Path) -> Result<()> {
    if outcome.non2xx == 0 && outcome.errors == 0 {
        return Ok(());
    }
    let logged = std::fs::read_to_string(log).unwrap_or_default();
    let problems: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    bail!(
        "{what} failed: {outcome:?}; the server's last warnings: {:#?}",
        &problems[problems.len().saturating_sub(5)..]
    )
}

fn fresh_db(out: &Path, name: &str) -> Result<std::path::PathBuf> {
    let dir = out.join("db");
    std::fs::create_dir_all(&dir)?;
    let db = dir.join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    Ok(db)
}

pub(crate) fn basic(credential: &Credential) -> Request {
    use base64::Engine;
    let pair = format!("{}:{}", credential.email, credential.password);
    Request::get("/v1/app-auth/whoami").header(
        "Authorization",
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)),
    )
}

pub(crate) fn ms(us: f64) -> f64 {
    us / 1000.0
}
