//! One integration-test binary: each module drives the real server, started on `127.0.0.1:0` with a fresh
//! database, through `keyturn-client`. The database is a SQLite file, or a new schema on the PostgreSQL server
//! `KEYTURN_TEST_POSTGRES` names: `cargo xtask ci` runs this binary once on each engine.

mod abuse;
mod account;
mod admin_cli;
mod app_auth;
mod app_passwords;
mod client_transport;
mod config;
mod connections;
mod devices;
mod faults;
mod forward_auth;
mod helpers;
mod instances;
mod labels;
mod ldap;
mod ldap_client;
mod memory;
mod openapi;
mod operations;
mod postgres_tls;
mod proxies;
mod rename;
mod scope_refusals;
mod scopes;
mod second_factor;
mod second_factor_operations;
mod second_factor_rules;
mod sessions;
mod throttling;
