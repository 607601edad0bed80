//! The platform API: what the event loop (and anything else above the
//! drivers) uses. All of it is ready once [`crate::boot::kernel_entry`]
//! hands over.
//!
//! | call | gives |
//! |---|---|
//! | [`now`] | monotonic milliseconds since the PVH entry (TSC) |
//! | [`wall_clock`] | `&'static RtcClock`, a rustls `TimeProvider` (Xen's wall clock, kvmclock or the CMOS RTC at boot + monotonic) |
//! | [`random`] | the seeded ChaCha20 DRBG as `&'static dyn SecureRandom` |
//! | [`wait_until`] | halt until an interrupt or the deadline, at most [`MAX_SLEEP_MS`] |
//! | [`boot_config`] | the parsed command line and boot-module secret |
//! | [`nic`] | the NIC (taken once) as a `stack::Nic`: virtio-net, or netfront on Xen |
//! | [`poweroff`] / [`fatal_stop`] | off / after a fatal error: off before [`serving`], then per `panic=` (default: restart) |
//! | [`println!`](crate::println) | a console line with the time since entry |

use alloc::boxed::Box;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::time::Duration;

use pinata::random::SecureRandom;
use pinata::time::{Instant, TimeProvider, UnixTime};
use spin::{Mutex, Once};
use stack::Nic as _;

use crate::arch::x86_64::{apic, power, tsc};
use crate::cmdline::{BootConfig, PanicAction};
pub use crate::drivers::virtio_net::VirtioNet;
use crate::drivers::xen::hypercall::ShutdownReason;
use crate::drivers::xen::{self, guest::Xen, netfront::Netfront};
use crate::drivers::{kvmclock, rtc};
use crate::entropy;

/// The longest [`wait_until`] sleeps: the NIC's interrupts are not used,
/// so this bounds how late a received frame is noticed.
pub const MAX_SLEEP_MS: u64 = 5;

/// Monotonic time: milliseconds since the PVH entry.
pub fn now() -> Instant {
    Instant::from_millis(tsc::micros_since_entry() / 1000)
}

/// Monotonic time in microseconds since the PVH entry (for measurements).
pub fn now_micros() -> u64 {
    tsc::micros_since_entry()
}

/// Wall-clock time: read at boot from the hypervisor or the CMOS RTC
/// ([`WallClockSource`]), advanced by the monotonic clock, and read again
/// once an hour so TSC calibration error cannot drift the certificate
/// clock for long. `None` if the machine has no usable wall clock (then
/// certificate validity cannot be checked: rustls fails the handshake,
/// which fails closed).
#[derive(Debug, Default)]
pub struct RtcClock {
    /// RTC seconds at `synced_at_micros`; 0 = not read / no RTC.
    unix_at_sync: AtomicU64,
    synced_at_micros: AtomicU64,
}

const RESYNC_MICROS: u64 = 3600 * 1_000_000;

impl RtcClock {
    const fn new() -> RtcClock {
        RtcClock {
            unix_at_sync: AtomicU64::new(0),
            synced_at_micros: AtomicU64::new(0),
        }
    }

    /// Reads the wall clock now ([`WallClockSource::current`]); returns
    /// its seconds since the epoch.
    pub fn sync(&self) -> Option<u64> {
        let seconds = match WallClockSource::current() {
            WallClockSource::Xen => xen::guest::unix_seconds()?,
            WallClockSource::Kvmclock => kvmclock::unix_seconds()?,
            WallClockSource::Rtc => rtc::read_unix_seconds()?,
        };
        self.synced_at_micros.store(now_micros(), Ordering::Relaxed);
        self.unix_at_sync.store(seconds, Ordering::Relaxed);
        Some(seconds)
    }

    /// Seconds since the epoch, if known.
    pub fn unix_seconds(&self) -> Option<u64> {
        let at = self.synced_at_micros.load(Ordering::Relaxed);
        if now_micros().saturating_sub(at) > RESYNC_MICROS {
            // A failed re-read keeps the old base.
            let _ = self.sync();
        }
        let base = self.unix_at_sync.load(Ordering::Relaxed);
        let at = self.synced_at_micros.load(Ordering::Relaxed);
        (base != 0).then(|| base + now_micros().saturating_sub(at) / 1_000_000)
    }
}

impl TimeProvider for RtcClock {
    fn current_time(&self) -> Option<UnixTime> {
        self.unix_seconds()
            .map(|s| UnixTime::since_unix_epoch(Duration::from_secs(s)))
    }
}

/// Where the wall clock is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WallClockSource {
    /// Xen's shared-info wall clock (a PVH guest has no RTC).
    Xen,
    /// KVM's `MSR_KVM_WALL_CLOCK_NEW` plus kvmclock system time, whenever
    /// KVM advertises kvmclock (Firecracker and QEMU `microvm` have no RTC).
    Kvmclock,
    /// The CMOS RTC, read as UTC.
    Rtc,
}

impl WallClockSource {
    /// The source this machine offers, best first.
    pub fn current() -> WallClockSource {
        if xen::guest::active() {
            WallClockSource::Xen
        } else if kvmclock::active() {
            WallClockSource::Kvmclock
        } else {
            WallClockSource::Rtc
        }
    }
}

impl fmt::Display for WallClockSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WallClockSource::Xen => "Xen wall clock",
            WallClockSource::Kvmclock => "kvmclock",
            WallClockSource::Rtc => "RTC",
        })
    }
}

static RTC_CLOCK: RtcClock = RtcClock::new();

/// The wall clock (for rustls and the PKI bootstrap's validity dates).
pub fn wall_clock() -> &'static RtcClock {
    &RTC_CLOCK
}

/// The DRBG. Only meaningful after boot seeded it (boot powers off when it
/// cannot); an unseeded generator fails every request.
pub fn random() -> &'static dyn SecureRandom {
    &entropy::RANDOM
}

/// Halts until an interrupt or `deadline`, whichever is first, but at most
/// [`MAX_SLEEP_MS`]; returns at once if the deadline has passed. Poll the NIC
/// after each return.
pub fn wait_until(deadline: Option<Instant>) {
    let now_us = now_micros();
    let limit_us = now_us + MAX_SLEEP_MS * 1000;
    let until_us = deadline
        .map(|d| d.as_millis().saturating_mul(1000))
        .unwrap_or(limit_us)
        .min(limit_us);
    if until_us <= now_us {
        return;
    }
    // Xen: block in the hypervisor until netfront's event channel fires or
    // the time is up (a packet wakes the loop at once).
    if xen::guest::wait_micros(until_us - now_us) {
        return;
    }
    if !apic::sleep_at_most(until_us - now_us) {
        // No calibrated timer: spin (politely) instead.
        while now_micros() < until_us {
            core::hint::spin_loop();
        }
    }
}

static BOOT_CONFIG: Once<BootConfig> = Once::new();

/// Records the boot configuration (boot code, once).
pub(crate) fn set_boot_config(config: BootConfig) -> &'static BootConfig {
    BOOT_CONFIG.call_once(|| config)
}

/// The command line and boot-module secret, parsed.
pub fn boot_config() -> &'static BootConfig {
    static DEFAULT: Once<BootConfig> = Once::new();
    BOOT_CONFIG
        .get()
        .unwrap_or_else(|| DEFAULT.call_once(BootConfig::default))
}

/// The NIC found at boot: virtio-net (QEMU, KVM, Firecracker,
/// cloud-hypervisor) or netfront (Xen).
// One value, moved once at boot into the stack: the size difference
// between the variants costs nothing worth a Box on the virtio path.
#[allow(clippy::large_enum_variant)]
pub enum PlatformNic {
    /// virtio-net over PCI or MMIO.
    Virtio(VirtioNet),
    /// The Xen PV network interface.
    Xen(Netfront<Xen>),
}

impl stack::Nic for PlatformNic {
    fn mac_address(&self) -> [u8; 6] {
        match self {
            PlatformNic::Virtio(n) => n.mac_address(),
            PlatformNic::Xen(n) => n.mac_address(),
        }
    }

    fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        match self {
            PlatformNic::Virtio(n) => n.receive(buf),
            PlatformNic::Xen(n) => n.receive(buf),
        }
    }

    fn transmit(&mut self, frame: &[u8]) -> bool {
        match self {
            PlatformNic::Virtio(n) => n.transmit(frame),
            PlatformNic::Xen(n) => n.transmit(frame),
        }
    }

    fn can_transmit(&self) -> bool {
        match self {
            PlatformNic::Virtio(n) => n.can_transmit(),
            PlatformNic::Xen(n) => n.can_transmit(),
        }
    }
}

impl fmt::Debug for PlatformNic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlatformNic::Virtio(n) => n.fmt(f),
            PlatformNic::Xen(n) => n.fmt(f),
        }
    }
}

/// Boxed so the static is all zeros (`None` is a null pointer) and lies in
/// `.bss`: an `Option<PlatformNic>`'s `None` is a niche value, which put the
/// whole 4.5 KB device in the image's `.data`.
static NIC: Mutex<Option<Box<PlatformNic>>> = Mutex::new(None);

/// Stores the NIC found at boot.
pub(crate) fn set_nic(nic: PlatformNic) {
    *NIC.lock() = Some(Box::new(nic));
}

/// The NIC found at boot (a [`stack::Nic`]), handed over once: the caller
/// owns it from then on; `None` if there is none or it was taken already.
pub fn nic() -> Option<PlatformNic> {
    NIC.lock().take().map(|nic| *nic)
}

impl fmt::Debug for VirtioNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.mac_address();
        write!(
            f,
            "virtio-net {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// Whether the host asked the appliance to stop (Xen: `xl shutdown`,
/// `xl reboot`), acting on it: powers off or reboots, after saying so.
/// Returns when nothing was asked. Call once per turn of the loop.
pub fn obey_shutdown_request() {
    use crate::drivers::xen::control::Request;
    match xen::guest::shutdown_requested() {
        None => {}
        Some(Request::Poweroff) => {
            crate::println!("xen: the toolstack asked for poweroff");
            poweroff()
        }
        Some(Request::Reboot) => {
            crate::println!("xen: the toolstack asked for a reboot");
            power::reboot()
        }
        Some(Request::Unsupported(word)) => {
            crate::println!("xen: control/shutdown={word:?} is not supported; ignored")
        }
    }
}

/// Powers the machine off.
pub fn poweroff() -> ! {
    crate::println!("power off");
    power::poweroff()
}

/// Set once the appliance serves (see [`fatal_stop`]).
static SERVING: AtomicBool = AtomicBool::new(false);

/// The appliance is set up and serves from now on: a fatal error is a
/// crash, handled by the `panic=` policy (see [`fatal_stop`]).
pub fn serving() {
    SERVING.store(true, Ordering::Relaxed);
}

/// After a fatal error (a setup error, a panic, a CPU exception).
///
/// Before the appliance serves, it stops (powers off), whatever `panic=`
/// says: a setup error (no entropy, no network device, a heap too small)
/// does not go away by itself, and restarting would only loop.
///
/// Once it serves, a fatal error is a bug some input reached, and the
/// policy is `panic=` — by default `reboot`: the appliance comes back
/// with a new CA (made at boot inside it, as always; the old one's key
/// was erased at the last boot, the leaf keys it signed die with the old
/// RAM's contents or are trusted by nobody). Under Xen the guest reports a
/// crash (`SCHEDOP_shutdown` with reason crash) and the domain's
/// `on_crash` decides (`restart` in the generated `pinata.xl`: a fresh
/// domain, fresh memory); elsewhere the machine resets. `panic=poweroff`
/// keeps a crashed appliance off, for an operator who prefers to look
/// before it serves again.
pub fn fatal_stop() -> ! {
    if !SERVING.load(Ordering::Relaxed) {
        crate::println!("stopping: a fatal error before serving");
        poweroff();
    }
    match BOOT_CONFIG.get().map(|c| c.panic).unwrap_or_default() {
        PanicAction::Reboot => {
            crate::println!("restarting, with a new CA (panic=reboot)");
            xen::guest::shutdown(ShutdownReason::Crash);
            power::reboot()
        }
        PanicAction::Poweroff => {
            crate::println!("stopping (panic=poweroff)");
            poweroff()
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    static PANICKING: AtomicU64 = AtomicU64::new(0);
    crate::console::emergency();
    if PANICKING.fetch_add(1, Ordering::Relaxed) > 0 {
        // A panic while reporting a panic: stop without formatting more.
        power::poweroff();
    }
    match info.location() {
        Some(l) => crate::println!(
            "PANIC at {}:{}:{}: {}",
            l.file(),
            l.line(),
            l.column(),
            info.message()
        ),
        None => crate::println!("PANIC: {}", info.message()),
    }
    fatal_stop()
}
