//! What the bench runs, built: the hosted piñata (the `hosted` profile),
//! the hosted piñata with the image's soft back ends, and the reference
//! crate's load generator and reference server (`bench/`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::image;

use super::Options;

pub(super) fn cargo_json(
    root: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("xtask: cargo {}", args.join(" "));
    let out = Command::new(cargo)
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .envs(env.iter().copied())
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo {} failed", args.join(" ")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(super) fn executables(messages: &str) -> BTreeMap<String, PathBuf> {
    messages
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter_map(|m| {
            Some((
                m["target"]["name"].as_str()?.to_string(),
                PathBuf::from(m["executable"].as_str()?),
            ))
        })
        .collect()
}

pub(super) struct Binaries {
    pub(super) pinata: PathBuf,
    /// The hosted piñata built with the image's crypto back ends (see
    /// [`build_soft`]), unless `--no-soft`.
    pub(super) soft: Option<PathBuf>,
    pub(super) loadgen: PathBuf,
    pub(super) refserver: PathBuf,
}

pub(super) fn build(root: &Path, o: &Options) -> Result<Binaries, String> {
    let hosted = executables(&cargo_json(
        root,
        &[
            "build",
            "--profile",
            &o.profile,
            "--locked",
            "-p",
            "pinata",
            "--bin",
            "pinata",
        ],
        &[],
    )?);
    let soft = if o.soft {
        Some(build_soft(root)?)
    } else {
        None
    };
    let manifest = root.join("bench").join("Cargo.toml");
    let manifest = manifest.to_string_lossy();
    let bench = executables(&cargo_json(
        root,
        &[
            "build",
            "--release",
            "--locked",
            "--manifest-path",
            &manifest,
        ],
        &[],
    )?);
    let get = |m: &BTreeMap<String, PathBuf>, n: &str| {
        m.get(n)
            .cloned()
            .ok_or_else(|| format!("cargo built no `{n}` executable"))
    };
    Ok(Binaries {
        pinata: get(&hosted, "pinata")?,
        soft,
        loadgen: get(&bench, "loadgen")?,
        refserver: get(&bench, "refserver")?,
    })
}

/// The hosted piñata as the image computes: the release profile (the
/// image's), the `--cfg` back ends `.cargo/config.toml` sets for
/// `x86_64-unknown-none` (serial curve25519, soft AES, GHASH/POLYVAL,
/// ChaCha20, Poly1305, SHA-1, SHA-2), and the image's features (no P-256
/// basepoint table). Built for the host triple in its own target directory
/// (`<target>/soft-backends`), so the flags reach only the piñata's
/// code and dependencies, not build scripts, and the usual build is left
/// alone.
pub(super) fn build_soft(root: &Path) -> Result<PathBuf, String> {
    let config = std::fs::read_to_string(root.join(".cargo").join("config.toml"))
        .map_err(|e| format!(".cargo/config.toml: {e}"))?;
    let cfgs = image_cfgs(&config);
    if cfgs.is_empty() {
        return Err(
            ".cargo/config.toml sets no --cfg for x86_64-unknown-none: nothing to build".into(),
        );
    }
    let flags: Vec<String> = cfgs
        .iter()
        .flat_map(|c| ["--cfg".to_string(), c.clone()])
        .collect();
    let host = host_triple()?;
    let target_dir = image::target_dir(root).join("soft-backends");
    let target_dir = target_dir.to_string_lossy();
    let built = executables(&cargo_json(
        root,
        &[
            "build",
            "--release",
            "--locked",
            "-p",
            "pinata",
            "--bin",
            "pinata",
            "--no-default-features",
            "--features",
            "std",
            "--target",
            &host,
            "--target-dir",
            &target_dir,
        ],
        &[("CARGO_ENCODED_RUSTFLAGS", &flags.join("\x1f"))],
    )?);
    built
        .get("pinata")
        .cloned()
        .ok_or_else(|| "cargo built no soft-back-end `pinata` executable".into())
}

/// The values of the `--cfg` flags in `config`'s
/// `[target.x86_64-unknown-none]` `rustflags`.
fn image_cfgs(config: &str) -> Vec<String> {
    let mut strings = Vec::new();
    let mut in_section = false;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('[') && !line.starts_with("[\"") {
            in_section = line == "[target.x86_64-unknown-none]";
            continue;
        }
        if !in_section || line.starts_with('#') {
            continue;
        }
        // The quoted strings of the line: "…" or '…' (TOML literal).
        let mut rest = line;
        while let Some(start) = rest.find(['"', '\'']) {
            let quote = rest[start..].chars().next().unwrap_or('"');
            let after = &rest[start + 1..];
            let Some(end) = after.find(quote) else { break };
            strings.push(after[..end].to_string());
            rest = &after[end + 1..];
        }
    }
    strings
        .windows(2)
        .filter(|w| w[0] == "--cfg")
        .map(|w| w[1].clone())
        .collect()
}

pub(super) fn host_triple() -> Result<String, String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run rustc -vV: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or_else(|| "rustc -vV names no host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_cfgs_come_from_the_bare_metal_target_only() {
        let config = r#"
[target.x86_64-unknown-linux-gnu]
rustflags = ["--cfg", "not_this"]
[target.x86_64-unknown-none]
rustflags = [
    "--cfg", 'curve25519_dalek_backend="serial"',
    # "--cfg", "commented_out",
    "--cfg", "aes_force_soft",
    "-C", "link-arg=--build-id=none",
]
[alias]
xtask = "run"
"#;
        assert_eq!(
            image_cfgs(config),
            ["curve25519_dalek_backend=\"serial\"", "aes_force_soft"]
        );
        // The real file: the back ends DESIGN.md names are there.
        let real = std::fs::read_to_string(crate::root().join(".cargo/config.toml")).unwrap();
        let cfgs = image_cfgs(&real);
        assert!(cfgs.contains(&"curve25519_dalek_backend=\"serial\"".to_string()));
        assert!(cfgs.contains(&"sha2_backend=\"soft\"".to_string()));
    }
}
