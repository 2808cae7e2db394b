//! The end-to-end story in both themes; see the library's documentation for its parts.

use std::path::PathBuf;

use anyhow::{Context, Result};
use keyturn_e2e::{processes, proxy, scenario};
use keyturn_server_process::ServerProcess;

#[tokio::main]
async fn main() -> Result<()> {
    // reqwest and fantoccini both link rustls; name the one crypto provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("workspace root")?
        .to_path_buf();
    let shots = root.join("target/e2e");
    std::fs::create_dir_all(&shots)?;
    let bin = root.join("target/debug");
    let app = std::env::var_os("KEYTURN_E2E_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| bin.join("keyturn"));
    let axe = std::env::var_os("KEYTURN_E2E_AXE").map(PathBuf::from);
    println!("e2e: the app is {}", app.display());
    let work = tempfile::tempdir()?;

    // It names its mail and calendar services, for the reveal to say where a password goes.
    let server = ServerProcess::start_with(
        &bin.join("keyturn-server"),
        &work.path().join("keyturn.db"),
        Some(&shots.join("server.log")),
        &scenario::SERVICES,
    )?;
    // A second server, one that makes app-specific passwords only with two-factor authentication on.
    let strict = ServerProcess::start_with(
        &bin.join("keyturn-server"),
        &work.path().join("strict.db"),
        Some(&shots.join("server-strict.log")),
        &["--require-second-factor"],
    )?;
    for theme in [scenario::Theme::Light, scenario::Theme::Dark] {
        let email = format!("{}@keyturn.test", theme.name());
        server.add_account(&email, scenario::PASSWORD)?;
        strict.add_account(&email, scenario::PASSWORD)?;
        let proxy = proxy::Proxy::start(&server.url).await?;
        let app_env = processes::AppEnv::new(&proxy.url(), &work.path().join(theme.name()), theme)?;
        let driver = processes::Driver::start(&app_env, &shots.join(format!("{}-app.log", theme.name())))?;
        let run = scenario::Run {
            api: keyturn_client::Client::new(&server.url)?,
            app: app.clone(),
            app_env,
            axe: axe.clone(),
            driver: driver.url(),
            proxy,
            strict_server: strict.url.clone(),
            shots: shots.clone(),
            theme,
            email,
        };
        // A stalled driver must fail the run, not hang CI.
        tokio::time::timeout(std::time::Duration::from_secs(300), run.everything())
            .await
            .map_err(|_| anyhow::anyhow!("timed out after 5 minutes"))
            .and_then(|result| result)
            .with_context(|| format!("the {} scenario", theme.name()))?;
    }
    println!(
        "e2e: every step passed in both themes; screenshots in {}",
        shots.display()
    );
    Ok(())
}
