//! A small LDAP client over ldap3_proto's codec, for the tests of the LDAP door (the integration test adds
//! OpenLDAP's own `ldapwhoami` and a real Dovecot).

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use ldap3_proto::proto::{
    LdapBindCred, LdapBindRequest, LdapDerefAliases, LdapExtendedRequest, LdapOp, LdapSearchRequest,
};
use ldap3_proto::{LdapCodec, LdapMsg, LdapResultCode, LdapSearchResultEntry, LdapSearchScope};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

pub struct LdapConn {
    framed: Framed<TcpStream, LdapCodec>,
    next_id: i32,
}

impl LdapConn {
    pub async fn connect(at: SocketAddr) -> Self {
        let stream = TcpStream::connect(at).await.unwrap();
        Self {
            framed: Framed::new(stream, LdapCodec::default()),
            next_id: 1,
        }
    }

    async fn send(&mut self, op: LdapOp) -> i32 {
        let msgid = self.next_id;
        self.next_id += 1;
        self.framed
            .send(LdapMsg {
                msgid,
                op,
                ctrl: vec![],
            })
            .await
            .unwrap();
        msgid
    }

    /// The next message, or `None` when the server closed the connection.
    pub async fn receive(&mut self) -> Option<LdapMsg> {
        let next = tokio::time::timeout(std::time::Duration::from_secs(20), self.framed.next()).await;
        next.expect("the server answers within 20 s")?.ok()
    }

    /// A simple bind; its result code.
    pub async fn bind(&mut self, dn: &str, password: &str) -> LdapResultCode {
        let id = self
            .send(LdapOp::BindRequest(LdapBindRequest {
                dn: dn.to_owned(),
                cred: LdapBindCred::Simple(password.to_owned()),
            }))
            .await;
        let reply = self.receive().await.expect("a bind response");
        assert_eq!(reply.msgid, id);
        match reply.op {
            LdapOp::BindResponse(response) => response.res.code,
            other => panic!("not a bind response: {other:?}"),
        }
    }

    /// RFC 4532 "Who am I?": the authorization identity.
    pub async fn whoami(&mut self) -> String {
        self.send(LdapOp::ExtendedRequest(LdapExtendedRequest {
            name: "1.3.6.1.4.1.4203.1.11.3".to_owned(),
            value: None,
        }))
        .await;
        match self.receive().await.expect("an extended response").op {
            LdapOp::ExtendedResponse(response) => {
                assert_eq!(response.res.code, LdapResultCode::Success);
                String::from_utf8(response.value.unwrap_or_default()).unwrap()
            }
            other => panic!("not an extended response: {other:?}"),
        }
    }

    /// A search: the entries found and the final result code.
    pub async fn search(
        &mut self,
        base: &str,
        scope: LdapSearchScope,
        filter: &str,
    ) -> (Vec<LdapSearchResultEntry>, LdapResultCode) {
        self.send(LdapOp::SearchRequest(LdapSearchRequest {
            base: base.to_owned(),
            scope,
            aliases: LdapDerefAliases::Never,
            sizelimit: 0,
            timelimit: 0,
            typesonly: false,
            filter: ldap3_proto::parse_ldap_filter_str(filter).unwrap(),
            attrs: vec![],
        }))
        .await;
        let mut entries = Vec::new();
        loop {
            match self.receive().await.expect("search results").op {
                LdapOp::SearchResultEntry(entry) => entries.push(entry),
                LdapOp::SearchResultDone(done) => return (entries, done.code),
                other => panic!("not a search result: {other:?}"),
            }
        }
    }

    /// Any request; the one answer.
    pub async fn request(&mut self, op: LdapOp) -> Option<LdapOp> {
        self.send(op).await;
        self.receive().await.map(|m| m.op)
    }

    /// Bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.framed.get_mut().write_all(bytes).await.unwrap();
    }

    /// A whole BER sequence that is no LDAP message: a message id and no operation.
    pub async fn send_garbage(&mut self) {
        self.framed
            .get_mut()
            .write_all(&[0x30, 0x03, 0x02, 0x01, 0x05])
            .await
            .unwrap();
    }
}

/// `uid=EMAIL,ou=SCOPE,dc=keyturn`.
pub fn dn(email: &str, scope: &str) -> String {
    format!("uid={email},ou={scope},dc=keyturn")
}

/// The values of `name` in `entry`, as text.
pub fn values(entry: &LdapSearchResultEntry, name: &str) -> Vec<String> {
    entry
        .attributes
        .iter()
        .filter(|a| a.atype.eq_ignore_ascii_case(name))
        .flat_map(|a| a.vals.iter().map(|v| String::from_utf8_lossy(v).into_owned()))
        .collect()
}
