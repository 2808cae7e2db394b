//! `tauri-driver`, stopped when dropped, and a look into the Secret Service. The account server runs as
//! [`keyturn_server_process::ServerProcess`], as it does for `cargo xtask demo`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::scenario::Theme;

/// `tauri-driver` on free ports. The app it launches inherits this environment: the server URL, its own
/// settings directory, and the theme.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    pub fn start(server_url: &str, config_home: &Path, theme: Theme, log: &Path) -> Result<Self> {
        std::fs::create_dir_all(config_home)?;
        let port = free_port()?;
        let native_port = free_port()?;
        let mut command = Command::new(tauri_driver());
        command
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env("KEYTURN_API_URL", server_url)
            .env("XDG_CONFIG_HOME", config_home)
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("GTK_THEME", theme.gtk_theme())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log)?);
        let child = command
            .spawn()
            .context("starting tauri-driver (cargo install tauri-driver --locked)")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("tauri-driver did not listen on port {port}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(Self { child, port })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn tauri_driver() -> PathBuf {
    let in_cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin/tauri-driver"));
    in_cargo_home
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("tauri-driver"))
}

/// Whether the Secret Service holds a Keyturn entry, asked through `secret-tool` as a user would. Only the
/// attribute lines are read; the secret itself is never printed.
pub fn keychain_has_entry() -> Result<bool> {
    let output = Command::new("secret-tool")
        .args(["search", "--all", "service", "app.keyturn.desktop"])
        .output()
        .context("running secret-tool")?;
    let listing = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    Ok(listing
        .lines()
        .any(|l| l.starts_with("attribute.service = app.keyturn.desktop")))
}
