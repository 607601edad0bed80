//! `cargo xtask prerequisites` on a machine that lacks something, made by
//! changing the PATH it is given: a program hidden, or a `rustc` whose
//! bare-metal target has no standard library. The check names what is
//! missing, the step that needs it and how to install it, and fails.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The PATH with `hidden` removed: every directory of `path` that holds one
/// of them is replaced by a directory of symbolic links to everything else
/// in it, made under `scratch`.
fn path_without(path: &OsString, hidden: &[&str], scratch: &Path) -> OsString {
    let dirs = std::env::split_paths(path).enumerate().map(|(i, dir)| {
        if !hidden.iter().any(|program| dir.join(program).exists()) {
            return dir;
        }
        let mirror = scratch.join(i.to_string());
        std::fs::create_dir_all(&mirror).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name();
            if !hidden.iter().any(|program| name == *program) {
                std::os::unix::fs::symlink(entry.path(), mirror.join(&name)).unwrap();
            }
        }
        mirror
    });
    std::env::join_paths(dirs.collect::<Vec<_>>()).unwrap()
}

/// A directory under `scratch` holding `scripts` (name, shell script body).
fn programs(scratch: &Path, scripts: &[(&str, &str)]) -> PathBuf {
    let dir = scratch.join("programs");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, body) in scripts {
        let program = dir.join(name);
        std::fs::write(&program, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// `dir` first, then `path`.
fn prepend(dir: &Path, path: &OsString) -> OsString {
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(std::env::split_paths(path));
    std::env::join_paths(dirs).unwrap()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn prerequisites(path: &OsString) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("prerequisites")
        .env("PATH", path)
        .output()
        .expect("run xtask prerequisites")
}

/// The report's "missing" lines.
fn missing(output: &Output) -> BTreeSet<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.starts_with("xtask: missing "))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_hidden_program_is_named_with_its_step_and_package() {
    let scratch = scratch("hidden-program");
    let path = std::env::var_os("PATH").unwrap();
    let hidden_path = path_without(&path, &["socat"], &scratch);

    let machine = prerequisites(&path);
    let hidden = prerequisites(&hidden_path);
    std::fs::remove_dir_all(&scratch).ok();

    println!("{}", String::from_utf8_lossy(&hidden.stdout));
    assert!(
        !hidden.status.success(),
        "a missing program fails the check"
    );
    let socat =
        "xtask: missing socat, for the end-to-end tests (cargo test): apt-get install socat";
    let (mut hidden, mut machine) = (missing(&hidden), missing(&machine));
    assert!(hidden.contains(socat), "no socat line in {hidden:#?}");
    hidden.remove(socat);
    machine.remove(socat);
    assert_eq!(hidden, machine, "hiding socat changed only its own line");
}

/// The newcomer's first run: the pinned toolchain is there, its bare-metal
/// target is not (a build would stop at "can't find crate for `core`").
#[test]
fn a_toolchain_without_the_bare_metal_target_is_named() {
    let scratch = scratch("no-target");
    let path = std::env::var_os("PATH").unwrap();
    // rustc's answer for a target whose standard library is not installed:
    // the directory it would be in.
    let rustc = ("rustc", "echo /nonexistent/x86_64-unknown-none/lib");
    let with_rustup = programs(&scratch.join("a"), &[rustc, ("rustup", "exit 1")]);
    let without_rustup = programs(&scratch.join("b"), &[rustc]);
    let no_rustup_path = path_without(&path, &["rustup"], &scratch.join("c"));

    let with_rustup = prerequisites(&prepend(&with_rustup, &path));
    let without_rustup = prerequisites(&prepend(&without_rustup, &no_rustup_path));
    std::fs::remove_dir_all(&scratch).ok();

    assert!(!with_rustup.status.success());
    assert!(
        missing(&with_rustup).contains(
            "xtask: missing the x86_64-unknown-none target, for the bare-metal builds and the \
             image: rustup target add x86_64-unknown-none (cargo xtask test runs this)"
        ),
        "{with_rustup:?}"
    );
    assert!(!without_rustup.status.success());
    assert!(
        missing(&without_rustup).contains(
            "xtask: missing the x86_64-unknown-none target, for the bare-metal builds and the \
             image: install rustup (https://rustup.rs), then rustup target add \
             x86_64-unknown-none; or add x86_64-unknown-none's standard library to this toolchain"
        ),
        "{without_rustup:?}"
    );
}
