//! The server binary's connections: idle and slow clients (2,000 idle, 200 slowloris) are closed after the
//! header timeout while a cached sign-in keeps answering; a body that trickles in is refused at the body
//! timeout; and no more than `--max-connections` are ever open.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use keyturn_server_process::ServerProcess;

use crate::abuse::raise_open_file_limit;
use crate::helpers::{secret, PASSWORD, SERVER_BIN};

const ANN: &str = "ann@example.com";

fn serve(dir: &Path, flags: &[&str]) -> ServerProcess {
    ServerProcess::start_with(Path::new(SERVER_BIN), &dir.join("keyturn.db"), None, flags).unwrap()
}

fn address(server: &ServerProcess) -> String {
    server.url.trim_start_matches("http://").to_owned()
}

/// Whether the server has closed `stream`: a read answers end-of-file or a reset within `within`.
fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut byte = [0u8; 1024];
    loop {
        match stream.read(&mut byte) {
            Ok(0) => return true,
            // An answer (a 408, say) before the close: read on to the end.
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// The open sockets of a process, from `/proc/PID/fd`.
fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slowloris_connections_are_closed_while_a_cached_sign_in_answers() {
    const IDLE: usize = 2_000;
    const SLOW: usize = 200;
    const HEADER_TIMEOUT: Duration = Duration::from_secs(3);
    raise_open_file_limit(8_192);
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &["--max-connections", "4000", "--header-timeout", "3"]);
    server.add_account(ANN, PASSWORD).unwrap();
    let client = keyturn_client::Client::new(&server.url).unwrap();
    let token = client.sign_in(ANN, &secret(PASSWORD)).await.unwrap().token;
    let mail = client.session(token).create_app_password("Mail").await.unwrap();
    let password = mail.password.expose().to_owned();
    client.whoami(ANN, &password).await.unwrap();

    let at = address(&server);
    let opened = Instant::now();
    let mut idle: Vec<TcpStream> = (0..IDLE).map(|_| TcpStream::connect(&at).unwrap()).collect();
    let mut slow: Vec<TcpStream> = (0..SLOW).map(|_| TcpStream::connect(&at).unwrap()).collect();
    for stream in &mut slow {
        stream
            .write_all(b"GET /v1/config HTTP/1.1\r\nHost: keyturn\r\n")
            .unwrap();
    }
    // The slowloris: one more header byte on each connection every 200 ms, never the end of the header.
    let trickle: Vec<TcpStream> = slow.iter().map(|s| s.try_clone().unwrap()).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickling = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut trickle = trickle;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for stream in &mut trickle {
                    let _ = stream.write_all(b"X");
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    // Meanwhile the mail app's cached sign-in answers at once, on new connections, again and again.
    let mut slowest = Duration::ZERO;
    while opened.elapsed() < HEADER_TIMEOUT {
        let fresh = keyturn_client::Client::new(&server.url).unwrap();
        let started = Instant::now();
        fresh.whoami(ANN, &password).await.unwrap();
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        slowest < Duration::from_secs(1),
        "a cached sign-in took {slowest:?} among {IDLE} idle connections"
    );

    // Past the header timeout every idle and slow connection has been closed by the server.
    let deadline = HEADER_TIMEOUT + Duration::from_secs(3);
    let still_open = tokio::task::spawn_blocking(move || {
        let left = opened + deadline;
        let mut open = 0;
        for stream in idle.iter_mut().chain(slow.iter_mut()) {
            let wait = left
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(10));
            if !closed_by_server(stream, wait) {
                open += 1;
            }
        }
        open
    })
    .await
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    trickling.join().unwrap();
    assert_eq!(
        still_open, 0,
        "connections the server kept open past its header timeout"
    );
    println!(
        "{IDLE} idle and {SLOW} slowloris connections closed within {deadline:?}; the slowest cached sign-in meanwhile: {:.1} ms",
        slowest.as_secs_f64() * 1000.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_trickles_in_is_refused_at_the_body_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &["--body-timeout", "2"]);
    let at = address(&server);
    let started = Instant::now();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(&at).unwrap();
        stream
            .write_all(b"POST /v1/sessions HTTP/1.1\r\nHost: keyturn\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{")
            .unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut answer = Vec::new();
        // One byte every 300 ms: never idle long, never done.
        for _ in 0..40 {
            let _ = stream.write_all(b" ");
            let mut buf = [0u8; 4096];
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
            if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap();
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    assert!(
        took < Duration::from_secs(4),
        "answered after {took:?}, not at the 2 s body timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_connections_than_the_cap_are_ever_open() {
    const CAP: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &["--max-connections", "20", "--header-timeout", "2"]);
    let before = open_sockets(server.pid());
    let at = address(&server);
    let held: Vec<TcpStream> = (0..3 * CAP).map(|_| TcpStream::connect(&at).unwrap()).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = open_sockets(server.pid());
    assert!(
        during <= before + CAP,
        "{during} sockets open with a cap of {CAP} (before: {before})"
    );
    // The ones waiting are served as places free: a request gets its answer once idle ones time out.
    let client = keyturn_client::Client::new(&server.url).unwrap();
    let started = Instant::now();
    client.config().await.unwrap();
    println!(
        "cap {CAP}: {during} sockets open with {} connecting; a request answered after {:.1} s",
        3 * CAP,
        started.elapsed().as_secs_f64()
    );
    drop(held);
}
