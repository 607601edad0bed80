//! Whole-file figures of a binary: the ELF, the ELF after `objcopy
//! --strip-all`, that compressed with `xz -9e`, its SHA-256, and its sections.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use object::{Object, ObjectSection};
use sha2::{Digest, Sha256};

#[derive(Default)]
pub struct Sizes {
    pub elf: u64,
    pub stripped: Option<u64>,
    pub xz: Option<u64>,
    pub sha256: String,
    pub notes: Vec<String>,
}

impl Sizes {
    /// The figures of the ELF at `path`, whose bytes are `bytes`. Missing
    /// `objcopy`/`xz` leave their figures out, with a note.
    pub fn measure(path: &Path, bytes: &[u8]) -> Sizes {
        let mut sizes = Sizes {
            elf: bytes.len() as u64,
            sha256: hex(&Sha256::digest(bytes)),
            ..Sizes::default()
        };
        strip_and_compress(path, &mut sizes);
        sizes
    }
}

/// The sections with a size: (name, bytes, loaded).
pub fn sections(file: &object::File) -> Vec<(String, u64, bool)> {
    file.sections()
        .filter(|s| s.size() > 0)
        .map(|s| {
            let alloc = s.address() != 0;
            (s.name().unwrap_or("?").to_string(), s.size(), alloc)
        })
        .collect()
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
