//! JSON bodies of the account API. The server serialises these and the client deserialises the same types.
//!
//! Bodies that carry a password or a session token have a hand-written `Debug` that redacts it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{AppPasswordId, Email, ErrorCode, Scopes, VerifierParams};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// `GET /v1/config`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ServerConfig {
    pub verifier_params: VerifierParams,
    pub max_app_passwords: u32,
    /// Whether an account makes app-specific passwords only with two-factor authentication on (otherwise a
    /// create is answered 403), so an app can say so before asking for a label; `false` from a server that
    /// predates it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub second_factor_required: bool,
    /// Where the operator's mail and calendar apps connect, as the operator named them
    /// (`--service mail=imaps://mail.example.com:993`): the reveal tells the user which host names to type.
    /// Empty when none were named, and from a server that predates it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub services: Vec<ServiceInfo>,
}

/// One service of the operator's: what a password allowed `scope` signs in to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ServiceInfo {
    /// `mail`, `calendars`, `contacts` or `files`: the scope a password needs there.
    pub scope: String,
    /// As the operator gave it, e.g. `imaps://mail.example.com:993` or `https://dav.example.com/`.
    pub url: String,
    /// The URL's host name, as a user types it into the app: `mail.example.com`.
    pub host: String,
}

impl ServiceInfo {
    /// Whether a password with these scopes signs in here (an unknown scope, from a newer server: no).
    pub fn allowed(&self, scopes: Scopes) -> bool {
        crate::Scope::parse(&self.scope).is_ok_and(|scope| scopes.contains(scope))
    }
}

/// `POST /v1/sessions`
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SignInRequest {
    pub email: String,
    pub password: String,
    /// With two-factor authentication on: the 6-digit code from the authenticator app, or a recovery code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl fmt::Debug for SignInRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignInRequest")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AccountSummary {
    pub email: Email,
}

/// Answer to `POST /v1/sessions`: the bearer token for every other call.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionCreated {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub account: AccountSummary,
}

impl fmt::Debug for SessionCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCreated")
            .field("expires_at", &self.expires_at)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// `GET /v1/account`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AccountInfo {
    pub email: Email,
    pub active_app_passwords: u32,
    pub max_app_passwords: u32,
    /// Whether two-factor authentication (TOTP) is on; `false` from a server that predates it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub second_factor: bool,
}

/// `POST /v1/account/password`
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
    /// Needed when two-factor authentication is on: a verification code or a recovery code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangePasswordRequest").finish_non_exhaustive()
    }
}

/// `POST /v1/account/totp`: start turning two-factor authentication on.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TotpEnrolRequest {
    pub current_password: String,
}

impl fmt::Debug for TotpEnrolRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpEnrolRequest").finish_non_exhaustive()
    }
}

/// Answer to `POST /v1/account/totp`: the shared secret, for the authenticator app (as a QR code of
/// `otpauth_uri`, or typed in). Pending until confirmed with a code.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TotpEnrolment {
    /// Base32, unpadded.
    pub secret: String,
    pub otpauth_uri: String,
}

impl fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpEnrolment").finish_non_exhaustive()
    }
}

/// `POST /v1/account/totp/confirm`: a code from the authenticator app, proving it holds the secret.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TotpConfirmRequest {
    pub code: String,
}

impl fmt::Debug for TotpConfirmRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpConfirmRequest").finish_non_exhaustive()
    }
}

/// Answer to the confirmation: [`RECOVERY_CODES`](crate::RECOVERY_CODES) single-use recovery codes, shown this
/// once (the server keeps only their hashes).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

impl fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryCodes").finish_non_exhaustive()
    }
}

/// `DELETE /v1/account/totp`: the password and a code (a recovery code works too).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TotpDisableRequest {
    pub current_password: String,
    pub code: String,
}

impl fmt::Debug for TotpDisableRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpDisableRequest").finish_non_exhaustive()
    }
}

/// One app-specific password as the user sees it in the list: never the password or its verifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AppPasswordInfo {
    pub id: AppPasswordId,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// What it may reach; all four from a server that predates scopes.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub scopes: Scopes,
    /// When it stops working; `null`: never.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub expires_at: Option<DateTime<Utc>>,
}

/// `GET /v1/app-passwords`: active passwords, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AppPasswordList {
    pub app_passwords: Vec<AppPasswordInfo>,
}

/// `POST /v1/app-passwords`: the device sends the verifier and lookup tag, never the password.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateAppPasswordRequest {
    pub label: String,
    /// argon2id PHC string with exactly the advertised parameters.
    pub verifier: String,
    /// 8 lowercase hex characters.
    pub lookup_tag: String,
    /// What it may reach, a non-empty subset of `mail`, `calendars`, `contacts`, `files`; absent: all four.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Scopes>))]
    pub scopes: Option<Vec<String>>,
    /// Days until it stops working, 1–365; absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 365))]
    pub expires_in_days: Option<i64>,
}

/// `PATCH /v1/app-passwords/{id}`: a new label, under the same rules as a new password's.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RenameAppPasswordRequest {
    pub label: String,
}

/// `DELETE /v1/app-passwords` (Revoke All)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RevokeAllResult {
    pub revoked: u32,
}

/// `GET /v1/app-auth/whoami`: what a third-party app learns after signing in with an app password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct WhoAmI {
    pub email: Email,
    pub app_password_id: AppPasswordId,
    pub label: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub scopes: Scopes,
}

/// `GET /v1/app-auth/whoami?scope=…`: the app names what it is about to reach.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct WhoAmIQuery {
    /// `mail`, `calendars`, `contacts` or `files`: answered 403 when the password may not reach it.
    pub scope: Option<String>,
}

/// One signed-in device: a session of the account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionInfo {
    /// Opaque; names the session for `DELETE /v1/sessions/{id}` (never its token).
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The app that signed in, from its User-Agent: "Keyturn 0.1.0 on Linux".
    pub client: String,
    /// The session this request was made with.
    pub current: bool,
}

/// `GET /v1/sessions`: the account's signed-in devices, the newest sign-in first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionList {
    pub sessions: Vec<SessionInfo>,
}

/// What happened, as `GET /v1/account/activity` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    AppPasswordCreated,
    AppPasswordRenamed,
    AppPasswordRevoked,
    AppPasswordsRevokedAll,
    AppPasswordExpired,
    /// A third-party app signed in with an app-specific password (at most one a minute per password).
    AppSignIn,
    SignIn,
    FailedSignIn,
    /// The right password, without a verification code, for an account with two-factor authentication on:
    /// someone knows the password.
    VerificationCodeAsked,
    PasswordChanged,
    /// Two-factor authentication turned on (the first code confirmed).
    SecondFactorOn,
    /// Turned off by the user.
    SecondFactorOff,
    /// Turned off by support staff, for a user who lost the phone.
    SecondFactorReset,
    /// A recovery code used to sign in; `detail` says how many are left.
    RecoveryCodeUsed,
    /// A device signed out from another one, or by support (`address` null); `detail` names the device.
    DeviceSignedOut,
    /// A kind from a newer server.
    #[serde(other)]
    Other,
}

/// One event of the account's recent activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ActivityEvent {
    pub at: DateTime<Utc>,
    pub kind: ActivityKind,
    /// The app-specific password's label (its new one, for a rename); `null` for events about the account.
    pub label: Option<String>,
    /// The client's address; `null` when the server or support staff did it.
    pub address: Option<String>,
    /// More about some kinds: the recovery codes left after `recovery_code_used` ("7"), the device a
    /// `device_signed_out` names ("Keyturn 0.1.0 on Linux"); `null` otherwise.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub detail: Option<String>,
    /// An `app_sign_in` through the LDAP door (a mail server checking the password), not over HTTP: "Mail
    /// signed in over LDAP". `false` from a server that predates it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub over_ldap: bool,
}

/// `GET /v1/account/activity`: newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ActivityList {
    pub events: Vec<ActivityEvent>,
}

/// `GET /v1/account/activity?limit=N`
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct ActivityQuery {
    /// 1–200; 50 when absent.
    pub limit: Option<u32>,
}

/// Every error: `{"error":{"code":"…","message":"…"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// A sentence for people.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_secret_bodies_hides_the_secret() {
        let sign_in = SignInRequest {
            email: "a@example.com".into(),
            password: "hunter2hunter2".into(),
            code: Some("123456".into()),
        };
        assert!(!format!("{sign_in:?}").contains("123456"));
        assert!(!format!("{sign_in:?}").contains("hunter2"));
        let change = ChangePasswordRequest {
            current_password: "old-secret".into(),
            new_password: "new-secret".into(),
            code: None,
        };
        assert!(!format!("{change:?}").contains("secret"));
        let session = SessionCreated {
            token: "tok-abc".into(),
            expires_at: Utc::now(),
            account: AccountSummary {
                email: Email::parse("a@example.com").unwrap(),
            },
        };
        assert!(!format!("{session:?}").contains("tok-abc"));
    }

    #[test]
    fn a_config_from_a_server_that_predates_the_second_factor_rule_requires_nothing() {
        let older = serde_json::json!({
            "verifier_params": {"m_cost": 19_456, "t_cost": 2, "p_cost": 1},
            "max_app_passwords": 25
        });
        let config: ServerConfig = serde_json::from_value(older).unwrap();
        assert!(!config.second_factor_required);
    }

    #[test]
    fn the_error_body_has_the_documented_shape() {
        let body = ErrorBody {
            error: ErrorDetail {
                code: ErrorCode::NotFound,
                message: "No such password.".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"error": {"code": "not_found", "message": "No such password."}})
        );
    }
}
