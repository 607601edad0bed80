//! The piñata unikernel: the bare-metal platform the piñata runs on, with no
//! operating system under it.
//!
//! Where it sits in the data flow:
//!
//! ```text
//! virtio-net or netfront (drivers/) ──frames──▶ stack (smoltcp) ──bytes──▶ pinata sessions ──▶ rustls
//!        ▲                                                          │
//!   PCI, DMA, IRQ-less polling        platform.rs: clock, RTC, DRBG, config, wait_until
//! ```
//!
//! This crate boots the machine and provides what the layers above need:
//! the PVH entry and long mode (`arch/x86_64/boot.rs`), exceptions
//! (`idt.rs`), the identity map (`paging.rs`), the heap (`heap.rs`, talc),
//! the serial console with timestamps (`console.rs`), the TSC clock and
//! LAPIC timer, the CMOS RTC, entropy and the ChaCha20 DRBG (`entropy.rs`,
//! `drbg.rs`), PCI and the virtio drivers (`drivers/`), the Xen PVH guest
//! drivers (`drivers/xen/`: console ring, xenstore, grant tables, event
//! channels, netfront — taken when CPUID says Xen), the command line and
//! boot-module secret (`cmdline.rs`), a test-only heap canary
//! (`canary.rs`), and the API the event loop uses
//! (`platform.rs`). Build the image with `cargo xtask image`.
//!
//! It is also a workspace member built on the host, where only the
//! pure-logic modules (`canary`, `cmdline`, `drbg`, `memmap`, `datetime`, and the Xen
//! PV protocol code in `drivers/xen` with its simulated backends) are
//! compiled, for their unit tests.
#![cfg_attr(target_os = "none", no_std, no_main)]
// On the host only the pure-logic modules are built (for their tests);
// their items are used by the bare-metal code that is compiled out there.
#![cfg_attr(not(target_os = "none"), allow(dead_code))]

extern crate alloc;

mod canary;
mod cmdline;
mod datetime;
mod drbg;
// Hardware drivers are bare-metal only; the Xen PV protocol code in
// drivers/xen also builds on the host, for its simulated-backend tests.
mod drivers;
mod memmap;

#[cfg(target_os = "none")]
mod arch;
#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
mod console;
#[cfg(target_os = "none")]
mod entropy;
#[cfg(target_os = "none")]
mod event_loop;
#[cfg(target_os = "none")]
mod heap;
#[cfg(target_os = "none")]
mod platform;

/// What runs after boot: the piñata, over the stack, forever.
#[cfg(target_os = "none")]
fn run() -> ! {
    event_loop::start()
}

#[cfg(not(target_os = "none"))]
fn main() {
    println!(
        "pinata-unikernel is a bare-metal image: build it with `cargo xtask image` \
         (target x86_64-unknown-none) and boot it with QEMU -kernel."
    );
}
