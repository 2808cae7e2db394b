//! The story a user and a third-party app live through, each step asserted, with a screenshot of every
//! screen.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use keyturn_client::Client;
use keyturn_protocol::{ErrorCode, LabelError, MAX_LABEL_CHARS};

use crate::processes::keychain_has_entry;
use crate::ui::{button_xpath, Window};

pub const PASSWORD: &str = "correct horse battery staple";

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
    api: Client,
    app: PathBuf,
    driver: String,
    shots: PathBuf,
    theme: Theme,
    email: String,
}

impl Run {
    pub fn new(server_url: &str, app: &Path, driver: String, shots: &Path, theme: Theme, email: &str) -> Result<Self> {
        Ok(Self {
            api: Client::new(server_url)?,
            app: app.to_owned(),
            driver,
            shots: shots.to_owned(),
            theme,
            email: email.to_owned(),
        })
    }

    async fn launch(&self) -> Result<Window> {
        Window::launch(&self.driver, &self.app, &self.shots, self.theme.name()).await
    }

    pub async fn everything(&self) -> Result<()> {
        let window = self.launch().await?;
        self.sign_in(&window).await.context("signing in")?;
        let first = self.generate_and_use(&window).await.context("generating a password")?;

        window.close().await?;
        ensure!(keychain_has_entry()?, "the session token is in the keychain");
        let window = self.launch().await?;
        window
            .text("Sign-In and Security")
            .await
            .context("a restart goes straight to the list")?;
        window.text(&self.email).await?;
        window.text("Thunderbird on laptop").await?;

        self.remove_one(&window, &first)
            .await
            .context("removing one password")?;
        self.revoke_all(&window).await.context("revoking all")?;
        self.sign_out(&window).await.context("signing out")?;
        window.close().await?;
        Ok(())
    }

    async fn sign_in(&self, window: &Window) -> Result<()> {
        window.button("Sign In").await?;
        window.fill("Email", &self.email).await?;
        window.screenshot("01-sign-in").await?;

        window.fill("Password", "not my password").await?;
        window.click("Sign In").await?;
        window
            .wait_text("signin-error", "The email or password is incorrect.")
            .await?;
        window.screenshot("02-sign-in-wrong-password").await?;

        window.fill("Password", PASSWORD).await?;
        window.click("Sign In").await?;
        window.text("Sign-In and Security").await?;
        window.text("App-Specific Passwords").await?;
        window
            .button("Generate an app-specific password")
            .await
            .context("the empty state")?;
        window.text(&self.email).await?;
        ensure!(
            !window.page_source().await?.contains(PASSWORD),
            "the primary password left the page"
        );
        window.screenshot("03-empty-state").await
    }

    /// Generate → Label → Create → reveal; the password signs in at `whoami`; Done → gone from the page.
    async fn generate_and_use(&self, window: &Window) -> Result<String> {
        window.click("Generate an app-specific password").await?;
        let create = window.button("Create").await?;
        ensure!(
            !create.is_enabled().await?,
            "Create is disabled while the label is empty"
        );
        ensure!(
            window.focused_id().await? == "label-input",
            "focus moved into the Label field"
        );
        window.text("e.g. Thunderbird on laptop").await?;
        // The counter and the rule come from the protocol, through app_info.
        window
            .wait_text("label-count", &format!("0 of {MAX_LABEL_CHARS}"))
            .await?;
        window.fill("Label", &"x".repeat(MAX_LABEL_CHARS + 1)).await?;
        window
            .wait_text("label-error", &LabelError::TooLong.to_string())
            .await?;
        ensure!(
            !create.is_enabled().await?,
            "Create is disabled while the label is too long"
        );
        window.screenshot("04-label-too-long").await?;
        window.fill("Label", "Thunderbird on laptop").await?;
        window
            .wait_text("label-count", &format!("21 of {MAX_LABEL_CHARS}"))
            .await?;
        ensure!(create.is_enabled().await?, "Create is enabled once there is a label");
        window.screenshot("04-label-dialog").await?;
        create.click().await?;

        let password = window.text_of("reveal-password").await?;
        ensure!(
            is_grouped_password(&password),
            "the reveal shows xxxx-xxxx-xxxx-xxxx, not {} chars",
            password.len()
        );
        window.text("This password will only be displayed once.").await?;
        window.screenshot("05-one-time-reveal").await?;
        window.click("Copy").await?;
        window
            .wait_text("copy-status", "Copied. Keyturn clears the clipboard in 60 seconds.")
            .await?;
        let offered = clipboard(&["-t", "TARGETS"])?;
        ensure!(
            offered.lines().any(|t| t == "x-kde-passwordManagerHint"),
            "the copy asks clipboard managers to keep it out of their history: {offered:?}"
        );
        ensure!(clipboard(&[])? == password, "the clipboard holds the password");

        let who = self
            .api
            .whoami(&self.email, &password)
            .await
            .context("the new password signs in")?;
        ensure!(who.label == "Thunderbird on laptop", "whoami names the label");

        window.click("Done").await?;
        window.gone("//dialog[@id='reveal-dialog']").await?;
        ensure!(
            !window.page_source().await?.contains(&password),
            "the password is still in the page"
        );
        window.text("Thunderbird on laptop").await?;
        window.wait_text("count", "1 of 25").await?;
        window.button("Add").await?;
        window.screenshot("06-list").await?;
        Ok(password)
    }

    async fn remove_one(&self, window: &Window, password: &str) -> Result<()> {
        window.click("Remove Thunderbird on laptop").await?;
        window.text("Revoke “Thunderbird on laptop”?").await?;
        window
            .text(
                "After you revoke a password, the app using that password will be signed out of your account until \
             you generate a new password and sign in again.",
            )
            .await?;
        ensure!(window.focused_text().await? == "Cancel", "focus starts on Cancel");
        window.screenshot("07-revoke-confirm").await?;
        window.click("Revoke").await?;
        window
            .button("Generate an app-specific password")
            .await
            .context("empty again")?;
        let refused = self.api.whoami(&self.email, password).await;
        ensure!(
            refused.is_err_and(|e| e.is(ErrorCode::InvalidCredentials)),
            "a removed password is refused"
        );
        Ok(())
    }

    async fn revoke_all(&self, window: &Window) -> Result<()> {
        let mail = self
            .create_through_ui(window, "Generate an app-specific password", "Mail")
            .await?;
        let calendar = self.create_through_ui(window, "Add", "Calendar").await?;
        window.wait_text("count", "2 of 25").await?;

        // A duplicate label is explained in the dialog and creates nothing.
        window.click("Add").await?;
        window.fill("Label", "mail").await?;
        window.click("Create").await?;
        window
            .wait_text(
                "label-error",
                "You already have an app-specific password with this label. Choose another label.",
            )
            .await?;
        window.screenshot("08-label-dialog-duplicate").await?;
        window.press_escape().await?;
        window.gone("//dialog[@id='label-dialog']").await?;
        ensure!(
            window.focused_id().await? == "add",
            "Escape cancels and the focus returns to Add"
        );
        window.wait_text("count", "2 of 25").await?;
        window.screenshot("09-list-two").await?;

        window.click("Revoke All").await?;
        window.text("Revoke all 2 app-specific passwords?").await?;
        window.screenshot("10-revoke-all-confirm").await?;
        window.click("Revoke").await?;
        window
            .button("Generate an app-specific password")
            .await
            .context("empty after Revoke All")?;
        for password in [mail, calendar] {
            let refused = self.api.whoami(&self.email, &password).await;
            ensure!(
                refused.is_err_and(|e| e.is(ErrorCode::InvalidCredentials)),
                "Revoke All revoked every password"
            );
        }
        Ok(())
    }

    async fn create_through_ui(&self, window: &Window, open_with: &str, label: &str) -> Result<String> {
        window.click(open_with).await?;
        window.fill("Label", label).await?;
        window.click("Create").await?;
        let password = window.text_of("reveal-password").await?;
        ensure!(is_grouped_password(&password), "a password of the right shape");
        window.click("Done").await?;
        window.gone("//dialog[@id='reveal-dialog']").await?;
        window.text(label).await?;
        Ok(password)
    }

    async fn sign_out(&self, window: &Window) -> Result<()> {
        window.click("Sign Out").await?;
        window.visible(&button_xpath("Sign In")).await?;
        window.screenshot("11-signed-out").await?;
        ensure!(!keychain_has_entry()?, "sign-out deletes the keychain entry");
        self.sign_in_errors(window).await
    }

    /// The sign-in errors a user meets with a wrong server address: unreachable, and http:// elsewhere.
    async fn sign_in_errors(&self, window: &Window) -> Result<()> {
        window
            .visible("//details[@id='signin-advanced']/summary")
            .await?
            .click()
            .await?;
        let unreachable = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            format!("http://{}", listener.local_addr()?)
        };
        window.fill("Server", &unreachable).await?;
        window.fill("Password", PASSWORD).await?;
        window.click("Sign In").await?;
        window
            .wait_text(
                "signin-error",
                "Keyturn can't reach the server. Check your internet connection and the server address under Advanced.",
            )
            .await?;
        window.screenshot("12-sign-in-unreachable").await?;
        window.fill("Server", "http://accounts.example.com").await?;
        window.fill("Password", PASSWORD).await?;
        window.click("Sign In").await?;
        window
            .wait_text(
                "signin-error",
                "The server address must start with https://. Only a server on this computer may use http://.",
            )
            .await?;
        window.screenshot("13-sign-in-http-refused").await
    }
}

fn is_grouped_password(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 4
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_lowercase()))
}

/// The X clipboard as another program sees it (`xclip -o`), with extra xclip arguments.
fn clipboard(args: &[&str]) -> Result<String> {
    let output = std::process::Command::new("xclip")
        .args(["-o", "-selection", "clipboard"])
        .args(args)
        .output()
        .context("running xclip")?;
    ensure!(
        output.status.success(),
        "xclip: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
