//! `report.json`, and the summary printed from it.

use serde_json::{Value, json};

use super::Binary;
use super::numbers::ratio;
use super::targets::{reference, verdicts};

fn binary_json(bin: &Binary) -> Value {
    let total = bin.tcb.total();
    json!({
        "name": bin.name,
        "path": bin.path.display().to_string(),
        "elf_bytes": bin.sizes.elf,
        "stripped_bytes": bin.sizes.stripped,
        "xz_bytes": bin.sizes.xz,
        "sha256": bin.sizes.sha256,
        "notes": bin.sizes.notes,
        "sections": bin.sections.iter().map(|(n, s, a)| json!({"name": n, "bytes": s, "loaded": a})).collect::<Vec<_>>(),
        "crate_bytes": bin.crates.iter().map(|(n, b)| (n.clone(), json!({"code": b.code, "data": b.data, "bss": b.bss}))).collect::<serde_json::Map<_, _>>(),
        "tcb": {
            "lines": total.code(),
            "rust": total.rust,
            "c": total.c,
            "asm": total.asm,
            "test_lines_excluded": total.test_lines,
            "unsafe": total.unsafe_json(),
            "crates": bin.tcb.crates.iter().map(|(n, c)| (n.clone(), json!({
                "version": c.version,
                "source": c.source,
                "files": c.files,
                "rust": c.counts.rust,
                "c": c.counts.c,
                "asm": c.counts.asm,
                "lines": c.counts.code(),
                "unsafe": c.counts.unsafe_json(),
            }))).collect::<serde_json::Map<_, _>>(),
            "build_time_only": bin.tcb.build_time,
            "other_files": bin.tcb.other_files,
            "not_lexed": bin.tcb.not_lexed,
        },
        "linked": bin.linked.as_ref().map(|l| json!({
            "lines": l.total(),
            "toolchain_lines": l.toolchain,
            "unmatched_lines": l.unmatched,
            "unmatched_examples": l.unmatched_examples,
            "text_same_as_image": l.same_text,
            "text_bytes": l.text_bytes,
            "image_text_bytes": l.image_text_bytes,
            "crates": l.crates,
        })),
    })
}

pub fn report(image: &Binary, hosted: Option<&Binary>) -> Value {
    let total = image.tcb.total();
    json!({
        "image": binary_json(image),
        "hosted": hosted.map(binary_json),
        "reference": {
            "citation": reference::CITATION,
            "mirage_image_2015_bytes": reference::MIRAGE_IMAGE_2015,
            "mirage_stripped_2018_bytes": reference::MIRAGE_STRIPPED_2018,
            "mirage_tcb_lines": reference::MIRAGE_TCB_LINES,
            "mirage_tcb_c_lines": reference::MIRAGE_TCB_C_LINES,
            "linux_glibc_openssl_lines": reference::LINUX_OPENSSL_LINES,
        },
        "ratios": {
            "elf_vs_mirage_2015": ratio(image.sizes.elf, reference::MIRAGE_IMAGE_2015),
            "stripped_vs_mirage_2018": image.sizes.stripped.map(|s| ratio(s, reference::MIRAGE_STRIPPED_2018)),
            "tcb_vs_mirage": ratio(total.code(), reference::MIRAGE_TCB_LINES),
            "c_vs_mirage_c": ratio(total.c, reference::MIRAGE_TCB_C_LINES),
            "tcb_vs_linux_glibc_openssl": ratio(total.code(), reference::LINUX_OPENSSL_LINES),
        },
        "targets": verdicts(image).iter().map(|v| json!({
            "name": v.name, "measured": v.measured, "target": v.target,
            "met": v.met, "margin": v.margin,
        })).collect::<Vec<_>>(),
    })
}

pub fn print_summary(report: &Value) {
    let image = &report["image"];
    println!(
        "size-report: image {} B, stripped {} B, xz {} B, sha256 {}",
        image["elf_bytes"], image["stripped_bytes"], image["xz_bytes"], image["sha256"]
    );
    let tcb = &image["tcb"];
    println!(
        "size-report: compiled TCB {} lines (Rust {}, C {}, asm {}), unsafe: {}",
        tcb["lines"], tcb["rust"], tcb["c"], tcb["asm"], tcb["unsafe"]
    );
    let linked = &image["linked"];
    if !linked.is_null() {
        println!(
            "size-report: lines linked into the image {} (core/alloc apart: {}; .text of the line-table build {} B, the image's {} B)",
            linked["lines"],
            linked["toolchain_lines"],
            linked["text_bytes"],
            linked["image_text_bytes"]
        );
    }
    for t in report["targets"].as_array().into_iter().flatten() {
        let verdict = match t["met"].as_bool() {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "n/a",
        };
        println!(
            "size-report: target {}: {} (target {}): {} {}",
            t["name"].as_str().unwrap_or(""),
            t["measured"].as_str().unwrap_or(""),
            t["target"].as_str().unwrap_or(""),
            verdict,
            t["margin"].as_str().unwrap_or("")
        );
    }
}
