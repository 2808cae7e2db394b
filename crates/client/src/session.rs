use std::time::Duration;

use keyturn_protocol::wire::{
    AccountInfo, ActivityEvent, ActivityList, AppPasswordInfo, AppPasswordList, ChangePasswordRequest,
    CreateAppPasswordRequest, RecoveryCodes, RenameAppPasswordRequest, RevokeAllResult, ServiceInfo, SessionInfo,
    SessionList, TotpConfirmRequest, TotpDisableRequest, TotpEnrolRequest, TotpEnrolment,
};
use keyturn_protocol::{
    AppPassword, AppPasswordId, ErrorCode, Label, LookupTag, Scopes, Verifier, VerifierParams, EXPIRY_DAYS,
};
use reqwest::{RequestBuilder, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::{expect_status, json, Client, Error, Result};

/// How many times a create is sent before giving up, and the pause before the first retry (doubling).
const CREATE_ATTEMPTS: u32 = 3;
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(250);
/// How many passwords are made before a lookup-tag collision is given up on.
const TAG_ATTEMPTS: u32 = 3;

/// The calls of one signed-in user.
#[derive(Clone)]
pub struct SessionClient {
    client: Client,
    token: SecretString,
}

/// A new app-specific password and its row. The password exists only here: show it once, then drop it.
pub struct CreatedAppPassword {
    pub info: AppPasswordInfo,
    pub password: AppPassword,
    /// The operator's services this password signs in to (those of `/v1/config` its scopes allow): where the
    /// user types it. Empty when the server names none.
    pub services: Vec<ServiceInfo>,
}

/// Whether the server made the password with the scopes and the expiry (or none) it was asked for.
fn honours(info: &AppPasswordInfo, options: AppPasswordOptions) -> bool {
    info.scopes == options.scopes && info.expires_at.is_some() == options.expires_in_days.is_some()
}

/// What a new password may reach and how long it lasts. The default is what Apple's page makes: everything,
/// for good.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppPasswordOptions {
    pub scopes: Scopes,
    /// Days until it stops working, within [`EXPIRY_DAYS`]; `None`: never.
    pub expires_in_days: Option<u32>,
}

impl SessionClient {
    pub(crate) fn new(client: Client, token: SecretString) -> Self {
        Self { client, token }
    }

    fn authed(&self, request: RequestBuilder) -> RequestBuilder {
        request.bearer_auth(self.token.expose_secret())
    }

    async fn send(&self, request: RequestBuilder) -> Result<reqwest::Response> {
        self.client.send(self.authed(request)).await
    }

    fn http(&self) -> &reqwest::Client {
        self.client.http()
    }

    /// Ends this session on the server.
    pub async fn sign_out(&self) -> Result<()> {
        let response = self
            .send(self.http().delete(self.client.url("v1/sessions/current")?))
            .await?;
        expect_status(&response, StatusCode::NO_CONTENT)
    }

    pub async fn account(&self) -> Result<AccountInfo> {
        json(self.send(self.http().get(self.client.url("v1/account")?)).await?).await
    }

    /// Changes the primary password; every app-specific password and every other session ends.
    pub async fn change_password(&self, current: &SecretString, new: &SecretString) -> Result<()> {
        self.change_password_with_code(current, new, None).await
    }

    /// The same, for an account with two-factor authentication on (`code`: a verification or recovery code).
    pub async fn change_password_with_code(
        &self,
        current: &SecretString,
        new: &SecretString,
        code: Option<&SecretString>,
    ) -> Result<()> {
        let body = ChangePasswordRequest {
            current_password: current.expose_secret().to_owned(),
            new_password: new.expose_secret().to_owned(),
            code: code.map(|c| c.expose_secret().to_owned()),
        };
        let response = self
            .send(self.http().post(self.client.url("v1/account/password")?).json(&body))
            .await?;
        expect_status(&response, StatusCode::NO_CONTENT)
    }

    /// Starts turning two-factor authentication on: the secret for the authenticator app, pending until
    /// [`confirm_totp`](Self::confirm_totp).
    pub async fn enrol_totp(&self, current: &SecretString) -> Result<TotpEnrolment> {
        let body = TotpEnrolRequest {
            current_password: current.expose_secret().to_owned(),
        };
        let response = self
            .send(self.http().post(self.client.url("v1/account/totp")?).json(&body))
            .await?;
        expect_status(&response, StatusCode::CREATED)?;
        json(response).await
    }

    /// Turns two-factor authentication on with the authenticator app's code; answers the recovery codes.
    pub async fn confirm_totp(&self, code: &SecretString) -> Result<RecoveryCodes> {
        let body = TotpConfirmRequest {
            code: code.expose_secret().to_owned(),
        };
        json(
            self.send(
                self.http()
                    .post(self.client.url("v1/account/totp/confirm")?)
                    .json(&body),
            )
            .await?,
        )
        .await
    }

    /// Turns two-factor authentication off (a recovery code works as `code`).
    pub async fn disable_totp(&self, current: &SecretString, code: &SecretString) -> Result<()> {
        let body = TotpDisableRequest {
            current_password: current.expose_secret().to_owned(),
            code: code.expose_secret().to_owned(),
        };
        let response = self
            .send(self.http().delete(self.client.url("v1/account/totp")?).json(&body))
            .await?;
        expect_status(&response, StatusCode::NO_CONTENT)
    }

    /// Active app-specific passwords, newest first.
    pub async fn list_app_passwords(&self) -> Result<Vec<AppPasswordInfo>> {
        let list: AppPasswordList =
            json(self.send(self.http().get(self.client.url("v1/app-passwords")?)).await?).await?;
        Ok(list.app_passwords)
    }

    /// The whole device side of a new password: generate it, build its verifier and lookup tag with the
    /// server's parameters (argon2 off the async runtime), send them under a fresh Idempotency-Key, retry a
    /// failed send with the same key, and hand back the password once.
    pub async fn create_app_password(&self, label: &str) -> Result<CreatedAppPassword> {
        self.create_with(label, AppPasswordOptions::default(), AppPassword::generate)
            .await
    }

    /// [`Self::create_app_password`] limited to some scopes, or expiring.
    pub async fn create_app_password_with_options(
        &self,
        label: &str,
        options: AppPasswordOptions,
    ) -> Result<CreatedAppPassword> {
        self.create_with(label, options, AppPassword::generate).await
    }

    /// [`Self::create_app_password`] with the passwords `generate` makes, for tests that need a collision.
    #[cfg(feature = "test-support")]
    pub async fn create_app_password_with(
        &self,
        label: &str,
        generate: impl FnMut() -> AppPassword,
    ) -> Result<CreatedAppPassword> {
        self.create_with(label, AppPasswordOptions::default(), generate).await
    }

    async fn create_with(
        &self,
        label: &str,
        options: AppPasswordOptions,
        mut generate: impl FnMut() -> AppPassword,
    ) -> Result<CreatedAppPassword> {
        let label = Label::parse(label).map_err(Error::InvalidLabel)?;
        if let Some(days) = options.expires_in_days {
            if !EXPIRY_DAYS.contains(&i64::from(days)) {
                return Err(Error::Protocol(format!(
                    "an app-specific password expires after {} to {} days",
                    EXPIRY_DAYS.start(),
                    EXPIRY_DAYS.end()
                )));
            }
        }
        let config = self.client.config().await?;
        let params = config
            .verifier_params
            .check_bounds()
            .map_err(Error::UnacceptableParams)?;
        let mut tries = 1;
        loop {
            let password = generate();
            match self.send_with_retries(&label, &password, params, options).await {
                // Another active password has the same 32-bit lookup tag (about 1 in 170 million with 25):
                // this one would make every sign-in verify two, so make another.
                Err(e) if e.is(ErrorCode::LookupTagConflict) && tries < TAG_ATTEMPTS => tries += 1,
                Ok(info) if !honours(&info, options) => {
                    // A server from before scopes and expiry ignores what it does not know: the password it
                    // made would reach everything, for good. It goes at once, and is never shown.
                    if let Err(e) = self.revoke(&info.id).await {
                        tracing::warn!(error = %e, "could not revoke a password the server made without its limits");
                    }
                    return Err(Error::LimitsUnsupported);
                }
                other => {
                    return other.map(|info| {
                        let services = config.services.into_iter().filter(|s| s.allowed(info.scopes)).collect();
                        CreatedAppPassword {
                            info,
                            password,
                            services,
                        }
                    })
                }
            }
        }
    }

    /// Builds the verifier off the runtime and sends it under a fresh Idempotency-Key, sending again with the
    /// same key after a failure the request may not have survived.
    async fn send_with_retries(
        &self,
        label: &Label,
        password: &AppPassword,
        params: VerifierParams,
        options: AppPasswordOptions,
    ) -> Result<AppPasswordInfo> {
        let for_verifier = password.clone();
        let verifier = tokio::task::spawn_blocking(move || Verifier::build(for_verifier.expose().as_bytes(), params))
            .await
            .map_err(|e| Error::Protocol(e.to_string()))?
            .map_err(|e| Error::Protocol(e.to_string()))?;
        let request = CreateAppPasswordRequest {
            label: label.as_str().to_owned(),
            verifier: verifier.as_str().to_owned(),
            lookup_tag: LookupTag::of(password).as_str().to_owned(),
            // Sent only when limited, so a server that predates scopes still takes a plain create.
            scopes: (options.scopes != Scopes::EVERYTHING)
                .then(|| options.scopes.iter().map(|s| s.as_str().to_owned()).collect()),
            expires_in_days: options.expires_in_days.map(i64::from),
        };
        let key = Uuid::new_v4().to_string();
        let mut pause = FIRST_RETRY_PAUSE;
        let mut attempt = 1;
        loop {
            match self.post_create(&request, &key).await {
                Err(e) if e.is_transient() && attempt < CREATE_ATTEMPTS => {
                    tracing::warn!(attempt, error = %e, "creating an app password failed; retrying with the same key");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One `POST /v1/app-passwords` exactly as given, for tests that send what no real device would.
    #[cfg(feature = "test-support")]
    pub async fn send_create(
        &self,
        request: &CreateAppPasswordRequest,
        idempotency_key: &str,
    ) -> Result<AppPasswordInfo> {
        self.post_create(request, idempotency_key).await
    }

    async fn post_create(&self, request: &CreateAppPasswordRequest, idempotency_key: &str) -> Result<AppPasswordInfo> {
        let builder = self
            .http()
            .post(self.client.url("v1/app-passwords")?)
            .header("Idempotency-Key", idempotency_key)
            .json(request);
        json(self.send(builder).await?).await
    }

    pub async fn revoke(&self, id: &AppPasswordId) -> Result<()> {
        let url = self.url_of("v1/app-passwords/", id.as_str())?;
        let response = self.send(self.http().delete(url)).await?;
        expect_status(&response, StatusCode::NO_CONTENT)
    }

    /// Gives one password a new label; answers its row.
    pub async fn rename(&self, id: &AppPasswordId, label: &str) -> Result<AppPasswordInfo> {
        let label = Label::parse(label).map_err(Error::InvalidLabel)?;
        let body = RenameAppPasswordRequest {
            label: label.as_str().to_owned(),
        };
        let url = self.url_of("v1/app-passwords/", id.as_str())?;
        json(self.send(self.http().patch(url).json(&body)).await?).await
    }

    /// The account's signed-in devices, the newest sign-in first; this one is marked `current`.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>> {
        let list: SessionList = json(self.send(self.http().get(self.client.url("v1/sessions")?)).await?).await?;
        Ok(list.sessions)
    }

    /// Signs one device out by its session's id: its token stops working at once.
    pub async fn end_session(&self, id: &str) -> Result<()> {
        let url = self.url_of("v1/sessions/", id)?;
        let response = self.send(self.http().delete(url)).await?;
        expect_status(&response, StatusCode::NO_CONTENT)
    }

    /// The account's recent activity, newest first; `limit` 1–200, 50 when `None`.
    pub async fn activity(&self, limit: Option<u32>) -> Result<Vec<ActivityEvent>> {
        let mut url = self.client.url("v1/account/activity")?;
        if let Some(limit) = limit {
            url.query_pairs_mut().append_pair("limit", &limit.to_string());
        }
        let list: ActivityList = json(self.send(self.http().get(url)).await?).await?;
        Ok(list.events)
    }

    /// `collection` + one path segment, percent-encoded: an id can never reach another path.
    fn url_of(&self, collection: &str, id: &str) -> Result<reqwest::Url> {
        let mut url = self.client.url(collection)?;
        url.path_segments_mut()
            .map_err(|_| Error::InvalidUrl(id.to_owned()))?
            .pop_if_empty()
            .push(id);
        Ok(url)
    }

    /// Revoke All; returns how many were revoked.
    pub async fn revoke_all(&self) -> Result<u32> {
        let result: RevokeAllResult = json(
            self.send(self.http().delete(self.client.url("v1/app-passwords")?))
                .await?,
        )
        .await?;
        Ok(result.revoked)
    }
}
