//! App-Specific Passwords: the label dialog, the one-time reveal and Copy, the list, Remove and Revoke All.

use anyhow::{ensure, Context, Result};
use keyturn_protocol::{ErrorCode, LabelError, MAX_LABEL_CHARS};

use super::Run;
use crate::ui::Window;

/// Click Create to the revealed password's first paint, with the default argon2 parameters: the goal, which
/// `cargo xtask bench` judges by the median of 15 creates.
const CREATE_TO_REVEAL_GOAL_MS: f64 = 150.0;
/// What one click here must stay under: one sample on a busy 2-core machine ranges 65-170 ms, so the story
/// fails on a regression (argon2 on the window's thread, a second round trip), not on noise.
const CREATE_TO_REVEAL_BOUND_MS: f64 = 3.0 * CREATE_TO_REVEAL_GOAL_MS;

impl Run {
    /// Generate → Label → Create → reveal; the password signs in at `whoami`; Done → gone from the page.
    pub(super) async fn generate_and_use(&self, window: &Window) -> Result<String> {
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
        window.check_accessibility("Label").await?;
        let create_ms = window
            .time_click_to_paint("label-create", "reveal-password", || async {
                create.click().await?;
                Ok(())
            })
            .await?;
        println!(
            "e2e: {}: Create to the revealed password: {create_ms:.0} ms (goal < {CREATE_TO_REVEAL_GOAL_MS} ms)",
            self.theme.name()
        );
        ensure!(
            create_ms < CREATE_TO_REVEAL_BOUND_MS,
            "Create to the reveal took {create_ms:.0} ms"
        );

        let password = window.text_of("reveal-password").await?;
        ensure!(
            is_grouped_password(&password),
            "the reveal shows xxxx-xxxx-xxxx-xxxx, not {} chars",
            password.len()
        );
        window.text("This password will only be displayed once.").await?;
        // The server names its services: the reveal says which host names to type, for every scope this
        // password reaches (all of them).
        window.visible("//ul[@id='reveal-where']").await?;
        let where_to_use = window.texts("//ul[@id='reveal-where']/li").await?;
        ensure!(
            where_to_use == [crate::scenario::WHERE_MAIL, crate::scenario::WHERE_CALENDARS],
            "the reveal names the mail and calendar hosts, not {where_to_use:?}"
        );
        window.screenshot("05-one-time-reveal").await?;
        window.check_accessibility("the one-time reveal").await?;
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

        // Copied: Done closes without asking.
        window.click("Done").await?;
        window.gone("//dialog[@id='reveal-dialog']").await?;
        window.gone("//dialog[@id='reveal-guard']").await?;
        ensure!(
            !window.page_source().await?.contains(&password),
            "the password is still in the page"
        );
        ensure!(
            !window.page_source().await?.contains(crate::scenario::WHERE_MAIL),
            "the host names are shown once, with the password"
        );
        window.text("Thunderbird on laptop").await?;
        window.wait_text("count", "1 of 25").await?;
        window.button("Add").await?;
        // whoami used it just now: said in words, exact on hover.
        window.text("Last used just now").await?;
        let exact = window.attribute("//time[@class='last-used']", "title").await?;
        ensure!(
            exact.contains(':') && !exact.contains("ago"),
            "the exact time is on hover: {exact:?}"
        );
        window.screenshot("06-list").await?;
        window.check_accessibility("App-Specific Passwords").await?;
        Ok(password)
    }

    pub(super) async fn remove_one(&self, window: &Window, password: &str) -> Result<()> {
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
        window.check_accessibility("Revoke").await?;
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

    /// Returns the passwords it made.
    pub(super) async fn revoke_all(&self, window: &Window) -> Result<Vec<String>> {
        let mail = self
            .create_through_ui(window, "Generate an app-specific password", "Mail", Leave::Done)
            .await?;
        let calendar = self.create_through_ui(window, "Add", "Calendar", Leave::Escape).await?;
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
        for password in [&mail, &calendar] {
            let refused = self.api.whoami(&self.email, password).await;
            ensure!(
                refused.is_err_and(|e| e.is(ErrorCode::InvalidCredentials)),
                "Revoke All revoked every password"
            );
        }
        Ok(vec![mail, calendar])
    }

    /// Makes a password and closes the reveal without copying it: Keyturn asks first, Go Back keeps it.
    async fn create_through_ui(&self, window: &Window, open_with: &str, label: &str, leave: Leave) -> Result<String> {
        window.click(open_with).await?;
        window.fill("Label", label).await?;
        window.click("Create").await?;
        let password = window.text_of("reveal-password").await?;
        ensure!(is_grouped_password(&password), "a password of the right shape");
        let close = || async {
            match leave {
                Leave::Done => window.click("Done").await,
                Leave::Escape => window.press_escape().await,
            }
        };
        close().await?;
        window.text("Did you copy the password?").await?;
        window.text("It can't be shown again.").await?;
        ensure!(window.focused_text().await? == "Go Back", "Go Back is the default");
        if matches!(leave, Leave::Done) {
            window.screenshot("08a-reveal-guard").await?;
        }
        window.click("Go Back").await?;
        window.gone("//dialog[@id='reveal-guard']").await?;
        ensure!(
            window.text_of("reveal-password").await? == password,
            "Go Back keeps the password on screen"
        );
        close().await?;
        window.click("Close").await?;
        window.gone("//dialog[@id='reveal-dialog']").await?;
        window.text(label).await?;
        Ok(password)
    }
}

/// How the story closes a reveal.
#[derive(Clone, Copy)]
enum Leave {
    Done,
    Escape,
}

pub(super) fn is_grouped_password(text: &str) -> bool {
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
