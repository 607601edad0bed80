//! The COM1 16550 UART (port 0x3F8), transmit only: the console.

use crate::arch::x86_64::cpu::{inb, outb};

const COM1: u16 = 0x3F8;

/// The COM1 UART.
pub struct Serial {
    present: bool,
}

impl Serial {
    /// A UART not yet initialised: writes are dropped until [`Serial::init`].
    pub const fn new() -> Serial {
        Serial { present: false }
    }

    /// Programs 115200 8N1, FIFOs on, interrupts off. Detects absence with
    /// the scratch register, so a machine without COM1 does not stall
    /// every write on a status bit that never sets.
    pub fn init(&mut self) {
        // SAFETY: the standard 16550 registers at COM1's I/O base.
        unsafe {
            outb(COM1 + 7, 0x5A);
            if inb(COM1 + 7) != 0x5A {
                self.present = false;
                return;
            }
            outb(COM1 + 1, 0x00); // no interrupts
            outb(COM1 + 3, 0x80); // DLAB on
            outb(COM1, 0x01); // divisor 1: 115200 baud
            outb(COM1 + 1, 0x00);
            outb(COM1 + 3, 0x03); // 8N1, DLAB off
            outb(COM1 + 2, 0xC7); // FIFO on, cleared, 14-byte threshold
            outb(COM1 + 4, 0x03); // DTR, RTS
        }
        self.present = true;
    }

    fn write_byte(&mut self, byte: u8) {
        if !self.present {
            return;
        }
        // SAFETY: COM1 line status (read) and data (write) registers.
        unsafe {
            // Bounded: a wedged UART must not hang the appliance.
            for _ in 0..100_000 {
                if inb(COM1 + 5) & 0x20 != 0 {
                    break;
                }
            }
            outb(COM1, byte);
        }
    }
}

impl core::fmt::Write for Serial {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(byte);
        }
        Ok(())
    }
}
