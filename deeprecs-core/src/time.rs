//! Timestamp parsing and formatting (seconds since the Unix epoch, UTC), without a date library.
//!
//! ```
//! use deeprecs_core::time::{parse_timestamp, format_timestamp};
//! use deeprecs_core::TimestampFormat;
//! let t = parse_timestamp("2010-12-01 08:26:00", TimestampFormat::Auto).unwrap();
//! assert_eq!(t, 1_291_191_960);
//! assert_eq!(parse_timestamp("2010-12-01T09:26:00+01:00", TimestampFormat::Rfc3339), Some(t));
//! assert_eq!(parse_timestamp("1291191960", TimestampFormat::Auto), Some(t));
//! assert_eq!(format_timestamp(t), "2010-12-01 08:26:00");
//! ```

use crate::schema::TimestampFormat;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// What the timestamp formats accept, for error messages.
pub const EXPECTED_TIMESTAMP: &str =
    "a timestamp (RFC 3339, `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DD`, or epoch seconds)";

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day number since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        _ => 28,
    }
}

/// Formats epoch seconds as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn format_timestamp(t: i64) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(DAY));
    let s = t.rem_euclid(DAY);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Parses `text` (surrounding whitespace ignored) as epoch seconds in the given format.
/// Returns `None` when it does not parse; the caller names file, line and field.
pub fn parse_timestamp(text: &str, format: TimestampFormat) -> Option<i64> {
    let text = text.trim();
    match format {
        TimestampFormat::Auto => parse_datetime(text, false).or_else(|| parse_epoch(text, 1)),
        TimestampFormat::Rfc3339 => parse_datetime(text, true),
        TimestampFormat::DateTime => parse_datetime(text, false),
        TimestampFormat::EpochSeconds => parse_epoch(text, 1),
        TimestampFormat::EpochMillis => parse_epoch(text, 1000),
    }
}

fn parse_epoch(text: &str, divisor: i64) -> Option<i64> {
    if text.is_empty() {
        return None;
    }
    if let Ok(v) = text.parse::<i64>() {
        return Some(v.div_euclid(divisor));
    }
    // Decimal seconds (e.g. "1291191960.5"): digits, one dot, digits; no exponent or NaN.
    let (int, frac) = text.split_once('.')?;
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = int.strip_prefix('-').unwrap_or(int);
    if unsigned.is_empty() || !digits(unsigned) || !digits(frac) {
        return None;
    }
    let v: f64 = text.parse().ok()?;
    let secs = (v / divisor as f64).floor();
    (secs.abs() < 1e15).then_some(secs as i64)
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<u32> {
        let s = self.b.get(self.i..self.i + n)?;
        let mut v = 0u32;
        for &c in s {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(c - b'0');
        }
        self.i += n;
        Some(v)
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
}

/// `YYYY-MM-DD[( |T)HH:MM[:SS[.frac]]][Z|±HH:MM|±HHMM]`; `strict` (RFC 3339) requires the
/// time with seconds and an offset.
fn parse_datetime(text: &str, strict: bool) -> Option<i64> {
    let mut c = Cursor {
        b: text.as_bytes(),
        i: 0,
    };
    let year = c.digits(4)?;
    if !c.eat(b'-') {
        return None;
    }
    let month = c.digits(2)?;
    if !c.eat(b'-') {
        return None;
    }
    let day = c.digits(2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(i64::from(year), month) {
        return None;
    }
    let mut secs = days_from_civil(i64::from(year), month, day) * DAY;
    if c.done() {
        return (!strict).then_some(secs);
    }
    if !(c.eat(b' ') || c.eat(b'T') || c.eat(b't')) {
        return None;
    }
    let hour = c.digits(2)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = c.digits(2)?;
    let mut second = 0;
    let has_seconds = c.eat(b':');
    if has_seconds {
        second = c.digits(2)?;
        if c.eat(b'.') || c.eat(b',') {
            let start = c.i;
            while c.peek().is_some_and(|b| b.is_ascii_digit()) {
                c.i += 1;
            }
            if c.i == start {
                return None;
            }
        }
    } else if strict {
        return None;
    }
    // 24:00:00 is allowed by ISO 8601 as the end of the day; a leap second 60 is read as 59.
    let valid =
        (hour < 24 && minute < 60 && second <= 60) || (hour == 24 && minute == 0 && second == 0);
    if !valid {
        return None;
    }
    secs += i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second.min(59));
    if c.done() {
        return (!strict).then_some(secs);
    }
    if c.eat(b'Z') || c.eat(b'z') {
        return c.done().then_some(secs);
    }
    let sign = match c.peek()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    c.i += 1;
    let oh = c.digits(2)?;
    let _ = c.eat(b':');
    let om = c.digits(2)?;
    if oh > 23 || om > 59 || !c.done() {
        return None;
    }
    Some(secs - sign * (i64::from(oh) * 3600 + i64::from(om) * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use TimestampFormat::*;

    #[test]
    fn known_instants() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:00", Auto), Some(0));
        assert_eq!(parse_timestamp("2000-03-01", Auto), Some(951_868_800));
        assert_eq!(
            parse_timestamp("2011-12-09 12:50:00", DateTime),
            Some(1_323_435_000)
        );
        assert_eq!(
            parse_timestamp("2011-12-09T12:50:00Z", Rfc3339),
            Some(1_323_435_000)
        );
        assert_eq!(
            parse_timestamp("2011-12-09T13:50:00.123+01:00", Rfc3339),
            Some(1_323_435_000)
        );
        assert_eq!(
            parse_timestamp("2011-12-09T07:50:00-0500", Auto),
            Some(1_323_435_000)
        );
        assert_eq!(parse_timestamp("1969-12-31 23:59:59", Auto), Some(-1));
        assert_eq!(
            parse_timestamp("2016-02-29 00:00", Auto),
            Some(1_456_704_000)
        );
        assert_eq!(
            parse_timestamp(" 1323435000 ", EpochSeconds),
            Some(1_323_435_000)
        );
        assert_eq!(parse_timestamp("1323435000.9", Auto), Some(1_323_435_000));
        assert_eq!(
            parse_timestamp("1323435000999", EpochMillis),
            Some(1_323_435_000)
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2011-13-01",
            "2011-02-29",
            "2011-12-09 25:00:00",
            "2011-12-09 12:60:00",
            "2011-12-09 12:50:00+",
            "yesterday",
            "2011-12-09x",
            "1e9",
            "NaN",
            "12/1/2010 8:26",
            "2011-12-09 12:50:00 junk",
            "-",
            ".5",
        ] {
            assert_eq!(parse_timestamp(bad, Auto), None, "{bad:?}");
        }
        // RFC 3339 needs seconds and an offset.
        assert_eq!(parse_timestamp("2011-12-09 12:50:00", Rfc3339), None);
        assert_eq!(parse_timestamp("2011-12-09", Rfc3339), None);
        assert_eq!(parse_timestamp("2011-12-09", EpochSeconds), None);
    }

    #[test]
    fn civil_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_timestamp(-1), "1969-12-31 23:59:59");
    }
}
