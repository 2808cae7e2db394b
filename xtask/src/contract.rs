//! `cargo xtask contract`: schemathesis (from PyPI) fuzzes the live server against docs/openapi.json: every
//! operation, a bounded number of generated requests from a fixed seed, to a server on loopback. It fails on
//! any 5xx and on any answer that does not match its documented schema. schemathesis is installed once, at its
//! pinned version, into a virtualenv of its own under `target/`: Debian's python3 refuses `pip install` into
//! the system (PEP 668's EXTERNALLY-MANAGED), and nothing outside the tree is touched.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use keyturn_server_process::ServerProcess;

use crate::workspace_root;

const SCHEMATHESIS_VERSION: &str = "4.32.5";
/// The virtualenv that holds schemathesis, under the workspace root.
const VENV: &str = "target/contract-venv";
const EMAIL: &str = "contract@keyturn.test";
const PASSWORD: &str = "contract test passphrase";

pub fn run_contract() -> Result<()> {
    let root = workspace_root();
    let st = install_schemathesis(&root.join(VENV))?;
    crate::cargo(&["build", "--workspace"])?;
    let dir = root.join("target/contract");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let server = ServerProcess::start(
        &root.join("target/debug/keyturn-server"),
        &dir.join("keyturn.db"),
        Some(&dir.join("server.log")),
    )?;
    server.add_account(EMAIL, PASSWORD)?;
    // Two runs: everything but the calls that end the session or check the password, while the session lives;
    // then those. Their generated wrong passwords trip the sign-in throttle, which would refuse the second
    // run's own sign-in.
    let ends_the_session = [
        "DELETE /v1/sessions/current",
        "POST /v1/account/password",
        "POST /v1/account/totp",
        "DELETE /v1/account/totp",
    ];
    for (which, pass) in [
        ("--exclude-name", "while signed in"),
        ("--include-name", "the calls that end a session or check the password"),
    ] {
        let token = sign_in(&server.url)?;
        println!(
            "$ st run docs/openapi.json --url {} ({pass}; 25 examples per operation, seed 1)",
            server.url
        );
        let mut st = Command::new(&st);
        st.args(["run", "docs/openapi.json", "--url", &server.url, "--no-color"])
            .args(["--max-examples", "25", "--seed", "1"])
            .args(["--checks", "not_a_server_error,response_schema_conformance"])
            .arg("-H")
            .arg(format!("Authorization: Bearer {token}"))
            .current_dir(&root);
        for name in ends_the_session {
            st.args([which, name]);
        }
        // Not `run`: on failure it would print the command line, and with it the session token.
        let status = st.status().context("starting schemathesis (st)")?;
        if !status.success() {
            bail!("schemathesis found answers that break the contract (see above)");
        }
    }
    Ok(())
}

/// The `st` command of a virtualenv at `venv` that holds schemathesis at [`SCHEMATHESIS_VERSION`].
fn install_schemathesis(venv: &Path) -> Result<PathBuf> {
    crate::setup::python_venv(venv, "schemathesis", SCHEMATHESIS_VERSION)?;
    Ok(venv.join("bin/st"))
}

/// A session token for the contract account, read from the server's answer and never printed.
fn sign_in(url: &str) -> Result<String> {
    let script = "import json, sys, urllib.request\n\
        body = json.dumps({'email': sys.argv[2], 'password': sys.argv[3]}).encode()\n\
        request = urllib.request.Request(sys.argv[1] + '/v1/sessions', data=body, headers={'content-type': 'application/json'})\n\
        print(json.load(urllib.request.urlopen(request))['token'])";
    let output = Command::new("python3")
        .args(["-c", script, url, EMAIL, PASSWORD])
        .stderr(Stdio::inherit())
        .output()
        .context("signing in with python3")?;
    if !output.status.success() {
        bail!("signing in to the contract server failed");
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}
