//! A simulated network backend (netback in dom0), written from
//! `io/netif.h`, `io/ring.h`, `io/xenbus.h` and `grant_table.h`.
//!
//! It creates the vif's nodes in the simulated xenstore as the toolstack
//! would, moves to InitWait, connects once the frontend says Connected
//! (reading its ring references and event channel, mapping its grants
//! through the frontend's grant table), then copies transmitted packets
//! out and received packets in, answering in the ring slots the protocol
//! prescribes. Knobs make it misbehave: never connect, lack rx-copy, fail
//! transmits, answer twice, keep a grant mapped, split packets over slots.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use super::xenstored::Xenstored;
use super::{Backend, SimPage, SimXen};
use crate::drivers::xen::grant_table::{
    ENTRIES_PER_FRAME, GTF_PERMIT_ACCESS, GTF_READING, GTF_READONLY,
};
use crate::drivers::xen::shared_memory::{PAGE_SIZE, SharedMemory};

const REQ_PROD: usize = 0;
const RSP_PROD: usize = 8;
const HEADER: usize = 64;
const TX_SLOT: usize = 12;
const RX_SLOT: usize = 8;
const RING: u32 = 256;

/// How a received packet is laid into slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RxShape {
    /// One slot (what a frontend without feature-sg gets).
    Single,
    /// Split over two slots with NETRXF_more_data.
    TwoSlots,
    /// One slot with NETRXF_extra_info, then an extra-info slot.
    WithExtra,
    /// One slot whose status is NETIF_RSP_ERROR.
    Error,
    /// One slot claiming to run past the end of the page.
    Overlong,
}

/// The backend.
pub struct Netback {
    store: Rc<RefCell<Xenstored>>,
    frontend: String,
    backend: String,
    backend_id: u16,
    /// The frontend's grant-table frames.
    pub grant_frames: Vec<SimPage>,
    state: u32,
    /// Stay in Initialising (hotplug never finished).
    pub never_init_wait: bool,
    /// Reach InitWait but never Connected.
    pub never_connect: bool,
    tx_ring: Option<SimPage>,
    rx_ring: Option<SimPage>,
    tx_req_cons: u32,
    rx_req_cons: u32,
    /// Event channel the frontend gave.
    pub port: Option<u32>,
    /// Frames the frontend transmitted, in order.
    pub sent: Vec<Vec<u8>>,
    /// Answer this many transmits with NETIF_RSP_ERROR.
    pub fail_tx: u32,
    /// Do not process transmits (ring fills up).
    pub hold_tx: bool,
    /// Answer every transmit twice (a broken backend).
    pub duplicate_tx_responses: bool,
    /// Leave GTF_reading set on transmit grants (still mapped).
    pub keep_tx_mapped: bool,
    /// Transmit grants left "mapped" by `keep_tx_mapped`.
    pub mapped: Vec<(usize, usize)>,
    /// Offset at which received packets are placed in the page.
    pub rx_offset: u16,
    rx_queue: VecDeque<(Vec<u8>, RxShape)>,
    /// Receive pages that were not all zero when first seen.
    pub dirty_rx_pages: usize,
    /// Transmit pages holding non-zero bytes past the frame.
    pub dirty_tx_tails: usize,
    /// Every violation of the protocol the frontend committed.
    pub violations: Vec<String>,
    seen_rx_frames: std::collections::HashSet<u64>,
}

impl Netback {
    /// A vif for frontend domain `domid`, backend in domain 0, MAC
    /// `00:16:3e:00:00:01`; writes the toolstack's xenstore nodes.
    pub fn new(store: Rc<RefCell<Xenstored>>, domid: u16) -> Rc<RefCell<Netback>> {
        let frontend = format!("/local/domain/{domid}/device/vif/0");
        let backend = format!("/local/domain/0/backend/vif/{domid}/0");
        {
            let mut s = store.borrow_mut();
            s.set(&format!("{frontend}/backend"), backend.as_bytes());
            s.set(&format!("{frontend}/backend-id"), b"0");
            s.set(&format!("{frontend}/mac"), b"00:16:3e:00:00:01");
            s.set(&format!("{frontend}/state"), b"1");
            s.set(&format!("{frontend}/handle"), b"0");
            s.set(&format!("{backend}/frontend"), frontend.as_bytes());
            s.set(
                &format!("{backend}/frontend-id"),
                domid.to_string().as_bytes(),
            );
            s.set(&format!("{backend}/feature-rx-copy"), b"1");
            s.set(&format!("{backend}/feature-sg"), b"1");
            s.set(&format!("{backend}/state"), b"1");
        }
        Rc::new(RefCell::new(Netback {
            store,
            frontend,
            backend,
            backend_id: 0,
            grant_frames: Vec::new(),
            state: 1,
            never_init_wait: false,
            never_connect: false,
            tx_ring: None,
            rx_ring: None,
            tx_req_cons: 0,
            rx_req_cons: 0,
            port: None,
            sent: Vec::new(),
            fail_tx: 0,
            hold_tx: false,
            duplicate_tx_responses: false,
            keep_tx_mapped: false,
            mapped: Vec::new(),
            rx_offset: 0,
            rx_queue: VecDeque::new(),
            dirty_rx_pages: 0,
            dirty_tx_tails: 0,
            violations: Vec::new(),
            seen_rx_frames: Default::default(),
        }))
    }

    /// Queues a packet for the frontend.
    pub fn deliver(&mut self, frame: &[u8], shape: RxShape) {
        self.rx_queue.push_back((frame.to_vec(), shape));
    }

    /// Packets still waiting for receive buffers.
    pub fn undelivered(&self) -> usize {
        self.rx_queue.len()
    }

    fn front(&self, key: &str) -> Option<String> {
        let value = self
            .store
            .borrow()
            .get(&format!("{}/{key}", self.frontend))?;
        String::from_utf8(value).ok()
    }

    fn set_state(&mut self, state: u32) {
        self.state = state;
        let path = format!("{}/state", self.backend);
        self.store
            .borrow_mut()
            .set(&path, state.to_string().as_bytes());
    }

    /// The grant entry's (frame page index, offset) for `gref`.
    fn entry(&self, gref: u32) -> Option<(usize, usize)> {
        let frame = gref as usize / ENTRIES_PER_FRAME;
        (frame < self.grant_frames.len())
            .then_some((frame, (gref as usize % ENTRIES_PER_FRAME) * 8))
    }

    /// Maps a grant as Xen would check it: permitted, to us, writable if
    /// we write.
    fn map(&mut self, xen: &SimXen, gref: u32, write: bool) -> Option<SimPage> {
        let Some((frame, off)) = self.entry(gref) else {
            self.violations
                .push(format!("grant {gref} beyond the table"));
            return None;
        };
        let table = &self.grant_frames[frame];
        let flags = table.load_u16(off);
        let domid = table.load_u16(off + 2);
        let gfn = u64::from(table.load_u32(off + 4));
        if flags & GTF_PERMIT_ACCESS == 0 {
            self.violations.push(format!("grant {gref} not permitted"));
            return None;
        }
        if domid != self.backend_id {
            self.violations
                .push(format!("grant {gref} is for domain {domid}"));
            return None;
        }
        if write && flags & GTF_READONLY != 0 {
            self.violations.push(format!("grant {gref} is read-only"));
            return None;
        }
        let page = xen.page(gfn);
        if page.is_none() {
            self.violations
                .push(format!("grant {gref} names unknown frame {gfn:#x}"));
        }
        page
    }

    fn connect(&mut self, xen: &SimXen) {
        let parse = |v: Option<String>| v.and_then(|s| s.trim().parse::<u32>().ok());
        let (Some(tx_ref), Some(rx_ref), Some(port)) = (
            parse(self.front("tx-ring-ref")),
            parse(self.front("rx-ring-ref")),
            parse(self.front("event-channel")),
        ) else {
            self.violations
                .push("Connected without ring details".into());
            return;
        };
        if self.front("request-rx-copy").as_deref() != Some("1") {
            self.violations.push("no request-rx-copy".into());
        }
        if self.front("feature-rx-notify").as_deref() != Some("1") {
            self.violations.push("no feature-rx-notify".into());
        }
        self.tx_ring = self.map(xen, tx_ref, true);
        self.rx_ring = self.map(xen, rx_ref, true);
        if let Some(tx) = &self.tx_ring
            && tx.bytes(HEADER, PAGE_SIZE - HEADER).iter().any(|&b| b != 0)
        {
            self.violations
                .push("the transmit ring page was shared unzeroed".into());
        }
        self.port = Some(port);
        if self.tx_ring.is_some() && self.rx_ring.is_some() {
            self.set_state(4);
        }
    }

    fn process_tx(&mut self, xen: &SimXen) {
        let Some(ring) = self.tx_ring.clone() else {
            return;
        };
        let req_prod = ring.load_u32(REQ_PROD);
        while self.tx_req_cons != req_prod {
            let off = HEADER + (self.tx_req_cons & (RING - 1)) as usize * TX_SLOT;
            let gref = ring.load_u32(off);
            let offset = usize::from(ring.load_u16(off + 4));
            let flags = ring.load_u16(off + 6);
            let id = ring.load_u16(off + 8);
            let size = usize::from(ring.load_u16(off + 10));
            let mut status: i16 = 0;
            if flags != 0 {
                self.violations.push(format!("tx flags {flags:#x}"));
                status = -1;
            }
            if offset + size > PAGE_SIZE {
                self.violations.push("tx data crosses the page".into());
                status = -1;
            }
            if status == 0 {
                match self.map(xen, gref, false) {
                    Some(page) => {
                        self.sent.push(page.bytes(offset, size));
                        if page
                            .bytes(offset + size, PAGE_SIZE - offset - size)
                            .iter()
                            .any(|&b| b != 0)
                        {
                            self.dirty_tx_tails += 1;
                        }
                        if self.keep_tx_mapped
                            && let Some((frame, e)) = self.entry(gref)
                        {
                            let table = &self.grant_frames[frame];
                            let f = table.load_u16(e);
                            table.store_u16(e, f | GTF_READING);
                            self.mapped.push((frame, e));
                        }
                    }
                    None => status = -1,
                }
            }
            if status == 0 && self.fail_tx > 0 {
                self.fail_tx -= 1;
                status = -1;
            }
            // The response goes into the slot of the request just consumed.
            ring.store_u16(off, id);
            ring.store_u16(off + 2, status as u16);
            self.tx_req_cons = self.tx_req_cons.wrapping_add(1);
            ring.store_u32(RSP_PROD, self.tx_req_cons);
            if self.duplicate_tx_responses && self.tx_req_cons != req_prod {
                // Answer the same id again in the next request's slot,
                // swallowing that request (a confused backend).
                let next = HEADER + (self.tx_req_cons & (RING - 1)) as usize * TX_SLOT;
                ring.store_u16(next, id);
                ring.store_u16(next + 2, 0);
                self.tx_req_cons = self.tx_req_cons.wrapping_add(1);
                ring.store_u32(RSP_PROD, self.tx_req_cons);
            }
        }
    }

    /// Releases the grants `keep_tx_mapped` held.
    pub fn unmap_all(&mut self) {
        for (frame, e) in self.mapped.drain(..) {
            let table = &self.grant_frames[frame];
            let f = table.load_u16(e);
            table.store_u16(e, f & !GTF_READING);
        }
    }

    /// Takes the next receive request: (slot offset, id, page).
    fn take_rx_request(
        &mut self,
        xen: &SimXen,
        ring: &SimPage,
    ) -> Option<(usize, u16, Option<SimPage>)> {
        if ring.load_u32(REQ_PROD) == self.rx_req_cons {
            return None;
        }
        let off = HEADER + (self.rx_req_cons & (RING - 1)) as usize * RX_SLOT;
        let id = ring.load_u16(off);
        let gref = ring.load_u32(off + 4);
        self.rx_req_cons = self.rx_req_cons.wrapping_add(1);
        let page = self.map(xen, gref, true);
        if let Some(p) = &page
            && self.seen_rx_frames.insert(p.frame())
            && p.bytes(0, PAGE_SIZE).iter().any(|&b| b != 0)
        {
            self.dirty_rx_pages += 1;
        }
        Some((off, id, page))
    }

    fn respond_rx(ring: &SimPage, off: usize, id: u16, offset: u16, flags: u16, status: i16) {
        ring.store_u16(off, id);
        ring.store_u16(off + 2, offset);
        ring.store_u16(off + 4, flags);
        ring.store_u16(off + 6, status as u16);
    }

    fn process_rx(&mut self, xen: &SimXen) {
        let Some(ring) = self.rx_ring.clone() else {
            return;
        };
        while let Some((frame, shape)) = self.rx_queue.front().cloned() {
            let needed = if matches!(shape, RxShape::TwoSlots | RxShape::WithExtra) {
                2
            } else {
                1
            };
            if ring.load_u32(REQ_PROD).wrapping_sub(self.rx_req_cons) < needed {
                return;
            }
            self.rx_queue.pop_front();
            let offset = self.rx_offset;
            let (off, id, page) = self.take_rx_request(xen, &ring).unwrap();
            let Some(page) = page else { continue };
            match shape {
                RxShape::Single => {
                    page.write(usize::from(offset), &frame);
                    Self::respond_rx(&ring, off, id, offset, 0, frame.len() as i16);
                }
                RxShape::Error => Self::respond_rx(&ring, off, id, 0, 0, -1),
                RxShape::Overlong => Self::respond_rx(&ring, off, id, 4000, 0, 200),
                RxShape::TwoSlots => {
                    let half = frame.len() / 2;
                    page.write(usize::from(offset), &frame[..half]);
                    Self::respond_rx(&ring, off, id, offset, 1 << 2, frame.len() as i16);
                    let (off2, id2, page2) = self.take_rx_request(xen, &ring).unwrap();
                    if let Some(page2) = page2 {
                        page2.write(0, &frame[half..]);
                    }
                    Self::respond_rx(&ring, off2, id2, 0, 0, (frame.len() - half) as i16);
                }
                RxShape::WithExtra => {
                    page.write(usize::from(offset), &frame);
                    Self::respond_rx(&ring, off, id, offset, 1 << 3, frame.len() as i16);
                    let (off2, _id2, _page2) = self.take_rx_request(xen, &ring).unwrap();
                    // netif_extra_info: type GSO (1), flags 0, gso fields.
                    ring.store_u8(off2, 1);
                    ring.store_u8(off2 + 1, 0);
                    ring.store_u16(off2 + 2, 1448);
                    ring.store_u16(off2 + 4, 1);
                    ring.store_u16(off2 + 6, 0);
                }
            }
            ring.store_u32(RSP_PROD, self.rx_req_cons);
        }
    }

    /// Our index of consumed transmit requests (for ring-overflow tests).
    pub fn rx_ring(&self) -> Option<SimPage> {
        self.rx_ring.clone()
    }
}

impl Backend for Netback {
    fn step(&mut self, xen: &SimXen) {
        match self.state {
            1 if !self.never_init_wait => self.set_state(2),
            2 if !self.never_connect && self.front("state").as_deref() == Some("4") => {
                self.connect(xen)
            }
            4 => {
                if !self.hold_tx {
                    self.process_tx(xen);
                }
                self.process_rx(xen);
            }
            _ => {}
        }
    }
}
