//! A password's Access and Expires, Rename, Signed-In Devices and Recent Activity.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use keyturn_protocol::{ErrorCode, Scope, ScopesError};
use secrecy::SecretString;

use super::passwords::is_grouped_password;
use super::{Run, PASSWORD};
use crate::ui::Window;

impl Run {
    /// With an empty list: a password for mail only that expires in 30 days (Access and Expires in the label
    /// dialog), refused for files; its row says so; Rename; another device signed out from Signed-In Devices
    /// and refused at once; Recent Activity in words; then the password is removed again. Answers it.
    pub(super) async fn access_rename_devices_activity(&self, window: &Window) -> Result<String> {
        let laptop = self.api.sign_in(&self.email, &SecretString::from(PASSWORD)).await?;
        let laptop = self.api.session(laptop.token);

        window.click("Generate an app-specific password").await?;
        window.fill("Label", "Mail on phone").await?;
        let create = window.button("Create").await?;
        for scope in Scope::ALL {
            let xpath = format!("//input[@id='scope-{scope}']");
            ensure!(
                window.visible(&xpath).await?.is_selected().await?,
                "{scope} is ticked when the dialog opens"
            );
            window.visible(&xpath).await?.click().await?;
        }
        window.wait_text("scope-error", &ScopesError::Empty.to_string()).await?;
        ensure!(
            !create.is_enabled().await?,
            "Create is disabled while nothing is ticked"
        );
        window.screenshot("10a-access-none").await?;
        window.visible("//input[@id='scope-mail']").await?.click().await?;
        window.gone("//*[@id='scope-error']").await?;
        for (n, choice) in ["Never", "30 days", "90 days", "1 year"].into_iter().enumerate() {
            let option = window
                .visible(&format!(
                    "//select[@id='expiry-select']/option[{}][normalize-space() = '{choice}']",
                    n + 1
                ))
                .await
                .with_context(|| format!("Expires offers {choice:?}"))?;
            ensure!(option.is_selected().await? == (n == 0), "Expires is Never until chosen");
        }
        window
            .visible("//select[@id='expiry-select']")
            .await?
            .select_by_value("30")
            .await?;
        ensure!(create.is_enabled().await?, "Create is enabled with Mail ticked");
        window.screenshot("10b-access-and-expiry").await?;
        window.check_accessibility("Access and Expires").await?;
        create.click().await?;
        let password = window.text_of("reveal-password").await?;
        ensure!(is_grouped_password(&password), "a password of the right shape");
        let where_to_use = window.texts("//ul[@id='reveal-where']/li").await?;
        ensure!(
            where_to_use == [crate::scenario::WHERE_MAIL],
            "a mail-only password names the mail host alone, not {where_to_use:?}"
        );
        window.click("Copy").await?;
        window.click("Done").await?;
        window.gone("//dialog[@id='reveal-dialog']").await?;

        self.api
            .whoami_for(&self.email, &password, Some(Scope::Mail))
            .await
            .context("a password for mail signs in to mail")?;
        let files = self.api.whoami_for(&self.email, &password, Some(Scope::Files)).await;
        ensure!(
            files.is_err_and(|e| e.is(ErrorCode::InsufficientScope)),
            "a password for mail is refused for files"
        );
        window
            .visible("//*[contains(@class,'password-scopes') and normalize-space()='Mail']")
            .await
            .context("the row names its access")?;
        window
            .text("Expires in 30 days")
            .await
            .context("the row says when it expires")?;
        window.screenshot("10c-list-access-and-expiry").await?;

        window.click("Rename Mail on phone").await?;
        let input = window.visible("//input[@id='rename-input']").await?;
        ensure!(
            input.prop("value").await?.as_deref() == Some("Mail on phone"),
            "Rename starts from the current label"
        );
        ensure!(
            window.focused_id().await? == "rename-input",
            "focus moved into the Rename field"
        );
        input.clear().await?;
        input.send_keys("Phone mail").await?;
        window.screenshot("10d-rename").await?;
        window.check_accessibility("Rename").await?;
        window.visible("//button[@id='rename-confirm']").await?.click().await?;
        window.gone("//dialog[@id='rename-dialog']").await?;
        window.text("Phone mail").await?;
        let who = self.api.whoami_for(&self.email, &password, Some(Scope::Mail)).await?;
        ensure!(who.label == "Phone mail", "whoami names the new label");

        // Signed-In Devices: this one marked, the laptop signed out from here.
        window
            .visible("//li[contains(@class,'device-row')]//*[contains(@class,'this-device')]")
            .await
            .context("this device is marked")?;
        let sign_out = window
            .visible("//button[contains(@class,'device-sign-out')]")
            .await
            .context("the other device has Sign Out")?;
        scroll_into_view(window, "devices-title").await?;
        window.screenshot("10e-devices").await?;
        sign_out.click().await?;
        window.text("Sign out this device?").await?;
        ensure!(window.focused_id().await? == "device-cancel", "focus starts on Cancel");
        window.screenshot("10f-device-sign-out").await?;
        window.check_accessibility("signing out a device").await?;
        window.visible("//button[@id='device-confirm']").await?.click().await?;
        window.gone("//dialog[@id='device-dialog']").await?;
        window.gone("//button[contains(@class,'device-sign-out')]").await?;
        let refused = laptop.account().await;
        ensure!(
            refused.is_err_and(|e| e.is(ErrorCode::Unauthenticated)),
            "the device signed out from here is refused at once"
        );

        // Recent Activity, newest first, in words, each with when ("· just now", "· 2 minutes ago").
        for line in [
            "App-specific password renamed to “Phone mail” from 127.0.0.1",
            "Mail on phone signed in from 127.0.0.1",
            "App-specific password “Mail on phone” created from 127.0.0.1",
        ] {
            window
                .visible(&format!(
                    "//li[contains(@class,'activity-row') and starts-with(normalize-space(), '{line} · ')]\
                     [.//span[@data-relative][normalize-space() = 'just now' or contains(normalize-space(), ' ago')]]"
                ))
                .await
                .with_context(|| format!("Recent Activity says {line:?}"))?;
        }
        scroll_into_view(window, "activity-title").await?;
        window.screenshot("10g-activity").await?;
        window
            .check_accessibility("Signed-In Devices and Recent Activity")
            .await?;

        window.click("Remove Phone mail").await?;
        window.click("Revoke").await?;
        window
            .button("Generate an app-specific password")
            .await
            .context("empty again")?;
        Ok(password)
    }
}

/// Brings a card into the window, for its screenshot.
async fn scroll_into_view(window: &Window, id: &str) -> Result<()> {
    window
        .client
        .execute(
            &format!("document.getElementById('{id}').scrollIntoView({{block: 'start'}});"),
            vec![],
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}
