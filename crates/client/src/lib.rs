//! # Layout
//!
//! A typed async client for the Keyturn account API, used by the desktop app, the end-to-end tests and
//! the server's own integration tests.
//!
//! - [`Client`]: the calls that need no session (config, sign in, third-party sign-in).
//! - [`SessionClient`]: the calls of a signed-in user, including [`SessionClient::create_app_password`],
//!   which does the whole device side of a new password.
//! - [`Error`]: one enum; a server's answer keeps its [`ErrorCode`](keyturn_protocol::ErrorCode), so the app
//!   can say something clear for each.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod error;
mod session;

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use keyturn_protocol::wire::{ServerConfig, SessionCreated, SignInRequest, WhoAmI};
use keyturn_protocol::{Email, Scope};
use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

pub use error::{ApiFailure, Error};
pub use session::{AppPasswordOptions, CreatedAppPassword, SessionClient};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The account API at one base URL.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
}

/// A successful sign-in. The token is the only thing that must be kept secret.
pub struct SignedIn {
    pub token: SecretString,
    pub expires_at: DateTime<Utc>,
    pub email: Email,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("email", &self.email)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// `Keyturn/0.1.0 (Linux)`: the server shows it to the user as "Keyturn 0.1.0 on Linux" among the
/// signed-in devices.
fn user_agent() -> String {
    let system = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "macOS",
        "windows" => "Windows",
        "freebsd" => "FreeBSD",
        other => other,
    };
    format!("Keyturn/{} ({system})", env!("CARGO_PKG_VERSION"))
}

impl Client {
    /// `https://` anywhere; `http://` only to a loopback address, where nothing crosses a network.
    pub fn new(base_url: &str) -> Result<Self> {
        let mut base = Url::parse(base_url.trim()).map_err(|_| Error::InvalidUrl(base_url.to_owned()))?;
        match base.scheme() {
            "https" => {}
            "http" if is_loopback(&base) => {}
            "http" => return Err(Error::InsecureUrl(base_url.to_owned())),
            _ => return Err(Error::InvalidUrl(base_url.to_owned())),
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let loopback = is_loopback(&base);
        let mut http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(user_agent())
            // A redirect could carry the Authorization header's intent somewhere else: never followed.
            .redirect(reqwest::redirect::Policy::none())
            // Nothing in clear text leaves this computer, whatever a proxy or a URL says.
            .https_only(!loopback);
        if loopback {
            // This computer's server is reached directly, never through a configured proxy.
            http = http.no_proxy();
        }
        let http = http.build().map_err(|e| Error::Network(e.to_string()))?;
        Ok(Self { http, base })
    }

    /// The calls of the user this token belongs to.
    pub fn session(&self, token: SecretString) -> SessionClient {
        SessionClient::new(self.clone(), token)
    }

    pub async fn config(&self) -> Result<ServerConfig> {
        json(self.send(self.http.get(self.url("v1/config")?)).await?).await
    }

    pub async fn sign_in(&self, email: &str, password: &SecretString) -> Result<SignedIn> {
        self.sign_in_with_code(email, password, None).await
    }

    /// Signs in to an account with two-factor authentication on: `code` is the authenticator app's
    /// 6-digit code or a recovery code. Without one such an account answers
    /// [`ErrorCode::SecondFactorRequired`](keyturn_protocol::ErrorCode::SecondFactorRequired).
    pub async fn sign_in_with_code(
        &self,
        email: &str,
        password: &SecretString,
        code: Option<&SecretString>,
    ) -> Result<SignedIn> {
        let body = SignInRequest {
            email: email.to_owned(),
            password: password.expose_secret().to_owned(),
            code: code.map(|c| c.expose_secret().to_owned()),
        };
        let response = self.send(self.http.post(self.url("v1/sessions")?).json(&body)).await?;
        let created: SessionCreated = json(response).await?;
        Ok(SignedIn {
            token: SecretString::from(created.token),
            expires_at: created.expires_at,
            email: created.account.email,
        })
    }

    /// Signs in the way a third-party app does, with an app-specific password over HTTP Basic.
    pub async fn whoami(&self, email: &str, app_password: &str) -> Result<WhoAmI> {
        self.whoami_for(email, app_password, None).await
    }

    /// The same, naming what the app is about to reach: a password that may not reach `scope` is refused
    /// with [`ErrorCode::InsufficientScope`](keyturn_protocol::ErrorCode::InsufficientScope).
    pub async fn whoami_for(&self, email: &str, app_password: &str, scope: Option<Scope>) -> Result<WhoAmI> {
        let mut url = self.url("v1/app-auth/whoami")?;
        if let Some(scope) = scope {
            url.query_pairs_mut().append_pair("scope", scope.as_str());
        }
        let request = self.http.get(url).basic_auth(email, Some(app_password));
        json(self.send(request).await?).await
    }

    pub(crate) fn url(&self, path: &str) -> Result<Url> {
        self.base.join(path).map_err(|_| Error::InvalidUrl(path.to_owned()))
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends and turns any non-2xx answer into an [`Error`] that keeps the server's code.
    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<Response> {
        let response = request.send().await.map_err(Error::from_transport)?;
        if response.status().is_success() {
            Ok(response)
        } else if response.status().is_redirection() {
            let to = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or("nowhere")
                .to_owned();
            Err(Error::Redirected(to))
        } else {
            Err(Error::from_response(response).await)
        }
    }
}

/// The most of one answer the client reads: every answer of the API is a few KiB at most, and a server (or
/// something posing as one) must not make the app hold an unbounded body.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

pub(crate) async fn json<T: DeserializeOwned>(response: Response) -> Result<T> {
    let body = bounded_body(response).await?;
    serde_json::from_slice(&body).map_err(|e| Error::Protocol(e.to_string()))
}

/// The answer's body, read a chunk at a time and refused past [`MAX_ANSWER_BYTES`] (whatever its
/// Content-Length says).
pub(crate) async fn bounded_body(mut response: Response) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Error::from_transport)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(Error::Protocol(format!(
                "the server's answer is over {} MiB",
                MAX_ANSWER_BYTES / (1024 * 1024)
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub(crate) fn expect_status(response: &Response, status: StatusCode) -> Result<()> {
    if response.status() == status {
        Ok(())
    } else {
        Err(Error::Protocol(format!("expected {status}, got {}", response.status())))
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_is_refused_for_a_remote_server() {
        assert!(matches!(
            Client::new("http://accounts.example.com"),
            Err(Error::InsecureUrl(_))
        ));
        assert!(matches!(
            Client::new("http://10.0.0.1:8787"),
            Err(Error::InsecureUrl(_))
        ));
        // Refused when the client is made, so no request is ever sent in clear text.
        assert!(matches!(Client::new("http://example.test"), Err(Error::InsecureUrl(_))));
    }

    #[test]
    fn http_is_allowed_on_loopback_and_https_anywhere() {
        assert!(Client::new("http://127.0.0.1:8787").is_ok());
        assert!(Client::new("http://[::1]:8787").is_ok());
        assert!(Client::new("http://localhost:8787").is_ok());
        assert!(Client::new("https://accounts.example.com").is_ok());
    }

    #[test]
    fn other_schemes_and_garbage_are_invalid() {
        assert!(matches!(Client::new("ftp://example.com"), Err(Error::InvalidUrl(_))));
        assert!(matches!(Client::new("not a url"), Err(Error::InvalidUrl(_))));
    }

    #[test]
    fn a_base_path_is_kept() {
        let client = Client::new("https://example.com/keyturn").unwrap();
        assert_eq!(
            client.url("v1/config").unwrap().as_str(),
            "https://example.com/keyturn/v1/config"
        );
    }
}
