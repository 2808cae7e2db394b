//! # Layout
//!
//! The Keyturn desktop app. The window (`ui/`) is plain HTML and ES modules; everything it does goes through
//! the commands here.
//!
//! - [`run`] starts the app; [`app_builder`] wires the commands into any Tauri runtime, so tests can use the
//!   mock runtime.
//! - `commands`: the thin `#[tauri::command]`s; `desktop`: what they do, over `keyturn-client`.
//! - `server_rules`: the session as sign-in and launch hand it to the window, with the server's rule (two-factor
//!   authentication first) so the window can say it before the label dialog.
//! - `error`: what a command fails with, `{code, message}`; `messages`: every sentence a failure shows.
//! - `keychain`: the session token, only in the OS keychain. `settings`: the non-secret preferences file.
//! - `launch`: `--version` and `--help`, before any window. `log`: stderr and a daily log file.
//! - `window_place`: the window's size and place, saved once it settles.
//! - `clipboard`: Copy, with the clipboard cleared after 60 s if it still holds the password.
//! - Feature `test-support`: an in-memory keychain and clipboard for the command tests, never in a release.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod clipboard;
mod commands;
pub mod desktop;
pub mod error;
pub mod keychain;
pub mod launch;
pub mod log;
mod messages;
mod server_rules;
pub mod settings;
mod window_place;

use std::sync::Arc;

use tauri::{Builder, Manager, Runtime};

pub use desktop::Desktop;
pub use error::CommandError;

/// Registers the app's commands on a builder of any runtime.
pub fn app_builder<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::app_info,
        commands::restore_session,
        commands::sign_in,
        commands::sign_out,
        commands::list_app_passwords,
        commands::create_app_password,
        commands::copy_secret,
        commands::forget_secret,
        commands::revoke_app_password,
        commands::revoke_all,
        commands::rename_app_password,
        commands::list_sessions,
        commands::end_session,
        commands::recent_activity,
        commands::begin_two_factor,
        commands::confirm_two_factor,
        commands::turn_off_two_factor,
    ])
}

/// The app's configuration, assets and access control (capabilities), compiled in; generic so the command
/// tests run with the real capabilities on the mock runtime.
pub fn context<R: Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

/// What the app does on the runtime's events: at exit, a password still on the clipboard is cleared.
pub fn on_run_event<R: Runtime>(app: &tauri::AppHandle<R>, event: &tauri::RunEvent) {
    if let tauri::RunEvent::Exit = event {
        if let Some(desktop) = app.try_state::<Desktop>() {
            desktop.on_exit();
        }
    }
}

/// Starts the desktop app: one instance (a second launch brings this window to the front), the window's size
/// and place remembered, a log file in the platform's log folder.
pub fn run() {
    let app = app_builder(Builder::default())
        // First, so a second launch hands over before it sets anything else up.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tracing::info!("a second launch brought the open window to the front");
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .manage(window_place::Moves::default())
        .on_window_event(window_place::on_window_event)
        .setup(|app| {
            let log_dir = log::init(app.path().app_log_dir().ok().as_deref());
            tracing::info!(version = env!("CARGO_PKG_VERSION"), "Keyturn started");
            let settings = match app.path().app_config_dir() {
                Ok(dir) => settings::SettingsFile::at(dir.join("settings.json")),
                Err(_) => settings::SettingsFile::in_memory(),
            };
            let env_server_url = std::env::var("KEYTURN_API_URL").ok();
            app.manage(
                Desktop::new(
                    Arc::new(keychain::OsKeychain),
                    settings,
                    env_server_url,
                    Arc::new(clipboard::SystemClipboard::default()),
                )
                .with_log_dir(log_dir),
            );
            Ok(())
        })
        .build(context());
    match app {
        Ok(app) => app.run(|app, event| on_run_event(app, &event)),
        Err(error) => {
            eprintln!("Keyturn could not start: {error}");
            std::process::exit(1);
        }
    }
}
