//! Just enough ACPI to power off: RSDP → RSDT/XSDT → FADT (PM1a control
//! block, or the sleep control register on hardware-reduced ACPI) and the
//! DSDT's `\_S5` package for SLP_TYP. Read once at boot; [`s5_sleep`] is then
//! usable from the panic path without parsing anything.
//!
//! Tables are read through the identity map and only below 4 GiB; every
//! length is bounded before use, so bad firmware tables mean "no ACPI
//! power-off", not a fault.

use spin::Once;

use crate::arch::x86_64::cpu::{outb, outw};

/// How to enter S5.
#[derive(Debug, Clone, Copy)]
pub enum S5Sleep {
    /// Write `value` to the PM1a control port.
    Pm1a {
        /// PM1a_CNT_BLK.
        port: u16,
        /// SLP_TYP << 10 | SLP_EN.
        value: u16,
    },
    /// Hardware-reduced ACPI: write `value` to the sleep control register.
    SleepControl {
        /// System I/O (true) or memory (false).
        io: bool,
        /// Register address.
        address: u64,
        /// SLP_TYP << 2 | SLP_EN.
        value: u8,
    },
}

/// For the boot line `acpi: power off via …`.
impl core::fmt::Display for S5Sleep {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            S5Sleep::Pm1a { port, value } => {
                write!(f, "PM1a control port {port:#x}, value {value:#x}")
            }
            S5Sleep::SleepControl { io, address, value } => write!(
                f,
                "sleep control register ({} {address:#x}), value {value:#x}",
                if io { "I/O port" } else { "memory" }
            ),
        }
    }
}

impl S5Sleep {
    /// Writes the sleep register. Returns only if the machine is still on.
    pub fn enter(self) {
        match self {
            // SAFETY: the FADT names this port as PM1a control; writing
            // SLP_EN with S5's type powers the machine off.
            S5Sleep::Pm1a { port, value } => unsafe { outw(port, value) },
            S5Sleep::SleepControl {
                io: true,
                address,
                value,
            } => {
                // SAFETY: the FADT's sleep control register (I/O space).
                unsafe { outb(address as u16, value) }
            }
            S5Sleep::SleepControl {
                io: false,
                address,
                value,
            } => {
                if crate::arch::x86_64::paging::map_mmio(address, 1) {
                    // SAFETY: the FADT's sleep control register, mapped above.
                    unsafe { (address as *mut u8).write_volatile(value) }
                }
            }
        }
    }
}

static S5: Once<Option<S5Sleep>> = Once::new();

/// The S5 method found by [`init`].
pub fn s5_sleep() -> Option<S5Sleep> {
    S5.get().copied().flatten()
}

const LIMIT: u64 = 1 << 32;

/// `len` bytes at physical `address`, if they lie below 4 GiB.
fn bytes(address: u64, len: usize) -> Option<&'static [u8]> {
    if address == 0 || address.checked_add(len as u64)? > LIMIT || len > 1 << 20 {
        return None;
    }
    // SAFETY: identity-mapped RAM/ROM below 4 GiB, read-only; firmware
    // tables are not modified while we run.
    Some(unsafe { core::slice::from_raw_parts(address as *const u8, len) })
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// A whole SDT (header length honoured) with the given signature.
fn table(address: u64, signature: &[u8; 4]) -> Option<&'static [u8]> {
    let header = bytes(address, 36)?;
    if &header[..4] != signature {
        return None;
    }
    let len = u32_at(header, 4)? as usize;
    if len < 36 {
        return None;
    }
    bytes(address, len)
}

fn find_rsdp(hint: u64) -> Option<&'static [u8]> {
    let valid = |b: &[u8]| {
        &b[..8] == b"RSD PTR " && b[..20].iter().fold(0u8, |s, &x| s.wrapping_add(x)) == 0
    };
    if let Some(b) = bytes(hint, 36).filter(|b| valid(b)) {
        return Some(b);
    }
    // The BIOS read-only area, 16-byte aligned (SeaBIOS, linux-loader).
    (0xE0000u64..0x100000)
        .step_by(16)
        .filter_map(|a| bytes(a, 36))
        .find(|b| valid(b))
}

/// SLP_TYPa from the DSDT's `Name (\_S5, Package () { a, b, ... })`.
fn s5_type(dsdt: &[u8]) -> Option<u8> {
    let at = dsdt.windows(4).position(|w| w == b"_S5_")?;
    let mut i = at + 4;
    if *dsdt.get(i)? != 0x12 {
        return None; // not a PackageOp
    }
    i += 1;
    let lead = *dsdt.get(i)?;
    i += 1 + usize::from(lead >> 6); // PkgLength's extra bytes
    i += 1; // NumElements
    match *dsdt.get(i)? {
        0x0A => dsdt.get(i + 1).copied(), // BytePrefix
        0x00 => Some(0),                  // ZeroOp
        0x01 => Some(1),                  // OneOp
        other => Some(other),
    }
}

/// Finds the S5 method; `rsdp_hint` is PVH start_info's `rsdp_paddr` (0 if
/// the loader gave none). Returns a description for the boot log.
pub fn init(rsdp_hint: u64) -> Option<S5Sleep> {
    *S5.call_once(|| {
        let rsdp = find_rsdp(rsdp_hint)?;
        let xsdt = if rsdp[15] >= 2 {
            u64_at(rsdp, 24).unwrap_or(0)
        } else {
            0
        };
        let (root, entry_size) = match table(xsdt, b"XSDT") {
            Some(t) => (t, 8),
            None => (table(u64::from(u32_at(rsdp, 16)?), b"RSDT")?, 4),
        };
        let fadt = root[36..]
            .chunks_exact(entry_size)
            .filter_map(|e| {
                let a = if entry_size == 8 {
                    u64_at(e, 0)?
                } else {
                    u64::from(u32_at(e, 0)?)
                };
                table(a, b"FACP")
            })
            .next()?;
        let dsdt_address = u64_at(fadt, 140).filter(|&a| a != 0 && fadt.len() >= 148);
        let dsdt_address = dsdt_address.unwrap_or(u64::from(u32_at(fadt, 40)?));
        let slp_typ = s5_type(table(dsdt_address, b"DSDT")?)?;
        let pm1a = u32_at(fadt, 64).unwrap_or(0);
        if pm1a != 0 && pm1a <= 0xFFFF {
            return Some(S5Sleep::Pm1a {
                port: pm1a as u16,
                value: (u16::from(slp_typ & 7) << 10) | (1 << 13),
            });
        }
        // Hardware-reduced: SLEEP_CONTROL_REG, a generic address at 244.
        let gas = fadt.get(244..256)?;
        let address = u64_at(gas, 4)?;
        let io = match gas[0] {
            0 => false,
            1 => true,
            _ => return None,
        };
        (address != 0).then_some(S5Sleep::SleepControl {
            io,
            address,
            value: ((slp_typ & 7) << 2) | (1 << 5),
        })
    })
}
