//! Installs the system packages and tools the build and the tests need, only where they are missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::run;

/// Debian/Ubuntu packages: the WebKitGTK desktop build, then the end-to-end tests (virtual display, WebDriver,
/// a Secret Service keychain, screenshots).
const PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "libssl-dev",
    "libwebkit2gtk-4.1-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "dbus-x11",
    "gnome-keyring",
    "libsecret-tools",
    "imagemagick",
    "procps",
    // The TLS tests serve a self-signed certificate with `openssl s_server`.
    "openssl",
    // The end-to-end test reads the clipboard as another program would.
    "xclip",
    // The benchmark's load generator.
    "wrk",
    // The .rpm is read (`rpm -qpi`) and unpacked (`rpm2cpio | cpio`) to check the binary inside.
    "rpm",
    "rpm2cpio",
    "cpio",
    // The server's tests run on PostgreSQL too, in a throwaway cluster (`initdb`, `pg_ctl`).
    "postgresql",
    // `cargo xtask contract` installs schemathesis into a virtualenv of its own (`python3 -m venv`, with pip).
    "python3-venv",
];

pub fn install() -> Result<()> {
    install_packages(PACKAGES)
}

pub fn install_packages(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if !missing.is_empty() {
        println!("installing system packages: {}", missing.join(" "));
        apt(&["update", "-q"])?;
        // With recommends: xvfb-run needs xauth, and the window wants the fonts WebKitGTK recommends.
        let mut args = vec!["install", "-y", "-q"];
        args.extend(&missing);
        apt(&args)?;
    }
    Ok(())
}

pub fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

pub fn apt(args: &[&str]) -> Result<()> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    let mut command = if is_root {
        Command::new("apt-get")
    } else if Command::new("sudo")
        .arg("-n")
        .arg("true")
        .status()
        .is_ok_and(|s| s.success())
    {
        let mut c = Command::new("sudo");
        c.arg("apt-get");
        c
    } else {
        bail!(
            "missing system packages; run as root or with sudo: apt-get install {}",
            args[1..].join(" ")
        );
    };
    command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    run(&mut command)
}

/// `tauri-driver`, the WebDriver bridge for Tauri apps, unless it is already on the machine.
pub fn install_tauri_driver() -> Result<()> {
    install_cargo_tool("tauri-driver", "2.1.0", "tauri-driver")
}

/// The Tauri CLI, which builds the .deb and the .rpm (about 13 minutes to build on two cores).
pub fn install_tauri_cli() -> Result<()> {
    install_cargo_tool("cargo-tauri", "2.12.4", "tauri-cli")
}

/// axe-core, the accessibility checker the end-to-end test loads into each screen; returns its script.
pub fn install_axe_core() -> Result<std::path::PathBuf> {
    const VERSION: &str = "4.14.1";
    let prefix = crate::workspace_root().join("target/axe");
    let script = prefix.join("node_modules/axe-core/axe.min.js");
    let package = prefix.join("node_modules/axe-core/package.json");
    let installed = std::fs::read_to_string(&package).is_ok_and(|p| p.contains(&format!("\"version\": \"{VERSION}\"")));
    if !installed {
        if Command::new("npm").arg("--version").output().is_err() {
            install_packages(&["npm"])?;
        }
        std::fs::create_dir_all(&prefix)?;
        run(Command::new("npm")
            .args(["install", "--no-save", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(format!("axe-core@{VERSION}")))?;
    }
    Ok(script)
}

/// Where `tauri-driver` is: cargo's bin folder, or the PATH.
pub fn tauri_driver_path() -> std::path::PathBuf {
    cargo_home()
        .map(|home| home.join("bin/tauri-driver"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| "tauri-driver".into())
}

fn cargo_home() -> Option<std::path::PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".cargo")))
}

/// `cargo-deny`, which checks the dependency tree's licenses, bans and sources against deny.toml.
pub fn install_cargo_deny() -> Result<()> {
    install_cargo_tool("cargo-deny", "0.20.2", "cargo-deny")
}

/// `cargo-machete`, which finds dependencies a manifest names and no code uses.
pub fn install_cargo_machete() -> Result<()> {
    install_cargo_tool("cargo-machete", "0.9.2", "cargo-machete")
}

/// Installs `krate` from crates.io unless its binary `name` is already on the machine.
fn install_cargo_tool(name: &str, version: &str, krate: &str) -> Result<()> {
    let found = Command::new(name).arg("--help").output().is_ok()
        || cargo_home().is_some_and(|home| home.join("bin").join(name).exists());
    if !found {
        crate::cargo(&["install", krate, "--locked", "--version", version])?;
    }
    Ok(())
}

/// The python of a virtualenv at `venv` that holds `package` at `version`: made (with `python3 -m venv`,
/// Debian's python3-venv; Debian's python3 refuses `pip install` outside one) and filled only when it is
/// missing, broken or holds another version.
pub fn python_venv(venv: &Path, package: &str, version: &str) -> Result<PathBuf> {
    let python = venv.join("bin/python");
    // A venv made without python3-venv has a python but no pip: made again once the package is there.
    let has_pip = Command::new(&python)
        .args(["-m", "pip", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_pip {
        let _ = std::fs::remove_dir_all(venv);
        run(Command::new("python3").args(["-m", "venv"]).arg(venv))
            .with_context(|| format!("making the virtualenv for {package} (Debian: apt-get install python3-venv)"))?;
    }
    let installed = Command::new(&python)
        .args([
            "-c",
            &format!("import importlib.metadata as m; print(m.version('{package}'))"),
        ])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == version);
    if !installed {
        println!("installing {package} {version} into {}", venv.display());
        run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            &format!("{package}=={version}"),
        ]))?;
    }
    Ok(python)
}
