//! `cargo xtask demo`: a local server with a demo account, and the app pointed at it.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};

use crate::{cargo, setup, workspace_root};

pub const DEMO_EMAIL: &str = "demo@keyturn.test";
pub const DEMO_PASSWORD: &str = "keyturn-demo-password";

pub fn run() -> Result<()> {
    setup::install()?;
    cargo(&["build", "--workspace"])?;
    let root = workspace_root();
    let demo_dir = root.join("target/demo");
    std::fs::create_dir_all(&demo_dir)?;
    let db = demo_dir.join("keyturn.db");
    let server_bin = root.join("target/debug/keyturn-server");
    seed_demo_account(&server_bin, &db)?;

    let server = Server::start(&server_bin, &db)?;
    let _display = VirtualDisplay::start_if_needed()?;
    println!();
    println!("Keyturn account API: {}", server.url);
    println!("Demo account:        {DEMO_EMAIL}");
    println!("Demo password:       {DEMO_PASSWORD}");
    println!();
    println!("Starting Keyturn; the server stops when you close the app.");
    let status = Command::new(root.join("target/debug/keyturn"))
        .env("KEYTURN_API_URL", &server.url)
        .status()
        .context("starting the Keyturn app")?;
    println!("Keyturn exited ({status}); stopping the server.");
    Ok(())
}

/// The demo account, created once; later runs find it already there.
fn seed_demo_account(server_bin: &Path, db: &Path) -> Result<()> {
    let mut add = Command::new(server_bin)
        .args(["accounts", "add", DEMO_EMAIL, "--db"])
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    add.stdin.take().context("stdin")?.write_all(DEMO_PASSWORD.as_bytes())?;
    let added = add.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&added.stderr);
    if !added.status.success() && !stderr.contains("already exists") {
        anyhow::bail!("seeding the demo account failed: {stderr}");
    }
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

pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    pub fn start(bin: &std::path::Path, db: &std::path::Path) -> Result<Self> {
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .stdout(Stdio::piped())
            .spawn()
            .context("starting keyturn-server")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .context("keyturn-server did not start")?
            .to_owned();
        Ok(Self { child, url })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
