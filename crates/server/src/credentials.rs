//! Primary-password hashing and argon2 verification, always on the blocking pool.

use keyturn_protocol::{AppPassword, Verifier, VerifierParams};
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::Ordering;

use crate::state::Shared;

/// Hashes a primary password with the server's parameters.
pub async fn hash_password(password: SecretString, params: VerifierParams) -> anyhow::Result<Verifier> {
    let verifier =
        tokio::task::spawn_blocking(move || Verifier::build(password.expose_secret().as_bytes(), params)).await??;
    Ok(verifier)
}

impl Shared {
    /// One argon2 verification of a primary password.
    pub(crate) async fn verify_password(&self, verifier: Verifier, password: SecretString) -> bool {
        self.argon2_verifications.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || verifier.verify(password.expose_secret().as_bytes()))
            .await
            .unwrap_or(false)
    }

    /// One argon2 verification of an app-specific password.
    pub(crate) async fn verify_app_password(&self, verifier: Verifier, password: AppPassword) -> bool {
        self.argon2_verifications.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || verifier.verify(password.expose().as_bytes()))
            .await
            .unwrap_or(false)
    }
}

/// A verifier of a random password nobody knows, with the real parameters.
pub fn dummy_verifier(params: VerifierParams) -> anyhow::Result<Verifier> {
    Ok(Verifier::build(AppPassword::generate().expose().as_bytes(), params)?)
}
