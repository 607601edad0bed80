//! One figure: the load generator against one server for a window, per
//! wall-clock second and per CPU-second of the server, the median over
//! `--runs` windows with the servers taking turns.

use std::time::{Duration, Instant};

use super::Options;
use super::builds::Binaries;
use super::process::{Proc, pinned};

/// One measured figure: the median over runs.
#[derive(Clone, Debug, Default)]
pub(super) struct Figure {
    /// Completions per wall-clock second (median).
    pub(super) rate: f64,
    /// Completions per CPU-second of the server (median), when known.
    pub(super) per_cpu: Option<f64>,
    pub(super) failed: u64,
    pub(super) note: String,
}

pub(super) fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A server under test: its process (for CPU time and log counts) and how
/// the load generator reaches it.
pub(super) struct Server<'a> {
    pub(super) label: String,
    pub(super) proc: &'a Proc,
    pub(super) loadgen_args: Vec<String>,
    /// Count completions from the server's `outcome=secret_sent` lines
    /// instead of the load generator's (the short-circuit).
    pub(super) by_log: bool,
}

/// One window of the load generator against `server`.
pub(super) fn window(
    b: &Binaries,
    o: &Options,
    server: &Server,
) -> Result<(f64, Option<f64>, u64, String), String> {
    let cpu0 = server.proc.cpu_seconds();
    let log0 = server.proc.secrets();
    let failures0 = server.proc.failures();
    let started = Instant::now();
    let mut cmd = pinned(1, &b.loadgen);
    cmd.args(&server.loadgen_args)
        .args(["--seconds", &o.seconds.to_string()])
        .args(["--concurrency", &o.concurrency.to_string()]);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run loadgen: {e}"))?;
    let elapsed = started.elapsed().as_secs_f64();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .find(|l| l.starts_with("loadgen: completed"))
        .ok_or_else(|| format!("loadgen printed no result: {text}"))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let field = |name: &str| -> f64 {
        words
            .iter()
            .position(|w| *w == name)
            .and_then(|i| words.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let mut error = text
        .lines()
        .find_map(|l| l.strip_prefix("loadgen: first error: "))
        .unwrap_or("")
        .to_string();
    // Let the server's last log lines arrive.
    std::thread::sleep(Duration::from_millis(200));
    let failures: Vec<String> = server
        .proc
        .failures()
        .into_iter()
        .filter_map(|(reason, n)| {
            let before = failures0.get(&reason).copied().unwrap_or(0);
            (n > before).then(|| format!("{reason}×{}", n - before))
        })
        .collect();
    if !failures.is_empty() {
        error = format!("{error}; server log: {}", failures.join(", "));
    }
    let (completed, seconds) = if server.by_log {
        ((server.proc.secrets() - log0) as f64, elapsed.max(0.001))
    } else {
        (field("completed"), field("seconds").max(0.001))
    };
    let cpu = match (cpu0, server.proc.cpu_seconds()) {
        (Some(a), Some(b)) if b > a => Some(completed / (b - a)),
        _ => None,
    };
    Ok((completed / seconds, cpu, field("failed") as u64, error))
}

/// Measures every server in turn, `runs` times, and returns their medians.
pub(super) fn compare(b: &Binaries, o: &Options, servers: &[Server]) -> Vec<Figure> {
    let mut rates = vec![Vec::new(); servers.len()];
    let mut cpus = vec![Vec::new(); servers.len()];
    let mut failed = vec![0u64; servers.len()];
    let mut notes = vec![String::new(); servers.len()];
    for _ in 0..o.runs {
        for (i, s) in servers.iter().enumerate() {
            match window(b, o, s) {
                Ok((rate, cpu, f, error)) => {
                    rates[i].push(rate);
                    if let Some(c) = cpu {
                        cpus[i].push(c);
                    }
                    failed[i] += f;
                    if !error.is_empty() && notes[i].is_empty() {
                        notes[i] = error;
                    }
                }
                Err(e) => notes[i] = e,
            }
        }
    }
    (0..servers.len())
        .map(|i| Figure {
            rate: median(rates[i].clone()),
            per_cpu: (!cpus[i].is_empty()).then(|| median(cpus[i].clone())),
            failed: failed[i],
            note: notes[i].clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(vec![]), 0.0);
    }
}
