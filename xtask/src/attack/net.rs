//! Sockets the way the attacks need them: bind-before-connect from any
//! loopback address (or the addresses of `--target external:IP`), resets,
//! reads bounded in time.

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use super::*;

/// Where the target listens, and where page probes, the idle flood and the
/// hostile-load cases come from: loopback unless the run says otherwise
/// ([`set_addresses`], once per run, before the target starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Addresses {
    pub(super) target: Ipv4Addr,
    /// The page probe's own address.
    pub(super) visitor: Ipv4Addr,
    /// The first of the flood's 200 addresses.
    pub(super) flood_first: Ipv4Addr,
    /// The first of [`SPARE_SOURCES`] more addresses for the hostile-load
    /// cases' attackers and victims (`load.rs`), where they exist.
    pub(super) spare_first: Option<Ipv4Addr>,
    /// Where connect-back's listener binds.
    pub(super) callback: Ipv4Addr,
    /// Every connection reaches the target from one address whatever its
    /// source here (QEMU's user networking: 10.0.2.2), so binding a source
    /// is pointless (and the probe shares the attacker's address).
    pub(super) shared_source: bool,
}

/// How many spare source addresses the load cases may use.
pub(super) const SPARE_SOURCES: usize = 64;

impl Addresses {
    /// The hosted runner, or the VM behind QEMU's user networking
    /// (`shared_source`), on loopback.
    pub(super) const fn loopback(shared_source: bool) -> Addresses {
        Addresses {
            target: Ipv4Addr::LOCALHOST,
            // Another loopback address than the attacker's 127.0.0.1, as a
            // visitor is another host than the attacker — the per-address
            // connection limit is meant to stop the attacker, not the
            // visitors. Under QEMU's user networking every host connection
            // reaches the guest from 10.0.2.2, so there the probe shares
            // the attacker's address (and the VM is started with the
            // per-address limit at the total, `target.rs`).
            visitor: Ipv4Addr::new(127, 0, 0, 2),
            flood_first: Ipv4Addr::new(127, 1, 0, 1),
            spare_first: if shared_source {
                None
            } else {
                Some(Ipv4Addr::new(127, 2, 0, 1))
            },
            callback: Ipv4Addr::LOCALHOST,
            shared_source,
        }
    }

    /// The VM on the tap network (`crate::netns`): the attacker of the
    /// single-address cases is the bridge's own address, the probe the first
    /// extra source, the flood the 200 after it, the load cases the rest.
    pub(super) fn tap(target: Ipv4Addr) -> Addresses {
        const { assert!(1 + 200 + SPARE_SOURCES <= crate::netns::SOURCES) };
        Addresses {
            target,
            visitor: crate::netns::source(0),
            flood_first: crate::netns::source(1),
            spare_first: Some(crate::netns::source(201)),
            callback: Ipv4Addr::UNSPECIFIED,
            shared_source: false,
        }
    }
}

static ADDRESSES: RwLock<Addresses> = RwLock::new(Addresses::loopback(false));

fn addresses() -> Addresses {
    *ADDRESSES.read().unwrap_or_else(|e| e.into_inner())
}

/// Sets the run's addresses (before its target starts).
pub(super) fn set_addresses(addresses: Addresses) {
    *ADDRESSES.write().unwrap_or_else(|e| e.into_inner()) = addresses;
}

/// A target on a real network (`--target external:IP`): the visitor comes
/// from `sources`, the flood from the 200 addresses after it, the
/// hostile-load cases from the [`SPARE_SOURCES`] after those (they must
/// all be configured on this host), and connect-back is awaited on every
/// local address.
pub(super) fn set_external(target: Ipv4Addr, sources: Ipv4Addr) -> Result<(), String> {
    let flood_first = Ipv4Addr::from(u32::from(sources).wrapping_add(1));
    let spare_first = Ipv4Addr::from(u32::from(sources).wrapping_add(201));
    set_addresses(Addresses {
        target,
        visitor: sources,
        flood_first,
        spare_first: Some(spare_first),
        callback: Ipv4Addr::UNSPECIFIED,
        shared_source: false,
    });
    Ok(())
}

/// The target's address.
pub(super) fn target_ip() -> Ipv4Addr {
    addresses().target
}

/// The source the page probe binds: the visitor's, unless every connection
/// shares one address anyway (user networking).
pub(super) fn visitor_source() -> Option<Ipv4Addr> {
    let a = addresses();
    (!a.shared_source).then_some(a.visitor)
}

/// Whether connections can come from many addresses (not behind QEMU's
/// user networking).
pub(super) fn many_sources() -> bool {
    !addresses().shared_source
}

/// The `index`-th spare source address for the load cases, if this run has
/// them (hosted on loopback, the VM over tap).
pub(super) fn spare_source(index: usize) -> Option<Ipv4Addr> {
    let first = addresses().spare_first?;
    if index >= SPARE_SOURCES {
        return None;
    }
    Some(Ipv4Addr::from(u32::from(first) + index as u32))
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
    bound_connect_to(source, target_addr(port), timeout)
}

/// [`bound_connect`] to any address (a second VM of the load cases).
pub(super) fn bound_connect_to(
    source: Ipv4Addr,
    to: SocketAddr,
    timeout: Duration,
) -> io::Result<TcpStream> {
    bound_connect_with(source, to, timeout, None)
}

/// [`bound_connect_to`], with the socket's receive buffer set to
/// `receive_buffer` bytes before the handshake (the window a slow reader
/// advertises; Linux doubles the value and keeps a floor of about 2 KiB).
pub(super) fn bound_connect_with(
    source: Ipv4Addr,
    to: SocketAddr,
    timeout: Duration,
    receive_buffer: Option<u32>,
) -> io::Result<TcpStream> {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(to) = to else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "IPv4 targets only",
        ));
    };
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
        let remote = sockaddr(*to.ip(), to.port());
        let send_timeout = libc::timeval {
            tv_sec: timeout.as_secs().try_into().unwrap_or(libc::time_t::MAX),
            tv_usec: timeout.subsec_micros().into(),
        };
        let buffer = receive_buffer.map(|b| libc::c_int::try_from(b).unwrap_or(libc::c_int::MAX));
        if buffer.is_some_and(|bytes| {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&bytes as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            ) != 0
        }) || libc::setsockopt(
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
