//! Signed-In Devices and Recent Activity.

use chrono::{DateTime, Utc};
use keyturn_protocol::wire::{ActivityKind, SessionInfo};
use keyturn_protocol::ErrorCode;
use serde::Serialize;

use super::Desktop;
use crate::error::{Code, CommandError};
use crate::messages;

/// One line of Recent Activity: the sentence, and when (the window says how long ago).
#[derive(Debug, Serialize)]
pub struct ActivityView {
    pub at: DateTime<Utc>,
    pub kind: ActivityKind,
    pub text: String,
}

impl Desktop {
    /// Signed-In Devices: this one and every other session of the account.
    pub async fn list_sessions(&self) -> Result<Vec<SessionInfo>, CommandError> {
        let (session, _) = self.session().await?;
        self.check(session.sessions().await).await
    }

    /// Signs another device out; a device already gone says so in its own words.
    pub async fn end_session(&self, id: &str) -> Result<(), CommandError> {
        let (session, _) = self.session().await?;
        match self.check(session.end_session(id).await).await {
            Ok(()) => {
                tracing::info!("a device was signed out");
                Ok(())
            }
            Err(e) if e.code == Code::Api(ErrorCode::NotFound) => Err(messages::device_already_signed_out()),
            Err(e) => Err(e),
        }
    }

    /// Recent Activity, newest first, each event in words.
    pub async fn recent_activity(&self) -> Result<Vec<ActivityView>, CommandError> {
        let (session, _) = self.session().await?;
        let events = self.check(session.activity(None).await).await?;
        Ok(events
            .iter()
            .map(|event| ActivityView {
                at: event.at,
                kind: event.kind,
                text: messages::activity(event),
            })
            .collect())
    }
}
