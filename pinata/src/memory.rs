//! What `/stats.json` says of memory: a gauge the platform supplies.
//!
//! The application cannot measure its own memory without the platform: the
//! unikernel counts what its heap allocator hands out (`unikernel/src/heap.rs`
//! keeps the bytes in use and their high-water mark), the hosted runner asks
//! Linux for the process's resident set ([`process_usage`], `/proc/self/status`).
//! Either is handed to [`crate::Pinata::with_memory_gauge`] as a plain
//! function and read each time `/stats.json` is served, so an operator (and
//! the attack battery's `--soak`) can watch that memory does not grow with the
//! number of connections served.
//!
//! Beside the gauge, the event loop reports what its connections hold and
//! their budget ([`ConnectionMemory`], see [`crate::budget`]).
//!
//! In `/stats.json`:
//!
//! ```json
//! "memory": {"source": "heap", "used_bytes": 1234, "high_water_bytes": 5678, "capacity_bytes": 9999},
//! "connection_memory": {"held_bytes": 456, "budget_bytes": 7890}
//! ```
//!
//! `"memory": null` when the platform has no gauge; `budget_bytes` is
//! `null` when the budget is unlimited.

use alloc::string::String;
use core::fmt::Write as _;
use core::sync::atomic::{AtomicUsize, Ordering};

/// What the event loop's connections hold, and their budget, for
/// `/stats.json`: the loop sets them, the page reads them.
#[derive(Debug)]
pub struct ConnectionMemory {
    held: AtomicUsize,
    budget: AtomicUsize,
}

impl Default for ConnectionMemory {
    fn default() -> Self {
        ConnectionMemory {
            held: AtomicUsize::new(0),
            budget: AtomicUsize::new(usize::MAX),
        }
    }
}

impl ConnectionMemory {
    /// The connections hold `bytes` now.
    pub fn set_held(&self, bytes: usize) {
        self.held.store(bytes, Ordering::Relaxed);
    }

    /// Their budget is `bytes` (`usize::MAX`: unlimited).
    pub fn set_budget(&self, bytes: usize) {
        self.budget.store(bytes, Ordering::Relaxed);
    }

    /// What the connections hold.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Their budget; `None` when unlimited.
    pub fn budget(&self) -> Option<usize> {
        let budget = self.budget.load(Ordering::Relaxed);
        (budget != usize::MAX).then_some(budget)
    }
}

/// What the figures measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemorySource {
    /// Bytes handed out by the heap allocator (the unikernel): exact.
    Heap,
    /// The process's resident set (hosted): includes code, stacks and the
    /// allocator's own caching, so it moves in pages and never shrinks much.
    Process,
}

impl MemorySource {
    /// The source's name in `/stats.json`.
    pub const fn name(self) -> &'static str {
        match self {
            MemorySource::Heap => "heap",
            MemorySource::Process => "process",
        }
    }
}

/// One reading of the platform's memory gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUsage {
    /// What the figures measure.
    pub source: MemorySource,
    /// In use now.
    pub used_bytes: u64,
    /// The most ever in use since start.
    pub high_water_bytes: u64,
    /// All there is to use (the heap's size), when known.
    pub capacity_bytes: Option<u64>,
}

/// The platform's gauge: `None` when it cannot tell right now.
pub type MemoryGauge = fn() -> Option<MemoryUsage>;

/// Appends `"memory":{…}` (or `"memory":null`) for `/stats.json`.
pub fn write_json(usage: Option<MemoryUsage>, out: &mut String) {
    out.push_str("\"memory\":");
    let Some(usage) = usage else {
        out.push_str("null");
        return;
    };
    let _ = write!(
        out,
        "{{\"source\":\"{}\",\"used_bytes\":{},\"high_water_bytes\":{},\"capacity_bytes\":",
        usage.source.name(),
        usage.used_bytes,
        usage.high_water_bytes
    );
    match usage.capacity_bytes {
        Some(capacity) => {
            let _ = write!(out, "{capacity}}}");
        }
        None => out.push_str("null}"),
    }
}

/// Appends `"connection_memory":{"held_bytes":…,"budget_bytes":…}` for
/// `/stats.json` (`budget_bytes` null when unlimited).
pub fn write_connections_json(connections: &ConnectionMemory, out: &mut String) {
    let _ = write!(
        out,
        "\"connection_memory\":{{\"held_bytes\":{},\"budget_bytes\":",
        connections.held()
    );
    match connections.budget() {
        Some(budget) => {
            let _ = write!(out, "{budget}}}");
        }
        None => out.push_str("null}"),
    }
}

/// The hosted gauge: `VmRSS` and `VmHWM` (the kernel's own high-water mark
/// of the resident set) from `/proc/self/status`, read at most once per
/// [`PROCESS_USAGE_FRESH_MS`]: the kernel formats the whole file for each
/// read, and reading it for every page cost 3 % of an HTTPS handshake's CPU
/// time.
#[cfg(feature = "std")]
pub fn process_usage() -> Option<MemoryUsage> {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    static LAST: Mutex<Option<(Instant, MemoryUsage)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((read_at, usage)) = *last
        && read_at.elapsed() < Duration::from_millis(PROCESS_USAGE_FRESH_MS)
    {
        return Some(usage);
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let usage = parse_proc_status(&status)?;
    *last = Some((Instant::now(), usage));
    Some(usage)
}

/// How long one reading of [`process_usage`] serves, in milliseconds.
pub const PROCESS_USAGE_FRESH_MS: u64 = 1_000;

/// `VmRSS` and `VmHWM` from the text of `/proc/<pid>/status`.
pub fn parse_proc_status(status: &str) -> Option<MemoryUsage> {
    let kib = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        let mut words = line[key.len()..].split_whitespace();
        let value: u64 = words.next()?.parse().ok()?;
        match words.next() {
            Some("kB") => value.checked_mul(1024),
            _ => None,
        }
    };
    Some(MemoryUsage {
        source: MemorySource::Process,
        used_bytes: kib("VmRSS:")?,
        high_water_bytes: kib("VmHWM:")?,
        capacity_bytes: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shapes() {
        let mut out = String::new();
        write_json(None, &mut out);
        assert_eq!(out, "\"memory\":null");
        out.clear();
        write_json(
            Some(MemoryUsage {
                source: MemorySource::Heap,
                used_bytes: 10,
                high_water_bytes: 20,
                capacity_bytes: Some(30),
            }),
            &mut out,
        );
        assert_eq!(
            out,
            "\"memory\":{\"source\":\"heap\",\"used_bytes\":10,\"high_water_bytes\":20,\"capacity_bytes\":30}"
        );
        out.clear();
        write_json(
            Some(MemoryUsage {
                source: MemorySource::Process,
                used_bytes: 1,
                high_water_bytes: 2,
                capacity_bytes: None,
            }),
            &mut out,
        );
        assert!(out.ends_with("\"capacity_bytes\":null}"), "{out}");
    }

    #[test]
    fn connections_json() {
        let connections = ConnectionMemory::default();
        let mut out = String::new();
        write_connections_json(&connections, &mut out);
        assert_eq!(
            out,
            "\"connection_memory\":{\"held_bytes\":0,\"budget_bytes\":null}"
        );
        connections.set_held(5);
        connections.set_budget(40);
        out.clear();
        write_connections_json(&connections, &mut out);
        assert_eq!(
            out,
            "\"connection_memory\":{\"held_bytes\":5,\"budget_bytes\":40}"
        );
    }

    #[test]
    fn reads_proc_status() {
        let status = "Name:\tpinata\nVmPeak:\t  99999 kB\nVmHWM:\t    8192 kB\nVmRSS:\t    4096 kB\nThreads:\t3\n";
        let usage = parse_proc_status(status).expect("parsed");
        assert_eq!(usage.source, MemorySource::Process);
        assert_eq!(usage.used_bytes, 4096 * 1024);
        assert_eq!(usage.high_water_bytes, 8192 * 1024);
        assert_eq!(usage.capacity_bytes, None);
        assert_eq!(parse_proc_status("VmRSS:\t12 kB\n"), None, "no VmHWM");
        assert_eq!(
            parse_proc_status("VmRSS:\t12 MB\nVmHWM:\t1 kB\n"),
            None,
            "unit"
        );
    }
}
