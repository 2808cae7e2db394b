//! `cargo xtask demo | ci | e2e | test-postgres | integrations | contract | bundle | bench | setup`: the README's
//! two commands, the end-to-end run, the server's tests on PostgreSQL, real mail and calendar servers checking
//! Keyturn's passwords, the contract fuzz, the packages and the benchmarks.
//!
//! Each installs what it needs on a fresh Debian/Ubuntu machine first (apt packages, tauri-driver), so a new
//! checkout needs nothing but Rust.

mod bench;
mod bundle;
mod contract;
mod demo;
mod e2e;
mod integrations;
mod keyring;
mod postgres;
mod server_package;
mod setup;

use std::process::Command;

use anyhow::{bail, Context, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("demo") => demo::run(),
        Some("e2e") => e2e::run_e2e(),
        Some("contract") => contract::run_contract(),
        Some("integrations") => setup::install().and_then(|()| integrations::run_integrations()),
        Some("test-postgres") => setup::install().and_then(|()| test_on_postgres()),
        Some("bundle") if args.get(1).is_some_and(|a| a == "--server-only") => {
            let deb = setup::install().and_then(|()| server_package::build())?;
            if args.iter().any(|a| a == "--check") {
                server_package::check_and_install(&deb)?;
            }
            Ok(())
        }
        Some("bundle") => {
            let bundles = bundle::bundle()?;
            if args.iter().any(|a| a == "--check") {
                bundle::check_and_install(&bundles)?;
            }
            Ok(())
        }
        // The app as it ships first: the binary the packages are made from.
        Some("bench") => {
            let flag = |name: &str| args.iter().skip(1).any(|a| a == name);
            if flag("--server-only") {
                bench::run_bench(flag("--quick"), false, true)
            } else {
                bundle::bundle().and_then(|_| bench::run_bench(flag("--quick"), flag("--desktop-only"), false))
            }
        }
        Some("setup") => setup::install()
            .and_then(|()| setup::install_tauri_driver())
            .and_then(|()| setup::install_tauri_cli())
            .and_then(|()| setup::install_cargo_machete())
            .and_then(|()| setup::install_cargo_deny()),
        _ => {
            eprintln!(
                "usage: cargo xtask <demo|ci|e2e|test-postgres|integrations|contract|bundle [--server-only] [--check]|bench [--quick] [--desktop-only|--server-only]|setup>"
            );
            eprintln!("  demo   run Keyturn against a local server with a demo account");
            eprintln!("  ci     install what is missing, then fmt, clippy, machete, deny, every test, the packages");
            eprintln!("         installed and the end-to-end test against the installed app");
            eprintln!("  e2e    the end-to-end test: the real app in a virtual display");
            eprintln!("  test-postgres  the server's integration tests on PostgreSQL (a throwaway cluster)");
            eprintln!(
                "  integrations  real Dovecot, nginx and Radicale (installed if missing) check Keyturn passwords"
            );
            eprintln!("  contract  schemathesis fuzzes the live server against docs/openapi.json");
            eprintln!("  bundle the app's .deb and .rpm and the server's .deb in target/release/bundle/ (installs");
            eprintln!("         tauri-cli if missing); --server-only: the server's alone; --check: lintian, install,");
            eprintln!("         and run the installed server from its configuration to an IMAP sign-in");
            eprintln!("  bench  measure the release server, the app and a baseline window: target/bench/report.md");
            eprintln!("         (--quick: every measurement, small, in CI; --server-only: no app, no window)");
            eprintln!("  setup  only install the system packages and tools");
            std::process::exit(2);
        }
    }
}

fn ci() -> Result<()> {
    setup::install()?;
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    setup::install_cargo_machete()?;
    cargo(&["machete"])?;
    setup::install_cargo_deny()?;
    // The advisories check needs the RustSec database from GitHub, out of reach here (see deny.toml).
    cargo(&["deny", "check", "licenses", "bans", "sources"])?;
    cargo(&["test", "--workspace"])?;
    test_on_postgres()?;
    integrations::run_integrations()?;
    contract::run_contract()?;
    // The shipped artifact itself: built, read, installed, and the whole story run against /usr/bin/keyturn.
    let bundles = bundle::bundle()?;
    let installed = bundle::check_and_install(&bundles)?;
    e2e::run_against(&installed)?;
    // Every benchmark, small, so the harness cannot rot; against the app just bundled.
    bench::run_bench(true, false, false)?;
    println!("xtask ci: all checks passed");
    Ok(())
}

/// The server's whole integration suite once more, on PostgreSQL in a throwaway cluster that speaks TLS only
/// (verified, `sslmode=verify-full`); then the TLS test itself, which a wrong root must fail.
fn test_on_postgres() -> Result<()> {
    let cluster = postgres::Cluster::start()?;
    let other_root = cluster.other_root.to_string_lossy().into_owned();
    let env = [
        ("KEYTURN_TEST_POSTGRES", cluster.url.as_str()),
        ("KEYTURN_TEST_POSTGRES_OTHER_ROOT", other_root.as_str()),
    ];
    cargo_with_env(&["test", "--workspace", "--test", "api"], &env)?;
    cargo_with_env(
        &[
            "test",
            "-p",
            "keyturn-api-tests",
            "--test",
            "api",
            "--",
            "--ignored",
            "--exact",
            "postgres_tls::postgres_is_reached_only_over_verified_tls_and_a_wrong_root_is_refused_clearly",
        ],
        &env,
    )
}

/// Runs cargo with the same toolchain that runs this xtask.
pub fn cargo(args: &[&str]) -> Result<()> {
    cargo_with_env(args, &[])
}

pub fn cargo_with_env(args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    println!("$ {}cargo {}", shown.concat(), args.join(" "));
    // `cargo xtask` runs with this crate's CARGO_PKG_NAME set; cargo-machete reads its presence as "not
    // started by cargo" and takes its own name for a path. No cargo command needs it.
    run(Command::new(cargo)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("CARGO_PKG_NAME")
        .current_dir(workspace_root()))
}

pub fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("starting {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default()
}
