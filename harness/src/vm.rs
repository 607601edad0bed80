//! The unikernel under QEMU, its services forwarded to free host ports.
//!
//! QEMU's user networking forwards host ports to the guest (`hostfwd`), and
//! it needs those ports on its command line: the harness picks free ones
//! and hands them to the caller's closure, which builds the command (QEMU
//! itself via `xtask/src/qemu.rs`, or `cargo xtask run --ports …`). A port
//! found free can be taken by another process before QEMU binds it; QEMU
//! then says [`PORT_TAKEN`] at once and exits, and [`boot`] tries again
//! with other ports. The guest is up when its console prints the line the
//! caller waits for (by default the ready line). Dropping the [`Vm`] kills
//! QEMU.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::listening::{READY, Services};
use crate::output::Keep;
use crate::{Error, Process, Result, ports};

/// What QEMU prints when a `hostfwd` port cannot be bound.
pub const PORT_TAKEN: &str = "Could not set up host forwarding rule";

/// How many sets of ports [`boot`] tries.
pub const ATTEMPTS: usize = 5;

/// How to boot and what to wait for.
#[derive(Clone)]
pub struct Boot<'a> {
    /// A console line containing this means the guest is up.
    pub until: &'a str,
    /// How long the boot may take; a TCG boot makes its PKI in
    /// software-emulated crypto, so allow minutes.
    pub within: Duration,
    /// Host ports to pick beyond the five services' (for forwards of the
    /// caller's own, e.g. a second way to the page).
    pub extra_ports: usize,
    /// Which console lines to keep ([`Process::spawn_keeping`]).
    pub keep: Option<Keep>,
}

impl Default for Boot<'_> {
    fn default() -> Self {
        Boot {
            until: READY,
            within: Duration::from_secs(240),
            extra_ports: 0,
            keep: None,
        }
    }
}

/// The host ports of one boot attempt.
#[derive(Clone, Debug)]
pub struct Forwards {
    /// Forwarded to the guest's services, in
    /// [`crate::listening::SERVICES`] order (guest ports 80, 443, 10000,
    /// 10001, 10002).
    pub services: [u16; 5],
    /// [`Boot::extra_ports`] more.
    pub extra: Vec<u16>,
}

impl Forwards {
    /// The service ports as `--ports`' value: `A,B,C,D,E`.
    pub fn ports_arg(&self) -> String {
        self.services.map(|p| p.to_string()).join(",")
    }
}

/// A booted guest, stopped when dropped.
pub struct Vm {
    /// QEMU (or the command that became QEMU) and the guest's console.
    pub process: Process,
    /// The host side of the guest's services, on 127.0.0.1.
    pub services: Services,
    /// The host ports of [`Boot::extra_ports`].
    pub extra_ports: Vec<u16>,
    /// When QEMU was started (for a boot-to-first-page figure).
    pub started: Instant,
    /// The console line [`Boot::until`] matched.
    pub line: String,
}

impl Vm {
    /// The host address of `service` (panics on an unknown name).
    pub fn addr(&self, service: &str) -> SocketAddr {
        self.services.addr(service)
    }

    /// The host port of `service` (panics on an unknown name).
    pub fn port(&self, service: &str) -> u16 {
        self.services.port(service)
    }
}

/// Boots with the command `command` builds for a set of free host ports,
/// and waits for [`Boot::until`] on the console; with other ports again
/// when one was taken first, at most [`ATTEMPTS`] times.
pub fn boot(boot: &Boot, mut command: impl FnMut(&Forwards) -> Command) -> Result<Vm> {
    for _ in 0..ATTEMPTS {
        let mut chosen = ports::free_port_list(5 + boot.extra_ports)
            .map_err(|e| Error::new(format!("no free ports: {e}")))?;
        let extra = chosen.split_off(5);
        let services: [u16; 5] = chosen.try_into().expect("five ports");
        let forwards = Forwards { services, extra };
        let started = Instant::now();
        let process = Process::spawn_keeping(&mut command(&forwards), boot.keep.clone())?;
        let line = process.out.wait_for(boot.until, boot.within, |l| {
            l.contains(boot.until) || l.contains(PORT_TAKEN)
        })?;
        if line.contains(PORT_TAKEN) {
            continue;
        }
        return Ok(Vm {
            process,
            services: Services::on_loopback(forwards.services),
            extra_ports: forwards.extra,
            started,
            line,
        });
    }
    Err(Error::new(format!(
        "QEMU could not bind its forwarded ports in {ATTEMPTS} attempts"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_means_another_boot_with_other_ports() {
        let mut tried = Vec::new();
        let vm = boot(
            &Boot {
                extra_ports: 1,
                within: Duration::from_secs(30),
                ..Boot::default()
            },
            |forwards| {
                tried.push(forwards.clone());
                let say = if tried.len() == 1 {
                    format!("{PORT_TAKEN} 'tcp:127.0.0.1:1-:80'")
                } else {
                    "[   0.5] pinata: ready; page at x".to_string()
                };
                let mut cmd = Command::new("sh");
                cmd.args(["-c", &format!("echo \"{say}\"; exec sleep 600")]);
                cmd
            },
        )
        .unwrap();
        assert_eq!(tried.len(), 2);
        assert_eq!(vm.line, "pinata: ready; page at x");
        assert_eq!(vm.services.ports(), tried[1].services);
        assert_eq!(vm.extra_ports, tried[1].extra);
        assert_eq!(vm.extra_ports.len(), 1);
        assert!(tried[1].ports_arg().split(',').count() == 5);
    }

    #[test]
    fn a_guest_that_stops_before_ready_is_an_error() {
        let err = boot(&Boot::default(), |_| {
            let mut cmd = Command::new("sh");
            cmd.args(["-c", "echo 'panicked at boot'"]);
            cmd
        })
        .err()
        .unwrap();
        assert!(err.message().contains("panicked at boot"), "{err}");
    }
}
