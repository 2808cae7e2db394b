//! The binary itself: `--version` and `--help` print and exit, with no display to open a window on.

use std::process::Command;

fn keyturn(arg: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_keyturn"))
        .arg(arg)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(output.status.success(), "keyturn {arg}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn version_and_help_print_and_exit_without_a_window() {
    assert_eq!(keyturn("--version"), format!("Keyturn {}\n", env!("CARGO_PKG_VERSION")));
    assert_eq!(keyturn("-V"), keyturn("--version"));
    let help = keyturn("--help");
    assert!(help.starts_with(&format!("Keyturn {}: ", env!("CARGO_PKG_VERSION"))));
    assert!(help.contains("Usage: keyturn [--help | --version]"));
    assert!(help.contains("KEYTURN_API_URL"));
}
