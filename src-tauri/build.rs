//! The app's manifest is the repository root's Cargo.toml (so the Tauri CLI finds it beside tauri.conf.json),
//! its sources here in src-tauri/. Tauri's build step runs in the root and writes its generated permissions
//! and schemas there (`permissions/`, `gen/`, both ignored by git). The app's own commands are the only ones
//! the window may call, each granted by name in `capabilities/main.json`.

const COMMANDS: &[&str] = &[
    "app_info",
    "restore_session",
    "sign_in",
    "sign_out",
    "list_app_passwords",
    "create_app_password",
    "copy_secret",
    "forget_secret",
    "revoke_app_password",
    "revoke_all",
    "rename_app_password",
    "list_sessions",
    "end_session",
    "recent_activity",
    "begin_two_factor",
    "confirm_two_factor",
    "turn_off_two_factor",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        eprintln!("tauri build failed: {error:#}");
        std::process::exit(1);
    }
}
