//! Where the session token lives: only the OS keychain (Secret Service, macOS Keychain, Windows Credential
//! Manager). Calls block, so callers run them on the blocking pool.

use secrecy::{ExposeSecret, SecretString};

/// The keychain entries' service name; `secret-tool search service app.keyturn.desktop` finds them.
pub const SERVICE: &str = "app.keyturn.desktop";

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("the system keychain is unavailable: {0}")]
pub struct KeychainError(pub String);

/// One token per server URL.
pub trait TokenStore: Send + Sync + 'static {
    fn load(&self, server_url: &str) -> Result<Option<SecretString>, KeychainError>;
    fn save(&self, server_url: &str, token: &SecretString) -> Result<(), KeychainError>;
    /// Deleting what is not there is not an error.
    fn delete(&self, server_url: &str) -> Result<(), KeychainError>;
}

/// The operating system's keychain, through the `keyring` crate.
pub struct OsKeychain;

impl OsKeychain {
    fn entry(server_url: &str) -> Result<keyring::Entry, KeychainError> {
        keyring::Entry::new(SERVICE, server_url).map_err(|e| KeychainError(e.to_string()))
    }
}

impl TokenStore for OsKeychain {
    fn load(&self, server_url: &str) -> Result<Option<SecretString>, KeychainError> {
        match Self::entry(server_url)?.get_password() {
            Ok(token) => Ok(Some(SecretString::from(token))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(KeychainError(e.to_string())),
        }
    }

    fn save(&self, server_url: &str, token: &SecretString) -> Result<(), KeychainError> {
        Self::entry(server_url)?
            .set_password(token.expose_secret())
            .map_err(|e| KeychainError(e.to_string()))
    }

    fn delete(&self, server_url: &str) -> Result<(), KeychainError> {
        match Self::entry(server_url)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(KeychainError(e.to_string())),
        }
    }
}

#[cfg(any(test, feature = "test-support"))]
pub use memory::MemoryKeychain;

/// An in-memory keychain for tests (feature `test-support`), never in a release build.
#[cfg(any(test, feature = "test-support"))]
mod memory {
    use std::collections::HashMap;
    use std::sync::{Mutex, PoisonError};

    use secrecy::{ExposeSecret, SecretString};

    use super::{KeychainError, TokenStore};

    /// An in-memory keychain for tests (feature `test-support`).
    #[derive(Default)]
    pub struct MemoryKeychain {
        entries: Mutex<HashMap<String, String>>,
        /// When set, every call fails like a machine without a Secret Service.
        pub broken: bool,
    }

    impl MemoryKeychain {
        pub fn broken() -> Self {
            Self {
                broken: true,
                ..Self::default()
            }
        }

        fn entries(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, String>>, KeychainError> {
            if self.broken {
                return Err(KeychainError("no Secret Service on the session bus".to_owned()));
            }
            Ok(self.entries.lock().unwrap_or_else(PoisonError::into_inner))
        }

        pub fn len(&self) -> usize {
            self.entries.lock().unwrap_or_else(PoisonError::into_inner).len()
        }

        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }
    }

    impl TokenStore for MemoryKeychain {
        fn load(&self, server_url: &str) -> Result<Option<SecretString>, KeychainError> {
            Ok(self.entries()?.get(server_url).map(|t| SecretString::from(t.as_str())))
        }

        fn save(&self, server_url: &str, token: &SecretString) -> Result<(), KeychainError> {
            self.entries()?
                .insert(server_url.to_owned(), token.expose_secret().to_owned());
            Ok(())
        }

        fn delete(&self, server_url: &str) -> Result<(), KeychainError> {
            self.entries()?.remove(server_url);
            Ok(())
        }
    }
}
