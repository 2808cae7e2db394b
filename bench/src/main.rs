//! Measures the account API over real HTTP on loopback: the real server (in this process, on its own port,
//! from the server's test kit) and the real client, with the default argon2id parameters (m=19456 KiB, t=2,
//! p=1).
//!
//! `cargo run --release -p keyturn-bench`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyturn_client::Client;
use keyturn_server::testkit::TestServer;
use secrecy::SecretString;

const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "correct horse battery staple";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.add_account(EMAIL, PASSWORD).await?;
    let state = server.state.clone();
    let client = Client::new(&server.url)?;
    let password = SecretString::from(PASSWORD);

    let sign_in = median(20, || async { client.sign_in(EMAIL, &password).await.map(drop) }).await?;
    println!("sign-in (one argon2 verify on the server):        median {sign_in:?} over 20");

    let session = client.session(client.sign_in(EMAIL, &password).await?.token);
    let mut n = 0;
    let create = median(20, || {
        n += 1;
        let label = format!("Bench {n}");
        let session = session.clone();
        async move { session.create_app_password(&label).await.map(drop) }
    })
    .await?;
    println!("create (argon2 on the device + POST):             median {create:?} over 20");
    session.revoke_all().await?;

    let created = session.create_app_password("Mail").await?;
    let app_password = created.password.grouped().to_string();
    let start = Instant::now();
    client.whoami(EMAIL, &app_password).await?;
    println!(
        "third-party sign-in, first (argon2 verify):       {:?}",
        start.elapsed()
    );
    let cached = median(200, || async { client.whoami(EMAIL, &app_password).await.map(drop) }).await?;
    println!("third-party sign-in, cached (no argon2):          median {cached:?} over 200");

    let before = state.argon2_verifications();
    let done = Arc::new(AtomicU64::new(0));
    let run_for = Duration::from_secs(5);
    let started = Instant::now();
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (client, app_password, done) = (client.clone(), app_password.clone(), done.clone());
            tokio::spawn(async move {
                while started.elapsed() < run_for {
                    client.whoami(EMAIL, &app_password).await?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<(), keyturn_client::Error>(())
            })
        })
        .collect();
    for worker in workers {
        worker.await??;
    }
    let total = done.load(Ordering::Relaxed);
    println!(
        "third-party sign-in, 16 concurrent for 5 s:       {:.0} per second ({} argon2 runs during it)",
        total as f64 / started.elapsed().as_secs_f64(),
        state.argon2_verifications() - before
    );
    Ok(())
}

async fn median<F, Fut>(runs: usize, mut f: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), keyturn_client::Error>>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f().await?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[runs / 2])
}
