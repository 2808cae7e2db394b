//! The real servers of the scenario, each a child process from a config made from `deploy/` in a temporary
//! folder, on a free loopback port, stopped when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The repository's `deploy/` folder.
pub fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy").join(file)
}

/// The harness's own client scripts, `xtask/integrations/`.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../xtask/integrations")
        .join(name)
}

/// The python that has the `caldav` package (`cargo xtask integrations` makes it).
pub fn python() -> String {
    std::env::var("KEYTURN_INTEGRATIONS_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// A free loopback port, for a server that must be told its port in its config.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `template` (a file of `deploy/`) with each `@NAME@` replaced, written to `to`.
pub fn fill(template: &Path, to: &Path, values: &[(&str, String)]) {
    let mut text = std::fs::read_to_string(template).unwrap_or_else(|e| panic!("{}: {e}", template.display()));
    for (name, value) in values {
        text = text.replace(&format!("@{name}@"), value);
    }
    let left = text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .find(|line| has_placeholder(line));
    assert!(
        left.is_none(),
        "{} has a placeholder left: {left:?}",
        template.display()
    );
    std::fs::write(to, text).unwrap();
}

/// Whether `line` has an `@NAME@` in it (upper-case letters and `_` between two `@`).
fn has_placeholder(line: &str) -> bool {
    let parts: Vec<&str> = line.split('@').collect();
    parts.len() > 2
        && parts[1..parts.len() - 1]
            .iter()
            .any(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
}

/// A server process, killed (and waited for) when dropped; its log in `log`.
pub struct Service {
    child: Child,
    pub log: PathBuf,
}

impl Service {
    /// Starts `command` and waits until `port` on loopback accepts connections.
    pub fn start(name: &'static str, mut command: Command, port: u16, log: PathBuf) -> Service {
        let out = std::fs::File::create(&log).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e} (run `cargo xtask integrations`, which installs it)"));
        let mut service = Service { child, log };
        let at = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        while TcpStream::connect_timeout(&at, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = service.child.try_wait() {
                panic!("{name} stopped ({status}):\n{}", service.log_text());
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{name} is not listening on {at}:\n{}",
                service.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        service
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a client: its output, with the password passed in the environment (`KEYTURN_TEST_PASSWORD`), never on
/// the command line where `ps` shows it.
pub fn client(program: &str, args: &[&str], password: &str) -> Output {
    Command::new(program)
        .args(args)
        .env("KEYTURN_TEST_PASSWORD", password)
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"))
}
