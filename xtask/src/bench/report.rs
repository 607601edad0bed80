//! The results: rows, facts and targets as they are measured, printed as
//! they come and written to `<target>/bench/results.{md,json}` at the end.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use crate::image;

use super::measure::Figure;

/// Rows of the results: (group, label, figure).
#[derive(Default)]
pub(super) struct Results {
    pub(super) rows: Vec<(String, String, Figure)>,
    facts: Vec<(String, String)>,
    pub(super) targets: Vec<Value>,
    pub(super) json: serde_json::Map<String, Value>,
}

impl Results {
    pub(super) fn add(&mut self, group: &str, label: &str, f: Figure) {
        println!(
            "bench: {group:<40} {label:<28} {:>9.1}/s  {:>9}  failed {}{}",
            f.rate,
            f.per_cpu
                .map(|c| format!("{c:.1}/cpu-s"))
                .unwrap_or_else(|| "-".into()),
            f.failed,
            if f.note.is_empty() {
                String::new()
            } else {
                format!("  ({})", short(&f.note))
            }
        );
        self.rows.push((group.into(), label.into(), f));
    }

    pub(super) fn fact(&mut self, name: &str, value: String) {
        println!("bench: {name}: {value}");
        self.facts.push((name.into(), value));
    }

    pub(super) fn target(
        &mut self,
        name: &str,
        measured: String,
        target: &str,
        met: Option<bool>,
        margin: String,
    ) {
        let verdict = match met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "n/a",
        };
        println!("bench: target {name}: {measured} (target {target}): {verdict} {margin}");
        self.targets.push(json!({
            "name": name, "measured": measured, "target": target, "met": met, "margin": margin,
        }));
    }
}

pub(super) fn short(s: &str) -> String {
    let s = s.replace('\n', " ");
    if s.len() > 100 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(100).map(|(i, _)| i).unwrap_or(s.len())]
        )
    } else {
        s
    }
}

pub(super) fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

pub(super) fn ratio_text(ours: &Figure, theirs: &Figure) -> String {
    let wall = ratio(ours.rate, theirs.rate)
        .map(|x| format!("{x:.2}×"))
        .unwrap_or_else(|| "n/a".into());
    let cpu = match (ours.per_cpu, theirs.per_cpu) {
        (Some(a), Some(b)) => ratio(a, b)
            .map(|x| format!("; per CPU-second {x:.2}× ({a:.1} vs {b:.1})"))
            .unwrap_or_default(),
        _ => String::new(),
    };
    format!("{wall} ({:.1}/s vs {:.1}/s){cpu}", ours.rate, theirs.rate)
}

pub(super) fn write_results(root: &Path, r: &Results) -> Result<(), String> {
    let out = image::target_dir(root).join("bench");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let mut md = String::new();
    let _ = writeln!(md, "# cargo xtask bench\n");
    for (k, v) in &r.facts {
        let _ = writeln!(md, "- **{k}**: {v}");
    }
    let _ = writeln!(
        md,
        "\n| figure | server | per second | per CPU-second | failed |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|");
    for (g, l, f) in &r.rows {
        let _ = writeln!(
            md,
            "| {g} | {l} | {:.1} | {} | {} |",
            f.rate,
            f.per_cpu
                .map(|c| format!("{c:.1}"))
                .unwrap_or_else(|| "–".into()),
            f.failed
        );
    }
    let _ = writeln!(md, "\n| target | measured | target | verdict | margin |");
    let _ = writeln!(md, "|---|---|---|---|---|");
    for t in &r.targets {
        let verdict = match t["met"].as_bool() {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "n/a",
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {verdict} | {} |",
            t["name"].as_str().unwrap_or(""),
            t["measured"].as_str().unwrap_or(""),
            t["target"].as_str().unwrap_or(""),
            t["margin"].as_str().unwrap_or("")
        );
    }
    let json = json!({
        "facts": r.facts.iter().map(|(k, v)| (k.clone(), Value::from(v.clone()))).collect::<serde_json::Map<_, _>>(),
        "figures": r.json,
        "rows": r.rows.iter().map(|(g, l, f)| json!({"figure": g, "server": l, "rate": f.rate, "per_cpu_second": f.per_cpu, "failed": f.failed, "note": f.note})).collect::<Vec<_>>(),
        "targets": r.targets,
    });
    std::fs::write(out.join("results.md"), md).map_err(|e| e.to_string())?;
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&json).unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    eprintln!(
        "xtask: bench results in {}/results.{{md,json}}",
        out.display()
    );
    Ok(())
}
