//! `unsafe`, counted by what follows the keyword (see the rules in
//! [`super::RULES`]): a block, a function (also `unsafe extern "…" fn` and
//! function pointer types), an impl, a trait, an extern block, or an
//! attribute (`#[unsafe(no_mangle)]`).

use proc_macro2::{Delimiter, TokenTree};

use super::Counts;

/// If `tokens[i]` is the keyword `unsafe`, counts it by what follows.
pub fn count_at(tokens: &[TokenTree], i: usize, counts: &mut Counts) {
    let ident = |k: usize, s: &str| matches!(tokens.get(k), Some(TokenTree::Ident(x)) if x == s);
    let group = |k: usize, d: Delimiter| matches!(tokens.get(k), Some(TokenTree::Group(g)) if g.delimiter() == d);
    if !ident(i, "unsafe") {
        return;
    }
    let mut next = i + 1;
    if ident(next, "extern") {
        next += 1;
        if matches!(tokens.get(next), Some(TokenTree::Literal(_))) {
            next += 1;
        }
        if ident(next, "fn") {
            counts.unsafe_fns += 1;
        } else {
            counts.unsafe_externs += 1;
        }
    } else if group(next, Delimiter::Brace) {
        counts.unsafe_blocks += 1;
    } else if ident(next, "fn") {
        counts.unsafe_fns += 1;
    } else if ident(next, "impl") {
        counts.unsafe_impls += 1;
    } else if ident(next, "trait") || (ident(next, "auto") && ident(next + 1, "trait")) {
        counts.unsafe_traits += 1;
    } else if group(next, Delimiter::Parenthesis) {
        counts.unsafe_attrs += 1;
    }
}
