//! # Layout
//!
//! `keyturn-bench`, run by `cargo xtask bench [--quick]`: every speed claim measured the way it is used, as
//! ratios taken in one run, written to `report.json` and `report.md` with SVG plots.
//!
//! - [`server`]: the release `keyturn-server` over loopback under `wrk` ([`wrk`]), with a database filled
//!   in bulk ([`seed`]).
//! - [`desktop`]: the release app against a minimal Tauri window (`bench/baseline-app`), in Xvfb.
//! - [`report`] and [`plots`]: the figures, their goals, and the pictures.

mod desktop;
mod instances;
mod ldap;
mod plots;
mod report;
mod seed;
mod server;
mod wrk;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::report::{Goal, Measured, Report};

/// How much of everything a run does.
pub struct Scale {
    /// Seconds of load per throughput figure.
    pub secs: u32,
    /// Seconds per latency figure at one connection (and of the argon2 bound).
    pub latency_secs: u32,
    /// Seconds of cold sign-ins (each password used once).
    pub cold_secs: u32,
    /// Accounts with room for 25 creates (and as many with 25 passwords to revoke).
    pub load_accounts: usize,
    /// (accounts, app passwords per account) for the latency against stored rows.
    pub row_sets: &'static [(usize, usize)],
    /// Launches of each app for the desktop figures.
    pub launches: usize,
    /// Passwords made through the window for Create to reveal (at most 25, the cap).
    pub creates: usize,
}

const FULL: Scale = Scale {
    secs: 10,
    latency_secs: 5,
    cold_secs: 8,
    load_accounts: 4_000,
    row_sets: &[(1_000, 10), (10_000, 10), (100_000, 10)],
    launches: 7,
    creates: 15,
};

/// Every measurement, small: checks the harness, not the figures.
const QUICK: Scale = Scale {
    secs: 1,
    latency_secs: 1,
    cold_secs: 1,
    load_accounts: 300,
    row_sets: &[(100, 10), (1_000, 10)],
    launches: 1,
    creates: 2,
};

struct Args {
    quick: bool,
    /// `--desktop-only`: skip the server's figures (to iterate on the app's launch).
    desktop_only: bool,
    /// `--server-only`: skip the app's figures (to measure a change to the server without building the app).
    server_only: bool,
    out: PathBuf,
    server: PathBuf,
    app: PathBuf,
    baseline: PathBuf,
    driver: PathBuf,
    /// `--postgres URL`: a PostgreSQL server for the figures with server instances on it.
    postgres: Option<String>,
}

impl Args {
    fn parse() -> Result<Self> {
        let mut args = std::env::args().skip(1);
        let (mut quick, mut desktop_only, mut server_only) = (false, false, false);
        let (mut out, mut server, mut app, mut baseline, mut driver) = (None, None, None, None, None);
        let mut postgres = None;
        while let Some(arg) = args.next() {
            let mut value = || {
                args.next()
                    .map(PathBuf::from)
                    .with_context(|| format!("{arg} needs a value"))
            };
            match arg.as_str() {
                "--quick" => quick = true,
                "--desktop-only" => desktop_only = true,
                "--server-only" => server_only = true,
                "--out" => out = Some(value()?),
                "--server" => server = Some(value()?),
                "--app" => app = Some(value()?),
                "--baseline" => baseline = Some(value()?),
                "--tauri-driver" => driver = Some(value()?),
                "--postgres" => postgres = Some(value()?.display().to_string()),
                other => bail!("unknown argument {other}"),
            }
        }
        Ok(Self {
            quick,
            desktop_only,
            server_only,
            out: out.context("--out DIR")?,
            server: server.context("--server PATH")?,
            app: app.context("--app PATH")?,
            baseline: baseline.context("--baseline PATH")?,
            driver: driver.context("--tauri-driver PATH")?,
            postgres,
        })
    }
}

fn main() -> Result<()> {
    // sqlx and fantoccini both link rustls; name the one crypto provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse()?;
    let scale = if args.quick { QUICK } else { FULL };
    std::fs::create_dir_all(&args.out)?;
    let mut report = Report::new(args.quick);

    if !args.desktop_only {
        server::measure(&args.server, &args.out, &scale, &mut report)?;
        if let Some(postgres) = &args.postgres {
            instances::measure(&args.server, postgres, &args.out, &scale, &mut report)?;
        }
    }
    if !args.server_only {
        let programs = desktop::Programs {
            app: &args.app,
            baseline: &args.baseline,
            driver: &args.driver,
            server: &args.server,
        };
        desktop::measure(&programs, &args.out, &scale, &mut report)?;
        let size = std::fs::metadata(&args.app)?.len() as f64 / 1e6;
        report.add(
            "app_binary",
            "the release app binary",
            size,
            "MB",
            Some(Goal::Below(12.0)),
        );
    }

    let rows: Vec<usize> = scale.row_sets.iter().map(|(a, p)| a * p).collect();
    let measured = Measured {
        server: !args.desktop_only,
        postgres: !args.desktop_only && args.postgres.is_some(),
        desktop: !args.server_only,
        rows: &rows,
    };
    // Quick or full, a run that left a figure out fails; what it did produce is still written, to look at.
    if let Err(incomplete) = report.check_complete(&measured) {
        report.write(&args.out)?;
        return Err(incomplete);
    }
    plot(&mut report, &args.out, &scale, measured.server, measured.desktop)?;
    report.write(&args.out)?;
    println!("bench: report in {}", args.out.join("report.md").display());
    Ok(())
}

fn plot(report: &mut Report, out: &std::path::Path, scale: &Scale, server: bool, desktop: bool) -> Result<()> {
    let v = |key: &str| report.plotted(key);
    let mut plots = Vec::new();
    if server {
        plot_server(report, out, scale)?;
        plots = vec![
            ("Latency per operation".into(), "latency.svg".into()),
            (
                "Cold app sign-in against the argon2 bound".into(),
                "throughput.svg".into(),
            ),
            ("App sign-in against stored app passwords".into(), "rows.svg".into()),
        ];
    }
    if desktop {
        plots::bars(
            &out.join("desktop.svg"),
            "Keyturn against a minimal Tauri window",
            "ms / MB",
            &[
                ("launch (ms)".into(), v("baseline_launch")?),
                (String::new(), v("app_launch")?),
                ("memory (MB)".into(), v("baseline_memory")?),
                (String::new(), v("app_memory")?),
            ],
            Some(["baseline", "Keyturn"]),
        )?;
        plots.push(("Keyturn against a minimal Tauri window".into(), "desktop.svg".into()));
    }
    report.plots = plots;
    Ok(())
}

/// The server's plots: latency per operation, throughput against the bound, latency against stored rows.
fn plot_server(report: &Report, out: &std::path::Path, scale: &Scale) -> Result<()> {
    let v = |key: &str| report.plotted(key);
    let mut latency = Vec::new();
    for (op, key) in [
        ("sign-in", "primary_sign_in"),
        ("app sign-in", "cached_app_sign_in"),
        ("list", "list"),
        ("create", "create"),
        ("revoke", "revoke"),
    ] {
        // The pair's name under its first bar; the legend tells p50 from p99.
        latency.push((op.to_owned(), v(&format!("{key}_p50"))?));
        latency.push((String::new(), v(&format!("{key}_p99"))?));
    }
    plots::bars(
        &out.join("latency.svg"),
        "Latency per operation (primary sign-in at 1 connection, the rest at 64)",
        "ms",
        &latency,
        Some(["p50", "p99"]),
    )?;
    plots::bars(
        &out.join("throughput.svg"),
        "Cold app sign-in against the argon2 bound",
        "per second",
        &[
            ("argon2 bound".into(), v("argon2_bound")?),
            ("cold app sign-in".into(), v("cold_app_sign_in")?),
        ],
        None,
    )?;
    let rows: Vec<f64> = scale.row_sets.iter().map(|(a, p)| (a * p) as f64).collect();
    let series = |suffix: &str| -> Result<Vec<(f64, f64)>> {
        rows.iter()
            .map(|r| Ok((*r, v(&format!("rows_{}_{suffix}", *r as usize))?)))
            .collect()
    };
    plots::lines(
        &out.join("rows.svg"),
        "App sign-in against stored app passwords",
        "stored app passwords",
        "ms",
        &[("p50", series("p50")?), ("p99", series("p99")?)],
    )?;
    Ok(())
}
