//! Faults between the app and the server: an answer lost on the way back, a server that is not there.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use keyturn_client::{Client, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::client_transport::{child_input, run_in_child};
use crate::helpers::{secret, spawn_app, PASSWORD};

/// A TCP proxy in front of the server that, once, lets a create reach the server and then closes the
/// connection before the answer gets back: the create happened, but the client cannot know.
async fn spawn_answer_losing_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let lost_one = Arc::new(AtomicBool::new(false));
    let lost = lost_one.clone();
    tokio::spawn(async move {
        loop {
            let (client, _) = listener.accept().await.unwrap();
            let server = TcpStream::connect(upstream).await.unwrap();
            let (mut from_client, mut to_client) = client.into_split();
            let (mut from_server, mut to_server) = server.into_split();
            let saw_create = Arc::new(AtomicBool::new(false));
            let saw = saw_create.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                    if buf[..n].windows(22).any(|w| w == b"POST /v1/app-passwords") {
                        saw.store(true, Ordering::SeqCst);
                    }
                    if to_server.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
            let lost = lost.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n @ 1..) = from_server.read(&mut buf).await {
                    if saw_create.load(Ordering::SeqCst) && !lost.swap(true, Ordering::SeqCst) {
                        return; // drops `to_client`: the client sees the connection close mid-request
                    }
                    if to_client.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (address, lost_one)
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_retried_with_the_same_key_and_makes_one_password() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let (proxy, lost) = spawn_answer_losing_proxy(app.address).await;
    let via_proxy = Client::new(&format!("http://{proxy}")).unwrap();
    let session = via_proxy.session(secret(&user.token));

    let created = session.create_app_password("Mail").await.unwrap();

    assert!(lost.load(Ordering::SeqCst), "the first answer was lost");
    let list = user.session.list_app_passwords().await.unwrap();
    assert_eq!(
        list.len(),
        1,
        "the retry replayed the first create instead of making a second"
    );
    assert_eq!(list[0].id, created.info.id);
    assert!(app.client.whoami(&user.email, created.password.expose()).await.is_ok());
}

#[tokio::test]
async fn a_server_that_is_not_there_is_a_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::new(&format!("http://{address}")).unwrap();
    let result = client.sign_in("ann@example.com", &secret(PASSWORD)).await;
    assert!(matches!(result, Err(Error::Network(_))), "{result:?}");
    assert!(result.unwrap_err().is_transient(), "a create would be retried");
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_names_where_it_pointed() {
    // A server (or something in front of it) that answers every request with a redirect elsewhere.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut request).await;
            let answer = "HTTP/1.1 307 Temporary Redirect\r\nLocation: https://evil.example/v1/sessions\r\n\
                          Content-Length: 0\r\nConnection: close\r\n\r\n";
            let _ = tokio::io::AsyncWriteExt::write_all(&mut socket, answer.as_bytes()).await;
        }
    });
    let client = Client::new(&format!("http://{address}")).unwrap();
    let result = client.sign_in("ann@example.com", &secret(PASSWORD)).await;
    assert!(
        matches!(&result, Err(Error::Redirected(to)) if to == "https://evil.example/v1/sessions"),
        "{:?}",
        result.err()
    );
}

#[tokio::test]
async fn a_certificate_is_trusted_through_the_os_store_and_refused_otherwise() {
    if let Some(url) = child_input() {
        // The child run, whose trust store holds the CA: the handshake succeeds, and s_server's HTML page is
        // simply not the API.
        let trusted = Client::new(&url).unwrap().config().await;
        assert!(matches!(&trusted, Err(Error::Protocol(_))), "{:?}", trusted.err());
        return;
    }
    // A company CA and a certificate for localhost it signed, served by openssl s_server on this computer.
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name);
    std::fs::write(file("san.ext"), "subjectAltName=DNS:localhost\n").unwrap();
    for args in [
        "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=Keyturn-Test-CA -keyout ca.key -out ca.pem",
        "req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout key.pem -out leaf.csr",
        "x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile san.ext -out cert.pem",
    ] {
        let made = std::process::Command::new("openssl")
            .args(args.split(' '))
            .current_dir(dir.path())
            .output()
            .expect("openssl is installed by cargo xtask setup");
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut tls = std::process::Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-www",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
        ])
        .arg(file("cert.pem"))
        .arg("-key")
        .arg(file("key.pem"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let url = format!("https://localhost:{port}");
    // The machine's trust store does not hold the CA: the refusal is named for what it is.
    let untrusted = Client::new(&url).unwrap().config().await;
    // SSL_CERT_FILE is how a machine's trust store is pointed at a bundle (OpenSSL's convention, which the
    // client's store follows). It is set for a child run of this test only: the variable is the whole
    // process's, and other tests run beside this one.
    let ca = file("ca.pem");
    let trusted = std::panic::catch_unwind(|| {
        run_in_child(
            "faults::a_certificate_is_trusted_through_the_os_store_and_refused_otherwise",
            &url,
            &[("SSL_CERT_FILE", ca.as_os_str())],
            &["SSL_CERT_DIR"],
        )
    });
    let _ = tls.kill();
    let _ = tls.wait();
    assert!(
        matches!(&untrusted, Err(Error::Certificate(_))),
        "{:?}",
        untrusted.err()
    );
    if let Err(failed) = trusted {
        std::panic::resume_unwind(failed);
    }
}
