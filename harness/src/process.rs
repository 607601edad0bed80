//! A child process that is killed when dropped, with its output collected.
//!
//! Whatever a test or tool starts (the piñata, QEMU, `openssl s_server`)
//! is stopped when its [`Process`] goes out of scope, also when the caller
//! panics or returns early. Its stdin is a pipe held open for the life of
//! the process: some tools (`openssl s_server`) stop at the end of their
//! input, and QEMU's `-serial mon:stdio` then reads nothing.

use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::output::{Keep, Output};
use crate::{Error, Result};

/// A running child process and its output.
pub struct Process {
    /// The child (its pid, its exit status).
    pub child: Child,
    /// Its stdout and stderr, line by line.
    pub out: Output,
    _stdin: Option<ChildStdin>,
}

impl Process {
    /// Starts `cmd` with its output collected.
    pub fn spawn(cmd: &mut Command) -> Result<Process> {
        Self::spawn_keeping(cmd, None)
    }

    /// Starts `cmd`, keeping only the output lines `keep` accepts (it sees
    /// every line, so it can count the ones it drops).
    pub fn spawn_keeping(cmd: &mut Command, keep: Option<Keep>) -> Result<Process> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::new(format!("cannot start {cmd:?}: {e}")))?;
        let out = Output::new();
        if let Some(stdout) = child.stdout.take() {
            out.collect(stdout, keep.clone());
        }
        if let Some(stderr) = child.stderr.take() {
            out.collect(stderr, keep);
        }
        Ok(Process {
            _stdin: child.stdin.take(),
            child,
            out,
        })
    }

    /// The exit status, if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops the process (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits at most `limit` for the process to end its output (exit),
    /// killing it otherwise; returns everything it printed.
    pub fn finish(mut self, limit: Duration) -> Result<String> {
        let lines = self.out.wait_closed(limit);
        if lines.is_err() {
            self.kill();
        }
        let _ = self.child.wait();
        Ok(lines?.join("\n"))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_of_both_streams_and_the_exit() {
        let mut p =
            Process::spawn(Command::new("sh").args(["-c", "echo out; echo err >&2"])).unwrap();
        p.out
            .wait_for("err", Duration::from_secs(10), |l| l == "err")
            .unwrap();
        let _ = p.child.wait();
        assert!(p.exited().is_some());
        let mut text = p.finish(Duration::from_secs(10)).unwrap();
        text = text
            .lines()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(text, "err,out");
    }

    #[test]
    fn dropping_kills() {
        let p = Process::spawn(Command::new("sleep").arg("600")).unwrap();
        let pid = p.child.id();
        drop(p);
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn a_program_that_does_not_exist_is_an_error() {
        let err = Process::spawn(&mut Command::new("/nonexistent/pinata"))
            .err()
            .unwrap();
        assert!(err.message().starts_with("cannot start"), "{err}");
    }
}
