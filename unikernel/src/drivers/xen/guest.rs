//! The image's Xen guest: bring-up in boot order, the real [`Hypervisor`],
//! and the few hooks the platform calls when it runs under Xen.
//!
//! Boot order (`boot.rs` calls these):
//! 1. [`init_early`], first thing after the entry: CPUID detection, the
//!    hypercall page, the shared-info page (mapped over a page reserved in
//!    `.bss`), the console ring — so the whole boot log, from the first
//!    line, reaches `xl console`;
//! 2. [`tsc_hz`] for the clock calibration (pvclock: no PIT, no RTC here);
//! 3. [`unix_seconds`] for the wall clock (shared info's `wc_sec` + system
//!    time);
//! 4. [`start_netfront`] once the heap exists: xenstore, the grant table
//!    (frames mapped over heap pages), the netfront handshake.
//!
//! At run time: [`print_line`] (the console), [`wait_micros`] (the idle
//! wait: `SCHEDOP_poll` on netfront's event channel with a timeout, so a
//! packet wakes the guest at once), [`shutdown`] (`SCHEDOP_shutdown`).
//! Off Xen every hook answers "not here" and the platform keeps its
//! QEMU/KVM path.

use alloc::alloc::{Layout, alloc_zeroed};
use alloc::format;
use alloc::string::String;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU32, Ordering};

use spin::{Mutex, Once};

use super::console::Console;
use super::control::{Request, ShutdownWatch};
use super::grant_table::GrantTable;
use super::hypercall::{self, ShutdownReason, XenCpuid};
use super::netfront::{CONNECT_TIMEOUT_NS, Netfront};
use super::shared_info::SharedInfo;
use super::shared_memory::{PAGE_SIZE, RawPage, SharedMemory};
use super::xenstore::Xenstore;
use super::{DomId, Hypervisor, MS, Port, XenError};
use crate::arch::x86_64::cpu::rdtsc;

/// Grant-table frames mapped (512 entries each; netfront needs 258 + 64).
const GRANT_FRAMES: u32 = 2;
/// Frames below this are identity-mapped (the boot page tables: 4 GiB).
const MAPPED_FRAMES: u64 = (4 << 30) >> 12;

/// A page-aligned page in `.bss`.
#[repr(C, align(4096))]
struct Page([u8; PAGE_SIZE]);

/// Replaced by the shared-info page (`XENMEM_add_to_physmap`).
static mut SHARED_INFO_PAGE: Page = Page([0; PAGE_SIZE]);

struct Guest {
    cpuid: XenCpuid,
    shared_info: Option<SharedInfo<RawPage>>,
}

static GUEST: Once<Guest> = Once::new();
static CONSOLE: Mutex<Option<Console<Xen>>> = Mutex::new(None);
/// netfront's port: what the idle wait blocks on (`u32::MAX`: none yet).
static WAKE_PORT: AtomicU32 = AtomicU32::new(u32::MAX);
/// The xenstore connection, kept after netfront for the toolstack's
/// shutdown requests (`control/shutdown`).
static CONTROL: Mutex<Option<ShutdownWatch<Xen>>> = Mutex::new(None);

/// The real hypervisor, for the drivers.
#[derive(Debug, Clone, Copy)]
pub struct Xen;

fn shared_info() -> Option<&'static SharedInfo<RawPage>> {
    GUEST.get()?.shared_info.as_ref()
}

/// Xen system time (ns); `None` without shared info (then [`Xen::now_ns`]
/// falls back to the raw TSC: still monotonic, so deadlines pass).
fn system_time_ns() -> Option<u64> {
    let info = shared_info()?.time_info()?;
    Some(info.system_time_at(rdtsc()))
}

impl Hypervisor for Xen {
    type Page = RawPage;

    fn notify(&self, port: Port) {
        hypercall::evtchn_send(port);
    }

    fn alloc_unbound(&self, remote: DomId) -> Result<Port, XenError> {
        hypercall::evtchn_alloc_unbound(remote)
    }

    fn now_ns(&self) -> u64 {
        system_time_ns().unwrap_or_else(rdtsc)
    }

    fn wait(&self, port: Port, deadline_ns: u64) {
        let Some(info) = shared_info() else {
            // No clock to give Xen a timeout in: do not block.
            core::hint::spin_loop();
            return;
        };
        if system_time_ns().is_some_and(|now| now < deadline_ns) {
            let _ = hypercall::sched_poll(&[port], deadline_ns);
        }
        info.clear_pending(port);
    }

    fn alloc_page(&self) -> Option<RawPage> {
        let layout = Layout::from_size_align(PAGE_SIZE, PAGE_SIZE).ok()?;
        // SAFETY: non-zero size. The page is never freed: it is shared with
        // a backend for the rest of the appliance's life.
        let page = unsafe { alloc_zeroed(layout) };
        if page.is_null() || page as u64 >> 12 >= MAPPED_FRAMES {
            return None;
        }
        // SAFETY: a fresh, page-aligned, identity-mapped heap page owned by
        // nobody else; leaked, so valid forever.
        Some(unsafe { RawPage::new(page as usize, PAGE_SIZE) })
    }
}

/// Detects Xen and brings up hypercalls, shared info and the console
/// ring. `None` (nothing touched) when not running under Xen.
pub fn init_early() -> Option<XenCpuid> {
    let cpuid = hypercall::detect()?;
    hypercall::install(&cpuid);
    let page = (&raw const SHARED_INFO_PAGE) as usize;
    let shared_info =
        hypercall::add_to_physmap(hypercall::XENMAPSPACE_SHARED_INFO, 0, page as u64 >> 12)
            .ok()
            // SAFETY: a page of our image reserved for this; Xen now backs it with
            // the shared-info page; only accessed through this RawPage.
            .map(|()| SharedInfo::new(unsafe { RawPage::new(page, PAGE_SIZE) }));
    GUEST.call_once(|| Guest { cpuid, shared_info });
    if let (Ok(pfn), Ok(port)) = (
        hypercall::hvm_get_param(hypercall::HVM_PARAM_CONSOLE_PFN),
        hypercall::hvm_get_param(hypercall::HVM_PARAM_CONSOLE_EVTCHN),
    ) && pfn != 0
        && pfn < MAPPED_FRAMES
    {
        // SAFETY: the console page the toolstack set aside for us (a
        // reserved frame in the memory map, below 4 GiB: identity-mapped);
        // shared only with xenconsoled.
        let page = unsafe { RawPage::new((pfn << 12) as usize, PAGE_SIZE) };
        *CONSOLE.lock() = Some(Console::new(Xen, page, port as Port));
    }
    Some(cpuid)
}

/// Whether this is a Xen guest (after [`init_early`]).
pub fn active() -> bool {
    GUEST.get().is_some()
}

/// Prints one line about what was found (boot log). Allocates nothing:
/// it runs before the heap exists.
pub fn print_found() {
    let Some(guest) = GUEST.get() else { return };
    crate::println!(
        "xen: Xen {}.{} PVH guest (CPUID base {:#x}); shared info {}, console ring {}",
        guest.cpuid.major,
        guest.cpuid.minor,
        guest.cpuid.base,
        if guest.shared_info.is_some() {
            "mapped"
        } else {
            "NOT mapped (no pvclock, no wall clock)"
        },
        // Checked before printing: the line itself takes the console lock.
        if has_console() {
            "in use"
        } else {
            "missing (output on COM1)"
        }
    );
}

fn has_console() -> bool {
    CONSOLE.lock().is_some()
}

/// Calls `each(addr, size, kind)` for every entry of the memory map Xen
/// keeps for us (for a start info without one: a PVH dom0, or an older
/// toolstack). Returns false if Xen gave none.
pub fn memory_map(mut each: impl FnMut(u64, u64, u32)) -> bool {
    let mut entries = [hypercall::E820Entry::default(); 128];
    match hypercall::memory_map(&mut entries) {
        Ok(n) if n > 0 => {
            for e in &entries[..n] {
                let (addr, size, kind) = (e.addr, e.size, e.kind);
                each(addr, size, kind);
            }
            true
        }
        _ => false,
    }
}

/// The TSC's frequency from the pvclock, on Xen.
pub fn tsc_hz() -> Option<u64> {
    shared_info()?.time_info()?.tsc_hz()
}

/// Unix time from Xen's wall clock, on Xen.
pub fn unix_seconds() -> Option<u64> {
    shared_info()?.unix_seconds_at(rdtsc())
}

/// Writes a console line to the Xen console ring; false when there is
/// none (then the caller uses COM1).
pub fn print_line(micros: u64, args: fmt::Arguments) -> bool {
    let mut console = CONSOLE.lock();
    let Some(console) = console.as_mut() else {
        return false;
    };
    let _ = write!(
        console,
        "[{:5}.{:06}] ",
        micros / 1_000_000,
        micros % 1_000_000
    );
    let _ = console.write_fmt(args);
    let _ = console.write_str("\n");
    true
}

/// Makes the console usable from the panic and exception paths (single
/// core: a holder interrupted by the fault will never resume).
pub fn console_emergency() {
    if CONSOLE.is_locked() {
        // SAFETY: single core, no threads: the holder was interrupted by
        // the fault or panic that brought us here and will not resume.
        unsafe { CONSOLE.force_unlock() };
    }
}

/// Blocks until netfront's event channel fires or `micros` pass. False
/// (without waiting) when not on Xen or before netfront is up.
pub fn wait_micros(micros: u64) -> bool {
    let port = WAKE_PORT.load(Ordering::Relaxed);
    if port == u32::MAX || shared_info().is_none() {
        return false;
    }
    let Some(now) = system_time_ns() else {
        return false;
    };
    Xen.wait(port, now.saturating_add(micros.saturating_mul(1000)));
    true
}

/// Stops the domain (Xen only; returns at once elsewhere or if Xen
/// refuses). The console gets half a second to drain first.
pub fn shutdown(reason: ShutdownReason) {
    if !active() {
        return;
    }
    // try_lock: a panic inside a console write may still hold the lock.
    if let Some(mut console) = CONSOLE.try_lock()
        && let Some(console) = console.as_mut()
    {
        console.flush(Xen.now_ns().saturating_add(500 * MS));
    }
    let _ = hypercall::sched_shutdown(reason);
}

/// Connects the domain's first vif: xenstore, grant table, handshake.
pub fn start_netfront() -> Result<Netfront<Xen>, String> {
    let param = |index, what| hypercall::hvm_get_param(index).map_err(|e| format!("{what}: {e}"));
    let store_pfn = param(hypercall::HVM_PARAM_STORE_PFN, "xenstore page")?;
    let store_port = param(hypercall::HVM_PARAM_STORE_EVTCHN, "xenstore event channel")?;
    if store_pfn == 0 || store_pfn >= MAPPED_FRAMES {
        return Err(format!(
            "xenstore page at frame {store_pfn:#x} is not usable"
        ));
    }
    // SAFETY: the xenstore page the toolstack set aside for us (reserved,
    // below 4 GiB); shared only with xenstored.
    let store_page = unsafe { RawPage::new((store_pfn << 12) as usize, PAGE_SIZE) };
    let mut store = Xenstore::new(Xen, store_page, store_port as Port);

    let (_, max_frames) =
        hypercall::gnttab_query_size().map_err(|e| format!("grant table size: {e}"))?;
    let mut frames = alloc::vec::Vec::new();
    for index in 0..GRANT_FRAMES.min(max_frames) {
        let page = Xen
            .alloc_page()
            .ok_or("out of memory for the grant table")?;
        hypercall::add_to_physmap(
            hypercall::XENMAPSPACE_GRANT_TABLE,
            u64::from(index),
            page.frame(),
        )
        .map_err(|e| format!("mapping grant frame {index}: {e}"))?;
        frames.push(page);
    }
    if frames.is_empty() {
        return Err("the grant table has no frames".into());
    }
    let deadline = Xen.now_ns().saturating_add(CONNECT_TIMEOUT_NS);
    if let Ok(vifs) = store.directory("device/vif", deadline)
        && vifs.len() > 1
    {
        crate::println!(
            "net: {} vifs configured ({}); only vif 0 is used",
            vifs.len(),
            vifs.join(", ")
        );
    }
    let nic = Netfront::connect(Xen, &mut store, GrantTable::new(frames), CONNECT_TIMEOUT_NS)
        .map_err(|e| format!("{e}"))?;
    WAKE_PORT.store(nic.port(), Ordering::Relaxed);
    let deadline = Xen.now_ns().saturating_add(CONNECT_TIMEOUT_NS);
    match ShutdownWatch::start(store, deadline) {
        Ok(watch) => *CONTROL.lock() = Some(watch),
        Err(e) => crate::println!(
            "xen: cannot watch control/shutdown ({e}): `xl shutdown` will not be heard; use `xl destroy`"
        ),
    }
    Ok(nic)
}

/// What the toolstack asked for through `control/shutdown` since the last
/// call, if anything (never waits). `None` when not on Xen.
pub fn shutdown_requested() -> Option<Request> {
    let mut control = CONTROL.lock();
    let watch = control.as_mut()?;
    match watch.poll(Xen.now_ns()) {
        Ok(request) => request,
        Err(e) => {
            crate::println!("xen: control/shutdown watch failed ({e}); no longer listening");
            *control = None;
            None
        }
    }
}
