//! Every command through Tauri's IPC on the mock runtime, against the real server on port 0, with an
//! in-memory keychain and clipboard: the success paths and each error path (server down, 401, 429,
//! keychain unavailable).

mod access;
mod account_page;
mod helpers;
mod launch;
mod passwords;
mod session;
mod two_factor;
