//! Time, as the application sees it.
//!
//! Two clocks, both supplied by the platform:
//! - a monotonic [`Instant`] in milliseconds, passed into every state-machine
//!   call (sans-IO, as smoltcp does), used for deadlines and uptime;
//! - wall-clock time through rustls's
//!   [`TimeProvider`], used to check
//!   certificate validity and to date the boot-time certificates. The hosted
//!   runner gives the system clock ([`SystemClock`]); the unikernel gives its
//!   RTC-based clock.

use core::fmt;
use core::ops::{Add, Sub};
use core::time::Duration;

pub use rustls::pki_types::UnixTime;
pub use rustls::time_provider::TimeProvider;

/// A point on the platform's monotonic clock, in milliseconds since an
/// arbitrary origin (boot, or process start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant {
    millis: u64,
}

impl Instant {
    /// The instant `millis` milliseconds after the clock's origin.
    pub const fn from_millis(millis: u64) -> Self {
        Self { millis }
    }

    /// Milliseconds since the clock's origin.
    pub const fn as_millis(self) -> u64 {
        self.millis
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.millis.saturating_sub(earlier.millis))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        let add = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Instant {
            millis: self.millis.saturating_add(add),
        }
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_since(rhs)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.millis / 1000, self.millis % 1000)
    }
}

/// Wall-clock time from the operating system (hosted runner only).
#[cfg(feature = "std")]
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[cfg(feature = "std")]
impl TimeProvider for SystemClock {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::now())
    }
}
