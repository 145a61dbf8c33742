//! Money as integers: [`Nanos`], billionths of the catalog's currency
//! unit. Never floats — a sum of a million priced events must be exact.
//!
//! Why billionths: prices are quoted with at most six decimals per priced
//! unit (e.g. `0.000100` USD per audio second, `0.000020` per 1,000
//! tokens), and usage is counted in base units a thousand times smaller
//! than some priced units (audio in milliseconds, tokens one by one where
//! the price is per 1,000). A price with six decimals per 1,000 base units
//! is a whole number of billionths per base unit, so every event's cost is
//! `quantity × integer` with no rounding anywhere, and invoice totals equal
//! the sum of priced events exactly.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Billionths of a currency unit per whole unit.
pub const NANOS_PER_UNIT: i64 = 1_000_000_000;

/// Most decimals a quoted price may have.
pub const MAX_PRICE_DECIMALS: u32 = 6;

/// An amount of money in billionths of the currency unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nanos(pub i64);

/// Why a decimal text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not a decimal amount (digits, one optional `.`)")]
    NotDecimal(String),
    #[error("`{text}` has more than {max} decimals")]
    TooPrecise { text: String, max: u32 },
    #[error("`{0}` is too large")]
    TooLarge(String),
}

impl Nanos {
    pub const ZERO: Nanos = Nanos(0);

    /// Parse a non-negative decimal (`"12"`, `"0.0001"`) with at most
    /// `max_decimals` decimals.
    pub fn parse(text: &str, max_decimals: u32) -> Result<Nanos, MoneyError> {
        let t = text.trim();
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() && frac.is_empty() || !digits(whole) || !digits(frac) {
            return Err(MoneyError::NotDecimal(text.to_owned()));
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > max_decimals.min(9) as usize {
            return Err(MoneyError::TooPrecise {
                text: text.to_owned(),
                max: max_decimals,
            });
        }
        let too_large = || MoneyError::TooLarge(text.to_owned());
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| too_large())?
        };
        let mut frac_nanos: i64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            frac_nanos += i64::from(b - b'0') * 10_i64.pow(8 - i as u32);
        }
        whole
            .checked_mul(NANOS_PER_UNIT)
            .and_then(|n| n.checked_add(frac_nanos))
            .map(Nanos)
            .ok_or_else(too_large)
    }

    /// `self + other`, saturating (a sum past 9 billion units is not a
    /// real bill; saturating keeps a budget check refusing, not wrapping).
    pub fn plus(self, other: Nanos) -> Nanos {
        Nanos(self.0.saturating_add(other.0))
    }

    /// The amount rounded to whole cents (half away from zero), two
    /// decimals (`0.01`, `12.50`): how the dashboard shows money. The
    /// exact amount stays in the API and CSV (and in the page's markup).
    pub fn cents(self) -> String {
        const NANOS_PER_CENT: i128 = 10_000_000;
        let value = i128::from(self.0);
        let half = if value < 0 {
            -NANOS_PER_CENT / 2
        } else {
            NANOS_PER_CENT / 2
        };
        decimal((value + half) / NANOS_PER_CENT, 2, 2)
    }

    /// `self × n`, saturating.
    pub fn times(self, n: i64) -> Nanos {
        Nanos(self.0.saturating_mul(n))
    }
}

/// Exact decimal text of `value / 10^scale` with trailing zeros kept down
/// to `min_decimals` (so `12.5` shows as `12.50` with 2).
pub fn decimal(value: i128, scale: u32, min_decimals: u32) -> String {
    let negative = value < 0;
    let abs = value.unsigned_abs();
    let div = 10_u128.pow(scale);
    let whole = abs / div;
    let mut frac = format!("{:0width$}", abs % div, width = scale as usize);
    while frac.len() > min_decimals as usize && frac.ends_with('0') {
        frac.pop();
    }
    let sign = if negative { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{frac}")
    }
}

impl fmt::Display for Nanos {
    /// The exact amount in currency units, at least two decimals
    /// (`0.000123`, `12.50`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&decimal(i128::from(self.0), 9, 2))
    }
}

/// Amounts travel as exact decimal strings (`"12.50"`), as payment APIs
/// do, so no JSON reader turns them into floats.
impl Serialize for Nanos {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Nanos {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Nanos::parse(&text, 9).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly_and_print_back() {
        assert_eq!(Nanos::parse("0.0001", 6), Ok(Nanos(100_000)));
        assert_eq!(Nanos::parse("12", 6), Ok(Nanos(12_000_000_000)));
        assert_eq!(Nanos::parse(".5", 6), Ok(Nanos(500_000_000)));
        assert_eq!(Nanos::parse("1.250000000", 6), Ok(Nanos(1_250_000_000)));
        assert_eq!(Nanos(100_000).to_string(), "0.0001");
        assert_eq!(Nanos(12_500_000_000).to_string(), "12.50");
        assert_eq!(Nanos(1).to_string(), "0.000000001");
        assert_eq!(decimal(-1500, 3, 0), "-1.5");
    }

    #[test]
    fn cents_round_half_away_from_zero() {
        assert_eq!(Nanos(0).cents(), "0.00");
        assert_eq!(Nanos(30_000).cents(), "0.00");
        assert_eq!(Nanos(4_999_999).cents(), "0.00");
        assert_eq!(Nanos(5_000_000).cents(), "0.01");
        assert_eq!(Nanos(12_345_000_000).cents(), "12.35");
        assert_eq!(Nanos(12_344_999_999).cents(), "12.34");
        assert_eq!(Nanos(10_000_000_000).cents(), "10.00");
        assert_eq!(Nanos(-5_000_000).cents(), "-0.01");
        assert_eq!(Nanos(i64::MAX).cents(), "9223372036.85");
    }

    #[test]
    fn bad_amounts_are_refused() {
        for bad in ["", ".", "-1", "1e3", "abc", "1.2.3", "0x10"] {
            assert!(Nanos::parse(bad, 6).is_err(), "{bad}");
        }
        assert!(matches!(
            Nanos::parse("0.0000001", 6),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            Nanos::parse("99999999999999", 6),
            Err(MoneyError::TooLarge(_))
        ));
    }
}
