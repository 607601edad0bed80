//! A comment-aware line counter for Rust, C and assembly.

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
    let ident =
        |k: usize, name: &str| matches!(tokens.get(k), Some((Tok::Ident(s), _, _)) if s == name);
    let punct = |k: usize, p: u8| matches!(tokens.get(k), Some((Tok::Punct(q), _, _)) if *q == p);
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
            } else if ident(next, "trait") || (ident(next, "auto") && ident(next + 1, "trait")) {
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
                } else if ident(next, "trait") || (ident(next, "auto") && ident(next + 1, "trait"))
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
