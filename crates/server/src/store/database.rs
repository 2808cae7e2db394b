//! Which database `--db` names, shown without its password, and the URL sqlx opens for it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::StoreError;

/// Where the data lives, as `--db` names it: a `postgres://` or `postgresql://` URL, or else a SQLite file's path.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl FromStr for Database {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Self::Postgres(s.to_owned())
        } else {
            Self::Sqlite(PathBuf::from(s))
        })
    }
}

/// The path, or the URL without its password: fit for a log line.
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => path.display().fmt(f),
            Self::Postgres(url) => match url::Url::parse(url) {
                Ok(mut url) => {
                    let _ = url.set_password(None);
                    url.fmt(f)
                }
                Err(_) => f.write_str("postgres://(unreadable URL)"),
            },
        }
    }
}

impl Database {
    /// The URL sqlx opens: a `sqlite://` URL for a path (percent-encoded, so `?` or `#` stay part of the
    /// name), or the PostgreSQL URL as given.
    pub fn url(&self) -> Result<String, StoreError> {
        match self {
            Self::Sqlite(path) => {
                let path = path
                    .to_str()
                    .ok_or(StoreError::Unsupported("the database file's path must be UTF-8"))?;
                Ok(format!(
                    "sqlite://{}?mode=rwc",
                    percent_encoding::utf8_percent_encode(path, URL_PATH)
                ))
            }
            Self::Postgres(url) => Ok(url.clone()),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What a path keeps of itself in a `sqlite://` URL: everything but the URL's own marks and `%`.
const URL_PATH: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'?')
    .add(b'<')
    .add(b'>');
