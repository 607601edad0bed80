//! A xenstore client over the shared ring (`io/xs_wire.h`).
//!
//! Xenstore is a tree of small values kept by xenstored in dom0; the
//! toolstack writes a guest's devices there and front and back ends meet
//! there. A guest reaches it through one page (`HVM_PARAM_STORE_PFN`) and
//! one event channel (`HVM_PARAM_STORE_EVTCHN`):
//!
//! ```text
//! offset 0     req[1024]   byte stream of requests (we produce)
//!        1024  rsp[1024]   byte stream of replies and watch events (we consume)
//!        2048  req_cons, req_prod, rsp_cons, rsp_prod   (u32, free-running)
//! ```
//!
//! Each message is a 16-byte header — type, request id, transaction id,
//! payload length (u32 each) — followed by at most 4096 payload bytes.
//! Both rings are only 1 KiB, so a message is written and read in as many
//! pieces as there is room: a reply may arrive a few bytes at a time and
//! wrap round the ring. Paths are NUL-terminated; relative paths
//! (`device/vif/0/mac`) are under our own `/local/domain/<id>/`.
//!
//! Replies echo the request id: a reply to an earlier, timed-out request
//! is recognised and dropped. Watch events (`XS_WATCH_EVENT`, path and
//! token) arrive whenever a watched node changes, between replies; they
//! are queued (bounded) for [`Xenstore::next_watch_event`]. A failed
//! request gets `XS_ERROR` with an errno name ("ENOENT", "EACCES", …),
//! returned as [`XsError::Error`]. Every operation takes a deadline; a
//! stream that cannot be resynchronised (a half-sent request, a reply
//! longer than the protocol allows, ring indices out of range) marks the
//! connection broken and every later call fails with a clear error.

use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use super::shared_memory::{SharedMemory, full_barrier, read_barrier, write_barrier};
use super::{Hypervisor, Port};

/// `XS_DIRECTORY`: list a node's children.
pub const XS_DIRECTORY: u32 = 1;
/// `XS_READ`: a node's value.
pub const XS_READ: u32 = 2;
/// `XS_WATCH`: report changes under a path.
pub const XS_WATCH: u32 = 4;
/// `XS_UNWATCH`.
pub const XS_UNWATCH: u32 = 5;
/// `XS_TRANSACTION_START`.
pub const XS_TRANSACTION_START: u32 = 6;
/// `XS_TRANSACTION_END` ("T" commit, "F" abort).
pub const XS_TRANSACTION_END: u32 = 7;
/// `XS_WRITE`: set a node's value.
pub const XS_WRITE: u32 = 11;
/// `XS_WATCH_EVENT`: unsolicited, a watched node changed.
pub const XS_WATCH_EVENT: u32 = 15;
/// `XS_ERROR`: the reply to a failed request (payload: errno name).
pub const XS_ERROR: u32 = 16;

/// Bytes in each ring.
pub const RING_SIZE: u32 = 1024;
const REQ: usize = 0;
const RSP: usize = 1024;
const REQ_CONS: usize = 2048;
const REQ_PROD: usize = 2052;
const RSP_CONS: usize = 2056;
const RSP_PROD: usize = 2060;
/// Header bytes before every payload.
pub const HEADER_LEN: usize = 16;
/// Largest payload the protocol allows.
pub const PAYLOAD_MAX: usize = 4096;
/// Watch events kept for [`Xenstore::next_watch_event`]; more are dropped.
pub const MAX_QUEUED_EVENTS: usize = 64;

/// A transaction id (0: none).
pub type TxId = u32;

/// Why a xenstore operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XsError {
    /// No reply (or no room to send) before the deadline.
    Timeout(&'static str),
    /// xenstored refused: the errno name it sent (ENOENT, EACCES, EAGAIN…).
    Error(String),
    /// The request's payload is longer than the protocol allows.
    TooLong(usize),
    /// A reply that is not what the request calls for.
    BadReply(&'static str),
    /// The stream is out of step and cannot be used any more.
    Broken(&'static str),
}

impl XsError {
    /// Whether this is xenstored's "no such node".
    pub fn is_not_found(&self) -> bool {
        matches!(self, XsError::Error(e) if e == "ENOENT")
    }
}

impl fmt::Display for XsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XsError::Timeout(op) => write!(f, "xenstore {op}: no reply in time"),
            XsError::Error(errno) => write!(f, "xenstore refused: {errno}"),
            XsError::TooLong(n) => write!(
                f,
                "xenstore request of {n} bytes exceeds the {PAYLOAD_MAX}-byte limit"
            ),
            XsError::BadReply(what) => write!(f, "xenstore reply: {what}"),
            XsError::Broken(why) => write!(f, "xenstore connection broken: {why}"),
        }
    }
}

/// A change reported by a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    /// The node that changed.
    pub path: String,
    /// The token given to [`Xenstore::watch`].
    pub token: String,
}

/// One message off the wire.
struct Message {
    ty: u32,
    req_id: u32,
    body: Vec<u8>,
}

/// The client end of the xenstore ring.
#[derive(Debug)]
pub struct Xenstore<H: Hypervisor> {
    hv: H,
    page: H::Page,
    port: Port,
    next_id: u32,
    /// The message being received (header, then payload), possibly partial.
    partial: Vec<u8>,
    events: VecDeque<WatchEvent>,
    broken: Option<&'static str>,
    /// Watch events dropped because the queue was full.
    pub events_dropped: u64,
    /// Replies to earlier (timed-out) requests that were dropped.
    pub stale_replies: u64,
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// The strings in a NUL-separated payload.
fn split_strings(body: &[u8]) -> Vec<String> {
    body.split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

impl<H: Hypervisor> Xenstore<H> {
    /// The ring in `page`, xenstored behind `port`.
    pub fn new(hv: H, page: H::Page, port: Port) -> Self {
        Xenstore {
            hv,
            page,
            port,
            next_id: 1,
            partial: Vec::new(),
            events: VecDeque::new(),
            broken: None,
            events_dropped: 0,
            stale_replies: 0,
        }
    }

    /// A node's value (bytes, no terminator).
    pub fn read(&mut self, path: &str, deadline: u64) -> Result<Vec<u8>, XsError> {
        let mut payload = Vec::with_capacity(path.len() + 1);
        payload.extend_from_slice(path.as_bytes());
        payload.push(0);
        self.request(XS_READ, 0, &payload, "read", deadline)
    }

    /// A node's value as text (invalid UTF-8 is an error).
    pub fn read_string(&mut self, path: &str, deadline: u64) -> Result<String, XsError> {
        String::from_utf8(self.read(path, deadline)?)
            .map_err(|_| XsError::BadReply("value is not UTF-8"))
    }

    /// Sets a node (creating it and its parents), within transaction `tx`
    /// (0: none).
    pub fn write(
        &mut self,
        tx: TxId,
        path: &str,
        value: &[u8],
        deadline: u64,
    ) -> Result<(), XsError> {
        let mut payload = Vec::with_capacity(path.len() + 1 + value.len());
        payload.extend_from_slice(path.as_bytes());
        payload.push(0);
        payload.extend_from_slice(value);
        self.request(XS_WRITE, tx, &payload, "write", deadline)
            .map(drop)
    }

    /// The names of a node's children.
    pub fn directory(&mut self, path: &str, deadline: u64) -> Result<Vec<String>, XsError> {
        let mut payload = Vec::with_capacity(path.len() + 1);
        payload.extend_from_slice(path.as_bytes());
        payload.push(0);
        self.request(XS_DIRECTORY, 0, &payload, "directory", deadline)
            .map(|body| split_strings(&body))
    }

    /// Asks for [`WatchEvent`]s with `token` when `path` or anything below
    /// it changes (xenstored also sends one at once).
    pub fn watch(&mut self, path: &str, token: &str, deadline: u64) -> Result<(), XsError> {
        let payload = alloc::format!("{path}\0{token}\0");
        self.request(XS_WATCH, 0, payload.as_bytes(), "watch", deadline)
            .map(drop)
    }

    /// Cancels a watch.
    pub fn unwatch(&mut self, path: &str, token: &str, deadline: u64) -> Result<(), XsError> {
        let payload = alloc::format!("{path}\0{token}\0");
        self.request(XS_UNWATCH, 0, payload.as_bytes(), "unwatch", deadline)
            .map(drop)
    }

    /// Starts a transaction.
    pub fn transaction_start(&mut self, deadline: u64) -> Result<TxId, XsError> {
        let body = self.request(
            XS_TRANSACTION_START,
            0,
            b"\0",
            "transaction start",
            deadline,
        )?;
        split_strings(&body)
            .first()
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|&id| id != 0)
            .ok_or(XsError::BadReply("transaction id is not a number"))
    }

    /// Ends a transaction: commits it (`commit`) or aborts it. `Ok(false)`
    /// when xenstored answers EAGAIN (another writer interfered): run the
    /// whole transaction again.
    pub fn transaction_end(
        &mut self,
        tx: TxId,
        commit: bool,
        deadline: u64,
    ) -> Result<bool, XsError> {
        let payload: &[u8] = if commit { b"T\0" } else { b"F\0" };
        match self.request(XS_TRANSACTION_END, tx, payload, "transaction end", deadline) {
            Ok(_) => Ok(true),
            Err(XsError::Error(errno)) if errno == "EAGAIN" => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The next watch event, waiting for one until `deadline`; `Ok(None)`
    /// if none came by then.
    pub fn next_watch_event(&mut self, deadline: u64) -> Result<Option<WatchEvent>, XsError> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Ok(Some(event));
            }
            match self.receive(deadline, "watch") {
                Ok(message) => self.dispatch_unsolicited(message),
                Err(XsError::Timeout(_)) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    /// Queues a watch event or drops a stale reply.
    fn dispatch_unsolicited(&mut self, message: Message) {
        if message.ty == XS_WATCH_EVENT {
            let mut strings = split_strings(&message.body).into_iter();
            let (Some(path), Some(token)) = (strings.next(), strings.next()) else {
                return;
            };
            if self.events.len() >= MAX_QUEUED_EVENTS {
                self.events_dropped += 1;
                return;
            }
            self.events.push_back(WatchEvent { path, token });
        } else {
            self.stale_replies += 1;
        }
    }

    fn request(
        &mut self,
        ty: u32,
        tx: TxId,
        payload: &[u8],
        op: &'static str,
        deadline: u64,
    ) -> Result<Vec<u8>, XsError> {
        if let Some(why) = self.broken {
            return Err(XsError::Broken(why));
        }
        if payload.len() > PAYLOAD_MAX {
            return Err(XsError::TooLong(payload.len()));
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let mut message = Vec::with_capacity(HEADER_LEN + payload.len());
        for word in [ty, id, tx, payload.len() as u32] {
            message.extend_from_slice(&word.to_le_bytes());
        }
        message.extend_from_slice(payload);
        self.send(&message, op, deadline)?;
        loop {
            let reply = self.receive(deadline, op)?;
            if reply.ty == XS_WATCH_EVENT || reply.req_id != id {
                self.dispatch_unsolicited(reply);
                continue;
            }
            return match reply.ty {
                XS_ERROR => Err(XsError::Error(
                    split_strings(&reply.body)
                        .into_iter()
                        .next()
                        .unwrap_or_else(|| "EINVAL".to_string()),
                )),
                t if t == ty => Ok(reply.body),
                _ => Err(XsError::BadReply("reply of another type")),
            };
        }
    }

    fn fail(&mut self, why: &'static str) -> XsError {
        self.broken = Some(why);
        XsError::Broken(why)
    }

    /// Writes all of `bytes` into the request ring, in pieces as room
    /// appears.
    fn send(&mut self, mut bytes: &[u8], op: &'static str, deadline: u64) -> Result<(), XsError> {
        let mut sent_any = false;
        while !bytes.is_empty() {
            let cons = self.page.load_u32(REQ_CONS);
            read_barrier();
            let prod = self.page.load_u32(REQ_PROD);
            let used = prod.wrapping_sub(cons);
            if used > RING_SIZE {
                return Err(self.fail("request ring indices out of range"));
            }
            let room = (RING_SIZE - used) as usize;
            if room == 0 {
                if self.hv.now_ns() >= deadline {
                    // Half a request on the wire cannot be taken back.
                    return Err(if sent_any {
                        self.fail("timed out in the middle of a request")
                    } else {
                        XsError::Timeout(op)
                    });
                }
                self.hv.wait(self.port, deadline);
                continue;
            }
            let n = room.min(bytes.len());
            for (i, &byte) in bytes[..n].iter().enumerate() {
                let index = prod.wrapping_add(i as u32) & (RING_SIZE - 1);
                self.page.store_u8(REQ + index as usize, byte);
            }
            write_barrier();
            self.page.store_u32(REQ_PROD, prod.wrapping_add(n as u32));
            self.hv.notify(self.port);
            sent_any = true;
            bytes = &bytes[n..];
        }
        Ok(())
    }

    /// Bytes still missing from the message being received.
    fn missing(&self) -> usize {
        if self.partial.len() < HEADER_LEN {
            HEADER_LEN - self.partial.len()
        } else {
            HEADER_LEN + u32_at(&self.partial, 12) as usize - self.partial.len()
        }
    }

    /// The next whole message from the reply ring.
    fn receive(&mut self, deadline: u64, op: &'static str) -> Result<Message, XsError> {
        if let Some(why) = self.broken {
            return Err(XsError::Broken(why));
        }
        loop {
            let prod = self.page.load_u32(RSP_PROD);
            read_barrier();
            let cons = self.page.load_u32(RSP_CONS);
            let available = prod.wrapping_sub(cons);
            if available > RING_SIZE {
                return Err(self.fail("reply ring indices out of range"));
            }
            let n = (available as usize).min(self.missing());
            if n == 0 {
                if self.hv.now_ns() >= deadline {
                    return Err(XsError::Timeout(op));
                }
                self.hv.wait(self.port, deadline);
                continue;
            }
            for i in 0..n as u32 {
                let index = cons.wrapping_add(i) & (RING_SIZE - 1);
                self.partial.push(self.page.load_u8(RSP + index as usize));
            }
            // Our reads are done before xenstored may reuse the space.
            full_barrier();
            self.page.store_u32(RSP_CONS, cons.wrapping_add(n as u32));
            self.hv.notify(self.port);
            if self.partial.len() == HEADER_LEN && u32_at(&self.partial, 12) as usize > PAYLOAD_MAX
            {
                return Err(self.fail("reply longer than the protocol allows"));
            }
            if self.partial.len() >= HEADER_LEN && self.missing() == 0 {
                let whole = core::mem::take(&mut self.partial);
                return Ok(Message {
                    ty: u32_at(&whole, 0),
                    req_id: u32_at(&whole, 4),
                    body: whole[HEADER_LEN..].to_vec(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::drivers::xen::MS;
    use crate::drivers::xen::sim::SimXen;
    use crate::drivers::xen::sim::xenstored::Xenstored;

    fn setup(chunk: usize) -> (SimXen, Xenstore<SimXen>, Rc<RefCell<Xenstored>>) {
        let xen = SimXen::new();
        let page = xen.alloc_page_now();
        let daemon = Xenstored::new(page.clone(), 5, chunk);
        xen.add_backend(daemon.clone());
        (xen.clone(), Xenstore::new(xen, page, 1), daemon)
    }

    fn soon(xen: &SimXen) -> u64 {
        xen.now_ns() + 1000 * MS
    }

    #[test]
    fn read_write_directory_with_relative_paths() {
        let (xen, mut xs, daemon) = setup(1024);
        daemon
            .borrow_mut()
            .set("/local/domain/5/device/vif/0/mac", b"00:16:3e:01:02:03");
        let d = soon(&xen);
        assert_eq!(
            xs.read_string("device/vif/0/mac", d).unwrap(),
            "00:16:3e:01:02:03"
        );
        xs.write(0, "data/greeting", b"hello", d).unwrap();
        assert_eq!(
            daemon.borrow().get("/local/domain/5/data/greeting"),
            Some(b"hello".to_vec())
        );
        xs.write(0, "data/other", b"", d).unwrap();
        let mut children = xs.directory("data", d).unwrap();
        children.sort();
        assert_eq!(children, ["greeting", "other"]);
        assert_eq!(xs.read("data/other", d).unwrap(), b"");
    }

    #[test]
    fn error_replies_become_errors_and_the_connection_goes_on() {
        let (xen, mut xs, _daemon) = setup(1024);
        let d = soon(&xen);
        let e = xs.read("device/vif/7/backend", d).unwrap_err();
        assert!(e.is_not_found(), "{e:?}");
        assert_eq!(e.to_string(), "xenstore refused: ENOENT");
        let e = xs.write(0, "/tool/forbidden", b"x", d).unwrap_err();
        assert_eq!(e, XsError::Error("EACCES".into()));
        xs.write(0, "ok", b"1", d).unwrap();
        assert_eq!(xs.read("ok", d).unwrap(), b"1");
    }

    #[test]
    fn partial_reads_and_ring_wrap_around() {
        // The daemon moves 7 bytes per step in each direction: every
        // message crosses many steps, and the 1 KiB rings wrap repeatedly.
        let (xen, mut xs, daemon) = setup(7);
        let d = xen.now_ns() + 100_000 * MS;
        let mut total = 0;
        for i in 0..40 {
            let value: Vec<u8> = (0..(i * 97 % 3000) + 1)
                .map(|j| b'a' + (j % 26) as u8)
                .collect();
            let path = format!("data/k{i}");
            xs.write(0, &path, &value, d).unwrap();
            assert_eq!(xs.read(&path, d).unwrap(), value, "key {i}");
            total += 2 * (value.len() + path.len());
        }
        assert!(total > 20 * RING_SIZE as usize);
        assert!(
            daemon.borrow().max_request_seen > RING_SIZE as usize,
            "a request longer than the ring"
        );
    }

    #[test]
    fn too_long_requests_are_refused_before_sending() {
        let (xen, mut xs, daemon) = setup(1024);
        let e = xs
            .write(0, "big", &[b'x'; PAYLOAD_MAX], soon(&xen))
            .unwrap_err();
        assert_eq!(e, XsError::TooLong(PAYLOAD_MAX + 4));
        assert_eq!(daemon.borrow().requests, 0);
    }

    #[test]
    fn watch_events_arrive_between_replies() {
        let (xen, mut xs, daemon) = setup(13);
        let d = xen.now_ns() + 10_000 * MS;
        xs.watch("/local/domain/0/backend/vif/5/0/state", "be", d)
            .unwrap();
        // The initial event fires at once.
        let e = xs.next_watch_event(d).unwrap().unwrap();
        assert_eq!(e.path, "/local/domain/0/backend/vif/5/0/state");
        assert_eq!(e.token, "be");
        // A change made by another party (the backend) while we do a read:
        // the event is queued, not mistaken for the reply.
        daemon
            .borrow_mut()
            .set("/local/domain/0/backend/vif/5/0/state", b"2");
        daemon.borrow_mut().set("/local/domain/5/x", b"y");
        assert_eq!(xs.read("x", d).unwrap(), b"y");
        let e = xs.next_watch_event(d).unwrap().unwrap();
        assert_eq!(e.token, "be");
        // Changes below the watched node fire too; unrelated ones do not.
        daemon
            .borrow_mut()
            .set("/local/domain/0/backend/vif/5/0/state/sub", b"1");
        daemon.borrow_mut().set("/local/domain/0/other", b"1");
        let e = xs.next_watch_event(d).unwrap().unwrap();
        assert_eq!(e.path, "/local/domain/0/backend/vif/5/0/state/sub");
        assert_eq!(xs.next_watch_event(xen.now_ns() + 50 * MS).unwrap(), None);
        xs.unwatch("/local/domain/0/backend/vif/5/0/state", "be", d)
            .unwrap();
        daemon
            .borrow_mut()
            .set("/local/domain/0/backend/vif/5/0/state", b"4");
        assert_eq!(xs.next_watch_event(xen.now_ns() + 50 * MS).unwrap(), None);
    }

    #[test]
    fn a_silent_daemon_times_out_and_a_late_reply_is_dropped() {
        let (xen, mut xs, daemon) = setup(1024);
        daemon.borrow_mut().set("/local/domain/5/a", b"1");
        daemon.borrow_mut().set("/local/domain/5/b", b"2");
        daemon.borrow_mut().silent = true;
        let start = xen.now_ns();
        let e = xs.read("a", start + 500 * MS).unwrap_err();
        assert_eq!(e, XsError::Timeout("read"));
        assert!(xen.now_ns() - start >= 500 * MS);
        // The daemon wakes up and answers the old request first.
        daemon.borrow_mut().silent = false;
        assert_eq!(xs.read("b", soon(&xen)).unwrap(), b"2");
        assert_eq!(xs.stale_replies, 1);
    }

    #[test]
    fn transactions_commit_and_report_eagain() {
        let (xen, mut xs, daemon) = setup(64);
        let d = soon(&xen);
        daemon.borrow_mut().fail_commits = 1;
        let tx = xs.transaction_start(d).unwrap();
        xs.write(tx, "t/a", b"1", d).unwrap();
        // Not visible before the commit.
        assert_eq!(daemon.borrow().get("/local/domain/5/t/a"), None);
        assert!(!xs.transaction_end(tx, true, d).unwrap(), "EAGAIN: retry");
        assert_eq!(daemon.borrow().get("/local/domain/5/t/a"), None);
        let tx = xs.transaction_start(d).unwrap();
        xs.write(tx, "t/a", b"1", d).unwrap();
        assert!(xs.transaction_end(tx, true, d).unwrap());
        assert_eq!(
            daemon.borrow().get("/local/domain/5/t/a"),
            Some(b"1".to_vec())
        );
        let tx = xs.transaction_start(d).unwrap();
        xs.write(tx, "t/b", b"1", d).unwrap();
        assert!(xs.transaction_end(tx, false, d).unwrap());
        assert_eq!(daemon.borrow().get("/local/domain/5/t/b"), None);
    }

    #[test]
    fn garbage_from_the_daemon_breaks_the_connection_cleanly() {
        let (xen, mut xs, daemon) = setup(1024);
        // A reply header announcing a 1 MiB payload.
        daemon.borrow_mut().inject(XS_READ, 1, &[], Some(1 << 20));
        let e = xs.read("a", soon(&xen)).unwrap_err();
        assert_eq!(e, XsError::Broken("reply longer than the protocol allows"));
        assert_eq!(
            xs.read("a", soon(&xen)).unwrap_err(),
            XsError::Broken("reply longer than the protocol allows")
        );
    }

    #[test]
    fn reply_indices_out_of_range_break_the_connection() {
        let (xen, mut xs, daemon) = setup(1024);
        daemon.borrow_mut().silent = true;
        xs.page.store_u32(RSP_PROD, 5000);
        let e = xs.read("a", soon(&xen)).unwrap_err();
        assert_eq!(e, XsError::Broken("reply ring indices out of range"));
    }
}
