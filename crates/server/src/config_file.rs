//! The server's configuration file, `/etc/keyturn/server.conf` by default: `NAME=value` lines whose names are
//! the settings' environment variables (`KEYTURN_DB=/var/lib/keyturn/keyturn.db`). `serve` and the admin
//! commands both read it, so support staff reach the service's database without typing its path. A value
//! there is a default: the environment overrides it, and a flag overrides both.
//!
//! `KEYTURN_CONFIG` names another file (which must then exist), or, empty, none: tests and development runs
//! are not steered by a machine's installed configuration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// Where the package puts it.
pub const DEFAULT_PATH: &str = "/etc/keyturn/server.conf";

/// The file to read and its text, if any: `KEYTURN_CONFIG`'s (required to exist and be readable), else the
/// default path when it exists. The default one unreadable (a user outside the `keyturn` group) is skipped
/// with a warning: `--help`, or a command given `--db`, still works for that user.
fn chosen() -> anyhow::Result<Option<(PathBuf, String)>> {
    match std::env::var_os("KEYTURN_CONFIG") {
        Some(named) if named.is_empty() => Ok(None),
        Some(named) => {
            let path = PathBuf::from(named);
            if !path.is_file() {
                bail!("KEYTURN_CONFIG names {}, which is not a file", path.display());
            }
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            Ok(Some((path, text)))
        }
        None => {
            let path = PathBuf::from(DEFAULT_PATH);
            if !path.is_file() {
                return Ok(None);
            }
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some((path, text))),
                Err(e) => {
                    eprintln!(
                        "keyturn-server: not reading {DEFAULT_PATH} ({e}); run as the service's user (sudo -u keyturn …) to use its settings"
                    );
                    Ok(None)
                }
            }
        }
    }
}

/// The command line with the chosen file's values as its defaults. A name the command line does not know
/// is an error, with its line: a misspelt setting must not be silently ignored.
pub fn apply(command: clap::Command) -> anyhow::Result<clap::Command> {
    let Some((path, text)) = chosen()? else {
        return Ok(command);
    };
    let values = parse(&text, &path, &known_names(&command))?;
    Ok(with_defaults(command, &values))
}

/// Every environment variable an argument of `command` or of its subcommands reads.
fn known_names(command: &clap::Command) -> Vec<String> {
    let mut names: Vec<String> = command
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|env| env.to_string_lossy().into_owned())
        .collect();
    for sub in command.get_subcommands() {
        names.extend(known_names(sub));
    }
    names
}

/// `NAME=value` lines; blank lines and `#` comments skipped; a value may be wrapped in single or double
/// quotes (as systemd's `EnvironmentFile=` allows), which are removed.
fn parse(text: &str, path: &Path, known: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let at = || format!("{}:{}", path.display(), index + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            bail!(
                "{}: expected NAME=value, as in KEYTURN_DB=/var/lib/keyturn/keyturn.db",
                at()
            );
        };
        let name = name.trim();
        if !known.iter().any(|k| k == name) {
            bail!(
                "{}: unknown setting {name:?} (the settings are the KEYTURN_… variables of --help)",
                at()
            );
        }
        let value = value.trim();
        let value = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|(open, close)| value.strip_prefix(*open)?.strip_suffix(*close))
            .unwrap_or(value);
        values.insert(name.to_owned(), value.to_owned());
    }
    Ok(values)
}

fn with_defaults(command: clap::Command, values: &BTreeMap<String, String>) -> clap::Command {
    command
        .mut_args(|arg| {
            let value = arg
                .get_env()
                .and_then(|env| values.get(env.to_string_lossy().as_ref()))
                .cloned();
            // Hidden in --help: a value there may be a database URL with its password.
            match value {
                Some(value) => arg.default_value(value).hide_default_value(true),
                None => arg,
            }
        })
        .mut_subcommands(|sub| with_defaults(sub, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        vec!["KEYTURN_DB".to_owned(), "KEYTURN_LISTEN".to_owned()]
    }

    #[test]
    fn reads_names_values_quotes_and_comments() {
        let text = "# the service's\n\nKEYTURN_DB = \"/var/lib/keyturn/keyturn.db\"\nKEYTURN_LISTEN='127.0.0.1:1'\n";
        let values = parse(text, Path::new("c"), &known()).unwrap();
        assert_eq!(values["KEYTURN_DB"], "/var/lib/keyturn/keyturn.db");
        assert_eq!(values["KEYTURN_LISTEN"], "127.0.0.1:1");
        assert_eq!(values.len(), 2);
    }

    #[test]
    fn an_unknown_name_or_a_line_without_equals_is_an_error_with_its_line() {
        let error = parse("KEYTURN_DB=a\nKEYTURN_DBB=b\n", Path::new("c"), &known()).unwrap_err();
        assert!(
            error.to_string().starts_with("c:2: unknown setting \"KEYTURN_DBB\""),
            "{error}"
        );
        let error = parse("KEYTURN_DB\n", Path::new("c"), &known()).unwrap_err();
        assert!(error.to_string().starts_with("c:1: expected NAME=value"), "{error}");
    }

    #[test]
    fn a_value_is_a_default_that_a_flag_overrides() {
        let command = || {
            clap::Command::new("t")
                .subcommand(clap::Command::new("serve").arg(clap::Arg::new("db").long("db").env("KEYTURN_T_DB_UNSET")))
        };
        let values = BTreeMap::from([("KEYTURN_T_DB_UNSET".to_owned(), "from-file".to_owned())]);
        let matches = with_defaults(command(), &values).get_matches_from(["t", "serve"]);
        let serve = matches.subcommand_matches("serve").unwrap();
        assert_eq!(serve.get_one::<String>("db").unwrap(), "from-file");
        let matches = with_defaults(command(), &values).get_matches_from(["t", "serve", "--db", "flag"]);
        let serve = matches.subcommand_matches("serve").unwrap();
        assert_eq!(serve.get_one::<String>("db").unwrap(), "flag");
        assert_eq!(known_names(&command()), vec!["KEYTURN_T_DB_UNSET".to_owned()]);
    }
}
