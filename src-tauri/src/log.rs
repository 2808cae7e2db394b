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

fn daily_file(dir: &Path) -> Result<RollingFileAppender, Box<dyn std::error::Error>> {
    // Created first: the appender looks for old files to prune in it at once.
    std::fs::create_dir_all(dir)?;
    Ok(RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("keyturn")
        .filename_suffix("log")
        .max_log_files(KEPT_FILES)
        .build(dir)?)
}
