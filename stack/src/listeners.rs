//! The listener pool: smoltcp has no `accept()`, so the stack keeps
//! sockets listening on every port, follows each through its handshake
//! (half-open, bounded; or none at all when the listeners answer with SYN
//! cookies), hands completed ones out as connections, and re-arms
//! listeners within the socket limit (see "Listen/accept" and "Bounds" in
//! the crate docs).

use alloc::vec;
use smoltcp::socket::tcp;

use crate::slots::{Entry, Role};
use crate::{ConnId, Nic, Stack, StackEvent, SynCookies, duration, to_socket_addr};

impl<N: Nic> Stack<N> {
    pub(crate) fn listeners_on(&self, port: u16) -> usize {
        self.slots
            .iter()
            .filter(|s| {
                matches!(s.entry, Some(Entry { role: Role::Listening { port: p }, .. }) if p == port)
            })
            .count()
    }

    /// Opens listeners up to `backlog` per port, one port at a time so that
    /// scarce sockets are shared fairly; closes surplus ones.
    pub(crate) fn refill(&mut self) {
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
        // A released connection still closing gives its socket to a
        // listener before any live connection must (see `orphans.rs`).
        let short: usize = counts.iter().map(|&c| backlog.saturating_sub(c)).sum();
        let (_, reset) = self.orphans();
        let free = self.config.max_connections.saturating_sub(self.in_use) + reset;
        for _ in free..short {
            if !self.reclaim_orphan() {
                break;
            }
        }
        loop {
            let mut added = false;
            for (i, count) in counts.iter_mut().enumerate() {
                if *count < backlog && self.in_use < self.config.max_connections {
                    let port = self.ports[i];
                    let mut socket = self.new_socket();
                    socket.set_syn_cookies(self.cookies);
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
    pub(crate) fn sweep(&mut self, listeners_only: bool) {
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
                    let conn = ConnId::new(index as u16, self.slots[index].generation);
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
        self.update_cookie_mode();
    }

    /// Puts the listeners in SYN-cookie mode, or takes them out of it, as
    /// `syn_cookies` and the number of pending handshakes say.
    pub(crate) fn update_cookie_mode(&mut self) {
        let cookies = match self.config.syn_cookies {
            SynCookies::Off => false,
            SynCookies::WhenFull => self.half_open >= self.config.max_half_open,
            SynCookies::Always => true,
        };
        if cookies == self.cookies {
            return;
        }
        self.cookies = cookies;
        for entry in self.slots.iter().filter_map(|s| s.entry.as_ref()) {
            if let Role::Listening { .. } = entry.role {
                self.sockets
                    .get_mut::<tcp::Socket>(entry.handle)
                    .set_syn_cookies(cookies);
            }
        }
    }

    /// Drops a half-open socket's handshake silently and listens again.
    pub(crate) fn relisten(&mut self, index: usize, port: u16) {
        let Some(entry) = self.slots[index].entry.as_ref() else {
            return;
        };
        let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle);
        socket.abort();
        socket.set_syn_cookies(self.cookies);
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

    /// Keeps the half-open handshakes within `max_half_open_per_peer` for
    /// the address of `newest` and `max_half_open` in all, by dropping the
    /// oldest other than `newest` (of that address, then of all). With SYN
    /// cookies on when full, the second never happens: the listeners stop
    /// making half-open handshakes when there are `max_half_open`.
    pub(crate) fn limit_half_open(&mut self, newest: usize) {
        let peer = self.slots[newest]
            .entry
            .as_ref()
            .and_then(|e| self.remote_ip(e.handle));
        let over_all = self.half_open > self.config.max_half_open;
        if peer.is_none() && !over_all {
            return;
        }
        // One pass, no allocation: this runs for every stateful SYN.
        let mut from_peer = 0;
        let mut oldest_of_peer: Option<(u64, usize, u16)> = None;
        let mut oldest: Option<(u64, usize, u16)> = None;
        for (i, slot) in self.slots.iter().enumerate() {
            let Some(Entry {
                handle,
                role: Role::HalfOpen { port, since_ms },
            }) = slot.entry
            else {
                continue;
            };
            let of_peer = peer.is_some() && self.remote_ip(handle) == peer;
            from_peer += usize::from(of_peer);
            if i == newest {
                continue;
            }
            let older = |than: Option<(u64, usize, u16)>| than.is_none_or(|o| since_ms < o.0);
            if of_peer && older(oldest_of_peer) {
                oldest_of_peer = Some((since_ms, i, port));
            }
            if older(oldest) {
                oldest = Some((since_ms, i, port));
            }
        }
        let victim = if from_peer > self.config.max_half_open_per_peer {
            oldest_of_peer
        } else if over_all {
            oldest
        } else {
            None
        };
        if let Some((_, index, port)) = victim {
            self.relisten(index, port);
        }
    }

    /// Hands a listener whose handshake completed to the caller.
    pub(crate) fn accept(&mut self, index: usize, port: u16) {
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
        let conn = ConnId::new(index as u16, self.slots[index].generation);
        // The listener is the port's first place in the configuration
        // (`ports` holds the same ports without duplicates).
        let listener = self
            .config
            .listen_ports
            .iter()
            .position(|&p| p == local.port)
            .unwrap_or(0);
        self.events.push_back(StackEvent::Accepted {
            conn,
            listener,
            peer: to_socket_addr(remote),
        });
    }

    /// True when every socket is taken and some port is short of listeners:
    /// new connections are being refused. Evict (e.g. the
    /// [`oldest_idle`](Stack::oldest_idle) connection) to make room.
    pub fn at_capacity(&self) -> bool {
        self.in_use >= self.config.max_connections
            && !self.orphan_to_reclaim()
            && self
                .ports
                .iter()
                .any(|&p| self.listeners_on(p) < self.config.backlog)
    }
}
