//! Every sentence the app's user reads about a failure, in one place, in the help article's words. The
//! window shows these as they are and keeps no wording of its own; the numbers come from the protocol.

use std::time::Duration;

use keyturn_client::{ApiFailure, Error};
use keyturn_protocol::wire::{ActivityEvent, ActivityKind, ServiceInfo};
use keyturn_protocol::{ErrorCode, Scope, ScopesError, MAX_APP_PASSWORDS};

use crate::error::{AppCode, CommandError};
use crate::keychain::KeychainError;

/// The sentence for a failed call to the account server.
pub fn for_client_error(err: &Error) -> CommandError {
    match err {
        Error::Api(failure) => CommandError::api(failure.code, for_api(failure)),
        Error::InvalidLabel(e) => CommandError::api(ErrorCode::InvalidLabel, e.to_string()),
        Error::UnacceptableParams(_) => CommandError::app(
            AppCode::UnacceptableParams,
            "The server asks for password settings Keyturn does not accept, so no password was made.",
        ),
        Error::InsecureUrl(_) => CommandError::app(
            AppCode::InsecureUrl,
            "The server address must start with https://. Only a server on this computer may use http://.",
        ),
        Error::InvalidUrl(_) => CommandError::app(
            AppCode::InvalidUrl,
            "That server address isn't valid. Check it under Advanced.",
        ),
        Error::Network(_) => CommandError::app(
            AppCode::Network,
            "Keyturn can't reach the server. Check your internet connection and the server address under Advanced.",
        ),
        Error::Certificate(_) => CommandError::app(
            AppCode::Certificate,
            "The server's certificate isn't trusted by this computer, so Keyturn didn't connect. Check the server address under Advanced, or ask your administrator.",
        ),
        Error::Redirected(to) => CommandError::app(
            AppCode::Redirected,
            format!("The server address sends Keyturn elsewhere ({to}). Check the server address under Advanced."),
        ),
        Error::LimitsUnsupported => CommandError::app(
            AppCode::LimitsUnsupported,
            "This server can't limit what a password may reach or when it expires, so no password was made. Choose every kind of access and Never, or ask your administrator.",
        ),
        Error::Protocol(_) => CommandError::app(
            AppCode::Protocol,
            "The server's answer wasn't understood. Check the server address under Advanced.",
        ),
    }
}

fn for_api(failure: &ApiFailure) -> String {
    match failure.code {
        ErrorCode::InvalidCredentials => "The email or password is incorrect.".to_owned(),
        ErrorCode::RateLimited => try_again(failure.retry_after),
        ErrorCode::Unauthenticated => session_ended(),
        // The server's sentence says why (too short, a common password, a pattern) and what would help.
        ErrorCode::WeakPassword => failure.message.clone(),
        ErrorCode::DuplicateLabel => {
            "You already have an app-specific password with this label. Choose another label.".to_owned()
        }
        ErrorCode::LimitReached => format!(
            "You have {MAX_APP_PASSWORDS} app-specific passwords, the most allowed. Revoke one you no longer use, then try again."
        ),
        ErrorCode::NotFound => "That password was already revoked.".to_owned(),
        // The client makes another password on its own; this shows only if that kept colliding.
        ErrorCode::LookupTagConflict => "Keyturn couldn't make a password unlike your others. Try again.".to_owned(),
        ErrorCode::Internal => "Something went wrong on the server. Try again in a moment.".to_owned(),
        ErrorCode::Overloaded => "The server is busy. Try again in a moment.".to_owned(),
        // The server's sentence names the rule the label broke, in the protocol's words.
        ErrorCode::InvalidLabel => failure.message.clone(),
        // Keyturn and the server disagree about the request itself: only a version mismatch does that.
        ErrorCode::InvalidVerifier
        | ErrorCode::InvalidLookupTag
        | ErrorCode::IdempotencyMismatch
        | ErrorCode::MissingIdempotencyKey
        | ErrorCode::PayloadTooLarge
        | ErrorCode::BadRequest => format!(
            "The server refused the request: {} Check that Keyturn is up to date.",
            failure.message
        ),
        ErrorCode::InvalidSecondFactor => {
            "The verification code is incorrect or was already used. Enter the current code from your authenticator app.".to_owned()
        }
        ErrorCode::SecondFactorEnabled => "Two-factor authentication is already on.".to_owned(),
        // A create on a server that requires it (403): the same words the window shows before the label.
        ErrorCode::SecondFactorRequired if failure.status == 403 => second_factor_first(),
        // At sign-in or a password change (401): the server's sentence asks for the code.
        ErrorCode::SecondFactorRequired => failure.message.clone(),
        // The server's sentence names the rule (at least one scope of the four; 1 to 365 days).
        ErrorCode::InvalidScopes | ErrorCode::InvalidExpiry => failure.message.clone(),
        // Only third-party apps ask for a scope; the server's sentence names it.
        ErrorCode::InsufficientScope => failure.message.clone(),
        // A newer server's code: its own sentence is the best there is.
        ErrorCode::Unknown => failure.message.clone(),
    }
}

/// The server makes app-specific passwords only for accounts with two-factor authentication on: shown before
/// the label dialog while it is off, and for a create the server refused for it.
pub fn second_factor_first() -> String {
    "Turn on two-factor authentication before making app-specific passwords.".to_owned()
}

/// Under the one-time reveal, where the password goes: "Use it in your mail app for mail.example.com and
/// smtp.example.com.", one sentence per scope in the usual order, each host once. Nothing without services.
pub fn where_to_use(services: &[ServiceInfo]) -> Vec<String> {
    Scope::ALL
        .into_iter()
        .filter_map(|scope| {
            let mut hosts: Vec<&str> = Vec::new();
            for service in services.iter().filter(|s| s.scope == scope.as_str()) {
                if !hosts.contains(&service.host.as_str()) {
                    hosts.push(&service.host);
                }
            }
            let app = match scope {
                Scope::Mail => "mail app",
                Scope::Calendars => "calendar app",
                Scope::Contacts => "contacts app",
                Scope::Files => "files app",
            };
            let hosts = match hosts.as_slice() {
                [] => return None,
                [one] => (*one).to_owned(),
                [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
            };
            Some(format!("Use it in your {app} for {hosts}."))
        })
        .collect()
}

/// The window asked for no scope, or one the protocol does not know: the protocol's sentence.
pub fn invalid_scopes(err: ScopesError) -> CommandError {
    CommandError::api(ErrorCode::InvalidScopes, err.to_string())
}

/// Sign Out of a device another session (or support) already signed out.
pub fn device_already_signed_out() -> CommandError {
    CommandError::api(
        ErrorCode::NotFound,
        "That device is already signed out. The list now shows who is signed in.",
    )
}

/// One line of Recent Activity in words: "Mail on laptop signed in from 203.0.113.5".
pub fn activity(event: &ActivityEvent) -> String {
    let label = event.label.as_deref().unwrap_or("An app-specific password");
    let what = match event.kind {
        ActivityKind::AppPasswordCreated => format!("App-specific password “{label}” created"),
        ActivityKind::AppPasswordRenamed => format!("App-specific password renamed to “{label}”"),
        ActivityKind::AppPasswordRevoked => format!("App-specific password “{label}” revoked"),
        ActivityKind::AppPasswordsRevokedAll => "All app-specific passwords revoked".to_owned(),
        ActivityKind::AppPasswordExpired => format!("App-specific password “{label}” expired"),
        ActivityKind::AppSignIn if event.over_ldap => format!("{label} signed in over LDAP"),
        ActivityKind::AppSignIn => format!("{label} signed in"),
        // Whoever it was: this line is how a user learns of a sign-in that was not theirs.
        ActivityKind::SignIn => "Signed in".to_owned(),
        ActivityKind::FailedSignIn => "Failed sign-in with a wrong password".to_owned(),
        // The password was right and only the code stood in the way: a line the user must not miss.
        ActivityKind::VerificationCodeAsked => "Verification code asked for after the correct password".to_owned(),
        ActivityKind::PasswordChanged => "Your password was changed".to_owned(),
        ActivityKind::SecondFactorOn => "Two-factor authentication turned on".to_owned(),
        ActivityKind::SecondFactorOff => "Two-factor authentication turned off".to_owned(),
        ActivityKind::SecondFactorReset => "Two-factor authentication turned off by support".to_owned(),
        ActivityKind::RecoveryCodeUsed => match event.detail.as_deref() {
            Some(left) => format!("Recovery code used ({left} left)"),
            None => "Recovery code used".to_owned(),
        },
        ActivityKind::DeviceSignedOut => {
            let device = event.detail.as_deref().unwrap_or("A device");
            match event.address {
                Some(_) => format!("{device} signed out"),
                // Support staff did it, from the admin CLI.
                None => format!("{device} signed out by support"),
            }
        }
        // A kind from a newer server: what it was cannot be said here, and the line says so.
        ActivityKind::Other => "An event this version of Keyturn can't show (update Keyturn to see it)".to_owned(),
    };
    match &event.address {
        Some(address) => format!("{what} from {address}"),
        None => what,
    }
}

/// After a 429: the wait in minutes when it is long, in seconds when short.
fn try_again(retry_after: Option<Duration>) -> String {
    match retry_after.map(|d| d.as_secs()) {
        Some(secs) if secs >= 90 => format!("Too many attempts. Try again in {} minutes.", secs.div_ceil(60)),
        Some(secs) if secs > 1 => format!("Too many attempts. Try again in {secs} seconds."),
        Some(_) => "Too many attempts. Try again in a second.".to_owned(),
        None => "Too many attempts. Try again later.".to_owned(),
    }
}

fn session_ended() -> String {
    "Your session has ended. Sign in again.".to_owned()
}

/// A command that needs a session, with none.
pub fn not_signed_in() -> CommandError {
    CommandError::api(ErrorCode::Unauthenticated, "Sign in to continue.")
}

pub fn nothing_to_copy() -> CommandError {
    CommandError::app(
        AppCode::NothingToCopy,
        "This password is no longer shown and cannot be copied.",
    )
}

pub fn clipboard_failed(reason: &str) -> CommandError {
    CommandError::app(
        AppCode::Clipboard,
        format!("Keyturn couldn't copy the password: {reason}"),
    )
}

pub fn keychain_failed(err: &KeychainError) -> CommandError {
    CommandError::app(
        AppCode::Keychain,
        format!("Keyturn couldn't use the system keychain: {}", err.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_to_use_names_each_scopes_hosts_once_in_order() {
        let service = |scope: &str, host: &str| ServiceInfo {
            scope: scope.to_owned(),
            url: format!("x://{host}"),
            host: host.to_owned(),
        };
        let services = [
            service("calendars", "dav.example.com"),
            service("mail", "mail.example.com"),
            service("mail", "smtp.example.com"),
            service("mail", "mail.example.com"),
            service("contacts", "dav.example.com"),
        ];
        assert_eq!(
            where_to_use(&services),
            [
                "Use it in your mail app for mail.example.com and smtp.example.com.",
                "Use it in your calendar app for dav.example.com.",
                "Use it in your contacts app for dav.example.com.",
            ]
        );
        assert!(where_to_use(&[]).is_empty());
    }

    fn rate_limited(secs: u64) -> String {
        let err = Error::Api(ApiFailure {
            status: 429,
            code: ErrorCode::RateLimited,
            message: String::new(),
            retry_after: Some(Duration::from_secs(secs)),
        });
        for_client_error(&err).message
    }

    #[test]
    fn a_long_wait_is_said_in_minutes_and_a_short_one_in_seconds() {
        assert_eq!(rate_limited(900), "Too many attempts. Try again in 15 minutes.");
        assert_eq!(rate_limited(8), "Too many attempts. Try again in 8 seconds.");
    }

    #[test]
    fn the_limit_is_said_with_the_protocols_number() {
        let err = Error::Api(ApiFailure {
            status: 409,
            code: ErrorCode::LimitReached,
            message: String::new(),
            retry_after: None,
        });
        assert!(for_client_error(&err)
            .message
            .contains(&format!("You have {MAX_APP_PASSWORDS} ")));
    }

    #[test]
    fn activity_reads_as_the_help_article_shows_it() {
        let event = |kind, label: Option<&str>, address: Option<&str>| ActivityEvent {
            at: chrono::Utc::now(),
            kind,
            label: label.map(str::to_owned),
            address: address.map(str::to_owned),
            detail: None,
            over_ldap: false,
        };
        assert_eq!(
            activity(&event(
                ActivityKind::AppSignIn,
                Some("Mail on laptop"),
                Some("203.0.113.5")
            )),
            "Mail on laptop signed in from 203.0.113.5"
        );
        let mut device = event(ActivityKind::DeviceSignedOut, None, None);
        device.detail = Some("Keyturn 0.1.0 on Linux".to_owned());
        assert_eq!(activity(&device), "Keyturn 0.1.0 on Linux signed out by support");
        device.address = Some("203.0.113.5".to_owned());
        assert_eq!(activity(&device), "Keyturn 0.1.0 on Linux signed out from 203.0.113.5");
        let mut recovery = event(ActivityKind::RecoveryCodeUsed, None, Some("203.0.113.5"));
        recovery.detail = Some("7".to_owned());
        assert_eq!(activity(&recovery), "Recovery code used (7 left) from 203.0.113.5");
        assert_eq!(
            activity(&event(ActivityKind::SecondFactorReset, None, None)),
            "Two-factor authentication turned off by support"
        );
        assert_eq!(
            activity(&event(ActivityKind::SecondFactorOn, None, Some("::1"))),
            "Two-factor authentication turned on from ::1"
        );
        let mut ldap = event(ActivityKind::AppSignIn, Some("Mail"), Some("127.0.0.1"));
        ldap.over_ldap = true;
        assert_eq!(activity(&ldap), "Mail signed in over LDAP from 127.0.0.1");
        assert_eq!(
            activity(&event(ActivityKind::AppPasswordExpired, Some("Calendar"), None)),
            "App-specific password “Calendar” expired"
        );
        assert_eq!(
            activity(&event(ActivityKind::AppPasswordsRevokedAll, None, Some("::1"))),
            "All app-specific passwords revoked from ::1"
        );
        assert_eq!(
            activity(&event(ActivityKind::VerificationCodeAsked, None, Some("203.0.113.5"))),
            "Verification code asked for after the correct password from 203.0.113.5"
        );
    }

    #[test]
    fn only_a_refused_create_says_to_turn_two_factor_authentication_on_first() {
        let refused = |status| {
            for_client_error(&Error::Api(ApiFailure {
                status,
                code: ErrorCode::SecondFactorRequired,
                message: "Enter the 6-digit code from your authenticator app.".to_owned(),
                retry_after: None,
            }))
        };
        assert_eq!(refused(403).message, second_factor_first());
        assert_eq!(
            refused(401).message,
            "Enter the 6-digit code from your authenticator app."
        );
    }

    #[test]
    fn a_code_from_a_newer_server_shows_the_servers_sentence() {
        let err = Error::Api(ApiFailure {
            status: 403,
            code: ErrorCode::Unknown,
            message: "Turn on two-factor authentication first.".to_owned(),
            retry_after: None,
        });
        let shown = for_client_error(&err);
        assert_eq!(shown.message, "Turn on two-factor authentication first.");
        assert_eq!(serde_json::to_value(&shown).unwrap()["code"], "unknown");
    }
}
