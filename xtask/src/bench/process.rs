//! The processes of a bench run: servers and load generators started as
//! children, their output lines collected in the background (secrets sent
//! and failures by reason counted, not stored), killed by their own pids
//! when dropped; CPU time from `/proc`, core pinning with `taskset`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A child process killed (by its own pid) when dropped, whose output lines
/// are collected by background threads.
pub(super) struct Proc {
    pub(super) child: Child,
    lines: Receiver<String>,
    pub(super) seen: Vec<String>,
    /// `outcome=secret_sent` lines seen so far (matching `count_filter`).
    secrets: Arc<Mutex<u64>>,
    /// `reason=` of the `outcome=failed` lines seen so far, counted.
    failures: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl Proc {
    pub(super) fn spawn(
        cmd: &mut Command,
        count_filter: Option<&'static str>,
    ) -> Result<Proc, String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
        let (tx, rx) = channel();
        let secrets = Arc::new(Mutex::new(0u64));
        let readers: Vec<Box<dyn Read + Send>> = vec![
            Box::new(child.stdout.take().expect("stdout")),
            Box::new(child.stderr.take().expect("stderr")),
        ];
        let failures = Arc::new(Mutex::new(BTreeMap::new()));
        for reader in readers {
            let tx = tx.clone();
            let secrets = secrets.clone();
            let failures = failures.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(reader).split(b'\n').map_while(Result::ok) {
                    let line = String::from_utf8_lossy(&line).trim_end().to_string();
                    if line.contains("outcome=secret_sent")
                        && count_filter.is_none_or(|f| line.contains(f))
                    {
                        *secrets.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                        continue;
                    }
                    // Keep the log small: per-connection lines are not
                    // stored, failures are counted by reason.
                    if line.contains("outcome=") {
                        if let Some(reason) = line
                            .split_whitespace()
                            .find_map(|w| w.strip_prefix("reason="))
                        {
                            *failures
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .entry(reason.to_string())
                                .or_default() += 1;
                        }
                        continue;
                    }
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        Ok(Proc {
            child,
            lines: rx,
            seen: Vec::new(),
            secrets,
            failures,
        })
    }

    pub(super) fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        if let Some(l) = self.seen.iter().find(|l| pred(l)) {
            return Ok(l.clone());
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return Ok(line);
                    }
                }
                Err(_) => {
                    return Err(format!(
                        "timed out waiting for {what}; output:\n{}",
                        self.seen.join("\n")
                    ));
                }
            }
        }
    }

    pub(super) fn drain(&mut self) {
        while let Ok(l) = self.lines.try_recv() {
            self.seen.push(l);
        }
    }

    pub(super) fn failures(&self) -> BTreeMap<String, u64> {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn secrets(&self) -> u64 {
        *self.secrets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// User + system CPU time of the process (all threads), in seconds.
    pub(super) fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(self.child.id())
    }

    pub(super) fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// One HTTP GET; the whole response.
pub(super) fn http_get(addr: &str, path: &str, timeout: Duration) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect_timeout(&addr.parse().ok()?, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").ok()?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_time_is_readable() {
        assert!(cpu_seconds(std::process::id()).is_some());
    }
}
