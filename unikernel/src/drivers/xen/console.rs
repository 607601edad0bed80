//! The Xen console ring (`io/console.h`): what `xl console` shows.
//!
//! The toolstack gives every PV-aware guest one page (its frame number is
//! `HVM_PARAM_CONSOLE_PFN`) and an event channel (`HVM_PARAM_CONSOLE_EVTCHN`)
//! bound to xenconsoled in dom0:
//!
//! ```text
//! offset 0     in[1024]    keyboard input (not used here)
//!        1024  out[2048]   our output
//!        3072  in_cons, in_prod
//!        3080  out_cons    advanced by xenconsoled as it reads
//!        3084  out_prod    advanced by us as we write
//! ```
//!
//! Writing: copy bytes at `out_prod` (masked, wrapping round the 2 KiB),
//! write barrier, publish the new `out_prod`, ring the port. When the ring
//! is full we wait (blocking on the port, which xenconsoled rings after
//! reading) for at most [`STALL_NS`]; if nothing drains by then the
//! console is marked stalled and further output is dropped (counted)
//! instead of waited for, until room appears again — a console nobody
//! reads must not stop the appliance.

use super::shared_memory::{SharedMemory, read_barrier, write_barrier};
use super::{Hypervisor, MS, Port};

const OUT: usize = 1024;
/// Bytes in the output ring.
pub const OUT_SIZE: u32 = 2048;
const OUT_CONS: usize = 3080;
const OUT_PROD: usize = 3084;

/// Longest wait for xenconsoled to make room before output is dropped.
pub const STALL_NS: u64 = 200 * MS;

/// The console ring, our writing end.
#[derive(Debug)]
pub struct Console<H: Hypervisor> {
    hv: H,
    page: H::Page,
    port: Port,
    stalled: bool,
    /// Bytes dropped because the ring stayed full.
    pub dropped: u64,
}

impl<H: Hypervisor> Console<H> {
    /// The ring in `page`, with xenconsoled behind `port`.
    pub fn new(hv: H, page: H::Page, port: Port) -> Self {
        Console {
            hv,
            page,
            port,
            stalled: false,
            dropped: 0,
        }
    }

    /// Room in the ring now. A consumer index that claims more than was
    /// produced is treated as "no room" (never trusted to widen a copy).
    fn room(&self) -> (u32, u32) {
        let cons = self.page.load_u32(OUT_CONS);
        read_barrier();
        let prod = self.page.load_u32(OUT_PROD);
        let used = prod.wrapping_sub(cons);
        (prod, OUT_SIZE.saturating_sub(used))
    }

    /// Writes `bytes` (waiting a bounded time for room, see the module
    /// docs).
    pub fn write_bytes(&mut self, mut bytes: &[u8]) {
        let mut deadline = None;
        while !bytes.is_empty() {
            let (prod, room) = self.room();
            if room == 0 {
                if self.stalled {
                    self.dropped += bytes.len() as u64;
                    return;
                }
                let now = self.hv.now_ns();
                let until = *deadline.get_or_insert(now + STALL_NS);
                if now >= until {
                    self.stalled = true;
                    self.dropped += bytes.len() as u64;
                    return;
                }
                self.hv.notify(self.port);
                self.hv.wait(self.port, until);
                continue;
            }
            self.stalled = false;
            deadline = None;
            let n = (room as usize).min(bytes.len());
            for (i, &byte) in bytes[..n].iter().enumerate() {
                let index = prod.wrapping_add(i as u32) & (OUT_SIZE - 1);
                self.page.store_u8(OUT + index as usize, byte);
            }
            write_barrier();
            self.page.store_u32(OUT_PROD, prod.wrapping_add(n as u32));
            self.hv.notify(self.port);
            bytes = &bytes[n..];
        }
    }
}

impl<H: Hypervisor> Console<H> {
    /// Waits until xenconsoled has read everything written, or until
    /// `deadline` (before the domain stops: its last lines should reach
    /// the log). Returns at once on a stalled console.
    pub fn flush(&mut self, deadline: u64) {
        loop {
            let (_, room) = self.room();
            if room == OUT_SIZE || self.stalled || self.hv.now_ns() >= deadline {
                return;
            }
            self.hv.notify(self.port);
            self.hv.wait(self.port, deadline);
        }
    }
}

impl<H: Hypervisor> core::fmt::Write for Console<H> {
    /// Text with `\n` turned into `\r\n` (the terminal behind `xl console`
    /// is in raw mode).
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let mut rest = s.as_bytes();
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            self.write_bytes(&rest[..pos]);
            self.write_bytes(b"\r\n");
            rest = &rest[pos + 1..];
        }
        self.write_bytes(rest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use core::fmt::Write;

    use super::*;
    use crate::drivers::xen::sim::{SimXen, console::Xenconsoled};

    fn setup(
        chunk: usize,
    ) -> (
        SimXen,
        Console<SimXen>,
        std::rc::Rc<core::cell::RefCell<Xenconsoled>>,
    ) {
        let xen = SimXen::new();
        let page = xen.alloc_page_now();
        let daemon = Xenconsoled::new(page.clone(), chunk);
        xen.add_backend(daemon.clone());
        let console = Console::new(xen.clone(), page, 3);
        (xen, console, daemon)
    }

    #[test]
    fn lines_wrap_around_the_ring_intact() {
        let (xen, mut console, daemon) = setup(300);
        let mut expected = String::new();
        for i in 0..200 {
            let line = format!(
                "[{i:5}] a console line long enough to wrap the ring {}\n",
                "x".repeat(i % 37)
            );
            console.write_str(&line).unwrap();
            expected.push_str(&line.replace('\n', "\r\n"));
            // xenconsoled reads at its own pace.
            xen.step();
        }
        while daemon.borrow().pending(&console.page) > 0 {
            xen.step();
        }
        assert!(
            expected.len() > 4 * OUT_SIZE as usize,
            "the test must wrap the ring"
        );
        assert_eq!(
            String::from_utf8(daemon.borrow().output.clone()).unwrap(),
            expected
        );
        assert_eq!(console.dropped, 0);
    }

    #[test]
    fn a_console_nobody_reads_drops_output_after_a_bounded_wait() {
        let (xen, mut console, daemon) = setup(64);
        daemon.borrow_mut().paused = true;
        let start = xen.now_ns();
        console.write_bytes(&[b'a'; 3000]);
        assert_eq!(console.dropped, 3000 - u64::from(OUT_SIZE));
        let waited = xen.now_ns() - start;
        assert!(
            (STALL_NS..STALL_NS + 10 * MS).contains(&waited),
            "waited {waited} ns"
        );
        // Stalled: later output is dropped at once, without waiting again.
        let before = xen.now_ns();
        console.write_bytes(b"more");
        assert_eq!(xen.now_ns(), before);
        assert_eq!(console.dropped, 3000 - u64::from(OUT_SIZE) + 4);
        // The reader comes back: output flows again.
        daemon.borrow_mut().paused = false;
        for _ in 0..100 {
            xen.step();
        }
        console.write_bytes(b"back");
        for _ in 0..10 {
            xen.step();
        }
        let out = daemon.borrow().output.clone();
        assert_eq!(out.len(), OUT_SIZE as usize + 4);
        assert!(out.ends_with(b"aaaback"));
    }

    #[test]
    fn flush_waits_for_the_reader_within_its_deadline() {
        let (xen, mut console, daemon) = setup(10);
        console.write_bytes(&[b'z'; 100]);
        console.flush(xen.now_ns() + 1000 * MS);
        assert_eq!(daemon.borrow().output.len(), 100);
        daemon.borrow_mut().paused = true;
        console.write_bytes(b"late");
        let start = xen.now_ns();
        console.flush(start + 30 * MS);
        assert!(xen.now_ns() >= start + 30 * MS);
        assert_eq!(daemon.borrow().output.len(), 100);
    }

    #[test]
    fn a_bogus_consumer_index_never_widens_a_copy() {
        let (_xen, mut console, daemon) = setup(64);
        daemon.borrow_mut().paused = true;
        // xenconsoled claims to have read far more than was written.
        console.page.store_u32(OUT_CONS, 10_000);
        console.write_bytes(b"x");
        assert_eq!(console.dropped, 1);
        assert_eq!(console.page.load_u32(OUT_PROD), 0);
    }
}
