//! `cargo xtask image`: build the unikernel image.
//!
//! The release profile (opt-level "s", LTO, panic=abort) for the bare-metal
//! target; the result is one static ELF with the PVH note, bootable with
//! QEMU `-kernel`, Firecracker, cloud-hypervisor or Xen (type "pvh").

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The bare-metal target the image is built for.
pub const TARGET: &str = "x86_64-unknown-none";
/// The image's binary name.
pub const BINARY: &str = "pinata-unikernel";

/// Builds the release image and returns the ELF's path.
///
/// The path comes from cargo's own build messages, so `CARGO_TARGET_DIR`
/// and `build.target-dir` are honoured.
pub fn build_image(root: &Path) -> Result<PathBuf, String> {
    build_image_messages(root).map(|(path, _)| path)
}

/// [`build_image`], also returning cargo's JSON build messages (one per
/// line: every unit compiled for the image; the size report reads them).
pub fn build_image_messages(root: &Path) -> Result<(PathBuf, String), String> {
    build_image_in(root, None)
}

/// The target directory a build of `root` uses: `CARGO_TARGET_DIR` or
/// `<root>/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Builds the image of the tree at `root`, into `target_dir` if given (else
/// `CARGO_TARGET_DIR` or `<root>/target`), with the path remapping that makes
/// the image reproducible (`repro.rs`).
pub fn build_image_in(root: &Path, target: Option<&Path>) -> Result<(PathBuf, String), String> {
    build_image_with(root, target, &[])
}

/// [`build_image_in`] with extra environment variables for cargo (the size
/// report's line-table build sets `CARGO_PROFILE_RELEASE_DEBUG`; give such a
/// build its own `target` directory, so the shipped image is not rebuilt).
pub fn build_image_with(
    root: &Path,
    target: Option<&Path>,
    env: &[(&str, &str)],
) -> Result<(PathBuf, String), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let args = [
        "build",
        "--release",
        "--package",
        "unikernel",
        "--bin",
        BINARY,
        "--target",
        TARGET,
        "--message-format=json-render-diagnostics",
    ];
    eprintln!("xtask: cargo {}", args[..args.len() - 1].join(" "));
    let mut command = Command::new(&cargo);
    let target_dir = match target {
        Some(dir) => {
            command.env("CARGO_TARGET_DIR", dir);
            dir.to_path_buf()
        }
        None => target_dir(root),
    };
    let (var, flags) = crate::repro::rustflags_env(root, &target_dir);
    let output = command
        .envs(env.iter().copied())
        .env(var, flags)
        .args(args)
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("building the image failed ({})", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let path = stdout
        .lines()
        .filter(|line| line.contains("\"reason\":\"compiler-artifact\""))
        .filter_map(executable)
        .find(|path| path.file_name().is_some_and(|name| name == BINARY))
        .ok_or_else(|| "cargo built no pinata-unikernel executable".to_string())?;
    Ok((path, stdout))
}

/// The `"executable"` field of one JSON build message, if set.
fn executable(line: &str) -> Option<PathBuf> {
    const KEY: &str = "\"executable\":\"";
    let start = line.find(KEY)? + KEY.len();
    let end = start + line[start..].find('"')?;
    Some(PathBuf::from(&line[start..end]))
}

/// `cargo xtask image [--check-reproducible]`: build, then print the path
/// (stdout) and size; or build `HEAD` twice from scratch and compare.
/// `cargo xtask image`'s flags.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// Build HEAD twice from scratch and compare the images' SHA-256
    #[arg(long)]
    check_reproducible: bool,
}

pub fn image(root: &Path, options: Options) -> Result<(), String> {
    if options.check_reproducible {
        return crate::repro::check(root);
    }
    let path = build_image(root)?;
    let size = std::fs::metadata(&path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask: image is {} KiB", size / 1024);
    println!("{}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executable_field() {
        let line = r#"{"reason":"compiler-artifact","target":{"name":"pinata-unikernel"},"executable":"/t/x86_64-unknown-none/release/pinata-unikernel","fresh":true}"#;
        assert_eq!(
            executable(line),
            Some(PathBuf::from(
                "/t/x86_64-unknown-none/release/pinata-unikernel"
            ))
        );
        assert_eq!(executable(r#"{"executable":null}"#), None);
    }
}
