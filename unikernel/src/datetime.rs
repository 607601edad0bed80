//! CMOS RTC register decoding and civil-date arithmetic (pure logic, unit
//! tested on the host; the port I/O is in `drivers::rtc`).

/// The RTC's date and time registers as read, still encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcRegisters {
    /// Register 0x00.
    pub seconds: u8,
    /// Register 0x02.
    pub minutes: u8,
    /// Register 0x04 (bit 7 = PM in 12-hour mode).
    pub hours: u8,
    /// Register 0x07.
    pub day: u8,
    /// Register 0x08.
    pub month: u8,
    /// Register 0x09 (two digits; the century is taken as 20).
    pub year: u8,
    /// Register 0x0B: bit 2 = binary (else BCD), bit 1 = 24-hour (else 12).
    pub status_b: u8,
}

fn from_bcd(value: u8) -> Option<u8> {
    let (high, low) = (value >> 4, value & 0x0F);
    (high <= 9 && low <= 9).then_some(high * 10 + low)
}

/// Seconds since 1970-01-01T00:00:00Z, if the registers hold a valid date
/// in 2000–2099. The RTC is assumed to run in UTC (QEMU's default
/// `-rtc base=utc`); the century register's index is firmware-specific
/// (ACPI FADT), so the century is fixed at 20.
pub fn decode(r: &RtcRegisters) -> Option<u64> {
    let binary = r.status_b & 0x04 != 0;
    let h24 = r.status_b & 0x02 != 0;
    let field = |v: u8| if binary { Some(v) } else { from_bcd(v) };
    let pm = !h24 && r.hours & 0x80 != 0;
    let mut hours = field(r.hours & 0x7F)?;
    if !h24 {
        if !(1..=12).contains(&hours) {
            return None;
        }
        hours %= 12;
        if pm {
            hours += 12;
        }
    }
    let (seconds, minutes) = (field(r.seconds)?, field(r.minutes)?);
    let (day, month, year) = (field(r.day)?, field(r.month)?, field(r.year)?);
    if seconds > 59 || minutes > 59 || hours > 23 || year > 99 {
        return None;
    }
    let year = 2000 + i64::from(year);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, u32::from(month), u32::from(day));
    let secs =
        days * 86_400 + i64::from(hours) * 3600 + i64::from(minutes) * 60 + i64::from(seconds);
    u64::try_from(secs).ok()
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard
/// Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regs(s: u8, m: u8, h: u8, d: u8, mo: u8, y: u8, b: u8) -> RtcRegisters {
        RtcRegisters {
            seconds: s,
            minutes: m,
            hours: h,
            day: d,
            month: mo,
            year: y,
            status_b: b,
        }
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
    }

    #[test]
    fn bcd_24h() {
        // 2025-06-15 13:45:30 UTC = 1749995130
        let r = regs(0x30, 0x45, 0x13, 0x15, 0x06, 0x25, 0x02);
        assert_eq!(decode(&r), Some(1_749_995_130));
    }

    #[test]
    fn binary_24h() {
        let r = regs(30, 45, 13, 15, 6, 25, 0x06);
        assert_eq!(decode(&r), Some(1_749_995_130));
    }

    #[test]
    fn bcd_12h_pm_and_midnight() {
        // 1 PM in 12-hour BCD: 0x81.
        let r = regs(0x30, 0x45, 0x81, 0x15, 0x06, 0x25, 0x00);
        assert_eq!(decode(&r), Some(1_749_995_130));
        // 12 AM is hour 0; 12 PM is hour 12.
        let midnight = regs(0, 0, 0x12, 0x01, 0x01, 0x24, 0x00);
        assert_eq!(decode(&midnight), Some(1_704_067_200));
        let noon = regs(0, 0, 0x92, 0x01, 0x01, 0x24, 0x00);
        assert_eq!(decode(&noon), Some(1_704_067_200 + 12 * 3600));
    }

    #[test]
    fn rejects_garbage() {
        // An absent RTC reads 0xFF everywhere.
        assert_eq!(
            decode(&regs(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF)),
            None
        );
        assert_eq!(
            decode(&regs(0x00, 0x00, 0x00, 0x31, 0x02, 0x25, 0x02)),
            None
        );
        assert_eq!(
            decode(&regs(0x00, 0x00, 0x00, 0x29, 0x02, 0x25, 0x02)),
            None
        );
        assert!(decode(&regs(0x00, 0x00, 0x00, 0x29, 0x02, 0x24, 0x02)).is_some());
        assert_eq!(
            decode(&regs(0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02)),
            None
        );
    }
}
