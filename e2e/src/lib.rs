//! # Layout
//!
//! The end-to-end test: the real `keyturn` binary in a real window (Xvfb), driven over W3C WebDriver through
//! `tauri-driver` and WebKitWebDriver, against the real `keyturn-server` and the real Secret Service.
//!
//! `cargo xtask e2e` (and `cargo xtask ci`) runs it inside `xvfb-run` and `dbus-run-session` with an unlocked
//! `gnome-keyring-daemon`. [`processes`] starts the server and the driver; [`proxy`] stands between app and
//! server so the network can go away; [`ui`] is a small vocabulary for the window; [`scenario`] is the story,
//! each step asserted. Screenshots land in `target/e2e/`.
//!
//! `KEYTURN_E2E_APP` names the app binary (default: the debug build; CI gives the installed
//! `/usr/bin/keyturn`), `KEYTURN_E2E_AXE` axe-core's script, `KEYTURN_E2E_DRIVER` tauri-driver.

pub mod processes;
pub mod proxy;
pub mod scenario;
pub mod ui;
