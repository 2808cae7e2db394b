//! An app password's row as support staff see it, and its state at a given moment.

use chrono::{DateTime, Utc};
use keyturn_protocol::wire::AppPasswordInfo;
use keyturn_protocol::{AppPasswordId, Scopes};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::store::{from_millis, optional_millis, StoreError};

/// A row as support staff see it: active, expired or revoked.
#[derive(Clone, Debug, Serialize)]
pub struct AppPasswordRow {
    pub id: AppPasswordId,
    pub label: String,
    pub scopes: Scopes,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When it stopped working: revoked, or (the same as `expires_at`) expired.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl AppPasswordRow {
    pub(super) fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: AppPasswordId::new(row.try_get::<String, _>("id")?),
            label: row.try_get("label")?,
            scopes: stored_scopes(row)?,
            created_at: from_millis(row.try_get("created_at")?)?,
            last_used_at: optional_millis(row.try_get("last_used_at")?)?,
            expires_at: optional_millis(row.try_get("expires_at")?)?,
            revoked_at: optional_millis(row.try_get("revoked_at")?)?,
        })
    }

    pub fn info(&self) -> AppPasswordInfo {
        AppPasswordInfo {
            id: self.id.clone(),
            label: self.label.clone(),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            scopes: self.scopes,
            expires_at: self.expires_at,
        }
    }

    /// Past its expiry but not yet marked so.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_some_and(|at| at <= now)
    }

    /// It stopped working by expiring, not by a revoke.
    pub fn expired(&self) -> bool {
        self.revoked_at.is_some() && self.revoked_at == self.expires_at
    }

    /// "active", "expired" (marked so or not yet) or "revoked", at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> &'static str {
        if self.expired() || self.is_due(now) {
            "expired"
        } else if self.revoked_at.is_some() {
            "revoked"
        } else {
            "active"
        }
    }
}

pub(super) fn stored_scopes(row: &AnyRow) -> Result<Scopes, StoreError> {
    let stored: String = row.try_get("scopes")?;
    Scopes::from_stored(&stored).map_err(|_| StoreError::Corrupt(format!("scopes {stored:?}")))
}
