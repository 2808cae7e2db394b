//! Non-secret preferences in a small JSON file: the server URL and the last e-mail. Never a token.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Used when neither `KEYTURN_API_URL` nor a saved setting names a server.
pub const DEFAULT_SERVER_URL: &str = "https://accounts.keyturn.app";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_email: Option<String>,
}

/// The settings file; `None` keeps settings only in memory (tests).
pub struct SettingsFile {
    path: Option<PathBuf>,
}

impl SettingsFile {
    pub fn at(path: PathBuf) -> Self {
        Self { path: Some(path) }
    }

    pub fn in_memory() -> Self {
        Self { path: None }
    }

    /// A missing or unreadable file is the defaults: settings are a convenience, never a reason not to start.
    pub fn load(&self) -> Settings {
        let Some(path) = &self.path else {
            return Settings::default();
        };
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Written to a temporary file and renamed, so a crash never leaves half a file.
    pub fn save(&self, settings: &Settings) -> std::io::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        private_file(&tmp)?.write_all(&serde_json::to_vec_pretty(settings)?)?;
        std::fs::rename(tmp, path)
    }
}

/// A new (or emptied) file only its owner reads: 0600 on Unix, whatever the umask.
pub fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    // An existing file keeps its mode through `open`: made private here too.
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(file)
}

/// `KEYTURN_API_URL`, else the saved setting, else the built-in default; normalised.
pub fn server_url(env: Option<&str>, saved: &Settings) -> String {
    let chosen = env
        .filter(|s| !s.trim().is_empty())
        .or(saved.server_url.as_deref())
        .unwrap_or(DEFAULT_SERVER_URL);
    normalize_server_url(chosen)
}

/// One spelling per server, so the keychain entry saved at sign-in is the one found at launch.
pub fn normalize_server_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_wins_over_the_saved_setting_which_wins_over_the_default() {
        let saved = Settings {
            server_url: Some("https://saved.example".into()),
            last_email: None,
        };
        assert_eq!(server_url(Some("http://127.0.0.1:9"), &saved), "http://127.0.0.1:9");
        assert_eq!(server_url(None, &saved), "https://saved.example");
        assert_eq!(server_url(None, &Settings::default()), DEFAULT_SERVER_URL);
    }

    #[test]
    fn a_trailing_slash_or_space_names_the_same_server() {
        assert_eq!(
            server_url(Some(" http://127.0.0.1:9/ "), &Settings::default()),
            "http://127.0.0.1:9"
        );
        assert_eq!(normalize_server_url("https://a.example/"), "https://a.example");
    }

    #[test]
    fn settings_round_trip_and_a_corrupt_file_is_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::at(dir.path().join("nested/settings.json"));
        let settings = Settings {
            server_url: Some("https://a.example".into()),
            last_email: Some("a@b.c".into()),
        };
        file.save(&settings).unwrap();
        assert_eq!(file.load(), settings);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("nested/settings.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "settings.json is {mode:o}");
        }
        std::fs::write(dir.path().join("nested/settings.json"), b"{not json").unwrap();
        assert_eq!(file.load(), Settings::default());
    }
}
