//! netfront: the Xen virtual network interface (`io/netif.h`), as a
//! [`stack::Nic`].
//!
//! # The handshake (xenbus)
//!
//! The toolstack writes our device under `device/vif/0/`: `backend` (the
//! backend's xenstore directory), `backend-id` (its domain) and `mac`. Then:
//!
//! 1. we say `state = 1` (Initialising) and wait — watching the backend's
//!    `state`, and re-reading it every 100 ms in case a watch event is lost
//!    — for the backend's 2 (InitWait), reached once dom0's hotplug script
//!    has plugged the vif into its bridge;
//! 2. we check `feature-rx-copy` (the backend copies received packets into
//!    pages we grant it; the old page-flipping mode is not supported);
//! 3. we allocate the transmit and receive rings (one page each), grant
//!    them to the backend, allocate an event channel for it, and post a
//!    receive buffer in every receive slot;
//! 4. in one transaction (retried on EAGAIN) we publish `tx-ring-ref`,
//!    `rx-ring-ref`, `event-channel`, `request-rx-copy = 1`,
//!    `feature-rx-notify = 1` (we post receive buffers and kick for them),
//!    `feature-no-csum-offload = 1` (every packet we get carries a valid
//!    checksum: smoltcp verifies them) and `state = 3` (Initialised);
//! 5. we say `state = 4` (Connected) — Linux netback connects on that —
//!    and wait for the backend's own 4. A backend that does not get there
//!    before the deadline is a [`NetfrontError::BackendTimeout`] naming the
//!    state it was stuck in.
//!
//! # The data path
//!
//! Receive: every slot of the receive ring holds a request naming one of
//! our pages (granted writable to the backend once, zeroed before that);
//! the backend copies a packet into it and answers in the same slot with
//! offset, flags and length. We copy the packet out, zero what it
//! occupied, and post the same page again, so the ring stays full. A
//! packet spread over several slots (`NETRXF_more_data`) or followed by
//! extra-info slots (`NETRXF_extra_info`) is not something we asked for
//! (no `feature-sg`, no GSO): all its slots are consumed, reposted and the
//! packet dropped (counted), never assembled or misread.
//!
//! Transmit: one frame, one page, one slot. The page comes from a fixed
//! pool of [`TX_BUFFERS`]; it is zeroed, the frame copied to its start,
//! and granted read-only to the backend for this one packet. The request's
//! id is the pool index, which is not reused until the backend has
//! answered it and the grant has been revoked (MirageOS's MSA-00 came from
//! ids that were not unique; MSA-01 from pool pages reused without
//! zeroing). A grant the backend still has mapped keeps its page out of
//! the pool until a later revoke succeeds. Frames larger than a page would
//! need several slots and are refused.
//!
//! Nothing the backend writes can make this driver panic or read outside
//! its own buffers: ids, offsets and lengths are checked, and a backend
//! that publishes more responses than there were requests marks the
//! device broken (no more traffic) instead of being followed.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::grant_table::{GrantError, GrantRef, GrantTable};
use super::ring::FrontRing;
use super::shared_memory::{PAGE_SIZE, SharedMemory};
use super::xenstore::{Xenstore, XsError};
use super::{DomId, Hypervisor, MS, Port, XenError};

/// Bytes per transmit slot (`netif_tx_request`: the larger of the two).
pub const TX_SLOT: usize = 12;
/// Bytes per receive slot.
pub const RX_SLOT: usize = 8;
/// Transmit pages (packets in flight at most).
pub const TX_BUFFERS: usize = 64;
/// How long the handshake may take in all.
pub const CONNECT_TIMEOUT_NS: u64 = 30_000 * MS;
/// How often the backend's state is re-read while waiting for it.
const STATE_POLL_NS: u64 = 100 * MS;

const NETRXF_MORE_DATA: u16 = 1 << 2;
const NETRXF_EXTRA_INFO: u16 = 1 << 3;
const XEN_NETIF_EXTRA_FLAG_MORE: u8 = 1;
const NETIF_RSP_OKAY: i16 = 0;
const NETIF_RSP_NULL: i16 = 1;
const ETH_HLEN: usize = 14;

/// xenbus states (`io/xenbus.h`).
pub mod state {
    /// Setting up.
    pub const INITIALISING: u32 = 1;
    /// Backend: waiting for the frontend's details.
    pub const INIT_WAIT: u32 = 2;
    /// Frontend: details published.
    pub const INITIALISED: u32 = 3;
    /// Ready.
    pub const CONNECTED: u32 = 4;
    /// Shutting down.
    pub const CLOSING: u32 = 5;
    /// Gone.
    pub const CLOSED: u32 = 6;
}

/// Why the device could not be brought up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetfrontError {
    /// No `device/vif/0` in xenstore: the domain has no network interface.
    NoDevice(XsError),
    /// A xenstore operation failed.
    Xenstore(&'static str, XsError),
    /// A value in xenstore that does not parse.
    BadValue(&'static str, String),
    /// The backend cannot copy packets into our pages.
    NoRxCopy,
    /// The backend did not reach the state in time.
    BackendTimeout {
        /// The state we waited for.
        waiting_for: &'static str,
        /// The last state read (None: no `state` node).
        last_state: Option<u32>,
    },
    /// The backend closed the device (state 5 or 6).
    BackendClosed(u32),
    /// No memory for rings or buffers.
    OutOfMemory,
    /// The grant table is full.
    Grant(GrantError),
    /// No event channel.
    EventChannel(XenError),
}

impl fmt::Display for NetfrontError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetfrontError::NoDevice(e) => write!(
                f,
                "no vif in xenstore (device/vif/0: {e}): give the domain a `vif = [...]`"
            ),
            NetfrontError::Xenstore(what, e) => write!(f, "{what}: {e}"),
            NetfrontError::BadValue(what, value) => write!(f, "unusable {what} {value:?}"),
            NetfrontError::NoRxCopy => {
                f.write_str("the network backend does not offer feature-rx-copy")
            }
            NetfrontError::BackendTimeout {
                waiting_for,
                last_state,
            } => {
                write!(
                    f,
                    "the network backend did not reach {waiting_for} within {} s (its state: ",
                    CONNECT_TIMEOUT_NS / 1_000_000_000
                )?;
                match last_state {
                    Some(s) => write!(f, "{s} {})", state_name(*s))?,
                    None => f.write_str("absent)")?,
                }
                f.write_str("; is the vif's bridge up in dom0 (`xl network-list`)?")
            }
            NetfrontError::BackendClosed(s) => {
                write!(f, "the network backend closed the device (state {s})")
            }
            NetfrontError::OutOfMemory => f.write_str("out of memory for rings and buffers"),
            NetfrontError::Grant(e) => write!(f, "{e}"),
            NetfrontError::EventChannel(e) => write!(f, "event channel: {e}"),
        }
    }
}

/// A xenbus state's name.
pub fn state_name(s: u32) -> &'static str {
    match s {
        0 => "Unknown",
        state::INITIALISING => "Initialising",
        state::INIT_WAIT => "InitWait",
        state::INITIALISED => "Initialised",
        state::CONNECTED => "Connected",
        state::CLOSING => "Closing",
        state::CLOSED => "Closed",
        7 => "Reconfiguring",
        8 => "Reconfigured",
        _ => "invalid",
    }
}

/// Counters, for the console and the tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets handed to the stack.
    pub rx_packets: u64,
    /// Packets queued to the backend.
    pub tx_packets: u64,
    /// Received packets dropped for using several slots or extra info.
    pub rx_multislot_dropped: u64,
    /// Receive slots the backend reported an error for.
    pub rx_errors: u64,
    /// Received packets larger than the caller's buffer.
    pub rx_truncated: u64,
    /// Transmit responses with an error status.
    pub tx_errors: u64,
    /// Frames not sent because no grant entry was free.
    pub tx_no_grant: u64,
    /// Responses with impossible ids, offsets or lengths (ignored).
    pub protocol_errors: u64,
}

struct TxSlot<M> {
    page: M,
    /// Granted to the backend while the packet is in flight.
    grant: Option<GrantRef>,
}

/// Where a multi-slot receive stands.
#[derive(Debug, Default, Clone, Copy)]
struct RxPacket {
    /// The next slot is an extra-info slot.
    extra_pending: bool,
    /// The next slot continues the packet.
    more_pending: bool,
    /// The packet will be dropped.
    discard: bool,
    /// ... because it used several slots.
    multislot: bool,
}

/// A connected netfront device.
pub struct Netfront<H: Hypervisor> {
    hv: H,
    port: Port,
    backend_id: DomId,
    mac: [u8; 6],
    grants: GrantTable<H::Page>,
    tx: FrontRing<H::Page>,
    rx: FrontRing<H::Page>,
    /// Receive pages and their (permanent) grants, by ring slot.
    rx_buffers: Vec<(H::Page, GrantRef)>,
    tx_slots: Vec<TxSlot<H::Page>>,
    tx_free: Vec<u16>,
    /// Slots whose grant the backend still had mapped at completion.
    tx_unrevoked: Vec<u16>,
    rx_packet: RxPacket,
    broken: Option<&'static str>,
    /// Counters.
    pub stats: Stats,
}

impl<H: Hypervisor> fmt::Debug for Netfront<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.mac;
        write!(
            f,
            "netfront {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} (backend domain {}, port {}{})",
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            self.backend_id,
            self.port,
            self.broken
                .map(|b| format!(", stopped: {b}"))
                .unwrap_or_default()
        )
    }
}

/// Parses `00:16:3e:12:34:56`.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.trim().split(':');
    for byte in mac.iter_mut() {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

const DEVICE: &str = "device/vif/0";
const WATCH_TOKEN: &str = "pinata-netfront";

fn xs<T>(what: &'static str) -> impl FnOnce(XsError) -> Result<T, NetfrontError> {
    move |e| Err(NetfrontError::Xenstore(what, e))
}

/// The backend's state, `None` if the node is missing.
fn backend_state<H: Hypervisor>(
    store: &mut Xenstore<H>,
    path: &str,
    deadline: u64,
) -> Result<Option<u32>, NetfrontError> {
    match store.read_string(path, deadline) {
        Ok(s) => s
            .trim()
            .parse::<u32>()
            .map(Some)
            .map_err(|_| NetfrontError::BadValue("backend state", s)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => xs("reading the backend state")(e),
    }
}

/// Waits until the backend's state satisfies `done`.
fn wait_for_backend<H: Hypervisor>(
    hv: &H,
    store: &mut Xenstore<H>,
    path: &str,
    waiting_for: &'static str,
    done: impl Fn(u32) -> bool,
    deadline: u64,
) -> Result<(), NetfrontError> {
    let mut last_state = None;
    loop {
        let now = hv.now_ns();
        let s = match backend_state(store, path, deadline) {
            Ok(s) => s,
            // The deadline passed while asking: the backend's time is up.
            Err(NetfrontError::Xenstore(_, XsError::Timeout(_))) if now >= deadline => {
                return Err(NetfrontError::BackendTimeout {
                    waiting_for,
                    last_state,
                });
            }
            Err(e) => return Err(e),
        };
        last_state = s;
        match s {
            Some(s) if done(s) => return Ok(()),
            Some(s) if (state::CLOSING..=state::CLOSED).contains(&s) => {
                return Err(NetfrontError::BackendClosed(s));
            }
            _ => {}
        }
        let now = hv.now_ns();
        if now >= deadline {
            return Err(NetfrontError::BackendTimeout {
                waiting_for,
                last_state,
            });
        }
        // A watch event, or the poll interval: either way, read again.
        match store.next_watch_event(deadline.min(now + STATE_POLL_NS)) {
            Ok(_) => {}
            Err(e) => return xs("waiting for the backend")(e),
        }
    }
}

impl<H: Hypervisor> Netfront<H> {
    /// Runs the handshake for `device/vif/0` (see the module docs) and
    /// returns the connected device. `grants` is the domain's grant table
    /// (the device takes it over); the whole handshake must finish within
    /// `timeout_ns`.
    pub fn connect(
        hv: H,
        store: &mut Xenstore<H>,
        mut grants: GrantTable<H::Page>,
        timeout_ns: u64,
    ) -> Result<Self, NetfrontError> {
        let deadline = hv.now_ns().saturating_add(timeout_ns);
        let backend = store
            .read_string(&format!("{DEVICE}/backend"), deadline)
            .map_err(NetfrontError::NoDevice)?;
        let backend_id_text = store
            .read_string(&format!("{DEVICE}/backend-id"), deadline)
            .or_else(xs("reading backend-id"))?;
        let backend_id: DomId = backend_id_text
            .trim()
            .parse()
            .map_err(|_| NetfrontError::BadValue("backend-id", backend_id_text.clone()))?;
        let mac_text = store
            .read_string(&format!("{DEVICE}/mac"), deadline)
            .or_else(xs("reading the MAC address"))?;
        let mac = parse_mac(&mac_text).ok_or(NetfrontError::BadValue("MAC address", mac_text))?;
        let state_path = format!("{backend}/state");

        store
            .write(0, &format!("{DEVICE}/state"), b"1", deadline)
            .or_else(xs("writing our state"))?;
        store
            .watch(&state_path, WATCH_TOKEN, deadline)
            .or_else(xs("watching the backend state"))?;
        let result = Self::connect_watched(
            hv,
            store,
            &mut grants,
            &backend,
            &state_path,
            backend_id,
            mac,
            deadline,
        );
        // The watch is not needed any more; failing to cancel it is harmless.
        let _ = store.unwatch(&state_path, WATCH_TOKEN, deadline);
        let parts = result?;
        let mut device = Netfront { grants, ..parts };
        // Hand the posted receive buffers over.
        device.rx.push_requests();
        device.hv.notify(device.port);
        Ok(device)
    }

    #[allow(clippy::too_many_arguments)]
    fn connect_watched(
        hv: H,
        store: &mut Xenstore<H>,
        grants: &mut GrantTable<H::Page>,
        backend: &str,
        state_path: &str,
        backend_id: DomId,
        mac: [u8; 6],
        deadline: u64,
    ) -> Result<Self, NetfrontError> {
        wait_for_backend(
            &hv,
            store,
            state_path,
            "InitWait",
            |s| s == state::INIT_WAIT || s == state::CONNECTED,
            deadline,
        )?;
        match store.read_string(&format!("{backend}/feature-rx-copy"), deadline) {
            Ok(v) if v.trim() == "1" => {}
            Ok(_) => return Err(NetfrontError::NoRxCopy),
            Err(e) if e.is_not_found() => return Err(NetfrontError::NoRxCopy),
            Err(e) => return xs("reading feature-rx-copy")(e),
        }

        // Rings, event channel, buffers.
        let page = || hv.alloc_page().ok_or(NetfrontError::OutOfMemory);
        let tx = FrontRing::new(page()?, TX_SLOT);
        let mut rx = FrontRing::new(page()?, RX_SLOT);
        let tx_ref = grants
            .grant(backend_id, tx.page().frame(), false)
            .map_err(NetfrontError::Grant)?;
        let rx_ref = grants
            .grant(backend_id, rx.page().frame(), false)
            .map_err(NetfrontError::Grant)?;
        let port = hv
            .alloc_unbound(backend_id)
            .map_err(NetfrontError::EventChannel)?;
        let mut rx_buffers = Vec::with_capacity(rx.size() as usize);
        for slot in 0..rx.size() {
            let buffer = page()?;
            // Zero before granting: the backend sees nothing of ours.
            buffer.zero(0, PAGE_SIZE);
            let gref = grants
                .grant(backend_id, buffer.frame(), false)
                .map_err(NetfrontError::Grant)?;
            let off = rx.next_request().ok_or(NetfrontError::OutOfMemory)?;
            rx.page().store_u16(off, slot as u16);
            rx.page().store_u16(off + 2, 0);
            rx.page().store_u32(off + 4, gref);
            rx.queue();
            rx_buffers.push((buffer, gref));
        }
        let mut tx_slots = Vec::with_capacity(TX_BUFFERS);
        for _ in 0..TX_BUFFERS {
            tx_slots.push(TxSlot {
                page: page()?,
                grant: None,
            });
        }

        // Publish, in one transaction.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let t = store
                .transaction_start(deadline)
                .or_else(xs("starting a transaction"))?;
            let entries = [
                ("tx-ring-ref", format!("{tx_ref}")),
                ("rx-ring-ref", format!("{rx_ref}")),
                ("event-channel", format!("{port}")),
                ("request-rx-copy", "1".into()),
                ("feature-rx-notify", "1".into()),
                ("feature-no-csum-offload", "1".into()),
                ("state", format!("{}", state::INITIALISED)),
            ];
            for (key, value) in &entries {
                if let Err(e) =
                    store.write(t, &format!("{DEVICE}/{key}"), value.as_bytes(), deadline)
                {
                    let _ = store.transaction_end(t, false, deadline);
                    return xs("publishing the rings")(e);
                }
            }
            match store.transaction_end(t, true, deadline) {
                Ok(true) => break,
                Ok(false) if attempts < 5 => continue,
                Ok(false) => {
                    return Err(NetfrontError::Xenstore(
                        "publishing the rings",
                        XsError::Error("EAGAIN".into()),
                    ));
                }
                Err(e) => return xs("publishing the rings")(e),
            }
        }
        store
            .write(0, &format!("{DEVICE}/state"), b"4", deadline)
            .or_else(xs("writing our state"))?;
        wait_for_backend(
            &hv,
            store,
            state_path,
            "Connected",
            |s| s == state::CONNECTED,
            deadline,
        )?;

        Ok(Netfront {
            hv,
            port,
            backend_id,
            mac,
            grants: GrantTable::new(Vec::new()),
            tx,
            rx,
            rx_buffers,
            tx_slots,
            tx_free: (0..TX_BUFFERS as u16).rev().collect(),
            tx_unrevoked: Vec::new(),
            rx_packet: RxPacket::default(),
            broken: None,
            stats: Stats::default(),
        })
    }

    /// The event channel the backend rings (for the platform's wait).
    pub fn port(&self) -> Port {
        self.port
    }

    /// Why the device stopped, if it did.
    #[cfg(test)]
    pub fn broken(&self) -> Option<&'static str> {
        self.broken
    }

    /// Grant entries still free.
    #[cfg(test)]
    pub fn grants_available(&self) -> usize {
        self.grants.available()
    }

    /// Collects transmit completions: answered slots go back to the pool
    /// once their grant is revoked.
    fn reap_tx(&mut self) {
        let mut index = 0;
        while index < self.tx_unrevoked.len() {
            let id = self.tx_unrevoked[index];
            if self.release_tx(id) {
                self.tx_unrevoked.swap_remove(index);
            } else {
                index += 1;
            }
        }
        loop {
            let pending = match self.tx.unconsumed_responses() {
                Ok(n) => n,
                Err(_) => {
                    self.broken = Some("transmit ring overflow from the backend");
                    return;
                }
            };
            if pending == 0 {
                return;
            }
            for _ in 0..pending {
                let off = self.tx.next_response();
                let id = self.tx.page().load_u16(off);
                let status = self.tx.page().load_u16(off + 2) as i16;
                self.tx.consume();
                if status == NETIF_RSP_NULL {
                    continue;
                }
                let in_flight = self
                    .tx_slots
                    .get(usize::from(id))
                    .is_some_and(|s| s.grant.is_some())
                    && !self.tx_unrevoked.contains(&id);
                if !in_flight {
                    // An id we did not send (or answered twice): ignored.
                    self.stats.protocol_errors += 1;
                    continue;
                }
                if status != NETIF_RSP_OKAY {
                    self.stats.tx_errors += 1;
                }
                if !self.release_tx(id) {
                    self.tx_unrevoked.push(id);
                }
            }
        }
    }

    /// Revokes slot `id`'s grant and frees the slot; false if the backend
    /// still has the page mapped.
    fn release_tx(&mut self, id: u16) -> bool {
        let slot = &mut self.tx_slots[usize::from(id)];
        let Some(gref) = slot.grant else { return true };
        match self.grants.revoke(gref) {
            Ok(()) | Err(GrantError::NotGranted(_)) => {
                slot.grant = None;
                self.tx_free.push(id);
                true
            }
            Err(_) => false,
        }
    }

    /// Queues one frame. `false` (dropped) when the ring or the pool is
    /// full, no grant entry is free, or the frame does not fit one page.
    pub fn send(&mut self, frame: &[u8]) -> bool {
        if self.broken.is_some() {
            return false;
        }
        self.reap_tx();
        if frame.len() < ETH_HLEN || frame.len() > PAGE_SIZE {
            return false;
        }
        let Some(off) = self.tx.next_request() else {
            return false;
        };
        let Some(id) = self.tx_free.pop() else {
            return false;
        };
        let slot = &mut self.tx_slots[usize::from(id)];
        // Zero first: nothing of an earlier packet may go out with this one.
        slot.page.zero(0, PAGE_SIZE);
        slot.page.write(0, frame);
        let gref = match self.grants.grant(self.backend_id, slot.page.frame(), true) {
            Ok(gref) => gref,
            Err(_) => {
                self.tx_free.push(id);
                self.stats.tx_no_grant += 1;
                return false;
            }
        };
        slot.grant = Some(gref);
        let ring = self.tx.page();
        ring.store_u32(off, gref);
        ring.store_u16(off + 4, 0);
        // flags 0: one slot (never NETTXF_more_data), checksums complete.
        ring.store_u16(off + 6, 0);
        ring.store_u16(off + 8, id);
        ring.store_u16(off + 10, frame.len() as u16);
        self.tx.queue();
        if self.tx.push_requests() {
            self.hv.notify(self.port);
        }
        self.stats.tx_packets += 1;
        true
    }

    /// Takes one received packet into `buf`; `None` if none is waiting.
    pub fn poll_receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.broken.is_some() {
            return None;
        }
        self.reap_tx();
        let mut reposted = false;
        let result = loop {
            let pending = match self.rx.unconsumed_responses() {
                Ok(n) => n,
                Err(_) => {
                    self.broken = Some("receive ring overflow from the backend");
                    return None;
                }
            };
            if pending == 0 {
                if reposted {
                    self.push_rx();
                    reposted = false;
                }
                match self.rx.final_check() {
                    Ok(true) => continue,
                    _ => break None,
                }
            }
            let off = self.rx.next_response();
            let slot = self.rx.slot(self.rx.rsp_cons());
            self.rx.consume();
            let packet = self.receive_slot(off, slot, buf);
            self.repost(slot);
            reposted = true;
            if packet.is_some() {
                break packet;
            }
        };
        if reposted {
            self.push_rx();
        }
        result
    }

    fn push_rx(&mut self) {
        if self.rx.push_requests() {
            self.hv.notify(self.port);
        }
    }

    /// Posts slot `slot`'s buffer again.
    fn repost(&mut self, slot: usize) {
        let Some(off) = self.rx.next_request() else {
            return;
        };
        let gref = self.rx_buffers[slot].1;
        let ring = self.rx.page();
        ring.store_u16(off, slot as u16);
        ring.store_u16(off + 2, 0);
        ring.store_u32(off + 4, gref);
        self.rx.queue();
    }

    /// Handles one response slot; the packet's length once a whole,
    /// acceptable packet ended in it.
    fn receive_slot(&mut self, off: usize, slot: usize, buf: &mut [u8]) -> Option<usize> {
        let ring = self.rx.page();
        let p = &mut self.rx_packet;
        if p.extra_pending {
            // An extra-info slot (overlays the response): type, flags.
            p.extra_pending = ring.load_u8(off + 1) & XEN_NETIF_EXTRA_FLAG_MORE != 0;
            return self.end_if_complete();
        }
        let id = ring.load_u16(off);
        let offset = usize::from(ring.load_u16(off + 2));
        let flags = ring.load_u16(off + 4);
        let status = ring.load_u16(off + 6) as i16;
        if usize::from(id) != slot {
            self.stats.protocol_errors += 1;
        }
        let continued = p.more_pending;
        p.more_pending = flags & NETRXF_MORE_DATA != 0;
        if flags & NETRXF_EXTRA_INFO != 0 {
            p.extra_pending = true;
            p.discard = true;
            p.multislot = true;
        }
        if p.more_pending || continued {
            p.discard = true;
            p.multislot = true;
        }
        if status < 0 {
            self.stats.rx_errors += 1;
            p.discard = true;
        }
        if p.more_pending || p.extra_pending {
            return None;
        }
        let discard = p.discard;
        if discard {
            return self.end_if_complete();
        }
        *p = RxPacket::default();
        let len = status as usize;
        let page = &self.rx_buffers[slot].0;
        if len == 0 || offset + len > PAGE_SIZE {
            self.stats.protocol_errors += 1;
            return None;
        }
        let Some(out) = buf.get_mut(..len) else {
            self.stats.rx_truncated += 1;
            page.zero(offset, len);
            return None;
        };
        page.read(offset, out);
        page.zero(offset, len);
        self.stats.rx_packets += 1;
        Some(len)
    }

    /// Ends a dropped packet once its last slot is consumed.
    fn end_if_complete(&mut self) -> Option<usize> {
        let p = &mut self.rx_packet;
        if !p.extra_pending && !p.more_pending {
            if p.multislot {
                self.stats.rx_multislot_dropped += 1;
            }
            *p = RxPacket::default();
        }
        None
    }
}

impl<H: Hypervisor> stack::Nic for Netfront<H> {
    fn mac_address(&self) -> [u8; 6] {
        self.mac
    }

    fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        self.poll_receive(buf)
    }

    fn transmit(&mut self, frame: &[u8]) -> bool {
        self.send(frame)
    }

    fn can_transmit(&self) -> bool {
        self.broken.is_none() && !self.tx_free.is_empty() && self.tx.free_requests() > 0
    }
}

#[cfg(test)]
mod tests;
