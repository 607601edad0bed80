//! The PVH entry point: 32-bit protected mode → 64-bit long mode → Rust.
//!
//! A PVH loader (QEMU `-kernel`, Firecracker, cloud-hypervisor, Xen) finds
//! [`pvh_start32`] through the Xen ELF note and jumps there in 32-bit
//! protected mode, paging off, `%ebx` = physical address of the
//! `hvm_start_info`. The code below:
//!
//! 1. records the TSC (the origin of the monotonic clock: "time since entry");
//! 2. zeroes `.bss` (not every loader does);
//! 3. identity-maps the first 4 GiB with 2 MiB pages (1 GiB pages are not
//!    offered by every KVM CPU model);
//! 4. enables PAE, SSE (CR4.OSFXSR/OSXMMEXCPT, CR0.MP, CR0.EM clear: the
//!    compiler never emits SSE for this soft-float target, but C or
//!    hand-written code may), long mode and paging;
//! 5. loads a 64-bit GDT, a stack (the PVH ABI leaves `%esp` undefined:
//!    Xen enters with 0, QEMU with something usable), and calls
//!    [`crate::boot::kernel_entry`] with the start-info address.

use core::arch::global_asm;

/// Bytes of the boot (and only) stack. The TLS handshakes and the PKI
/// bootstrap use deep call chains with big locals (bignum and curve
/// arithmetic); 512 KiB leaves a wide margin. A guard page below it is
/// unmapped by [`super::paging::init`], so an overflow faults (and is
/// reported from the double-fault stack) instead of corrupting memory.
pub const STACK_SIZE: usize = 512 * 1024;

/// GDT selector of the 64-bit kernel code segment.
pub const KERNEL_CS: u16 = 0x08;
/// GDT selector of the TSS (its descriptor is written by [`super::idt`]).
pub const TSS_SELECTOR: u16 = 0x18;

// The Xen PVH note (type 18, XEN_ELFNOTE_PHYS32_ENTRY) naming the 32-bit entry.
pvh::xen_elfnote_phys32_entry!(pvh_start32);

unsafe extern "C" {
    /// The 32-bit entry point (defined in the assembly below). Never called
    /// from Rust; its address goes into the PVH note.
    fn pvh_start32() -> !;
    /// The boot PML4 (one 4 KiB table), its PDPT, and four page directories
    /// covering 0–4 GiB with 2 MiB pages.
    pub static mut boot_pml4: [u64; 512];
    /// See `boot_pml4`: 4 × 512 entries.
    pub static mut boot_pd: [u64; 2048];
    /// The 64-bit GDT (null, code, data, a 16-byte TSS slot).
    pub static mut boot_gdt: [u64; 5];
    /// Lowest address of the stack's guard page (4 KiB, unmapped later).
    pub static boot_stack_guard: u8;
    /// The TSC value read by the first instruction after `cli; cld`.
    pub static TSC_AT_ENTRY: u64;
    /// Start of the image (linker script).
    pub static __kernel_start: u8;
    /// End of the image including `.bss` (linker script).
    pub static __kernel_end: u8;
}

global_asm!(
    r#"
    .section .text.boot, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld
    # TSC first: every timestamp on the console counts from here.
    rdtsc
    mov esi, eax
    mov ebp, edx

    # Zero .bss (page tables and stack included). %ebx (start info) is kept.
    mov edi, offset __bss_start
    mov ecx, offset __bss_end
    sub ecx, edi
    shr ecx, 2
    xor eax, eax
    rep stosd
    mov dword ptr [TSC_AT_ENTRY], esi
    mov dword ptr [TSC_AT_ENTRY + 4], ebp

    # PML4[0] -> PDPT; PDPT[0..4] -> four page directories.
    mov eax, offset boot_pdpt
    or eax, 0x3
    mov dword ptr [boot_pml4], eax
    xor ecx, ecx
1:
    mov eax, ecx
    shl eax, 12
    add eax, offset boot_pd
    or eax, 0x3
    mov dword ptr [boot_pdpt + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jne 1b

    # 2048 2 MiB pages: present | writable | page size, identity, 0..4 GiB.
    xor ecx, ecx
2:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83
    mov dword ptr [boot_pd + ecx * 8], eax
    inc ecx
    cmp ecx, 2048
    jne 2b

    # CR4: PAE | OSFXSR | OSXMMEXCPT.
    mov eax, cr4
    or eax, 0x620
    mov cr4, eax
    mov eax, offset boot_pml4
    mov cr3, eax
    # EFER.LME.
    mov ecx, 0xC0000080
    rdmsr
    or eax, 0x100
    wrmsr
    # CR0: clear EM, NW, CD; set PG, NE, MP, PE.
    mov eax, cr0
    and eax, 0x9FFFFFFB
    or eax, 0x80000023
    mov cr0, eax

    lgdt [boot_gdt_ptr]
    # The PVH ABI leaves %esp undefined (Xen starts us with 0): a stack
    # before the far return's pushes.
    mov esp, offset boot_stack_top
    push {kernel_cs}
    mov eax, offset pvh_start64
    push eax
    retf

    .code64
pvh_start64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    lea rsp, [rip + boot_stack_top]
    xor ebp, ebp
    mov edi, ebx
    call {entry}
4:
    cli
    hlt
    jmp 4b

    .section .data.boot, "aw"
    .p2align 4
    .global boot_gdt
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    # 0x08: 64-bit code, DPL 0
    .quad 0x00CF92000000FFFF    # 0x10: data
    .quad 0, 0                  # 0x18: TSS (filled in by idt::init)
boot_gdt_end:
    .p2align 3
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .section .bss.boot, "aw", @nobits
    .p2align 12
    .global boot_pml4
boot_pml4:
    .skip 4096
    .global boot_pdpt
boot_pdpt:
    .skip 4096
    .global boot_pd
boot_pd:
    .skip 4096 * 4
    .global boot_stack_guard
boot_stack_guard:
    .skip 4096
boot_stack_bottom:
    .skip {stack_size}
    .global boot_stack_top
boot_stack_top:
    .p2align 3
    .global TSC_AT_ENTRY
TSC_AT_ENTRY:
    .skip 8
    "#,
    kernel_cs = const KERNEL_CS,
    entry = sym crate::boot::kernel_entry,
    stack_size = const STACK_SIZE,
);

/// The first and last byte addresses of the loaded image (`.bss` included).
pub fn image_range() -> (u64, u64) {
    (
        (&raw const __kernel_start) as u64,
        (&raw const __kernel_end) as u64,
    )
}

/// The TSC value at the PVH entry.
pub fn tsc_at_entry() -> u64 {
    // SAFETY: written once by the entry code before Rust runs; read-only after.
    unsafe { (&raw const TSC_AT_ENTRY).read() }
}
