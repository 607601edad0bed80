//! A child process's output, line by line, as it arrives.
//!
//! Background threads read the child's stdout and stderr (tools differ in
//! where they print) into one shared list of lines; any thread can look at
//! the list or wait, without polling, for a line that matches. Each line is
//! [`normalize`]d: a serial console's trailing CR and the unikernel's
//! `[   0.012345] ` timestamp are taken off, so the hosted runner and the
//! guest read alike. The list closes when every stream has ended, which is
//! how a wait learns that the process exited.

use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// Which lines to keep: lines it returns `false` for are dropped (a
/// benchmark counts its per-connection lines instead of storing them).
pub type Keep = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The lines a process printed so far; cloning shares them.
#[derive(Clone, Default)]
pub struct Output {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    lines: Vec<String>,
    /// Streams still being read.
    open: usize,
}

/// One console line as callers match it: without the trailing CR of a
/// serial console and without the unikernel's `[   0.012345] ` prefix.
pub fn normalize(line: &str) -> &str {
    let line = line.trim_end_matches('\r');
    match line
        .strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
    {
        Some((stamp, text)) if stamp.trim().chars().all(|c| c.is_ascii_digit() || c == '.') => text,
        _ => line,
    }
}

impl Output {
    /// An empty output with no stream yet.
    pub fn new() -> Output {
        Output::default()
    }

    /// Reads `reader` line by line on a background thread into this
    /// output, keeping the lines `keep` (if any) accepts.
    pub fn collect(&self, reader: impl Read + Send + 'static, keep: Option<Keep>) {
        self.lock().open += 1;
        let shared = self.shared.clone();
        thread::spawn(move || {
            for line in BufReader::new(reader).split(b'\n').map_while(|l| l.ok()) {
                let line = String::from_utf8_lossy(&line);
                let line = normalize(&line);
                if keep.as_ref().is_none_or(|keep| keep(line)) {
                    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
                    state.lines.push(line.to_string());
                    shared.changed.notify_all();
                }
            }
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            state.open -= 1;
            shared.changed.notify_all();
        });
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.lock().lines.clone()
    }

    /// Every line so far, one per line.
    pub fn text(&self) -> String {
        self.lock().lines.join("\n")
    }

    /// How many lines so far (a mark for [`Self::since`]).
    pub fn len(&self) -> usize {
        self.lock().lines.len()
    }

    /// Whether nothing was printed yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The lines after the first `mark`.
    pub fn since(&self, mark: usize) -> Vec<String> {
        let state = self.lock();
        state.lines.get(mark..).unwrap_or_default().to_vec()
    }

    /// The first line so far that matches `pred`.
    pub fn find(&self, pred: impl Fn(&str) -> bool) -> Option<String> {
        self.lock().lines.iter().find(|l| pred(l)).cloned()
    }

    /// Whether every stream has ended (the process exited, or closed them).
    pub fn closed(&self) -> bool {
        self.lock().open == 0
    }

    /// Waits at most `limit` for a line matching `pred` (lines already
    /// printed count too); `what` names it in the error.
    pub fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String> {
        self.wait_nth(what, 1, limit, pred)
    }

    /// Waits at most `limit` until `n` (from 1) lines in all match `pred`;
    /// returns the n-th.
    pub fn wait_nth(
        &self,
        what: &str,
        n: usize,
        limit: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String> {
        self.wait(
            limit,
            |state| {
                let nth = state
                    .lines
                    .iter()
                    .filter(|l| pred(l))
                    .nth(n.saturating_sub(1));
                match nth {
                    Some(line) => Some(Ok(line.clone())),
                    None if state.open == 0 => Some(Err(Error::new(format!(
                        "the output ended before {what}; output:\n{}",
                        state.lines.join("\n")
                    )))),
                    None => None,
                }
            },
            &format!("{what}; output so far"),
        )
    }

    /// Waits at most `limit` until every stream has ended; returns all lines.
    pub fn wait_closed(&self, limit: Duration) -> Result<Vec<String>> {
        self.wait(
            limit,
            |state| (state.open == 0).then(|| Ok(state.lines.clone())),
            "the end of the output",
        )
    }

    /// Sleeps until `check` gives an answer (looked at now and after each
    /// change) or `limit` passes: then a time-out error naming `what`.
    fn wait<T>(
        &self,
        limit: Duration,
        mut check: impl FnMut(&State) -> Option<Result<T>>,
        what: &str,
    ) -> Result<T> {
        let deadline = Instant::now() + limit;
        let mut state = self.lock();
        loop {
            if let Some(answer) = check(&state) {
                return answer;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::new(format!(
                    "timed out after {limit:?} waiting for {what}:\n{}",
                    state.lines.join("\n")
                )));
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_lose_their_timestamp_and_cr() {
        assert_eq!(normalize("[   0.012345] pinata: ready\r"), "pinata: ready");
        assert_eq!(normalize("pinata: ready"), "pinata: ready");
        // Brackets that are not a timestamp stay.
        assert_eq!(normalize("[warn] x"), "[warn] x");
    }

    #[test]
    fn waits_see_old_and_new_lines_and_the_end() {
        let out = Output::new();
        out.collect(&b"a\r\n[ 1.5] b\nc"[..], Some(Arc::new(|l: &str| l != "c")));
        assert_eq!(out.wait_closed(Duration::from_secs(5)).unwrap(), ["a", "b"]);
        assert_eq!(
            out.wait_for("b", Duration::ZERO, |l| l == "b").unwrap(),
            "b"
        );
        assert_eq!(out.since(1), ["b"]);
        let err = out
            .wait_for("z", Duration::from_secs(5), |l| l == "z")
            .unwrap_err();
        assert!(
            err.message().starts_with("the output ended before z"),
            "{err}"
        );
    }

    #[test]
    fn a_wait_ends_when_its_time_is_up() {
        let (reader, _writer) = std::io::pipe().unwrap();
        let out = Output::new();
        out.collect(reader, None);
        let err = out
            .wait_nth("two", 2, Duration::from_millis(50), |_| true)
            .unwrap_err();
        assert!(err.message().starts_with("timed out"), "{err}");
        assert!(!out.closed());
    }
}
