//! Cached LDAP binds at 64 connections, as a mail server's pool makes them: the harness's own LDAP client
//! (ldap3_proto's codec over tokio; `ldapsearch` in a loop would measure process starts, not binds).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use futures_util::{SinkExt, StreamExt};
use ldap3_proto::proto::{LdapBindCred, LdapBindRequest, LdapOp};
use ldap3_proto::{LdapCodec, LdapMsg, LdapResultCode};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// What a run of binds found.
pub struct Binds {
    pub binds: u64,
    pub refused: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// `connections` connections binding as `dn` with `password` one after another for `secs` seconds.
pub async fn binds(at: SocketAddr, dn: &str, password: &str, connections: u32, secs: u32) -> Result<Binds> {
    let deadline = Instant::now() + Duration::from_secs(u64::from(secs));
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (dn, password) = (dn.to_owned(), password.to_owned());
            tokio::spawn(async move { one_connection(at, dn, password, deadline).await })
        })
        .collect();
    let (mut latencies, mut refused) = (Vec::new(), 0);
    for task in tasks {
        let (times, wrong) = task.await??;
        latencies.extend(times);
        refused += wrong;
    }
    let elapsed = started.elapsed().as_secs_f64();
    ensure!(!latencies.is_empty(), "no LDAP bind was answered");
    latencies.sort_unstable();
    let at_quantile = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
    Ok(Binds {
        binds: latencies.len() as u64,
        refused,
        per_second: latencies.len() as f64 / elapsed,
        p50_ms: at_quantile(0.5),
        p99_ms: at_quantile(0.99),
    })
}

/// Binds until `deadline`: each answer's time in microseconds, and how many were not a success.
async fn one_connection(at: SocketAddr, dn: String, password: String, deadline: Instant) -> Result<(Vec<u32>, u64)> {
    let mut framed = Framed::new(TcpStream::connect(at).await?, LdapCodec::default());
    let (mut times, mut refused, mut msgid) = (Vec::new(), 0, 0);
    while Instant::now() < deadline {
        msgid += 1;
        let sent = Instant::now();
        let bind = LdapBindRequest {
            dn: dn.clone(),
            cred: LdapBindCred::Simple(password.clone()),
        };
        framed
            .send(LdapMsg {
                msgid,
                op: LdapOp::BindRequest(bind),
                ctrl: vec![],
            })
            .await?;
        let Some(answer) = framed.next().await else {
            anyhow::bail!("the server closed an LDAP connection");
        };
        times.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
        match answer?.op {
            LdapOp::BindResponse(response) if response.res.code == LdapResultCode::Success => {}
            _ => refused += 1,
        }
    }
    Ok((times, refused))
}
