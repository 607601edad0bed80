//! What the stack is built with: the address mode ([`IpConfig`]), the
//! ports, the limits and timers ([`StackConfig`]), and why a configuration
//! is refused ([`ConfigError`]).

use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;

use crate::StackSecret;

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

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
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

/// When listeners answer SYNs with SYN cookies instead of keeping a
/// half-open handshake (see "Bounds" in the crate docs). Linux's
/// `net.ipv4.tcp_syncookies` has the same three settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SynCookies {
    /// Never: beyond [`StackConfig::max_half_open`], a SYN replaces the
    /// oldest pending handshake.
    Off,
    /// While [`StackConfig::max_half_open`] handshakes are pending (the
    /// default): stateful while there is room, with every TCP option the
    /// client offers; stateless under a flood.
    #[default]
    WhenFull,
    /// For every SYN: no half-open handshakes at all.
    Always,
}

/// Everything [`Stack::new`](crate::Stack::new) needs besides the NIC. [`StackConfig::new`]
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
    /// together (default 64). Beyond it, SYNs are answered with SYN cookies
    /// (see `syn_cookies`), or, with cookies off, a SYN replaces the oldest.
    pub max_half_open: usize,
    /// Handshakes in progress from one address (default 16). A SYN beyond
    /// it replaces that address's oldest.
    pub max_half_open_per_peer: usize,
    /// Released connections still closing, in all (default 64). Beyond
    /// it, the oldest is dropped.
    pub max_orphans: usize,
    /// Released connections still closing, per address (default 8).
    /// Beyond it, that address's oldest is dropped.
    pub max_orphans_per_peer: usize,
    /// When SYNs are answered with SYN cookies (default
    /// [`SynCookies::WhenFull`]).
    pub syn_cookies: SynCookies,
    /// How long a released connection still closing is left alone when a
    /// socket is needed (default 1 s): the oldest one past it gives its
    /// socket before a live connection is evicted.
    pub orphan_grace_ms: u64,
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
    /// The keys of TCP initial sequence numbers, SYN cookies and ephemeral
    /// ports (`secret.rs`), drawn from a cryptographic generator. `None`
    /// (the default) draws them from generators seeded by
    /// [`Stack::new`](crate::Stack::new)'s seed, which a peer can predict
    /// after seeing a few: for tests and fuzzing only.
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
            max_half_open_per_peer: 16,
            max_orphans: 64,
            max_orphans_per_peer: 8,
            syn_cookies: SynCookies::WhenFull,
            orphan_grace_ms: 1_000,
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

/// The most handshakes [`StackConfig::scale_to_sockets`] keeps pending,
/// however many sockets there are. A pending handshake is a socket, and
/// smoltcp looks at every socket for every frame it receives (its
/// demultiplexer walks them) and for every frame it might send: under a
/// SYN flood with cookies only when the table is full
/// ([`SynCookies::WhenFull`]), the table stays full, so its size sets the
/// cost of each forged SYN. A quarter of a 128 MiB guest's sockets (about
/// 800) made the unikernel under TCG answer 94 % of a 20,000 SYN/s flood
/// and lose page probes; 64 answered all of it with the page at 41 ms at
/// most (docs/DECISIONS.md, "SYN cookies: a ceiling on pending
/// handshakes"). Handshakes beyond it complete by cookie.
pub const HALF_OPEN_CEILING: usize = 64;

impl StackConfig {
    /// Sets the limits that are shares of the sockets from
    /// [`max_connections`](Self::max_connections), in the defaults'
    /// proportions: a quarter of the sockets for handshakes in progress
    /// (64 of 256), but never more than [`HALF_OPEN_CEILING`], and a
    /// quarter of those per address; a quarter for released connections
    /// still closing and an eighth of those per address. At least one
    /// each.
    pub fn scale_to_sockets(&mut self) {
        let quarter = (self.max_connections / 4).max(1);
        self.max_half_open = quarter.min(HALF_OPEN_CEILING);
        self.max_half_open_per_peer = (self.max_half_open / 4).max(1);
        self.max_orphans = quarter;
        self.max_orphans_per_peer = (quarter / 8).max(1);
    }

    /// Raises the per-address shares for a caller that lets one address
    /// hold `connections` connections (many visitors behind one address,
    /// as behind NAT or QEMU's user network): at least a quarter of them
    /// for handshakes in progress and an eighth for released connections
    /// still closing, as the defaults are for 64, never beyond the totals.
    pub fn allow_per_peer(&mut self, connections: usize) {
        self.max_half_open_per_peer = self
            .max_half_open_per_peer
            .max(connections / 4)
            .min(self.max_half_open.max(1));
        self.max_orphans_per_peer = self
            .max_orphans_per_peer
            .max(connections / 8)
            .min(self.max_orphans.max(1));
    }

    /// The most heap one TCP socket costs: its receive and transmit
    /// buffers, smoltcp's socket and its slot in the socket set, the
    /// stack's own slot — the last two three times over, for the tables'
    /// spare capacity and their reallocation. The stack holds at most
    /// [`max_connections`](Self::max_connections) of them.
    pub fn socket_bytes(&self) -> usize {
        use smoltcp::iface::SocketStorage;
        self.rx_buffer
            + self.tx_buffer
            + 3 * core::mem::size_of::<SocketStorage<'static>>()
            + 3 * core::mem::size_of::<crate::slots::Slot>()
    }
}

impl Default for StackConfig {
    /// DHCP, no listening ports, the documented defaults.
    fn default() -> Self {
        StackConfig::new(IpConfig::Dhcp, &[])
    }
}

/// Why [`Stack::new`](crate::Stack::new) (or [`IpConfig::parse_static`]) refused a
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
    /// per port; or `backlog`, `max_half_open`, `max_half_open_per_peer`
    /// or `max_orphans_per_peer` is 0.
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
