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
