//! Library-OS networking for the piñata unikernel: a [smoltcp] interface over
//! a NIC driver, IPv4 by DHCP or static configuration, and TCP connections
//! handed out as byte streams.
//!
//! # Where it sits
//!
//! Between a NIC driver (the unikernel's virtio-net or Xen netfront, which
//! implement [`Nic`]) and the piñata's event loop (`pinata::netloop`), which
//! drives a [`Stack`] through the [`Transport`] seam: see "Layout" in
//! `docs/DESIGN.md` for the whole data flow.
//!
//! The crate knows nothing of the piñata: it deals in ports, addresses and
//! bytes. The hosted runner does not use it (its transport is the host's
//! sockets); the unikernel drives one [`Stack`] from its single-threaded
//! event loop (`pinata::netloop`, also run by the `stack_ingress` fuzz
//! target), roughly:
//!
//! ```
//! use stack::{IpConfig, Nic, Stack, StackConfig, StackEvent};
//!
//! # struct NoWire;
//! # impl Nic for NoWire {
//! #     fn mac_address(&self) -> [u8; 6] { [0x02, 0, 0, 0, 0, 1] }
//! #     fn receive(&mut self, _buf: &mut [u8]) -> Option<usize> { None }
//! #     fn transmit(&mut self, _frame: &[u8]) -> bool { true }
//! # }
//! # let nic = NoWire;
//! # let mut clock = 0u64;
//! # let mut now_ms = || { clock += 10; clock };
//! let config = StackConfig::new(IpConfig::Dhcp, &[80, 443, 10000, 10001, 10002]);
//! let mut stack = Stack::new(nic, config, now_ms(), 0x5eed).expect("valid configuration");
//! # for _ in 0..3 {
//! // loop {
//!     let now = now_ms();
//!     stack.poll(now);
//!     while let Some(event) = stack.next_event() {
//!         match event {
//!             StackEvent::Accepted { conn, listener, peer } => { /* start a session */ }
//!             StackEvent::IpConfigured { address, prefix_len, gateway } => { /* log it */ }
//!             _ => {}
//!         }
//!     }
//!     // ... for each session: stack.recv / stack.send / stack.state,
//!     //     stack.close and, once `ConnState::Closed`, stack.release ...
//!     let sleep_ms = stack.poll_delay(now); // then `hlt` until an interrupt or this deadline
//! // }
//! # }
//! ```
//!
//! # Datagrams
//!
//! [`Stack::send_datagram`] sends one UDP datagram (the piñata's remote
//! syslog) from one UDP socket, created at the first call and bound to an
//! ephemeral port. Datagrams wait in a small bounded queue
//! ([`DATAGRAM_QUEUE`] datagrams, [`DATAGRAM_QUEUE_BYTES`] bytes) while the
//! target's (or gateway's) MAC address is resolved by ARP, and leave in
//! order once it is known. One that does not fit the queue, or is offered
//! before the interface has an address, is dropped and counted
//! ([`Stack::datagrams_dropped`]): best effort, as UDP is. Datagrams
//! arriving on that port are dropped unread.
//!
//! # Listen/accept
//!
//! smoltcp has no `accept()`: a TCP socket in the LISTEN state *becomes* the
//! connection when a SYN arrives. So for every port in
//! [`StackConfig::listen_ports`] the stack keeps up to
//! [`StackConfig::backlog`] sockets listening. When one of them receives a
//! SYN it is *half-open* (SYN-RECEIVED, not yet visible to the caller) and a
//! fresh listener takes its place — between two received frames, so a burst
//! of SYNs in one [`Stack::poll`] is served. With SYN cookies
//! ([`StackConfig::syn_cookies`]) a listener answers the SYN instead and
//! stays a listener: the SYN-ACK's sequence number (the cookie, a keyed
//! hash of the connection) is all that is kept, and the client's ACK that
//! returns it makes the listener the connection. When the handshake
//! completes the socket is handed out as a connection: [`StackEvent::Accepted`] carries its
//! [`ConnId`], the listener (the port's index in
//! [`StackConfig::listen_ports`]) and the peer's exact address and port.
//! Outgoing connections ([`Stack::connect`]) report [`StackEvent::Connected`]
//! or [`StackEvent::ConnectFailed`].
//!
//! A connection's life, as the caller sees it ([`ConnState`]):
//! `Connecting` (outgoing only) → `Established` → `PeerClosed` (the peer sent
//! FIN; we may still send) → `Closed` (gone: call [`Stack::release`]).
//! [`Stack::close`] sends FIN after the queued data; [`Stack::abort`] sends
//! RST. [`Stack::release`] forgets the [`ConnId`] at once (stale ids are
//! recognised by a generation counter and never reach another connection);
//! a connection released while its FIN is still in flight finishes in the
//! background for at most [`StackConfig::linger_ms`], one released while open
//! is aborted.
//!
//! # Bounds
//!
//! - Every TCP socket has fixed buffers of [`StackConfig::rx_buffer`] and
//!   [`StackConfig::tx_buffer`] bytes, allocated when the socket is created:
//!   memory is at most `max_connections × (rx_buffer + tx_buffer)` plus
//!   smoltcp's per-socket state.
//! - At most [`StackConfig::max_connections`] TCP sockets exist: listeners,
//!   half-open handshakes, connections, and released connections still
//!   finishing. A listener that becomes a connection is replaced only while
//!   a socket is free. So when every socket is taken, a port whose listeners
//!   have all been used answers SYNs with RST (refused) until a socket is
//!   released; freed sockets become listeners first, one port at a time.
//!   Listeners held by one port are never taken by another port's
//!   connections: a flood on port 80 does not close port 10000.
//!   [`Stack::at_capacity`] says when connections are being refused and
//!   [`Stack::oldest_idle`] names the connection to evict.
//! - At most [`StackConfig::max_half_open`] handshakes are pending, and at
//!   most [`StackConfig::max_half_open_per_peer`] from one address, and a
//!   handshake not completed within [`StackConfig::handshake_timeout_ms`]
//!   is dropped. Once `max_half_open` are pending, the listeners answer
//!   SYNs with SYN cookies (RFC 4987 §3.6, in the patched smoltcp:
//!   [`SynCookies::WhenFull`], the default) and keep no state for them
//!   until the table has room again; [`SynCookies::Always`] keeps none at
//!   all, [`SynCookies::Off`] lets a SYN beyond the limit silently replace
//!   the oldest pending handshake instead. A SYN beyond the per-address
//!   share replaces that address's oldest (a SYN flood from one address
//!   replaces its own). So a SYN flood cannot occupy every socket, nor,
//!   with cookies, push a real client's handshake out. A connection opened
//!   by a cookie has no window scaling (the buffers are below 64 KiB
//!   anyway), no SACK, no timestamps and an MSS of 536, 1300, 1440 or
//!   1460; a cookie is valid for 64 to 128 s, and ACKs that return one are
//!   taken only while a cookie sent may still be valid. The cookie key is
//!   the third key of [`StackConfig::secret`]. Outgoing connections that
//!   get no answer within `handshake_timeout_ms` report `ConnectFailed`.
//! - Released connections still closing (orphans) are counted per address
//!   and in all: at most [`StackConfig::max_orphans_per_peer`] per address
//!   and [`StackConfig::max_orphans`] in all, the oldest dropped beyond
//!   either. When a socket is needed (a listener to re-arm, a dial) and
//!   none is free, the oldest orphan that has lingered more than
//!   [`StackConfig::orphan_grace_ms`] is dropped first: a live connection
//!   is evicted only when no such orphan is left (see `orphans.rs`).
//! - Established connections send TCP keep-alives every
//!   [`StackConfig::keep_alive_ms`] of silence and are reset after
//!   [`StackConfig::tcp_timeout_ms`] without hearing from the peer (dead
//!   peers are reaped). Any longer-term idle policy is the caller's.
//! - One [`Stack::poll`] reads at most 64 frames from the NIC (then
//!   [`Stack::poll_delay`] returns 0), so a flood cannot starve the loop.
//! - Events wait in a queue bounded by the number of sockets (each socket
//!   produces at most one connection event per use), plus the latest IP
//!   configuration change.
//! - Frames are parsed by smoltcp's checked `wire` module; malformed input is
//!   dropped, never a panic.
//!
//! Only IPv4 is built: ARP, ICMP echo replies (ping), UDP port-unreachable
//! answers (except on the datagram socket's port), DHCPv4, TCP, outgoing UDP
//! datagrams. No IPv6, no IP fragmentation or reassembly, no ICMP sockets.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod cable;
mod config;
mod connections;
mod datagram;
mod dhcp;
mod listeners;
mod nic;
mod orphans;
mod seam;
mod secret;
mod slots;

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddr};

use smoltcp::iface::{
    Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
};
use smoltcp::socket::dhcpv4;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpEndpoint};

pub use config::{ConfigError, HALF_OPEN_CEILING, IpConfig, StackConfig, SynCookies};
pub use datagram::{DATAGRAM_QUEUE, DATAGRAM_QUEUE_BYTES, MAX_DATAGRAM};
pub use nic::Nic;
pub use secret::StackSecret;
pub use slots::SocketCounts;
/// The ids, states and errors of the [`Transport`] seam, under the names
/// this crate's users have always known.
pub use transport::{ConnId, ConnState, Error as StackError, Event as StackEvent, Transport};

use dhcp::apply_ipv4;
use nic::NicDevice;
use secret::PortDraws;
use slots::{Role, Slot};

/// The largest Ethernet frame the stack sends or accepts, header included
/// and frame check sequence excluded (IP MTU 1500).
pub const MTU: usize = 1514;

/// Frames read from the NIC per [`Stack::poll`], at most.
const INGRESS_BUDGET: usize = 64;
/// Egress passes over the sockets per [`Stack::poll`], at most.
const EGRESS_ROUNDS: usize = 64;

/// The network stack: one smoltcp interface over one [`Nic`], its TCP
/// sockets and the DHCP client. See the [crate documentation](crate).
pub struct Stack<N: Nic> {
    device: NicDevice<N>,
    iface: Interface,
    sockets: SocketSet<'static>,
    dhcp: Option<SocketHandle>,
    /// The datagram socket, once [`Stack::send_datagram`] has been called.
    udp: Option<SocketHandle>,
    datagrams_dropped: u64,
    config: StackConfig,
    /// Deduplicated `config.listen_ports`.
    ports: Vec<u16>,
    slots: Vec<Slot>,
    free_slots: Vec<u16>,
    in_use: usize,
    events: VecDeque<StackEvent>,
    ipv4: Option<(Ipv4Addr, u8, Option<Ipv4Addr>)>,
    now_ms: u64,
    ingress_pending: bool,
    rng: PortDraws,
    /// Connections released so far (orders the orphans).
    released: u64,
    /// Sockets in the `HalfOpen` role.
    half_open: usize,
    /// The slots in the `Listening` role.
    listening: Vec<u16>,
    /// Whether the listeners answer SYNs with cookies (`listeners.rs`).
    cookies: bool,
}

/// The clock as smoltcp counts it (microseconds in an `i64`). Clamped far
/// below overflow, which a monotonic clock started at boot never reaches
/// (about 146,000 years).
fn instant(ms: u64) -> Instant {
    const MAX_MS: u64 = (i64::MAX / 2_000) as u64;
    Instant::from_millis(ms.min(MAX_MS) as i64)
}

fn duration(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn to_socket_addr(endpoint: IpEndpoint) -> SocketAddr {
    SocketAddr::from(endpoint)
}

impl<N: Nic> Stack<N> {
    /// Brings the interface up on `nic`: static address applied at once
    /// (an [`StackEvent::IpConfigured`] is queued), or the DHCP client
    /// started; listeners opened on every port. `now_ms` is the monotonic
    /// clock in milliseconds, the same clock every later call uses; `seed`
    /// must be random (it seeds DHCP transaction ids, and TCP initial
    /// sequence numbers and ephemeral ports unless `config.secret` is set).
    pub fn new(
        nic: N,
        config: StackConfig,
        now_ms: u64,
        seed: u64,
    ) -> Result<Stack<N>, ConfigError> {
        config.ip.validate()?;
        let mac = config.mac.unwrap_or_else(|| nic.mac_address());
        let ethernet = EthernetAddress(mac);
        if !ethernet.is_unicast() {
            return Err(ConfigError::Mac);
        }
        let mut ports: Vec<u16> = Vec::new();
        for &port in &config.listen_ports {
            if port == 0 {
                return Err(ConfigError::Port);
            }
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        if config.max_connections == 0
            || config.max_connections > usize::from(u16::MAX)
            || config.max_connections < ports.len()
            || config.backlog == 0
            || config.max_half_open == 0
            || config.max_half_open_per_peer == 0
            || config.max_orphans_per_peer == 0
        {
            return Err(ConfigError::Limits);
        }
        if config.rx_buffer == 0 || config.tx_buffer == 0 {
            return Err(ConfigError::Buffer);
        }

        let mut device = NicDevice::new(nic);
        let mut iface_config = Config::new(HardwareAddress::Ethernet(ethernet));
        iface_config.random_seed = seed;
        iface_config.tcp_isn_key = config.secret.as_ref().map(StackSecret::isn_key);
        iface_config.tcp_syn_cookie_key = Some(match &config.secret {
            Some(secret) => secret.cookie_key(),
            None => secret::seeded_cookie_key(seed),
        });
        let now = instant(now_ms);
        let mut iface = Interface::new(iface_config, &mut device, now);
        let mut sockets = SocketSet::new(Vec::new());
        let mut events = VecDeque::new();
        let mut ipv4 = None;
        let mut dhcp = None;
        match config.ip {
            IpConfig::Dhcp => {
                dhcp = Some(sockets.add(dhcpv4::Socket::new()));
            }
            IpConfig::Static {
                address,
                prefix_len,
                gateway,
            } => {
                apply_ipv4(&mut iface, address, prefix_len, gateway);
                ipv4 = Some((address, prefix_len, gateway));
                events.push_back(StackEvent::IpConfigured {
                    address,
                    prefix_len,
                    gateway,
                });
            }
        }
        let mut stack = Stack {
            device,
            iface,
            sockets,
            dhcp,
            udp: None,
            datagrams_dropped: 0,
            ports,
            slots: Vec::new(),
            free_slots: Vec::new(),
            in_use: 0,
            events,
            ipv4,
            now_ms,
            ingress_pending: false,
            released: 0,
            half_open: 0,
            listening: Vec::new(),
            cookies: config.syn_cookies == SynCookies::Always,
            rng: match &config.secret {
                Some(secret) => secret.port_draws(),
                None => PortDraws::seeded(seed),
            },
            config,
        };
        stack.refill();
        Ok(stack)
    }

    /// The configuration the stack was built with.
    pub fn config(&self) -> &StackConfig {
        &self.config
    }

    /// The NIC (e.g. to acknowledge its interrupt).
    pub fn nic(&self) -> &N {
        &self.device.nic
    }

    /// The NIC, mutably.
    pub fn nic_mut(&mut self) -> &mut N {
        &mut self.device.nic
    }

    /// Does the network work that is due at `now_ms`: reads received frames
    /// (at most 64) through ARP/IP/TCP/DHCP, sends what the sockets have
    /// queued, applies DHCP results, turns listening sockets that completed
    /// a handshake into connections (and opens fresh listeners, within
    /// `max_connections`), reports outgoing connections, enforces the
    /// handshake deadline, and frees released sockets that are done. Events
    /// are then waiting in [`next_event`](Stack::next_event).
    pub fn poll(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        let now = instant(now_ms);
        self.iface.poll_maintenance(now);
        self.refill();

        self.ingress_pending = true;
        for _ in 0..INGRESS_BUDGET {
            match self
                .iface
                .poll_ingress_single(now, &mut self.device, &mut self.sockets)
            {
                PollIngressSingleResult::None => {
                    self.ingress_pending = false;
                    break;
                }
                PollIngressSingleResult::PacketProcessed => {}
                PollIngressSingleResult::SocketStateChanged => {
                    // A SYN may have taken a listener: replace it before the
                    // next frame, which may be another SYN. (A SYN answered
                    // with a cookie takes none: under a flood most frames
                    // cost no pass over the slots.)
                    if self.a_listener_is_taken() {
                        self.sweep(true);
                        self.refill();
                    }
                }
            }
        }

        self.egress(now);
        self.poll_dhcp();
        self.sweep(false);
        self.refill();
        // Sockets aborted by the sweep (handshake deadline, linger) send
        // their RST now rather than one poll later.
        self.egress(now);
        self.sweep(false);
        self.refill();
    }

    pub(crate) fn egress(&mut self, now: Instant) {
        for _ in 0..EGRESS_ROUNDS {
            if self
                .iface
                .poll_egress(now, &mut self.device, &mut self.sockets)
                == PollResult::None
            {
                break;
            }
        }
    }

    /// The next event, oldest first.
    pub fn next_event(&mut self) -> Option<StackEvent> {
        self.events.pop_front()
    }

    /// Milliseconds until the stack needs [`poll`](Stack::poll) again even
    /// if no frame arrives (retransmissions, delayed ACKs, keep-alives, DHCP
    /// timers, handshake and linger deadlines); `Some(0)` for "now" (e.g.
    /// frames left unread by the last poll); `None` if only a received frame
    /// can create work.
    pub fn poll_delay(&mut self, now_ms: u64) -> Option<u64> {
        // Events a poll left for the caller are not counted as work: the
        // appliance's loop takes them at its next turn, within the
        // platform's idle wait (5 ms), which keeps its cadence under a
        // flood (frames, not events, decide when it halts).
        if self.ingress_pending {
            return Some(0);
        }
        let mut delay = self
            .iface
            .poll_delay(instant(now_ms), &self.sockets)
            .map(|d| d.total_millis());
        for slot in &self.slots {
            let deadline = match slot.entry.as_ref().map(|e| e.role) {
                Some(Role::HalfOpen { since_ms, .. }) => {
                    since_ms.saturating_add(self.config.handshake_timeout_ms)
                }
                Some(Role::Orphan { deadline_ms, .. }) => deadline_ms,
                Some(Role::Conn {
                    connecting: true,
                    active_ms,
                }) => active_ms.saturating_add(self.config.handshake_timeout_ms),
                _ => continue,
            };
            let d = deadline.saturating_sub(now_ms);
            delay = Some(delay.map_or(d, |x| x.min(d)));
        }
        delay
    }

    /// The interface's IPv4 address, prefix length and gateway, once
    /// configured.
    pub fn ipv4(&self) -> Option<(Ipv4Addr, u8, Option<Ipv4Addr>)> {
        self.ipv4
    }
}
