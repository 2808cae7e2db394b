//! The support staff's commands: the same database as the server (which may be running), readable output,
//! and `--json` for scripts.

use std::io::Write;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use keyturn_protocol::wire::SessionInfo;
use keyturn_protocol::{Email, Label, Scopes, VerifierParams};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::credentials::{Argon2Limits, Argon2Pool};
use crate::session_token::{SESSION_ABSOLUTE, SESSION_IDLE};
use crate::store::{AccountRow, Origin, Store, StoreError};

mod second_factor;

pub use second_factor::{second_factor_reset, second_factor_status};

#[derive(Serialize)]
struct AccountLine {
    email: Email,
    active_app_passwords: u32,
    created_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct AppPasswordLine {
    label: String,
    scopes: Scopes,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    /// "active", "expired" or "revoked".
    state: &'static str,
    revoked_at: Option<DateTime<Utc>>,
}

/// An email as accounts are keyed, or an error that names the input.
pub fn parse_email(email: &str) -> anyhow::Result<Email> {
    Email::parse(email).with_context(|| format!("{:?} is not an email address", email.trim()))
}

pub async fn add_account(
    store: &Store,
    email: &str,
    password: SecretString,
    params: VerifierParams,
) -> anyhow::Result<()> {
    let email = parse_email(email)?;
    crate::password_policy::check(password.expose_secret(), &email)?;
    let hash = Argon2Pool::new(Argon2Limits::default())
        .hash_password(password, params)
        .await?;
    match store.create_account(&email, &hash, Utc::now()).await {
        Ok(_) => Ok(()),
        Err(StoreError::EmailTaken) => bail!("an account for {email} already exists"),
        Err(e) => Err(e.into()),
    }
}

pub async fn list_accounts(store: &Store, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let lines: Vec<AccountLine> = store
        .list_accounts()
        .await?
        .into_iter()
        .map(|(a, active)| AccountLine {
            email: a.email,
            active_app_passwords: active,
            created_at: a.created_at,
        })
        .collect();
    if json {
        return write_json(out, &lines);
    }
    if lines.is_empty() {
        writeln!(out, "No accounts.")?;
    }
    let width = lines.iter().map(|l| l.email.as_str().len()).max().unwrap_or(5).max(5);
    if !lines.is_empty() {
        writeln!(out, "{:width$}  {:>6}  CREATED", "EMAIL", "ACTIVE")?;
    }
    for l in &lines {
        writeln!(
            out,
            "{:width$}  {:>6}  {}",
            l.email.as_str(),
            l.active_app_passwords,
            when(Some(l.created_at))
        )?;
    }
    Ok(())
}

/// Every password the user ever had, with its state at `now`.
pub async fn list_app_passwords(
    store: &Store,
    email: &str,
    json: bool,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let account = account(store, email).await?;
    let lines: Vec<AppPasswordLine> = store
        .all_app_passwords(&account.id)
        .await?
        .into_iter()
        .map(|r| AppPasswordLine {
            state: r.state(now),
            label: r.label,
            scopes: r.scopes,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at.or(r.expires_at.filter(|at| *at <= now)),
        })
        .collect();
    if json {
        return write_json(out, &lines);
    }
    if lines.is_empty() {
        writeln!(out, "{} has no app-specific passwords.", account.email)?;
        return Ok(());
    }
    let width = lines.iter().map(|l| l.label.chars().count()).max().unwrap_or(5).max(5);
    let access = |l: &AppPasswordLine| {
        if l.scopes == Scopes::EVERYTHING {
            "all".to_owned()
        } else {
            l.scopes.to_string()
        }
    };
    let access_width = lines.iter().map(|l| access(l).len()).max().unwrap_or(6).max(6);
    writeln!(
        out,
        "{:width$}  {:access_width$}  {:20}  {:20}  {:20}  STATE",
        "LABEL", "ACCESS", "CREATED", "LAST USED", "EXPIRES"
    )?;
    for l in &lines {
        let pad = width - l.label.chars().count();
        let last = l
            .last_used_at
            .map_or_else(|| "Never used".to_owned(), |t| when(Some(t)));
        let expires = l.expires_at.map_or_else(|| "Never".to_owned(), |t| when(Some(t)));
        writeln!(
            out,
            "{}{}  {:access_width$}  {:20}  {:20}  {:20}  {}",
            l.label,
            " ".repeat(pad),
            access(l),
            when(Some(l.created_at)),
            last,
            expires,
            l.state
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct SessionLine {
    id: String,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    client: String,
    /// "active", or "lapsed": past its idle or absolute end, waiting for the server's purge.
    state: &'static str,
}

/// A user's signed-in devices, the newest sign-in first, those lapsed at `now` included and marked.
pub async fn list_sessions(
    store: &Store,
    email: &str,
    json: bool,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let account = account(store, email).await?;
    let lines: Vec<SessionLine> = store
        .sessions(&account.id, None, None)
        .await?
        .into_iter()
        .map(|s: SessionInfo| SessionLine {
            state: if now < s.last_seen_at + SESSION_IDLE && now < s.created_at + SESSION_ABSOLUTE {
                "active"
            } else {
                "lapsed"
            },
            id: s.id,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            client: s.client,
        })
        .collect();
    if json {
        return write_json(out, &lines);
    }
    if lines.is_empty() {
        writeln!(out, "{} is not signed in anywhere.", account.email)?;
        return Ok(());
    }
    let width = lines.iter().map(|s| s.id.len()).max().unwrap_or(2).max(2);
    writeln!(
        out,
        "{:width$}  {:20}  {:20}  {:6}  CLIENT",
        "ID", "SIGNED IN", "LAST SEEN", "STATE"
    )?;
    for s in &lines {
        writeln!(
            out,
            "{:width$}  {:20}  {:20}  {:6}  {}",
            s.id,
            when(Some(s.created_at)),
            when(Some(s.last_seen_at)),
            s.state,
            s.client
        )?;
    }
    Ok(())
}

/// Signs one of a user's devices out by the session's id (from `sessions list`); audited.
pub async fn end_session(store: &Store, email: &str, id: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let account = account(store, email).await?;
    if !store
        .end_session(&account.id, id.trim(), Origin::AdminCli, Utc::now())
        .await?
    {
        bail!("{} has no signed-in device with id {:?}", account.email, id.trim());
    }
    writeln!(out, "Signed out session {} of {}.", id.trim(), account.email)?;
    Ok(())
}

pub async fn revoke(
    store: &Store,
    email: &str,
    label: &str,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let account = account(store, email).await?;
    let label = Label::parse(label).map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(id) = store.active_id_by_label(&account.id, &label, now).await? else {
        bail!(
            "{} has no active app-specific password labelled {:?}",
            account.email,
            label.as_str()
        );
    };
    let revoked = store
        .revoke_app_password(&account.id, &id, Origin::AdminCli, now)
        .await?;
    let label = revoked.with_context(|| format!("{:?} was revoked meanwhile", label.as_str()))?;
    writeln!(
        out,
        "Revoked {label:?} for {}. The app using it is signed out.",
        account.email
    )?;
    Ok(())
}

pub async fn revoke_all(store: &Store, email: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let account = account(store, email).await?;
    let revoked = store
        .revoke_all_app_passwords(&account.id, Origin::AdminCli, Utc::now())
        .await?
        .len();
    let noun = if revoked == 1 { "password" } else { "passwords" };
    writeln!(out, "Revoked {revoked} app-specific {noun} for {}.", account.email)?;
    Ok(())
}

pub async fn audit(store: &Store, email: &str, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let account = account(store, email).await?;
    let events = store.audit_events(&account.id).await?;
    if json {
        return write_json(out, &events);
    }
    if events.is_empty() {
        writeln!(out, "No events for {}.", account.email)?;
        return Ok(());
    }
    let kind_width = events.iter().map(|e| e.kind.len()).max().unwrap_or(0).max(5);
    writeln!(out, "{:20}  {:kind_width$}  {:15}  DETAIL", "TIME", "EVENT", "FROM")?;
    for e in &events {
        writeln!(
            out,
            "{:20}  {:kind_width$}  {:15}  {}",
            when(Some(e.at)),
            e.kind,
            e.client_addr,
            e.detail
        )?;
    }
    Ok(())
}

async fn account(store: &Store, email: &str) -> anyhow::Result<AccountRow> {
    let email = parse_email(email)?;
    store
        .find_account_by_email(&email)
        .await?
        .with_context(|| format!("no account with email {email}"))
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

fn write_json(out: &mut dyn Write, value: &impl Serialize) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests;
