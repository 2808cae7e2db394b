//! `cargo xtask e2e`: builds the app, the server and the runner, then runs the runner in a virtual display
//! with its own D-Bus session and an unlocked GNOME Keyring (a real Secret Service), isolated from the
//! user's own keyrings.

use std::process::Command;

use anyhow::Result;

use crate::{cargo, run, setup, workspace_root};

/// The throwaway keyring's password; it guards nothing but this run's test token.
const KEYRING_PASSWORD: &str = "keyturn-e2e";

pub fn run_e2e() -> Result<()> {
    setup::install()?;
    setup::install_tauri_driver()?;
    // The whole workspace, so features unify as in `cargo test --workspace` and nothing is rebuilt twice.
    cargo(&["build", "--workspace"])?;
    let root = workspace_root();
    let keyrings = root.join("target/e2e-keyring");
    let _ = std::fs::remove_dir_all(&keyrings);
    std::fs::create_dir_all(&keyrings)?;
    let runner = root.join("target/debug/keyturn-e2e");
    println!("$ xvfb-run dbus-run-session keyturn-e2e");
    run(Command::new("xvfb-run")
        .args(["--auto-servernum", "--server-args=-screen 0 1280x900x24", "dbus-run-session", "--", "sh", "-c"])
        .arg(format!(
            "printf '%s' '{KEYRING_PASSWORD}' | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec \"$0\""
        ))
        .arg(&runner)
        .env("XDG_DATA_HOME", &keyrings)
        .current_dir(&root))
}
