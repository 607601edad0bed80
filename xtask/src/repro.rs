//! Reproducible images.
//!
//! The image must not depend on where the tree, cargo's home or the target
//! directory are, nor on when it was built:
//!
//! - **Paths**: rustc embeds source paths (panic locations). Workspace
//!   crates are passed relative to the workspace, the toolchain's `core` and
//!   `alloc` come as `/rustc/<commit>/…`, but crates from the registry are
//!   compiled from `$CARGO_HOME/registry/src/…`, which differs between
//!   users. Every cargo run that builds for the bare-metal target gets
//!   `--remap-path-prefix` for `$CARGO_HOME` (→ `/cargo`; its registries'
//!   sources, `registry/src/<registry>/`, → `/crates`), the workspace
//!   (→ `/pinata`) and the target directory (→ `/target`), through
//!   `CARGO_TARGET_X86_64_UNKNOWN_NONE_RUSTFLAGS`, which cargo merges with
//!   `.cargo/config.toml`'s flags. (A config file cannot name these
//!   directories, and cargo's `trim-paths` is not stable.) Cargo keeps the
//!   `-C metadata` hashes, hence the symbol names, independent of rustflags
//!   and of the workspace's location.
//! - **Build ids**: `-C link-arg=--build-id=none` in `.cargo/config.toml`
//!   (the linker script keeps no `.note.gnu.build-id` either).
//! - **Time**: nothing reads the clock or `SOURCE_DATE_EPOCH` at build time;
//!   the ELF has no timestamps.
//! - **Toolchain**: `rust-toolchain.toml` pins the compiler; `Cargo.lock`
//!   pins every crate (builds use `--locked`).
//!
//! `cargo xtask image --check-reproducible` exports `HEAD` (`git archive`)
//! into two directories of different names and depths, builds each from
//! scratch with its own target directory, and compares the SHA-256 of the
//! two ELFs; it also checks that neither contains the build's absolute
//! paths (which a user with another home directory would not reproduce).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::image;

/// The environment variable cargo reads the bare-metal target's extra
/// rustflags from (merged with `.cargo/config.toml`'s).
pub const RUSTFLAGS_VAR: &str = "CARGO_TARGET_X86_64_UNKNOWN_NONE_RUSTFLAGS";

/// cargo's home: `$CARGO_HOME`, else `$HOME/.cargo`.
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// The remapping flags for a build of `root` into `target_dir`.
///
/// With a fresh cargo home (no registry sources unpacked yet) this runs
/// `cargo fetch` first: the flags name the registries' directories, and a
/// build whose flags changed once the sources arrived would neither match
/// nor reuse the first one.
pub fn remap_flags(root: &Path, target_dir: &Path) -> Vec<String> {
    let home = cargo_home();
    if let Some(home) = &home
        && registry_sources(home).is_empty()
    {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // A failure shows in the build that follows; the flags then lack
        // `/crates` and the image names registry files under `/cargo`.
        let _ = Command::new(cargo)
            .args(["fetch", "--locked"])
            .current_dir(root)
            .status();
    }
    remap_flags_with_home(root, target_dir, home.as_deref())
}

/// [`remap_flags`] with cargo's home given.
fn remap_flags_with_home(root: &Path, target_dir: &Path, home: Option<&Path>) -> Vec<String> {
    // rustc applies the last matching remapping: the more specific
    // directories (the target directory may lie inside the tree, the
    // registries' sources lie inside cargo's home) come last.
    let mut pairs: Vec<(PathBuf, &str)> = vec![(root.to_path_buf(), "/pinata")];
    pairs.push((target_dir.to_path_buf(), "/target"));
    if let Some(home) = home {
        pairs.push((home.to_path_buf(), "/cargo"));
        // Each registry's sources (`registry/src/index.crates.io-<hash>/`)
        // as `/crates`: the image's panic locations name about a hundred
        // registry files, and the long prefix cost 45 bytes each (crate
        // directories carry their versions; the registry's name adds
        // nothing).
        pairs.extend(
            registry_sources(home)
                .into_iter()
                .map(|dir| (dir, "/crates")),
        );
    }
    pairs
        .into_iter()
        .filter_map(|(from, to)| {
            let from = from.to_str()?.trim_end_matches('/').to_string();
            // The variable is split at whitespace: such a path cannot be passed.
            (!from.is_empty() && !from.contains(char::is_whitespace))
                .then(|| format!("--remap-path-prefix={from}={to}"))
        })
        .collect()
}

/// The directories cargo unpacks registry crates into
/// (`<home>/registry/src/*`), sorted.
pub fn registry_sources(home: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(home.join("registry").join("src"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// `(variable, value)` to set on every cargo command building for the
/// bare-metal target: the caller's own value of the variable, plus the
/// remapping flags it does not hold yet (so nested `cargo xtask image`
/// runs compute the same string, and cargo's fingerprints stay put).
pub fn rustflags_env(root: &Path, target_dir: &Path) -> (&'static str, String) {
    let existing = std::env::var(RUSTFLAGS_VAR).unwrap_or_default();
    let mut flags: Vec<String> = existing.split_whitespace().map(str::to_string).collect();
    for flag in remap_flags(root, target_dir) {
        if !flags.contains(&flag) {
            flags.push(flag);
        }
    }
    (RUSTFLAGS_VAR, flags.join(" "))
}

fn sha256_file(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Does `haystack` contain `needle`?
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// `cargo xtask image --check-reproducible`.
pub fn check(root: &Path) -> Result<(), String> {
    let head = git(root, &["rev-parse", "HEAD"])?;
    let dirty = !git(root, &["status", "--porcelain", "--untracked-files=no"])?.is_empty();
    if dirty {
        eprintln!(
            "xtask: note: the work tree has uncommitted changes; this checks the commit {head}"
        );
    }
    let base = std::env::temp_dir().join(format!("pinata-repro-{}", std::process::id()));
    // Different names and depths: nothing may depend on where the tree is.
    let trees = [base.join("a"), base.join("second").join("tree-b")];
    let mut results = Vec::new();
    for tree in &trees {
        std::fs::create_dir_all(tree).map_err(|e| format!("{}: {e}", tree.display()))?;
        export(root, tree)?;
        let target = tree.join("target");
        eprintln!(
            "xtask: clean build of {} in {} (target dir {})",
            &head[..12.min(head.len())],
            tree.display(),
            target.display()
        );
        let started = std::time::Instant::now();
        let (path, _) = image::build_image_in(tree, Some(&target))?;
        let sha = sha256_file(&path)?;
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut leaks = Vec::new();
        for dir in [Some(tree.clone()), Some(target.clone()), cargo_home()]
            .into_iter()
            .flatten()
        {
            if contains(&bytes, dir.to_string_lossy().as_bytes()) {
                leaks.push(dir.display().to_string());
            }
        }
        println!(
            "{sha}  {} ({} bytes, built in {:.0} s)",
            path.display(),
            bytes.len(),
            started.elapsed().as_secs_f64()
        );
        results.push((sha, path, leaks));
    }
    let same = results[0].0 == results[1].0;
    let leaks: Vec<String> = results.iter().flat_map(|r| r.2.clone()).collect();
    if same && leaks.is_empty() {
        println!(
            "reproducible: both clean builds of {head} have SHA-256 {}",
            results[0].0
        );
        let _ = std::fs::remove_dir_all(&base);
        Ok(())
    } else if !same {
        Err(format!(
            "NOT reproducible: {} != {} (the trees are kept in {} for diffoscope)",
            results[0].0,
            results[1].0,
            base.display()
        ))
    } else {
        Err(format!(
            "the image contains absolute build paths ({}): another machine would not reproduce it",
            leaks.join(", ")
        ))
    }
}

fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!("git {} failed", args.join(" ")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `git archive HEAD | tar -x -C tree`.
fn export(root: &Path, tree: &Path) -> Result<(), String> {
    let mut archive = Command::new("git")
        .args(["archive", "--format=tar", "HEAD"])
        .current_dir(root)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git archive: {e}"))?;
    let stdout = archive.stdout.take().ok_or("git archive: no output")?;
    let tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(tree)
        .stdin(stdout)
        .status()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    let archived = archive.wait().map_err(|e| format!("git archive: {e}"))?;
    if tar.success() && archived.success() {
        Ok(())
    } else {
        Err(format!("exporting HEAD to {} failed", tree.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remapping_is_idempotent_and_ordered() {
        let flags = remap_flags(Path::new("/w/tree"), Path::new("/w/tree/target"));
        assert_eq!(flags[0], "--remap-path-prefix=/w/tree=/pinata");
        assert_eq!(flags[1], "--remap-path-prefix=/w/tree/target=/target");
        assert!(
            remap_flags(Path::new("/with space"), Path::new("/t"))
                .iter()
                .all(|f| !f.contains("with space"))
        );
    }

    #[test]
    fn registry_sources_are_remapped_after_cargo_home() {
        let home = std::env::temp_dir().join(format!("repro-home-{}", std::process::id()));
        let registry = home.join("registry").join("src").join("index.example-0123");
        std::fs::create_dir_all(&registry).unwrap();
        let flags = remap_flags_with_home(Path::new("/w/tree"), Path::new("/t"), Some(&home));
        std::fs::remove_dir_all(&home).unwrap();
        let cargo = format!("--remap-path-prefix={}=/cargo", home.display());
        let crates = format!("--remap-path-prefix={}=/crates", registry.display());
        let position = |flag: &str| flags.iter().position(|f| f == flag);
        assert!(position(&cargo) < position(&crates), "{flags:?}");
        assert!(position(&crates).is_some(), "{flags:?}");
        // No registries yet (a fresh cargo home): only the home itself.
        assert_eq!(
            remap_flags_with_home(
                Path::new("/w"),
                Path::new("/t"),
                Some(Path::new("/nowhere"))
            ),
            [
                "--remap-path-prefix=/w=/pinata",
                "--remap-path-prefix=/t=/target",
                "--remap-path-prefix=/nowhere=/cargo"
            ]
        );
    }

    #[test]
    fn byte_search() {
        assert!(contains(b"abc/root/.cargo/x", b"/root/.cargo"));
        assert!(!contains(b"abc", b""));
    }
}
