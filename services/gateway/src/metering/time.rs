//! UTC times as the usage API reads and writes them: RFC 3339
//! (`2026-11-27T23:00:00Z`, fractions and `±HH:MM` offsets accepted), a
//! bare date (`2026-11-27`, midnight UTC) or Unix seconds. Stored times are
//! Unix milliseconds, so bucketing is integer arithmetic that SQLite and
//! PostgreSQL do identically.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (`civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `ms` (Unix milliseconds) as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_rfc3339(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// Why a time could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{0}` is not a time: use RFC 3339 (2026-11-27T23:00:00Z), a date (2026-11-27) or Unix seconds"
)]
pub struct BadTime(pub String);

fn number(text: &str, range: std::ops::RangeInclusive<i64>) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().filter(|n| range.contains(n))
}

/// Unix milliseconds of `text`.
pub fn parse(text: &str) -> Result<i64, BadTime> {
    let bad = || BadTime(text.chars().take(64).collect());
    let text = text.trim();
    if let Some(seconds) = number(text, 0..=253_402_300_799) {
        return Ok(seconds * 1000);
    }
    let (date, rest) = text.split_at_checked(text.len().min(10)).ok_or_else(bad)?;
    let mut fields = date.split('-');
    let (Some(y), Some(mo), Some(d), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(bad());
    };
    let (year, month, day) = (
        number(y, 1970..=9999).filter(|_| y.len() == 4),
        number(mo, 1..=12).filter(|_| mo.len() == 2),
        number(d, 1..=31).filter(|_| d.len() == 2),
    );
    let (Some(year), Some(month), Some(day)) = (year, month, day) else {
        return Err(bad());
    };
    let days = days_from_civil(year, month, day);
    // A day that does not exist (Feb 30) comes back as another date.
    if civil_from_days(days) != (year, month, day) {
        return Err(bad());
    }
    let mut ms = days * 86_400_000;
    if rest.is_empty() {
        return Ok(ms);
    }
    let rest = rest
        .strip_prefix('T')
        .or_else(|| rest.strip_prefix('t'))
        .or_else(|| rest.strip_prefix(' '))
        .ok_or_else(bad)?;
    if rest.len() < 8 {
        return Err(bad());
    }
    let (clock, mut zone) = rest.split_at_checked(8).ok_or_else(bad)?;
    let mut parts = clock.split(':');
    let (Some(h), Some(mi), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let two = |t: &str, max| number(t, 0..=max).filter(|_| t.len() == 2);
    let (Some(h), Some(mi), Some(s)) = (two(h, 23), two(mi, 59), two(s, 59)) else {
        return Err(bad());
    };
    ms += (h * 3600 + mi * 60 + s) * 1000;
    if let Some(fraction) = zone.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let millis: String = fraction[..digits]
            .chars()
            .chain("000".chars())
            .take(3)
            .collect();
        ms += number(&millis, 0..=999).ok_or_else(bad)?;
        zone = &fraction[digits..];
    }
    match zone {
        "Z" | "z" => Ok(ms),
        _ => {
            let (sign, offset) = match zone.as_bytes().first() {
                Some(b'+') => (1, &zone[1..]),
                Some(b'-') => (-1, &zone[1..]),
                _ => return Err(bad()),
            };
            let (oh, om) = offset.split_once(':').ok_or_else(bad)?;
            let (Some(oh), Some(om)) = (two(oh, 23), two(om, 59)) else {
                return Err(bad());
            };
            Ok(ms - sign * (oh * 3600 + om * 60) * 1000)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        // 2026-11-27T23:32:39.123Z, checked with `date -u -d @1795822359`.
        let ms = 1_795_822_359_123;
        assert_eq!(format_rfc3339(ms), "2026-11-27T23:32:39.123Z");
        assert_eq!(parse("2026-11-27T23:32:39.123Z").unwrap(), ms);
        assert_eq!(parse("2026-11-27T23:32:39.123456Z").unwrap(), ms);
        assert_eq!(parse("2026-11-28T01:32:39.123+02:00").unwrap(), ms);
        assert_eq!(parse("1795822359").unwrap(), 1_795_822_359_000);
        assert_eq!(parse("2026-11-27").unwrap(), 1_795_737_600_000);
        assert_eq!(parse("2024-02-29T00:00:00Z").unwrap(), 1_709_164_800_000);
        for day in 0..800 {
            let ms = 1_700_000_000_000 + day * 86_400_000 + 3_723_004;
            assert_eq!(parse(&format_rfc3339(ms)).unwrap(), ms);
        }
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            "",
            "yesterday",
            "2026-02-30",
            "2026-13-01",
            "2026-11-27T25:00:00Z",
            "2026-11-27T23:00:00",
            "2026-11-27T23:00Z",
            "2026-11-27T23:00:00.Z",
            "-5",
            "99999999999999999999",
            "2026-11-2é",
            "2026-11-27T23:00:0é",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
