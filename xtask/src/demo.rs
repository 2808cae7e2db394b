//! `cargo xtask demo`: a local server with a demo account, and the app pointed at it.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};
use keyturn_server_process::ServerProcess;

use crate::{cargo, keyring, setup, workspace_root};

pub const DEMO_EMAIL: &str = "demo@keyturn.test";
pub const DEMO_PASSWORD: &str = "keyturn-demo-password";

pub fn run() -> Result<()> {
    setup::install()?;
    cargo(&["build", "--workspace"])?;
    let root = workspace_root();
    let demo_dir = root.join("target/demo");
    std::fs::create_dir_all(&demo_dir)?;
    let db = demo_dir.join("keyturn.db");
    // The server refuses a database others can read; one left by an older demo may predate that rule.
    #[cfg(unix)]
    if db.exists() {
        std::fs::set_permissions(&db, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    }
    let server = ServerProcess::start(
        &root.join("target/debug/keyturn-server"),
        &db,
        Some(&demo_dir.join("server.log")),
    )?;
    // Created once; later runs find it already there.
    server.add_account(DEMO_EMAIL, DEMO_PASSWORD)?;
    let _display = VirtualDisplay::start_if_needed()?;
    println!();
    println!("Keyturn account API: {}", server.url);
    println!("Demo account:        {DEMO_EMAIL}");
    println!("Demo password:       {DEMO_PASSWORD}");
    println!();
    println!("Starting Keyturn; the server stops when you close the app.");
    let app = root.join("target/debug/keyturn");
    // Without a session bus there is no keychain: start one with an unlocked keyring (kept in target/demo, so
    // a later demo finds the session again), and the demo shows what a desktop user sees.
    let mut command = if keyring::has_session_bus() {
        Command::new(&app)
    } else {
        println!("No D-Bus session: Keyturn gets its own, with a GNOME Keyring for the demo.");
        keyring::in_private_session(&[], &app, &demo_dir.join("keyring"))
    };
    let status = command
        .env("KEYTURN_API_URL", &server.url)
        .status()
        .context("starting the Keyturn app")?;
    println!("Keyturn exited ({status}); stopping the server.");
    Ok(())
}

/// On a machine without a display, an Xvfb screen for the app (look at it with
/// `DISPLAY=:N import -window root shot.png`).
struct VirtualDisplay(Option<Child>);

impl VirtualDisplay {
    fn start_if_needed() -> Result<Self> {
        if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some() {
            return Ok(Self(None));
        }
        let number = (90..200)
            .find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
            .unwrap_or(99);
        let child = Command::new("Xvfb")
            .args([format!(":{number}"), "-screen".into(), "0".into(), "1280x900x24".into()])
            .stderr(Stdio::null())
            .spawn()
            .context("starting Xvfb")?;
        std::thread::sleep(std::time::Duration::from_millis(500));
        std::env::set_var("DISPLAY", format!(":{number}"));
        println!("No display found: Keyturn runs in a virtual display :{number}.");
        println!("See it with: DISPLAY=:{number} import -window root keyturn.png");
        Ok(Self(Some(child)))
    }
}

impl Drop for VirtualDisplay {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
