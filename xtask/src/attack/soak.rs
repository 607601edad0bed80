//! `--soak N`: many connections in a loop, then memory.

use std::io::Write;
use std::net::Shutdown;
use std::time::{Duration, Instant};

use super::net::{connect_from, read_until_close};
use super::records::Hello;
use super::target::Target;
use super::*;

/// `--soak N`: N short connections in a loop (hello, then close), then the
/// page and the target's memory.
pub(super) fn soak(target: &mut Target, n: usize, rows: &mut Vec<Row>) {
    let rss = |t: &Target| -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", t.child.id())).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let before = rss(target);
    let hello = Hello::modern().record(0x0301);
    let started = Instant::now();
    let prober = Prober::start(target.kind, target.port("http"));
    let mut ok = 0;
    for i in 0..n {
        let service = ["server", "https", "http", "client"][i % 4];
        if let Ok(mut s) = connect_from(None, target.port(service), Duration::from_secs(2)) {
            if service != "client" {
                let _ = s.write_all(&hello);
            }
            let _ = s.shutdown(Shutdown::Write);
            let _ = read_until_close(&mut s, Duration::from_secs(2));
            ok += 1;
        }
    }
    let (during, mut problems) = prober.finish();
    let after = probe_page(target.kind, target.port("http"));
    let after_rss = rss(target);
    if let Err(e) = target.alive() {
        problems.push(format!("CRASH: {e}"));
    }
    let memory = match (target.kind, before, after_rss) {
        (TargetKind::Hosted, Some(b), Some(a)) => format!("RSS {b} kB → {a} kB"),
        _ => "guest heap not reported (no high-water mark on /stats.json yet)".into(),
    };
    let row = Row {
        name: format!("soak_{n}"),
        service: "*".into(),
        sent: format!("{n} connections in a loop"),
        reply: format!("{ok} done in {} s; {memory}", started.elapsed().as_secs()),
        leak: false,
        during_ms: during.as_millis(),
        after_ms: after.as_ref().ok().map(|t| t.as_millis()),
        counters: String::new(),
        problems: {
            if let Err(e) = after {
                problems.push(format!("page after: {e}"));
            }
            problems
        },
    };
    print_row(&row);
    rows.push(row);
}
