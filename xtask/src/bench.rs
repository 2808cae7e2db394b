//! `cargo xtask bench [--quick] [--desktop-only]`: release builds of the server, the harness and the baseline
//! window beside the app the packages ship, then `keyturn-bench` in a virtual display with its own D-Bus
//! session. The report lands in `target/bench/` (report.json, report.md, SVG plots). `--quick` runs every
//! measurement small, to check the harness (CI runs it); `--desktop-only` measures the app alone.

use anyhow::Result;

use crate::{cargo, keyring, run, setup, workspace_root};

/// Runs the benchmarks against the app in `target/release`, the binary the packages are made from: call
/// it after `bundle::bundle`.
pub fn run_bench(quick: bool, desktop_only: bool, server_only: bool) -> Result<()> {
    setup::install_tauri_driver()?;
    let mut build = vec!["build", "--release", "-p", "keyturn-server", "-p", "keyturn-bench"];
    if !server_only {
        build.extend(["-p", "keyturn-baseline"]);
    }
    cargo(&build)?;
    let root = workspace_root();
    let release = root.join("target/release");
    let out = root.join("target/bench");
    let home = root.join("target/bench-home");
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home)?;
    let bench = release.join("keyturn-bench");
    let xvfb = ["xvfb-run", "--auto-servernum", "--server-args=-screen 0 1280x900x24"];
    let mut command = keyring::in_private_session(&xvfb, &bench, &home);
    command
        .arg("--out")
        .arg(&out)
        .arg("--server")
        .arg(release.join("keyturn-server"))
        .arg("--app")
        .arg(release.join("keyturn"))
        .arg("--baseline")
        .arg(release.join("keyturn-baseline"))
        .arg("--tauri-driver")
        .arg(setup::tauri_driver_path())
        // The harness builds thousands of verifiers (19 MiB of argon2 memory each) on two threads; with glibc's
        // sliding mmap threshold those land in the threads' heaps, which grew to 24 GB and were killed. Always
        // mmap'd, each is returned when it is freed.
        .env("MALLOC_MMAP_THRESHOLD_", "1048576")
        .current_dir(&root);
    if quick {
        command.arg("--quick");
    }
    if server_only {
        // The server's figures alone (no app, no window), to check a change to the server.
        command.arg("--server-only");
    }
    if desktop_only {
        // The app's figures alone (launch, memory, Create to the reveal), to check a change to the window.
        command.arg("--desktop-only");
        return run(&mut command);
    }
    // Server instances on PostgreSQL, in a throwaway cluster that goes when the bench ends.
    let cluster = crate::postgres::Cluster::start()?;
    command.arg("--postgres").arg(&cluster.url);
    run(&mut command)
}
