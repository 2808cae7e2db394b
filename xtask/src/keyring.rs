//! A private D-Bus session with an unlocked GNOME Keyring (a real Secret Service), for the end-to-end test
//! and for the demo on a machine that has no session bus of its own.

use std::path::Path;
use std::process::Command;

/// The throwaway keyring's password; it guards nothing but test and demo sessions. gnome-keyring refuses
/// every write to a keyring unlocked with an empty one.
const KEYRING_PASSWORD: &str = "keyturn-local";

/// `program` run inside `dbus-run-session` with an unlocked keyring kept under `data_home`
/// (`XDG_DATA_HOME`), isolated from the user's own keyrings; `wrapper` (such as `xvfb-run …`) goes first.
pub fn in_private_session(wrapper: &[&str], program: &Path, data_home: &Path) -> Command {
    let mut command = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut command = Command::new(first);
            command.args(rest).arg("dbus-run-session");
            command
        }
        None => Command::new("dbus-run-session"),
    };
    command
        .args(["--", "sh", "-c"])
        .arg(format!(
            "printf '%s' '{KEYRING_PASSWORD}' | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec \"$0\" \"$@\""
        ))
        .arg(program)
        .env("XDG_DATA_HOME", data_home);
    command
}

/// Whether this process has a session bus to find a Secret Service on.
pub fn has_session_bus() -> bool {
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
}
