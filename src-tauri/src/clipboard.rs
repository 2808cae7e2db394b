//! Copying the one-time password, and clearing it from the clipboard after a while if it is still there.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// How long a copied password stays on the clipboard.
pub const CLEAR_AFTER: Duration = Duration::from_secs(60);

pub trait Clipboard: Send + Sync + 'static {
    fn set(&self, text: &str) -> Result<(), String>;
    fn get(&self) -> Option<Zeroizing<String>>;
    fn clear(&self) -> Result<(), String>;
}

/// The system clipboard. On X11 the copied text is served by the process that holds it, so one instance
/// lives as long as the app.
#[derive(Default)]
pub struct SystemClipboard(Mutex<Option<arboard::Clipboard>>);

impl SystemClipboard {
    fn with<T>(&self, f: impl FnOnce(&mut arboard::Clipboard) -> Result<T, arboard::Error>) -> Result<T, String> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(arboard::Clipboard::new().map_err(|e| e.to_string())?);
        }
        match slot.as_mut() {
            Some(clipboard) => f(clipboard).map_err(|e| e.to_string()),
            None => Err("no clipboard".to_owned()),
        }
    }
}

impl Clipboard for SystemClipboard {
    /// Marked for clipboard managers to leave out of their history, where the platform has a way.
    fn set(&self, text: &str) -> Result<(), String> {
        self.with(|c| {
            let set = c.set();
            #[cfg(all(unix, not(target_os = "macos")))]
            let set = arboard::SetExtLinux::exclude_from_history(set);
            #[cfg(target_os = "macos")]
            let set = arboard::SetExtApple::exclude_from_history(set);
            #[cfg(windows)]
            let set = arboard::SetExtWindows::exclude_from_history(set);
            set.text(text.to_owned())
        })
    }

    fn get(&self) -> Option<Zeroizing<String>> {
        self.with(|c| c.get_text()).ok().map(Zeroizing::new)
    }

    fn clear(&self) -> Result<(), String> {
        self.with(|c| c.clear())
    }
}

/// What was copied, known only by its SHA-256.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CopiedDigest([u8; 32]);

/// Copies `text` and, after `clear_after`, clears the clipboard only if it still holds the same text; only a
/// hash of the text is kept meanwhile, and returned for [`clear_if_still`] at exit.
pub fn copy_then_clear(
    clipboard: &Arc<dyn Clipboard>,
    text: &str,
    clear_after: Duration,
) -> Result<CopiedDigest, String> {
    clipboard.set(text)?;
    let copied = CopiedDigest(Sha256::digest(text.as_bytes()).into());
    let later = Arc::clone(clipboard);
    std::thread::spawn(move || {
        std::thread::sleep(clear_after);
        clear_if_still(&later, copied);
    });
    Ok(copied)
}

/// Clears the clipboard if it still holds what was copied; something the user copied since is left alone.
pub fn clear_if_still(clipboard: &Arc<dyn Clipboard>, copied: CopiedDigest) {
    let still_ours = clipboard
        .get()
        .is_some_and(|now| Sha256::digest(now.as_bytes()).as_slice() == copied.0);
    if still_ours {
        let _ = clipboard.clear();
    }
}

/// A clipboard in memory, for tests (feature `test-support`).
#[cfg(any(test, feature = "test-support"))]
#[derive(Default)]
pub struct MemoryClipboard(Mutex<Option<Zeroizing<String>>>);

#[cfg(any(test, feature = "test-support"))]
impl Clipboard for MemoryClipboard {
    fn set(&self, text: &str) -> Result<(), String> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Zeroizing::new(text.to_owned()));
        Ok(())
    }

    fn get(&self) -> Option<Zeroizing<String>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn clear(&self) -> Result<(), String> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copied_password_is_cleared_after_the_delay() {
        let fake = Arc::new(MemoryClipboard::default());
        let clipboard: Arc<dyn Clipboard> = fake.clone();
        copy_then_clear(&clipboard, "abcd-efgh-ijkl-mnop", Duration::from_millis(50)).unwrap();
        assert_eq!(fake.get().as_deref().map(String::as_str), Some("abcd-efgh-ijkl-mnop"));
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(fake.get(), None);
    }

    #[test]
    fn something_else_copied_meanwhile_is_left_alone() {
        let fake = Arc::new(MemoryClipboard::default());
        let clipboard: Arc<dyn Clipboard> = fake.clone();
        copy_then_clear(&clipboard, "abcd-efgh-ijkl-mnop", Duration::from_millis(50)).unwrap();
        fake.set("the user's own text").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(fake.get().as_deref().map(String::as_str), Some("the user's own text"));
    }
}
