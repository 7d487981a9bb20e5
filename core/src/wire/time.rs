//! Timestamps: milliseconds since the Unix epoch, shown as ISO-8601 UTC with milliseconds
//! (`2026-03-27T08:22:51.272Z`), the only form the API uses.

use crate::wire::error::FieldError;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A point in time, in milliseconds since 1970-01-01T00:00:00Z. The clock is read by the
/// caller (the Worker's `Date.now()`) and passed in, so every rule that depends on time is
/// a pure function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;
/// The latest instant shown with a four-digit year: 9999-12-31T23:59:59.999Z.
const MAX_MS: i64 = 253_402_300_799_999;

impl Timestamp {
    /// The instant `ms` milliseconds after the epoch, clamped to years 0000 to 9999.
    pub fn from_millis(ms: i64) -> Self {
        Self(ms.clamp(-62_167_219_200_000, MAX_MS))
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// This instant moved by `ms` milliseconds (saturating at the representable range).
    pub fn plus_millis(self, ms: i64) -> Self {
        Self::from_millis(self.0.saturating_add(ms))
    }

    /// Whole seconds since the epoch (rounded down), for the reference's legacy
    /// `created_at` fields.
    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Parses the exact form this API writes: `YYYY-MM-DDTHH:MM:SS.mmmZ`; anything else
    /// is an invalid `timestamp`.
    pub fn parse_iso(s: &str) -> Result<Self, FieldError> {
        Self::read_iso(s).ok_or_else(|| {
            FieldError::invalid(
                "timestamp",
                "must be ISO-8601 UTC with milliseconds, like 2026-03-27T08:22:51.272Z",
            )
        })
    }

    fn read_iso(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 24
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'.'
            || b[23] != b'Z'
        {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<i64> {
            let part = &s[from..to];
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())
                .flatten()
        };
        let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (h, mi, sec, ms) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?);
        if !(1..=12).contains(&mo)
            || d < 1
            || d > days_in_month(y, mo)
            || h > 23
            || mi > 59
            || sec > 59
        {
            return None;
        }
        let days = days_from_civil(y, mo, d);
        Some(Self(days * DAY_MS + ((h * 60 + mi) * 60 + sec) * 1000 + ms))
    }
}

impl Timestamp {
    /// The ISO-8601 text as bytes. Every timestamp lies in years 0 to 9999
    /// ([`Timestamp::from_millis`] clamps, [`Timestamp::parse_iso`] reads four digits), so
    /// the text always has this fixed shape. Timestamps are written several times per app,
    /// so this avoids the formatting machinery.
    fn iso_bytes(self) -> [u8; 24] {
        let days = self.0.div_euclid(DAY_MS);
        let in_day = self.0.rem_euclid(DAY_MS);
        let (y, m, d) = civil_from_days(days);
        let (h, rest) = (in_day / 3_600_000, in_day % 3_600_000);
        let (mi, rest) = (rest / 60_000, rest % 60_000);
        let (s, ms) = (rest / 1000, rest % 1000);
        let mut out = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut v: i64| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, y);
        put(5, 2, m);
        put(8, 2, d);
        put(11, 2, h);
        put(14, 2, mi);
        put(17, 2, s);
        put(20, 3, ms);
        out
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only ASCII digits and separators were written.
        f.write_str(std::str::from_utf8(&self.iso_bytes()).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(std::str::from_utf8(&self.iso_bytes()).map_err(S::Error::custom)?)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::read_iso(&s).ok_or_else(|| {
            serde::de::Error::custom("expected a timestamp like 2026-03-27T08:22:51.272Z")
        })
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil calendar algorithms (proleptic Gregorian), exact for all i64
// days in range; they avoid any table or loop.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(
            Timestamp::from_millis(0).to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(1_774_599_771_272).to_string(),
            "2026-03-27T08:22:51.272Z"
        );
        assert_eq!(
            Timestamp::from_millis(951_782_400_000).to_string(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(-1).to_string(),
            "1969-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn rejects_what_it_would_never_write() {
        for bad in [
            "2026-03-27T08:22:51Z",
            "2026-02-30T00:00:00.000Z",
            "2025-02-29T00:00:00.000Z",
            "2026-03-27 08:22:51.272Z",
            "2026-13-01T00:00:00.000Z",
            "2026-03-27T24:00:00.000Z",
            "+026-03-27T08:22:51.272Z",
        ] {
            assert_eq!(
                Timestamp::parse_iso(bad).unwrap_err().parameter,
                "timestamp",
                "{bad}"
            );
        }
    }

    proptest! {
        #[test]
        fn the_fast_text_is_the_formatted_text(ms in -62_167_219_200_000i64..=MAX_MS) {
            let t = Timestamp::from_millis(ms);
            let days = ms.div_euclid(DAY_MS);
            let in_day = ms.rem_euclid(DAY_MS);
            let (y, m, d) = civil_from_days(days);
            let (h, rest) = (in_day / 3_600_000, in_day % 3_600_000);
            let (mi, rest) = (rest / 60_000, rest % 60_000);
            let (s, milli) = (rest / 1000, rest % 1000);
            let formatted = format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z");
            prop_assert_eq!(t.to_string(), formatted.clone());
            prop_assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{formatted}\""));
        }

        #[test]
        fn display_and_parse_round_trip(ms in 0i64..=MAX_MS) {
            let t = Timestamp::from_millis(ms);
            prop_assert_eq!(Timestamp::parse_iso(&t.to_string()), Ok(t));
        }

        #[test]
        fn order_of_strings_is_order_of_instants(a in 0i64..=MAX_MS, b in 0i64..=MAX_MS) {
            // The list orders by the stored ISO text: that must agree with time order.
            let (ta, tb) = (Timestamp::from_millis(a), Timestamp::from_millis(b));
            prop_assert_eq!(ta.to_string().cmp(&tb.to_string()), ta.cmp(&tb));
        }
    }
}
