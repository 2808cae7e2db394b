//! What the command line asks for before any window opens: `--version` and `--help` print and exit, so a
//! package manager, a script or a support call can ask without a display. Anything else starts the app (a
//! WebDriver or a desktop launcher may add arguments of its own, which the app ignores).

/// What `keyturn ARGS…` does.
#[derive(Debug, PartialEq, Eq)]
pub enum Launch {
    Window,
    PrintVersion,
    PrintHelp,
}

impl Launch {
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Self {
        for arg in args {
            match arg.as_str() {
                "--version" | "-V" => return Self::PrintVersion,
                "--help" | "-h" => return Self::PrintHelp,
                _ => {}
            }
        }
        Self::Window
    }
}

pub fn version() -> String {
    format!("Keyturn {}", env!("CARGO_PKG_VERSION"))
}

pub fn help() -> String {
    format!(
        "{version}: app-specific passwords for your account.

Usage: keyturn [--help | --version]

Opens the Keyturn window. Only one Keyturn runs at a time: starting it again brings
the open window to the front.

Options:
  -h, --help       print this help and exit
  -V, --version    print the version and exit

Environment:
  KEYTURN_API_URL  the account server to use (otherwise the one last signed in to,
                   or {default})
  RUST_LOG         what the log records (default: info)

Files:
  settings.json in the app's config folder (~/.config/app.keyturn.desktop on Linux):
  the server and the last email, nothing secret. The session is kept in the system
  keychain. The log folder is shown under About in the app.
",
        version = version(),
        default = crate::settings::DEFAULT_SERVER_URL,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(args: &[&str]) -> Launch {
        Launch::from_args(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn version_and_help_win_over_other_arguments_and_anything_else_opens_the_window() {
        assert_eq!(launch(&[]), Launch::Window);
        assert_eq!(launch(&["--automation"]), Launch::Window);
        assert_eq!(launch(&["--version"]), Launch::PrintVersion);
        assert_eq!(launch(&["-V"]), Launch::PrintVersion);
        assert_eq!(launch(&["--automation", "--help"]), Launch::PrintHelp);
        assert_eq!(launch(&["-h"]), Launch::PrintHelp);
    }
}
