//! `tauri-driver`, stopped when dropped, and a look into the Secret Service. The account server runs as
//! [`keyturn_server_process::ServerProcess`], as it does for `cargo xtask demo`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::scenario::Theme;

/// The environment the app runs in: the server URL, its own settings directory, and the theme.
pub struct AppEnv {
    vars: Vec<(&'static str, String)>,
    config_home: PathBuf,
}

impl AppEnv {
    pub fn new(server_url: &str, config_home: &Path, theme: Theme) -> Result<Self> {
        std::fs::create_dir_all(config_home)?;
        Ok(Self {
            vars: vec![
                ("KEYTURN_API_URL", server_url.to_owned()),
                ("XDG_CONFIG_HOME", config_home.display().to_string()),
                ("WEBKIT_DISABLE_COMPOSITING_MODE", "1".to_owned()),
                ("GTK_THEME", theme.gtk_theme().to_owned()),
            ],
            config_home: config_home.to_owned(),
        })
    }

    pub fn apply<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command.envs(self.vars.iter().map(|(k, v)| (k, v)))
    }

    /// Waits until the app has written its window's size and place (it does once the window settles).
    pub async fn wait_for_window_state(&self) -> Result<()> {
        let file = self.config_home.join("app.keyturn.desktop/.window-state.json");
        let deadline = Instant::now() + Duration::from_secs(5);
        let started = std::fs::metadata(&file).and_then(|m| m.modified()).ok();
        loop {
            let now = std::fs::metadata(&file).and_then(|m| m.modified()).ok();
            if now.is_some() && now != started {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the window's place was not saved in {}", file.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The app's settings file (server and last email).
    pub fn settings_file(&self) -> PathBuf {
        self.config_home.join("app.keyturn.desktop/settings.json")
    }

    /// The folder of the app's log files (the platform's log folder for its identifier).
    pub fn log_dir() -> Result<PathBuf> {
        let data_home = std::env::var_os("XDG_DATA_HOME").context("XDG_DATA_HOME is set by xtask")?;
        Ok(PathBuf::from(data_home).join("app.keyturn.desktop/logs"))
    }
}

/// `tauri-driver` on free ports. The app it launches inherits the [`AppEnv`].
pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// `KEYTURN_E2E_DRIVER`, where xtask found `tauri-driver`, or else the one on the PATH.
    pub fn start(app_env: &AppEnv, log: &Path) -> Result<Self> {
        let program =
            std::env::var_os("KEYTURN_E2E_DRIVER").map_or_else(|| PathBuf::from("tauri-driver"), PathBuf::from);
        Self::start_program(&program, app_env, log)
    }

    /// The `tauri-driver` at `program`.
    pub fn start_program(program: &Path, app_env: &AppEnv, log: &Path) -> Result<Self> {
        let port = free_port()?;
        let native_port = free_port()?;
        let mut command = Command::new(program);
        app_env
            .apply(&mut command)
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
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

/// The session token the Secret Service holds, to check it appears nowhere else. Never printed.
pub fn keychain_token() -> Result<String> {
    let output = Command::new("secret-tool")
        .args(["lookup", "service", "app.keyturn.desktop"])
        .output()
        .context("running secret-tool")?;
    anyhow::ensure!(
        output.status.success() && !output.stdout.is_empty(),
        "no token in the keychain"
    );
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
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
