//! C and assembly lines: a line counts when, outside comments, it holds
//! anything but whitespace. Small enough to keep: `tokei` counts the same
//! way but only whole files, through a crate graph far larger than this.

/// C (and assembly with `asm`): `//` and `/* */` comments, strings,
/// character literals; in assembly also `#` and `;` line comments (a
/// `#` followed by a letter at the start of a line is a preprocessor
/// directive in `.S` files and counts).
pub fn count(text: &str, asm: bool) -> u64 {
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
