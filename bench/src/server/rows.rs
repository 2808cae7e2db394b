//! App sign-in latency against the number of stored app passwords (10k, 100k, 1M), with the server's start
//! time and the database's size at each.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use keyturn_server_process::ServerProcess;

use super::{answered, basic, fresh_db, migrate_and_add_owner, ms};
use crate::report::{Goal, Report};
use crate::seed::{self, Seeder};
use crate::wrk::{Request, Wrk};
use crate::Scale;

/// App sign-in latency (cached: the row is still read) against the number of stored app passwords.
pub(super) fn rows(
    server_bin: &Path,
    out: &Path,
    scale: &Scale,
    report: &mut Report,
    wrk: &Wrk,
    runtime: &tokio::runtime::Runtime,
) -> Result<()> {
    let mut first_p50 = None;
    for &(accounts, per_account) in scale.row_sets {
        let rows = accounts * per_account;
        let name = format!("rows-{rows}");
        let db = fresh_db(out, &name)?;
        let primary_hash = migrate_and_add_owner(server_bin, &db, out, runtime)?;
        println!("bench: seeding {rows} app-specific passwords across {accounts} accounts");
        let started = Instant::now();
        let credentials = runtime.block_on(async {
            let mut seeder = Seeder::open(&db, primary_hash).await?;
            let credentials = seeder
                .accounts(1..accounts + 1, per_account, seed::real_passwords(32)?)
                .await?;
            seeder.close().await?;
            anyhow::Ok(credentials)
        })?;
        println!("bench: seeded in {:.1} s", started.elapsed().as_secs_f64());
        let started = Instant::now();
        let log = out.join(format!("server-{name}.log"));
        let server = ServerProcess::start(server_bin, &db, Some(&log))?;
        let start_ms = started.elapsed().as_secs_f64() * 1000.0;
        let requests: Vec<Request> = credentials.iter().map(basic).collect();
        // Once each, so the measured ones are cached: what varies with the rows is the row read.
        wrk.run(&format!("{name}-warm"), &server.url, &requests, 1, 1, 1)?;
        let outcome = wrk.run(&name, &server.url, &requests, 1, 1, scale.latency_secs)?;
        answered(&outcome, "sign-ins", &log)?;
        let label = human(rows);
        report.add(
            &format!("rows_{rows}_start"),
            &format!("server start with {label} app passwords"),
            start_ms,
            "ms",
            None,
        );
        report.add(
            &format!("rows_{rows}_p50"),
            &format!("app sign-in with {label} app passwords, p50"),
            ms(outcome.p50_us),
            "ms",
            None,
        );
        report.add(
            &format!("rows_{rows}_p99"),
            &format!("app sign-in with {label} app passwords, p99"),
            ms(outcome.p99_us),
            "ms",
            None,
        );
        let size = db_size_mb(&db)?;
        report.add(
            &format!("rows_{rows}_db"),
            &format!("database size with {label} app passwords"),
            size,
            "MB",
            None,
        );
        match first_p50 {
            None => first_p50 = Some(outcome.p50_us),
            Some(first) => {
                let goal = (rows >= 1_000_000 || rows == scale.row_sets.last().map_or(0, |r| r.0 * r.1))
                    .then_some(Goal::Below(1.2));
                report.add(
                    &format!("rows_{rows}_ratio"),
                    &format!(
                        "app sign-in p50 with {label} against {}",
                        human(scale.row_sets[0].0 * scale.row_sets[0].1)
                    ),
                    outcome.p50_us / first,
                    "ratio",
                    goal,
                );
            }
        }
        drop(server);
    }
    Ok(())
}

fn db_size_mb(db: &Path) -> Result<f64> {
    let mut bytes = 0;
    for suffix in ["", "-wal"] {
        if let Ok(meta) = std::fs::metadata(format!("{}{suffix}", db.display())) {
            bytes += meta.len();
        }
    }
    Ok(bytes as f64 / 1e6)
}

fn human(rows: usize) -> String {
    match rows {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}
