//! One integration-test binary: each module drives the real server, started on `127.0.0.1:0` with a fresh
//! database, through `keyturn-client`. The database is a SQLite file, or a new schema on the PostgreSQL server
//! `KEYTURN_TEST_POSTGRES` names: `cargo xtask ci` runs this binary once on each engine.

mod abuse;
mod account;
mod admin_cli;
mod app_auth;
mod app_passwords;
mod config;
mod devices;
mod faults;
mod helpers;
mod instances;
mod labels;
mod openapi;
mod operations;
mod proxies;
mod rename;
mod scopes;
mod second_factor;
mod sessions;
mod throttling;
