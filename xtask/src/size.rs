//! `cargo xtask size-report`: what an auditor must trust, measured.
//!
//! Writes `<target dir>/size-report/report.md`, `report.json` and
//! `report.svg` for the unikernel image, with the hosted `pinata` binary
//! beside it for contrast:
//!
//! - **Sizes**: the ELF, the ELF after `objcopy --strip-all`, that stripped
//!   ELF compressed with `xz -9e`, each allocated section, and the SHA-256
//!   of the ELF.
//! - **Bytes per crate**: every sized function and data symbol of the ELF,
//!   demangled and attributed to the crate named first in its path (for
//!   `<X as Trait>::f`, X's crate, or the trait's when X is a `core`/`alloc`
//!   /`std` or primitive type). LTO inlines across crates, so a crate's
//!   figure is the code that survived as its own functions. Bytes of a
//!   section that no sized symbol covers (merged string constants, padding,
//!   assembly labels without a size) go to `unattributed`.
//! - **Compiled trusted code base**: the source files rustc read for each
//!   crate of the image's build (its dep-info `.d` files, selected through
//!   cargo's build messages, so only the image's dependency graph counts),
//!   plus C/assembly files that build scripts compiled into static libraries
//!   (found through the `FILE` symbols of the objects in their `OUT_DIR`).
//!   Lines are counted by [`loc`] (rules there): blank lines and comments
//!   are excluded, `#[cfg(test)] mod … { … }` blocks are excluded (compiled
//!   only for tests) and listed apart, the string lines of `asm!` /
//!   `global_asm!` / `naked_asm!` count as assembly. `unsafe` is counted by
//!   token: blocks, functions, impls, traits, extern blocks, attributes.
//!   Proc-macro crates and build scripts run at build time, are not in the
//!   image and are listed by name only. Rust's `core`, `alloc` and
//!   `compiler_builtins` arrive precompiled with the toolchain (no dep-info):
//!   their bytes are in the per-crate table, their lines are not counted.
//! - **Comparison** with the original MirageOS piñata and with Linux + glibc
//!   + OpenSSL, as ratios, and the issue's size/TCB targets, met or missed.
//!
//! It fails only when it cannot produce the report (a build fails, the ELF
//! cannot be read); numbers never fail it. Missing `objcopy`/`xz` leave their
//! figures out, with a note.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::image;

/// Figures of the original piñata and of the traditional stack, as quoted in
/// `../shared/DESIGN.md` and issue 6 (from the MirageOS piñata's 2015
/// announcement and its 2018 retrospective).
pub mod reference {
    /// The original's Xen image, unpacked (2015).
    pub const MIRAGE_IMAGE_2015: u64 = 8_590_080;
    /// The original's Xen image, stripped (2018).
    pub const MIRAGE_STRIPPED_2018: u64 = 4_428_920;
    /// The original's trusted code base, lines.
    pub const MIRAGE_TCB_LINES: u64 = 102_000;
    /// ... of which C.
    pub const MIRAGE_TCB_C_LINES: u64 = 56_000;
    /// Linux + glibc + OpenSSL, lines.
    pub const LINUX_OPENSSL_LINES: u64 = 2_560_000;
    /// Where the figures come from.
    pub const CITATION: &str = "MirageOS Bitcoin Piñata (2015 announcement, 2018 retrospective), \
        as quoted in ../shared/DESIGN.md and issue 6";
}

/// The issue's targets for the figures this report measures.
pub mod targets {
    /// Stripped image ≤ 1.0 MB (SI, like the original's "4.4 MB").
    pub const STRIPPED_MAX: u64 = 1_000_000;
    /// Compiled TCB ≤ the original's 102 kloc.
    pub const TCB_MAX_LINES: u64 = 102_000;
    /// C ≤ 10 % of the TCB.
    pub const C_MAX_SHARE: f64 = 0.10;
}

const USAGE: &str = "usage: cargo xtask size-report [--no-hosted] [--out DIR]";

pub fn main(root: &Path, args: &[String]) -> Result<(), String> {
    let mut hosted = true;
    let mut out = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-hosted" => hosted = false,
            "--out" => out = Some(PathBuf::from(args.next().ok_or("--out needs a value")?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let out = out.unwrap_or_else(|| target_dir(root).join("size-report"));
    let report = generate(root, hosted, &out)?;
    print_summary(&report);
    Ok(())
}

/// The step `cargo xtask test` runs after the tests: the report as an
/// artefact. Numbers never fail it; only being unable to write it does.
pub fn ci(root: &Path) -> Result<(), String> {
    let out = target_dir(root).join("size-report");
    let report = generate(root, true, &out)?;
    print_summary(&report);
    Ok(())
}

/// cargo's target directory (`CARGO_TARGET_DIR` or `<root>/target`).
pub fn target_dir(root: &Path) -> PathBuf {
    image::target_dir(root)
}

/// The host triple (the hosted binary is built for it explicitly, so that
/// build-time crates land in another directory than the binary's).
fn host_triple() -> Result<String, String> {
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
fn build_hosted(root: &Path, triple: &str) -> Result<(PathBuf, String), String> {
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

fn messages(stdout: &str) -> impl Iterator<Item = Value> + '_ {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
}

// ---------------------------------------------------------------------------
// The report's data.

/// One analysed binary.
struct Binary {
    name: String,
    path: PathBuf,
    sizes: Sizes,
    sections: Vec<(String, u64, bool)>,
    crates: BTreeMap<String, CrateBytes>,
    tcb: Tcb,
}

#[derive(Default)]
struct Sizes {
    elf: u64,
    stripped: Option<u64>,
    xz: Option<u64>,
    sha256: String,
    notes: Vec<String>,
}

#[derive(Default, Clone, Copy)]
struct CrateBytes {
    code: u64,
    data: u64,
    bss: u64,
}

#[derive(Default)]
struct Tcb {
    crates: BTreeMap<String, CrateLoc>,
    build_time: BTreeSet<String>,
    other_files: Vec<String>,
}

#[derive(Default, Clone)]
struct CrateLoc {
    version: String,
    source: String,
    files: u64,
    counts: loc::Counts,
}

impl Tcb {
    fn total(&self) -> loc::Counts {
        let mut total = loc::Counts::default();
        for c in self.crates.values() {
            total.add(&c.counts);
        }
        total
    }
}

fn generate(root: &Path, hosted: bool, out: &Path) -> Result<Value, String> {
    let (image_path, image_messages) = image::build_image_messages(root)?;
    let image = analyse(
        "unikernel image",
        &image_path,
        &image_messages,
        &target_dir(root).join(image::TARGET),
        root,
    )?;
    let hosted = if hosted {
        let triple = host_triple()?;
        let (path, msgs) = build_hosted(root, &triple)?;
        Some(analyse(
            "hosted pinata binary",
            &path,
            &msgs,
            &target_dir(root).join(&triple),
            root,
        )?)
    } else {
        None
    };
    fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let json = to_json(&image, hosted.as_ref());
    let write = |name: &str, text: String| {
        let path = out.join(name);
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write(
        "report.json",
        serde_json::to_string_pretty(&json).expect("JSON") + "\n",
    )?;
    write("report.md", markdown(&image, hosted.as_ref()))?;
    write("report.svg", svg(&image))?;
    eprintln!(
        "xtask: size report written to {}/report.{{md,json,svg}}",
        out.display()
    );
    Ok(json)
}

fn analyse(
    name: &str,
    path: &Path,
    messages_text: &str,
    target_subdir: &Path,
    root: &Path,
) -> Result<Binary, String> {
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let units = units(messages_text, target_subdir);
    let crate_names: HashMap<String, String> = units
        .iter()
        .map(|u| (u.crate_name.clone(), u.package.clone()))
        .collect();
    let mut sizes = Sizes {
        elf: bytes.len() as u64,
        sha256: hex(&Sha256::digest(&bytes)),
        ..Sizes::default()
    };
    strip_and_compress(path, &mut sizes);
    let sections = file
        .sections()
        .filter(|s| s.size() > 0)
        .map(|s| {
            let alloc = s.address() != 0;
            (s.name().unwrap_or("?").to_string(), s.size(), alloc)
        })
        .collect();
    let crates = crate_bytes(&file, &crate_names);
    let tcb = tcb(&units, messages_text, root);
    Ok(Binary {
        name: name.to_string(),
        path: path.to_path_buf(),
        sizes,
        sections,
        crates,
        tcb,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn strip_and_compress(path: &Path, sizes: &mut Sizes) {
    let dir = std::env::temp_dir().join(format!("xtask-size-{}", std::process::id()));
    let _ = fs::create_dir_all(&dir);
    let stripped = dir.join("stripped");
    let ok = Command::new("objcopy")
        .arg("--strip-all")
        .arg(path)
        .arg(&stripped)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        sizes
            .notes
            .push("objcopy (binutils) not available: no stripped or xz size".into());
        let _ = fs::remove_dir_all(&dir);
        return;
    }
    sizes.stripped = fs::metadata(&stripped).ok().map(|m| m.len());
    match Command::new("xz")
        .args(["-9e", "-T1", "-c"])
        .arg(&stripped)
        .output()
    {
        Ok(out) if out.status.success() => sizes.xz = Some(out.stdout.len() as u64),
        _ => sizes
            .notes
            .push("xz (xz-utils) not available: no compressed size".into()),
    }
    let _ = fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// Bytes per crate, from the symbol table.

fn crate_bytes(
    file: &object::File,
    crate_names: &HashMap<String, String>,
) -> BTreeMap<String, CrateBytes> {
    let mut crates: BTreeMap<String, CrateBytes> = BTreeMap::new();
    // One owner per address: aliases (e.g. `memcpy` and
    // `compiler_builtins::mem::memcpy`) count once, preferring a Rust path.
    let mut by_address: BTreeMap<u64, (u64, String, SectionKind)> = BTreeMap::new();
    let mut covered: HashMap<object::SectionIndex, u64> = HashMap::new();
    for symbol in file.symbols() {
        if symbol.size() == 0 || !matches!(symbol.kind(), SymbolKind::Text | SymbolKind::Data) {
            continue;
        }
        let Some(index) = symbol.section_index() else {
            continue;
        };
        let Ok(section) = file.section_by_index(index) else {
            continue;
        };
        let owner = owner(symbol.name().unwrap_or(""), crate_names);
        let entry = by_address.get(&symbol.address());
        let replace = match entry {
            None => true,
            Some((_, old, _)) => old == UNATTRIBUTED && owner != UNATTRIBUTED,
        };
        if replace {
            if entry.is_none() {
                *covered.entry(index).or_default() += symbol.size();
            }
            by_address.insert(symbol.address(), (symbol.size(), owner, section.kind()));
        }
    }
    for (size, owner, kind) in by_address.into_values() {
        let entry = crates.entry(owner).or_default();
        match kind {
            SectionKind::Text => entry.code += size,
            SectionKind::UninitializedData => entry.bss += size,
            _ => entry.data += size,
        }
    }
    for section in file.sections() {
        if section.address() == 0 || section.size() == 0 {
            continue;
        }
        let rest = section
            .size()
            .saturating_sub(covered.get(&section.index()).copied().unwrap_or(0));
        if rest == 0 {
            continue;
        }
        let entry = crates.entry(UNATTRIBUTED.into()).or_default();
        match section.kind() {
            SectionKind::Text => entry.code += rest,
            SectionKind::UninitializedData => entry.bss += rest,
            _ => entry.data += rest,
        }
    }
    crates
}

const UNATTRIBUTED: &str = "unattributed";

/// The package a symbol belongs to (see the module docs).
fn owner(mangled: &str, crate_names: &HashMap<String, String>) -> String {
    let Ok(demangled) = rustc_demangle::try_demangle(mangled) else {
        // Plain C-ABI names: the compiler's runtime or assembly labels.
        if mangled.starts_with("mem")
            || mangled.starts_with("__")
            || matches!(mangled, "bcmp" | "strlen")
        {
            return "compiler_builtins".into();
        }
        return UNATTRIBUTED.into();
    };
    let text = format!("{demangled:#}");
    let krate = path_crate(&text);
    match krate {
        // Shims rustc generates (allocator entry points, panic glue).
        Some(k) if k == "__rustc" => "rustc shims".into(),
        Some(k) => crate_names.get(&k).cloned().unwrap_or(k),
        None => UNATTRIBUTED.into(),
    }
}

const TOOLCHAIN: [&str; 5] = ["core", "alloc", "std", "compiler_builtins", "panic_abort"];

/// The crate of a demangled path: `a::b::c` → `a`; `<X as Y>::f` → X's
/// crate unless X is a toolchain or primitive type, then Y's.
fn path_crate(text: &str) -> Option<String> {
    let Some(inner) = text.strip_prefix('<') else {
        return first_segment(text);
    };
    // Split `X as Y>` at depth 0.
    let mut depth = 0i32;
    let mut self_end = None;
    let mut trait_range = None;
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' | b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b'>' if depth == 0 => {
                if self_end.is_none() {
                    self_end = Some(i);
                } else if let Some((start, _)) = trait_range {
                    trait_range = Some((start, i));
                }
                break;
            }
            b'>' => depth -= 1,
            b' ' if depth == 0 && inner[i..].starts_with(" as ") && self_end.is_none() => {
                self_end = Some(i);
                trait_range = Some((i + 4, inner.len()));
                i += 3;
            }
            _ => {}
        }
        i += 1;
    }
    let self_ty = &inner[..self_end.unwrap_or(inner.len())];
    let self_crate = first_segment(strip_type_prefix(self_ty));
    let trait_crate = trait_range.and_then(|(s, e)| first_segment(&inner[s..e]));
    match (self_crate, trait_crate) {
        (Some(s), Some(t))
            if TOOLCHAIN.contains(&s.as_str()) && !TOOLCHAIN.contains(&t.as_str()) =>
        {
            Some(t)
        }
        (Some(s), _) => Some(s),
        (None, t) => t,
    }
}

fn strip_type_prefix(mut ty: &str) -> &str {
    loop {
        let before = ty;
        for prefix in ["&mut ", "&", "*const ", "*mut ", "dyn ", "[", "(", "impl "] {
            ty = ty.strip_prefix(prefix).unwrap_or(ty);
        }
        if ty == before {
            return ty;
        }
    }
}

/// `a::b` → `a`, when `a` is an identifier with a path after it.
fn first_segment(path: &str) -> Option<String> {
    let end = path.find("::")?;
    let segment = &path[..end];
    (!segment.is_empty() && segment.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .then(|| segment.to_string())
}

// ---------------------------------------------------------------------------
// The compiled trusted code base.

/// One compiled unit of the build.
struct Unit {
    package: String,
    version: String,
    source: String,
    crate_name: String,
    dep_info: Option<PathBuf>,
    build_time: bool,
}

/// The units of the build from cargo's messages: those compiled into the
/// binary (under `target_subdir`), and build-time ones (proc macros, build
/// scripts, their dependencies) flagged.
fn units(messages_text: &str, target_subdir: &Path) -> Vec<Unit> {
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
fn package_id(id: &str) -> (String, String, String) {
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

/// The source files listed in a rustc dep-info file.
fn dep_info_files(d: &Path) -> Vec<PathBuf> {
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
                files.insert(PathBuf::from(path));
            }
        }
    }
    files.into_iter().filter(|p| p.is_file()).collect()
}

fn tcb(units: &[Unit], messages_text: &str, root: &Path) -> Tcb {
    let mut tcb = Tcb::default();
    let mut seen = BTreeSet::new();
    for unit in units {
        if unit.build_time {
            tcb.build_time.insert(unit.package.clone());
            continue;
        }
        let Some(d) = &unit.dep_info else {
            continue;
        };
        let entry = tcb
            .crates
            .entry(unit.package.clone())
            .or_insert_with(|| CrateLoc {
                version: unit.version.clone(),
                source: unit.source.clone(),
                ..CrateLoc::default()
            });
        for file in dep_info_files(d) {
            if !seen.insert(file.clone()) {
                continue;
            }
            let Some(kind) = loc::Lang::of(&file) else {
                let shown = file.strip_prefix(root).unwrap_or(&file);
                tcb.other_files.push(shown.display().to_string());
                continue;
            };
            let Ok(text) = fs::read(&file) else {
                continue;
            };
            entry.files += 1;
            entry
                .counts
                .add(&loc::count(kind, &String::from_utf8_lossy(&text)));
        }
    }
    // C and assembly that build scripts compiled into static libraries
    // linked into the binary.
    for m in messages(messages_text) {
        if m["reason"] != "build-script-executed" {
            continue;
        }
        let static_libs = m["linked_libs"].as_array().is_some_and(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .any(|l| !l.contains("dylib"))
        });
        let Some(out_dir) = m["out_dir"].as_str() else {
            continue;
        };
        if !static_libs {
            continue;
        }
        let (package, version, source) = package_id(m["package_id"].as_str().unwrap_or(""));
        if !units.iter().any(|u| u.package == package && !u.build_time) {
            continue;
        }
        let manifest_dir = units
            .iter()
            .find(|u| u.package == package)
            .and_then(|u| u.dep_info.as_ref())
            .and_then(|d| dep_info_files(d).into_iter().next())
            .and_then(|f| package_root(&f));
        for source_file in build_script_sources(Path::new(out_dir), manifest_dir.as_deref()) {
            if !seen.insert(source_file.clone()) {
                continue;
            }
            let Some(kind) = loc::Lang::of(&source_file) else {
                continue;
            };
            let Ok(text) = fs::read(&source_file) else {
                continue;
            };
            let entry = tcb
                .crates
                .entry(package.clone())
                .or_insert_with(|| CrateLoc {
                    version: version.clone(),
                    source: source.clone(),
                    ..CrateLoc::default()
                });
            entry.files += 1;
            entry
                .counts
                .add(&loc::count(kind, &String::from_utf8_lossy(&text)));
        }
    }
    // A package built only at build time is not "build-time only" if it is
    // also in the binary.
    let in_binary: BTreeSet<String> = tcb.crates.keys().cloned().collect();
    tcb.build_time.retain(|p| !in_binary.contains(p));
    tcb
}

/// The directory holding `Cargo.toml` above a source file.
fn package_root(file: &Path) -> Option<PathBuf> {
    file.ancestors()
        .skip(1)
        .find(|d| d.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

/// Sources of the objects a build script left in `out_dir`, from each
/// object's `FILE` symbols, looked up under the package (then `out_dir`).
fn build_script_sources(out_dir: &Path, package: Option<&Path>) -> Vec<PathBuf> {
    let mut objects = Vec::new();
    let mut stack = vec![out_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "o") {
                objects.push(p);
            }
        }
    }
    let mut names = BTreeSet::new();
    for o in objects {
        let Ok(bytes) = fs::read(&o) else { continue };
        let Ok(file) = object::File::parse(&*bytes) else {
            continue;
        };
        for s in file.symbols() {
            if s.kind() == SymbolKind::File
                && let Ok(name) = s.name()
            {
                names.insert(name.to_string());
            }
        }
    }
    let mut index: HashMap<String, Vec<PathBuf>> = HashMap::new();
    for base in package.into_iter().chain([out_dir]) {
        let mut stack = vec![base.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Some(n) = p.file_name().and_then(|n| n.to_str()) {
                    index.entry(n.to_string()).or_default().push(p);
                }
            }
        }
    }
    names
        .iter()
        .filter_map(|n| {
            let path = Path::new(n);
            if path.is_absolute() && path.is_file() {
                return Some(path.to_path_buf());
            }
            let base = path.file_name()?.to_str()?;
            let candidates = index.get(base)?;
            candidates
                .iter()
                .find(|c| c.ends_with(path))
                .or_else(|| candidates.first())
                .cloned()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Output.

fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio(ours: u64, theirs: u64) -> f64 {
    ours as f64 / theirs as f64
}

/// One target: (name, measured text, target text, met, margin text).
struct Verdict {
    name: &'static str,
    measured: String,
    target: String,
    met: Option<bool>,
    margin: String,
}

fn verdicts(image: &Binary) -> Vec<Verdict> {
    let mut v = Vec::new();
    match image.sizes.stripped {
        Some(s) => {
            let met = s <= targets::STRIPPED_MAX;
            let diff = s.abs_diff(targets::STRIPPED_MAX);
            v.push(Verdict {
                name: "stripped image",
                measured: format!("{} bytes", thousands(s)),
                target: format!("≤ {} bytes (1.0 MB)", thousands(targets::STRIPPED_MAX)),
                met: Some(met),
                margin: format!(
                    "{} by {} bytes ({:.1} %)",
                    if met { "under" } else { "over" },
                    thousands(diff),
                    100.0 * diff as f64 / targets::STRIPPED_MAX as f64
                ),
            });
        }
        None => v.push(Verdict {
            name: "stripped image",
            measured: "n/a (no objcopy)".into(),
            target: "≤ 1.0 MB".into(),
            met: None,
            margin: String::new(),
        }),
    }
    let total = image.tcb.total();
    let lines = total.code();
    let met = lines <= targets::TCB_MAX_LINES;
    let diff = lines.abs_diff(targets::TCB_MAX_LINES);
    v.push(Verdict {
        name: "compiled TCB",
        measured: format!("{} lines", thousands(lines)),
        target: "≤ 102,000 lines (the original's)".into(),
        met: Some(met),
        margin: format!(
            "{} by {} lines ({:.1} %)",
            if met { "under" } else { "over" },
            thousands(diff),
            100.0 * diff as f64 / targets::TCB_MAX_LINES as f64
        ),
    });
    let share = if lines == 0 {
        0.0
    } else {
        total.c as f64 / lines as f64
    };
    v.push(Verdict {
        name: "C share of the TCB",
        measured: format!("{:.2} % ({} lines)", share * 100.0, thousands(total.c)),
        target: "≤ 10 %".into(),
        met: Some(share <= targets::C_MAX_SHARE),
        margin: format!(
            "{:.2} percentage points {}",
            (share - targets::C_MAX_SHARE).abs() * 100.0,
            if share <= targets::C_MAX_SHARE {
                "under"
            } else {
                "over"
            }
        ),
    });
    v
}

fn met_text(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "n/a",
    }
}

fn markdown(image: &Binary, hosted: Option<&Binary>) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Piñata size and TCB report\n");
    let _ = writeln!(
        w,
        "Generated by `cargo xtask size-report` (rules: `xtask/src/size.rs`). Image: `{}`.\n",
        image.path.display()
    );
    let _ = writeln!(w, "## Targets (issue 6)\n");
    let _ = writeln!(w, "| figure | measured | target | verdict | margin |");
    let _ = writeln!(w, "|---|---|---|---|---|");
    for v in verdicts(image) {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            v.name,
            v.measured,
            v.target,
            met_text(v.met),
            v.margin
        );
    }
    let _ = writeln!(
        w,
        "\nBoot time, handshake rate and memory targets are measured by `cargo xtask bench` (docs/PERFORMANCE.md).\n"
    );

    let total = image.tcb.total();
    let _ = writeln!(w, "## Against the original and a traditional stack\n");
    let _ = writeln!(
        w,
        "| | piñata (this build) | MirageOS piñata | ratio | Linux + glibc + OpenSSL | ratio |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        w,
        "| image, unstripped | {} B | {} B (2015) | {:.3} | | |",
        thousands(image.sizes.elf),
        thousands(reference::MIRAGE_IMAGE_2015),
        ratio(image.sizes.elf, reference::MIRAGE_IMAGE_2015)
    );
    if let Some(s) = image.sizes.stripped {
        let _ = writeln!(
            w,
            "| image, stripped | {} B | {} B (2018) | {:.3} | | |",
            thousands(s),
            thousands(reference::MIRAGE_STRIPPED_2018),
            ratio(s, reference::MIRAGE_STRIPPED_2018)
        );
    }
    let _ = writeln!(
        w,
        "| trusted code base | {} lines | {} lines | {:.3} | {} lines | {:.4} |",
        thousands(total.code()),
        thousands(reference::MIRAGE_TCB_LINES),
        ratio(total.code(), reference::MIRAGE_TCB_LINES),
        thousands(reference::LINUX_OPENSSL_LINES),
        ratio(total.code(), reference::LINUX_OPENSSL_LINES)
    );
    let _ = writeln!(
        w,
        "| … of which C | {} lines | {} lines | {:.3} | | |",
        thousands(total.c),
        thousands(reference::MIRAGE_TCB_C_LINES),
        ratio(total.c, reference::MIRAGE_TCB_C_LINES)
    );
    let _ = writeln!(w, "\nReference figures: {}.\n", reference::CITATION);
    let _ = writeln!(
        w,
        "Not counted in this build's lines: Rust's `core`, `alloc` and `compiler_builtins` (precompiled with the \
         toolchain; their bytes are in the per-crate table) — the original's 102 kloc included its runtime \
         (OCaml runtime, libc subset, Mini-OS/Solo5).\n"
    );

    for bin in std::iter::once(image).chain(hosted) {
        binary_markdown(w, bin);
    }
    if let Some(h) = hosted {
        let _ = writeln!(w, "## Image vs hosted binary\n");
        let ht = h.tcb.total();
        let _ = writeln!(w, "| | image | hosted `pinata` |");
        let _ = writeln!(w, "|---|---:|---:|");
        let _ = writeln!(
            w,
            "| ELF | {} B | {} B |",
            thousands(image.sizes.elf),
            thousands(h.sizes.elf)
        );
        if let (Some(a), Some(b)) = (image.sizes.stripped, h.sizes.stripped) {
            let _ = writeln!(w, "| stripped | {} B | {} B |", thousands(a), thousands(b));
        }
        let _ = writeln!(
            w,
            "| compiled lines (Rust/C/asm) | {} | {} |",
            thousands(total.code()),
            thousands(ht.code())
        );
        let _ = writeln!(
            w,
            "| crates compiled in | {} | {} |",
            image.tcb.crates.len(),
            h.tcb.crates.len()
        );
        let _ = writeln!(
            w,
            "| `unsafe` (blocks + fns + impls + …) | {} | {} |",
            total.unsafe_total(),
            ht.unsafe_total()
        );
        let _ = writeln!(
            w,
            "\nThe hosted binary also trusts, uncounted here: Rust's `std` (precompiled), glibc (dynamically linked) \
             and the Linux kernel under it.\n"
        );
    }
    let _ = writeln!(w, "## How lines are counted\n");
    let _ = writeln!(w, "{}", loc::RULES);
    md
}

fn binary_markdown(w: &mut String, bin: &Binary) {
    let _ = writeln!(w, "## {}\n", bin.name);
    let _ = writeln!(w, "`{}`\n", bin.path.display());
    let _ = writeln!(w, "| | bytes |");
    let _ = writeln!(w, "|---|---:|");
    let _ = writeln!(w, "| ELF | {} |", thousands(bin.sizes.elf));
    if let Some(s) = bin.sizes.stripped {
        let _ = writeln!(w, "| stripped (`objcopy --strip-all`) | {} |", thousands(s));
    }
    if let Some(x) = bin.sizes.xz {
        let _ = writeln!(w, "| stripped, `xz -9e` | {} |", thousands(x));
    }
    let _ = writeln!(w, "\nSHA-256 of the ELF: `{}`\n", bin.sizes.sha256);
    for note in &bin.sizes.notes {
        let _ = writeln!(w, "Note: {note}\n");
    }
    let _ = writeln!(w, "### Sections\n");
    let _ = writeln!(w, "| section | bytes | loaded |");
    let _ = writeln!(w, "|---|---:|---|");
    for (name, size, alloc) in &bin.sections {
        let _ = writeln!(
            w,
            "| `{name}` | {} | {} |",
            thousands(*size),
            if *alloc { "yes" } else { "no" }
        );
    }
    let _ = writeln!(w, "\n### Bytes per crate (symbol table)\n");
    let _ = writeln!(w, "| crate | code | data | bss |");
    let _ = writeln!(w, "|---|---:|---:|---:|");
    let mut crates: Vec<_> = bin.crates.iter().collect();
    crates.sort_by_key(|(_, b)| std::cmp::Reverse(b.code + b.data));
    let mut sum = CrateBytes::default();
    for (name, b) in crates {
        sum.code += b.code;
        sum.data += b.data;
        sum.bss += b.bss;
        let _ = writeln!(
            w,
            "| {name} | {} | {} | {} |",
            thousands(b.code),
            thousands(b.data),
            thousands(b.bss)
        );
    }
    let _ = writeln!(
        w,
        "| **total** | **{}** | **{}** | **{}** |",
        thousands(sum.code),
        thousands(sum.data),
        thousands(sum.bss)
    );
    let total = bin.tcb.total();
    let _ = writeln!(w, "\n### Compiled code: lines per crate\n");
    let _ = writeln!(
        w,
        "Total: **{}** lines ({} Rust, {} C, {} assembly) in {} crates; `unsafe`: {} blocks, {} fns, {} impls, \
         {} traits, {} extern blocks, {} attributes. Excluded `#[cfg(test)]` module lines: {}.\n",
        thousands(total.code()),
        thousands(total.rust),
        thousands(total.c),
        thousands(total.asm),
        bin.tcb.crates.len(),
        total.unsafe_blocks,
        total.unsafe_fns,
        total.unsafe_impls,
        total.unsafe_traits,
        total.unsafe_externs,
        total.unsafe_attrs,
        thousands(total.test_lines)
    );
    let _ = writeln!(
        w,
        "| crate | version | source | files | Rust | C | asm | total | unsafe blocks | unsafe fns | unsafe impls | other unsafe |"
    );
    let _ = writeln!(
        w,
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut crates: Vec<_> = bin.tcb.crates.iter().collect();
    crates.sort_by_key(|(_, c)| std::cmp::Reverse(c.counts.code()));
    for (name, c) in crates {
        let n = &c.counts;
        let _ = writeln!(
            w,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.version,
            c.source,
            c.files,
            thousands(n.rust),
            thousands(n.c),
            thousands(n.asm),
            thousands(n.code()),
            n.unsafe_blocks,
            n.unsafe_fns,
            n.unsafe_impls,
            n.unsafe_traits + n.unsafe_externs + n.unsafe_attrs
        );
    }
    if !bin.tcb.build_time.is_empty() {
        let _ = writeln!(
            w,
            "\nBuild-time only (proc macros, build scripts and their dependencies; not in the binary): {}.",
            bin.tcb
                .build_time
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !bin.tcb.other_files.is_empty() {
        let _ = writeln!(
            w,
            "\nOther files the compiler read (documentation, data; not counted): {}.",
            bin.tcb.other_files.len()
        );
    }
    let _ = writeln!(w);
}

fn binary_json(bin: &Binary) -> Value {
    let total = bin.tcb.total();
    json!({
        "name": bin.name,
        "path": bin.path.display().to_string(),
        "elf_bytes": bin.sizes.elf,
        "stripped_bytes": bin.sizes.stripped,
        "xz_bytes": bin.sizes.xz,
        "sha256": bin.sizes.sha256,
        "notes": bin.sizes.notes,
        "sections": bin.sections.iter().map(|(n, s, a)| json!({"name": n, "bytes": s, "loaded": a})).collect::<Vec<_>>(),
        "crate_bytes": bin.crates.iter().map(|(n, b)| (n.clone(), json!({"code": b.code, "data": b.data, "bss": b.bss}))).collect::<serde_json::Map<_, _>>(),
        "tcb": {
            "lines": total.code(),
            "rust": total.rust,
            "c": total.c,
            "asm": total.asm,
            "test_lines_excluded": total.test_lines,
            "unsafe": total.unsafe_json(),
            "crates": bin.tcb.crates.iter().map(|(n, c)| (n.clone(), json!({
                "version": c.version,
                "source": c.source,
                "files": c.files,
                "rust": c.counts.rust,
                "c": c.counts.c,
                "asm": c.counts.asm,
                "lines": c.counts.code(),
                "unsafe": c.counts.unsafe_json(),
            }))).collect::<serde_json::Map<_, _>>(),
            "build_time_only": bin.tcb.build_time,
            "other_files": bin.tcb.other_files,
        },
    })
}

fn to_json(image: &Binary, hosted: Option<&Binary>) -> Value {
    let total = image.tcb.total();
    json!({
        "image": binary_json(image),
        "hosted": hosted.map(binary_json),
        "reference": {
            "citation": reference::CITATION,
            "mirage_image_2015_bytes": reference::MIRAGE_IMAGE_2015,
            "mirage_stripped_2018_bytes": reference::MIRAGE_STRIPPED_2018,
            "mirage_tcb_lines": reference::MIRAGE_TCB_LINES,
            "mirage_tcb_c_lines": reference::MIRAGE_TCB_C_LINES,
            "linux_glibc_openssl_lines": reference::LINUX_OPENSSL_LINES,
        },
        "ratios": {
            "elf_vs_mirage_2015": ratio(image.sizes.elf, reference::MIRAGE_IMAGE_2015),
            "stripped_vs_mirage_2018": image.sizes.stripped.map(|s| ratio(s, reference::MIRAGE_STRIPPED_2018)),
            "tcb_vs_mirage": ratio(total.code(), reference::MIRAGE_TCB_LINES),
            "c_vs_mirage_c": ratio(total.c, reference::MIRAGE_TCB_C_LINES),
            "tcb_vs_linux_glibc_openssl": ratio(total.code(), reference::LINUX_OPENSSL_LINES),
        },
        "targets": verdicts(image).iter().map(|v| json!({
            "name": v.name, "measured": v.measured, "target": v.target,
            "met": v.met, "margin": v.margin,
        })).collect::<Vec<_>>(),
    })
}

fn print_summary(report: &Value) {
    let image = &report["image"];
    println!(
        "size-report: image {} B, stripped {} B, xz {} B, sha256 {}",
        image["elf_bytes"], image["stripped_bytes"], image["xz_bytes"], image["sha256"]
    );
    let tcb = &image["tcb"];
    println!(
        "size-report: compiled TCB {} lines (Rust {}, C {}, asm {}), unsafe: {}",
        tcb["lines"], tcb["rust"], tcb["c"], tcb["asm"], tcb["unsafe"]
    );
    for t in report["targets"].as_array().into_iter().flatten() {
        let verdict = match t["met"].as_bool() {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "n/a",
        };
        println!(
            "size-report: target {}: {} (target {}): {} {}",
            t["name"].as_str().unwrap_or(""),
            t["measured"].as_str().unwrap_or(""),
            t["target"].as_str().unwrap_or(""),
            verdict,
            t["margin"].as_str().unwrap_or("")
        );
    }
}

/// A bar chart: image sizes and trusted code base against the original and
/// Linux + OpenSSL, on linear scales per panel, labelled with the numbers.
fn svg(image: &Binary) -> String {
    let total = image.tcb.total();
    let mut s = String::new();
    let width = 880.0;
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="560" viewBox="0 0 {width} 560" font-family="sans-serif" font-size="13">"##
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="20" y="28" font-size="18" font-weight="bold">Piñata: what an auditor must trust</text>"##
    );
    // Panel 1: image sizes (bytes).
    let mut bars: Vec<(String, u64, &str)> = vec![
        (
            "MirageOS piñata image (2015)".into(),
            reference::MIRAGE_IMAGE_2015,
            "#b0b0b0",
        ),
        (
            "MirageOS piñata, stripped (2018)".into(),
            reference::MIRAGE_STRIPPED_2018,
            "#b0b0b0",
        ),
        ("this image (ELF)".into(), image.sizes.elf, "#2b7bb9"),
    ];
    if let Some(st) = image.sizes.stripped {
        bars.push(("this image, stripped".into(), st, "#2b7bb9"));
    }
    if let Some(x) = image.sizes.xz {
        bars.push(("this image, stripped + xz".into(), x, "#6fa8dc"));
    }
    let _ = writeln!(
        s,
        r##"<text x="20" y="60" font-size="15" font-weight="bold">Image size (MB, 1 MB = 10^6 bytes); target: stripped ≤ 1.0 MB</text>"##
    );
    let max = bars.iter().map(|b| b.1).max().unwrap_or(1) as f64;
    let (label_w, bar_w, top) = (250.0, 480.0, 72.0);
    for (i, (label, value, colour)) in bars.iter().enumerate() {
        let y = top + i as f64 * 26.0;
        let len = (*value as f64 / max * bar_w).max(1.0);
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{}" y="{}" width="{len:.1}" height="18" fill="{colour}"/><text x="{}" y="{}">{:.2} MB</text>"##,
            20.0 + label_w - 8.0,
            y + 14.0,
            label,
            20.0 + label_w,
            y,
            20.0 + label_w + len + 6.0,
            y + 14.0,
            *value as f64 / 1e6
        );
    }
    // The 1.0 MB target line.
    let x = 20.0 + label_w + 1e6 / max * bar_w;
    let _ = writeln!(
        s,
        r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="#d62728" stroke-dasharray="4 3"/>"##,
        top - 4.0,
        top + bars.len() as f64 * 26.0
    );
    // Panel 2: TCB (kloc), stacked Rust / C / asm.
    let top2 = top + bars.len() as f64 * 26.0 + 50.0;
    let _ = writeln!(
        s,
        r##"<text x="20" y="{}" font-size="15" font-weight="bold">Trusted code base (thousands of lines); target ≤ 102 kloc, C ≤ 10 %</text>"##,
        top2 - 12.0
    );
    let rows: Vec<(&str, Vec<(u64, &str)>)> = vec![
        (
            "Linux + glibc + OpenSSL",
            vec![(reference::LINUX_OPENSSL_LINES, "#b0b0b0")],
        ),
        (
            "MirageOS piñata",
            vec![
                (
                    reference::MIRAGE_TCB_LINES - reference::MIRAGE_TCB_C_LINES,
                    "#2b7bb9",
                ),
                (reference::MIRAGE_TCB_C_LINES, "#e69138"),
            ],
        ),
        (
            "this image",
            vec![
                (total.rust, "#2b7bb9"),
                (total.c, "#e69138"),
                (total.asm, "#6aa84f"),
            ],
        ),
    ];
    let max = reference::LINUX_OPENSSL_LINES as f64;
    for (i, (label, parts)) in rows.iter().enumerate() {
        let y = top2 + i as f64 * 30.0;
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end">{}</text>"##,
            20.0 + label_w - 8.0,
            y + 15.0,
            label
        );
        let mut x = 20.0 + label_w;
        let mut sum = 0;
        for (value, colour) in parts {
            let len = *value as f64 / max * bar_w;
            let _ = writeln!(
                s,
                r##"<rect x="{x:.1}" y="{y}" width="{:.1}" height="20" fill="{colour}"/>"##,
                len.max(if *value > 0 { 1.0 } else { 0.0 })
            );
            x += len;
            sum += value;
        }
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{}">{:.1} kloc</text>"##,
            x.max(20.0 + label_w + 1.0) + 6.0,
            y + 15.0,
            sum as f64 / 1000.0
        );
    }
    // The 102 kloc target line.
    let x = 20.0 + label_w + targets::TCB_MAX_LINES as f64 / max * bar_w;
    let _ = writeln!(
        s,
        r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="#d62728" stroke-dasharray="4 3"/>"##,
        top2 - 4.0,
        top2 + rows.len() as f64 * 30.0
    );
    let legend_y = top2 + rows.len() as f64 * 30.0 + 10.0;
    let mut x = 20.0 + label_w;
    for (name, colour) in [
        ("Rust / OCaml", "#2b7bb9"),
        ("C", "#e69138"),
        ("assembly", "#6aa84f"),
        ("reference", "#b0b0b0"),
        ("target", "#d62728"),
    ] {
        let _ = writeln!(
            s,
            r##"<rect x="{x}" y="{legend_y}" width="12" height="12" fill="{colour}"/><text x="{}" y="{}">{name}</text>"##,
            x + 16.0,
            legend_y + 11.0
        );
        // Approximate text width at 13 px plus the swatch and a gap.
        x += 16.0 + 7.5 * name.chars().count() as f64 + 24.0;
    }
    // Panel 3: the ten biggest crates of the image (code + data bytes).
    let top3 = legend_y + 50.0;
    let _ = writeln!(
        s,
        r##"<text x="20" y="{}" font-size="15" font-weight="bold">Largest contributors to the image (KB of code + data)</text>"##,
        top3 - 12.0
    );
    let mut crates: Vec<_> = image.crates.iter().collect();
    crates.sort_by_key(|(_, b)| std::cmp::Reverse(b.code + b.data));
    let max = crates.first().map(|(_, b)| b.code + b.data).unwrap_or(1) as f64;
    let shown = crates.len().min(8);
    for (i, (name, b)) in crates.iter().take(shown).enumerate() {
        let y = top3 + i as f64 * 20.0;
        let len = ((b.code + b.data) as f64 / max * bar_w).max(1.0);
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{}" y="{y}" width="{len:.1}" height="15" fill="#2b7bb9"/><text x="{}" y="{}">{}</text>"##,
            20.0 + label_w - 8.0,
            y + 12.0,
            name,
            20.0 + label_w,
            20.0 + label_w + len + 6.0,
            y + 12.0,
            kb(b.code + b.data)
        );
    }
    let end = top3 + shown as f64 * 20.0 + 20.0;
    let _ = writeln!(s, "</svg>");
    // Fit the height to the content.
    s.replacen(
        r#"height="560" viewBox="0 0 880 560""#,
        &format!(r#"height="{end:.0}" viewBox="0 0 880 {end:.0}""#),
        1,
    )
}

// ---------------------------------------------------------------------------

/// A comment-aware line counter for Rust, C and assembly.
pub mod loc {
    use std::path::Path;

    /// The rules, as printed in the report.
    pub const RULES: &str = "\
- A line counts when, outside comments, it holds anything but whitespace. Blank lines and lines holding only \
comments (Rust `//`, `///`, `//!`, nested `/* */`; C `//`, `/* */`; assembly `#`/`;`/`//`/`/* */`) do not.
- Rust string and character literals are code (their contents never start a comment); a lifetime is not a \
character literal.
- Rust `#[cfg(test)] mod name { … }` blocks are compiled only for tests: their lines are excluded (and counted \
apart).
- A Rust line holding part of a string literal inside `asm!`, `global_asm!` or `naked_asm!` counts as \
assembly; `.s`/`.S`/`.asm` files are assembly; `.c`/`.h` files are C; other files rustc read \
(`include_str!` of documentation, data) are listed but not counted.
- `unsafe` is counted as a token outside comments, strings and test modules: followed by `{` a block, by `fn` \
(also after `extern \"…\"`) a function, by `impl` an impl, by `trait` a trait, by `extern {` an extern block, \
by `(` an attribute (`#[unsafe(no_mangle)]`).
- Files are the ones in rustc's dep-info for each crate of the binary's build (each file once), plus the \
sources of objects build scripts compiled into static libraries.";

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Lang {
        Rust,
        C,
        Asm,
    }

    impl Lang {
        pub fn of(path: &Path) -> Option<Lang> {
            match path.extension()?.to_str()? {
                "rs" => Some(Lang::Rust),
                "c" | "h" | "cc" | "cpp" | "inc" => Some(Lang::C),
                "s" | "S" | "asm" => Some(Lang::Asm),
                _ => None,
            }
        }
    }

    #[derive(Debug, Default, Clone, PartialEq, Eq)]
    pub struct Counts {
        pub rust: u64,
        pub c: u64,
        pub asm: u64,
        pub test_lines: u64,
        pub unsafe_blocks: u64,
        pub unsafe_fns: u64,
        pub unsafe_impls: u64,
        pub unsafe_traits: u64,
        pub unsafe_externs: u64,
        pub unsafe_attrs: u64,
    }

    impl Counts {
        pub fn code(&self) -> u64 {
            self.rust + self.c + self.asm
        }
        pub fn unsafe_total(&self) -> u64 {
            self.unsafe_blocks
                + self.unsafe_fns
                + self.unsafe_impls
                + self.unsafe_traits
                + self.unsafe_externs
                + self.unsafe_attrs
        }
        pub fn add(&mut self, o: &Counts) {
            self.rust += o.rust;
            self.c += o.c;
            self.asm += o.asm;
            self.test_lines += o.test_lines;
            self.unsafe_blocks += o.unsafe_blocks;
            self.unsafe_fns += o.unsafe_fns;
            self.unsafe_impls += o.unsafe_impls;
            self.unsafe_traits += o.unsafe_traits;
            self.unsafe_externs += o.unsafe_externs;
            self.unsafe_attrs += o.unsafe_attrs;
        }
        pub fn unsafe_json(&self) -> serde_json::Value {
            serde_json::json!({
                "blocks": self.unsafe_blocks,
                "fns": self.unsafe_fns,
                "impls": self.unsafe_impls,
                "traits": self.unsafe_traits,
                "extern_blocks": self.unsafe_externs,
                "attributes": self.unsafe_attrs,
                "total": self.unsafe_total(),
            })
        }
    }

    pub fn count(lang: Lang, text: &str) -> Counts {
        match lang {
            Lang::Rust => rust(text),
            Lang::C => Counts {
                c: c_like(text, false),
                ..Counts::default()
            },
            Lang::Asm => Counts {
                asm: c_like(text, true),
                ..Counts::default()
            },
        }
    }

    /// C (and assembly with `asm`): `//` and `/* */` comments, strings,
    /// character literals; in assembly also `#` and `;` line comments (a
    /// `#` followed by a letter at the start of a line is a preprocessor
    /// directive in `.S` files and counts).
    fn c_like(text: &str, asm: bool) -> u64 {
        let mut lines = 0;
        let mut in_comment = false;
        for line in text.lines() {
            let b = line.as_bytes();
            let mut code = false;
            let mut i = 0;
            while i < b.len() {
                if in_comment {
                    if b[i..].starts_with(b"*/") {
                        in_comment = false;
                        i += 2;
                    } else {
                        i += 1;
                    }
                    continue;
                }
                match b[i] {
                    b'/' if b.get(i + 1) == Some(&b'*') => {
                        in_comment = true;
                        i += 2;
                    }
                    b'/' if b.get(i + 1) == Some(&b'/') => break,
                    b';' if asm => break,
                    b'#' if asm && !(code || b.get(i + 1).is_some_and(u8::is_ascii_alphabetic)) => {
                        break;
                    }
                    b'"' | b'\'' => {
                        code = true;
                        let quote = b[i];
                        i += 1;
                        while i < b.len() && b[i] != quote {
                            if b[i] == b'\\' {
                                i += 1;
                            }
                            i += 1;
                        }
                        i += 1;
                    }
                    c if c.is_ascii_whitespace() => i += 1,
                    _ => {
                        code = true;
                        i += 1;
                    }
                }
            }
            lines += u64::from(code);
        }
        lines
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Tok {
        Ident(String),
        Punct(u8),
        Str,
        Other,
    }

    /// Per line: (has code, has asm string), plus the token stream with line numbers.
    fn rust(text: &str) -> Counts {
        let b = text.as_bytes();
        let nlines = text.lines().count() + 1;
        let mut code = vec![false; nlines];
        let mut tokens: Vec<(Tok, usize, usize)> = Vec::new(); // (token, first line, last line)
        let mut line = 0usize;
        let mut i = 0usize;
        let mut comment_depth = 0u32;
        while i < b.len() {
            let c = b[i];
            if c == b'\n' {
                line += 1;
                i += 1;
                continue;
            }
            if comment_depth > 0 {
                if b[i..].starts_with(b"*/") {
                    comment_depth -= 1;
                    i += 2;
                } else if b[i..].starts_with(b"/*") {
                    comment_depth += 1;
                    i += 2;
                } else {
                    i += 1;
                }
                continue;
            }
            if c.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            if b[i..].starts_with(b"//") {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            if b[i..].starts_with(b"/*") {
                comment_depth = 1;
                i += 2;
                continue;
            }
            let start_line = line;
            // Raw strings: r"…", r#"…"#, br#"…"#, cr#"…"#.
            let raw_prefix = if b[i..].starts_with(b"br") || b[i..].starts_with(b"cr") {
                Some(2)
            } else if c == b'r' {
                Some(1)
            } else {
                None
            };
            if let Some(p) = raw_prefix {
                let mut j = i + p;
                let mut hashes = 0;
                while j < b.len() && b[j] == b'#' {
                    hashes += 1;
                    j += 1;
                }
                if j < b.len() && b[j] == b'"' && (i == 0 || !is_ident(b[i - 1])) {
                    j += 1;
                    let mut closing = vec![b'"'];
                    closing.extend(std::iter::repeat_n(b'#', hashes));
                    while j < b.len() && !b[j..].starts_with(&closing) {
                        if b[j] == b'\n' {
                            code[line] = true;
                            line += 1;
                        }
                        j += 1;
                    }
                    i = (j + closing.len()).min(b.len());
                    code[line] = true;
                    tokens.push((Tok::Str, start_line, line));
                    continue;
                }
            }
            if c == b'"' || ((c == b'b' || c == b'c') && b.get(i + 1) == Some(&b'"')) {
                let mut j = i + if c == b'"' { 1 } else { 2 };
                while j < b.len() && b[j] != b'"' {
                    if b[j] == b'\\' {
                        if b.get(j + 1) == Some(&b'\n') {
                            code[line] = true;
                            line += 1;
                        }
                        j += 2;
                        continue;
                    }
                    if b[j] == b'\n' {
                        code[line] = true;
                        line += 1;
                    }
                    j += 1;
                }
                i = (j + 1).min(b.len());
                code[line] = true;
                tokens.push((Tok::Str, start_line, line));
                continue;
            }
            if c == b'\'' || (c == b'b' && b.get(i + 1) == Some(&b'\'')) {
                let q = if c == b'b' { i + 1 } else { i };
                // A character literal: 'x', '\n', '\u{..}', or a multi-byte char.
                if let Some(end) = char_literal_end(b, q) {
                    code[line] = true;
                    tokens.push((Tok::Other, line, line));
                    i = end;
                    continue;
                }
                // A lifetime or label.
                code[line] = true;
                tokens.push((Tok::Other, line, line));
                i = q + 1;
                while i < b.len() && is_ident(b[i]) {
                    i += 1;
                }
                continue;
            }
            if is_ident_start(c) {
                let s = i;
                while i < b.len() && is_ident(b[i]) {
                    i += 1;
                }
                code[line] = true;
                tokens.push((
                    Tok::Ident(String::from_utf8_lossy(&b[s..i]).into_owned()),
                    line,
                    line,
                ));
                continue;
            }
            code[line] = true;
            if c.is_ascii() {
                tokens.push((Tok::Punct(c), line, line));
            } else {
                tokens.push((Tok::Other, line, line));
            }
            i += 1;
        }

        // Passes over tokens: test modules, asm strings, unsafe.
        let mut test_line = vec![false; nlines];
        let mut asm_line = vec![false; nlines];
        let mut counts = Counts::default();
        let mut k = 0;
        let ident = |k: usize, name: &str| matches!(tokens.get(k), Some((Tok::Ident(s), _, _)) if s == name);
        let punct =
            |k: usize, p: u8| matches!(tokens.get(k), Some((Tok::Punct(q), _, _)) if *q == p);
        while k < tokens.len() {
            // #[cfg(test)] mod name {
            if punct(k, b'#')
                && punct(k + 1, b'[')
                && ident(k + 2, "cfg")
                && punct(k + 3, b'(')
                && ident(k + 4, "test")
                && punct(k + 5, b')')
                && punct(k + 6, b']')
            {
                let mut m = k + 7;
                if ident(m, "pub") {
                    m += 1;
                }
                if ident(m, "mod")
                    && matches!(tokens.get(m + 1), Some((Tok::Ident(_), _, _)))
                    && punct(m + 2, b'{')
                {
                    let first = tokens[k].1;
                    let mut depth = 0;
                    let mut n = m + 2;
                    while n < tokens.len() {
                        if punct(n, b'{') {
                            depth += 1;
                        } else if punct(n, b'}') {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        n += 1;
                    }
                    let last = tokens.get(n).map(|t| t.2).unwrap_or(nlines - 1);
                    test_line[first..=last.min(nlines - 1)].fill(true);
                    k = n + 1;
                    continue;
                }
            }
            // asm!( … ), global_asm!( … ), naked_asm!( … )
            if (ident(k, "asm") || ident(k, "global_asm") || ident(k, "naked_asm"))
                && punct(k + 1, b'!')
                && (punct(k + 2, b'(') || punct(k + 2, b'{'))
            {
                let mut depth = 0;
                let mut n = k + 2;
                while n < tokens.len() {
                    match &tokens[n].0 {
                        Tok::Punct(b'(' | b'{' | b'[') => depth += 1,
                        Tok::Punct(b')' | b'}' | b']') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Tok::Str => {
                            asm_line[tokens[n].1..=tokens[n].2].fill(true);
                        }
                        _ => {}
                    }
                    n += 1;
                }
            }
            if ident(k, "unsafe") {
                let mut next = k + 1;
                if ident(next, "extern") {
                    next += 1;
                    if matches!(tokens.get(next), Some((Tok::Str, _, _))) {
                        next += 1;
                    }
                    if ident(next, "fn") {
                        counts.unsafe_fns += 1;
                    } else {
                        counts.unsafe_externs += 1;
                    }
                } else if punct(next, b'{') {
                    counts.unsafe_blocks += 1;
                } else if ident(next, "fn") {
                    counts.unsafe_fns += 1;
                } else if ident(next, "impl") {
                    counts.unsafe_impls += 1;
                } else if ident(next, "trait") || (ident(next, "auto") && ident(next + 1, "trait"))
                {
                    counts.unsafe_traits += 1;
                } else if punct(next, b'(') {
                    counts.unsafe_attrs += 1;
                }
            }
            k += 1;
        }
        for l in 0..nlines {
            if !code[l] {
                continue;
            }
            if test_line[l] {
                counts.test_lines += 1;
            } else if asm_line[l] {
                counts.asm += 1;
            } else {
                counts.rust += 1;
            }
        }
        // Unsafe inside test modules is not in the binary: recount without them.
        if counts.test_lines > 0 {
            let mut kept = Counts::default();
            let mut k = 0;
            while k < tokens.len() {
                if test_line[tokens[k].1] {
                    k += 1;
                    continue;
                }
                if ident(k, "unsafe") {
                    let mut next = k + 1;
                    if ident(next, "extern") {
                        next += 1;
                        if matches!(tokens.get(next), Some((Tok::Str, _, _))) {
                            next += 1;
                        }
                        if ident(next, "fn") {
                            kept.unsafe_fns += 1;
                        } else {
                            kept.unsafe_externs += 1;
                        }
                    } else if punct(next, b'{') {
                        kept.unsafe_blocks += 1;
                    } else if ident(next, "fn") {
                        kept.unsafe_fns += 1;
                    } else if ident(next, "impl") {
                        kept.unsafe_impls += 1;
                    } else if ident(next, "trait")
                        || (ident(next, "auto") && ident(next + 1, "trait"))
                    {
                        kept.unsafe_traits += 1;
                    } else if punct(next, b'(') {
                        kept.unsafe_attrs += 1;
                    }
                }
                k += 1;
            }
            counts.unsafe_blocks = kept.unsafe_blocks;
            counts.unsafe_fns = kept.unsafe_fns;
            counts.unsafe_impls = kept.unsafe_impls;
            counts.unsafe_traits = kept.unsafe_traits;
            counts.unsafe_externs = kept.unsafe_externs;
            counts.unsafe_attrs = kept.unsafe_attrs;
        }
        counts
    }

    fn is_ident_start(c: u8) -> bool {
        c.is_ascii_alphabetic() || c == b'_'
    }

    fn is_ident(c: u8) -> bool {
        c.is_ascii_alphanumeric() || c == b'_'
    }

    /// If a character literal starts at `q` (the quote), the index after it.
    fn char_literal_end(b: &[u8], q: usize) -> Option<usize> {
        let rest = &b[q + 1..];
        if rest.first() == Some(&b'\\') {
            // Escapes: find the closing quote within a short distance.
            let end = rest.iter().skip(1).take(12).position(|&c| c == b'\'')?;
            return Some(q + 1 + 1 + end + 1);
        }
        // One UTF-8 character then a quote.
        let first = *rest.first()?;
        let len = match first {
            0x00..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            _ => 4,
        };
        (rest.get(len) == Some(&b'\'') && first != b'\'').then_some(q + 1 + len + 1)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn rust_comments_strings_and_blank_lines() {
            let src = r##"
// a comment
/// doc
fn main() { // trailing
    /* block
       /* nested */ still comment */
    let s = "not // a comment";
    let r = r#"raw "with" quotes
spanning"#;
    let c = '"'; let l: &'static str = "x";
}
"##;
            let n = count(Lang::Rust, src);
            assert_eq!(n.rust, 6, "{n:?}");
            assert_eq!(n.code(), 6);
        }

        #[test]
        fn rust_unsafe_kinds_and_test_modules() {
            let src = r#"
unsafe fn a() {}
pub unsafe extern "C" fn b() {}
unsafe impl Send for X {}
unsafe trait T {}
unsafe extern "C" { fn c(); }
#[unsafe(no_mangle)]
fn d() { unsafe { a() } }
// unsafe { in a comment }
const S: &str = "unsafe { in a string }";
#[cfg(test)]
mod tests {
    fn t() { unsafe { x() } }
}
"#;
            let n = count(Lang::Rust, src);
            assert_eq!(n.unsafe_fns, 2, "{n:?}");
            assert_eq!(n.unsafe_impls, 1);
            assert_eq!(n.unsafe_traits, 1);
            assert_eq!(n.unsafe_externs, 1);
            assert_eq!(n.unsafe_attrs, 1);
            assert_eq!(n.unsafe_blocks, 1);
            assert_eq!(n.test_lines, 4);
            assert_eq!(n.rust, 8);
        }

        #[test]
        fn rust_asm_strings_are_assembly() {
            let src = r#"
core::arch::global_asm!(
    ".global start",
    "start:",
    "    hlt",
);
fn f() { unsafe { core::arch::asm!("hlt", options(nomem)) } }
"#;
            let n = count(Lang::Rust, src);
            assert_eq!(n.asm, 4, "{n:?}");
            assert_eq!(n.rust, 2);
        }

        #[test]
        fn c_and_asm() {
            let c = "/* header\n * more */\n#include <x.h>\n\nint f(void) { // c\n  return '/' + \"/*\"[0];\n}\n";
            assert_eq!(count(Lang::C, c).c, 4);
            let s = "# comment\n.globl f\nf:  ; trailing\n  ret\n#define X 1\n";
            assert_eq!(count(Lang::Asm, s).asm, 4);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_of_paths() {
        assert_eq!(
            path_crate("rustls::conn::Foo::bar").as_deref(),
            Some("rustls")
        );
        assert_eq!(
            path_crate("<p256::FieldElement as core::ops::Mul>::mul").as_deref(),
            Some("p256")
        );
        assert_eq!(
            path_crate("<core::slice::Iter<u8> as pinata::Thing>::f").as_deref(),
            Some("pinata")
        );
        assert_eq!(
            path_crate("<&mut alloc::vec::Vec<u8> as core::fmt::Debug>::fmt").as_deref(),
            Some("alloc")
        );
        assert_eq!(
            path_crate("<[u8] as der::Encode>::encode").as_deref(),
            Some("der")
        );
        assert_eq!(path_crate("memcpy"), None);
    }

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

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(1_036_288), "1,036,288");
        assert_eq!(thousands(999), "999");
    }
}
