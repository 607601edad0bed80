//! What cargo built: the hosted binary's build, cargo's JSON messages, the
//! units compiled into a binary and the source files rustc read for each
//! (its dep-info).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The host triple (the hosted binary is built for it explicitly, so that
/// build-time crates land in another directory than the binary's).
pub fn host_triple() -> Result<String, String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or_else(|| "rustc -vV printed no host".into())
}

/// Builds the hosted `pinata` binary (release, explicit host target) and
/// returns its path and cargo's messages.
pub fn build_hosted(root: &Path, triple: &str) -> Result<(PathBuf, String), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let args = [
        "build",
        "--release",
        "--package",
        "pinata",
        "--bin",
        "pinata",
        "--target",
        triple,
        "--message-format=json-render-diagnostics",
    ];
    eprintln!("xtask: cargo {}", args[..args.len() - 1].join(" "));
    let output = Command::new(cargo)
        .args(args)
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the hosted binary failed ({})",
            output.status
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let path = messages(&stdout)
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "pinata")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or("cargo built no pinata executable")?;
    Ok((path, stdout))
}

pub fn messages(stdout: &str) -> impl Iterator<Item = Value> + '_ {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
}

/// One compiled unit of the build.
pub struct Unit {
    pub package: String,
    pub version: String,
    pub source: String,
    pub crate_name: String,
    pub dep_info: Option<PathBuf>,
    pub build_time: bool,
}

/// The units of the build from cargo's messages: those compiled into the
/// binary (under `target_subdir`), and build-time ones (proc macros, build
/// scripts, their dependencies) flagged.
pub fn units(messages_text: &str, target_subdir: &Path) -> Vec<Unit> {
    let mut units = Vec::new();
    for m in messages(messages_text) {
        if m["reason"] != "compiler-artifact" {
            continue;
        }
        let kinds: Vec<&str> = m["target"]["kind"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let crate_name = m["target"]["name"]
            .as_str()
            .unwrap_or("?")
            .replace('-', "_");
        let (package, version, source) = package_id(m["package_id"].as_str().unwrap_or(""));
        let filenames: Vec<PathBuf> = m["filenames"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default();
        let in_binary = !kinds
            .iter()
            .any(|k| *k == "custom-build" || *k == "proc-macro")
            && filenames.iter().any(|f| f.starts_with(target_subdir));
        let dep_info = if in_binary {
            dep_info_for(&filenames, &crate_name, target_subdir)
        } else {
            None
        };
        units.push(Unit {
            package,
            version,
            source,
            crate_name,
            dep_info,
            build_time: !in_binary,
        });
    }
    units
}

/// `registry+…#name@1.2.3` / `path+file:///…/name#0.1.0` → (name, version, source).
pub fn package_id(id: &str) -> (String, String, String) {
    let (url, fragment) = id.split_once('#').unwrap_or((id, ""));
    let source = if url.starts_with("path+") {
        "workspace"
    } else if url.starts_with("registry+") || url.starts_with("sparse+") {
        "crates.io"
    } else if url.starts_with("git+") {
        "git"
    } else {
        "other"
    };
    let (name, version) = match fragment.split_once('@') {
        Some((n, v)) => (n.to_string(), v.to_string()),
        None => (
            url.rsplit('/').next().unwrap_or("?").to_string(),
            fragment.to_string(),
        ),
    };
    (name, version, source.into())
}

/// rustc's dep-info file for a unit: `deps/<crate>-<hash>.d` beside its
/// rlib, or for a binary (whose reported path is the uplifted copy) the
/// newest `deps/<crate>-*.d`.
fn dep_info_for(filenames: &[PathBuf], crate_name: &str, target_subdir: &Path) -> Option<PathBuf> {
    for f in filenames {
        let name = f.file_name()?.to_str()?;
        if let Some(stem) = name
            .strip_prefix("lib")
            .and_then(|n| n.strip_suffix(".rlib"))
        {
            let d = f.with_file_name(format!("{stem}.d"));
            if d.is_file() {
                return Some(d);
            }
        }
    }
    let deps = target_subdir.join("release").join("deps");
    fs::read_dir(&deps)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "d")
                && p.file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.rsplit_once('-'))
                    .is_some_and(|(c, _)| c == crate_name)
        })
        .max_by_key(|p| fs::metadata(p).and_then(|m| m.modified()).ok())
}

/// The source files listed in a rustc dep-info file. rustc writes them as
/// cargo passed them: workspace members' relative to the workspace `root`
/// (where cargo runs rustc for them), dependencies' absolute.
pub fn dep_info_files(d: &Path, root: &Path) -> Vec<PathBuf> {
    let Ok(text) = fs::read_to_string(d) else {
        return Vec::new();
    };
    let mut files = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        // `path:` lines (one per input, after the first rule); paths escape
        // spaces with a backslash.
        if let Some(path) = line.strip_suffix(':') {
            let path = path.replace("\\ ", " ");
            if !path.ends_with(".d") && !path.ends_with(".rlib") && !path.ends_with(".rmeta") {
                files.insert(root.join(path));
            }
        }
    }
    files.into_iter().filter(|p| p.is_file()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_ids() {
        assert_eq!(
            package_id("registry+https://github.com/rust-lang/crates.io-index#aes@0.9.4"),
            ("aes".into(), "0.9.4".into(), "crates.io".into())
        );
        assert_eq!(
            package_id("path+file:///work/main/pinata#0.1.0"),
            ("pinata".into(), "0.1.0".into(), "workspace".into())
        );
        assert_eq!(
            package_id("path+file:///work/main/stack#stack-x@0.2.0"),
            ("stack-x".into(), "0.2.0".into(), "workspace".into())
        );
    }
}
