//! What is shown once (a new app-specific password, the recovery codes): Copy, forgetting it when the
//! reveal closes, and the clipboard cleared when the app quits.

use std::sync::PoisonError;

use serde::Serialize;

use super::Desktop;
use crate::clipboard::{clear_if_still, copy_then_clear, CLEAR_AFTER};
use crate::error::CommandError;
use crate::messages;

#[derive(Debug, Serialize)]
pub struct Copied {
    pub clear_after_secs: u64,
}

impl Desktop {
    pub fn copy_secret(&self) -> Result<Copied, CommandError> {
        let reveal = self.reveal.lock().unwrap_or_else(PoisonError::into_inner);
        let text = reveal.as_ref().ok_or_else(messages::nothing_to_copy)?;
        let copied = copy_then_clear(&self.clipboard, text, CLEAR_AFTER).map_err(|e| messages::clipboard_failed(&e))?;
        *self.copied.lock().unwrap_or_else(PoisonError::into_inner) = Some(copied);
        Ok(Copied {
            clear_after_secs: CLEAR_AFTER.as_secs(),
        })
    }

    /// The app is quitting: a password still on the clipboard goes with it.
    pub fn on_exit(&self) {
        if let Some(copied) = self.copied.lock().unwrap_or_else(PoisonError::into_inner).take() {
            clear_if_still(&self.clipboard, copied);
        }
    }

    /// The reveal closed: the password is zeroized and cannot be shown or copied again.
    pub fn forget_secret(&self) {
        self.reveal.lock().unwrap_or_else(PoisonError::into_inner).take();
    }
}
