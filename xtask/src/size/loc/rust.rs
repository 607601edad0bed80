//! Rust lines, from `proc-macro2`'s lexer (the one `syn` and every procedural
//! macro use, run here outside a macro with `span-locations`): each token
//! knows the lines it covers, comments never become tokens, and doc comments
//! (which become `#[doc = "…"]` tokens) are recognised by the source text
//! under their span. On those tokens this file finds the code lines, the
//! `#[cfg(test)] mod … { … }` blocks and the string lines of `asm!`,
//! `global_asm!` and `naked_asm!`; [`super::unsafety`] counts `unsafe`.

use std::str::FromStr;

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};

use super::Counts;
use super::unsafety;

/// Why a file could not be counted: it is not lexically valid Rust.
#[derive(Debug)]
pub struct NotRust(pub String);

/// Counts the code, assembly and test-module lines of `text`, and its
/// `unsafe`.
pub fn count(text: &str) -> Result<Counts, NotRust> {
    let counts = lex(text);
    // Spans live in a per-thread source map that grows with every file
    // lexed: nothing of this file's tokens is used after this point.
    proc_macro2::extra::invalidate_current_thread_spans();
    counts
}

fn lex(text: &str) -> Result<Counts, NotRust> {
    let tokens = TokenStream::from_str(text).map_err(|e| NotRust(e.to_string()))?;
    let lines = text.lines().count() + 1;
    let mut walk = Walk {
        text,
        code: vec![false; lines],
        asm: vec![false; lines],
        test: vec![false; lines],
        counts: Counts::default(),
    };
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    walk.trees(&tokens, Context::default());
    let mut counts = walk.counts;
    for i in 0..lines {
        if !walk.code[i] {
            continue;
        }
        if walk.test[i] {
            counts.test_lines += 1;
        } else if walk.asm[i] {
            counts.asm += 1;
        } else {
            counts.rust += 1;
        }
    }
    Ok(counts)
}

/// One pass over the token trees, marking lines.
struct Walk<'a> {
    text: &'a str,
    code: Vec<bool>,
    asm: Vec<bool>,
    test: Vec<bool>,
    counts: Counts,
}

/// Where a token sits.
#[derive(Clone, Copy, Default)]
struct Context {
    /// Inside an assembly macro's arguments: its string literals are assembly.
    asm: bool,
    /// Inside a `#[cfg(test)]` module: its `unsafe` is not in the binary.
    test: bool,
}

impl Walk<'_> {
    /// The tokens of one delimited level.
    fn trees(&mut self, tokens: &[TokenTree], context: Context) {
        let mut i = 0;
        while i < tokens.len() {
            if let Some(after) = self.doc_comment(tokens, i) {
                i = after;
                continue;
            }
            if !context.test
                && let Some(after) = test_module(tokens, i)
            {
                let (first, last) = (tokens[i].span().start(), tokens[after - 1].span().end());
                self.test[first.line - 1..last.line].fill(true);
                let test = Context {
                    test: true,
                    ..context
                };
                self.trees(&tokens[i..after], test);
                i = after;
                continue;
            }
            if !context.test {
                unsafety::count_at(tokens, i, &mut self.counts);
            }
            match &tokens[i] {
                TokenTree::Group(group) => {
                    self.mark(group.span_open());
                    self.mark(group.span_close());
                    let inner = Context {
                        asm: context.asm || is_asm_macro(tokens, i),
                        ..context
                    };
                    let inner_tokens: Vec<TokenTree> = group.stream().into_iter().collect();
                    self.trees(&inner_tokens, inner);
                }
                TokenTree::Literal(literal) => {
                    self.mark(literal.span());
                    if context.asm && is_string(&literal.to_string()) {
                        let (start, end) = (literal.span().start(), literal.span().end());
                        self.asm[start.line - 1..end.line].fill(true);
                    }
                }
                other => self.mark(other.span()),
            }
            i += 1;
        }
    }

    /// If a doc comment's tokens (`#`, `!`?, `[doc = "…"]`, all spanning the
    /// comment) start at `i`, the index after them.
    fn doc_comment(&self, tokens: &[TokenTree], i: usize) -> Option<usize> {
        let TokenTree::Punct(pound) = &tokens[i] else {
            return None;
        };
        if pound.as_char() != '#' {
            return None;
        }
        let source = self.text.get(pound.span().byte_range())?;
        if !(source.starts_with("//") || source.starts_with("/*")) {
            return None;
        }
        let mut next = i + 1;
        if matches!(tokens.get(next), Some(TokenTree::Punct(p)) if p.as_char() == '!') {
            next += 1;
        }
        Some(next + 1)
    }

    /// Marks the lines a token covers as code.
    fn mark(&mut self, span: Span) {
        let (start, end) = (span.start(), span.end());
        self.code[start.line - 1..end.line].fill(true);
    }
}

/// If `#[cfg(test)] [pub] mod name { … }` starts at `i`, the index after it.
fn test_module(tokens: &[TokenTree], i: usize) -> Option<usize> {
    let is_punct =
        |k: usize, c: char| matches!(tokens.get(k), Some(TokenTree::Punct(p)) if p.as_char() == c);
    let is_ident = |k: usize, s: &str| matches!(tokens.get(k), Some(TokenTree::Ident(x)) if x == s);
    if !is_punct(i, '#') {
        return None;
    }
    let Some(TokenTree::Group(attr)) = tokens.get(i + 1) else {
        return None;
    };
    let attr: Vec<TokenTree> = attr.stream().into_iter().collect();
    let cfg_test = match attr.as_slice() {
        [TokenTree::Ident(cfg), TokenTree::Group(args)] => {
            cfg == "cfg"
                && args.delimiter() == Delimiter::Parenthesis
                && args.stream().to_string() == "test"
        }
        _ => false,
    };
    if !cfg_test {
        return None;
    }
    let mut k = i + 2;
    if is_ident(k, "pub") {
        k += 1;
    }
    if !is_ident(k, "mod") || !matches!(tokens.get(k + 1), Some(TokenTree::Ident(_))) {
        return None;
    }
    match tokens.get(k + 2) {
        Some(TokenTree::Group(body)) if body.delimiter() == Delimiter::Brace => Some(k + 3),
        _ => None,
    }
}

/// Whether the group at `i` holds the arguments of `asm!`, `global_asm!` or
/// `naked_asm!` (with or without a path before the name).
fn is_asm_macro(tokens: &[TokenTree], i: usize) -> bool {
    let TokenTree::Group(group) = &tokens[i] else {
        return false;
    };
    i >= 2
        && matches!(group.delimiter(), Delimiter::Parenthesis | Delimiter::Brace)
        && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '!')
        && matches!(&tokens[i - 2], TokenTree::Ident(name) if name == "asm" || name == "global_asm" || name == "naked_asm")
}

/// Whether a literal's text is a string (plain, raw, byte or C string).
fn is_string(literal: &str) -> bool {
    let rest = literal
        .strip_prefix("br")
        .or_else(|| literal.strip_prefix("cr"))
        .or_else(|| literal.strip_prefix('b'))
        .or_else(|| literal.strip_prefix('c'))
        .or_else(|| literal.strip_prefix('r'))
        .unwrap_or(literal);
    rest.trim_start_matches('#').starts_with('"')
}
