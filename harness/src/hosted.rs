//! The hosted piñata: the `pinata` binary as an ordinary process.
//!
//! The caller builds the command (which binary, which flags, a `taskset`
//! in front); [`loopback`] adds the flags every harnessed start shares:
//! bind 127.0.0.1 and let the kernel pick every port. [`Hosted::start`]
//! runs it and waits for the ready line, then reads the chosen ports from
//! the listening lines ([`crate::listening`]). Dropping the [`Hosted`]
//! kills the process.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use crate::listening::{self, Services};
use crate::output::Keep;
use crate::{Process, Result};

/// The port flags of the `pinata` binary, in [`listening::SERVICES`] order.
pub const PORT_FLAGS: [&str; 5] = [
    "--http-port",
    "--https-port",
    "--server-port",
    "--connect-back-port",
    "--client-port",
];

/// Adds `--X-port 0` for every service: the kernel picks free ports and
/// the piñata prints them.
pub fn any_ports(cmd: &mut Command) -> &mut Command {
    for flag in PORT_FLAGS {
        cmd.args([flag, "0"]);
    }
    cmd
}

/// Adds `--bind 127.0.0.1` and [`any_ports`].
pub fn loopback(cmd: &mut Command) -> &mut Command {
    cmd.args(["--bind", "127.0.0.1"]);
    any_ports(cmd)
}

/// A running hosted piñata, killed when dropped.
pub struct Hosted {
    /// The process and its log.
    pub process: Process,
    /// Where its services listen.
    pub services: Services,
}

impl Hosted {
    /// Starts `cmd` and waits at most `limit` for its ready line; an error
    /// (with its output) if it exits first, takes longer, or does not
    /// print every service's listening line.
    pub fn start(cmd: &mut Command, limit: Duration) -> Result<Hosted> {
        Self::start_keeping(cmd, limit, None)
    }

    /// [`Self::start`], keeping only the log lines `keep` accepts
    /// ([`Process::spawn_keeping`]); it must keep the listening lines.
    pub fn start_keeping(cmd: &mut Command, limit: Duration, keep: Option<Keep>) -> Result<Hosted> {
        let process = Process::spawn_keeping(cmd, keep)?;
        process
            .out
            .wait_for("the piñata's ready line", limit, listening::is_ready)?;
        let services = Services::from_lines(&process.out.lines())?;
        Ok(Hosted { process, services })
    }

    /// Where `service` listens (panics on an unknown name).
    pub fn addr(&self, service: &str) -> SocketAddr {
        self.services.addr(service)
    }

    /// The port of `service` (panics on an unknown name).
    pub fn port(&self, service: &str) -> u16 {
        self.services.port(service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for the binary: prints the lines the event loop prints.
    fn fake(lines: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &format!("printf '{lines}'; exec sleep 600")]);
        cmd
    }

    #[test]
    fn ready_after_the_listening_lines() {
        let mut lines = String::new();
        for (i, service) in listening::SERVICES.iter().enumerate() {
            lines += &format!(
                "pinata: listening service={service} addr=127.0.0.1:{}\\n",
                2000 + i
            );
        }
        lines += "pinata: ready; page at x\\n";
        let hosted = Hosted::start(&mut fake(&lines), Duration::from_secs(30)).unwrap();
        assert_eq!(hosted.port("connect_back"), 2003);
    }

    #[test]
    fn an_exit_before_ready_is_an_error_with_the_output() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo 'pinata: bad flag' >&2; exit 2"]);
        let err = Hosted::start(&mut cmd, Duration::from_secs(30))
            .err()
            .unwrap();
        assert!(err.message().contains("pinata: bad flag"), "{err}");
    }

    #[test]
    fn the_loopback_flags() {
        let mut cmd = Command::new("pinata");
        loopback(&mut cmd);
        let args: Vec<_> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args[..4], ["--bind", "127.0.0.1", "--http-port", "0"]);
        assert_eq!(args.len(), 12);
    }
}
