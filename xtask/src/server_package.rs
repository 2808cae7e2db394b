//! The server's .deb, `keyturn-server_VERSION_amd64.deb`, laid out from `deploy/` with `dpkg-deb`: the release
//! binary, the systemd unit (enabled by the maintainer scripts, not started), the configuration file as a
//! conffile, the copyright, changelog and man page a Debian package carries, and its shared-library
//! dependencies as `dpkg-shlibdeps` computes them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{ensure, Context, Result};

use crate::bundle::output;
use crate::{cargo, run, workspace_root};

const PACKAGE: &str = "keyturn-server";

/// Builds the release server and packages it into `target/release/bundle/server/`.
pub fn build() -> Result<PathBuf> {
    cargo(&["build", "--release", "-p", PACKAGE])?;
    let root = workspace_root();
    let stage = root.join("target/server-package");
    let _ = std::fs::remove_dir_all(&stage);
    let deploy = root.join("deploy");
    let doc = format!("usr/share/doc/{PACKAGE}");
    for (from, to, mode) in [
        (
            root.join("target/release/keyturn-server"),
            "usr/bin/keyturn-server",
            0o755,
        ),
        (
            deploy.join("keyturn-server.service"),
            "lib/systemd/system/keyturn-server.service",
            0o644,
        ),
        (deploy.join("server.conf"), "etc/keyturn/server.conf", 0o644),
        (
            root.join("src-tauri/packaging/copyright"),
            &format!("{doc}/copyright"),
            0o644,
        ),
        (deploy.join("debian/postinst"), "DEBIAN/postinst", 0o755),
        (deploy.join("debian/prerm"), "DEBIAN/prerm", 0o755),
        (deploy.join("debian/postrm"), "DEBIAN/postrm", 0o755),
    ] {
        place(&from, &stage.join(to), mode)?;
    }
    strip(&stage.join("usr/bin/keyturn-server"))?;
    gzipped(
        &deploy.join("debian/changelog"),
        &stage.join(format!("{doc}/changelog.gz")),
    )?;
    gzipped(
        &deploy.join("debian/keyturn-server.8"),
        &stage.join("usr/share/man/man8/keyturn-server.8.gz"),
    )?;
    std::fs::write(stage.join("DEBIAN/conffiles"), "/etc/keyturn/server.conf\n")?;
    write_md5sums(&stage)?;
    let depends = format!(
        "adduser, {}",
        shared_libraries(&stage.join("usr/bin/keyturn-server"), PACKAGE)?
    );
    std::fs::write(stage.join("DEBIAN/control"), control(&depends, installed_kib(&stage)?))?;

    let out_dir = root.join("target/release/bundle/server");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir)?;
    let deb = out_dir.join(format!("{PACKAGE}_{}_amd64.deb", env!("CARGO_PKG_VERSION")));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zxz", "--build"])
        .arg(&stage)
        .arg(&deb))?;
    Ok(deb)
}

fn control(depends: &str, installed_kib: u64) -> String {
    format!(
        "Package: {PACKAGE}
Version: {version}
Architecture: amd64
Maintainer: Keyturn <packages@keyturn.app>
Installed-Size: {installed_kib}
Depends: {depends}
Section: net
Priority: optional
Homepage: https://keyturn.app
Description: account API for app-specific passwords
 The server behind the Keyturn app: users sign in and make app-specific
 passwords, each for one mail or calendar app, shown once and revocable at
 any time. Mail and calendar servers (Dovecot, Postfix, nginx in front of a
 DAV server) check those passwords over LDAP or an HTTP auth request.
 .
 Installs a systemd unit (enabled, not started), the keyturn system user,
 /var/lib/keyturn for its database and /etc/keyturn/server.conf, read by
 the server and by the admin commands support staff use.
",
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// `dpkg-shlibdeps`'s Depends for the binary (libc and the like), which it reads from a `debian/control`.
pub fn shared_libraries(binary: &Path, package: &str) -> Result<String> {
    let dir = workspace_root().join("target/shlibs").join(package);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("debian"))?;
    std::fs::write(
        dir.join("debian/control"),
        format!("Source: keyturn\n\nPackage: {package}\nArchitecture: any\n"),
    )?;
    let out = Command::new("dpkg-shlibdeps")
        .args(["-O", "-e"])
        .arg(binary)
        .current_dir(&dir)
        .output()
        .context("running dpkg-shlibdeps (package dpkg-dev)")?;
    ensure!(
        out.status.success(),
        "dpkg-shlibdeps failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    let depends = printed
        .lines()
        .find_map(|line| line.strip_prefix("shlibs:Depends="))
        .context("dpkg-shlibdeps printed no shlibs:Depends")?;
    ensure!(depends.contains("libc6"), "no libc among {depends}");
    Ok(depends.to_owned())
}

fn place(from: &Path, to: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to.parent().context("a path with a folder")?)?;
    std::fs::copy(from, to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// What `dh_strip` does: cargo's `strip = true` leaves a symbol table (the linker's own symbols) and the
/// `.comment` section, which a Debian binary does not carry.
pub fn strip(binary: &Path) -> Result<()> {
    run(Command::new("strip")
        .args([
            "--remove-section=.comment",
            "--remove-section=.note",
            "--strip-unneeded",
        ])
        .arg(binary))
}

/// `gzip -9n`: the most compression, and no name or time inside, as Debian wants.
pub fn gzipped(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to.parent().context("a path with a folder")?)?;
    let out = Command::new("gzip")
        .args(["-9n", "--stdout"])
        .arg(from)
        .output()
        .context("running gzip")?;
    ensure!(out.status.success(), "gzip {} failed", from.display());
    std::fs::write(to, out.stdout)?;
    Ok(())
}

/// `DEBIAN/md5sums`: every file outside `DEBIAN/` and `etc/` (conffiles carry their own sums).
fn write_md5sums(stage: &Path) -> Result<()> {
    let mut files = Vec::new();
    collect_files(stage, stage, &mut files)?;
    files.retain(|f| !f.starts_with("DEBIAN/") && !f.starts_with("etc/"));
    files.sort();
    let out = Command::new("md5sum").args(&files).current_dir(stage).output()?;
    ensure!(out.status.success(), "md5sum failed");
    std::fs::write(stage.join("DEBIAN/md5sums"), out.stdout)?;
    Ok(())
}

fn collect_files(dir: &Path, stage: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, stage, out)?;
        } else {
            out.push(path.strip_prefix(stage)?.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// The installed size in KiB, as `Installed-Size` gives it.
fn installed_kib(stage: &Path) -> Result<u64> {
    let mut files = Vec::new();
    collect_files(stage, stage, &mut files)?;
    let mut bytes = 0;
    for file in files.iter().filter(|f| !f.starts_with("DEBIAN/")) {
        bytes += std::fs::metadata(stage.join(file))?.len();
    }
    Ok(bytes.div_ceil(1024))
}

/// What `cargo xtask ci` checks of the server's package: lintian finds nothing to warn of; apt installs it;
/// the system user, the private state directory, the configuration's owner and mode and the enabled unit are
/// there; and the README's provider path runs on it (`installed` in the integrations tests).
pub fn check_and_install(deb: &Path) -> Result<()> {
    lintian(deb)?;
    crate::setup::apt(&["install", "-y", "-q", "--reinstall", &deb.to_string_lossy()])?;
    let user = output(Command::new("getent").args(["passwd", "keyturn"]))?;
    let fields: Vec<&str> = user.trim().split(':').collect();
    ensure!(
        fields.len() == 7 && fields[2].parse::<u32>().is_ok_and(|uid| uid < 1000),
        "keyturn is not a system user: {user}"
    );
    ensure!(fields[6].ends_with("nologin"), "keyturn can log in: {user}");
    for (path, expected) in [
        ("/var/lib/keyturn", "keyturn:keyturn 700"),
        ("/etc/keyturn/server.conf", "root:keyturn 640"),
        ("/usr/bin/keyturn-server", "root:root 755"),
    ] {
        let found = output(Command::new("stat").args(["-c", "%U:%G %a", path]))?;
        ensure!(found.trim() == expected, "{path} is {}, not {expected}", found.trim());
    }
    let wants = Path::new("/etc/systemd/system/multi-user.target.wants/keyturn-server.service");
    ensure!(
        std::fs::read_link(wants).is_ok_and(|to| to == Path::new("/lib/systemd/system/keyturn-server.service")),
        "the unit is not enabled: {} is missing",
        wants.display()
    );
    let verify = Command::new("systemd-analyze")
        .args(["verify", "/lib/systemd/system/keyturn-server.service"])
        .output()
        .context("running systemd-analyze")?;
    let complaints = String::from_utf8_lossy(&verify.stderr);
    ensure!(
        verify.status.success() && !complaints.contains("keyturn-server.service"),
        "systemd-analyze verify: {complaints}"
    );
    println!("keyturn-server package: lintian clean, installed, user keyturn, /var/lib/keyturn 0700, unit enabled");
    installed_story()
}

/// lintian with warnings counted as failures, as for a package Debian would take.
pub fn lintian(deb: &Path) -> Result<()> {
    crate::setup::install_packages(&["lintian"])?;
    run(Command::new("lintian")
        .args(["--fail-on", "error,warning", "--no-tag-display-limit"])
        .arg(deb))
}

/// The service as its unit starts it (`migrate`, then `serve`, as user `keyturn`, the settings from the
/// installed configuration with free loopback ports and the LDAP door turned on, as the README says), and the
/// `installed` integration test against it. A database of its own beside the service's (whose accounts it
/// leaves alone), removed afterwards; the configuration is put back.
fn installed_story() -> Result<()> {
    let config = Path::new("/etc/keyturn/server.conf");
    let shipped = std::fs::read_to_string(config)?;
    let port = || -> Result<u16> { Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()) };
    let (http, metrics, ldap) = (port()?, port()?, port()?);
    let edited = shipped
        .replace("127.0.0.1:8787", &format!("127.0.0.1:{http}"))
        .replace("127.0.0.1:9187", &format!("127.0.0.1:{metrics}"))
        .replace(
            "#KEYTURN_LDAP_LISTEN=127.0.0.1:3890",
            &format!("KEYTURN_LDAP_LISTEN=127.0.0.1:{ldap}"),
        )
        .replace("/var/lib/keyturn/keyturn.db", CHECK_DB);
    ensure!(
        edited.contains(&format!("KEYTURN_LDAP_LISTEN=127.0.0.1:{ldap}")) && edited.contains(CHECK_DB),
        "{} is not as shipped",
        config.display()
    );
    let _restore = Restore {
        path: config,
        text: shipped.clone(),
    };
    std::fs::write(config, edited)?;

    let as_service = |args: &[&str]| {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "keyturn", "--", "/usr/bin/keyturn-server"])
            .args(args)
            .env_remove("KEYTURN_CONFIG")
            .current_dir("/");
        command
    };
    run(&mut as_service(&["migrate"]))?;
    let mut serve = as_service(&["serve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let stdout = serve.stdout.take().context("serve's stdout")?;
    let _stop = Stop(serve);
    let mut announced = std::io::BufReader::new(stdout);
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut announced, &mut line)?;
        lines.push(line.trim().to_owned());
    }
    let url = format!("http://127.0.0.1:{http}");
    ensure!(
        lines.contains(&format!("listening on {url}")) && lines.contains(&format!("ldap on ldap://127.0.0.1:{ldap}")),
        "the installed server announced {lines:?}"
    );
    crate::cargo_with_env(
        &[
            "test",
            "-p",
            "keyturn-api-tests",
            "--test",
            "integrations",
            "--",
            "--ignored",
            "--exact",
            "installed::installed_package_from_admin_cli_to_an_imap_sign_in_and_a_revoke",
            "--show-output",
        ],
        &[
            ("KEYTURN_INSTALLED_URL", url.as_str()),
            ("KEYTURN_INSTALLED_LDAP", &format!("127.0.0.1:{ldap}")),
        ],
    )
}

const CHECK_DB: &str = "/var/lib/keyturn/package-check.db";

/// Puts the configuration's text back, and removes the check's database, when dropped.
struct Restore<'a> {
    path: &'a Path,
    text: String,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let _ = std::fs::write(self.path, &self.text);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{CHECK_DB}{suffix}"));
        }
    }
}

/// Stops the service when dropped: SIGTERM to `runuser`, which passes it on and waits for the server.
struct Stop(std::process::Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}
