//! Two-factor authentication: turning it on (a QR code made here, then the recovery codes) and off.

use std::sync::PoisonError;

use keyturn_client::Error as ApiError;
use secrecy::SecretString;
use serde::Serialize;
use zeroize::Zeroizing;

use super::Desktop;
use crate::error::CommandError;

/// Turning two-factor authentication on: what the authenticator app needs.
#[derive(Serialize)]
pub struct TwoFactorSetup {
    /// The secret in groups of four, to type in.
    pub secret: String,
    /// The `otpauth://` URI as a QR code, an SVG document.
    pub qr_svg: String,
}

impl Desktop {
    /// Starts turning two-factor authentication on: the secret for the authenticator app, as a QR code made
    /// here (never by a service) and as text in groups of four.
    pub async fn begin_two_factor(&self, password: SecretString) -> Result<TwoFactorSetup, CommandError> {
        let (session, _) = self.session().await?;
        let enrolment = self.check(session.enrol_totp(&password).await).await?;
        tracing::info!("two-factor setup started");
        let qr = qrcode::QrCode::new(enrolment.otpauth_uri.as_bytes())
            .map_err(|e| CommandError::from(ApiError::Protocol(format!("the setup key cannot be drawn: {e}"))))?;
        let qr_svg = qr
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build();
        let secret = Zeroizing::new(enrolment.secret);
        let grouped = secret
            .as_bytes()
            .chunks(4)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(TwoFactorSetup {
            secret: grouped,
            qr_svg,
        })
    }

    /// Turns it on with the authenticator app's code; the recovery codes are shown once and may be copied.
    pub async fn confirm_two_factor(&self, code: SecretString) -> Result<Vec<String>, CommandError> {
        let (session, _) = self.session().await?;
        let codes = self.check(session.confirm_totp(&code).await).await?.recovery_codes;
        tracing::info!("two-factor authentication turned on");
        *self.reveal.lock().unwrap_or_else(PoisonError::into_inner) = Some(Zeroizing::new(codes.join("\n")));
        Ok(codes)
    }

    pub async fn turn_off_two_factor(&self, password: SecretString, code: SecretString) -> Result<(), CommandError> {
        let (session, _) = self.session().await?;
        self.check(session.disable_totp(&password, &code).await).await?;
        tracing::info!("two-factor authentication turned off");
        Ok(())
    }
}
