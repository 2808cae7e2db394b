//! A throwaway PostgreSQL cluster for the tests: made with `initdb` under `target/postgres/`, on a free loopback
//! port, trusted for its one user (nothing but this machine reaches it), and stopped and deleted when dropped,
//! on failure too. Durability is off (`fsync=off`): nothing in it outlives the run.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{run, workspace_root};

pub struct Cluster {
    data: PathBuf,
    bin: PathBuf,
    /// Root may not run PostgreSQL: the Debian package's `postgres` user does then.
    as_postgres: bool,
    /// `postgres://keyturn@127.0.0.1:PORT/postgres`
    pub url: String,
}

impl Cluster {
    pub fn start() -> Result<Self> {
        let bin = server_bin()?;
        let as_postgres = is_root();
        let mut root = workspace_root().join("target").join("postgres");
        std::fs::create_dir_all(&root)?;
        if as_postgres {
            run(Command::new("chown").args(["postgres:postgres"]).arg(&root))?;
            // A checkout in a folder the postgres user cannot enter (a home directory of mode 0700) gets its
            // cluster in the system's temporary folder instead.
            if !reachable_by_postgres(&root) {
                root = std::env::temp_dir().join(format!("keyturn-postgres-{}", std::process::id()));
                std::fs::create_dir_all(&root)?;
                run(Command::new("chown").args(["postgres:postgres"]).arg(&root))?;
            }
        }
        let data = root.join(format!("cluster-{}", std::process::id()));
        if data.exists() {
            std::fs::remove_dir_all(&data)?;
        }
        let port = free_port()?;
        // From here on, dropping it stops and deletes whatever was made.
        let cluster = Self {
            data,
            bin,
            as_postgres,
            url: format!("postgres://keyturn@127.0.0.1:{port}/postgres"),
        };
        println!("postgres: initdb in {}", cluster.data.display());
        run(cluster
            .command("initdb")
            .args(["-D"])
            .arg(&cluster.data)
            .args(["-U", "keyturn", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(std::process::Stdio::null()))?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300",
            cluster.data.display()
        );
        run(cluster
            .command("pg_ctl")
            .arg("-D")
            .arg(&cluster.data)
            .args(["-o", &options, "-w", "-l"])
            .arg(cluster.data.join("server.log"))
            .arg("start")
            .stdout(std::process::Stdio::null()))
        .with_context(|| {
            format!(
                "starting PostgreSQL; its log: {}",
                cluster.data.join("server.log").display()
            )
        })?;
        println!("postgres: serving on 127.0.0.1:{port}");
        Ok(cluster)
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.data);
        // Its folder too, once empty.
        if let Some(parent) = self.data.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// The newest PostgreSQL's programs, as Debian installs them.
fn server_bin() -> Result<PathBuf> {
    let versions = Path::new("/usr/lib/postgresql");
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(versions)
        .with_context(|| format!("reading {}", versions.display()))?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!("no PostgreSQL server in {}", versions.display()),
    }
}

fn reachable_by_postgres(dir: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", "postgres", "--", "test", "-w"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
