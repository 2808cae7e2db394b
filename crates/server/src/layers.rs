//! The server's layers, read from its own `use` lines: the doors (`routes/` for HTTP, `ldap/` for LDAP)
//! above `account/` (the procedures) above the parts (`store/`, `throttle/`, the argon2 pool, the verified
//! cache). A lower layer never imports a higher one, and no door imports another, so there is no cycle.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, with its path relative to `src/`.
fn sources(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            out.push((relative, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

/// The modules of this crate a file names (`crate::x` in its code, not its comments): `x` for each. The code
/// is read as one text with comments removed, so a `use crate::{…}` group over several lines counts too.
fn imports(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ");
    {
        let mut rest = code.as_str();
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            match rest.strip_prefix('{') {
                // `crate::{a, b::c}`: each path's first name.
                Some(group) => {
                    let group = group.split('}').next().unwrap_or_default();
                    found.extend(group.split(',').map(|path| first_name(path.trim())));
                }
                None => found.push(first_name(rest)),
            }
        }
    }
    found
}

fn first_name(path: &str) -> String {
    path.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// Which layer a file is in: 0 the parts, 1 the procedures, 2 the doors, 3 what assembles them.
fn layer(file: &str) -> Option<u8> {
    let top = file.split('/').next().unwrap_or(file).trim_end_matches(".rs");
    match top {
        "store" | "throttle" | "credentials" | "verified_cache" | "second_factor" | "session_token"
        | "password_policy" | "clock" | "client_address" | "metrics" | "state" | "connections" => Some(0),
        "account" => Some(1),
        "routes" | "ldap" | "extract" | "error" => Some(2),
        "lib" | "cli" | "config_file" | "serve" | "admin" | "main" | "testkit" | "layers" => Some(3),
        // What lib.rs re-exports, named as `crate::AppState` and the like.
        "AppState" | "Options" | "Store" | "Database" | "Clock" | "SystemClock" | "Argon2Limits" | "TrustedProxies" => {
            Some(0)
        }
        _ => None,
    }
}

fn all_sources() -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    files
}

#[test]
fn every_file_has_a_layer() {
    for (file, _) in all_sources() {
        assert!(layer(&file).is_some(), "{file} is in no layer: add it to layers.rs");
    }
}

#[test]
fn no_layer_imports_a_higher_one() {
    let mut checked = 0;
    for (file, text) in all_sources() {
        let own = layer(&file).unwrap();
        for module in imports(&text) {
            let Some(theirs) = layer(&module) else { continue };
            // `metrics` counts what the parts do and is served at the top; `state` holds the parts. Both sit
            // with the parts, and a part may name `AppState` only from above.
            assert!(
                theirs <= own,
                "{file} (layer {own}) imports crate::{module} (layer {theirs}): a lower layer never imports a higher one"
            );
            checked += 1;
        }
    }
    assert!(
        checked > 50,
        "only {checked} imports read: is the parser still finding them?"
    );
}

#[test]
fn no_door_imports_another_and_no_route_imports_a_sibling() {
    for (file, text) in all_sources() {
        let imports = imports(&text);
        if file.starts_with("routes/") && file != "routes/mod.rs" {
            for line in text.lines() {
                let code = line.split("//").next().unwrap_or_default();
                assert!(
                    !code.contains("crate::routes::"),
                    "{file} imports a sibling route: {line}"
                );
            }
            assert!(!imports.iter().any(|m| m == "ldap"), "{file} imports the LDAP door");
        }
        if file.starts_with("ldap/") {
            assert!(
                !imports.iter().any(|m| m == "routes" || m == "extract" || m == "error"),
                "{file} imports the HTTP door"
            );
        }
    }
}

#[test]
fn the_procedures_know_no_protocol() {
    for (file, text) in all_sources().iter().filter(|(f, _)| f.starts_with("account/")) {
        for forbidden in ["axum", "ldap3_proto", "utoipa"] {
            assert!(
                !text.contains(forbidden),
                "{file} names {forbidden}: the procedures know no protocol"
            );
        }
    }
}

#[test]
fn a_group_over_several_lines_is_read_whole() {
    let text = "use crate::{\n    account::Caller,\n    // a comment\n    store::Origin,\n};\n";
    assert_eq!(imports(text), ["account", "store", ""].map(str::to_owned).to_vec());
}
