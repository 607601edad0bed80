//! The console: COM1 (under Xen, the console ring), every line stamped
//! with the time since the PVH entry (`[    0.012345] heap: 60 MiB`). [`println!`](crate::println) writes a
//! line; the `log` facade (used by virtio-drivers) goes to the same place.

use core::fmt::{self, Write};

use spin::Mutex;

use crate::arch::x86_64::tsc;
use crate::drivers::serial::Serial;

static SERIAL: Mutex<Serial> = Mutex::new(Serial::new());

/// Sets up the UART and the `log` facade.
pub fn init() {
    SERIAL.lock().init();
    let _ = log::set_logger(&LOGGER);
    // Warnings and errors: the level the image compiles in (Cargo.toml).
    log::set_max_level(log::LevelFilter::Warn);
}

/// Writes one timestamped line. Use [`println!`](crate::println).
pub fn print_line(args: fmt::Arguments) {
    let micros = tsc::micros_since_entry();
    // Xen: the console ring replaces COM1 (which a PVH guest lacks) once
    // drivers::xen::guest::init_early has mapped it.
    if crate::drivers::xen::guest::print_line(micros, args) {
        return;
    }
    let mut serial = SERIAL.lock();
    let _ = write!(
        serial,
        "[{:5}.{:06}] ",
        micros / 1_000_000,
        micros % 1_000_000
    );
    let _ = serial.write_fmt(args);
    let _ = serial.write_str("\n");
}

/// Makes the console usable from the panic and exception paths even if the
/// failure happened while a line was being written (single core: whoever
/// held the lock will never run again).
pub fn emergency() {
    if SERIAL.is_locked() {
        // SAFETY: single core, no threads: the holder was interrupted by the
        // fault or panic that brought us here and will not resume.
        unsafe { SERIAL.force_unlock() };
    }
    crate::drivers::xen::guest::console_emergency();
}

/// Prints a line on the console, prefixed with the time since entry.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::console::print_line(format_args!($($arg)*))
    };
}

struct Logger;
static LOGGER: Logger = Logger;

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            print_line(format_args!(
                "{} {}: {}",
                record.level(),
                record.target(),
                record.args()
            ));
        }
    }

    fn flush(&self) {}
}
