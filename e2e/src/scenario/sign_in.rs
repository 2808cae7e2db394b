//! The sign-in screen: a wrong password, then the right one; sign-out, and the errors a wrong server address
//! meets.

use anyhow::{ensure, Context, Result};

use super::{Run, PASSWORD};
use crate::processes::keychain_has_entry;
use crate::ui::{button_xpath, Window};

impl Run {
    pub(super) async fn sign_in(&self, window: &Window) -> Result<()> {
        window.button("Sign In").await?;
        window.fill("Email", &self.email).await?;
        window.screenshot("01-sign-in").await?;
        window.check_accessibility("Sign in").await?;

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

    pub(super) async fn sign_out(&self, window: &Window) -> Result<()> {
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
