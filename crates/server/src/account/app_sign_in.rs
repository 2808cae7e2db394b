//! A third-party app signs in with an app-specific password: the one procedure behind every door a mail or
//! calendar server checks a password by (HTTP Basic at `whoami`, a reverse proxy's `auth_request`, an LDAP
//! bind).

use chrono::{DateTime, Duration, Utc};
use keyturn_protocol::{AppPassword, AppPasswordId, Email, LookupTag, Scope, Scopes};

use super::attempt::{attempt, Checked};
use super::{claimed_email, Caller, Refusal};
use crate::credentials::Overloaded;
use crate::store::{AuditKind, Candidate};
use crate::throttle::Kind;
use crate::verified_cache::Proof;
use crate::AppState;

/// `last_used_at` (and the "app sign-in" audit line) is written at most this often per password.
const MARK_USED_EVERY: Duration = Duration::minutes(1);

/// Which door the sign-in came by, for the audit trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Door {
    /// HTTP Basic at `whoami`, directly or through a reverse proxy.
    Http,
    /// An LDAP simple bind, as a mail server makes it.
    Ldap,
}

/// A third-party app's password, proven.
#[derive(Debug)]
pub struct AppSignedIn {
    /// The account's canonical email.
    pub email: Email,
    pub id: AppPasswordId,
    pub label: String,
    pub scopes: Scopes,
}

/// Signs in as a third-party app: `password` must be an active, unexpired app-specific password of the
/// account `email` names (in any case, with or without hyphens). With `wanted`, only a password that may
/// reach it; without, only one that may reach everything (a limit never fails open).
///
/// A password this process has verified is proven from the cache without argon2 or the throttle; anything
/// else is one throttled attempt with one argon2 run, against the dummy verifier when there is nothing to
/// check against, so the answer and its time do not tell which emails exist. A wrong password is
/// [`Refusal::WrongAppPassword`] whatever it asked to reach.
pub async fn app_sign_in(
    app: &AppState,
    email: &str,
    password: &str,
    wanted: Option<Scope>,
    caller: Caller,
    door: Door,
) -> Result<AppSignedIn, Refusal> {
    let email = claimed_email(email).map_err(|_| Refusal::WrongAppPassword)?;
    let now = app.clock.now();
    let account = match &email {
        Some(email) => app.store.find_account_by_email(email).await?,
        None => None,
    };
    let parsed = AppPassword::parse(password).ok().map(|parsed| {
        let proof = app.verified.proof(&parsed);
        (parsed, proof)
    });
    let mut candidates = match (&account, &parsed) {
        (Some(account), Some((parsed, _))) => app.store.candidates(&account.id, &LookupTag::of(parsed), now).await?,
        _ => Vec::new(),
    };
    let cached = parsed
        .as_ref()
        .and_then(|(_, proof)| candidates.iter().position(|c| app.verified.hit(&c.id, proof)));
    let found = match cached {
        // A password this process has verified is proven without argon2, so it is no guess: no back-off
        // refuses it, and a mail client retrying a revoked password cannot lock out the other apps of the
        // same computer.
        Some(i) => Some(candidates.swap_remove(i)),
        None => {
            let check = async {
                // Without candidates (an unknown account included), or with a password that is not one, the
                // same argon2 work against the dummy.
                let found = match parsed {
                    Some((parsed, proof)) => verify(app, candidates, parsed, proof).await?,
                    None => {
                        app.argon2.verify_password(app.dummy.clone(), password.into()).await?;
                        None
                    }
                };
                Ok(Checked::from_option(found))
            };
            attempt(app, Kind::AppSignIn, email.as_ref(), caller, check).await?
        }
    };
    let (account, candidate) = match (account, found) {
        (Some(account), Some(candidate)) => (account, candidate),
        (account, _) => {
            if let Some(account) = account {
                app.store
                    .record(&account.id, caller.origin(), AuditKind::FailedAppSignIn, now)
                    .await?;
            }
            return Err(Refusal::WrongAppPassword);
        }
    };
    let span = tracing::Span::current();
    span.record("account", tracing::field::display(&account.id));
    span.record("id", tracing::field::display(&candidate.id));
    // Only after the password proved right: a wrong one is refused as wrong, whatever it asked to reach.
    let refused = match wanted {
        Some(scope) if !candidate.scopes.contains(scope) => Some((Refusal::OutOfScope(scope), scope.as_str())),
        None if candidate.scopes != Scopes::EVERYTHING => Some((Refusal::ScopeRequired, "no scope")),
        _ => None,
    };
    if let Some((refusal, asked)) = refused {
        if refusal_is_news(app, &candidate.id, wanted, now) {
            let detail = format!("{} asked for {asked}", candidate.label);
            app.store
                .record_about(&account.id, caller.origin(), AuditKind::RefusedScope, &detail, now)
                .await?;
        }
        return Err(refusal);
    }
    if candidate.last_used_at.is_none_or(|t| now - t >= MARK_USED_EVERY) {
        app.store.mark_used(&candidate.id, now).await?;
        let kind = match door {
            Door::Http => AuditKind::AppSignIn,
            Door::Ldap => AuditKind::LdapSignIn,
        };
        app.store
            .record_about(&account.id, caller.origin(), kind, &candidate.label, now)
            .await?;
    }
    Ok(AppSignedIn {
        email: account.email,
        id: candidate.id,
        label: candidate.label,
        scopes: candidate.scopes,
    })
}

/// Whether refusing `id` for `scope` (`None`: for asking no scope) at `now` is worth an audit line, and if so
/// notes that it was written. A refused password is a right one, proven from the cache without argon2 or
/// back-off, so a mail client asking every few seconds for what it may not reach would otherwise write a line
/// each time: like app sign-ins, one a minute per password (and scope). Per process, so each instance behind
/// a load balancer writes its own.
fn refusal_is_news(app: &AppState, id: &AppPasswordId, scope: Option<Scope>, now: DateTime<Utc>) -> bool {
    let key = (id.clone(), scope);
    if app
        .scope_refusals
        .get(&key)
        .is_some_and(|at| now - at < MARK_USED_EVERY)
    {
        return false;
    }
    app.scope_refusals.insert(key, now);
    true
}

/// The candidate `password` is, by one argon2 run each (almost always one candidate, or the dummy for none).
async fn verify(
    app: &AppState,
    candidates: Vec<Candidate>,
    password: AppPassword,
    proof: Proof,
) -> Result<Option<Candidate>, Overloaded> {
    if candidates.is_empty() {
        app.argon2.verify_app_password(app.dummy.clone(), password).await?;
        return Ok(None);
    }
    for candidate in candidates {
        if app
            .argon2
            .verify_app_password(candidate.verifier.clone(), password.clone())
            .await?
        {
            app.verified.insert(candidate.id.clone(), proof);
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}
