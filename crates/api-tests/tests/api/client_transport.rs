//! How the client reaches a server, where the process environment decides it (proxy variables, the trust
//! store's `SSL_CERT_FILE`). The environment is one per process and this binary runs its tests on many
//! threads, so such a test never sets a variable here: it runs itself again in a child process of this binary,
//! with the variables given to that child only ([`run_in_child`]).

use std::ffi::OsStr;
use std::process::Command;

use crate::helpers::{secret, spawn_app, PASSWORD};

/// Set only in a child run: what the parent passed down (a URL, say).
const CHILD_INPUT: &str = "KEYTURN_API_TEST_CHILD_INPUT";

/// In a child run of [`run_in_child`], what the parent passed; `None` in the ordinary run.
pub fn child_input() -> Option<String> {
    std::env::var(CHILD_INPUT).ok()
}

/// Runs the one test `name` (its full path, `module::test`) again in a child process of this test binary, with
/// `input` for [`child_input`], the variables `env` added and `remove` taken away; asserts that the child ran
/// exactly that test and that it passed.
pub fn run_in_child(name: &str, input: &str, env: &[(&str, &OsStr)], remove: &[&str]) {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD_INPUT, input);
    for variable in remove {
        child.env_remove(variable);
    }
    for (variable, value) in env {
        child.env(variable, value);
    }
    let output = child.output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "the child run of {name} failed:\n{said}");
    assert!(
        said.contains("test result: ok. 1 passed"),
        "the child ran no test named {name}:\n{said}"
    );
}

#[tokio::test]
async fn a_loopback_server_is_reached_directly_whatever_the_proxy_variables_say() {
    if child_input().is_some() {
        // Every proxy variable names a port where nothing listens: through it, nothing would answer.
        let app = spawn_app().await;
        app.client.config().await.unwrap();
        app.add_account("ann@example.com", PASSWORD).await;
        app.client.sign_in("ann@example.com", &secret(PASSWORD)).await.unwrap();
        return;
    }
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let proxy = OsStr::new(&proxy);
    let variables = [
        "ALL_PROXY",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "all_proxy",
        "https_proxy",
        "http_proxy",
    ];
    let env: Vec<(&str, &OsStr)> = variables.iter().map(|v| (*v, proxy)).collect();
    run_in_child(
        "client_transport::a_loopback_server_is_reached_directly_whatever_the_proxy_variables_say",
        "proxies",
        &env,
        // Nothing exempts loopback but the client itself, and CGI's rule (HTTP_PROXY ignored) is not in play.
        &["NO_PROXY", "no_proxy", "REQUEST_METHOD"],
    );
}

/// A server on loopback that answers every request with `status` and `body` (chunked: no length to trust),
/// as something posing as the account server might.
async fn posing_server(status: &'static str, body: Vec<u8>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
                );
                let _ = stream.write_all(head.as_bytes()).await;
                for chunk in body.chunks(64 * 1024) {
                    let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
                    if stream.write_all(&framed).await.is_err() {
                        return;
                    }
                }
                let _ = stream.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    url
}

#[tokio::test]
async fn the_client_reads_at_most_one_mib_of_an_answer() {
    // A valid JSON string of 2 MiB: read whole, it would parse (and be held).
    let huge = [b"\"".as_slice(), &vec![b'a'; 2 * 1024 * 1024], b"\""].concat();
    let client = keyturn_client::Client::new(&posing_server("200 OK", huge).await).unwrap();
    let error = client.config().await.expect_err("a 2 MiB answer is refused");
    assert!(error.to_string().contains("over 1 MiB"), "{error}");
    // Just under the bound is read (and then found not to be a config).
    let under = [b"\"".as_slice(), &vec![b'a'; 1024 * 1024 - 2], b"\""].concat();
    let client = keyturn_client::Client::new(&posing_server("200 OK", under).await).unwrap();
    let error = client.config().await.err().unwrap();
    assert!(!error.to_string().contains("over 1 MiB"), "{error}");
}

#[tokio::test]
async fn a_servers_message_reaches_the_app_with_its_control_characters_escaped() {
    let body = br#"{"error":{"code":"something_new","message":"Busy.\n2026-12-07T00:00:00Z INFO forged\u001b[31m"}}"#;
    let client = keyturn_client::Client::new(&posing_server("503 Service Unavailable", body.to_vec()).await).unwrap();
    let keyturn_client::Error::Api(failure) = client.config().await.err().unwrap() else {
        panic!("an API failure")
    };
    assert_eq!(failure.message, "Busy.\\n2026-12-07T00:00:00Z INFO forged\\u{1b}[31m");
    assert!(!failure.message.chars().any(char::is_control));
}
