//! Cached app sign-in on PostgreSQL: one server instance, then two on the same database with the load split
//! between them (a wrk against each at once), the way several instances run behind a load balancer. On this
//! machine the instances, the load generators and PostgreSQL share the same cores: the figure shows what a
//! second instance costs and keeps, not how a larger machine scales.

use std::path::Path;

use anyhow::{Context, Result};
use keyturn_server_process::ServerProcess;
use secrecy::SecretString;

use crate::report::Report;
use crate::seed::{self, Credential};
use crate::server::{answered, basic, ms, CONNECTIONS};
use crate::wrk::{Outcome, Wrk};
use crate::Scale;

const EMAIL: &str = "instances@bench.test";

pub fn measure(server_bin: &Path, postgres: &str, out: &Path, scale: &Scale, report: &mut Report) -> Result<()> {
    let wrk = Wrk::new(&out.join("wrk"))?;
    let db = Path::new(postgres);
    let migrate = std::process::Command::new(server_bin)
        .args(["migrate", "--db", postgres])
        .output()?;
    anyhow::ensure!(
        migrate.status.success(),
        "migrating PostgreSQL: {}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let logs = [out.join("server-pg-a.log"), out.join("server-pg-b.log")];
    let a = ServerProcess::start(server_bin, db, Some(&logs[0]))?;
    let b = ServerProcess::start(server_bin, db, Some(&logs[1]))?;
    a.add_account(EMAIL, seed::PRIMARY)?;
    let credential = tokio::runtime::Runtime::new()?.block_on(app_password(&a.url))?;
    let requests = [basic(&credential)];
    // Each instance verifies it once, as a mail client's first sign-in there would.
    for (server, name) in [(&a, "a"), (&b, "b")] {
        wrk.run(&format!("pg-warm-{name}"), &server.url, &requests, 1, 1, 1)?;
    }

    let one = wrk.run("pg-one-instance", &a.url, &requests, CONNECTIONS, 2, scale.secs)?;
    answered(&one, "cached sign-ins on one PostgreSQL instance", &logs[0])?;
    let half = CONNECTIONS / 2;
    let (on_a, on_b) = std::thread::scope(|both| {
        let on_a = both.spawn(|| wrk.run("pg-two-instances-a", &a.url, &requests, half, 1, scale.secs));
        let on_b = both.spawn(|| wrk.run("pg-two-instances-b", &b.url, &requests, half, 1, scale.secs));
        (on_a.join(), on_b.join())
    });
    let on_a = on_a.map_err(|_| anyhow::anyhow!("the wrk against A panicked"))??;
    let on_b = on_b.map_err(|_| anyhow::anyhow!("the wrk against B panicked"))??;
    answered(&on_a, "cached sign-ins on instance A", &logs[0])?;
    answered(&on_b, "cached sign-ins on instance B", &logs[1])?;

    report.add(
        "pg_cached_app_sign_in",
        "cached app sign-in on PostgreSQL, one instance, 64 connections",
        one.per_second(),
        "/s",
        None,
    );
    report.add(
        "pg_cached_app_sign_in_p99",
        "cached app sign-in on PostgreSQL, one instance, p99",
        ms(one.p99_us),
        "ms",
        None,
    );
    let both = on_a.per_second() + on_b.per_second();
    report.add(
        "pg_two_instances_cached_app_sign_in",
        "cached app sign-in on PostgreSQL, two instances, 32 connections each",
        both,
        "/s",
        None,
    );
    report.add(
        "pg_two_instances_cached_app_sign_in_p99",
        "cached app sign-in on PostgreSQL, two instances, the slower instance's p99",
        ms(on_a.p99_us.max(on_b.p99_us)),
        "ms",
        None,
    );
    report.add(
        "pg_two_instances_to_one",
        "two PostgreSQL instances' cached sign-ins against one's, on the same cores",
        both / one.per_second(),
        "ratio",
        None,
    );
    print_split(&on_a, &on_b);
    Ok(())
}

/// A real app-specific password for the account, made through the API as the app makes one.
async fn app_password(url: &str) -> Result<Credential> {
    let client = keyturn_client::Client::new(url)?;
    let signed_in = client
        .sign_in(EMAIL, &SecretString::from(seed::PRIMARY))
        .await
        .context("signing in to PostgreSQL's first instance")?;
    let created = client
        .session(signed_in.token)
        .create_app_password("Mail on the bench")
        .await
        .context("creating the app-specific password")?;
    Ok(Credential {
        email: EMAIL.to_owned(),
        password: created.password.grouped().to_string(),
    })
}

fn print_split(a: &Outcome, b: &Outcome) {
    println!(
        "bench: two instances: A {:.0}/s p99 {:.2} ms, B {:.0}/s p99 {:.2} ms",
        a.per_second(),
        ms(a.p99_us),
        b.per_second(),
        ms(b.p99_us)
    );
}
