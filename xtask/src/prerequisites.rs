//! What `cargo xtask test` needs on the machine, checked before it builds
//! anything; `cargo xtask prerequisites` runs the check alone.
//!
//! Every missing piece is one line: what is missing, the step of the test
//! run that needs it, and the command that installs it. Pieces of the Rust
//! toolchain that rustup or cargo add without root — the bare-metal target,
//! rustfmt and clippy, the nightly toolchain of the ClusterFuzzLite check,
//! cargo-fuzz — `cargo xtask test` installs itself, but only once nothing
//! else is missing, so a newcomer sees the whole list at once. System
//! packages are named with Debian's commands, as `.ci/run` installs them.
//! A step the environment skips (`XTASK_NO_FUZZ`) needs nothing.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::image::TARGET;

// The steps of `cargo xtask test` (main.rs `test()`), as the lines name them.
const BUILD: &str = "cargo fmt and clippy";
const BARE_METAL: &str = "the bare-metal builds and the image";
const END_TO_END: &str = "the end-to-end tests (cargo test)";
const VM: &str = "the image tests (cargo test), the attack battery and xen-domu-smoke";
const METRICS: &str = "the /metrics tests (cargo test)";
const SIZE: &str = "the size report";
const FUZZ: &str = "the fuzz targets";
const CFLITE: &str = "the ClusterFuzzLite check (AddressSanitizer)";
const XEN: &str = "xen-domu-smoke";
const DOM0: &str = "xen-domu-smoke's dom0 root (built once, cached in target/xen-domu/dom0/)";

/// The Prometheus client `.ci/run` installs (its text parser reads
/// `/metrics` in the tests).
const PROMETHEUS_CLIENT: &str = "prometheus-client==0.26.0";

/// When a program is needed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum When {
    Always,
    /// Unless `XTASK_NO_FUZZ` is set.
    Fuzzing,
    /// Only while dom0's root is not cached.
    Dom0Build,
}

/// Programs looked up on the PATH: name, Debian package, step, when.
const PROGRAMS: &[(&str, &str, &str, When)] = &[
    ("qemu-system-x86_64", "qemu-system-x86", VM, When::Always),
    ("openssl", "openssl", END_TO_END, When::Always),
    ("socat", "socat", END_TO_END, When::Always),
    ("curl", "curl", END_TO_END, When::Always),
    ("promtool", "prometheus", METRICS, When::Always),
    ("prometheus", "prometheus", METRICS, When::Always),
    ("python3", "python3-pip", METRICS, When::Always),
    ("objcopy", "binutils", SIZE, When::Always),
    ("xz", "xz-utils", SIZE, When::Always),
    ("g++", "g++", FUZZ, When::Fuzzing),
    ("git", "git", CFLITE, When::Fuzzing),
    ("zip", "zip", CFLITE, When::Fuzzing),
    ("unzip", "unzip", CFLITE, When::Fuzzing),
    ("objdump", "binutils", CFLITE, When::Fuzzing),
    ("cpio", "cpio", XEN, When::Always),
    ("debootstrap", "debootstrap", DOM0, When::Dom0Build),
];

/// How a missing piece gets installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Install {
    /// A Debian package: `apt-get install PACKAGE`.
    Package(&'static str),
    /// A command `cargo xtask test` runs itself (rustup, cargo install).
    Automatic(Vec<String>),
    /// A command or instruction for the reader.
    Manual(String),
}

/// One missing piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// What is missing: a program, a target, a module, root.
    pub what: String,
    /// The step of `cargo xtask test` that needs it.
    pub step: &'static str,
    /// How to install it.
    pub install: Install,
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "missing {}, for {}: ", self.what, self.step)?;
        match &self.install {
            Install::Package(package) => write!(f, "apt-get install {package}"),
            Install::Automatic(command) => {
                write!(f, "{} (cargo xtask test runs this)", command.join(" "))
            }
            Install::Manual(text) => f.write_str(text),
        }
    }
}

/// What the check looks at.
pub struct Machine {
    /// The repository root (rust-toolchain.toml, target/).
    pub root: PathBuf,
    /// The PATH searched, and given to the programs the check runs.
    pub path: OsString,
    /// Whether the fuzzing steps run (`XTASK_NO_FUZZ` unset).
    pub fuzzing: bool,
    /// Whether this process runs as root.
    pub is_root: bool,
}

impl Machine {
    /// This process's machine.
    pub fn current(root: &Path) -> Machine {
        Machine {
            root: root.to_path_buf(),
            path: std::env::var_os("PATH").unwrap_or_default(),
            fuzzing: std::env::var_os("XTASK_NO_FUZZ").is_none(),
            // SAFETY: geteuid(2) takes no argument, touches no memory of
            // ours and cannot fail.
            is_root: unsafe { libc::geteuid() } == 0,
        }
    }

    fn has(&self, program: &str) -> bool {
        on_path(program, &self.path)
    }

    /// `program args…` run from the root with this PATH: whether it
    /// exited with success.
    fn succeeds(&self, program: impl AsRef<OsStr>, args: &[&str]) -> bool {
        self.output(program, args).is_some()
    }

    /// `program args…`'s standard output, if it exited with success.
    fn output(&self, program: impl AsRef<OsStr>, args: &[&str]) -> Option<String> {
        Command::new(program)
            .args(args)
            .current_dir(&self.root)
            .env("PATH", &self.path)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    }
}

/// Whether `program` is an executable file in one of `path`'s directories.
pub fn on_path(program: &str, path: &OsStr) -> bool {
    std::env::split_paths(path).any(|dir| {
        std::fs::metadata(dir.join(program))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Whether `libdir` (`rustc --print target-libdir --target T`) holds the
/// target's `core`: without it every build for the target fails with
/// "can't find crate for `core`".
pub fn has_core(libdir: &Path) -> bool {
    std::fs::read_dir(libdir).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with("libcore-") && name.ends_with(".rlib")
        })
    })
}

fn command(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// Everything `cargo xtask test` would miss on `machine`, in the order the
/// run needs it.
pub fn check(machine: &Machine) -> Vec<Need> {
    let mut needs = Vec::new();
    let rustup = machine.has("rustup");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    for (component, subcommand) in [("rustfmt", "fmt"), ("clippy", "clippy")] {
        if !machine.succeeds(&cargo, &[subcommand, "--version"]) {
            needs.push(Need {
                what: component.into(),
                step: BUILD,
                install: if rustup {
                    Install::Automatic(command(&["rustup", "component", "add", component]))
                } else {
                    Install::Manual(format!(
                        "add the {component} component to this toolchain (with rustup: \
                         rustup component add {component})"
                    ))
                },
            });
        }
    }

    let libdir = machine.output("rustc", &["--print", "target-libdir", "--target", TARGET]);
    if !libdir.is_some_and(|dir| has_core(Path::new(dir.trim()))) {
        needs.push(Need {
            what: format!("the {TARGET} target"),
            step: BARE_METAL,
            install: if rustup {
                Install::Automatic(command(&["rustup", "target", "add", TARGET]))
            } else {
                Install::Manual(format!(
                    "install rustup (https://rustup.rs), then rustup target add {TARGET}; \
                     or add {TARGET}'s standard library to this toolchain"
                ))
            },
        });
    }

    let dom0_cached = crate::xen_domu::dom0_cached(&machine.root);
    for &(program, package, step, when) in PROGRAMS {
        let needed = match when {
            When::Always => true,
            When::Fuzzing => machine.fuzzing,
            When::Dom0Build => !dom0_cached,
        };
        if needed && !machine.has(program) {
            needs.push(Need {
                what: program.into(),
                step,
                install: Install::Package(package),
            });
        }
    }

    if machine.has("python3") && !machine.succeeds("python3", &["-c", "import prometheus_client"]) {
        needs.push(Need {
            what: "the Python module prometheus_client".into(),
            step: METRICS,
            install: Install::Manual(format!("python3 -m pip install {PROMETHEUS_CLIENT}")),
        });
    }

    if machine.fuzzing {
        if !machine.succeeds(&cargo, &["fuzz", "--version"]) {
            needs.push(Need {
                what: "cargo-fuzz".into(),
                step: FUZZ,
                install: Install::Automatic(command(&[
                    "cargo",
                    "install",
                    "--locked",
                    "cargo-fuzz",
                    "--version",
                    crate::fuzz::CARGO_FUZZ_VERSION,
                ])),
            });
        }
        if !(rustup && machine.succeeds("rustup", &["run", "nightly", "rustc", "--version"])) {
            let install = [
                "rustup",
                "toolchain",
                "install",
                "nightly",
                "--profile",
                "minimal",
            ];
            needs.push(Need {
                what: "a nightly toolchain".into(),
                step: CFLITE,
                install: if rustup {
                    Install::Automatic(command(&install))
                } else {
                    Install::Manual(format!(
                        "install rustup (https://rustup.rs), then {}",
                        install.join(" ")
                    ))
                },
            });
        }
    }

    if !dom0_cached {
        if !machine.is_root {
            needs.push(Need {
                what: "root".into(),
                step: DOM0,
                install: Install::Manual(
                    "run cargo xtask test (or once cargo xtask xen-domu-smoke) as root".into(),
                ),
            });
        }
        if !machine.has("apt-get") {
            needs.push(Need {
                what: "apt-get".into(),
                step: DOM0,
                install: Install::Manual(
                    "run on Debian bookworm (dom0's root is made of its packages)".into(),
                ),
            });
        } else if crate::xen_domu::bookworm_mirror().is_err() {
            needs.push(Need {
                what: "a Debian bookworm mirror in apt's sources".into(),
                step: DOM0,
                install: Install::Manual("apt-get update, on Debian bookworm".into()),
            });
        }
    }
    needs
}

/// The Debian packages among `needs`, each once, for one install command.
fn packages(needs: &[Need]) -> Vec<&'static str> {
    let mut packages = Vec::new();
    for need in needs {
        if let Install::Package(package) = need.install
            && !packages.contains(&package)
        {
            packages.push(package);
        }
    }
    packages
}

/// Prints `needs`, one line each, and a summary line.
fn report(needs: &[Need]) {
    for need in needs {
        println!("xtask: {need}");
    }
    let packages = packages(needs);
    if packages.len() > 1 {
        println!(
            "xtask: the packages at once: apt-get install {}",
            packages.join(" ")
        );
    }
}

/// Whether only pieces `cargo xtask test` installs itself are missing.
fn all_automatic(needs: &[Need]) -> bool {
    needs
        .iter()
        .all(|need| matches!(need.install, Install::Automatic(_)))
}

/// `cargo xtask prerequisites`: the check alone; installs nothing.
pub fn main(root: &Path) -> Result<(), String> {
    let needs = check(&Machine::current(root));
    if needs.is_empty() {
        println!("xtask: everything cargo xtask test needs is here");
        return Ok(());
    }
    report(&needs);
    Err(format!("{} prerequisite(s) missing", needs.len()))
}

/// `cargo xtask test`'s first step: the check, then the installs xtask does
/// itself if they are all that is missing; otherwise the list, and an
/// error before anything is built.
pub fn ensure(root: &Path) -> Result<(), String> {
    let needs = check(&Machine::current(root));
    if needs.is_empty() {
        println!("xtask: prerequisites: nothing missing");
        return Ok(());
    }
    if !all_automatic(&needs) {
        report(&needs);
        return Err(format!(
            "{} prerequisite(s) missing (listed above); nothing was built",
            needs.len()
        ));
    }
    for need in &needs {
        let Install::Automatic(command) = &need.install else {
            unreachable!("all_automatic")
        };
        println!("xtask: {need}");
        let status = Command::new(&command[0])
            .args(&command[1..])
            .current_dir(root)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", command[0]))?;
        if !status.success() {
            return Err(format!("`{}` failed ({status})", command.join(" ")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty directory under the system's temporary directory.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn finds_executables_only() {
        let dir = scratch("on-path");
        let tool = dir.join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        let path = std::env::join_paths([Path::new("/nonexistent"), &dir]).unwrap();
        assert!(!on_path("tool", &path), "not executable yet");
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(on_path("tool", &path));
        assert!(!on_path("other", &path));
        std::fs::create_dir(dir.join("adir")).unwrap();
        assert!(!on_path("adir", &path), "a directory is not a program");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn core_is_what_makes_a_target() {
        let dir = scratch("libdir");
        assert!(!has_core(&dir.join("absent")));
        std::fs::write(dir.join("libcompiler_builtins-1234.rlib"), "").unwrap();
        assert!(!has_core(&dir), "a library that is not core");
        std::fs::write(dir.join("libcore-5678.rlib"), "").unwrap();
        assert!(has_core(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn one_line_each_naming_step_and_command() {
        let needs = [
            Need {
                what: "socat".into(),
                step: END_TO_END,
                install: Install::Package("socat"),
            },
            Need {
                what: format!("the {TARGET} target"),
                step: BARE_METAL,
                install: Install::Automatic(command(&["rustup", "target", "add", TARGET])),
            },
            Need {
                what: "promtool".into(),
                step: METRICS,
                install: Install::Package("prometheus"),
            },
            Need {
                what: "prometheus".into(),
                step: METRICS,
                install: Install::Package("prometheus"),
            },
        ];
        assert_eq!(
            needs[0].to_string(),
            "missing socat, for the end-to-end tests (cargo test): apt-get install socat"
        );
        assert_eq!(
            needs[1].to_string(),
            "missing the x86_64-unknown-none target, for the bare-metal builds and the image: \
             rustup target add x86_64-unknown-none (cargo xtask test runs this)"
        );
        assert!(needs.iter().all(|n| !n.to_string().contains('\n')));
        assert_eq!(packages(&needs), ["socat", "prometheus"]);
        assert!(!all_automatic(&needs));
        assert!(all_automatic(&needs[1..2]));
        assert!(all_automatic(&[]));
    }
}
