//! Running the admin CLI as support staff do: one command on a database, its output read back.

use std::ffi::OsStr;
use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::helpers::SERVER_BIN as BIN;

pub fn admin(db: impl AsRef<OsStr>, args: &[&str]) -> Output {
    Command::new(BIN).args(args).arg("--db").arg(db).output().unwrap()
}

/// What a command printed, once it succeeded.
pub fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// A new, empty database, as `migrate` makes it (admin commands create none).
pub fn migrated(db: &std::path::Path) {
    let out = Command::new(BIN).args(["migrate", "--db"]).arg(db).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `accounts add EMAIL` with the password on standard input.
pub fn add_with_stdin(db: impl AsRef<OsStr>, email: &str, password: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(["accounts", "add", email, "--db"])
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}
