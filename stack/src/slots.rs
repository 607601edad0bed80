//! The slot table: every TCP socket the stack holds, what it is used for
//! ([`Role`]), and the [`ConnId`]s handed out for connections (slot index
//! and generation, so a stale id never reaches a later connection).

use core::net::{IpAddr, SocketAddr};
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;

use crate::{ConnId, Nic, Stack, to_socket_addr};

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
pub(crate) enum Role {
    /// LISTEN on `port` (or just back to it after a reset handshake).
    Listening { port: u16 },
    /// Was listening on `port`, got a SYN at `since_ms`.
    HalfOpen { port: u16, since_ms: u64 },
    /// The caller's. `connecting`: outgoing, Connected/ConnectFailed not yet
    /// reported. `active_ms`: last time bytes moved through recv/send.
    Conn { connecting: bool, active_ms: u64 },
    /// Released by the caller; removed once closed, aborted at
    /// `deadline_ms`. `peer`: the remote address it was connected to;
    /// `order`: the how-manieth release it was (the oldest goes first).
    Orphan {
        deadline_ms: u64,
        peer: Option<IpAddr>,
        order: u64,
    },
}

pub(crate) struct Entry {
    pub(crate) handle: SocketHandle,
    pub(crate) role: Role,
}

pub(crate) struct Slot {
    pub(crate) generation: u32,
    pub(crate) entry: Option<Entry>,
}
impl<N: Nic> Stack<N> {
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
        self.count_sockets(|_| true)
    }

    /// How the sockets that belong to `peer` are used: its handshakes in
    /// progress, its connections (dials to it included) and its released
    /// connections still closing (listeners: 0).
    pub fn socket_counts_of(&self, peer: IpAddr) -> SocketCounts {
        self.count_sockets(|remote| remote == Some(peer))
    }

    fn count_sockets(&self, mut of: impl FnMut(Option<IpAddr>) -> bool) -> SocketCounts {
        let mut counts = SocketCounts::default();
        for entry in self.slots.iter().filter_map(|s| s.entry.as_ref()) {
            let remote = match entry.role {
                Role::Orphan { peer, .. } => peer,
                Role::Listening { .. } => None,
                _ => self.remote_ip(entry.handle),
            };
            if !of(remote) {
                continue;
            }
            match entry.role {
                Role::Listening { .. } => counts.listening += 1,
                Role::HalfOpen { .. } => counts.half_open += 1,
                Role::Conn { .. } => counts.connections += 1,
                Role::Orphan { .. } => counts.closing += 1,
            }
        }
        counts
    }

    /// The remote address of a socket, if it has one.
    pub(crate) fn remote_ip(&self, handle: SocketHandle) -> Option<IpAddr> {
        let socket = self.sockets.get::<tcp::Socket>(handle);
        socket.remote_endpoint().map(|e| to_socket_addr(e).ip())
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
                } => Some((ConnId::new(i as u16, s.generation), active_ms)),
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

    /// The entry of a live connection id and whether it is still connecting.
    pub(crate) fn conn(&self, conn: ConnId) -> Option<(&Entry, bool)> {
        let slot = self.slots.get(usize::from(conn.index()))?;
        if slot.generation != conn.generation() {
            return None;
        }
        let entry = slot.entry.as_ref()?;
        match entry.role {
            Role::Conn { connecting, .. } => Some((entry, connecting)),
            _ => None,
        }
    }

    pub(crate) fn touch(&mut self, conn: ConnId) {
        let now = self.now_ms;
        if let Some(Entry {
            role: Role::Conn { active_ms, .. },
            ..
        }) = self.slots[usize::from(conn.index())].entry.as_mut()
        {
            *active_ms = (*active_ms).max(now);
        }
    }

    pub(crate) fn insert(&mut self, entry: Entry) -> u16 {
        // `half_open` counts roles changed by `set_role` only.
        debug_assert!(!matches!(entry.role, Role::HalfOpen { .. }));
        self.in_use += 1;
        let listening = matches!(entry.role, Role::Listening { .. });
        let index = if let Some(index) = self.free_slots.pop() {
            self.slots[usize::from(index)].entry = Some(entry);
            index
        } else {
            self.slots.push(Slot {
                generation: 0,
                entry: Some(entry),
            });
            // `max_connections` ≤ 65535 keeps this in range.
            (self.slots.len() - 1) as u16
        };
        if listening {
            self.listening.push(index);
        }
        index
    }

    fn forget_listener(&mut self, index: usize) {
        if let Some(at) = self.listening.iter().position(|&i| usize::from(i) == index) {
            self.listening.swap_remove(at);
        }
    }

    /// Whether a socket in the `Listening` role has left LISTEN (a SYN
    /// taken statefully, an ACK returning a SYN cookie): a look at the
    /// listeners only, not every slot.
    pub(crate) fn a_listener_is_taken(&self) -> bool {
        self.listening.iter().any(|&index| {
            self.slots[usize::from(index)]
                .entry
                .as_ref()
                .is_some_and(|e| {
                    self.sockets.get::<tcp::Socket>(e.handle).state() != tcp::State::Listen
                })
        })
    }

    pub(crate) fn remove(&mut self, index: usize) {
        if let Some(entry) = self.slots[index].entry.take() {
            match entry.role {
                Role::HalfOpen { .. } => self.half_open -= 1,
                Role::Listening { .. } => self.forget_listener(index),
                _ => {}
            }
            self.sockets.remove(entry.handle);
            let slot = &mut self.slots[index];
            slot.generation = slot.generation.wrapping_add(1);
            self.free_slots.push(index as u16);
            self.in_use -= 1;
        }
    }

    pub(crate) fn set_role(&mut self, index: usize, role: Role) {
        if let Some(entry) = self.slots[index].entry.as_mut() {
            let half_open = |r: &Role| matches!(r, Role::HalfOpen { .. });
            let listening = |r: &Role| matches!(r, Role::Listening { .. });
            let (was, is) = (entry.role, role);
            entry.role = role;
            if half_open(&is) && !half_open(&was) {
                self.half_open += 1;
            } else if half_open(&was) && !half_open(&is) {
                self.half_open -= 1;
            }
            if listening(&is) && !listening(&was) {
                self.listening.push(index as u16);
            } else if listening(&was) && !listening(&is) {
                self.forget_listener(index);
            }
        }
    }
}
