//! `keyturn-server serve`: the HTTP API, and beside it the operator's metrics and the LDAP door when asked.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_util::sync::CancellationToken;

use crate::cli::{open, DbArg, ParamsArgs};
use crate::ldap::{Dn, LdapOptions};
use crate::store::Database;
use crate::{AppState, Argon2Limits, Options, SystemClock, TrustedProxies};
use keyturn_protocol::wire::ServiceInfo;
use keyturn_protocol::Scope;

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "KEYTURN_LISTEN", default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    #[command(flatten)]
    db: DbArg,
    /// Where to serve `GET /metrics` (Prometheus text format); default: nowhere. Keep it off the public
    /// address, e.g. 127.0.0.1:9187.
    #[arg(long, env = "KEYTURN_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    params: ParamsArgs,
    /// Log lines as JSON objects (one per line) instead of text, for log collectors.
    #[arg(long, env = "KEYTURN_LOG_JSON")]
    log_json: bool,
    /// argon2 runs at once (sign-ins, password checks); default: the number of cores.
    #[arg(long, env = "KEYTURN_ARGON2_CONCURRENCY", default_value_t = Argon2Limits::default().concurrency)]
    argon2_concurrency: usize,
    /// Requests that may wait for an argon2 run; beyond them a request is answered 503 at once.
    #[arg(long, env = "KEYTURN_ARGON2_QUEUE", default_value_t = Argon2Limits::default().queue)]
    argon2_queue: usize,
    /// Proxies whose X-Forwarded-For (or X-Real-IP) names the client: CIDR[,CIDR…]. Default: none (the peer
    /// is the client).
    #[arg(long, env = "KEYTURN_TRUSTED_PROXIES", default_value = "")]
    trusted_proxies: TrustedProxies,
    /// Make app-specific passwords only for accounts with two-factor authentication on (existing ones keep
    /// working).
    #[arg(long, env = "KEYTURN_REQUIRE_SECOND_FACTOR")]
    require_second_factor: bool,
    /// A mail or calendar service of yours, as SCOPE=URL (SCOPE: mail, calendars, contacts or files), e.g.
    /// mail=imaps://mail.example.com:993; repeat it, or separate them with commas. The reveal tells the user
    /// the host names of the services a new password may sign in to.
    #[arg(long = "service", env = "KEYTURN_SERVICES", value_delimiter = ',', value_parser = service)]
    services: Vec<ServiceInfo>,
    /// Connections the API keeps open at most; more wait until one closes. Default: sized for the machine
    /// (the open-file limit, less 256).
    #[arg(long, env = "KEYTURN_MAX_CONNECTIONS", default_value_t = crate::connections::default_max_connections())]
    max_connections: usize,
    /// Seconds a client has to send a request's header (an idle connection is closed after as long).
    #[arg(long, env = "KEYTURN_HEADER_TIMEOUT", default_value_t = 10)]
    header_timeout: u64,
    /// Seconds a client has to send a request's whole body.
    #[arg(long, env = "KEYTURN_BODY_TIMEOUT", default_value_t = 10)]
    body_timeout: u64,
    #[command(flatten)]
    ldap: LdapArgs,
}

/// `SCOPE=URL`, with a known scope and a URL with a host name.
fn service(text: &str) -> Result<ServiceInfo, String> {
    let Some((scope, url)) = text.split_once('=') else {
        return Err("expected SCOPE=URL, as in mail=imaps://mail.example.com:993".to_owned());
    };
    let scope = Scope::parse(scope.trim()).map_err(|_| {
        let names: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown scope {scope:?}: one of {}", names.join(", "))
    })?;
    let url = url.trim();
    let parsed =
        url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL ({e}), as in imaps://mail.example.com:993"))?;
    // Published to anyone at /v1/config: a URL with a user name or password in it is refused.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "{url:?} carries a user name or password; give the service's address alone"
        ));
    }
    let host = match parsed.host() {
        Some(url::Host::Domain(name)) => name.to_ascii_lowercase(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(format!("{url:?} names no host")),
    };
    Ok(ServiceInfo {
        scope: scope.as_str().to_owned(),
        url: url.to_owned(),
        host,
    })
}

#[derive(Args)]
struct LdapArgs {
    /// Also answer LDAP simple binds with app-specific passwords here (for Dovecot, Postfix, DAV servers);
    /// default: off. Plain LDAP is for loopback or a private link; give --ldap-cert and --ldap-key for LDAPS.
    #[arg(long, env = "KEYTURN_LDAP_LISTEN")]
    ldap_listen: Option<SocketAddr>,
    /// The directory's base DN: accounts bind as uid=EMAIL,ou=SCOPE,BASE (SCOPE: mail, calendars, contacts or
    /// files).
    #[arg(long, env = "KEYTURN_LDAP_BASE_DN", default_value = "dc=keyturn", value_parser = base_dn)]
    ldap_base_dn: Dn,
    /// LDAPS: the certificate chain, PEM.
    #[arg(long, env = "KEYTURN_LDAP_CERT", requires = "ldap_key")]
    ldap_cert: Option<PathBuf>,
    /// LDAPS: the certificate's private key, PEM.
    #[arg(long, env = "KEYTURN_LDAP_KEY", requires = "ldap_cert")]
    ldap_key: Option<PathBuf>,
    /// The mail servers that bind for their users: CIDR[,CIDR…]. A bind from one of them counts against its
    /// account only (no address travels over LDAP); any other peer is counted by its address too.
    #[arg(long, env = "KEYTURN_LDAP_RELAYS", default_value = "127.0.0.0/8,::1")]
    ldap_relays: TrustedProxies,
}

fn base_dn(text: &str) -> Result<Dn, String> {
    match Dn::parse(text) {
        Ok(dn) if !dn.is_empty() => Ok(dn),
        Ok(_) => Err("the base DN must not be empty (e.g. dc=keyturn)".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logs(args.log_json);
    if let Database::Sqlite(path) = &args.db.db {
        crate::store::check_private(path)?;
    }
    let tls = match (&args.ldap.ldap_cert, &args.ldap.ldap_key) {
        (Some(cert), Some(key)) => Some(tls_config(cert, key)?),
        _ => None,
    };
    let store = open(&args.db).await?;
    let options = Options {
        params: args.params.params()?,
        argon2: Argon2Limits {
            concurrency: args.argon2_concurrency,
            queue: args.argon2_queue,
        },
        trusted_proxies: args.trusted_proxies,
        require_second_factor: args.require_second_factor,
        services: args.services,
        connections: crate::connections::ConnectionLimits {
            max_connections: args.max_connections.max(1),
            header_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
            body_timeout: std::time::Duration::from_secs(args.body_timeout.max(1)),
        },
        ..Options::default()
    };
    let state = AppState::new(store.clone(), Arc::new(SystemClock), options)?;
    // Every address taken before any is announced: a server that cannot serve one of them does not start.
    let listener = bind(args.listen, "the API").await?;
    let metrics_listener = match args.metrics_listen {
        Some(at) => Some(bind(at, "metrics").await?),
        None => None,
    };
    let ldap_listener = match args.ldap.ldap_listen {
        Some(at) => Some(bind(at, "LDAP").await?),
        None => None,
    };
    let addr = listener.local_addr()?;
    tracing::info!(%addr, db = %args.db.db, "keyturn-server listening");
    // One line on stdout per address, which scripts (and `cargo xtask demo`) read to learn the ports.
    println!("listening on http://{addr}");
    let stop = CancellationToken::new();
    let mut beside = Vec::new();
    if let Some(listener) = metrics_listener {
        let at = listener.local_addr()?;
        tracing::info!(%at, "metrics at http://{at}/metrics");
        println!("metrics on http://{at}/metrics");
        let stopped = stop.clone();
        beside.push(tokio::spawn(crate::run_metrics(listener, state.clone(), async move {
            stopped.cancelled().await;
        })));
    }
    if let Some(listener) = ldap_listener {
        let at = listener.local_addr()?;
        let scheme = if tls.is_some() { "ldaps" } else { "ldap" };
        tracing::info!(%at, base = %args.ldap.ldap_base_dn, "LDAP binds at {scheme}://{at}");
        println!("ldap on {scheme}://{at}");
        let options = LdapOptions {
            base: args.ldap.ldap_base_dn,
            tls,
            relays: args.ldap.ldap_relays,
        };
        beside.push(tokio::spawn(crate::ldap::run_ldap(
            listener,
            state.clone(),
            options,
            stop.clone(),
        )));
    }
    let served = crate::run(listener, state, shutdown_signal()).await;
    stop.cancel();
    for task in beside {
        task.await??;
    }
    served?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Logs to stderr as `RUST_LOG` says (`info` without it), as text or JSON lines. Whatever it says, even
/// `ldap3_proto::proto=trace`, the LDAP codec's own events below `warn` are dropped by a second filter: at
/// `trace` it prints each message's BER tags, a bind's password among them.
fn init_logs(json: bool) {
    use tracing_subscriber::prelude::*;
    let env = || tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into());
    let quiet_codec = || {
        tracing_subscriber::filter::filter_fn(|meta| {
            !meta.target().starts_with("ldap3_proto") || *meta.level() <= tracing::Level::WARN
        })
    };
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in a log file.
        .with_ansi(std::io::stderr().is_terminal());
    let registry = tracing_subscriber::registry();
    if json {
        registry
            .with(layer.json().with_filter(env()).with_filter(quiet_codec()))
            .init();
    } else {
        registry
            .with(layer.with_filter(env()).with_filter(quiet_codec()))
            .init();
    }
}

/// A listener with a backlog of 4,096 (the kernel's own cap, `somaxconn`, applies): a burst of connections
/// waits there to be accepted rather than have its handshakes dropped and retried seconds later, as beyond
/// tokio's default of 1,024.
async fn bind(at: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    let listen = || -> std::io::Result<TcpListener> {
        let socket = if at.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        socket.bind(at)?;
        socket.listen(4096)
    };
    listen().with_context(|| format!("listening on {at} for {what}"))
}

/// The LDAPS server configuration from PEM files, with ring as the one crypto provider.
fn tls_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the LDAP certificate {}", cert.display()))?;
    anyhow::ensure!(!chain.is_empty(), "{} holds no certificate", cert.display());
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading the LDAP key {}", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the LDAP certificate and key do not go together")?;
    Ok(Arc::new(config))
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_is_a_known_scope_and_a_url_with_a_host() {
        let mail = service("mail=imaps://Mail.Example.com:993").unwrap();
        assert_eq!(
            (mail.scope.as_str(), mail.url.as_str(), mail.host.as_str()),
            ("mail", "imaps://Mail.Example.com:993", "mail.example.com")
        );
        assert_eq!(
            service("calendars=https://dav.example.com/").unwrap().host,
            "dav.example.com"
        );
        assert!(service("mail").unwrap_err().starts_with("expected SCOPE=URL"));
        assert!(service("photos=https://x.example")
            .unwrap_err()
            .contains("one of mail, calendars, contacts, files"));
        assert!(service("mail=mail.example.com").unwrap_err().contains("is not a URL"));
        assert!(service("mail=unix:/run/socket").unwrap_err().contains("names no host"));
        assert!(service("mail=imaps://ann:secret@mail.example.com")
            .unwrap_err()
            .contains("user name or password"));
    }
}
