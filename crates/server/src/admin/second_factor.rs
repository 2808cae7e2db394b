//! The support staff's `second-factor` commands: a user's two-factor status, and the reset for a lost phone.

use std::io::Write;

use chrono::{DateTime, Utc};
use keyturn_protocol::Email;
use serde::Serialize;

use super::{account, when, write_json};
use crate::store::{AuditKind, Origin, Store};

#[derive(Serialize)]
struct SecondFactorLine {
    email: Email,
    /// "on", "off", or "pending" (set up, never confirmed).
    state: &'static str,
    enabled_at: Option<DateTime<Utc>>,
    recovery_codes_left: u32,
}

/// Whether a user has two-factor authentication on, since when, and how many recovery codes are left.
pub async fn second_factor_status(store: &Store, email: &str, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let account = account(store, email).await?;
    let row = store.second_factor(&account.id).await?;
    let line = SecondFactorLine {
        state: match &row {
            None => "off",
            Some(row) if row.enabled_at.is_none() => "pending",
            Some(_) => "on",
        },
        enabled_at: row.and_then(|row| row.enabled_at),
        recovery_codes_left: store.recovery_codes_left(&account.id).await?,
        email: account.email,
    };
    if json {
        return write_json(out, &line);
    }
    match line.state {
        "on" => writeln!(
            out,
            "Two-factor authentication is on for {} since {}; {} of {} recovery codes left.",
            line.email,
            when(line.enabled_at),
            line.recovery_codes_left,
            keyturn_protocol::RECOVERY_CODES
        )?,
        "pending" => writeln!(
            out,
            "Two-factor authentication is off for {}: set up, but never confirmed with a code.",
            line.email
        )?,
        _ => writeln!(out, "Two-factor authentication is off for {}.", line.email)?,
    }
    Ok(())
}

/// For a user who lost the phone: turns two-factor authentication off and deletes the recovery codes, so
/// they sign in with the password alone and can turn it on again. Audited.
pub async fn second_factor_reset(store: &Store, email: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let account = account(store, email).await?;
    let removed = store
        .remove_second_factor(
            &account.id,
            AuditKind::SecondFactorReset,
            None,
            Origin::AdminCli,
            Utc::now(),
        )
        .await?;
    if removed {
        writeln!(
            out,
            "Two-factor authentication is now off for {}. They sign in with their password and can turn it on again.",
            account.email
        )?;
    } else {
        writeln!(out, "Two-factor authentication was already off for {}.", account.email)?;
    }
    Ok(())
}
