//! The app's log: to stderr, and to a file in the platform's log folder (`~/.local/share/app.keyturn.desktop/
//! logs` on Linux), a new file each day and the last [`KEPT_FILES`] kept. What is logged never holds a
//! password or a token: those types have no `Display`, and their `Debug` is redacted.

use std::path::{Path, PathBuf};

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Days of log files kept.
pub const KEPT_FILES: usize = 7;

/// Starts logging; returns the folder the log file is in, or `None` when only stderr could be used.
pub fn init(dir: Option<&Path>) -> Option<PathBuf> {
    let filter =
        || EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn,keyturn=info,keyturn_client=info".into());
    let file = dir.and_then(|dir| match daily_file(dir) {
        Ok(file) => Some((dir.to_path_buf(), file)),
        Err(e) => {
            eprintln!("Keyturn logs to stderr only: {}: {e}", dir.display());
            None
        }
    });
    let (folder, file) = file.unzip();
    tracing_subscriber::registry()
        .with(fmt::layer().with_writer(std::io::stderr).with_filter(filter()))
        .with(file.map(|file| fmt::layer().with_ansi(false).with_writer(file).with_filter(filter())))
        .try_init()
        .ok()?;
    folder
}

/// The daily files in a folder only the user may open (0700 on Unix), each file readable by its owner only:
/// the appender makes each day's file itself, with the process's umask, which `private_umask` sets.
fn daily_file(dir: &Path) -> Result<RollingFileAppender, Box<dyn std::error::Error>> {
    // Created first: the appender looks for old files to prune in it at once.
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        // Files an earlier version left readable by others are made private too.
        for entry in std::fs::read_dir(dir)?.flatten() {
            if entry.file_name().to_string_lossy().starts_with("keyturn") {
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("keyturn")
        .filename_suffix("log")
        .max_log_files(KEPT_FILES)
        .build(dir)?)
}

/// Every file the app creates from here on (the log's daily files among them) is its user's alone: 0600 files,
/// 0700 folders. Called first thing, before any thread starts.
pub fn private_umask() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_log_folder_and_its_files_are_the_users_alone() {
        private_umask();
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        // An earlier version's file, readable by everyone.
        let old = logs.join("keyturn.2026-01-01.log");
        std::fs::write(&old, "old\n").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut file = daily_file(&logs).unwrap();
        file.write_all(b"a line\n").unwrap();
        file.flush().unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&logs), 0o700);
        let files: Vec<PathBuf> = std::fs::read_dir(&logs).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 2, "{files:?}");
        for file in &files {
            assert_eq!(mode(file), 0o600, "{}", file.display());
        }
    }
}
