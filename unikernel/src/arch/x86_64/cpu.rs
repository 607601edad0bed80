//! Single instructions: port I/O, MSRs, CPUID, TSC, hardware random numbers,
//! interrupt flag. Each wrapper is one instruction with its safety argument.

use core::arch::asm;

/// Reads a byte from an I/O port.
///
/// # Safety
/// Reading some ports has side effects on devices (acknowledging, FIFO pops);
/// the caller knows the device behind `port`.
pub unsafe fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: the caller vouches for the port; `in` touches no memory.
    unsafe {
        asm!("in al, dx", out("al") value, in("dx") port, options(nomem, nostack, preserves_flags))
    };
    value
}

/// Writes a byte to an I/O port.
///
/// # Safety
/// See [`inb`]: the caller knows the device behind `port`.
pub unsafe fn outb(port: u16, value: u8) {
    // SAFETY: the caller vouches for the port; `out` touches no memory.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    };
}

/// Writes a 16-bit word to an I/O port.
///
/// # Safety
/// See [`inb`].
pub unsafe fn outw(port: u16, value: u16) {
    // SAFETY: as for `outb`.
    unsafe {
        asm!("out dx, ax", in("dx") port, in("ax") value, options(nomem, nostack, preserves_flags))
    };
}

/// Reads a 32-bit word from an I/O port.
///
/// # Safety
/// See [`inb`].
pub unsafe fn inl(port: u16) -> u32 {
    let value: u32;
    // SAFETY: as for `inb`.
    unsafe {
        asm!("in eax, dx", out("eax") value, in("dx") port, options(nomem, nostack, preserves_flags))
    };
    value
}

/// Writes a 32-bit word to an I/O port.
///
/// # Safety
/// See [`inb`].
pub unsafe fn outl(port: u16, value: u32) {
    // SAFETY: as for `outb`.
    unsafe {
        asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
    };
}

/// Reads a model-specific register.
///
/// # Safety
/// `msr` must exist on this CPU (else #GP).
pub unsafe fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: the caller vouches that the MSR exists.
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Reads the time-stamp counter.
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: RDTSC only reads the counter (CR4.TSD is clear: ring 0 anyway).
    unsafe {
        asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// CPUID leaf `leaf`, sub-leaf `sub`: (eax, ebx, ecx, edx).
pub fn cpuid(leaf: u32, sub: u32) -> (u32, u32, u32, u32) {
    let r = core::arch::x86_64::__cpuid_count(leaf, sub);
    (r.eax, r.ebx, r.ecx, r.edx)
}

/// The highest standard CPUID leaf.
pub fn max_leaf() -> u32 {
    cpuid(0, 0).0
}

/// Whether CPUID lists RDRAND (leaf 1, ECX bit 30).
pub fn has_rdrand() -> bool {
    cpuid(1, 0).2 & (1 << 30) != 0
}

/// Whether CPUID lists RDSEED (leaf 7, EBX bit 18).
pub fn has_rdseed() -> bool {
    max_leaf() >= 7 && cpuid(7, 0).1 & (1 << 18) != 0
}

/// One RDRAND: `None` when the CPU reports no value (carry clear).
///
/// Only call after [`has_rdrand`] said yes (else #UD).
pub fn rdrand() -> Option<u64> {
    let value: u64;
    let ok: u8;
    // SAFETY: the caller checked CPUID; RDRAND writes only the registers named.
    unsafe {
        asm!("rdrand {v}", "setc {ok}", v = out(reg) value, ok = out(reg_byte) ok, options(nomem, nostack))
    };
    (ok != 0).then_some(value)
}

/// One RDSEED: `None` when the CPU reports no value (carry clear).
///
/// Only call after [`has_rdseed`] said yes (else #UD).
pub fn rdseed() -> Option<u64> {
    let value: u64;
    let ok: u8;
    // SAFETY: the caller checked CPUID; RDSEED writes only the registers named.
    unsafe {
        asm!("rdseed {v}", "setc {ok}", v = out(reg) value, ok = out(reg_byte) ok, options(nomem, nostack))
    };
    (ok != 0).then_some(value)
}

/// Stops the CPU for good: interrupts off, `hlt` forever (an NMI would only
/// land back in the loop).
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: cli/hlt change no memory; we never intend to return.
        unsafe { asm!("cli", "hlt", options(nomem, nostack)) };
    }
}

/// Enables interrupts and halts until the next one, atomically: STI's
/// one-instruction shadow means an interrupt pending at STI is taken after
/// HLT has started, so no wake-up is lost. Interrupts are disabled again on
/// return.
pub fn enable_interrupts_and_halt() {
    // SAFETY: the IDT is loaded (idt::init runs before anything enables
    // interrupts) and every enabled source has a handler that returns.
    // Not `nomem`: handlers that run in between may write memory.
    unsafe { asm!("sti", "hlt", "cli", options(nostack)) };
}

/// Writes a model-specific register.
///
/// # Safety
/// `msr` must exist and `value` must be valid for it; the caller owns what
/// the register controls.
pub unsafe fn wrmsr(msr: u32, value: u64) {
    // SAFETY: the caller vouches for the MSR and the value.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nostack, preserves_flags))
    };
}
