//! `cargo xtask demo`: a local server with a demo account, and the app pointed at it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};

use crate::{cargo, setup, workspace_root};

pub const DEMO_EMAIL: &str = "demo@keyturn.test";
pub const DEMO_PASSWORD: &str = "keyturn-demo-password";

pub fn run() -> Result<()> {
    setup::install()?;
    cargo(&["build", "--package", "keyturn-server"])?;
    let root = workspace_root();
    let demo_dir = root.join("target/demo");
    std::fs::create_dir_all(&demo_dir)?;
    let db = demo_dir.join("keyturn.db");
    let server_bin = root.join("target/debug/keyturn-server");

    // Seed the demo account; it may exist from an earlier run.
    let mut add = Command::new(&server_bin)
        .args(["accounts", "add", DEMO_EMAIL, "--db"])
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    add.stdin.take().context("stdin")?.write_all(DEMO_PASSWORD.as_bytes())?;
    let added = add.wait_with_output()?;
    if !added.status.success() && !String::from_utf8_lossy(&added.stderr).contains("already exists") {
        anyhow::bail!(
            "seeding the demo account failed: {}",
            String::from_utf8_lossy(&added.stderr)
        );
    }

    let mut server = Server::start(&server_bin, &db)?;
    println!();
    println!("Keyturn account API: {}", server.url);
    println!("Demo account:        {DEMO_EMAIL}");
    println!("Demo password:       {DEMO_PASSWORD}");
    println!();
    println!("Press Ctrl-C to stop.");
    server.child.wait()?;
    Ok(())
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
