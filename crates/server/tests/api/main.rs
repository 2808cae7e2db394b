//! One integration-test binary: each module drives the real server, started on `127.0.0.1:0` with a fresh
//! SQLite file, through `keyturn-client`.

mod abuse;
mod account;
mod admin_cli;
mod app_auth;
mod app_passwords;
mod config;
mod faults;
mod helpers;
mod labels;
mod openapi;
mod proxies;
mod second_factor;
mod sessions;
mod throttling;
