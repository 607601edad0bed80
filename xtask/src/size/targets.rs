//! What the figures are compared with: the original piñata's and the
//! traditional stack's figures, and the targets, met or missed.

use super::Binary;
use super::numbers::thousands;

/// Figures of the original piñata and of the traditional stack, as quoted in
/// `docs/DESIGN.md` (from the MirageOS piñata's 2015
/// announcement and its 2018 retrospective).
pub mod reference {
    /// The original's Xen image, unpacked (2015).
    pub const MIRAGE_IMAGE_2015: u64 = 8_590_080;
    /// The original's Xen image, stripped (2018).
    pub const MIRAGE_STRIPPED_2018: u64 = 4_428_920;
    /// The original's trusted code base, lines.
    pub const MIRAGE_TCB_LINES: u64 = 102_000;
    /// ... of which C.
    pub const MIRAGE_TCB_C_LINES: u64 = 56_000;
    /// Linux + glibc + OpenSSL, lines.
    pub const LINUX_OPENSSL_LINES: u64 = 2_560_000;
    /// Where the figures come from.
    pub const CITATION: &str = "MirageOS Bitcoin Piñata (2015 announcement, 2018 retrospective), \
        as quoted in docs/DESIGN.md";
}

// The targets for the figures this report measures.

/// Stripped image ≤ 1.0 MB (SI, like the original's "4.4 MB").
pub const STRIPPED_MAX: u64 = 1_000_000;
/// Compiled TCB ≤ the original's 102 kloc.
pub const TCB_MAX_LINES: u64 = 102_000;
/// C ≤ 10 % of the TCB.
pub const C_MAX_SHARE: f64 = 0.10;

/// One target: (name, measured text, target text, met, margin text).
pub struct Verdict {
    pub name: &'static str,
    pub measured: String,
    pub target: String,
    pub met: Option<bool>,
    pub margin: String,
}

pub fn verdicts(image: &Binary) -> Vec<Verdict> {
    let mut v = Vec::new();
    match image.sizes.stripped {
        Some(s) => {
            let met = s <= STRIPPED_MAX;
            let diff = s.abs_diff(STRIPPED_MAX);
            v.push(Verdict {
                name: "stripped image",
                measured: format!("{} bytes", thousands(s)),
                target: format!("≤ {} bytes (1.0 MB)", thousands(STRIPPED_MAX)),
                met: Some(met),
                margin: format!(
                    "{} by {} bytes ({:.1} %)",
                    if met { "under" } else { "over" },
                    thousands(diff),
                    100.0 * diff as f64 / STRIPPED_MAX as f64
                ),
            });
        }
        None => v.push(Verdict {
            name: "stripped image",
            measured: "n/a (no objcopy)".into(),
            target: "≤ 1.0 MB".into(),
            met: None,
            margin: String::new(),
        }),
    }
    let total = image.tcb.total();
    let lines = total.code();
    let met = lines <= TCB_MAX_LINES;
    let diff = lines.abs_diff(TCB_MAX_LINES);
    v.push(Verdict {
        name: "compiled TCB",
        measured: format!("{} lines", thousands(lines)),
        target: "≤ 102,000 lines (the original's)".into(),
        met: Some(met),
        margin: format!(
            "{} by {} lines ({:.1} %)",
            if met { "under" } else { "over" },
            thousands(diff),
            100.0 * diff as f64 / TCB_MAX_LINES as f64
        ),
    });
    let share = if lines == 0 {
        0.0
    } else {
        total.c as f64 / lines as f64
    };
    v.push(Verdict {
        name: "C share of the TCB",
        measured: format!("{:.2} % ({} lines)", share * 100.0, thousands(total.c)),
        target: "≤ 10 %".into(),
        met: Some(share <= C_MAX_SHARE),
        margin: format!(
            "{:.2} percentage points {}",
            (share - C_MAX_SHARE).abs() * 100.0,
            if share <= C_MAX_SHARE {
                "under"
            } else {
                "over"
            }
        ),
    });
    v
}

pub fn met_text(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "n/a",
    }
}
