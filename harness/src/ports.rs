//! Free loopback TCP ports.
//!
//! A port is free when the kernel hands it out for `127.0.0.1:0`; it is
//! released at once for the caller to use, so another process can take it
//! before the caller binds it. Where that matters (QEMU's `hostfwd`, which
//! needs its ports up front), [`crate::vm`] boots again with other ports.

use std::io;
use std::net::TcpListener;

/// One free loopback port.
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `N` different free loopback ports (all held until every one is chosen,
/// so none repeats).
pub fn free_ports<const N: usize>() -> io::Result<[u16; N]> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<io::Result<Vec<_>>>()?;
    let mut ports = [0; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

/// `n` different free loopback ports, as [`free_ports`] for a count known
/// only at run time.
pub fn free_port_list(n: usize) -> io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_chosen_together_differ_and_can_be_bound() {
        let ports = free_ports::<6>().unwrap();
        for (i, a) in ports.iter().enumerate() {
            assert_ne!(*a, 0);
            assert!(ports[i + 1..].iter().all(|b| b != a), "{ports:?}");
        }
        TcpListener::bind(("127.0.0.1", free_port().unwrap())).unwrap();
        assert_eq!(free_port_list(3).unwrap().len(), 3);
    }
}
