//! Calendar months in UTC, the period of budgets and invoices: which month
//! a Unix-millisecond time falls in, and where a month starts and ends.

use std::fmt;

/// A calendar month (UTC), shown `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1..=12
    pub month: u32,
}

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month) of a day number (`civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m)
}

impl Month {
    /// The month `ms` (Unix milliseconds) falls in.
    pub fn of_ms(ms: i64) -> Month {
        let (y, m) = civil_from_days(ms.div_euclid(MS_PER_DAY));
        Month {
            year: i32::try_from(y).unwrap_or(i32::MAX),
            month: u32::try_from(m).unwrap_or(1),
        }
    }

    /// Parse `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Month> {
        let (y, m) = text.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let year: i32 = y.parse().ok()?;
        let month: u32 = m.parse().ok()?;
        (1..=12).contains(&month).then_some(Month { year, month })
    }

    /// The first millisecond of the month.
    pub fn start_ms(self) -> i64 {
        days_from_civil(i64::from(self.year), i64::from(self.month), 1) * MS_PER_DAY
    }

    /// The month after.
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The month before.
    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The first millisecond after the month.
    pub fn end_ms(self) -> i64 {
        self.next().start_ms()
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_follow_the_calendar() {
        // 2024-02-29T23:59:59.999Z and the next millisecond.
        let leap_end = 1_709_251_199_999;
        assert_eq!(Month::of_ms(leap_end).to_string(), "2024-02");
        assert_eq!(Month::of_ms(leap_end + 1).to_string(), "2024-03");
        let feb = Month::parse("2024-02").unwrap();
        assert_eq!(feb.end_ms(), leap_end + 1);
        assert_eq!(feb.end_ms() - feb.start_ms(), 29 * MS_PER_DAY);
        assert_eq!(
            Month::parse("2023-12").unwrap().next().to_string(),
            "2024-01"
        );
        assert_eq!(
            Month::parse("2024-01").unwrap().prev().to_string(),
            "2023-12"
        );
        assert_eq!(Month::of_ms(0).to_string(), "1970-01");
        for bad in ["2024-13", "2024-1", "24-01", "2024/01", ""] {
            assert!(Month::parse(bad).is_none(), "{bad}");
        }
    }
}
