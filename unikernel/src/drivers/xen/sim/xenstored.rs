//! A simulated xenstored: the tree, the wire protocol, watches and
//! transactions, serving one guest's ring.
//!
//! Written from `io/xs_wire.h` and docs/misc/xenstore.txt: relative paths
//! are under `/local/domain/<domid>/`; `XS_READ` of a missing node is
//! `XS_ERROR "ENOENT"`; writes under `/tool` are `EACCES` (a stand-in for
//! permissions); `XS_WATCH` fires once at registration and on every change
//! at or below the path; transactions buffer writes until "T" and can be
//! told to fail with `EAGAIN`. It moves at most `chunk` bytes per step in
//! each direction, so a client sees partial messages and wrap-around.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;

use super::{Backend, SimPage, SimXen};
use crate::drivers::xen::shared_memory::SharedMemory;
use crate::drivers::xen::xenstore::*;

const REQ: usize = 0;
const RSP: usize = 1024;
const REQ_CONS: usize = 2048;
const REQ_PROD: usize = 2052;
const RSP_CONS: usize = 2056;
const RSP_PROD: usize = 2060;

/// The daemon.
pub struct Xenstored {
    page: SimPage,
    domid: u16,
    /// Bytes moved per step, each direction.
    pub chunk: usize,
    /// Neither reads requests nor writes replies while set.
    pub silent: bool,
    /// Fail this many transaction commits with EAGAIN.
    pub fail_commits: u32,
    /// Requests handled.
    pub requests: usize,
    /// Longest request payload seen.
    pub max_request_seen: usize,
    tree: BTreeMap<String, Vec<u8>>,
    /// (absolute path, token, relative: strip the domain prefix in events)
    watches: Vec<(String, String, bool)>,
    inbuf: Vec<u8>,
    out: VecDeque<u8>,
    transactions: HashMap<u32, Vec<(String, Vec<u8>)>>,
    next_tx: u32,
}

fn header(ty: u32, req_id: u32, tx: u32, len: usize) -> Vec<u8> {
    let mut h = Vec::new();
    for w in [ty, req_id, tx, len as u32] {
        h.extend_from_slice(&w.to_le_bytes());
    }
    h
}

impl Xenstored {
    /// A daemon for domain `domid` on `page`, moving `chunk` bytes a step.
    pub fn new(page: SimPage, domid: u16, chunk: usize) -> Rc<RefCell<Xenstored>> {
        Rc::new(RefCell::new(Xenstored {
            page,
            domid,
            chunk,
            silent: false,
            fail_commits: 0,
            requests: 0,
            max_request_seen: 0,
            tree: BTreeMap::new(),
            watches: Vec::new(),
            inbuf: Vec::new(),
            out: VecDeque::new(),
            transactions: HashMap::new(),
            next_tx: 1,
        }))
    }

    fn absolute(&self, path: &str) -> String {
        if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/local/domain/{}/{path}", self.domid)
        }
    }

    /// A node's value (absolute path).
    pub fn get(&self, path: &str) -> Option<Vec<u8>> {
        self.tree.get(path).cloned()
    }

    /// Sets a node as another party would (absolute path); fires watches.
    pub fn set(&mut self, path: &str, value: &[u8]) {
        self.tree.insert(path.to_string(), value.to_vec());
        self.fire(path);
    }

    /// Empties the tree (a domain without devices).
    pub fn clear(&mut self) {
        self.tree.clear();
    }

    /// Queues a raw message, its header claiming `claimed_len` if given.
    pub fn inject(&mut self, ty: u32, req_id: u32, body: &[u8], claimed_len: Option<usize>) {
        self.out
            .extend(header(ty, req_id, 0, claimed_len.unwrap_or(body.len())));
        self.out.extend(body);
    }

    fn fire(&mut self, changed: &str) {
        let prefix = format!("/local/domain/{}/", self.domid);
        let mut events = Vec::new();
        for (path, token, relative) in &self.watches {
            if changed == path || changed.starts_with(&format!("{path}/")) {
                let reported = if *relative {
                    changed.strip_prefix(&prefix).unwrap_or(changed)
                } else {
                    changed
                };
                events.push(format!("{reported}\0{token}\0"));
            }
        }
        for body in events {
            self.out.extend(header(XS_WATCH_EVENT, 0, 0, body.len()));
            self.out.extend(body.as_bytes());
        }
    }

    fn reply(&mut self, ty: u32, req_id: u32, tx: u32, body: &[u8]) {
        self.out.extend(header(ty, req_id, tx, body.len()));
        self.out.extend(body);
    }

    fn error(&mut self, req_id: u32, tx: u32, errno: &str) {
        let body = format!("{errno}\0");
        self.reply(XS_ERROR, req_id, tx, body.as_bytes());
    }

    fn handle(&mut self, ty: u32, req_id: u32, tx: u32, body: &[u8]) {
        self.requests += 1;
        self.max_request_seen = self.max_request_seen.max(body.len());
        let mut parts = body.splitn(2, |&b| b == 0);
        let first = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        let rest = parts.next().unwrap_or_default().to_vec();
        match ty {
            XS_READ => match self.tree.get(&self.absolute(&first)).cloned() {
                Some(value) => self.reply(XS_READ, req_id, tx, &value),
                None => self.error(req_id, tx, "ENOENT"),
            },
            XS_WRITE => {
                let path = self.absolute(&first);
                if path.starts_with("/tool") {
                    return self.error(req_id, tx, "EACCES");
                }
                if tx != 0 {
                    match self.transactions.get_mut(&tx) {
                        Some(writes) => writes.push((path, rest)),
                        None => return self.error(req_id, tx, "ENOENT"),
                    }
                } else {
                    self.set(&path, &rest);
                }
                self.reply(XS_WRITE, req_id, tx, b"OK\0");
            }
            XS_DIRECTORY => {
                let path = self.absolute(&first);
                let prefix = format!("{path}/");
                let mut names: Vec<String> = self
                    .tree
                    .keys()
                    .filter_map(|k| k.strip_prefix(&prefix))
                    .map(|rest| rest.split('/').next().unwrap_or_default().to_string())
                    .collect();
                names.dedup();
                if names.is_empty() && !self.tree.contains_key(&path) {
                    return self.error(req_id, tx, "ENOENT");
                }
                let body: Vec<u8> = names.iter().flat_map(|n| n.bytes().chain([0])).collect();
                self.reply(XS_DIRECTORY, req_id, tx, &body);
            }
            XS_WATCH | XS_UNWATCH => {
                let token =
                    String::from_utf8_lossy(rest.split(|&b| b == 0).next().unwrap_or_default())
                        .into_owned();
                let relative = !first.starts_with('/');
                let path = self.absolute(&first);
                if ty == XS_WATCH {
                    self.watches.push((path.clone(), token.clone(), relative));
                    self.reply(XS_WATCH, req_id, tx, b"OK\0");
                    let reported = if relative { first } else { path };
                    let body = format!("{reported}\0{token}\0");
                    self.out.extend(header(XS_WATCH_EVENT, 0, 0, body.len()));
                    self.out.extend(body.as_bytes());
                } else {
                    self.watches
                        .retain(|(p, t, _)| !(p == &path && t == &token));
                    self.reply(XS_UNWATCH, req_id, tx, b"OK\0");
                }
            }
            XS_TRANSACTION_START => {
                let id = self.next_tx;
                self.next_tx += 1;
                self.transactions.insert(id, Vec::new());
                let body = format!("{id}\0");
                self.reply(XS_TRANSACTION_START, req_id, 0, body.as_bytes());
            }
            XS_TRANSACTION_END => {
                let Some(writes) = self.transactions.remove(&tx) else {
                    return self.error(req_id, tx, "ENOENT");
                };
                if first == "T" {
                    if self.fail_commits > 0 {
                        self.fail_commits -= 1;
                        return self.error(req_id, tx, "EAGAIN");
                    }
                    for (path, value) in writes {
                        self.set(&path, &value);
                    }
                }
                self.reply(XS_TRANSACTION_END, req_id, tx, b"OK\0");
            }
            _ => self.error(req_id, tx, "EINVAL"),
        }
    }
}

impl Backend for Xenstored {
    fn step(&mut self, _xen: &SimXen) {
        if self.silent {
            return;
        }
        // Requests: take at most `chunk` bytes.
        let cons = self.page.load_u32(REQ_CONS);
        let prod = self.page.load_u32(REQ_PROD);
        let available = prod.wrapping_sub(cons);
        assert!(available <= RING_SIZE, "guest overfilled the request ring");
        let n = (available as usize).min(self.chunk) as u32;
        for i in 0..n {
            let index = cons.wrapping_add(i) & (RING_SIZE - 1);
            self.inbuf.push(self.page.load_u8(REQ + index as usize));
        }
        self.page.store_u32(REQ_CONS, cons.wrapping_add(n));
        while self.inbuf.len() >= HEADER_LEN {
            let word = |i: usize| u32::from_le_bytes(self.inbuf[i..i + 4].try_into().unwrap());
            let (ty, req_id, tx, len) = (word(0), word(4), word(8), word(12) as usize);
            assert!(len <= PAYLOAD_MAX, "guest sent an oversized request");
            if self.inbuf.len() < HEADER_LEN + len {
                break;
            }
            let body = self.inbuf[HEADER_LEN..HEADER_LEN + len].to_vec();
            self.inbuf.drain(..HEADER_LEN + len);
            self.handle(ty, req_id, tx, &body);
        }
        // Replies: put at most `chunk` bytes.
        let cons = self.page.load_u32(RSP_CONS);
        let prod = self.page.load_u32(RSP_PROD);
        let used = prod.wrapping_sub(cons);
        assert!(used <= RING_SIZE, "guest consumed more than was produced");
        let n = ((RING_SIZE - used) as usize)
            .min(self.chunk)
            .min(self.out.len()) as u32;
        for i in 0..n {
            let index = prod.wrapping_add(i) & (RING_SIZE - 1);
            let byte = self.out.pop_front().unwrap();
            self.page.store_u8(RSP + index as usize, byte);
        }
        self.page.store_u32(RSP_PROD, prod.wrapping_add(n));
    }
}
