//! `cargo xtask integrations`: Keyturn's app-specific passwords checked by real servers none of it wrote:
//! OpenLDAP's `ldapwhoami`, Dovecot (IMAP) binding over LDAP with Python's `imaplib` signing in, and nginx's
//! `auth_request` in front of Radicale with the `caldav` package as the calendar app. The servers run from
//! the configs in `deploy/`, filled in for loopback ports in a temporary folder; the scenario itself is the
//! `integrations` test of crates/api-tests.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::setup::install_packages;
use crate::{cargo_with_env, workspace_root};

/// Debian's servers and clients the scenario runs.
const PACKAGES: &[&str] = &["dovecot-imapd", "dovecot-ldap", "nginx", "radicale", "ldap-utils"];
/// The CalDAV client, from PyPI, in a virtualenv of its own.
const CALDAV_VERSION: &str = "3.6.0";
const VENV: &str = "target/integrations-venv";

pub fn run_integrations() -> Result<()> {
    install_servers()?;
    let python = crate::setup::python_venv(&workspace_root().join(VENV), "caldav", CALDAV_VERSION)?;
    let python = python.to_string_lossy().into_owned();
    cargo_with_env(
        &[
            "test",
            "-p",
            "keyturn-api-tests",
            "--test",
            "integrations",
            "--",
            "--ignored",
            // The installed package's story: `cargo xtask bundle` runs it, against /usr/bin/keyturn-server.
            "--skip",
            "installed::",
            "--test-threads=1",
            "--show-output",
        ],
        &[("KEYTURN_INTEGRATIONS_PYTHON", python.as_str())],
    )
}

/// The servers' packages, without their services starting (or staying started): the scenario runs its own,
/// unprivileged-port, from its own configs. Debian starts a service at install unless `policy-rc.d` says no.
fn install_servers() -> Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .copied()
        .filter(|p| !crate::setup::installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let policy = PathBuf::from("/usr/sbin/policy-rc.d");
    let ours = !policy.exists();
    if ours {
        as_root(&[
            "sh",
            "-c",
            "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d",
        ])
        .context("forbidding services to start during the install (policy-rc.d)")?;
    }
    let installed = install_packages(&missing);
    if ours {
        as_root(&["rm", "-f", "/usr/sbin/policy-rc.d"])?;
    }
    installed?;
    // The install may leave them enabled for the next boot; stop any that started anyway.
    for service in ["dovecot", "nginx", "radicale"] {
        let _ = Command::new("systemctl").args(["stop", service]).output();
    }
    Ok(())
}

fn as_root(args: &[&str]) -> Result<()> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let mut command = if root {
        let mut c = Command::new(args[0]);
        c.args(&args[1..]);
        c
    } else {
        let mut c = Command::new("sudo");
        c.args(args);
        c
    };
    crate::run(&mut command)
}
