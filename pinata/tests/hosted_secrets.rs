//! The hosted piñata keeps its keys out of core dumps and swap, and the
//! test-only export of its identities never writes over a file or through
//! a symbolic link.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn proc_file(pid: u32, name: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/{name}")).unwrap()
}

/// A field of `/proc/PID/status` in kB.
fn status_kb(status: &str, key: &str) -> u64 {
    let line = status
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in {status}"));
    line[key.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn the_process_makes_no_core_dumps_and_locks_its_keys_in_memory() {
    let p = Pinata::start();
    let pid = p.proc.child.id();
    assert!(
        p.proc
            .out
            .lines()
            .iter()
            .any(|l| l == "pinata: no core dumps (not dumpable, RLIMIT_CORE 0)"),
        "{:?}",
        p.proc.out.lines()
    );
    let limits = proc_file(pid, "limits");
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(
        core.split_whitespace().collect::<Vec<_>>()[4..6],
        ["0", "0"],
        "{core}"
    );
    // Locked where the host allows it: it says which.
    let status = proc_file(pid, "status");
    let locked = status_kb(&status, "VmLck:");
    let said_locked = p
        .proc
        .out
        .lines()
        .iter()
        .any(|l| l == "pinata: memory locked: the keys stay out of swap");
    println!(
        "VmLck {locked} kB of VmRSS {} kB",
        status_kb(&status, "VmRSS:")
    );
    if said_locked {
        assert!(locked > 0, "{status}");
    } else {
        assert!(
            p.proc
                .out
                .lines()
                .iter()
                .any(|l| l.starts_with("pinata: WARNING: mlockall:")),
            "{:?}",
            p.proc.out.lines()
        );
    }
    // Still serving.
    assert_eq!(p.get("/").0, 200);
}

#[test]
fn protect_process_makes_this_process_undumpable() {
    assert_eq!(pinata::hosted::protect_process(), Vec::<String>::new());
    assert_eq!(
        rustix::process::dumpable_behavior().unwrap(),
        rustix::process::DumpableBehavior::NotDumpable
    );
}

/// Runs the piñata with its identities exported to `dir`; its output, and
/// whether it got as far as serving (it is stopped then).
fn export_to(dir: &Path) -> (String, bool) {
    let secret = harness::prize::write_secret_file(dir.parent().unwrap(), TEST_WIF_KEY1).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pinata"));
    harness::hosted::any_ports(&mut cmd);
    cmd.args(["--network", "regtest", "--secret-file"])
        .arg(&secret)
        .arg("--insecure-export-identities")
        .arg(dir);
    let mut proc = Process::spawn(&mut cmd).unwrap();
    let line = proc
        .out
        .wait_for("ready or an error", WAIT, |l| {
            l.starts_with("pinata: ready") || l.contains("cannot write")
        })
        .unwrap();
    let served = line.starts_with("pinata: ready");
    let _ = proc.child.kill();
    (proc.finish(WAIT).unwrap(), served)
}

#[test]
fn the_export_never_writes_through_a_link_nor_over_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    // A link where the CA certificate goes, pointing at a file an attacker
    // wants overwritten.
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let ids = tmp.path().join("ids");
    std::fs::create_dir(&ids).unwrap();
    std::os::unix::fs::symlink(&victim, ids.join("ca.pem")).unwrap();
    let (out, served) = export_to(&ids);
    assert!(!served, "{out}");
    assert!(
        out.contains("cannot write") && out.contains("ca.pem"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    // A key file already there is not replaced either.
    let ids = tmp.path().join("ids2");
    std::fs::create_dir(&ids).unwrap();
    std::fs::write(ids.join("client.key"), "an old key").unwrap();
    let (out, served) = export_to(&ids);
    assert!(!served, "{out}");
    assert!(
        out.contains("client.key") && out.contains("exists"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(ids.join("client.key")).unwrap(),
        "an old key"
    );
    // Into an empty directory it works, the keys readable by their owner
    // only.
    let ids = tmp.path().join("ids3");
    let (out, served) = export_to(&ids);
    assert!(served, "{out}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(ids.join("client.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
