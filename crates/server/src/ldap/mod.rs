//! The LDAP door: simple binds with app-specific passwords, the language every mail server, DAV server and
//! web app already checks passwords in (Dovecot's `auth_bind`, Postfix through Dovecot's SASL, Nextcloud,
//! Gitea). A bind as `uid=EMAIL,ou=SCOPE,BASE` is one call to [`account::app_sign_in`]: the same cache,
//! throttle, argon2 limits, last-used time and audit trail as every app sign-in. What else it answers: the
//! RFC 4532 "Who am I?", the root DSE (the naming context), and the bound account's own entry (`uid`,
//! `mail`, `cn`), so a server that looks its user up after the bind finds them. Everything else is refused
//! with a result code, never a dropped connection without one.
//!
//! Plain LDAP carries the password as it is: serve it on loopback or a private link, or ask for LDAPS
//! (`--ldap-cert`, `--ldap-key`). A peer is held to [`MAX_PER_ADDRESS`] connections, a message to
//! [`MAX_MESSAGE_BYTES`] and 32 levels of nesting (checked before it is buffered or parsed), an answer to
//! [`WRITE`] to be read.

mod codec;
mod dn;
mod entry;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use ldap3_proto::proto::{
    LdapBindCred, LdapBindRequest, LdapBindResponse, LdapExtendedRequest, LdapExtendedResponse, LdapOp, LdapResult,
    LdapSearchRequest,
};
use ldap3_proto::{LdapMsg, LdapResultCode};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

use crate::account::{self, AppSignedIn, Caller, Door, Refusal};
use crate::{AppState, TrustedProxies};
use codec::GatedCodec;

pub use dn::{Dn, NotADn};

/// RFC 4532's "Who am I?" extended operation.
const WHOAMI_OID: &str = "1.3.6.1.4.1.4203.1.11.3";
/// Largest LDAP message read; a bind or a search is far smaller.
const MAX_MESSAGE_BYTES: usize = 16 * 1024;
/// A connection with no request for this long is closed (a mail server's pooled connection reconnects).
const IDLE: Duration = Duration::from_secs(300);
/// A TLS handshake that takes longer is dropped.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 1024;
/// Connections from one address at once; more are closed at once, so one peer cannot take every slot.
const MAX_PER_ADDRESS: usize = 64;
/// An answer the peer does not read within this long ends the connection.
const WRITE: Duration = Duration::from_secs(10);

/// How the LDAP door is configured: `serve`'s `--ldap-*` flags.
#[derive(Clone)]
pub struct LdapOptions {
    /// The directory's base DN (`dc=keyturn`); accounts are `uid=EMAIL,ou=SCOPE,` under it.
    pub base: Dn,
    /// LDAPS: TLS from the first byte. `None`: plain LDAP.
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// The mail servers that bind for their users: only the account is counted for a bind from one of them,
    /// never their address. Any other peer is a client, counted by its address like one over HTTP.
    pub relays: TrustedProxies,
}

/// Serves LDAP on `listener` until `shutdown` is cancelled; connections open then are closed.
pub async fn run_ldap(
    listener: TcpListener,
    app: AppState,
    options: LdapOptions,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let options = Arc::new(options);
    let tls = options.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let open = Arc::new(Mutex::new(HashMap::new()));
    loop {
        let slot = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            slot = slots.clone().acquire_owned() => slot.map_err(std::io::Error::other)?,
        };
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting an LDAP connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(per_address) = Admitted::admit(&open, peer.ip()) else {
            tracing::debug!(%peer, "LDAP connection refused: too many from this address");
            continue;
        };
        let (app, options, tls, shutdown) = (app.clone(), options.clone(), tls.clone(), shutdown.clone());
        tokio::spawn(async move {
            let _slots = (slot, per_address);
            let served = async {
                match tls {
                    Some(tls) => match tokio::time::timeout(HANDSHAKE, tls.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(stream, peer, &app, &options).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "LDAPS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "LDAPS handshake timed out"),
                    },
                    None => serve_connection(stream, peer, &app, &options).await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = served => {}
            }
        });
    }
}

/// One connection's place in the count per address, given back when the connection ends.
struct Admitted {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl Admitted {
    /// A place for a connection from `ip`, unless it has [`MAX_PER_ADDRESS`] open already.
    fn admit(open: &Arc<Mutex<HashMap<IpAddr, usize>>>, ip: IpAddr) -> Option<Self> {
        let mut counts = open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(ip).or_insert(0);
        if *count >= MAX_PER_ADDRESS {
            return None;
        }
        *count += 1;
        Some(Self { open: open.clone(), ip })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut counts = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// What a connection has proven: nothing yet (anonymous), or an account for one scope.
struct Bound {
    dn: Dn,
    signed_in: AppSignedIn,
}

async fn serve_connection(
    stream: impl AsyncRead + AsyncWrite + Unpin,
    peer: SocketAddr,
    app: &AppState,
    options: &LdapOptions,
) {
    let mut framed = Framed::new(stream, GatedCodec::new(MAX_MESSAGE_BYTES));
    let mut bound: Option<Bound> = None;
    loop {
        let message = match tokio::time::timeout(IDLE, framed.next()).await {
            Err(_) | Ok(None) => return,
            Ok(Some(Ok(message))) => message,
            Ok(Some(Err(_))) => {
                // Not LDAP, or too large: say so once and close, as RFC 4511 §4.4.1 has it.
                app.metrics.count_ldap("malformed", LdapResultCode::ProtocolError);
                let _ = framed.send(notice_of_disconnection()).await;
                return;
            }
        };
        let msgid = message.msgid;
        let replies = match message.op {
            LdapOp::BindRequest(request) => vec![bind(app, options, peer.ip(), &mut bound, msgid, request).await],
            LdapOp::UnbindRequest => return,
            LdapOp::AbandonRequest(_) => Vec::new(),
            LdapOp::SearchRequest(request) => search(options, bound.as_ref(), msgid, &request),
            LdapOp::ExtendedRequest(request) => vec![extended(bound.as_ref(), msgid, &request)],
            other => match refusal_for(&other) {
                Some(op) => {
                    app.metrics.count_ldap("write", LdapResultCode::UnwillingToPerform);
                    vec![reply(msgid, op)]
                }
                None => {
                    // A response sent to a server: not a client speaking LDAP.
                    let _ = framed.send(notice_of_disconnection()).await;
                    return;
                }
            },
        };
        let answered = async {
            for reply in replies {
                framed.feed(reply).await?;
            }
            framed.flush().await
        };
        if !matches!(tokio::time::timeout(WRITE, answered).await, Ok(Ok(()))) {
            return;
        }
    }
}

/// A simple bind. The empty DN with the empty password is anonymous; anything else must be an account's DN
/// under the base with an app-specific password allowed that scope. Every refusal of a password is
/// `invalidCredentials` after the same work, whatever made it wrong.
async fn bind(
    app: &AppState,
    options: &LdapOptions,
    peer: IpAddr,
    bound: &mut Option<Bound>,
    msgid: i32,
    request: LdapBindRequest,
) -> LdapMsg {
    // RFC 4511 §4.2.1: a bind, whatever its outcome, first makes the connection anonymous.
    *bound = None;
    let LdapBindRequest { dn, cred } = request;
    let LdapBindCred::Simple(password) = cred else {
        app.metrics.count_ldap("bind", LdapResultCode::AuthMethodNotSupported);
        return bind_reply(
            msgid,
            LdapResultCode::AuthMethodNotSupported,
            "Only simple binds are supported.",
        );
    };
    let password = Zeroizing::new(password);
    if dn.is_empty() && password.is_empty() {
        app.metrics.count_ldap("bind", LdapResultCode::Success);
        return bind_reply(msgid, LdapResultCode::Success, "");
    }
    let parsed = Dn::parse(&dn).ok();
    let account = parsed.as_ref().and_then(|dn| dn.account_under(&options.base));
    // A malformed DN names no account: the same sign-in with no email, so the same argon2 work.
    let (email, scope) = account.map_or(("", None), |(email, scope)| (email, Some(scope)));
    let caller = if options.relays.contains(peer) {
        Caller::Relay(peer)
    } else {
        Caller::Client(peer)
    };
    let signed_in = account::app_sign_in(app, email, &password, scope, caller, Door::Ldap).await;
    let code = match (signed_in, scope) {
        (Ok(signed_in), Some(scope)) => {
            *bound = Some(Bound {
                dn: Dn::of_account(signed_in.email.as_str(), scope, &options.base),
                signed_in,
            });
            LdapResultCode::Success
        }
        (Err(Refusal::Throttled(_) | Refusal::Overloaded), _) => LdapResultCode::Busy,
        (Err(e @ (Refusal::Store(_) | Refusal::Hash(_))), _) => {
            tracing::error!(error = %e, "an LDAP bind failed");
            LdapResultCode::Other
        }
        // A wrong password; and no sign-in succeeds without a scope, since a DN without one names no account.
        _ => LdapResultCode::InvalidCredentials,
    };
    app.metrics.count_ldap("bind", code.clone());
    let message = match code {
        LdapResultCode::Busy => "Too many attempts or too busy; try again later.",
        LdapResultCode::Other => "Something went wrong on the server.",
        _ => "",
    };
    bind_reply(msgid, code, message)
}

fn search(options: &LdapOptions, bound: Option<&Bound>, msgid: i32, request: &LdapSearchRequest) -> Vec<LdapMsg> {
    let done = |code: LdapResultCode, message: &str| reply(msgid, LdapOp::SearchResultDone(result(code, message)));
    let Ok(base) = Dn::parse(&request.base) else {
        return vec![done(LdapResultCode::InvalidDNSyntax, "The base is not a DN.")];
    };
    if base.is_empty() && request.scope == ldap3_proto::LdapSearchScope::Base {
        let root = entry::root_dse(&options.base, WHOAMI_OID);
        return found(msgid, entry::matching(root, &request.filter, &request.attrs));
    }
    let Some(bound) = bound else {
        return vec![done(
            LdapResultCode::InsufficentAccessRights,
            "Bind first; only your own entry can be read.",
        )];
    };
    if !base.contains(&bound.dn) {
        return vec![done(
            LdapResultCode::InsufficentAccessRights,
            "Only your own entry can be read.",
        )];
    }
    let depth = bound.dn.0.len() - base.0.len();
    let in_scope = match request.scope {
        ldap3_proto::LdapSearchScope::Base => depth == 0,
        ldap3_proto::LdapSearchScope::OneLevel => depth == 1,
        ldap3_proto::LdapSearchScope::Children => depth >= 1,
        ldap3_proto::LdapSearchScope::Subtree => true,
    };
    let own = entry::account(&bound.dn, &bound.signed_in);
    found(
        msgid,
        in_scope
            .then(|| entry::matching(own, &request.filter, &request.attrs))
            .flatten(),
    )
}

/// A search's answer: the entry found, if any, then a successful end.
fn found(msgid: i32, entry: Option<ldap3_proto::LdapSearchResultEntry>) -> Vec<LdapMsg> {
    let done = reply(msgid, LdapOp::SearchResultDone(result(LdapResultCode::Success, "")));
    entry
        .map(|e| reply(msgid, LdapOp::SearchResultEntry(e)))
        .into_iter()
        .chain([done])
        .collect()
}

fn extended(bound: Option<&Bound>, msgid: i32, request: &LdapExtendedRequest) -> LdapMsg {
    if request.name == WHOAMI_OID {
        // RFC 4532: "dn:" and the bound DN; the empty string for anonymous.
        let authzid = bound.map(|b| format!("dn:{}", b.dn)).unwrap_or_default();
        return reply(
            msgid,
            LdapOp::ExtendedResponse(LdapExtendedResponse {
                res: result(LdapResultCode::Success, ""),
                name: None,
                value: Some(authzid.into_bytes()),
            }),
        );
    }
    // StartTLS among them: LDAPS is the way to TLS here.
    reply(
        msgid,
        LdapOp::ExtendedResponse(LdapExtendedResponse {
            res: result(LdapResultCode::ProtocolError, "Unsupported extended operation."),
            name: None,
            value: None,
        }),
    )
}

/// The refusal of an operation that would change the directory or compare a value; `None` for what no
/// client sends.
fn refusal_for(op: &LdapOp) -> Option<LdapOp> {
    let no = || result(LdapResultCode::UnwillingToPerform, "This directory is read-only.");
    Some(match op {
        LdapOp::ModifyRequest(_) => LdapOp::ModifyResponse(no()),
        LdapOp::AddRequest(_) => LdapOp::AddResponse(no()),
        LdapOp::DelRequest(_) => LdapOp::DelResponse(no()),
        LdapOp::ModifyDNRequest(_) => LdapOp::ModifyDNResponse(no()),
        LdapOp::CompareRequest(_) => LdapOp::CompareResult(no()),
        _ => return None,
    })
}

fn result(code: LdapResultCode, message: &str) -> LdapResult {
    LdapResult {
        code,
        matcheddn: String::new(),
        message: message.to_owned(),
        referral: Vec::new(),
    }
}

fn reply(msgid: i32, op: LdapOp) -> LdapMsg {
    LdapMsg {
        msgid,
        op,
        ctrl: Vec::new(),
    }
}

fn bind_reply(msgid: i32, code: LdapResultCode, message: &str) -> LdapMsg {
    reply(
        msgid,
        LdapOp::BindResponse(LdapBindResponse {
            res: result(code, message),
            saslcreds: None,
        }),
    )
}

/// RFC 4511 §4.4.1's unsolicited notice that the server closes the connection.
fn notice_of_disconnection() -> LdapMsg {
    ldap3_proto::DisconnectionNotice::gen(LdapResultCode::ProtocolError, "Not an LDAP message this server reads.")
}
