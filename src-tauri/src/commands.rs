//! The commands the window may call (each granted in `capabilities/main.json`). Thin: `Desktop` does the work
//! (and `server_rules` adds the server's rule to the session the window gets).

use secrecy::SecretString;
use tauri::State;

use keyturn_protocol::wire::{AppPasswordInfo, SessionInfo};

use crate::desktop::{ActivityView, AppInfo, Copied, Desktop, PasswordsView, Revealed, TwoFactorSetup};
use crate::error::CommandError;
use crate::server_rules::{self, SignedInView};

#[tauri::command]
pub fn app_info(desktop: State<'_, Desktop>) -> AppInfo {
    desktop.app_info()
}

#[tauri::command]
pub async fn restore_session(desktop: State<'_, Desktop>) -> Result<Option<SignedInView>, CommandError> {
    server_rules::restore_session(&desktop).await
}

#[tauri::command]
pub async fn sign_in(
    desktop: State<'_, Desktop>,
    email: String,
    password: String,
    server_url: String,
    code: Option<String>,
) -> Result<SignedInView, CommandError> {
    let code = code.map(SecretString::from);
    server_rules::sign_in(
        &desktop,
        &email,
        SecretString::from(password),
        code.as_ref(),
        &server_url,
    )
    .await
}

#[tauri::command]
pub async fn sign_out(desktop: State<'_, Desktop>) -> Result<(), CommandError> {
    desktop.sign_out().await
}

#[tauri::command]
pub async fn list_app_passwords(desktop: State<'_, Desktop>) -> Result<PasswordsView, CommandError> {
    desktop.list_app_passwords().await
}

#[tauri::command]
pub async fn create_app_password(
    desktop: State<'_, Desktop>,
    label: String,
    scopes: Option<Vec<String>>,
    expires_in_days: Option<u32>,
) -> Result<Revealed, CommandError> {
    desktop
        .create_app_password(&label, scopes.as_deref(), expires_in_days)
        .await
}

#[tauri::command]
pub async fn rename_app_password(
    desktop: State<'_, Desktop>,
    id: String,
    label: String,
) -> Result<AppPasswordInfo, CommandError> {
    desktop.rename(&id, &label).await
}

#[tauri::command]
pub async fn list_sessions(desktop: State<'_, Desktop>) -> Result<Vec<SessionInfo>, CommandError> {
    desktop.list_sessions().await
}

#[tauri::command]
pub async fn end_session(desktop: State<'_, Desktop>, id: String) -> Result<(), CommandError> {
    desktop.end_session(&id).await
}

#[tauri::command]
pub async fn recent_activity(desktop: State<'_, Desktop>) -> Result<Vec<ActivityView>, CommandError> {
    desktop.recent_activity().await
}

#[tauri::command]
pub fn copy_secret(desktop: State<'_, Desktop>) -> Result<Copied, CommandError> {
    desktop.copy_secret()
}

#[tauri::command]
pub fn forget_secret(desktop: State<'_, Desktop>) {
    desktop.forget_secret();
}

#[tauri::command]
pub async fn revoke_app_password(desktop: State<'_, Desktop>, id: String) -> Result<(), CommandError> {
    desktop.revoke(&id).await
}

#[tauri::command]
pub async fn revoke_all(desktop: State<'_, Desktop>) -> Result<u32, CommandError> {
    desktop.revoke_all().await
}

#[tauri::command]
pub async fn begin_two_factor(desktop: State<'_, Desktop>, password: String) -> Result<TwoFactorSetup, CommandError> {
    desktop.begin_two_factor(SecretString::from(password)).await
}

#[tauri::command]
pub async fn confirm_two_factor(desktop: State<'_, Desktop>, code: String) -> Result<Vec<String>, CommandError> {
    desktop.confirm_two_factor(SecretString::from(code)).await
}

#[tauri::command]
pub async fn turn_off_two_factor(
    desktop: State<'_, Desktop>,
    password: String,
    code: String,
) -> Result<(), CommandError> {
    desktop
        .turn_off_two_factor(SecretString::from(password), SecretString::from(code))
        .await
}
