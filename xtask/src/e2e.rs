//! `cargo xtask e2e`: builds the app, the server and the runner, then runs the runner in a virtual display
//! with its own D-Bus session and an unlocked GNOME Keyring (a real Secret Service), isolated from the
//! user's own keyrings.

use anyhow::Result;
use std::path::Path;

use crate::{cargo, keyring, run, setup, workspace_root};

/// The story against the debug build of the app.
pub fn run_e2e() -> Result<()> {
    let root = workspace_root();
    run_against(&root.join("target/debug/keyturn"))
}

/// The story against `app`: the debug build, or the binary the .deb installed.
pub fn run_against(app: &Path) -> Result<()> {
    setup::install()?;
    setup::install_tauri_driver()?;
    let axe = setup::install_axe_core()?;
    // The whole workspace, so features unify as in `cargo test --workspace` and nothing is rebuilt twice.
    cargo(&["build", "--workspace"])?;
    let root = workspace_root();
    let keyrings = root.join("target/e2e-keyring");
    let _ = std::fs::remove_dir_all(&keyrings);
    std::fs::create_dir_all(&keyrings)?;
    let runner = root.join("target/debug/keyturn-e2e");
    println!("$ xvfb-run dbus-run-session keyturn-e2e   (app: {})", app.display());
    let xvfb = ["xvfb-run", "--auto-servernum", "--server-args=-screen 0 1280x900x24"];
    run(keyring::in_private_session(&xvfb, &runner, &keyrings)
        .env("KEYTURN_E2E_APP", app)
        .env("KEYTURN_E2E_AXE", axe)
        .env("KEYTURN_E2E_DRIVER", setup::tauri_driver_path())
        .current_dir(&root))
}
