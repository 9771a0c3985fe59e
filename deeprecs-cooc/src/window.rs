//! The pairing window `W`: a whole number of seconds, written like `7d`, `12h`, `30m`, `3600s`
//! or `0`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// How far apart in time two events of one user may be and still pair: `|Δt| ≤ W`, both ends
/// included. `W = 0` means "in the same basket" when the event log has basket (order,
/// session) ids, and "at the same timestamp" otherwise (see [`Pairing`](crate::Pairing)).
///
/// Written and parsed as a whole number with a unit: `s` (seconds), `m` (minutes), `h`
/// (hours), `d` (days), `w` (weeks); a bare number is seconds. Serialises as that text.
///
/// ```
/// use deeprecs_cooc::Window;
/// let w: Window = "7d".parse()?;
/// assert_eq!(w.secs(), 7 * 86_400);
/// assert_eq!(w.to_string(), "7d");
/// assert_eq!("3600s".parse::<Window>()?.to_string(), "1h");
/// assert!("0".parse::<Window>()?.is_zero());
/// assert!("-1d".parse::<Window>().is_err());
/// # Ok::<(), deeprecs_cooc::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Window {
    secs: u64,
}

const UNITS: [(char, u64); 5] = [
    ('w', 7 * 86_400),
    ('d', 86_400),
    ('h', 3_600),
    ('m', 60),
    ('s', 1),
];

impl Window {
    /// Seven days, the default.
    pub const WEEK: Self = Self { secs: 7 * 86_400 };
    /// Zero: same basket (or same timestamp when the log has no baskets).
    pub const ZERO: Self = Self { secs: 0 };

    /// A window of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self { secs }
    }

    /// A window of `days` whole days.
    pub const fn days(days: u64) -> Self {
        Self {
            secs: days * 86_400,
        }
    }

    /// The window in seconds.
    pub const fn secs(self) -> u64 {
        self.secs
    }

    /// True for `W = 0`.
    pub const fn is_zero(self) -> bool {
        self.secs == 0
    }

    /// The window as a [`Duration`].
    pub const fn as_duration(self) -> Duration {
        Duration::from_secs(self.secs)
    }
}

impl Default for Window {
    fn default() -> Self {
        Self::WEEK
    }
}

impl From<Duration> for Window {
    /// Whole seconds of the duration (sub-second parts are dropped).
    fn from(d: Duration) -> Self {
        Self { secs: d.as_secs() }
    }
}

impl FromStr for Window {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidDuration {
            value: text.to_owned(),
        };
        let t = text.trim();
        let (digits, factor) = match t.char_indices().last() {
            Some((i, c)) if c.is_ascii_alphabetic() => {
                let lower = c.to_ascii_lowercase();
                let factor = UNITS
                    .iter()
                    .find(|(u, _)| *u == lower)
                    .map(|&(_, f)| f)
                    .ok_or_else(bad)?;
                (t[..i].trim_end(), factor)
            }
            Some(_) => (t, 1),
            None => return Err(bad()),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let secs = n.checked_mul(factor).ok_or_else(bad)?;
        Ok(Self { secs })
    }
}

impl fmt::Display for Window {
    /// The largest unit up to days that divides the window exactly (`0` for zero).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secs == 0 {
            return f.write_str("0");
        }
        // Weeks are parsed but not written: `7d` reads better than `1w`.
        for (unit, factor) in &UNITS[1..] {
            if self.secs.is_multiple_of(*factor) {
                return write!(f, "{}{unit}", self.secs / factor);
            }
        }
        write!(f, "{}s", self.secs)
    }
}

impl TryFrom<String> for Window {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<Window> for String {
    fn from(w: Window) -> String {
        w.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        let cases = [
            ("7d", 604_800),
            ("12h", 43_200),
            ("30m", 1_800),
            ("3600s", 3_600),
            ("3600", 3_600),
            ("0", 0),
            ("0d", 0),
            ("2w", 1_209_600),
            (" 1D ", 86_400),
        ];
        for (text, secs) in cases {
            assert_eq!(text.parse::<Window>().unwrap().secs(), secs, "{text}");
        }
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "",
            "d",
            "-1d",
            "1.5d",
            "7 days",
            "7y",
            "1e3",
            "99999999999999999999d",
            "+3h",
        ] {
            let e = bad.parse::<Window>().unwrap_err();
            assert!(matches!(e, Error::InvalidDuration { .. }), "{bad}: {e}");
        }
    }

    #[test]
    fn display_round_trips() {
        for secs in [0, 1, 59, 60, 90, 3_600, 86_400, 604_800, 90_061] {
            let w = Window::from_secs(secs);
            assert_eq!(w.to_string().parse::<Window>().unwrap(), w);
        }
        assert_eq!(Window::from_secs(90).to_string(), "90s");
        assert_eq!(Window::days(14).to_string(), "14d");
        let json = serde_json::to_string(&Window::WEEK).unwrap();
        assert_eq!(json, "\"7d\"");
        assert_eq!(
            serde_json::from_str::<Window>("\"7d\"").unwrap(),
            Window::WEEK
        );
        assert!(serde_json::from_str::<Window>("\"soon\"").is_err());
        assert_eq!(Window::from(Duration::from_millis(2_500)).secs(), 2);
    }
}
