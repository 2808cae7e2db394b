//! A throwaway PostgreSQL cluster for the tests: made with `initdb` under `target/postgres/`, on a free loopback
//! port, trusted for its one user (nothing but this machine reaches it), and stopped and deleted when dropped,
//! on failure too. Durability is off (`fsync=off`): nothing in it outlives the run.
//!
//! It speaks TLS only (`ssl = on`, every `pg_hba.conf` line `hostssl`), with a certificate from a CA made for
//! the run; the URL asks for `sslmode=verify-full` with that CA as `sslrootcert`, so every test on it goes
//! encrypted and checks the server's name, and a plaintext connection is refused.
//!
//! `pg_ctl` starts the server in a session of its own, so it outlives an xtask that ends without dropping the
//! cluster. Two guards for that: SIGINT, SIGTERM and SIGHUP stop this run's clusters before xtask exits, and
//! each start first stops the clusters an earlier run left behind (one killed outright, which nothing can
//! catch), named `cluster-PID` after the xtask that made them and left once that process is gone.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};

use anyhow::{bail, Context, Result};

use crate::{run, workspace_root};

pub struct Cluster {
    place: Place,
    /// `postgres://keyturn@127.0.0.1:PORT/postgres?sslmode=verify-full&sslrootcert=CA`
    pub url: String,
    /// Another CA's certificate, which signed nothing of this cluster's: a client trusting it alone must refuse.
    pub other_root: PathBuf,
}

/// Where a cluster lives and who runs its programs: all it takes to stop one, from `Drop`, from the signal
/// handler, or from a later run.
#[derive(Clone)]
struct Place {
    data: PathBuf,
    bin: PathBuf,
    /// Root may not run PostgreSQL: the Debian package's `postgres` user does then.
    as_postgres: bool,
}

/// The clusters this process started and has not stopped. Whoever stops them (`Drop` or the signal handler)
/// holds the lock until they are gone, so the process never exits halfway through.
static LIVE: Mutex<Vec<Place>> = Mutex::new(Vec::new());

impl Cluster {
    pub fn start() -> Result<Self> {
        let bin = server_bin()?;
        let as_postgres = is_root();
        stop_on_signals()?;
        stop_stale_clusters(&bin, as_postgres);
        let mut root = workspace_root().join("target").join("postgres");
        std::fs::create_dir_all(&root)?;
        if as_postgres {
            run(Command::new("chown").args(["postgres:postgres"]).arg(&root))?;
            // PostgreSQL refuses to run as root, and its `postgres` user must enter every folder on the way to
            // the data: a checkout in a folder it cannot enter (root's home, mode 0700) gets its cluster in the
            // system's temporary folder instead. Its folder is named after this process, like the cluster, so
            // `stop_stale_clusters` finds it there too when a run is killed.
            if !reachable_by_postgres(&root) {
                root = std::env::temp_dir().join(format!("{TEMP_ROOT_PREFIX}{}", std::process::id()));
                std::fs::create_dir_all(&root)?;
                run(Command::new("chown").args(["postgres:postgres"]).arg(&root))?;
            }
        }
        let data = root.join(format!("{CLUSTER_PREFIX}{}", std::process::id()));
        if data.exists() {
            std::fs::remove_dir_all(&data)?;
        }
        let port = free_port()?;
        let place = Place { data, bin, as_postgres };
        // From here on, dropping it (or a signal) stops and deletes whatever was made.
        LIVE.lock().unwrap_or_else(PoisonError::into_inner).push(place.clone());
        let certificates = root.join(format!("{CLUSTER_PREFIX}{}-tls", std::process::id()));
        let _ = std::fs::remove_dir_all(&certificates);
        std::fs::create_dir_all(&certificates)?;
        let ca = certificates.join("ca.pem");
        let cluster = Self {
            place,
            url: format!(
                "postgres://keyturn@127.0.0.1:{port}/postgres?sslmode=verify-full&sslrootcert={}",
                ca.display()
            ),
            other_root: certificates.join("other-ca.pem"),
        };
        let data = &cluster.place.data;
        println!("postgres: initdb in {}", data.display());
        run(cluster
            .place
            .command("initdb")
            .args(["-D"])
            .arg(data)
            .args(["-U", "keyturn", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(std::process::Stdio::null()))?;
        make_certificates(&certificates)?;
        // The server's key and certificate in its data folder, its own (it refuses a key others can read).
        for file in ["server.pem", "server.key"] {
            std::fs::copy(certificates.join(file), data.join(file))?;
        }
        if cluster.place.as_postgres {
            run(Command::new("chown")
                .args(["postgres:postgres"])
                .arg(data.join("server.pem"))
                .arg(data.join("server.key")))?;
        }
        std::fs::set_permissions(
            data.join("server.key"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )?;
        // TLS only: a connection without it finds no line to match.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
        )?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300 -c ssl=on -c ssl_cert_file=server.pem \
             -c ssl_key_file=server.key",
            data.display()
        );
        run(cluster
            .place
            .command("pg_ctl")
            .arg("-D")
            .arg(data)
            .args(["-o", &options, "-w", "-l"])
            .arg(data.join("server.log"))
            .arg("start")
            .stdout(Stdio::null()))
        .with_context(|| format!("starting PostgreSQL; its log: {}", data.join("server.log").display()))?;
        println!("postgres: serving on 127.0.0.1:{port}");
        Ok(cluster)
    }
}

impl Place {
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

    /// Stops the server at once (nothing in it is kept), then deletes the data and, once empty, its folder.
    fn stop_and_delete(&self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.data);
        let _ = std::fs::remove_dir_all(format!("{}-tls", self.data.display()));
        if let Some(parent) = self.data.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|place| place.data != self.place.data);
        self.place.stop_and_delete();
    }
}

const CLUSTER_PREFIX: &str = "cluster-";
const TEMP_ROOT_PREFIX: &str = "keyturn-postgres-";

/// On SIGINT (Ctrl-C), SIGTERM or SIGHUP, passes the signal on to xtask's own children and theirs (a SIGTERM
/// reaches xtask alone, and a cargo left running would go on using the database, or building), stops this
/// run's clusters, then exits as the signal would have.
fn stop_on_signals() -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    static INSTALLED: OnceLock<()> = OnceLock::new();
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let children = descendants(std::process::id());
            if !children.is_empty() {
                let _ = Command::new("kill")
                    .arg(format!("-{signal}"))
                    .args(children.iter().map(u32::to_string))
                    .stderr(Stdio::null())
                    .status();
            }
            let live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
            for place in live.iter() {
                println!("postgres: signal {signal}, stopping {}", place.data.display());
                place.stop_and_delete();
            }
            std::process::exit(128 + signal);
        }
    });
    let _ = INSTALLED.set(());
    Ok(())
}

/// The processes under `pid`, from each process's parent in `/proc/PID/stat`.
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let child: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `PID (name) STATE PPID …`: the name may hold spaces and parentheses, so read after the last one.
            let parent = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            Some((child, parent))
        })
        .collect();
    let mut found = vec![pid];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        found.extend(parents.iter().filter(|(_, p)| *p == parent).map(|(c, _)| *c));
        next += 1;
    }
    found.split_off(1)
}

/// Stops and deletes the clusters that runs no longer alive left under `target/postgres/` or in the system's
/// temporary folder (where a checkout the postgres user cannot reach has them). A cluster is another run's
/// while the xtask its name gives is running; this process's own id on an old cluster means a reused id.
fn stop_stale_clusters(bin: &Path, as_postgres: bool) {
    let roots = cluster_roots(&workspace_root().join("target"), &std::env::temp_dir());
    stop_stale_clusters_in(&roots, bin, as_postgres);
}

/// Where clusters are made: `target/postgres/`, and each `keyturn-postgres-PID` folder in `temp`.
fn cluster_roots(target: &Path, temp: &Path) -> Vec<PathBuf> {
    let mut roots = vec![target.join("postgres")];
    if let Ok(entries) = std::fs::read_dir(temp) {
        roots.extend(
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_ROOT_PREFIX))
                .map(|e| e.path()),
        );
    }
    roots
}

fn stop_stale_clusters_in(roots: &[PathBuf], bin: &Path, as_postgres: bool) {
    for root in roots {
        let Ok(entries) = std::fs::read_dir(root) else {
            continue;
        };
        for entry in entries.flatten() {
            let Some(owner) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.strip_prefix(CLUSTER_PREFIX))
                .and_then(|pid| pid.parse::<u32>().ok())
            else {
                continue;
            };
            let ours = LIVE
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .any(|place| place.data == entry.path());
            if ours || (owner != std::process::id() && is_running_xtask(owner)) {
                continue;
            }
            let place = Place {
                data: entry.path(),
                bin: bin.to_owned(),
                as_postgres,
            };
            println!(
                "postgres: stopping a cluster an interrupted run left: {}",
                place.data.display()
            );
            if serves_from(&place.data) {
                place.stop_and_delete();
            } else {
                // Its server is gone (a reboot): only the files are left, and the id in its postmaster.pid
                // may be another process's now, so pg_ctl is not asked to signal it.
                let _ = std::fs::remove_dir_all(&place.data);
                let _ = std::fs::remove_dir(root);
            }
        }
    }
}

fn is_running_xtask(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|name| name.trim_end() == "xtask")
}

/// Whether the process `postmaster.pid` names is PostgreSQL serving from `data` (`pg_ctl` starts it with
/// `-D data`).
fn serves_from(data: &Path) -> bool {
    let pid = std::fs::read_to_string(data.join("postmaster.pid"))
        .ok()
        .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok());
    let Some(pid) = pid else {
        return false;
    };
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let data = data.as_os_str().as_encoded_bytes();
    cmdline.split(|b| *b == 0).any(|arg| arg == data)
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

/// A CA for the run, the cluster's certificate from it (for 127.0.0.1 and localhost), and another CA that
/// signed nothing, with `openssl`: EC P-256 keys, valid two days.
fn make_certificates(dir: &Path) -> Result<()> {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .context("running openssl")?;
        if !out.status.success() {
            bail!("openssl {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    };
    let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    for (name, subject) in [("ca", "/CN=Keyturn test CA"), ("other-ca", "/CN=Some other CA")] {
        let (key_file, cert_file) = (format!("{name}.key"), format!("{name}.pem"));
        let mut args = vec!["req", "-x509"];
        args.extend(key);
        args.extend(["-days", "2", "-subj", subject, "-keyout", &key_file, "-out", &cert_file]);
        openssl(&args)?;
    }
    let mut request = vec!["req"];
    request.extend(key);
    request.extend(["-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"]);
    openssl(&request)?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder of its own under the system's temporary folder, for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// No process has this id (above Linux's default `pid_max` of 4194304).
    const GONE: u32 = 4_194_999;

    #[test]
    fn the_sweep_looks_in_target_and_in_each_temporary_cluster_folder() {
        let temp = scratch("roots");
        std::fs::create_dir(temp.join(format!("{TEMP_ROOT_PREFIX}{GONE}"))).unwrap();
        std::fs::create_dir(temp.join("unrelated")).unwrap();
        let roots = cluster_roots(Path::new("/checkout/target"), &temp);
        assert_eq!(
            roots,
            [
                PathBuf::from("/checkout/target/postgres"),
                temp.join(format!("{TEMP_ROOT_PREFIX}{GONE}"))
            ]
        );
        std::fs::remove_dir_all(&temp).unwrap();
    }

    #[test]
    fn a_cluster_whose_xtask_and_server_are_gone_is_deleted_with_its_temporary_folder_and_nothing_else() {
        let temp = scratch("sweep");
        let left = temp.join(format!("{TEMP_ROOT_PREFIX}{GONE}"));
        let cluster = left.join(format!("{CLUSTER_PREFIX}{GONE}"));
        std::fs::create_dir_all(&cluster).unwrap();
        // Its server's id is another process's now: it must not be signalled.
        std::fs::write(cluster.join("postmaster.pid"), "1\n").unwrap();
        let shared = temp.join("postgres");
        let other = shared.join("notes");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::create_dir_all(shared.join(format!("{CLUSTER_PREFIX}{GONE}"))).unwrap();

        assert!(!serves_from(&cluster));
        stop_stale_clusters_in(&[shared.clone(), left.clone()], Path::new("/nonexistent"), false);
        assert!(!left.exists(), "the cluster and its emptied folder are gone");
        assert!(!shared.join(format!("{CLUSTER_PREFIX}{GONE}")).exists());
        assert!(other.exists(), "what is not a cluster stays");
        std::fs::remove_dir_all(&temp).unwrap();
    }
}
