//! Lines linked into the image: the source lines that have machine code in
//! the linked ELF, read from the DWARF line tables of a second build of the
//! same code with line tables on.
//!
//! The compiled count ([`super::tcb`]) takes every line of every file rustc
//! read; most of a crate such as rustls or der is generic or unused and
//! never reaches the image. Auditors read the code that runs, so this counts,
//! per crate, the distinct `(file, line)` pairs that own at least one byte of
//! `.text` in the final link.
//!
//! - **The build**: the image again, with `CARGO_PROFILE_RELEASE_DEBUG=
//!   line-tables-only` (same profile otherwise: opt-levels, LTO, features,
//!   `--cfg` back ends, path remapping) into its own target directory, so the
//!   shipped image is never rebuilt or changed. Debug info should not change
//!   code generation, but it changes cargo's `-C metadata`, hence symbol
//!   names and the order LLVM sees functions in, and with it a few inlining
//!   decisions: the report gives both `.text` sizes and whether they are byte
//!   for byte the same, so a reader knows how exact the attribution is.
//! - **The rows**: every row of every line program whose address range is
//!   non-empty and inside `.text` (code the linker discarded keeps its rows
//!   at a tombstone address outside it). With inlining, a row names the
//!   innermost source line, so inlined code counts for the crate it came
//!   from. Line 0 (compiler-generated code) is skipped.
//! - **The files**: DWARF paths are remapped (`/pinata`, `/cargo`, `/target`,
//!   `xtask/src/repro.rs`); they are mapped back, and each is attributed to
//!   the package whose dep-info lists it. Rust's own `core`, `alloc` and
//!   `compiler_builtins` (`/rustc/…`) are counted apart, as in the compiled
//!   count. Module-level assembly (`global_asm!`) carries no line table: its
//!   lines are in the compiled count only.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use gimli::{EndianSlice, RunTimeEndian};
use object::{Object, ObjectSection};

use super::cargo::{Unit, dep_info_files};

/// The rules, as printed in the report.
pub const RULES: &str = "\
- Lines linked: the image is built a second time with `CARGO_PROFILE_RELEASE_DEBUG=line-tables-only` (nothing \
else changed, its own target directory). Every row of its DWARF line tables whose address range is not empty \
and lies in `.text` names a line that owns machine code; with inlining, the innermost source line. Each \
distinct (file, line) counts once, for the crate whose dep-info lists the file; Rust's `core`/`alloc` apart; \
line 0 (compiler-made code) never. Module-level assembly has no line table: it is in the compiled count only.
- The optimiser decides which line an instruction belongs to: code merged from several lines is credited to \
one of them. So the linked count is a lower bound of the lines that run, as the compiled count is an upper \
bound of the lines in the image.";

/// Lines with code in the linked image, per package.
#[derive(Debug, Default)]
pub struct Linked {
    /// Package → distinct source lines with code in `.text`.
    pub crates: BTreeMap<String, u64>,
    /// Lines of Rust's precompiled `core`/`alloc`/`compiler_builtins`.
    pub toolchain: u64,
    /// Lines in files no unit's dep-info lists (build-time generated code,
    /// or paths that could not be mapped back), with a few examples.
    pub unmatched: u64,
    pub unmatched_examples: Vec<String>,
    /// The line-table build's `.text` size, and the shipped image's.
    pub text_bytes: u64,
    pub image_text_bytes: Option<u64>,
    /// Whether the two `.text` sections are byte for byte the same.
    pub same_text: Option<bool>,
}

impl Linked {
    /// Lines linked, all packages (the toolchain's excluded).
    pub fn total(&self) -> u64 {
        self.crates.values().sum()
    }
}

/// Where remapped paths point back to (see `repro::remap_flags`).
pub struct Remap {
    pub root: PathBuf,
    pub target_dir: PathBuf,
    pub cargo_home: Option<PathBuf>,
    /// The registries' source directories `/crates` stands for.
    pub registries: Vec<PathBuf>,
}

impl Remap {
    fn unmap(&self, path: &Path) -> PathBuf {
        if let Ok(rest) = path.strip_prefix("/crates") {
            // Every registry is `/crates`: the one that holds the file.
            let mut candidates = self.registries.iter().map(|dir| dir.join(rest));
            if let Some(first) = candidates.next() {
                return core::iter::once(first.clone())
                    .chain(candidates)
                    .find(|candidate| candidate.is_file())
                    .unwrap_or(first);
            }
        }
        let pairs: [(&str, Option<&Path>); 3] = [
            ("/cargo", self.cargo_home.as_deref()),
            ("/target", Some(&self.target_dir)),
            ("/pinata", Some(&self.root)),
        ];
        for (prefix, real) in pairs {
            if let (Ok(rest), Some(real)) = (path.strip_prefix(prefix), real) {
                return real.join(rest);
            }
        }
        path.to_path_buf()
    }
}

/// Counts the linked lines of `elf` (a line-table build), attributing files
/// through the dep-info of that build's `units`. `shipped_text` is the
/// shipped image's `.text`, compared with the line-table build's.
pub fn count(
    elf: &[u8],
    units: &[Unit],
    remap: &Remap,
    shipped_text: Option<&[u8]>,
) -> Result<Linked, String> {
    let file = object::File::parse(elf).map_err(|e| format!("line-table build: {e}"))?;
    let text = file
        .section_by_name(".text")
        .ok_or("line-table build: no .text")?;
    let text_range = text.address()..text.address() + text.size();
    let same_text = shipped_text.map(|shipped| text.data().ok() == Some(shipped));

    let owners = owners(units, &remap.root);
    let endian = if file.is_little_endian() {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    let load = |id: gimli::SectionId| -> Result<Cow<'_, [u8]>, gimli::Error> {
        Ok(file
            .section_by_name(id.name())
            .and_then(|s| s.uncompressed_data().ok())
            .unwrap_or(Cow::Borrowed(&[])))
    };
    let sections = gimli::DwarfSections::load(load).map_err(|e| format!("DWARF: {e}"))?;
    let dwarf = sections.borrow(|s| EndianSlice::new(s, endian));

    // Distinct lines, as (file id, line); file ids index `paths`.
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut path_ids: HashMap<PathBuf, u32> = HashMap::new();
    let mut lines: HashSet<(u32, u64)> = HashSet::new();
    let mut headers = dwarf.units();
    while let Some(header) = headers.next().map_err(|e| format!("DWARF: {e}"))? {
        let unit = dwarf.unit(header).map_err(|e| format!("DWARF: {e}"))?;
        let Some(program) = unit.line_program.clone() else {
            continue;
        };
        let comp_dir = unit
            .comp_dir
            .map(|d| PathBuf::from(d.to_string_lossy().into_owned()))
            .unwrap_or_default();
        // File index → file id, per unit.
        let mut file_ids: HashMap<u64, Option<u32>> = HashMap::new();
        let mut rows = program.rows();
        let mut ranges = Rows::default();
        while let Some((header, row)) = rows.next_row().map_err(|e| format!("DWARF: {e}"))? {
            let line = row.line().map_or(0, |l| l.get());
            let Some((file_index, line)) = ranges.push(
                row.address(),
                row.end_sequence(),
                (row.file_index(), line),
                &text_range,
            ) else {
                continue;
            };
            let id = *file_ids.entry(file_index).or_insert_with(|| {
                let entry = header.file(file_index)?;
                let mut path = comp_dir.clone();
                if let Some(dir) = entry.directory(header)
                    && let Ok(dir) = dwarf.attr_string(&unit, dir)
                {
                    path.push(dir.to_string_lossy().as_ref());
                }
                let name = dwarf.attr_string(&unit, entry.path_name()).ok()?;
                path.push(name.to_string_lossy().as_ref());
                let path = normalise(&remap.unmap(&path));
                let next = paths.len() as u32;
                Some(*path_ids.entry(path.clone()).or_insert_with(|| {
                    paths.push(path);
                    next
                }))
            });
            if let Some(id) = id {
                lines.insert((id, line));
            }
        }
    }

    let mut linked = Linked {
        same_text,
        text_bytes: text.size(),
        image_text_bytes: shipped_text.map(|t| t.len() as u64),
        ..Linked::default()
    };
    for (id, _) in lines {
        let path = &paths[id as usize];
        if path.starts_with("/rustc") {
            linked.toolchain += 1;
        } else if let Some(package) = owners.get(path) {
            *linked.crates.entry(package.clone()).or_default() += 1;
        } else {
            linked.unmatched += 1;
            let shown = path.display().to_string();
            if linked.unmatched_examples.len() < 5 && !linked.unmatched_examples.contains(&shown) {
                linked.unmatched_examples.push(shown);
            }
        }
    }
    Ok(linked)
}

/// The rows of a line program, turned into the lines that own code: a row
/// opens an address range that the next row (or the end of its sequence)
/// closes; the row's line has code when that range is not empty, lies in
/// `.text`, and the line is not 0.
#[derive(Default)]
struct Rows {
    /// The open row: (address, (file index, line)).
    open: Option<(u64, (u64, u64))>,
}

impl Rows {
    /// Takes the next row; returns the (file index, line) of the row it
    /// closes, if that one owns code.
    fn push(
        &mut self,
        address: u64,
        end_sequence: bool,
        at: (u64, u64),
        text: &Range<u64>,
    ) -> Option<(u64, u64)> {
        let closed = self.open.take();
        if !end_sequence {
            self.open = Some((address, at));
        }
        let (start, at) = closed?;
        (address > start && text.contains(&start) && at.1 != 0).then_some(at)
    }
}

/// Source file → package, from the dep-info of every unit in the binary.
fn owners(units: &[Unit], root: &Path) -> HashMap<PathBuf, String> {
    let mut owners = HashMap::new();
    for unit in units.iter().filter(|u| !u.build_time) {
        if let Some(d) = &unit.dep_info {
            for file in dep_info_files(d, root) {
                owners
                    .entry(normalise(&file))
                    .or_insert_with(|| unit.package.clone());
            }
        }
    }
    owners
}

/// `a/./b/../c` → `a/c`, without touching the file system (the paths of a
/// remapped build need not exist here).
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_owns_code_when_its_range_is_not_empty_and_in_text() {
        let text = 0x1000..0x2000;
        let mut rows = Rows::default();
        let lines: Vec<_> = [
            (0x1000, false, (1, 10)),
            (0x1000, false, (1, 11)), // closes line 10 empty
            (0x1004, false, (1, 0)),  // closes line 11: code
            (0x1008, false, (2, 5)),  // closes line 0: compiler-made
            (0x1010, true, (2, 6)),   // end of sequence closes line 5
            (0x0010, false, (3, 1)),  // discarded code at a tombstone
            (0x0020, true, (3, 2)),
        ]
        .into_iter()
        .filter_map(|(address, end, at)| rows.push(address, end, at, &text))
        .collect();
        assert_eq!(lines, [(1, 11), (2, 5)]);
    }

    #[test]
    fn remapped_paths_map_back() {
        let remap = Remap {
            root: "/work/tree".into(),
            target_dir: "/work/tree/target/lines".into(),
            cargo_home: Some("/home/u/.cargo".into()),
            registries: vec!["/home/u/.cargo/registry/src/x".into()],
        };
        assert_eq!(
            remap.unmap(Path::new("/cargo/registry/src/x/rustls-0.23.46/src/lib.rs")),
            Path::new("/home/u/.cargo/registry/src/x/rustls-0.23.46/src/lib.rs")
        );
        assert_eq!(
            remap.unmap(Path::new("/crates/rustls-0.23.46/src/lib.rs")),
            Path::new("/home/u/.cargo/registry/src/x/rustls-0.23.46/src/lib.rs")
        );
        assert_eq!(
            remap.unmap(Path::new("/pinata/pinata/src/app.rs")),
            Path::new("/work/tree/pinata/src/app.rs")
        );
        assert_eq!(
            remap.unmap(Path::new("/target/x/release/build/a/out/b.rs")),
            Path::new("/work/tree/target/lines/x/release/build/a/out/b.rs")
        );
        assert_eq!(
            remap.unmap(Path::new("/rustc/abc/library/core/src/fmt/mod.rs")),
            Path::new("/rustc/abc/library/core/src/fmt/mod.rs")
        );
        assert_eq!(
            normalise(Path::new("/a/./b/../c/d.rs")),
            Path::new("/a/c/d.rs")
        );
    }
}
