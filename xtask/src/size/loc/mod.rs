//! How lines and `unsafe` are counted: Rust through `proc-macro2`'s lexer
//! ([`rust`], [`unsafety`]), C and assembly by a small comment-aware counter
//! ([`c_like`]). The rules, as the report prints them, are [`RULES`].

mod c_like;
pub mod rust;
mod unsafety;

use std::path::Path;

/// The rules, as printed in the report.
pub const RULES: &str = "\
- A line counts when, outside comments, it holds anything but whitespace. Blank lines and lines holding only \
comments (Rust `//`, `///`, `//!`, nested `/* */`; C `//`, `/* */`; assembly `#`/`;`/`//`/`/* */`) do not.
- Rust is split into tokens by `proc-macro2` (the lexer of `syn` and of procedural macros): a line counts when \
a token covers part of it. String and character literals are code (their contents never start a comment).
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

/// The languages counted, by file extension.
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

/// Lines by language, lines left out, and `unsafe` by kind.
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

/// Counts one file's lines. A Rust file that is not lexically valid Rust
/// (`rustc` read it, so this does not happen for the files of a build that
/// succeeded) is counted whole, every non-blank line as code, and the error
/// is returned beside the counts.
pub fn count(lang: Lang, text: &str) -> (Counts, Option<rust::NotRust>) {
    match lang {
        Lang::Rust => match rust::count(text) {
            Ok(counts) => (counts, None),
            Err(e) => {
                let lines = text.lines().filter(|l| !l.trim().is_empty()).count() as u64;
                let counts = Counts {
                    rust: lines,
                    ..Counts::default()
                };
                (counts, Some(e))
            }
        },
        Lang::C => (
            Counts {
                c: c_like::count(text, false),
                ..Counts::default()
            },
            None,
        ),
        Lang::Asm => (
            Counts {
                asm: c_like::count(text, true),
                ..Counts::default()
            },
            None,
        ),
    }
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
        let n = count(Lang::Rust, src).0;
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
        let n = count(Lang::Rust, src).0;
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
        let n = count(Lang::Rust, src).0;
        assert_eq!(n.asm, 4, "{n:?}");
        assert_eq!(n.rust, 2);
    }

    #[test]
    fn c_and_asm() {
        let c = "/* header\n * more */\n#include <x.h>\n\nint f(void) { // c\n  return '/' + \"/*\"[0];\n}\n";
        assert_eq!(count(Lang::C, c).0.c, 4);
        let s = "# comment\n.globl f\nf:  ; trailing\n  ret\n#define X 1\n";
        assert_eq!(count(Lang::Asm, s).0.asm, 4);
    }

    #[test]
    fn rust_doc_comments_are_comments_and_test_modules_may_be_pub() {
        let src = r#"//! Crate docs.
/** Block docs
    over lines */
#[doc = "an attribute written out is code"]
pub struct A<'a>(&'a u8);
#[cfg(test)]
pub mod tests {
    /// doc inside
    #[test]
    fn t() {}
}
#[cfg(not(test))]
mod real {}
"#;
        let n = count(Lang::Rust, src).0;
        assert_eq!(n.rust, 4, "{n:?}");
        assert_eq!(n.test_lines, 5, "{n:?}");
    }

    #[test]
    fn rust_literals_of_every_kind() {
        let src = "let a = c\"C string\";\nlet b = br#\"raw\nbytes\"#;\nlet q = '\\'';\nlet l = 'label: loop { break 'label; };\n";
        let n = count(Lang::Rust, src).0;
        assert_eq!(n.rust, 5, "{n:?}");
    }

    #[test]
    fn text_that_is_not_rust_is_counted_whole_with_the_error() {
        let (n, error) = count(Lang::Rust, "fn f() {\n\n    \"unterminated\n}\n");
        assert!(error.is_some());
        assert_eq!(n.rust, 3, "{n:?}");
    }
}
