//! The piñata's readiness lines, as its event loop prints them.
//!
//! Once every listener can be reached the loop prints one line per
//! service, then the ready line (`pinata/src/netloop.rs`):
//!
//! ```text
//! pinata: listening service=http addr=127.0.0.1:41234
//! …
//! pinata: ready; page at http://127.0.0.1:41234/ ; 12 ms from start to listening; address bcrt1…
//! ```
//!
//! The hosted runner started with port 0 says here which ports the kernel
//! picked; the unikernel's lines name guest ports, which QEMU forwards from
//! host ports chosen beforehand ([`crate::vm`]).

use std::net::{Ipv4Addr, SocketAddr};

use crate::{Error, Result};

/// The services, in the order of the piñata's port flags and QEMU's
/// forwards: the page (HTTP, HTTPS), the bounty server, connect-back and
/// the bounty client.
pub const SERVICES: [&str; 5] = ["http", "https", "server", "connect_back", "client"];

/// The start of the ready line, printed after the listening lines.
pub const READY: &str = "pinata: ready";

/// Whether `line` is the ready line.
pub fn is_ready(line: &str) -> bool {
    line.starts_with(READY)
}

/// One `pinata: listening service=NAME addr=IP:PORT` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listening<'a> {
    /// The service's name, one of [`SERVICES`] for this piñata.
    pub service: &'a str,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// Reads a listening line; `None` for any other line.
pub fn parse(line: &str) -> Option<Listening<'_>> {
    let rest = line.strip_prefix("pinata: listening service=")?;
    let (service, addr) = rest.split_once(" addr=")?;
    Some(Listening {
        service,
        addr: addr.trim().parse().ok()?,
    })
}

/// The ready line's `N ms from ORIGIN to listening`: N.
pub fn ready_ms(line: &str) -> Option<u64> {
    let before = line.split(" ms from ").next()?;
    if before.len() == line.len() {
        return None;
    }
    before.rsplit(' ').next()?.parse().ok()
}

/// Where each of the five services can be reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Services {
    addrs: [SocketAddr; 5],
}

impl Services {
    /// Every service on 127.0.0.1 at its port (in [`SERVICES`] order).
    pub fn on_loopback(ports: [u16; 5]) -> Services {
        Services {
            addrs: ports.map(|port| SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
        }
    }

    /// The services from the listening lines among `lines`; an error
    /// unless every one of [`SERVICES`] is there.
    pub fn from_lines<S: AsRef<str>>(lines: &[S]) -> Result<Services> {
        let mut addrs = [None; 5];
        for listening in lines.iter().filter_map(|l| parse(l.as_ref())) {
            if let Some(i) = SERVICES.iter().position(|s| *s == listening.service) {
                addrs[i] = Some(listening.addr);
            }
        }
        match addrs {
            [Some(a), Some(b), Some(c), Some(d), Some(e)] => Ok(Services {
                addrs: [a, b, c, d, e],
            }),
            _ => Err(Error::new(format!(
                "not every service printed its listening line:\n{}",
                lines
                    .iter()
                    .map(AsRef::as_ref)
                    .collect::<Vec<_>>()
                    .join("\n")
            ))),
        }
    }

    /// Where `service` listens.
    ///
    /// # Panics
    /// If `service` is not one of [`SERVICES`] (a caller's typo).
    pub fn addr(&self, service: &str) -> SocketAddr {
        match SERVICES.iter().position(|s| *s == service) {
            Some(i) => self.addrs[i],
            None => panic!("no service `{service}` (the services: {SERVICES:?})"),
        }
    }

    /// The port of `service` (panics as [`Self::addr`]).
    pub fn port(&self, service: &str) -> u16 {
        self.addr(service).port()
    }

    /// The ports, in [`SERVICES`] order.
    pub fn ports(&self) -> [u16; 5] {
        self.addrs.map(|a| a.port())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_lines_give_the_services() {
        let lines = [
            "pinata: listening service=http addr=127.0.0.1:1001",
            "pinata: listening service=https addr=127.0.0.1:1002",
            "pinata: listening service=server addr=127.0.0.1:1003",
            "pinata: listening service=connect_back addr=127.0.0.1:1004",
            "pinata: something else",
            "pinata: listening service=client addr=[::1]:1005",
            "pinata: ready; page at http://127.0.0.1:1001/ ; 12 ms from start to listening; address x",
        ];
        let services = Services::from_lines(&lines).unwrap();
        assert_eq!(services.ports(), [1001, 1002, 1003, 1004, 1005]);
        assert_eq!(services.addr("client"), "[::1]:1005".parse().unwrap());
        assert!(is_ready(lines[6]));
        assert_eq!(ready_ms(lines[6]), Some(12));
        assert_eq!(ready_ms(lines[0]), None);
        let err = Services::from_lines(&lines[..4]).unwrap_err();
        assert!(err.message().starts_with("not every service"), "{err}");
    }

    #[test]
    fn other_lines_are_not_listening_lines() {
        assert_eq!(parse("pinata: listening service=http addr=nowhere"), None);
        assert_eq!(parse("pinata: ready"), None);
        assert_eq!(Services::on_loopback([1, 2, 3, 4, 5]).port("server"), 3);
    }
}
