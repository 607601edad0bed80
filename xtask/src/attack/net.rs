//! Sockets the way the attacks need them: bind-before-connect from any
//! loopback address (or the addresses of `--target external:IP`), resets,
//! reads bounded in time.

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::*;

/// Where the target listens, and where page probes and the idle flood
/// come from: loopback (below) unless `--target external:IP` says
/// otherwise, set once before the first case ([`set_external`]).
struct Addresses {
    target: Ipv4Addr,
    visitor: Ipv4Addr,
    flood_first: Ipv4Addr,
    /// Where connect-back's listener binds.
    callback: Ipv4Addr,
}

static ADDRESSES: OnceLock<Addresses> = OnceLock::new();

fn addresses() -> &'static Addresses {
    ADDRESSES.get_or_init(|| Addresses {
        target: Ipv4Addr::LOCALHOST,
        // Hosted: another loopback address than the attacker's 127.0.0.1,
        // as a visitor is another host than the attacker — the per-address
        // connection limit is meant to stop the attacker, not the
        // visitors. Under QEMU's user networking every host connection
        // reaches the guest from 10.0.2.2, so there the probe shares the
        // attacker's address (and the VM is started with the per-address
        // limit at the total, `target.rs`).
        visitor: Ipv4Addr::new(127, 0, 0, 2),
        flood_first: Ipv4Addr::new(127, 1, 0, 1),
        callback: Ipv4Addr::LOCALHOST,
    })
}

/// A target on a real network (`--target external:IP`): the visitor comes
/// from `sources`, the flood from the addresses after it (one per
/// `PER_SOURCE` connections; they must all be configured on this host),
/// and connect-back is awaited on every local address. Fails if the
/// addresses were already in use.
pub(super) fn set_external(target: Ipv4Addr, sources: Ipv4Addr) -> Result<(), String> {
    let flood_first = Ipv4Addr::from(u32::from(sources).wrapping_add(1));
    ADDRESSES
        .set(Addresses {
            target,
            visitor: sources,
            flood_first,
            callback: Ipv4Addr::UNSPECIFIED,
        })
        .map_err(|_| "the target's addresses are already set".to_string())
}

/// The target's address.
pub(super) fn target_ip() -> Ipv4Addr {
    addresses().target
}

/// The address page probes come from where the target is not behind
/// QEMU's user networking.
pub(super) fn visitor() -> Ipv4Addr {
    addresses().visitor
}

/// The idle flood's first source address.
pub(super) fn flood_first() -> Ipv4Addr {
    addresses().flood_first
}

/// Where a connect-back listener binds.
pub(super) fn callback_ip() -> Ipv4Addr {
    addresses().callback
}

/// The target's `port`.
pub(super) fn target_addr(port: u16) -> SocketAddr {
    SocketAddr::from((target_ip(), port))
}

/// A TCP connection to the target's `port`, from `source` if given.
pub(super) fn connect_from(
    source: Option<Ipv4Addr>,
    port: u16,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let stream = match source {
        None => TcpStream::connect_timeout(&target_addr(port), timeout)?,
        Some(source) => bound_connect(source, port, timeout)?,
    };
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(REPLY_WAIT))?;
    stream.set_write_timeout(Some(REPLY_WAIT))?;
    Ok(stream)
}

/// Bind-before-connect (std cannot). A connect on loopback is answered at
/// once unless the listener's accept queue is full; then the SYN is sent
/// again after 1 s, 3 s, …, so the connect is bounded by `timeout` (Linux
/// applies SO_SNDTIMEO to connect, failing with EINPROGRESS, reported as
/// `TimedOut`).
pub(super) fn bound_connect(
    source: Ipv4Addr,
    port: u16,
    timeout: Duration,
) -> io::Result<TcpStream> {
    use std::os::fd::FromRawFd;
    fn sockaddr(ip: Ipv4Addr, port: u16) -> libc::sockaddr_in {
        libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(ip).to_be(),
            },
            sin_zero: [0; 8],
        }
    }
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor this function owns; the
    // sockaddr_in values live across the calls that read them, and the
    // descriptor is either closed here or handed to TcpStream exactly once.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let local = sockaddr(source, 0);
        let remote = sockaddr(target_ip(), port);
        let send_timeout = libc::timeval {
            tv_sec: timeout.as_secs().try_into().unwrap_or(libc::time_t::MAX),
            tv_usec: timeout.subsec_micros().into(),
        };
        if libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&send_timeout as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        ) != 0
            || libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), len) != 0
            || libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), len) != 0
        {
            let e = io::Error::last_os_error();
            libc::close(fd);
            return Err(match e.raw_os_error() {
                Some(libc::EINPROGRESS) => io::Error::new(io::ErrorKind::TimedOut, e),
                _ => e,
            });
        }
        Ok(TcpStream::from_raw_fd(fd))
    }
}

/// Closes `stream` with a reset (SO_LINGER 0) instead of a FIN.
pub(super) fn reset(stream: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a descriptor `stream` owns, with a correctly
    // sized linger value that outlives the call.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(stream);
}

/// Reads until the peer closes, an error, or `limit`.
pub(super) fn read_until_close(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, String) {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (out, "still open".into());
        }
        let _ = stream.set_read_timeout(Some(left.max(Duration::from_millis(1))));
        match stream.read(&mut buf) {
            Ok(0) => return (out, "closed".into()),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return (out, "still open".into());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (out, format!("error: {}", e.kind())),
        }
    }
}

/// The open-file limit before and after [`raise_open_file_limit`].
pub(super) struct FileLimit {
    pub(super) before: u64,
    pub(super) now: u64,
}

/// Raises this process's soft RLIMIT_NOFILE to its hard limit, so the
/// flood can hold its 10,000 sockets; the hosted runner and QEMU, started
/// after this, inherit the raised limit (QEMU's user networking holds one
/// host socket per forwarded connection).
pub(super) fn raise_open_file_limit() -> io::Result<FileLimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the one rlimit value
    // that lives across both calls; no other memory is touched.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        let before = limit.rlim_cur;
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(FileLimit {
            before,
            now: limit.rlim_cur,
        })
    }
}
