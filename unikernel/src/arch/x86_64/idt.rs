//! Interrupt descriptor table, task-state segment, and the exception report.
//!
//! Every CPU exception is fatal in the appliance: the handler prints the
//! vector, its name, the error code, RIP, CR2 (page faults) and the general
//! registers, then powers off or reboots as configured — never a silent hang.
//! The double fault, NMI and machine check run on their own stack (IST), so a
//! kernel stack overflow (which hits the guard page) is still reported.
//!
//! External interrupts: the LAPIC timer (vector [`TIMER_VECTOR`]) only wakes
//! the CPU from `hlt`; the legacy PIC is remapped to 0x20–0x2F and masked,
//! and its spurious vectors, like the LAPIC's, are ignored.

// `&mut *(&raw mut STATIC)` is the 2024-edition way to borrow a `static mut`
// (a plain `&mut STATIC` is rejected); clippy's suggestion would not compile.
#![allow(clippy::deref_addrof)]

use core::arch::{asm, global_asm};
use core::fmt;

use super::boot::{KERNEL_CS, TSS_SELECTOR, boot_gdt};

/// The LAPIC timer's vector.
pub const TIMER_VECTOR: u8 = 0x30;
/// The LAPIC spurious-interrupt vector.
pub const SPURIOUS_VECTOR: u8 = 0xFF;

/// Where a stub leaves the interrupted state for [`exception_handler`]:
/// the registers the common stub pushed, then what the CPU pushed.
#[repr(C)]
struct ExceptionFrame {
    r15: u64,
    r14: u64,
    r13: u64,
    r12: u64,
    r11: u64,
    r10: u64,
    r9: u64,
    r8: u64,
    rbp: u64,
    rdi: u64,
    rsi: u64,
    rdx: u64,
    rcx: u64,
    rbx: u64,
    rax: u64,
    vector: u64,
    error_code: u64,
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
}

unsafe extern "C" {
    /// Addresses of the 32 exception stubs (assembly below).
    static isr_table: [u64; 32];
    fn timer_isr();
    fn ignore_isr();
    fn unexpected_isr();
    /// The LAPIC EOI register's address, read by `timer_isr`.
    static mut lapic_eoi_address: u64;
    /// Timer interrupts taken (diagnostics).
    static timer_ticks: u64;
}

global_asm!(
    r#"
    .section .text.isr, "ax"
    .code64
isr_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    and rsp, -16
    call {handler}
    ud2

    # Exception stubs: vectors with a CPU-pushed error code (8, 10-14, 17,
    # 21, 29, 30) push only the vector; the others push a zero first so the
    # frame has one layout.
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .p2align 4
isr_\n:
    .if (\n == 8) || (\n == 10) || (\n == 11) || (\n == 12) || (\n == 13) || (\n == 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
    .else
    push 0
    .endif
    push \n
    jmp isr_common
    .endr

    # Any vector nobody programmed: reported as vector 256.
    .global unexpected_isr
    .p2align 4
unexpected_isr:
    push 0
    push 256
    jmp isr_common

    # LAPIC timer: count, EOI, return to the instruction after `hlt`.
    .global timer_isr
    .p2align 4
timer_isr:
    push rax
    lock inc qword ptr [rip + timer_ticks]
    mov rax, qword ptr [rip + lapic_eoi_address]
    mov dword ptr [rax], 0
    pop rax
    iretq

    # PIC and LAPIC spurious interrupts: no EOI, nothing to do.
    .global ignore_isr
    .p2align 4
ignore_isr:
    iretq

    .section .rodata.isr, "a"
    .p2align 3
    .global isr_table
isr_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad isr_\n
    .endr

    .section .data.isr, "aw"
    .p2align 3
    .global lapic_eoi_address
lapic_eoi_address:
    .quad 0xFEE000B0
    .global timer_ticks
timer_ticks:
    .quad 0
    "#,
    handler = sym exception_handler,
);

/// One IDT gate (interrupt gate, present, DPL 0).
#[derive(Clone, Copy)]
#[repr(C)]
struct Gate {
    low: u64,
    high: u64,
}

impl Gate {
    const MISSING: Gate = Gate { low: 0, high: 0 };

    fn new(handler: u64, ist: u8) -> Gate {
        let low = (handler & 0xFFFF)
            | (u64::from(KERNEL_CS) << 16)
            | (u64::from(ist & 7) << 32)
            | (0x8E << 40)
            | (((handler >> 16) & 0xFFFF) << 48);
        Gate {
            low,
            high: handler >> 32,
        }
    }
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

static mut IDT: Idt = Idt([Gate::MISSING; 256]);

/// The 64-bit TSS: only the interrupt stack table is used.
#[repr(C, packed(4))]
struct Tss {
    reserved0: u32,
    rsp: [u64; 3],
    reserved1: u64,
    ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    iomap_base: u16,
}

static mut TSS: Tss = Tss {
    reserved0: 0,
    rsp: [0; 3],
    reserved1: 0,
    ist: [0; 7],
    reserved2: 0,
    reserved3: 0,
    // Past the limit: no I/O permission bitmap (ring 0 needs none).
    iomap_base: size_of::<Tss>() as u16,
};

/// The stack the double fault, NMI and machine check run on.
#[repr(C, align(16))]
struct IstStack([u8; 16 * 1024]);
static mut IST_STACK: IstStack = IstStack([0; 16 * 1024]);

#[repr(C, packed(2))]
struct TablePointer {
    limit: u16,
    base: u64,
}

/// Installs the TSS (with its IST stack) and the IDT, remaps and masks the
/// legacy PIC. Interrupts stay disabled.
pub fn init(lapic_base: u64) {
    // SAFETY: single core, interrupts off, called once at boot before any
    // interrupt can be taken: nothing else reads these statics concurrently.
    unsafe {
        let ist_top = (&raw const IST_STACK) as u64 + size_of::<IstStack>() as u64;
        (*(&raw mut TSS)).ist[0] = ist_top;
        lapic_eoi_address = lapic_base + 0xB0;

        // TSS descriptor (16 bytes, type 0x9: available 64-bit TSS).
        let base = (&raw const TSS) as u64;
        let limit = (size_of::<Tss>() - 1) as u64;
        let low = (limit & 0xFFFF)
            | ((base & 0xFF_FFFF) << 16)
            | (0x89 << 40)
            | (((limit >> 16) & 0xF) << 48)
            | (((base >> 24) & 0xFF) << 56);
        let gdt = &raw mut boot_gdt;
        (*gdt)[3] = low;
        (*gdt)[4] = base >> 32;
        asm!("ltr {0:x}", in(reg) TSS_SELECTOR, options(nostack, preserves_flags));

        let idt = &mut *(&raw mut IDT);
        let stubs = &*(&raw const isr_table);
        for (vector, &stub) in stubs.iter().enumerate() {
            // IST 1 for NMI (2), double fault (8), machine check (18).
            let ist = if matches!(vector, 2 | 8 | 18) { 1 } else { 0 };
            idt.0[vector] = Gate::new(stub, ist);
        }
        for vector in 32..256 {
            idt.0[vector] = Gate::new(unexpected_isr as *const () as u64, 0);
        }
        for vector in 0x20..0x30 {
            idt.0[vector] = Gate::new(ignore_isr as *const () as u64, 0);
        }
        idt.0[usize::from(TIMER_VECTOR)] = Gate::new(timer_isr as *const () as u64, 0);
        idt.0[usize::from(SPURIOUS_VECTOR)] = Gate::new(ignore_isr as *const () as u64, 0);

        let pointer = TablePointer {
            limit: (size_of::<Idt>() - 1) as u16,
            base: (&raw const IDT) as u64,
        };
        asm!("lidt [{0}]", in(reg) &raw const pointer, options(readonly, nostack, preserves_flags));
    }
    mask_legacy_pic();
}

/// Remaps the 8259 PICs to vectors 0x20–0x2F (away from the exceptions) and
/// masks every line: the LAPIC timer is the only interrupt source.
fn mask_legacy_pic() {
    use super::cpu::outb;
    // SAFETY: the 8259 command/data ports (0x20/0x21, 0xA0/0xA1); the ICW
    // sequence is the standard initialisation, then all lines masked.
    unsafe {
        outb(0x20, 0x11);
        outb(0xA0, 0x11);
        outb(0x21, 0x20);
        outb(0xA1, 0x28);
        outb(0x21, 4);
        outb(0xA1, 2);
        outb(0x21, 1);
        outb(0xA1, 1);
        outb(0x21, 0xFF);
        outb(0xA1, 0xFF);
    }
}

/// Timer interrupts taken since boot (diagnostics: not called in normal
/// operation, kept for debugging sessions and temporary log lines).
#[allow(dead_code)]
pub fn ticks() -> u64 {
    // SAFETY: an aligned u64 only ever written by `lock inc` in timer_isr.
    unsafe { (&raw const timer_ticks).read_volatile() }
}

fn exception_name(vector: u64) -> &'static str {
    match vector {
        0 => "divide error",
        1 => "debug",
        2 => "non-maskable interrupt",
        3 => "breakpoint",
        4 => "overflow",
        5 => "bound range exceeded",
        6 => "invalid opcode",
        7 => "device not available",
        8 => "double fault (kernel stack overflow?)",
        10 => "invalid TSS",
        11 => "segment not present",
        12 => "stack-segment fault",
        13 => "general protection fault",
        14 => "page fault",
        16 => "x87 floating-point error",
        17 => "alignment check",
        18 => "machine check",
        19 => "SIMD floating-point error",
        21 => "control protection",
        256 => "unexpected interrupt",
        _ => "reserved exception",
    }
}

impl fmt::Display for ExceptionFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "rip={:#018x} cs={:#x} rflags={:#x} rsp={:#018x} ss={:#x}",
            self.rip, self.cs, self.rflags, self.rsp, self.ss
        )?;
        writeln!(
            f,
            "rax={:#018x} rbx={:#018x} rcx={:#018x} rdx={:#018x}",
            self.rax, self.rbx, self.rcx, self.rdx
        )?;
        writeln!(
            f,
            "rsi={:#018x} rdi={:#018x} rbp={:#018x} r8 ={:#018x}",
            self.rsi, self.rdi, self.rbp, self.r8
        )?;
        writeln!(
            f,
            "r9 ={:#018x} r10={:#018x} r11={:#018x} r12={:#018x}",
            self.r9, self.r10, self.r11, self.r12
        )?;
        write!(
            f,
            "r13={:#018x} r14={:#018x} r15={:#018x}",
            self.r13, self.r14, self.r15
        )
    }
}

/// Called by the stubs with the saved state; reports and stops.
extern "C" fn exception_handler(frame: &ExceptionFrame) -> ! {
    let cr2: u64;
    // SAFETY: reading CR2 has no side effects.
    unsafe { asm!("mov {}, cr2", out(reg) cr2, options(nomem, nostack, preserves_flags)) };
    crate::console::emergency();
    crate::println!(
        "FATAL: CPU exception {} ({}), error code {:#x}{}",
        frame.vector,
        exception_name(frame.vector),
        frame.error_code,
        if frame.vector == 14 {
            PageFault(cr2, frame.error_code)
        } else {
            PageFault(u64::MAX, 0)
        }
    );
    crate::println!("{frame}");
    crate::platform::fatal_stop()
}

/// The page-fault details, or nothing for other vectors.
struct PageFault(u64, u64);

impl fmt::Display for PageFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == u64::MAX {
            return Ok(());
        }
        write!(
            f,
            ", address {:#x} ({} {}{})",
            self.0,
            if self.1 & 1 != 0 {
                "protection violation,"
            } else {
                "not present,"
            },
            if self.1 & 2 != 0 { "write" } else { "read" },
            if self.1 & 16 != 0 {
                ", instruction fetch"
            } else {
                ""
            },
        )
    }
}
