//! Two-factor authentication: turning it on, signing in with a code or a recovery code, turning it off, and
//! a server that requires it first.

use anyhow::{ensure, Result};
use secrecy::SecretString;

use super::{Run, PASSWORD};
use crate::ui::{button_xpath, Window};

impl Run {
    /// Sign-In and Security → Two-Factor Authentication → Turn On…: the password, then a QR code and the setup
    /// key, then a first code; the recovery codes are shown once, and Done without Copy asks first. Answers
    /// the setup key (spaces removed) and the recovery codes.
    pub(super) async fn turn_on_two_factor(&self, window: &Window) -> Result<(String, Vec<String>)> {
        window.text("Two-Factor Authentication").await?;
        window.click("Turn On…").await?;
        window.fill("Password", "not my password").await?;
        window.click("Continue").await?;
        window
            .wait_text("tf-error", "The email or password is incorrect.")
            .await?;
        window.fill("Password", PASSWORD).await?;
        window.click("Continue").await?;
        window.visible("//div[@id='tf-qr']/*[local-name()='svg']").await?;
        let secret = window.text_of("tf-secret").await?;
        ensure!(
            secret.split(' ').all(|group| group.len() <= 4) && secret.len() == 39,
            "the setup key shows in groups of four: {} chars",
            secret.len()
        );
        let secret = secret.replace(' ', "");
        ensure!(window.focused_id().await? == "tf-code", "the code field has the focus");
        window.screenshot("09a-two-factor-scan").await?;
        window
            .check_accessibility("turning on two-factor authentication")
            .await?;
        window.fill("Verification code", &totp_code(&secret, 0)?).await?;
        window.click("Turn On").await?;
        window.visible("//ul[@id='tf-codes']/li").await?;
        let codes: Vec<String> = serde_json::from_value(
            window
                .client
                .execute(
                    "return [...document.querySelectorAll('#tf-codes li')].map((li) => li.textContent);",
                    vec![],
                )
                .await?,
        )?;
        ensure!(
            codes.len() == keyturn_protocol::RECOVERY_CODES,
            "{} recovery codes shown",
            codes.len()
        );
        window.screenshot("09b-recovery-codes").await?;
        window.check_accessibility("the recovery codes").await?;
        window.click("Done").await?;
        window.text("They can't be shown again.").await?;
        window.click("Close").await?;
        window.gone("//dialog[@id='two-factor-dialog']").await?;
        window.button("Turn Off…").await?;
        window.screenshot("09c-two-factor-on").await?;
        let on = self
            .api
            .session(
                self.api
                    .sign_in_with_code(
                        &self.email,
                        &SecretString::from(PASSWORD),
                        Some(&SecretString::from(codes[codes.len() - 1].clone())),
                    )
                    .await?
                    .token,
            )
            .account()
            .await?;
        ensure!(on.second_factor, "the server has it on");
        Ok((secret, codes))
    }

    /// With two-factor authentication on, sign-in asks for a verification code after the password: a wrong
    /// code is refused in words, the right one signs in, and a recovery code works instead. Then Turn Off…
    /// with the password and a recovery code, and sign out.
    pub(super) async fn sign_in_with_second_factor(
        &self,
        window: &Window,
        secret: &str,
        recovery: &[String],
    ) -> Result<()> {
        window.fill("Server", &self.proxy.url()).await?;
        window.fill("Password", PASSWORD).await?;
        window.click("Sign In").await?;
        window
            .text("Enter the 6-digit code from your authenticator app.")
            .await?;
        ensure!(
            window.focused_id().await? == "signin-code",
            "the code field has the focus"
        );
        window.screenshot("14-verification-code").await?;
        window.check_accessibility("the verification code step").await?;
        let right: u32 = totp_code(secret, 0)?.parse()?;
        window
            .fill("Verification code", &format!("{:06}", (right + 1) % 1_000_000))
            .await?;
        window.click("Verify").await?;
        window
            .wait_text(
                "signin-error",
                "The verification code is incorrect or was already used. Enter the current code from your authenticator app.",
            )
            .await?;
        window.screenshot("15-verification-code-wrong").await?;
        // The confirming code may be this period's: the next period's is accepted one step early.
        window.fill("Verification code", &totp_code(secret, 1)?).await?;
        window.click("Verify").await?;
        window.text("Sign-In and Security").await?;

        window.click("Sign Out").await?;
        window.fill("Password", PASSWORD).await?;
        window.click("Sign In").await?;
        window.click("Use a recovery code instead").await?;
        window
            .text("Enter one of the recovery codes you saved when you turned on two-factor authentication.")
            .await?;
        window.screenshot("16-recovery-code").await?;
        window.fill("Recovery code", &recovery[0]).await?;
        window.click("Verify").await?;
        window.text("Sign-In and Security").await?;

        window.click("Turn Off…").await?;
        window.fill("Password", PASSWORD).await?;
        window.fill("Verification code", &recovery[1]).await?;
        window.screenshot("17-two-factor-off").await?;
        window
            .check_accessibility("turning off two-factor authentication")
            .await?;
        window.click("Turn Off").await?;
        window.gone("//dialog[@id='two-factor-off-dialog']").await?;
        window.button("Turn On…").await?;
        window.click("Sign Out").await?;
        window.visible(&button_xpath("Sign In")).await?;
        Ok(())
    }

    /// On a server that requires two-factor authentication before app-specific passwords, Create says so in
    /// the server's words and offers to turn it on.
    pub(super) async fn second_factor_required_first(&self, window: &Window) -> Result<()> {
        window.fill("Server", &self.strict_server).await?;
        window.fill("Password", PASSWORD).await?;
        window.click("Sign In").await?;
        // The server says at sign-in that it requires the second factor, so Generate explains before asking
        // for a label: "Not Now" goes back, and the label dialog never opens.
        window.click("Generate an app-specific password").await?;
        window.text("Two-factor authentication is required").await?;
        window.gone("//dialog[@id='label-dialog']").await?;
        window.visible("//button[@id='tf-offer-later']").await?.click().await?;
        window.gone("//dialog[@id='two-factor-offer-dialog']").await?;
        ensure!(
            window.focused_id().await? == "generate",
            "Not Now gives the focus back to Generate"
        );
        window.click("Generate an app-specific password").await?;
        window.text("Two-factor authentication is required").await?;
        window
            .text("Turn on two-factor authentication before making app-specific passwords.")
            .await?;
        ensure!(
            window.focused_id().await? == "tf-offer-turn-on",
            "Turn On… has the focus"
        );
        window.screenshot("18-second-factor-required").await?;
        window.check_accessibility("two-factor authentication required").await?;
        window
            .visible("//button[@id='tf-offer-turn-on']")
            .await?
            .click()
            .await?;
        window.text("Enter your password to continue.").await?;
        window.visible("//button[@id='tf-cancel']").await?.click().await?;
        window.gone("//dialog[@id='two-factor-dialog']").await?;
        window.click("Sign Out").await?;
        window.visible(&button_xpath("Sign In")).await?;
        Ok(())
    }
}

/// The code an authenticator app shows for `secret` now, `steps` periods away (RFC 6238, as the server
/// checks it).
fn totp_code(secret: &str, steps: i64) -> Result<String> {
    let totp = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(totp_rs::Secret::try_from_base32(secret)?)
        .build()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    Ok(totp.generate(now.saturating_add_signed(30 * steps)).to_string())
}
