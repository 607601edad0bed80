//! virtio-net over the modern PCI transport or virtio-mmio, as a
//! [`stack::Nic`].
//!
//! Built on virtio-drivers' raw (non-blocking) device: this driver owns the
//! buffers. Receive: [`receive_buffers`] buffers of 2 KiB (64 to
//! [`QUEUE_SIZE`], by the heap's size) stay posted; a completed
//! one is copied out and posted again. Transmit: the frame is copied behind
//! the virtio-net header into a buffer from a small pool, queued, and the
//! buffer returns to the pool when the device reports it used — `transmit`
//! never waits for the device. No offloads are negotiated (virtio-drivers
//! asks for none that change the frame), so frames are plain Ethernet.
//!
//! Interrupts from the device are suppressed: the platform polls the NIC
//! after each wake-up (`platform::wait_until` sleeps a bounded time).

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::SomeTransport;

use super::virtio_hal::PlatformHal;

/// Descriptors per queue: QEMU's largest (its default).
const QUEUE_SIZE: usize = 256;
/// Receive buffers posted at least (and what the smallest guests get).
const MIN_RECEIVE_BUFFERS: usize = 64;

/// How many receive buffers to keep posted with `heap_bytes` of heap: one
/// per 32 KiB of heap, from 64 (the smallest guest, 2 MiB of heap, boots
/// as before) to [`QUEUE_SIZE`] (from 8 MiB of heap; 512 KiB of buffers).
/// With device interrupts off, frames that arrive while the loop sleeps
/// (up to `platform::MAX_SLEEP_MS`, 5 ms) wait in them, and QEMU drops
/// what does not fit: 64 buffers held 3 ms of a 20,000 SYN/s flood, and a
/// visitor's SYN was lost with a quarter of the flood's; 256 hold 12 ms and
/// lost none (docs/DECISIONS.md, "SYN cookies").
pub fn receive_buffers(heap_bytes: u64) -> usize {
    usize::try_from(heap_bytes / (32 * 1024))
        .unwrap_or(usize::MAX)
        .clamp(MIN_RECEIVE_BUFFERS, QUEUE_SIZE)
}
/// Receive buffer size: header + a 1514-byte frame, rounded up.
const BUFFER_LEN: usize = 2048;
/// Free transmit buffers kept for reuse.
const TX_POOL: usize = 16;

/// A virtio-net device.
pub struct VirtioNet {
    device: VirtIONetRaw<PlatformHal, SomeTransport<'static>, QUEUE_SIZE>,
    /// Posted receive buffers, by descriptor token.
    rx: Vec<Option<Box<[u8]>>>,
    /// In-flight transmit buffers, by descriptor token.
    tx: Vec<Option<Box<[u8]>>>,
    pool: Vec<Box<[u8]>>,
    /// Frames dropped because the caller's buffer was too small.
    pub rx_truncated: u64,
}

impl VirtioNet {
    /// Initialises the device behind `transport` and posts `posted`
    /// receive buffers (at most [`QUEUE_SIZE`]; see [`receive_buffers`]).
    pub fn new(
        transport: SomeTransport<'static>,
        posted: usize,
    ) -> Result<Self, virtio_drivers::Error> {
        let mut device = VirtIONetRaw::new(transport)?;
        device.disable_interrupts();
        let mut rx: Vec<Option<Box<[u8]>>> = (0..QUEUE_SIZE).map(|_| None).collect();
        for _ in 0..posted.min(QUEUE_SIZE) {
            let mut buffer = vec![0u8; BUFFER_LEN].into_boxed_slice();
            // SAFETY: the buffer is heap memory kept in `rx` (not touched)
            // until the device hands it back through `receive_complete`.
            let token = unsafe { device.receive_begin(&mut buffer) }?;
            rx[usize::from(token)] = Some(buffer);
        }
        Ok(VirtioNet {
            device,
            rx,
            tx: (0..QUEUE_SIZE).map(|_| None).collect(),
            pool: Vec::new(),
            rx_truncated: 0,
        })
    }

    /// Returns finished transmit buffers to the pool.
    fn reap_transmitted(&mut self) {
        while let Some(token) = self.device.poll_transmit() {
            let Some(buffer) = self.tx.get_mut(usize::from(token)).and_then(Option::take) else {
                break;
            };
            // SAFETY: `buffer` is the one queued under `token`.
            let _ = unsafe { self.device.transmit_complete(token, &buffer) };
            if self.pool.len() < TX_POOL && buffer.len() == BUFFER_LEN {
                self.pool.push(buffer);
            }
        }
    }
}

impl stack::Nic for VirtioNet {
    fn mac_address(&self) -> [u8; 6] {
        self.device.mac_address()
    }

    fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        loop {
            let token = self.device.poll_receive()?;
            let mut buffer = self.rx.get_mut(usize::from(token))?.take()?;
            // SAFETY: `buffer` is the one posted under `token`.
            let completed = unsafe { self.device.receive_complete(token, &mut buffer) };
            let frame = completed.ok().and_then(|(header, len)| {
                let frame = buffer.get(header..header + len)?;
                let out = buf.get_mut(..len)?;
                out.copy_from_slice(frame);
                Some(len)
            });
            // Post the buffer again whatever happened to the frame.
            // SAFETY: as in `new`: kept in `rx` until handed back.
            if let Ok(token) = unsafe { self.device.receive_begin(&mut buffer) }
                && let Some(slot) = self.rx.get_mut(usize::from(token))
            {
                *slot = Some(buffer);
            }
            match frame {
                Some(len) => return Some(len),
                None => self.rx_truncated += 1,
            }
        }
    }

    fn transmit(&mut self, frame: &[u8]) -> bool {
        self.reap_transmitted();
        if !self.device.can_send() {
            return false;
        }
        let mut buffer = self
            .pool
            .pop()
            .unwrap_or_else(|| vec![0u8; BUFFER_LEN].into_boxed_slice());
        let Ok(header) = self.device.fill_buffer_header(&mut buffer) else {
            return false;
        };
        if header + frame.len() > buffer.len() {
            // Larger than any Ethernet frame the stack should send: one-off.
            buffer = vec![0u8; header + frame.len()].into_boxed_slice();
            if self.device.fill_buffer_header(&mut buffer).is_err() {
                return false;
            }
        }
        buffer[header..header + frame.len()].copy_from_slice(frame);
        let queued = &buffer[..header + frame.len()];
        // SAFETY: `buffer` moves into `tx` below and is not touched until
        // the device reports the token used (`reap_transmitted`).
        match unsafe { self.device.transmit_begin(queued) } {
            Ok(token) => {
                if let Some(slot) = self.tx.get_mut(usize::from(token)) {
                    *slot = Some(buffer);
                }
                true
            }
            Err(_) => false,
        }
    }
}
