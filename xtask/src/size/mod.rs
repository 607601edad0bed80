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
//! - **Lines linked into the image** ([`linked`]): of those lines, the ones
//!   that own machine code in the image's `.text`, from the DWARF line tables
//!   of a second build of the image with line tables on (its own target
//!   directory; the shipped image is untouched). Per crate and in total.
//! - **Comparison** with the original MirageOS piñata and with Linux + glibc
//!   + OpenSSL, as ratios, and the size and TCB targets, met or missed.
//!
//! It fails only when it cannot produce the report (a build fails, the ELF
//! cannot be read); numbers never fail it. Missing `objcopy`/`xz` leave their
//! figures out, with a note.
//!
//! One concept per file: [`cargo`] (what cargo built: the hosted build, its
//! messages, the compiled units and their dep-info), [`sizes`] (whole-file
//! sizes and sections), [`attribution`] (bytes per crate), [`tcb`] (which
//! files the compiled trusted code base holds), [`loc`] (how their lines and
//! `unsafe` are counted), [`linked`] (lines with code in the image), [`targets`] (the original's figures and the
//! targets), and the renderings [`markdown`], [`json`] and [`svg`].

mod attribution;
mod cargo;
mod json;
mod linked;
mod loc;
mod markdown;
mod numbers;
mod sizes;
mod svg;
mod targets;
mod tcb;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::image;

use object::{Object, ObjectSection};

use attribution::CrateBytes;
use linked::Linked;
use sizes::Sizes;
use tcb::Tcb;

/// `cargo xtask size-report`'s flags.
#[derive(Debug, clap::Args)]
pub struct Flags {
    /// Leave out the hosted binary
    #[arg(long)]
    no_hosted: bool,
    /// Leave out the lines linked into the image (skips the second,
    /// line-table build of the image)
    #[arg(long)]
    no_linked: bool,
    /// Where to write report.{md,json,svg} [default: target/size-report]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// What to put in the report.
#[derive(Clone, Copy)]
struct Options {
    hosted: bool,
    linked: bool,
}

pub fn main(root: &Path, flags: Flags) -> Result<(), String> {
    let options = Options {
        hosted: !flags.no_hosted,
        linked: !flags.no_linked,
    };
    let out = flags
        .out
        .unwrap_or_else(|| target_dir(root).join("size-report"));
    let report = generate(root, options, &out)?;
    json::print_summary(&report);
    Ok(())
}

/// The step `cargo xtask test` runs after the tests: the report as an
/// artefact. Numbers never fail it; only being unable to write it does.
pub fn ci(root: &Path) -> Result<(), String> {
    let out = target_dir(root).join("size-report");
    let options = Options {
        hosted: true,
        linked: true,
    };
    let report = generate(root, options, &out)?;
    json::print_summary(&report);
    Ok(())
}

/// cargo's target directory (`CARGO_TARGET_DIR` or `<root>/target`).
pub fn target_dir(root: &Path) -> PathBuf {
    image::target_dir(root)
}

/// One analysed binary.
pub struct Binary {
    pub name: String,
    pub path: PathBuf,
    pub sizes: Sizes,
    pub sections: Vec<(String, u64, bool)>,
    pub crates: BTreeMap<String, CrateBytes>,
    pub tcb: Tcb,
    /// Lines with code in the binary (the image only).
    pub linked: Option<Linked>,
}

fn generate(root: &Path, options: Options, out: &Path) -> Result<Value, String> {
    let (image_path, image_messages) = image::build_image_messages(root)?;
    let mut image = analyse(
        "unikernel image",
        &image_path,
        &image_messages,
        &target_dir(root).join(image::TARGET),
        root,
    )?;
    if options.linked {
        image.linked = Some(linked_lines(root, &image_path)?);
    }
    let hosted = if options.hosted {
        let triple = cargo::host_triple()?;
        let (path, msgs) = cargo::build_hosted(root, &triple)?;
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
    let json = json::report(&image, hosted.as_ref());
    let write = |name: &str, text: String| {
        let path = out.join(name);
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write(
        "report.json",
        serde_json::to_string_pretty(&json).expect("JSON") + "\n",
    )?;
    write("report.md", markdown::report(&image, hosted.as_ref()))?;
    write("report.svg", svg::chart(&image))?;
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
    let units = cargo::units(messages_text, target_subdir);
    let crate_names: HashMap<String, String> = units
        .iter()
        .map(|u| (u.crate_name.clone(), u.package.clone()))
        .collect();
    let sizes = Sizes::measure(path, &bytes);
    let sections = sizes::sections(&file);
    let crates = attribution::crate_bytes(&file, &crate_names);
    let tcb = tcb::tcb(&units, messages_text, root);
    Ok(Binary {
        name: name.to_string(),
        path: path.to_path_buf(),
        sizes,
        sections,
        crates,
        tcb,
        linked: None,
    })
}

/// Builds the image again with line tables, into its own target directory,
/// and counts the lines linked into it ([`linked`]).
fn linked_lines(root: &Path, shipped: &Path) -> Result<Linked, String> {
    let lines_target = target_dir(root).join("size-report-lines");
    let env = [(LINE_TABLES.0, LINE_TABLES.1)];
    eprintln!(
        "xtask: the image again with line tables ({}={}, target dir {})",
        LINE_TABLES.0,
        LINE_TABLES.1,
        lines_target.display()
    );
    let (path, messages) = image::build_image_with(root, Some(&lines_target), &env)?;
    let elf = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let shipped = fs::read(shipped).map_err(|e| format!("{}: {e}", shipped.display()))?;
    let shipped = object::File::parse(&*shipped).map_err(|e| format!("{e}"))?;
    let shipped_text = shipped.section_by_name(".text").and_then(|s| s.data().ok());
    let units = cargo::units(&messages, &lines_target.join(image::TARGET));
    let remap = linked::Remap {
        root: root.to_path_buf(),
        target_dir: lines_target,
        cargo_home: crate::repro::cargo_home(),
        registries: crate::repro::cargo_home()
            .map(|home| crate::repro::registry_sources(&home))
            .unwrap_or_default(),
    };
    linked::count(&elf, &units, &remap, shipped_text)
}

/// The profile override of the line-table build: the release profile with
/// line tables only (no types, no variables), nothing else changed.
const LINE_TABLES: (&str, &str) = ("CARGO_PROFILE_RELEASE_DEBUG", "line-tables-only");
