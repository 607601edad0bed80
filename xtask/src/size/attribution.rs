//! Bytes per crate, from the symbol table: every sized function and data
//! symbol of the ELF, demangled and attributed to the crate named first in
//! its path (for `<X as Trait>::f`, X's crate, or the trait's when X is a
//! `core`/`alloc`/`std` or primitive type). LTO inlines across crates, so a
//! crate's figure is the code that survived as its own functions. Bytes of a
//! section that no sized symbol covers (merged string constants, padding,
//! assembly labels without a size) go to [`UNATTRIBUTED`].

use std::collections::{BTreeMap, HashMap};

use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};

/// Bytes of one crate, by kind of section.
#[derive(Default, Clone, Copy)]
pub struct CrateBytes {
    pub code: u64,
    pub data: u64,
    pub bss: u64,
}

pub fn crate_bytes(
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

pub const UNATTRIBUTED: &str = "unattributed";

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
}
