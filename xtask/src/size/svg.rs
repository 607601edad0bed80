//! `report.svg`: the chart.

use std::fmt::Write as _;

use super::Binary;
use super::numbers::kb;
use super::targets::{self, reference};

/// A bar chart: image sizes and trusted code base against the original and
/// Linux + OpenSSL, on linear scales per panel, labelled with the numbers.
pub fn chart(image: &Binary) -> String {
    let total = image.tcb.total();
    let mut s = String::new();
    let width = 880.0;
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="560" viewBox="0 0 {width} 560" font-family="sans-serif" font-size="13">"##
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="20" y="28" font-size="18" font-weight="bold">Piñata: what an auditor must trust</text>"##
    );
    // Panel 1: image sizes (bytes).
    let mut bars: Vec<(String, u64, &str)> = vec![
        (
            "MirageOS piñata image (2015)".into(),
            reference::MIRAGE_IMAGE_2015,
            "#b0b0b0",
        ),
        (
            "MirageOS piñata, stripped (2018)".into(),
            reference::MIRAGE_STRIPPED_2018,
            "#b0b0b0",
        ),
        ("this image (ELF)".into(), image.sizes.elf, "#2b7bb9"),
    ];
    if let Some(st) = image.sizes.stripped {
        bars.push(("this image, stripped".into(), st, "#2b7bb9"));
    }
    if let Some(x) = image.sizes.xz {
        bars.push(("this image, stripped + xz".into(), x, "#6fa8dc"));
    }
    let _ = writeln!(
        s,
        r##"<text x="20" y="60" font-size="15" font-weight="bold">Image size (MB, 1 MB = 10^6 bytes); target: stripped ≤ 1.0 MB</text>"##
    );
    let max = bars.iter().map(|b| b.1).max().unwrap_or(1) as f64;
    let (label_w, bar_w, top) = (250.0, 480.0, 72.0);
    for (i, (label, value, colour)) in bars.iter().enumerate() {
        let y = top + i as f64 * 26.0;
        let len = (*value as f64 / max * bar_w).max(1.0);
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{}" y="{}" width="{len:.1}" height="18" fill="{colour}"/><text x="{}" y="{}">{:.2} MB</text>"##,
            20.0 + label_w - 8.0,
            y + 14.0,
            label,
            20.0 + label_w,
            y,
            20.0 + label_w + len + 6.0,
            y + 14.0,
            *value as f64 / 1e6
        );
    }
    // The 1.0 MB target line.
    let x = 20.0 + label_w + 1e6 / max * bar_w;
    let _ = writeln!(
        s,
        r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="#d62728" stroke-dasharray="4 3"/>"##,
        top - 4.0,
        top + bars.len() as f64 * 26.0
    );
    // Panel 2: TCB (kloc), stacked Rust / C / asm.
    let top2 = top + bars.len() as f64 * 26.0 + 50.0;
    let _ = writeln!(
        s,
        r##"<text x="20" y="{}" font-size="15" font-weight="bold">Trusted code base (thousands of lines); target ≤ 102 kloc, C ≤ 10 %</text>"##,
        top2 - 12.0
    );
    let rows: Vec<(&str, Vec<(u64, &str)>)> = vec![
        (
            "Linux + glibc + OpenSSL",
            vec![(reference::LINUX_OPENSSL_LINES, "#b0b0b0")],
        ),
        (
            "MirageOS piñata",
            vec![
                (
                    reference::MIRAGE_TCB_LINES - reference::MIRAGE_TCB_C_LINES,
                    "#2b7bb9",
                ),
                (reference::MIRAGE_TCB_C_LINES, "#e69138"),
            ],
        ),
        (
            "this image",
            vec![
                (total.rust, "#2b7bb9"),
                (total.c, "#e69138"),
                (total.asm, "#6aa84f"),
            ],
        ),
    ];
    let max = reference::LINUX_OPENSSL_LINES as f64;
    for (i, (label, parts)) in rows.iter().enumerate() {
        let y = top2 + i as f64 * 30.0;
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end">{}</text>"##,
            20.0 + label_w - 8.0,
            y + 15.0,
            label
        );
        let mut x = 20.0 + label_w;
        let mut sum = 0;
        for (value, colour) in parts {
            let len = *value as f64 / max * bar_w;
            let _ = writeln!(
                s,
                r##"<rect x="{x:.1}" y="{y}" width="{:.1}" height="20" fill="{colour}"/>"##,
                len.max(if *value > 0 { 1.0 } else { 0.0 })
            );
            x += len;
            sum += value;
        }
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{}">{:.1} kloc</text>"##,
            x.max(20.0 + label_w + 1.0) + 6.0,
            y + 15.0,
            sum as f64 / 1000.0
        );
    }
    // The 102 kloc target line.
    let x = 20.0 + label_w + targets::TCB_MAX_LINES as f64 / max * bar_w;
    let _ = writeln!(
        s,
        r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="#d62728" stroke-dasharray="4 3"/>"##,
        top2 - 4.0,
        top2 + rows.len() as f64 * 30.0
    );
    let legend_y = top2 + rows.len() as f64 * 30.0 + 10.0;
    let mut x = 20.0 + label_w;
    for (name, colour) in [
        ("Rust / OCaml", "#2b7bb9"),
        ("C", "#e69138"),
        ("assembly", "#6aa84f"),
        ("reference", "#b0b0b0"),
        ("target", "#d62728"),
    ] {
        let _ = writeln!(
            s,
            r##"<rect x="{x}" y="{legend_y}" width="12" height="12" fill="{colour}"/><text x="{}" y="{}">{name}</text>"##,
            x + 16.0,
            legend_y + 11.0
        );
        // Approximate text width at 13 px plus the swatch and a gap.
        x += 16.0 + 7.5 * name.chars().count() as f64 + 24.0;
    }
    // Panel 3: the ten biggest crates of the image (code + data bytes).
    let top3 = legend_y + 50.0;
    let _ = writeln!(
        s,
        r##"<text x="20" y="{}" font-size="15" font-weight="bold">Largest contributors to the image (KB of code + data)</text>"##,
        top3 - 12.0
    );
    let mut crates: Vec<_> = image.crates.iter().collect();
    crates.sort_by_key(|(_, b)| std::cmp::Reverse(b.code + b.data));
    let max = crates.first().map(|(_, b)| b.code + b.data).unwrap_or(1) as f64;
    let shown = crates.len().min(8);
    for (i, (name, b)) in crates.iter().take(shown).enumerate() {
        let y = top3 + i as f64 * 20.0;
        let len = ((b.code + b.data) as f64 / max * bar_w).max(1.0);
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{}" y="{y}" width="{len:.1}" height="15" fill="#2b7bb9"/><text x="{}" y="{}">{}</text>"##,
            20.0 + label_w - 8.0,
            y + 12.0,
            name,
            20.0 + label_w,
            20.0 + label_w + len + 6.0,
            y + 12.0,
            kb(b.code + b.data)
        );
    }
    let end = top3 + shown as f64 * 20.0 + 20.0;
    let _ = writeln!(s, "</svg>");
    // Fit the height to the content.
    s.replacen(
        r#"height="560" viewBox="0 0 880 560""#,
        &format!(r#"height="{end:.0}" viewBox="0 0 880 {end:.0}""#),
        1,
    )
}
