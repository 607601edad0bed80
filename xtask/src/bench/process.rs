//! The processes of a bench run: servers and load generators started as
//! children through the harness (`harness/`: killed when dropped, output
//! collected), with the outcome lines counted (secrets sent, failures by
//! reason) instead of stored; CPU time from `/proc`, core pinning with
//! `taskset`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::Process;
use harness::output::Keep;

/// A child process (the harness's: killed when dropped, its output
/// collected) and the outcome lines counted instead of stored.
pub(super) struct Proc {
    pub(super) process: Process,
    counts: Counts,
}

/// `outcome=secret_sent` lines (matching a filter) and the `reason=` of
/// the failed ones, counted as they arrive.
#[derive(Clone, Default)]
pub(super) struct Counts {
    secrets: Arc<Mutex<u64>>,
    failures: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl Counts {
    /// The output filter that counts: per-connection lines are not stored
    /// (a long run would keep millions), secrets sent (matching
    /// `count_filter`) and failures by reason are counted.
    pub(super) fn keep(&self, count_filter: Option<&'static str>) -> Keep {
        let counts = self.clone();
        Arc::new(move |line: &str| {
            if line.contains("outcome=secret_sent") && count_filter.is_none_or(|f| line.contains(f))
            {
                *counts.secrets.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                return false;
            }
            if line.contains("outcome=") {
                if let Some(reason) = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("reason="))
                {
                    *counts
                        .failures
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(reason.to_string())
                        .or_default() += 1;
                }
                return false;
            }
            true
        })
    }
}

impl Proc {
    pub(super) fn spawn(
        cmd: &mut Command,
        count_filter: Option<&'static str>,
    ) -> Result<Proc, String> {
        let counts = Counts::default();
        let process = Process::spawn_keeping(cmd, Some(counts.keep(count_filter)))?;
        Ok(Proc { process, counts })
    }

    /// A process started elsewhere (the harness's hosted start or VM boot)
    /// with `counts`' filter.
    pub(super) fn with_counts(process: Process, counts: Counts) -> Proc {
        Proc { process, counts }
    }

    pub(super) fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        Ok(self.process.out.wait_for(what, limit, pred)?)
    }

    pub(super) fn failures(&self) -> BTreeMap<String, u64> {
        self.counts
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn secrets(&self) -> u64 {
        *self
            .counts
            .secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// User + system CPU time of the process (all threads), in seconds.
    pub(super) fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(self.process.child.id())
    }

    pub(super) fn exited(&mut self) -> bool {
        self.process.exited().is_some()
    }
}

pub(super) fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on Linux.
    Some((utime + stime) / 100.0)
}

/// `taskset -c CORE program…` when taskset exists and the machine has more
/// than one core; the program itself otherwise.
pub(super) fn pinned(core: usize, program: impl AsRef<std::ffi::OsStr>) -> Command {
    if has_taskset() && cores() > 1 {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(core.to_string()).arg(program);
        c
    } else {
        Command::new(program)
    }
}

pub(super) fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub(super) fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// GET `path` from `addr` (10 s at most): the whole response, head and body.
pub(super) fn get(addr: SocketAddr, path: &str) -> Result<Vec<u8>, String> {
    let response = harness::http::get(addr, path, Duration::from_secs(10))
        .map_err(|e| format!("GET {path} failed: {e}"))?;
    if response.raw.is_empty() {
        return Err(format!("GET {path}: no answer"));
    }
    Ok(response.raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_time_is_readable() {
        assert!(cpu_seconds(std::process::id()).is_some());
    }
}
