//! The story a user and a third-party app live through, each step asserted, with a screenshot of every
//! screen.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use keyturn_client::Client;

use std::time::{Duration, Instant};

use anyhow::bail;

use crate::processes::{keychain_has_entry, keychain_token, AppEnv};
use crate::proxy::Proxy;
use crate::ui::Window;

mod access_and_devices;
mod passwords;
mod sign_in;
mod two_factor;

pub const PASSWORD: &str = "correct horse battery staple";

/// The main server's services (`serve --service`), and what the reveal says of them.
pub const SERVICES: [&str; 6] = [
    "--service",
    "mail=imaps://mail.example.com:993",
    "--service",
    "mail=smtps://mail.example.com:465",
    "--service",
    "calendars=https://dav.example.com/",
];
pub const WHERE_MAIL: &str = "Use it in your mail app for mail.example.com.";
pub const WHERE_CALENDARS: &str = "Use it in your calendar app for dav.example.com.";

#[derive(Clone, Copy)]
pub enum Theme {
    Light,
    Dark,
}

impl Theme {
    pub fn name(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// WebKitGTK answers `prefers-color-scheme` from the GTK theme.
    pub fn gtk_theme(self) -> &'static str {
        match self {
            Theme::Light => "Adwaita",
            Theme::Dark => "Adwaita:dark",
        }
    }
}

pub struct Run {
    /// The account server, directly, as a third-party app reaches it.
    pub api: Client,
    pub app: PathBuf,
    pub app_env: AppEnv,
    pub axe: Option<PathBuf>,
    pub driver: String,
    /// Between the app and the server.
    pub proxy: Proxy,
    /// A server started with `--require-second-factor`, where the same account has it off.
    pub strict_server: String,
    pub shots: PathBuf,
    pub theme: Theme,
    pub email: String,
}

/// Where the story moves and sizes the window, to find it there after a restart.
const MOVED_WINDOW: (u32, u32, u32, u32) = (60, 40, 820, 700);

impl Run {
    async fn launch(&self) -> Result<Window> {
        Window::launch(
            &self.driver,
            &self.app,
            &self.shots,
            self.theme.name(),
            self.axe.as_deref(),
        )
        .await
    }

    pub async fn everything(&self) -> Result<()> {
        let window = self.launch().await?;
        self.sign_in(&window).await.context("signing in")?;
        let first = self.generate_and_use(&window).await.context("generating a password")?;
        self.about(&window).await.context("About")?;
        let (x, y, width, height) = MOVED_WINDOW;
        window.client.set_window_rect(x, y, width, height).await?;
        let placed = window.client.get_window_rect().await?;
        self.app_env.wait_for_window_state().await?;
        let token = keychain_token()?;

        window.close().await?;
        ensure!(keychain_has_entry()?, "the session token is in the keychain");
        let window = self.offline_at_launch().await.context("offline at launch")?;
        window.text(&self.email).await?;
        window.text("Thunderbird on laptop").await?;
        let restored = window.client.get_window_rect().await?;
        ensure!(
            restored == placed,
            "the window comes back where it was left: {placed:?}, not {restored:?}"
        );

        self.second_launch(&window).await.context("a second launch")?;
        self.remove_one(&window, &first)
            .await
            .context("removing one password")?;
        let mut more = self.revoke_all(&window).await.context("revoking all")?;
        more.push(
            self.access_rename_devices_activity(&window)
                .await
                .context("access, expiry, rename, devices and activity")?,
        );
        let (totp_secret, recovery) = self
            .turn_on_two_factor(&window)
            .await
            .context("turning on two-factor authentication")?;
        self.sign_out(&window).await.context("signing out")?;
        self.sign_in_with_second_factor(&window, &totp_secret, &recovery)
            .await
            .context("signing in with two-factor authentication")?;
        self.second_factor_required_first(&window)
            .await
            .context("a server that requires two-factor authentication")?;
        window.close().await?;

        let mut secrets = vec![PASSWORD.to_owned(), first, token];
        secrets.extend(more);
        secrets.extend(recovery);
        // The setup key as the window shows it (groups of four) and as the server sends it.
        secrets.push(
            totp_secret
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join(" "),
        );
        secrets.push(totp_secret);
        files_are_private(&self.app_env)?;
        log_holds_no_secret(&secrets)
    }

    /// The server can't be reached at launch: the kept session stays, and Try Again gets through once the
    /// network is back, without asking for the password.
    async fn offline_at_launch(&self) -> Result<Window> {
        self.proxy.unplug();
        let window = self.launch().await?;
        window
            .wait_text(
                "launch-error-text",
                "Keyturn can't reach the server. Check your internet connection and the server address under Advanced.",
            )
            .await?;
        ensure!(window.focused_text().await? == "Try Again", "Try Again has the focus");
        window.screenshot("06b-offline-at-launch").await?;
        self.proxy.plug().await?;
        window.click("Try Again").await?;
        window
            .text("Sign-In and Security")
            .await
            .context("Try Again goes straight to the list")?;
        Ok(window)
    }

    /// Starting Keyturn again while it runs hands over to the open window and exits.
    async fn second_launch(&self, window: &Window) -> Result<()> {
        println!("e2e: {}: start Keyturn a second time", self.theme.name());
        const HANDED_OVER: &str = "a second launch brought the open window to the front";
        let before = read_log()?.matches(HANDED_OVER).count();
        let mut second = self
            .app_env
            .apply(&mut std::process::Command::new(&self.app))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = second.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = second.kill();
                bail!("the second Keyturn did not hand over and exit");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        ensure!(status.success(), "the second Keyturn exited with {status}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while read_log()?.matches(HANDED_OVER).count() == before {
            ensure!(
                Instant::now() < deadline,
                "the open window was not told of the second launch"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        window.text("Sign-In and Security").await?;
        Ok(())
    }

    /// About names the version, the server in use and the log folder; the list names the server too.
    async fn about(&self, window: &Window) -> Result<()> {
        let host = self.proxy.url().trim_start_matches("http://").to_owned();
        window
            .wait_text("account-server", &format!("Connected to {host}"))
            .await?;
        window.click("About").await?;
        window.text("About Keyturn").await?;
        window.wait_text("about-version", env!("CARGO_PKG_VERSION")).await?;
        window.wait_text("about-server", &self.proxy.url()).await?;
        let logs = window.text_of("about-logs").await?;
        ensure!(
            Path::new(&logs) == AppEnv::log_dir()?,
            "About names the log folder, not {logs:?}"
        );
        window.screenshot("06a-about").await?;
        window.click("Close").await?;
        window.gone("//dialog[@id='about-dialog']").await
    }
}

/// Every log file the app wrote, as one text.
fn read_log() -> Result<String> {
    let dir = AppEnv::log_dir()?;
    let mut text = String::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("the log folder {}", dir.display()))? {
        text.push_str(&std::fs::read_to_string(entry?.path())?);
    }
    Ok(text)
}

/// The log says what happened and holds none of the secrets the story met.
/// The app's own files are its user's alone: settings.json and each log file 0600, the log folder 0700.
fn files_are_private(app_env: &AppEnv) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| -> Result<u32> { Ok(std::fs::metadata(path)?.permissions().mode() & 0o777) };
    let settings = app_env.settings_file();
    ensure!(
        mode(&settings)? == 0o600,
        "{} is {:o}",
        settings.display(),
        mode(&settings)?
    );
    let logs = AppEnv::log_dir()?;
    ensure!(mode(&logs)? == 0o700, "{} is {:o}", logs.display(), mode(&logs)?);
    for entry in std::fs::read_dir(&logs)? {
        let file = entry?.path();
        ensure!(mode(&file)? == 0o600, "{} is {:o}", file.display(), mode(&file)?);
    }
    println!("e2e: settings.json and the log files are 0600, the log folder 0700");
    Ok(())
}

fn log_holds_no_secret(secrets: &[String]) -> Result<()> {
    let log = read_log()?;
    for line in [
        "Keyturn started",
        "signed in",
        "app-specific password created",
        "signed out",
    ] {
        ensure!(log.contains(line), "the log says {line:?}");
    }
    for (n, secret) in secrets.iter().enumerate() {
        ensure!(
            !secret.is_empty() && !log.contains(secret.as_str()),
            "secret #{n} is in the log"
        );
        let ungrouped = secret.replace('-', "");
        ensure!(!log.contains(&ungrouped), "secret #{n}, ungrouped, is in the log");
    }
    println!(
        "e2e: the log ({} lines) holds none of {} secrets",
        log.lines().count(),
        secrets.len()
    );
    Ok(())
}
