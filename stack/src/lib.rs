//! Library-OS networking for the piñata unikernel: a [smoltcp] interface over
//! a NIC driver, IPv4 by DHCP or static configuration, and TCP connections
//! handed out as byte streams.
//!
//! # Where it sits
//!
//! ```text
//!  NIC driver (unikernel: virtio-net, Xen netfront)      implements `Nic`
//!        │  Ethernet frames
//!        ▼
//!  stack::Stack ── smoltcp Interface: ARP, IPv4, DHCPv4, TCP
//!        │  ConnId + bytes (recv/send/close) and StackEvents
//!        ▼
//!  the event loop (pinata::netloop) ── one piñata Session per ConnId
//! ```
//!
//! The crate knows nothing of the piñata: it deals in ports, addresses and
//! bytes. The hosted runner does not use it (it has `std::net`); the unikernel
//! drives one [`Stack`] from its single-threaded event loop (`pinata::netloop`,
//! also run by the `stack_ingress` fuzz target), roughly:
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
//!             StackEvent::Accepted { conn, local_port, peer } => { /* start a session */ }
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
//! of SYNs in one [`Stack::poll`] is served. When the handshake completes the
//! socket is handed out as a connection: [`StackEvent::Accepted`] carries its
//! [`ConnId`], the local port and the peer's exact address and port.
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
//! - At most [`StackConfig::max_half_open`] handshakes are pending; a SYN
//!   beyond that silently replaces the oldest pending handshake (a SYN flood
//!   cannot occupy every socket), and a handshake not completed within
//!   [`StackConfig::handshake_timeout_ms`] is dropped. Outgoing connections
//!   that get no answer within the same time report `ConnectFailed`.
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

mod device;
mod secret;

pub use secret::StackSecret;

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::net::{Ipv4Addr, SocketAddr};

use smoltcp::iface::{
    Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
};
use smoltcp::socket::{dhcpv4, tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, IpEndpoint, Ipv4Cidr};

use device::NicDevice;
use secret::PortDraws;

/// The largest Ethernet frame the stack sends or accepts, header included
/// and frame check sequence excluded (IP MTU 1500).
pub const MTU: usize = 1514;

/// Frames read from the NIC per [`Stack::poll`], at most.
const INGRESS_BUDGET: usize = 64;
/// Egress passes over the sockets per [`Stack::poll`], at most.
const EGRESS_ROUNDS: usize = 64;
/// Ephemeral ports for outgoing connections (RFC 6335).
const EPHEMERAL_FIRST: u16 = 49152;

/// Datagrams [`Stack::send_datagram`] queues at most (waiting for ARP, or
/// for the next poll).
pub const DATAGRAM_QUEUE: usize = 8;
/// Bytes of datagram payload queued at most.
pub const DATAGRAM_QUEUE_BYTES: usize = 16 * 1024;
/// The largest datagram payload: what fits one Ethernet frame (IP MTU 1500
/// − 20 bytes of IPv4 header − 8 of UDP), since the stack does not fragment.
pub const MAX_DATAGRAM: usize = 1472;

/// What a network interface card driver offers the stack: whole Ethernet
/// frames in and out. virtio-net and Xen netfront implement it.
///
/// Frames carry no frame check sequence; the stack never sends one longer
/// than [`MTU`] bytes.
pub trait Nic {
    /// The interface's MAC address.
    fn mac_address(&self) -> [u8; 6];
    /// Takes one received frame, if any, into `buf` (at least [`MTU`] bytes)
    /// and returns its length. A frame longer than `buf` is dropped by the
    /// driver (or truncated, which the stack will discard as malformed).
    fn receive(&mut self, buf: &mut [u8]) -> Option<usize>;
    /// Queues one frame for transmission; returns false if it was dropped
    /// (queue full).
    fn transmit(&mut self, frame: &[u8]) -> bool;
    /// Whether [`transmit`](Nic::transmit) has room for a frame now. A false
    /// here stops the stack from building frames until the next poll (TCP
    /// keeps the data queued) instead of building them to have them dropped.
    fn can_transmit(&self) -> bool {
        true
    }
}

/// How the interface gets its IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpConfig {
    /// Ask a DHCPv4 server (the default on QEMU user networking, clouds).
    Dhcp,
    /// A fixed address, e.g. from the command line `ip=10.0.2.15/24 gw=10.0.2.2`.
    Static {
        /// The interface's address.
        address: Ipv4Addr,
        /// Length of the network prefix, 0..=32 (24 for a /24).
        prefix_len: u8,
        /// The default route, if any.
        gateway: Option<Ipv4Addr>,
    },
}

impl IpConfig {
    /// Parses a static configuration: `cidr` like `10.0.2.15/24` (a bare
    /// address means /32) and an optional gateway like `10.0.2.2`.
    pub fn parse_static(cidr: &str, gateway: Option<&str>) -> Result<IpConfig, ConfigError> {
        let (addr, prefix) = match cidr.split_once('/') {
            Some((addr, prefix)) => (
                addr,
                prefix.parse::<u8>().map_err(|_| ConfigError::Address)?,
            ),
            None => (cidr, 32),
        };
        let address: Ipv4Addr = addr.parse().map_err(|_| ConfigError::Address)?;
        let gateway = match gateway {
            Some(g) => Some(g.parse::<Ipv4Addr>().map_err(|_| ConfigError::Gateway)?),
            None => None,
        };
        let config = IpConfig::Static {
            address,
            prefix_len: prefix,
            gateway,
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let IpConfig::Static {
            address,
            prefix_len,
            gateway,
        } = *self
        {
            if prefix_len > 32
                || address.is_unspecified()
                || address.is_broadcast()
                || address.is_multicast()
            {
                return Err(ConfigError::Address);
            }
            if let Some(g) = gateway
                && (g.is_unspecified() || g.is_broadcast() || g.is_multicast() || g == address)
            {
                return Err(ConfigError::Gateway);
            }
        }
        Ok(())
    }
}

/// Everything [`Stack::new`] needs besides the NIC. [`StackConfig::new`]
/// fills in the defaults given in each field's documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackConfig {
    /// DHCP or a static address.
    pub ip: IpConfig,
    /// TCP ports to accept connections on (duplicates are ignored; port 0 is
    /// refused).
    pub listen_ports: Vec<u16>,
    /// Sockets kept listening per port (default 4). Spares are re-created
    /// between received frames, so this is not a limit on concurrent
    /// handshakes (see `max_half_open`).
    pub backlog: usize,
    /// Total TCP sockets: listening, half-open, connections, and released
    /// ones still closing (default 256, at most 65535).
    pub max_connections: usize,
    /// Handshakes in progress (SYN received, final ACK not yet), all ports
    /// together (default 64). A SYN beyond it replaces the oldest.
    pub max_half_open: usize,
    /// Receive buffer of each TCP socket, bytes (default 16 KiB).
    pub rx_buffer: usize,
    /// Transmit buffer of each TCP socket, bytes (default 16 KiB).
    pub tx_buffer: usize,
    /// The MAC address; `None` (default) takes the NIC's.
    pub mac: Option<[u8; 6]>,
    /// Time for a TCP handshake, incoming or outgoing (default 10 s).
    pub handshake_timeout_ms: u64,
    /// Keep-alive probe after this much silence on a connection (default 30
    /// s); `None` sends none.
    pub keep_alive_ms: Option<u64>,
    /// Reset a connection that has not heard from its peer for this long
    /// while it has data to send or keep-alives running (default 90 s).
    pub tcp_timeout_ms: Option<u64>,
    /// How long a connection released before it finished closing may go on
    /// sending its last data and FIN before it is aborted (default 10 s).
    pub linger_ms: u64,
    /// The key of TCP initial sequence numbers and ephemeral ports
    /// (`secret.rs`), drawn from a cryptographic generator. `None` (the
    /// default) draws both from generators seeded by [`Stack::new`]'s seed,
    /// which a peer can predict after seeing a few: for tests and fuzzing
    /// only.
    pub secret: Option<StackSecret>,
}

impl StackConfig {
    /// A configuration with the defaults for everything but the address
    /// mode and the ports.
    pub fn new(ip: IpConfig, listen_ports: &[u16]) -> StackConfig {
        StackConfig {
            ip,
            listen_ports: listen_ports.to_vec(),
            backlog: 4,
            max_connections: 256,
            max_half_open: 64,
            rx_buffer: 16 * 1024,
            tx_buffer: 16 * 1024,
            mac: None,
            handshake_timeout_ms: 10_000,
            keep_alive_ms: Some(30_000),
            tcp_timeout_ms: Some(90_000),
            linger_ms: 10_000,
            secret: None,
        }
    }
}

impl Default for StackConfig {
    /// DHCP, no listening ports, the documented defaults.
    fn default() -> Self {
        StackConfig::new(IpConfig::Dhcp, &[])
    }
}

/// Why [`Stack::new`] (or [`IpConfig::parse_static`]) refused a
/// configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// The static address or its prefix length is not usable.
    Address,
    /// The gateway is not a usable unicast address.
    Gateway,
    /// The MAC address is a multicast (or broadcast) address.
    Mac,
    /// A listening port is 0.
    Port,
    /// `max_connections` is 0, above 65535, or too small for one listener
    /// per port; or `backlog` or `max_half_open` is 0.
    Limits,
    /// A socket buffer size is 0.
    Buffer,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::Address => "invalid IPv4 address or prefix length",
            ConfigError::Gateway => "invalid IPv4 gateway",
            ConfigError::Mac => "MAC address is not unicast",
            ConfigError::Port => "listening port 0",
            ConfigError::Limits => "invalid connection limits",
            ConfigError::Buffer => "socket buffer size 0",
        })
    }
}

impl core::error::Error for ConfigError {}

/// A connection handed out by the stack. Small and `Copy`; it stays valid
/// until [`Stack::release`], after which every operation treats it as gone
/// (a generation counter keeps it from naming a later connection that reuses
/// the same socket slot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId {
    index: u16,
    generation: u32,
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.index, self.generation)
    }
}

/// A connection's state, as far as the caller needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// An outgoing connection waiting for its handshake.
    Connecting,
    /// Open both ways (also after our own [`Stack::close`], until the peer
    /// closes its side).
    Established,
    /// The peer sent FIN: everything it will send is in the receive buffer
    /// (a `recv` of 0 now means end of stream); we may still send.
    PeerClosed,
    /// Gone (closed both ways, reset, timed out, or an unknown/released
    /// id): call [`Stack::release`].
    Closed,
}

/// Something the caller should know, from [`Stack::next_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackEvent {
    /// The interface has an IPv4 address (static at start, or a DHCP lease,
    /// also when a renewed lease changes it).
    IpConfigured {
        /// The address.
        address: Ipv4Addr,
        /// Its prefix length.
        prefix_len: u8,
        /// The default gateway, if any.
        gateway: Option<Ipv4Addr>,
    },
    /// The DHCP lease was lost; connections on the old address are gone.
    IpLost,
    /// A connection was accepted on a listening port.
    Accepted {
        /// The new connection.
        conn: ConnId,
        /// The listening port it arrived on.
        local_port: u16,
        /// The peer's address and port, exactly as on the wire.
        peer: SocketAddr,
    },
    /// An outgoing connection completed its handshake.
    Connected(ConnId),
    /// An outgoing connection was refused (RST) or got no answer; its state
    /// is `Closed`, release it.
    ConnectFailed(ConnId),
}

impl fmt::Display for StackEvent {
    /// One log line's worth, e.g. `accepted #3.0 on port 80 from 192.0.2.7:51000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackEvent::IpConfigured {
                address,
                prefix_len,
                gateway: Some(gateway),
            } => write!(f, "ip configured {address}/{prefix_len} gateway {gateway}"),
            StackEvent::IpConfigured {
                address,
                prefix_len,
                gateway: None,
            } => write!(f, "ip configured {address}/{prefix_len} no gateway"),
            StackEvent::IpLost => f.write_str("ip lost"),
            StackEvent::Accepted {
                conn,
                local_port,
                peer,
            } => write!(f, "accepted {conn} on port {local_port} from {peer}"),
            StackEvent::Connected(conn) => write!(f, "connected {conn}"),
            StackEvent::ConnectFailed(conn) => write!(f, "connect failed {conn}"),
        }
    }
}

/// Why an operation on the stack failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackError {
    /// The [`ConnId`] was released, or never issued by this stack.
    UnknownConnection,
    /// The connection cannot do this in its state (e.g. send before it is
    /// connected or after [`Stack::close`]).
    InvalidState,
    /// No IPv4 address yet (DHCP still running).
    NoAddress,
    /// IPv6, or an unspecified address or port 0.
    Unaddressable,
    /// Every socket is in use (`max_connections`).
    NoSocket,
    /// No free ephemeral port.
    NoPort,
    /// A datagram longer than [`MAX_DATAGRAM`].
    TooLarge,
    /// The datagram queue is full (the target does not answer ARP, or
    /// datagrams are offered faster than the NIC sends them).
    QueueFull,
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StackError::UnknownConnection => "unknown or released connection",
            StackError::InvalidState => "operation not valid in the connection's state",
            StackError::NoAddress => "no IPv4 address configured",
            StackError::Unaddressable => "address not reachable over IPv4",
            StackError::NoSocket => "all sockets in use",
            StackError::NoPort => "no free ephemeral port",
            StackError::TooLarge => "datagram larger than one frame",
            StackError::QueueFull => "datagram queue full",
        })
    }
}

impl core::error::Error for StackError {}

/// How the stack's sockets are used right now (for logs and status pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SocketCounts {
    /// Sockets waiting for a SYN.
    pub listening: usize,
    /// Handshakes in progress (not yet visible to the caller).
    pub half_open: usize,
    /// Connections the caller holds a [`ConnId`] for.
    pub connections: usize,
    /// Released connections still sending their last bytes, FIN or RST.
    pub closing: usize,
}

impl SocketCounts {
    /// All of them: never more than `max_connections`.
    pub fn total(&self) -> usize {
        self.listening + self.half_open + self.connections + self.closing
    }
}

/// What a TCP socket slot is used for.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// LISTEN on `port` (or just back to it after a reset handshake).
    Listening { port: u16 },
    /// Was listening on `port`, got a SYN at `since_ms`.
    HalfOpen { port: u16, since_ms: u64 },
    /// The caller's. `connecting`: outgoing, Connected/ConnectFailed not yet
    /// reported. `active_ms`: last time bytes moved through recv/send.
    Conn { connecting: bool, active_ms: u64 },
    /// Released by the caller; removed once closed, aborted at `deadline_ms`.
    Orphan { deadline_ms: u64 },
}

struct Entry {
    handle: SocketHandle,
    role: Role,
}

struct Slot {
    generation: u32,
    entry: Option<Entry>,
}

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
            rng: match &config.secret {
                Some(secret) => secret.port_draws(),
                None => PortDraws::seeded(seed),
            },
            config,
        };
        stack.refill();
        Ok(stack)
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
                    // next frame, which may be another SYN.
                    self.sweep(true);
                    self.refill();
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

    fn egress(&mut self, now: Instant) {
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
                Some(Role::Orphan { deadline_ms }) => deadline_ms,
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

    /// Opens a TCP connection to `remote` from an ephemeral local port. The
    /// answer comes as [`StackEvent::Connected`] or
    /// [`StackEvent::ConnectFailed`] (no answer within
    /// `handshake_timeout_ms`, or refused); until then the state is
    /// `Connecting` and nothing can be sent.
    pub fn connect(&mut self, remote: SocketAddr, now_ms: u64) -> Result<ConnId, StackError> {
        let SocketAddr::V4(remote) = remote else {
            return Err(StackError::Unaddressable);
        };
        if remote.port() == 0
            || remote.ip().is_unspecified()
            || remote.ip().is_broadcast()
            || remote.ip().is_multicast()
        {
            return Err(StackError::Unaddressable);
        }
        if self.iface.ipv4_addr().is_none() {
            return Err(StackError::NoAddress);
        }
        if self.in_use >= self.config.max_connections {
            return Err(StackError::NoSocket);
        }
        let local_port = self.ephemeral_port().ok_or(StackError::NoPort)?;
        let mut socket = self.new_socket();
        socket.set_timeout(Some(duration(self.config.handshake_timeout_ms)));
        socket
            .connect(self.iface.context(), IpEndpoint::from(remote), local_port)
            .map_err(|_| StackError::Unaddressable)?;
        let handle = self.sockets.add(socket);
        let index = self.insert(Entry {
            handle,
            role: Role::Conn {
                connecting: true,
                active_ms: now_ms,
            },
        });
        Ok(ConnId {
            index,
            generation: self.slots[usize::from(index)].generation,
        })
    }

    /// Queues one UDP datagram with `payload` for `target`, sent from the
    /// stack's datagram socket (see [Datagrams](crate#datagrams)) at this
    /// or a later [`poll`](Stack::poll). A refused datagram is dropped and
    /// counted: `NoAddress` before the interface has an address,
    /// `Unaddressable` for IPv6 or an unspecified address or port 0,
    /// `TooLarge` above [`MAX_DATAGRAM`], `QueueFull` when the queue is.
    pub fn send_datagram(&mut self, target: SocketAddr, payload: &[u8]) -> Result<(), StackError> {
        let queued = self.queue_datagram(target, payload);
        if queued.is_err() {
            self.datagrams_dropped += 1;
        }
        queued
    }

    /// Datagrams [`send_datagram`](Stack::send_datagram) refused so far.
    pub fn datagrams_dropped(&self) -> u64 {
        self.datagrams_dropped
    }

    fn queue_datagram(&mut self, target: SocketAddr, payload: &[u8]) -> Result<(), StackError> {
        let SocketAddr::V4(target) = target else {
            return Err(StackError::Unaddressable);
        };
        if target.port() == 0 || target.ip().is_unspecified() {
            return Err(StackError::Unaddressable);
        }
        if payload.len() > MAX_DATAGRAM {
            return Err(StackError::TooLarge);
        }
        if self.iface.ipv4_addr().is_none() {
            return Err(StackError::NoAddress);
        }
        let handle = match self.udp {
            Some(handle) => handle,
            None => {
                let handle = self.datagram_socket()?;
                self.udp = Some(handle);
                handle
            }
        };
        self.sockets
            .get_mut::<udp::Socket>(handle)
            .send_slice(payload, IpEndpoint::from(target))
            .map_err(|_| StackError::QueueFull)
    }

    /// The datagram socket, bound to a free ephemeral port. Its receive
    /// buffer holds nothing: what arrives on the port is dropped.
    fn datagram_socket(&mut self) -> Result<SocketHandle, StackError> {
        let port = self.ephemeral_port().ok_or(StackError::NoPort)?;
        let rx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 1], Vec::new());
        let tx = udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; DATAGRAM_QUEUE],
            vec![0u8; DATAGRAM_QUEUE_BYTES],
        );
        let mut socket = udp::Socket::new(rx, tx);
        socket.bind(port).map_err(|_| StackError::NoPort)?;
        Ok(self.sockets.add(socket))
    }

    /// The connection's state; `Closed` for a released or unknown id.
    pub fn state(&self, conn: ConnId) -> ConnState {
        let Some((entry, connecting)) = self.conn(conn) else {
            return ConnState::Closed;
        };
        let socket = self.sockets.get::<tcp::Socket>(entry.handle);
        match socket.state() {
            tcp::State::SynSent | tcp::State::SynReceived => ConnState::Connecting,
            _ if connecting && socket.is_open() => ConnState::Connecting,
            tcp::State::Established | tcp::State::FinWait1 | tcp::State::FinWait2 => {
                ConnState::Established
            }
            tcp::State::CloseWait | tcp::State::LastAck | tcp::State::Closing => {
                ConnState::PeerClosed
            }
            tcp::State::Listen | tcp::State::TimeWait | tcp::State::Closed => ConnState::Closed,
        }
    }

    /// Copies received bytes into `buf`; `Ok(0)` when there are none now
    /// (once the state is `PeerClosed` or `Closed`, that is the end of the
    /// stream).
    pub fn recv(&mut self, conn: ConnId, buf: &mut [u8]) -> Result<usize, StackError> {
        let handle = self
            .conn(conn)
            .ok_or(StackError::UnknownConnection)?
            .0
            .handle;
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        let n = socket.recv_slice(buf).unwrap_or(0);
        if n > 0 {
            self.touch(conn);
        }
        Ok(n)
    }

    /// Queues bytes for sending and returns how many were taken (perhaps
    /// fewer than offered, 0 when the transmit buffer is full).
    /// `InvalidState` once the sending half is closed, or before an
    /// outgoing connection is established.
    pub fn send(&mut self, conn: ConnId, data: &[u8]) -> Result<usize, StackError> {
        let handle = self
            .conn(conn)
            .ok_or(StackError::UnknownConnection)?
            .0
            .handle;
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        let n = socket
            .send_slice(data)
            .map_err(|_| StackError::InvalidState)?;
        if n > 0 {
            self.touch(conn);
        }
        Ok(n)
    }

    /// Whether every byte sent has been acknowledged by the peer (true for
    /// an unknown id).
    pub fn send_queue_empty(&self, conn: ConnId) -> bool {
        match self.conn(conn) {
            Some((entry, _)) => self.sockets.get::<tcp::Socket>(entry.handle).send_queue() == 0,
            None => true,
        }
    }

    /// Bytes waiting to be sent or acknowledged (0 for an unknown id).
    pub fn send_queue(&self, conn: ConnId) -> usize {
        match self.conn(conn) {
            Some((entry, _)) => self.sockets.get::<tcp::Socket>(entry.handle).send_queue(),
            None => 0,
        }
    }

    /// Closes our sending half gracefully: FIN goes out after the queued
    /// data. Receiving goes on until the peer closes too. No effect on an
    /// unknown id.
    pub fn close(&mut self, conn: ConnId) {
        if let Some((entry, _)) = self.conn(conn) {
            let handle = entry.handle;
            self.sockets.get_mut::<tcp::Socket>(handle).close();
        }
    }

    /// Resets the connection (RST); its state becomes `Closed`. No effect on
    /// an unknown id.
    pub fn abort(&mut self, conn: ConnId) {
        if let Some((entry, _)) = self.conn(conn) {
            let handle = entry.handle;
            self.sockets.get_mut::<tcp::Socket>(handle).abort();
        }
    }

    /// Gives the connection back to the stack; `conn` is invalid from now
    /// on. A connection that is `Closed` frees its socket (at the next poll,
    /// once any RST has gone out); one that was closed with
    /// [`close`](Stack::close) finishes sending in the background for at
    /// most `linger_ms`; one still open is aborted (RST). Idempotent.
    pub fn release(&mut self, conn: ConnId) {
        let Some((entry, _)) = self.conn(conn) else {
            return;
        };
        let handle = entry.handle;
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        match socket.state() {
            // Our FIN is out or queued: let it finish.
            tcp::State::FinWait1
            | tcp::State::FinWait2
            | tcp::State::Closing
            | tcp::State::LastAck
            | tcp::State::TimeWait
            | tcp::State::Closed => {}
            _ => socket.abort(),
        }
        let slot = &mut self.slots[usize::from(conn.index)];
        slot.generation = slot.generation.wrapping_add(1);
        if let Some(entry) = slot.entry.as_mut() {
            entry.role = Role::Orphan {
                deadline_ms: self.now_ms.saturating_add(self.config.linger_ms),
            };
        }
        // Already fully closed sockets go right away.
        self.reap(usize::from(conn.index));
    }

    /// Connections the caller holds (accepted or connected, not yet
    /// released).
    pub fn open_connections(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| {
                matches!(
                    s.entry,
                    Some(Entry {
                        role: Role::Conn { .. },
                        ..
                    })
                )
            })
            .count()
    }

    /// How the sockets are used.
    pub fn socket_counts(&self) -> SocketCounts {
        let mut counts = SocketCounts::default();
        for entry in self.slots.iter().filter_map(|s| s.entry.as_ref()) {
            match entry.role {
                Role::Listening { .. } => counts.listening += 1,
                Role::HalfOpen { .. } => counts.half_open += 1,
                Role::Conn { .. } => counts.connections += 1,
                Role::Orphan { .. } => counts.closing += 1,
            }
        }
        counts
    }

    /// True when every socket is taken and some port is short of listeners:
    /// new connections are being refused. Evict (e.g. the
    /// [`oldest_idle`](Stack::oldest_idle) connection) to make room.
    pub fn at_capacity(&self) -> bool {
        self.in_use >= self.config.max_connections
            && self
                .ports
                .iter()
                .any(|&p| self.listeners_on(p) < self.config.backlog)
    }

    /// The connection that has gone longest without moving a byte through
    /// [`recv`](Stack::recv) or [`send`](Stack::send) (or since it was
    /// accepted/connected), and that time in milliseconds. Outgoing
    /// connections still connecting are not candidates.
    pub fn oldest_idle(&self) -> Option<(ConnId, u64)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s.entry.as_ref()?.role {
                Role::Conn {
                    connecting: false,
                    active_ms,
                } => Some((
                    ConnId {
                        index: i as u16,
                        generation: s.generation,
                    },
                    active_ms,
                )),
                _ => None,
            })
            .min_by_key(|&(_, active)| active)
    }

    /// The peer's address of a connection.
    pub fn peer_addr(&self, conn: ConnId) -> Option<SocketAddr> {
        let (entry, _) = self.conn(conn)?;
        let socket = self.sockets.get::<tcp::Socket>(entry.handle);
        socket.remote_endpoint().map(to_socket_addr)
    }

    /// Our address of a connection.
    pub fn local_addr(&self, conn: ConnId) -> Option<SocketAddr> {
        let (entry, _) = self.conn(conn)?;
        let socket = self.sockets.get::<tcp::Socket>(entry.handle);
        socket.local_endpoint().map(to_socket_addr)
    }

    // ---- internals ----

    /// The entry of a live connection id and whether it is still connecting.
    fn conn(&self, conn: ConnId) -> Option<(&Entry, bool)> {
        let slot = self.slots.get(usize::from(conn.index))?;
        if slot.generation != conn.generation {
            return None;
        }
        let entry = slot.entry.as_ref()?;
        match entry.role {
            Role::Conn { connecting, .. } => Some((entry, connecting)),
            _ => None,
        }
    }

    fn touch(&mut self, conn: ConnId) {
        let now = self.now_ms;
        if let Some(Entry {
            role: Role::Conn { active_ms, .. },
            ..
        }) = self.slots[usize::from(conn.index)].entry.as_mut()
        {
            *active_ms = (*active_ms).max(now);
        }
    }

    fn new_socket(&self) -> tcp::Socket<'static> {
        let rx = tcp::SocketBuffer::new(vec![0u8; self.config.rx_buffer]);
        let tx = tcp::SocketBuffer::new(vec![0u8; self.config.tx_buffer]);
        let mut socket = tcp::Socket::new(rx, tx);
        socket.set_timeout(Some(duration(self.config.handshake_timeout_ms)));
        // Frames are built at poll time from everything queued since the
        // last poll, so small writes coalesce anyway; Nagle would only add
        // a delayed-ACK wait to the last segment of a response.
        socket.set_nagle_enabled(false);
        socket
    }

    /// Sets the timers of a socket that just became a connection.
    fn arm_connection(&mut self, handle: SocketHandle) {
        let keep_alive = self.config.keep_alive_ms.map(duration);
        let timeout = self.config.tcp_timeout_ms.map(duration);
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        socket.set_timeout(timeout);
        socket.set_keep_alive(keep_alive);
    }

    fn insert(&mut self, entry: Entry) -> u16 {
        self.in_use += 1;
        if let Some(index) = self.free_slots.pop() {
            self.slots[usize::from(index)].entry = Some(entry);
            index
        } else {
            self.slots.push(Slot {
                generation: 0,
                entry: Some(entry),
            });
            // `max_connections` ≤ 65535 keeps this in range.
            (self.slots.len() - 1) as u16
        }
    }

    fn remove(&mut self, index: usize) {
        if let Some(entry) = self.slots[index].entry.take() {
            self.sockets.remove(entry.handle);
            let slot = &mut self.slots[index];
            slot.generation = slot.generation.wrapping_add(1);
            self.free_slots.push(index as u16);
            self.in_use -= 1;
        }
    }

    fn listeners_on(&self, port: u16) -> usize {
        self.slots
            .iter()
            .filter(|s| {
                matches!(s.entry, Some(Entry { role: Role::Listening { port: p }, .. }) if p == port)
            })
            .count()
    }

    /// Opens listeners up to `backlog` per port, one port at a time so that
    /// scarce sockets are shared fairly; closes surplus ones.
    fn refill(&mut self) {
        let backlog = self.config.backlog;
        let mut counts = vec![0usize; self.ports.len()];
        for index in 0..self.slots.len() {
            let Some(Entry {
                role: Role::Listening { port },
                ..
            }) = self.slots[index].entry
            else {
                continue;
            };
            let Some(i) = self.ports.iter().position(|&p| p == port) else {
                continue;
            };
            if counts[i] < backlog {
                counts[i] += 1;
            } else {
                // Surplus: a handshake reset by its peer returns its
                // socket to LISTEN.
                self.remove(index);
            }
        }
        loop {
            let mut added = false;
            for (i, count) in counts.iter_mut().enumerate() {
                if *count < backlog && self.in_use < self.config.max_connections {
                    let port = self.ports[i];
                    let mut socket = self.new_socket();
                    if socket.listen(port).is_err() {
                        continue;
                    }
                    let handle = self.sockets.add(socket);
                    self.insert(Entry {
                        handle,
                        role: Role::Listening { port },
                    });
                    *count += 1;
                    added = true;
                }
            }
            if !added {
                break;
            }
        }
    }

    /// Follows every socket's TCP state: listeners that got a SYN, finished
    /// handshakes, outgoing connections, deadlines, released sockets.
    /// `listeners_only`: the quick pass between two received frames.
    fn sweep(&mut self, listeners_only: bool) {
        let now = self.now_ms;
        for index in 0..self.slots.len() {
            let Some(entry) = self.slots[index].entry.as_ref() else {
                continue;
            };
            let handle = entry.handle;
            let role = entry.role;
            let state = self.sockets.get::<tcp::Socket>(handle).state();
            match role {
                Role::Listening { port } | Role::HalfOpen { port, .. } => {
                    let since_ms = match role {
                        Role::HalfOpen { since_ms, .. } => Some(since_ms),
                        _ => None,
                    };
                    match state {
                        tcp::State::Listen => self.set_role(index, Role::Listening { port }),
                        tcp::State::SynReceived => match since_ms {
                            None => {
                                self.set_role(
                                    index,
                                    Role::HalfOpen {
                                        port,
                                        since_ms: now,
                                    },
                                );
                                self.limit_half_open(index);
                            }
                            Some(since)
                                if now.saturating_sub(since)
                                    >= self.config.handshake_timeout_ms =>
                            {
                                self.relisten(index, port);
                            }
                            Some(_) => {}
                        },
                        // The handshake completed (perhaps with data and FIN
                        // already in): hand it out.
                        tcp::State::Established | tcp::State::CloseWait => {
                            self.accept(index, port);
                        }
                        // Reset or timed out before it was ever handed out.
                        _ => self.relisten(index, port),
                    }
                }
                Role::Conn {
                    connecting: true,
                    active_ms,
                } if !listeners_only => {
                    let connected = match state {
                        // No answer in time (or no ARP answer, which keeps
                        // smoltcp from even sending its SYN): give up.
                        tcp::State::SynSent | tcp::State::SynReceived
                            if now.saturating_sub(active_ms)
                                >= self.config.handshake_timeout_ms =>
                        {
                            self.sockets.get_mut::<tcp::Socket>(handle).abort();
                            false
                        }
                        tcp::State::SynSent | tcp::State::SynReceived => continue,
                        tcp::State::Closed | tcp::State::TimeWait | tcp::State::Listen => false,
                        _ => true,
                    };
                    let conn = ConnId {
                        index: index as u16,
                        generation: self.slots[index].generation,
                    };
                    if connected {
                        self.arm_connection(handle);
                    }
                    self.set_role(
                        index,
                        Role::Conn {
                            connecting: false,
                            active_ms: active_ms.max(now),
                        },
                    );
                    self.events.push_back(if connected {
                        StackEvent::Connected(conn)
                    } else {
                        StackEvent::ConnectFailed(conn)
                    });
                }
                Role::Orphan { .. } if !listeners_only => self.reap(index),
                _ => {}
            }
        }
    }

    fn set_role(&mut self, index: usize, role: Role) {
        if let Some(entry) = self.slots[index].entry.as_mut() {
            entry.role = role;
        }
    }

    /// Drops a half-open socket's handshake silently and listens again.
    fn relisten(&mut self, index: usize, port: u16) {
        let Some(entry) = self.slots[index].entry.as_ref() else {
            return;
        };
        let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle);
        socket.abort();
        // `listen` resets the socket, so the RST that `abort` queued is never
        // sent: a dropped handshake is silent, like a lost SYN.
        if socket.listen(port).is_ok() {
            socket.set_timeout(Some(duration(self.config.handshake_timeout_ms)));
            socket.set_keep_alive(None);
            self.set_role(index, Role::Listening { port });
        } else {
            self.remove(index);
        }
    }

    /// Keeps the number of half-open handshakes within `max_half_open` by
    /// dropping the oldest other than `newest`.
    fn limit_half_open(&mut self, newest: usize) {
        let half_open = self
            .slots
            .iter()
            .filter(|s| {
                matches!(
                    s.entry,
                    Some(Entry {
                        role: Role::HalfOpen { .. },
                        ..
                    })
                )
            })
            .count();
        if half_open <= self.config.max_half_open {
            return;
        }
        let oldest = self
            .slots
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != newest)
            .filter_map(|(i, s)| match s.entry.as_ref()?.role {
                Role::HalfOpen { port, since_ms } => Some((i, port, since_ms)),
                _ => None,
            })
            .min_by_key(|&(_, _, since)| since);
        if let Some((index, port, _)) = oldest {
            self.relisten(index, port);
        }
    }

    /// Hands a listener whose handshake completed to the caller.
    fn accept(&mut self, index: usize, port: u16) {
        let handle = match self.slots[index].entry.as_ref() {
            Some(entry) => entry.handle,
            None => return,
        };
        let socket = self.sockets.get::<tcp::Socket>(handle);
        let (Some(local), Some(remote)) = (socket.local_endpoint(), socket.remote_endpoint())
        else {
            self.relisten(index, port);
            return;
        };
        self.arm_connection(handle);
        self.set_role(
            index,
            Role::Conn {
                connecting: false,
                active_ms: self.now_ms,
            },
        );
        let conn = ConnId {
            index: index as u16,
            generation: self.slots[index].generation,
        };
        self.events.push_back(StackEvent::Accepted {
            conn,
            local_port: local.port,
            peer: to_socket_addr(remote),
        });
    }

    /// Frees a released socket once it has nothing left to send, or aborts
    /// it when its linger time is over.
    fn reap(&mut self, index: usize) {
        let Some(Entry {
            handle,
            role: Role::Orphan { deadline_ms },
        }) = self.slots[index].entry.as_ref()
        else {
            return;
        };
        let (handle, deadline_ms) = (*handle, *deadline_ms);
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        let expired = self.now_ms >= deadline_ms;
        let done = match socket.state() {
            tcp::State::TimeWait => true,
            // A closed socket that still has an endpoint owes its peer an
            // RST, sent at the next egress.
            tcp::State::Closed => socket.local_endpoint().is_none() || expired,
            _ => false,
        };
        if done {
            self.remove(index);
        } else if expired {
            socket.abort();
            // Give the RST one egress; then the `expired` branch above frees it.
        }
    }

    /// Applies what the DHCP client learnt.
    fn poll_dhcp(&mut self) {
        let Some(handle) = self.dhcp else {
            return;
        };
        let change = match self.sockets.get_mut::<dhcpv4::Socket>(handle).poll() {
            None => return,
            Some(dhcpv4::Event::Configured(config)) => Some((
                config.address.address(),
                config.address.prefix_len(),
                config.router,
            )),
            // Also reported once at start, before any lease: not news.
            Some(dhcpv4::Event::Deconfigured) if self.ipv4.is_none() => return,
            Some(dhcpv4::Event::Deconfigured) => None,
        };
        // Only the latest IP change matters to a caller that has not looked
        // yet: this keeps the queue bounded whatever the DHCP server does.
        self.events
            .retain(|e| !matches!(e, StackEvent::IpConfigured { .. } | StackEvent::IpLost));
        match change {
            Some((address, prefix_len, gateway)) => {
                apply_ipv4(&mut self.iface, address, prefix_len, gateway);
                self.ipv4 = Some((address, prefix_len, gateway));
                self.events.push_back(StackEvent::IpConfigured {
                    address,
                    prefix_len,
                    gateway,
                });
            }
            None => {
                self.iface.update_ip_addrs(|addrs| addrs.clear());
                self.iface.routes_mut().remove_default_ipv4_route();
                self.ipv4 = None;
                self.events.push_back(StackEvent::IpLost);
            }
        }
    }

    fn next_random(&mut self) -> u64 {
        self.rng.next()
    }

    fn port_in_use(&self, port: u16) -> bool {
        self.ports.contains(&port)
            || self.slots.iter().filter_map(|s| s.entry.as_ref()).any(|e| {
                let socket = self.sockets.get::<tcp::Socket>(e.handle);
                socket.local_endpoint().is_some_and(|l| l.port == port)
                    || socket.listen_endpoint().port == port
            })
    }

    /// A random free port in 49152..=65535.
    fn ephemeral_port(&mut self) -> Option<u16> {
        let span = u64::from(u16::MAX - EPHEMERAL_FIRST) + 1;
        let start = EPHEMERAL_FIRST + (self.next_random() % span) as u16;
        // With at most 65535 sockets a free port exists; the first few
        // random tries almost always find one, the scan bounds the rest.
        for _ in 0..8 {
            let port = EPHEMERAL_FIRST + (self.next_random() % span) as u16;
            if !self.port_in_use(port) {
                return Some(port);
            }
        }
        (0..span)
            .map(|i| EPHEMERAL_FIRST + ((u64::from(start - EPHEMERAL_FIRST) + i) % span) as u16)
            .find(|&port| !self.port_in_use(port))
    }
}

fn apply_ipv4(iface: &mut Interface, address: Ipv4Addr, prefix_len: u8, gateway: Option<Ipv4Addr>) {
    let cidr = Ipv4Cidr::new(address, prefix_len.min(32));
    iface.update_ip_addrs(|addrs| {
        addrs.clear();
        // Capacity is at least one address.
        let _ = addrs.push(IpCidr::Ipv4(cidr));
    });
    match gateway {
        Some(gateway) => {
            // The route table holds a default route at least.
            let _ = iface.routes_mut().add_default_ipv4_route(gateway);
        }
        None => {
            iface.routes_mut().remove_default_ipv4_route();
        }
    }
}
