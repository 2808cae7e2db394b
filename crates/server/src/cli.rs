//! The `keyturn-server` command line: `serve`, and the admin commands support staff use.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use chrono::Utc;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use keyturn_protocol::{AppPassword, VerifierParams};
use secrecy::SecretString;

use crate::store::Database;
use crate::{admin, Store};

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
    Serve(Box<crate::serve::ServeArgs>),
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
pub(crate) struct DbArg {
    /// The database: a SQLite file's path, or a postgres://USER@HOST/NAME URL (several servers may share one).
    #[arg(long, env = "KEYTURN_DB", default_value = "keyturn.db")]
    pub(crate) db: Database,
}

#[derive(Args)]
pub(crate) struct ParamsArgs {
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
    pub(crate) fn params(&self) -> anyhow::Result<VerifierParams> {
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
    let command = crate::config_file::apply(Cli::command())?;
    let cli = Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit());
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Serve(args) => crate::serve::serve(*args).await,
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
            let store = open_existing(&db).await?;
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
            admin::list_accounts(&open_existing(&db).await?, json, &mut out).await
        }
        Command::AppPasswords(AppPasswordsCommand::List { email, db, json }) => {
            admin::list_app_passwords(&open_existing(&db).await?, &email, json, Utc::now(), &mut out).await
        }
        Command::AppPasswords(AppPasswordsCommand::Revoke { email, label, db }) => {
            admin::revoke(&open_existing(&db).await?, &email, &label, Utc::now(), &mut out).await
        }
        Command::AppPasswords(AppPasswordsCommand::RevokeAll { email, db }) => {
            admin::revoke_all(&open_existing(&db).await?, &email, &mut out).await
        }
        Command::Sessions(SessionsCommand::List { email, db, json }) => {
            admin::list_sessions(&open_existing(&db).await?, &email, json, Utc::now(), &mut out).await
        }
        Command::Sessions(SessionsCommand::End { email, id, db }) => {
            admin::end_session(&open_existing(&db).await?, &email, &id, &mut out).await
        }
        Command::SecondFactor(SecondFactorCommand::Status { email, db, json }) => {
            admin::second_factor_status(&open_existing(&db).await?, &email, json, &mut out).await
        }
        Command::SecondFactor(SecondFactorCommand::Reset { email, db }) => {
            admin::second_factor_reset(&open_existing(&db).await?, &email, &mut out).await
        }
        Command::Audit { email, db, json } => admin::audit(&open_existing(&db).await?, &email, json, &mut out).await,
        Command::Migrate { db } => {
            refuse_root_unless_owner(&db)?;
            let store = Store::connect(&db.db)
                .await
                .with_context(|| format!("opening the database {}", db.db))?;
            let applied = store.migrate().await?;
            writeln!(out, "{applied} migration(s) applied; {} is up to date", db.db)?;
            Ok(())
        }
        Command::Backup { to, db } => {
            let store = open_existing(&db).await?;
            store
                .backup_to(&to)
                .await
                .with_context(|| format!("backing up to {}", to.display()))?;
            writeln!(out, "backed up {} to {}", db.db, to.display())?;
            Ok(())
        }
    }
}

/// The database for an admin command, which must exist: only `serve` and `migrate` create one, so a
/// mistyped path or a missing configuration is an error rather than a new, empty database.
pub(crate) async fn open_existing(db: &DbArg) -> anyhow::Result<Store> {
    if let Database::Sqlite(path) = &db.db {
        if !path.exists() {
            anyhow::bail!(
                "no database at {} (`serve` or `migrate` creates it); give --db, or set KEYTURN_DB in {}",
                path.display(),
                crate::config_file::DEFAULT_PATH
            );
        }
    }
    refuse_root_unless_owner(db)?;
    open(db).await
}

/// For a SQLite file that exists: root is refused unless it owns it (see [`refuse_root_on_a_service_database`]).
fn refuse_root_unless_owner(db: &DbArg) -> anyhow::Result<()> {
    #[cfg(unix)]
    if let Database::Sqlite(path) = &db.db {
        use std::os::unix::fs::MetadataExt;
        if let Ok(file) = std::fs::metadata(path) {
            // SAFETY: geteuid has no preconditions and cannot fail.
            let euid = unsafe { libc::geteuid() };
            refuse_root_on_a_service_database(euid, file.uid())?;
        }
    }
    Ok(())
}

/// Root writing to the service's SQLite database would leave its `-wal` and `-shm` files owned by root, and
/// the service (user `keyturn`) unable to open them at its next start. So root is sent to the owner.
fn refuse_root_on_a_service_database(euid: u32, owner: u32) -> anyhow::Result<()> {
    if euid == 0 && owner != 0 {
        let name = user_name(owner).unwrap_or_else(|| owner.to_string());
        anyhow::bail!(
            "the database belongs to user {name}; run this as that user (sudo -u {name} keyturn-server …) so \
             the files it writes stay the service's"
        );
    }
    Ok(())
}

/// The name `/etc/passwd` gives a user id.
fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid.to_string()).then(|| name.to_owned())
    })
}

pub(crate) async fn open(db: &DbArg) -> anyhow::Result<Store> {
    Store::open(&db.db)
        .await
        .with_context(|| format!("opening the database {}", db.db))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_sent_to_the_owner_of_a_service_database_and_anyone_else_passes() {
        let error = refuse_root_on_a_service_database(0, 0xfffe).unwrap_err().to_string();
        assert!(error.starts_with("the database belongs to user "), "{error}");
        assert!(refuse_root_on_a_service_database(0, 0).is_ok());
        assert!(refuse_root_on_a_service_database(1000, 1000).is_ok());
        assert_eq!(user_name(0).as_deref(), Some("root"));
    }
}
