//! The `keyturn-server` command line: `serve`, and the admin commands support staff use.

use std::io::{IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use clap::{Args, Parser, Subcommand};
use keyturn_protocol::{AppPassword, VerifierParams};
use secrecy::SecretString;
use tokio::net::TcpListener;

use crate::store::Database;
use crate::{admin, AppState, Argon2Limits, Options, Store, SystemClock, TrustedProxies};

#[derive(Parser)]
#[command(
    name = "keyturn-server",
    version,
    about = "The Keyturn account API and its admin commands"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve(ServeArgs),
    /// Manage accounts.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// See and revoke a user's app-specific passwords.
    #[command(subcommand)]
    AppPasswords(AppPasswordsCommand),
    /// See a user's signed-in devices, and sign one out.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// A user's two-factor authentication: see it, or reset it for a user who lost the phone.
    #[command(subcommand)]
    SecondFactor(SecondFactorCommand),
    /// What happened on an account: created, revoked, sign-ins, failures; with time and client address.
    Audit {
        email: String,
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        json: bool,
    },
    /// Bring the database's schema up to date and exit (`serve` does it too; run this first when several
    /// servers share one database).
    Migrate {
        #[command(flatten)]
        db: DbArg,
    },
    /// Copy a SQLite database to a new file, consistent and safe while the server runs.
    Backup {
        /// The copy to make; it must not exist yet.
        #[arg(long)]
        to: PathBuf,
        #[command(flatten)]
        db: DbArg,
    },
    /// Print the OpenAPI 3 document of the HTTP API.
    Openapi,
}

#[derive(Args)]
struct DbArg {
    /// The database: a SQLite file's path, or a postgres://USER@HOST/NAME URL (several servers may share one).
    #[arg(long, env = "KEYTURN_DB", default_value = "keyturn.db")]
    db: Database,
}

#[derive(Args)]
struct ServeArgs {
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
    /// Proxies whose X-Forwarded-For names the client: CIDR[,CIDR…]. Default: none (the peer is the client).
    #[arg(long, env = "KEYTURN_TRUSTED_PROXIES", default_value = "")]
    trusted_proxies: TrustedProxies,
    /// Make app-specific passwords only for accounts with two-factor authentication on (existing ones keep
    /// working).
    #[arg(long, env = "KEYTURN_REQUIRE_SECOND_FACTOR")]
    require_second_factor: bool,
}

#[derive(Args)]
struct ParamsArgs {
    /// argon2id memory cost in KiB, for verifiers and primary passwords.
    #[arg(long, env = "KEYTURN_ARGON2_M_COST", default_value_t = VerifierParams::default().m_cost)]
    argon2_m_cost: u32,
    /// argon2id iterations.
    #[arg(long, env = "KEYTURN_ARGON2_T_COST", default_value_t = VerifierParams::default().t_cost)]
    argon2_t_cost: u32,
    /// argon2id lanes.
    #[arg(long, env = "KEYTURN_ARGON2_P_COST", default_value_t = VerifierParams::default().p_cost)]
    argon2_p_cost: u32,
}

impl ParamsArgs {
    /// The parameters, if clients will accept them: a server must not advertise what every client refuses.
    fn params(&self) -> anyhow::Result<VerifierParams> {
        let params = VerifierParams {
            m_cost: self.argon2_m_cost,
            t_cost: self.argon2_t_cost,
            p_cost: self.argon2_p_cost,
        };
        Ok(params.check_bounds()?)
    }
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// Add an account. The password is read from standard input; with --generate, or when standard input is
    /// a terminal, one is generated and printed once.
    Add {
        email: String,
        #[arg(long)]
        generate: bool,
        #[command(flatten)]
        db: DbArg,
        #[command(flatten)]
        params: ParamsArgs,
    },
    /// List accounts with their number of active app-specific passwords.
    List {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AppPasswordsCommand {
    /// Label, access, created, last used, expiry and state of each of a user's app-specific passwords.
    List {
        email: String,
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        json: bool,
    },
    /// Revoke one app-specific password by its label.
    Revoke {
        email: String,
        label: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Revoke all of a user's app-specific passwords.
    RevokeAll {
        email: String,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
enum SessionsCommand {
    /// Each signed-in device: its id, when it signed in, when it was last seen, and the app.
    List {
        email: String,
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        json: bool,
    },
    /// Sign one device out by its id (from `sessions list`); the app there asks for the password again.
    End {
        email: String,
        id: String,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
enum SecondFactorCommand {
    /// Whether it is on, since when, and how many recovery codes are left.
    Status {
        email: String,
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        json: bool,
    },
    /// Turn it off and delete the recovery codes (audited): the user signs in with the password alone.
    Reset {
        email: String,
        #[command(flatten)]
        db: DbArg,
    },
}

/// Entry point of the binary.
pub async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Openapi => {
            print!("{}", crate::openapi_json());
            Ok(())
        }
        Command::Accounts(AccountsCommand::Add {
            email,
            generate,
            db,
            params,
        }) => {
            let store = open(&db).await?;
            let generated = generate || std::io::stdin().is_terminal();
            let password = if generated {
                AppPassword::generate().grouped().to_string()
            } else {
                let mut line = String::new();
                std::io::stdin()
                    .read_to_string(&mut line)
                    .context("reading the password from standard input")?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            };
            let email = admin::parse_email(&email)?;
            admin::add_account(
                &store,
                email.as_str(),
                SecretString::from(password.clone()),
                params.params()?,
            )
            .await?;
            if generated {
                println!("Added {email}. Password (shown once): {password}");
            } else {
                println!("Added {email}.");
            }
            Ok(())
        }
        Command::Accounts(AccountsCommand::List { db, json }) => {
            admin::list_accounts(&open(&db).await?, json, &mut out).await
        }
        Command::AppPasswords(AppPasswordsCommand::List { email, db, json }) => {
            admin::list_app_passwords(&open(&db).await?, &email, json, Utc::now(), &mut out).await
        }
        Command::AppPasswords(AppPasswordsCommand::Revoke { email, label, db }) => {
            admin::revoke(&open(&db).await?, &email, &label, Utc::now(), &mut out).await
        }
        Command::AppPasswords(AppPasswordsCommand::RevokeAll { email, db }) => {
            admin::revoke_all(&open(&db).await?, &email, &mut out).await
        }
        Command::Sessions(SessionsCommand::List { email, db, json }) => {
            admin::list_sessions(&open(&db).await?, &email, json, Utc::now(), &mut out).await
        }
        Command::Sessions(SessionsCommand::End { email, id, db }) => {
            admin::end_session(&open(&db).await?, &email, &id, &mut out).await
        }
        Command::SecondFactor(SecondFactorCommand::Status { email, db, json }) => {
            admin::second_factor_status(&open(&db).await?, &email, json, &mut out).await
        }
        Command::SecondFactor(SecondFactorCommand::Reset { email, db }) => {
            admin::second_factor_reset(&open(&db).await?, &email, &mut out).await
        }
        Command::Audit { email, db, json } => admin::audit(&open(&db).await?, &email, json, &mut out).await,
        Command::Migrate { db } => {
            let store = Store::connect(&db.db)
                .await
                .with_context(|| format!("opening the database {}", db.db))?;
            let applied = store.migrate().await?;
            writeln!(out, "{applied} migration(s) applied; {} is up to date", db.db)?;
            Ok(())
        }
        Command::Backup { to, db } => {
            let store = open(&db).await?;
            store
                .backup_to(&to)
                .await
                .with_context(|| format!("backing up to {}", to.display()))?;
            writeln!(out, "backed up {} to {}", db.db, to.display())?;
            Ok(())
        }
    }
}

async fn open(db: &DbArg) -> anyhow::Result<Store> {
    Store::open(&db.db)
        .await
        .with_context(|| format!("opening the database {}", db.db))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in a log file.
        .with_ansi(std::io::stderr().is_terminal());
    if args.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    if let Database::Sqlite(path) = &args.db.db {
        crate::store::check_private(path)?;
    }
    let store = open(&args.db).await?;
    let options = Options {
        params: args.params.params()?,
        argon2: Argon2Limits {
            concurrency: args.argon2_concurrency,
            queue: args.argon2_queue,
        },
        trusted_proxies: args.trusted_proxies,
        require_second_factor: args.require_second_factor,
        ..Options::default()
    };
    let state = AppState::new(store.clone(), Arc::new(SystemClock), options)?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    // Both addresses taken before either is announced: a server that cannot serve its metrics does not start.
    let metrics_listener = match args.metrics_listen {
        Some(at) => Some(
            TcpListener::bind(at)
                .await
                .with_context(|| format!("listening on {at} for metrics"))?,
        ),
        None => None,
    };
    tracing::info!(%addr, db = %args.db.db, "keyturn-server listening");
    // One line on stdout that scripts (and `cargo xtask demo`) read to learn the port.
    println!("listening on http://{addr}");
    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics = match metrics_listener {
        Some(listener) => {
            let at = listener.local_addr()?;
            tracing::info!(%at, "metrics at http://{at}/metrics");
            // The second line, for scripts that want it.
            println!("metrics on http://{at}/metrics");
            Some(tokio::spawn(crate::run_metrics(listener, state.clone(), async {
                let _ = metrics_stopped.await;
            })))
        }
        None => None,
    };
    crate::run(listener, state, shutdown_signal()).await?;
    let _ = stop_metrics.send(());
    if let Some(metrics) = metrics {
        metrics.await??;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
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
