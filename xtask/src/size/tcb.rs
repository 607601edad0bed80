//! The compiled trusted code base: every source file rustc read for a
//! crate of the binary's build (from its dep-info), plus the C and assembly
//! that build scripts compiled into static libraries linked into it; counted
//! per crate by [`loc`] (rules there).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSymbol, SymbolKind};
use serde_json::Value;

use super::cargo::{Unit, dep_info_files, messages, package_id};
use super::loc;

/// The compiled lines of one binary, per package.
#[derive(Default)]
pub struct Tcb {
    pub crates: BTreeMap<String, CrateLoc>,
    pub build_time: BTreeSet<String>,
    pub other_files: Vec<String>,
    /// Rust files the lexer refused ("path: error"), counted whole.
    pub not_lexed: Vec<String>,
}

#[derive(Default, Clone)]
pub struct CrateLoc {
    pub version: String,
    pub source: String,
    pub files: u64,
    pub counts: loc::Counts,
}

impl Tcb {
    pub fn total(&self) -> loc::Counts {
        let mut total = loc::Counts::default();
        for c in self.crates.values() {
            total.add(&c.counts);
        }
        total
    }
}

pub fn tcb(units: &[Unit], messages_text: &str, root: &Path) -> Tcb {
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
        for file in dep_info_files(d, root) {
            if !seen.insert(file.clone()) {
                continue;
            }
            let Some(kind) = loc::Lang::of(&file) else {
                let shown = file.strip_prefix(root).unwrap_or(&file);
                tcb.other_files.push(shown.display().to_string());
                continue;
            };
            count_file(entry, kind, &file, &mut tcb.not_lexed);
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
            .and_then(|d| dep_info_files(d, root).into_iter().next())
            .and_then(|f| package_root(&f));
        for source_file in build_script_sources(Path::new(out_dir), manifest_dir.as_deref()) {
            if !seen.insert(source_file.clone()) {
                continue;
            }
            let Some(kind) = loc::Lang::of(&source_file) else {
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
            count_file(entry, kind, &source_file, &mut tcb.not_lexed);
        }
    }
    // A package built only at build time is not "build-time only" if it is
    // also in the binary.
    let in_binary: BTreeSet<String> = tcb.crates.keys().cloned().collect();
    tcb.build_time.retain(|p| !in_binary.contains(p));
    // cargo reports units in the order they finish: sort for a stable report.
    tcb.other_files.sort();
    tcb
}

/// Adds one file's lines to its crate's (a file that cannot be read any
/// more is skipped).
fn count_file(entry: &mut CrateLoc, kind: loc::Lang, file: &Path, not_lexed: &mut Vec<String>) {
    let Ok(text) = fs::read(file) else {
        return;
    };
    let (counts, error) = loc::count(kind, &String::from_utf8_lossy(&text));
    if let Some(error) = error {
        not_lexed.push(format!("{}: {}", file.display(), error.0));
    }
    entry.files += 1;
    entry.counts.add(&counts);
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
