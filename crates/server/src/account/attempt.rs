//! The throttled attempt, written once: every check of a secret (a primary password, an app-specific
//! password, a verification code) reserves its place in the throttle before the check runs and settles it
//! after, so many attempts at once get no more guesses than the same attempts one after another.

use std::future::Future;

use keyturn_protocol::Email;

use super::{Caller, Refusal};
use crate::throttle::Kind;
use crate::AppState;

/// What a check found.
pub(crate) enum Checked<T> {
    /// The secret was right.
    Right(T),
    /// The secret was wrong: a guess, counted.
    Wrong,
    /// Nothing was checked (nothing to check against, or the server too busy): no guess, not counted.
    NotTried(Refusal),
}

/// Runs `check` as one throttled attempt of `kind` at `email` from `caller`: refused with
/// [`Refusal::Throttled`] before it runs when the throttle says wait; `Some` when the secret was right,
/// `None` when it was wrong. A check that fails on the way counts as a failure (an error is no free guess),
/// except [`Refusal::Overloaded`] and [`Refusal::Hash`], which compared nothing.
pub(crate) async fn attempt<T>(
    app: &AppState,
    kind: Kind,
    email: Option<&Email>,
    caller: Caller,
    check: impl Future<Output = Result<Checked<T>, Refusal>>,
) -> Result<Option<T>, Refusal> {
    let reserved = app
        .throttle
        .reserve(kind, email, caller.counted_address(), app.clock.now())
        .await?;
    match check.await {
        Ok(Checked::Right(found)) => {
            reserved.succeeded().await;
            Ok(Some(found))
        }
        Ok(Checked::Wrong) => {
            reserved.failed().await;
            Ok(None)
        }
        // Too busy to check, or a stored verifier that cannot be checked: no secret was compared, so no guess.
        Ok(Checked::NotTried(refusal)) | Err(refusal @ (Refusal::Overloaded | Refusal::Hash(_))) => {
            reserved.not_tried().await;
            Err(refusal)
        }
        Err(refusal) => {
            reserved.failed().await;
            Err(refusal)
        }
    }
}

impl<T> Checked<T> {
    /// `Right(found)` or `Wrong`.
    pub(crate) fn from_option(found: Option<T>) -> Self {
        found.map_or(Checked::Wrong, Checked::Right)
    }
}
