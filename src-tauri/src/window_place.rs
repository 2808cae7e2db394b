//! The window's size and place, saved a moment after it stops moving or resizing. The window-state plugin
//! restores them at launch but saves only at a clean exit, which an app that is killed (a session ending, a
//! crash) never reaches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tauri::{Manager, Runtime, Window, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

/// How long the window must be still before its place is written.
const SETTLE: Duration = Duration::from_millis(400);

/// Counts moves and resizes, so only the last of a burst writes the file.
#[derive(Default)]
pub struct Moves(AtomicU64);

pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    if !matches!(event, WindowEvent::Moved(_) | WindowEvent::Resized(_)) {
        return;
    }
    let app = window.app_handle().clone();
    let Some(moves) = app.try_state::<Moves>() else {
        return;
    };
    let this_move = moves.0.fetch_add(1, Ordering::SeqCst) + 1;
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(SETTLE).await;
        if app.state::<Moves>().0.load(Ordering::SeqCst) != this_move {
            return;
        }
        if let Err(e) = app.save_window_state(StateFlags::all()) {
            tracing::warn!(error = %e, "could not save the window's size and place");
        }
    });
}
