//! `cargo xtask bundle`: the .deb and the .rpm, made by the Tauri CLI from the release build; and the checks
//! `cargo xtask ci` runs on them: the packages' metadata reads as a distribution expects, the .deb installs
//! with apt, and the binary in each starts and prints its version without a window.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

use crate::{cargo, run, server_package, setup, workspace_root};

/// The release binary's ceiling, in bytes.
const MAX_BINARY_BYTES: u64 = 12 * 1024 * 1024;

pub struct Bundles {
    pub deb: PathBuf,
    pub rpm: PathBuf,
    /// The server's, `target/release/bundle/server/keyturn-server_…_amd64.deb`.
    pub server_deb: PathBuf,
}

/// Builds the app's packages into `target/release/bundle/{deb,rpm}/`, and the server's.
pub fn bundle() -> Result<Bundles> {
    setup::install()?;
    setup::install_tauri_cli()?;
    let root = workspace_root();
    // The man page and changelog the .deb carries (tauri.conf.json names them here), compressed as Debian
    // wants. Not the Tauri CLI's own `changelog` setting: it files the changelog under the product's name,
    // "Keyturn", not the package's.
    for (source, packed) in [("keyturn.1", "keyturn.1.gz"), ("changelog", "changelog.gz")] {
        server_package::gzipped(
            &root.join("src-tauri/packaging").join(source),
            &root.join("target/packaging").join(packed),
        )?;
    }
    // `--ci`: no prompts. The Tauri CLI builds the root package (the app) with `tauri/custom-protocol` and
    // the release profile.
    // `-p keyturn`: the workspace's default members leave the app out, so it builds without WebKit.
    cargo(&["tauri", "build", "--ci", "--no-bundle", "--", "-p", "keyturn"])?;
    let binary = root.join("target/release/keyturn");
    server_package::strip(&binary)?;
    // The Tauri CLI names WebKit and GTK but computes no library dependencies (libc among them): dpkg-shlibdeps
    // does, from the binary just built, and the packages are made with them.
    let depends = server_package::shared_libraries(&binary, "keyturn")?;
    let depends: Vec<String> = depends.split(", ").map(|d| format!("{d:?}")).collect();
    let config = format!(
        r#"{{"bundle":{{"linux":{{"deb":{{"depends":[{}]}}}}}}}}"#,
        depends.join(",")
    );
    cargo(&["tauri", "bundle", "--ci", "--bundles", "deb,rpm", "--config", &config])?;
    let bundles = Bundles {
        deb: only_file(&root.join("target/release/bundle/deb"), "deb")?,
        rpm: only_file(&root.join("target/release/bundle/rpm"), "rpm")?,
        server_deb: server_package::build()?,
    };
    let size = std::fs::metadata(&binary)?.len();
    println!("release binary: {:.1} MB", size as f64 / 1e6);
    ensure!(
        size < MAX_BINARY_BYTES,
        "the release binary is {size} bytes, over {MAX_BINARY_BYTES}"
    );
    println!(
        "packages:\n  {}\n  {}\n  {}",
        bundles.deb.display(),
        bundles.rpm.display(),
        bundles.server_deb.display()
    );
    Ok(bundles)
}

/// The one `*.{ext}` in `dir` whose name carries this version.
fn only_file(dir: &Path, ext: &str) -> Result<PathBuf> {
    let version = env!("CARGO_PKG_VERSION");
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains(version)))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!(
            "expected one .{ext} of version {version} in {}, found {found:?}",
            dir.display()
        ),
    }
}

/// Reads the app's packages' metadata, lintian on its .deb, installs it, and starts the binary of each with
/// `--version`; then the server's package is checked, installed and run (`server_package`).
/// Returns the installed binary, for the end-to-end story.
pub fn check_and_install(bundles: &Bundles) -> Result<PathBuf> {
    let info = output(Command::new("dpkg-deb").arg("--info").arg(&bundles.deb))?;
    println!("{info}");
    for field in [
        "Package: keyturn",
        "Version: 0.1.0",
        "Maintainer: Keyturn <",
        "Section: utils",
        "Homepage: https://keyturn.app",
        "Recommends: gnome-keyring",
        "Description: App-specific passwords",
    ] {
        ensure!(info.contains(field), "dpkg-deb --info lacks {field:?}");
    }
    let depends = info
        .lines()
        .find_map(|line| line.trim().strip_prefix("Depends: "))
        .context("the .deb has no Depends")?;
    for library in ["libwebkit2gtk-4.1-0", "libgtk-3-0", "libc6 (>= "] {
        ensure!(
            depends.contains(library),
            "the .deb does not depend on {library}: {depends}"
        );
    }
    server_package::lintian(&bundles.deb)?;
    let contents = output(Command::new("dpkg-deb").arg("--contents").arg(&bundles.deb))?;
    for file in [
        "usr/bin/keyturn",
        "usr/share/applications/Keyturn.desktop",
        "usr/share/icons/hicolor/128x128/apps/keyturn.png",
        "usr/share/icons/hicolor/256x256/apps/keyturn.png",
        "usr/share/doc/keyturn/copyright",
        "usr/share/doc/keyturn/changelog.gz",
        "usr/share/man/man1/keyturn.1.gz",
    ] {
        ensure!(
            contents.lines().any(|line| line.ends_with(&format!(" {file}"))),
            "the .deb lacks {file}"
        );
    }

    let rpm_info = output(Command::new("rpm").arg("-qpi").arg(&bundles.rpm))?;
    println!("{rpm_info}");
    for field in [
        "Name        : keyturn",
        "License     : MIT OR Apache-2.0",
        "URL         : https://keyturn.app",
    ] {
        ensure!(rpm_info.contains(field), "rpm -qpi lacks {field:?}");
    }
    let requires = output(Command::new("rpm").arg("-qpR").arg(&bundles.rpm))?;
    for library in ["libwebkit2gtk-4.1.so.0", "libgtk-3.so.0"] {
        ensure!(
            requires.contains(library),
            "the .rpm does not require {library}: {requires}"
        );
    }
    let recommends = output(Command::new("rpm").arg("-qp").arg("--recommends").arg(&bundles.rpm))?;
    ensure!(
        recommends.contains("gnome-keyring"),
        "the .rpm does not recommend gnome-keyring: {recommends}"
    );
    let unpacked = workspace_root().join("target/bundle-check/rpm");
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&unpacked)?;
    run(Command::new("sh")
        .args(["-c", "rpm2cpio \"$0\" | cpio -idm --quiet"])
        .arg(&bundles.rpm)
        .current_dir(&unpacked))?;
    prints_version(&unpacked.join("usr/bin/keyturn"))?;

    // A path, so apt takes it as a file; as root, or with sudo.
    setup::apt(&["install", "-y", "-q", "--reinstall", &bundles.deb.to_string_lossy()])?;
    let installed = PathBuf::from("/usr/bin/keyturn");
    prints_version(&installed)?;
    let help = output(Command::new(&installed).arg("--help").env_remove("DISPLAY"))?;
    ensure!(help.contains("Usage: keyturn"), "keyturn --help: {help}");
    server_package::check_and_install(&bundles.server_deb)?;
    Ok(installed)
}

/// `keyturn --version` prints the version and exits, with no display to open a window on.
fn prints_version(binary: &Path) -> Result<()> {
    let version = output(Command::new(binary).arg("--version").env_remove("DISPLAY"))?;
    let expected = format!("Keyturn {}", env!("CARGO_PKG_VERSION"));
    ensure!(
        version.trim() == expected,
        "{} --version printed {version:?}",
        binary.display()
    );
    println!("{} --version: {}", binary.display(), version.trim());
    Ok(())
}

/// What `command` printed, once it succeeded.
pub fn output(command: &mut Command) -> Result<String> {
    let out = command.output().with_context(|| format!("starting {command:?}"))?;
    ensure!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
