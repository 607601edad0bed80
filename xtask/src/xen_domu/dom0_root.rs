//! The Xen host the domU smoke test boots inside QEMU: Debian bookworm's
//! Xen 4.17 hypervisor, its Linux 6.1 kernel as a PV dom0, and a minimal
//! bookworm root with the Xen tools, packed as an initramfs.
//!
//! Built from Debian packages through the mirror apt already uses:
//! `apt-get download` + `dpkg-deb -x` for `xen-hypervisor-4.17-amd64` and
//! the kernel `linux-image-amd64` currently points at (a 6.1 build), and
//! `debootstrap --variant=minbase` for the root. Only the kernel modules
//! dom0 needs go in (the Xen device drivers, xen-netback, the bridge and
//! its stp/llc); `depmod` runs in the root. No udev: libxl runs the
//! `vif-bridge` hotplug script itself. Documentation, locales and the apt
//! cache are dropped; the root is an uncompressed newc cpio of about
//! 130 MB.
//!
//! The result is cached in `target/xen-domu/dom0/` (about a minute and a
//! half to build here) with the recipe and package versions it came from;
//! a cached copy with the current recipe is used as is, so the test runs
//! when the mirror is unreachable. `--rebuild-dom0` builds it again.
//! Building needs root (debootstrap, chroot) and `apt-get update` done.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What dom0's root holds besides minbase.
const PACKAGES: &str = "xen-utils-4.17,iproute2,bridge-utils,curl,openssl,socat,busybox,kmod,procps,util-linux,tcpdump";

/// The hypervisor package.
const XEN_PACKAGE: &str = "xen-hypervisor-4.17-amd64";

/// Kernel module directories dom0 loads from.
const MODULE_DIRS: [&str; 5] = [
    "kernel/drivers/xen",
    "kernel/drivers/net/xen-netback",
    "kernel/net/bridge",
    "kernel/net/802",
    "kernel/net/llc",
];

/// Dropped from the root: nothing in dom0 reads them.
const TRIM: [&str; 9] = [
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/zoneinfo",
    "usr/lib/udev/hwdb.bin",
    "usr/lib/python3.11",
    "var/cache/apt",
    "var/lib/apt/lists",
];

/// Changes whenever what is built changes, so an old cache is rebuilt.
fn recipe() -> String {
    format!(
        "dom0 recipe 1: bookworm minbase +{PACKAGES}; {XEN_PACKAGE}; modules {}",
        MODULE_DIRS.join(",")
    )
}

/// The files QEMU boots.
pub struct Dom0 {
    /// The hypervisor, uncompressed (QEMU loads it as a multiboot kernel).
    pub xen: PathBuf,
    /// dom0's kernel.
    pub vmlinuz: PathBuf,
    /// dom0's root, a newc cpio.
    pub root_cpio: PathBuf,
    /// The recipe line and the package versions.
    pub versions: String,
    /// Taken from the cache rather than built.
    pub cached: bool,
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(format!(
            "{cmd:?} failed ({}):\n{}",
            out.status,
            tail.join("\n")
        ))
    }
}

/// The Debian mirror apt uses for bookworm's main component.
pub fn mirror() -> Result<String, String> {
    let policy = run(Command::new("apt-cache").arg("policy"))?;
    policy
        .lines()
        .filter(|l| l.contains(" bookworm/main amd64 Packages"))
        .filter_map(|l| l.split_whitespace().nth(1))
        .find(|url| url.starts_with("http"))
        .map(str::to_string)
        .ok_or_else(|| "apt knows no bookworm main mirror (apt-cache policy); run `apt-get update` on a Debian bookworm host".into())
}

/// The 6.1 kernel package `linux-image-amd64` depends on.
fn kernel_package() -> Result<String, String> {
    let depends = run(Command::new("apt-cache").args(["depends", "linux-image-amd64"]))?;
    depends
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| p.starts_with("linux-image-6.1."))
        .map(str::to_string)
        .ok_or_else(|| format!("linux-image-amd64 depends on no linux-image-6.1.*: {depends}"))
}

fn only_entry(dir: &Path, suffix: &str) -> Result<PathBuf, String> {
    std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .ok_or_else(|| format!("no *{suffix} in {}", dir.display()))
}

/// Whether `dir` holds a dom0 built from today's recipe (then [`prepare`]
/// builds nothing: no root, debootstrap or apt needed).
pub fn cached(dir: &Path) -> bool {
    cached_versions(dir).is_some()
}

/// The cached dom0's `versions.txt`, if its files are there and it was
/// built from today's recipe.
fn cached_versions(dir: &Path) -> Option<String> {
    let built = ["xen", "vmlinuz", "root.cpio"]
        .iter()
        .all(|file| dir.join(file).is_file());
    let versions = std::fs::read_to_string(dir.join("versions.txt")).ok()?;
    (built && versions.lines().next() == Some(recipe().as_str())).then_some(versions)
}

/// The cached dom0, or a new one built into `dir`.
pub fn prepare(dir: &Path, rebuild: bool) -> Result<Dom0, String> {
    let files = Dom0 {
        xen: dir.join("xen"),
        vmlinuz: dir.join("vmlinuz"),
        root_cpio: dir.join("root.cpio"),
        versions: String::new(),
        cached: true,
    };
    if !rebuild && let Some(versions) = cached_versions(dir) {
        return Ok(Dom0 { versions, ..files });
    }
    let uid = run(Command::new("id").arg("-u"))?;
    if uid.trim() != "0" {
        return Err("building dom0's root needs root (debootstrap, chroot)".into());
    }
    let mirror = mirror()?;
    let kernel = kernel_package()?;
    let build = dir.join("build");
    let _ = std::fs::remove_dir_all(&build);
    let debs = build.join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    eprintln!("xtask: dom0: downloading {XEN_PACKAGE} and {kernel}");
    run(Command::new("apt-get")
        .args(["download", XEN_PACKAGE, &kernel])
        .current_dir(&debs))?;
    let unpacked = build.join("packages");
    for deb in std::fs::read_dir(&debs).map_err(|e| e.to_string())? {
        let deb = deb.map_err(|e| e.to_string())?.path();
        run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked))?;
    }
    let boot = unpacked.join("boot");
    let xen_gz = only_entry(&boot, ".gz")?;
    let zcat = Command::new("zcat")
        .arg(&xen_gz)
        .output()
        .map_err(|e| format!("zcat: {e}"))?;
    if !zcat.status.success() || zcat.stdout.is_empty() {
        return Err(format!(
            "zcat {} failed ({})",
            xen_gz.display(),
            zcat.status
        ));
    }
    let xen = zcat.stdout;
    let vmlinuz = std::fs::read_dir(&boot)
        .map_err(|e| format!("{}: {e}", boot.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .ok_or_else(|| format!("no vmlinuz-* in {}", boot.display()))?;
    let modules = only_entry(&unpacked.join("lib/modules"), "-amd64")?;
    let release = modules
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or("no module directory name")?;

    let root = build.join("root");
    eprintln!("xtask: dom0: debootstrap bookworm from {mirror} (about a minute)");
    let log = build.join("debootstrap.log");
    let log_file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let status = Command::new("debootstrap")
        .args([
            "--variant=minbase",
            &format!("--include={PACKAGES}"),
            "bookworm",
        ])
        .arg(&root)
        .arg(&mirror)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file)
        .status()
        .map_err(|e| format!("debootstrap: {e} (apt-get install debootstrap)"))?;
    if !status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "debootstrap failed ({status}):\n{}",
            tail.join("\n")
        ));
    }
    for path in TRIM {
        let path = root.join(path);
        let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
    }
    let target_modules = root.join("lib/modules").join(&release);
    std::fs::create_dir_all(&target_modules).map_err(|e| e.to_string())?;
    for file in [
        "modules.order",
        "modules.builtin",
        "modules.builtin.modinfo",
    ] {
        std::fs::copy(modules.join(file), target_modules.join(file))
            .map_err(|e| format!("{file}: {e}"))?;
    }
    for sub in MODULE_DIRS {
        run(Command::new("cp")
            .args(["-r", "--parents", sub])
            .arg(&target_modules)
            .current_dir(&modules))?;
    }
    run(Command::new("chroot").arg(&root).args(["depmod", &release]))?;

    let cpio_tmp = dir.join("root.cpio.tmp");
    run(Command::new("sh")
        .args([
            "-c",
            "cd \"$1\" && find . | cpio -o -H newc --quiet > \"$2\"",
            "sh",
        ])
        .arg(&root)
        .arg(&cpio_tmp))
    .map_err(|e| format!("{e} (apt-get install cpio)"))?;
    std::fs::write(&files.xen, xen).map_err(|e| format!("{}: {e}", files.xen.display()))?;
    std::fs::copy(&vmlinuz, &files.vmlinuz).map_err(|e| e.to_string())?;
    std::fs::rename(&cpio_tmp, &files.root_cpio).map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    for deb in std::fs::read_dir(&debs).map_err(|e| e.to_string())? {
        let deb = deb.map_err(|e| e.to_string())?;
        names.push(deb.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    let versions = format!(
        "{}\nmirror {mirror}\n{}\nkernel {release}\n",
        recipe(),
        names.join("\n")
    );
    std::fs::write(dir.join("versions.txt"), &versions).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&build);
    Ok(Dom0 {
        versions,
        cached: false,
        ..files
    })
}
