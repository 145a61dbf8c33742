//! Deterministic recognizers: a regular expression finds candidates, a
//! validator keeps only real ones (Luhn for cards, ISO 13616 mod-97 for
//! IBANs, the SSA's ranges for US SSNs, the standard library's parsers for
//! IP addresses, the calendar for dates, digit counts for phone numbers).
//!
//! They exist beside the Rampart tagger because it is a small 4-bit model:
//! it misses well-formed e-mail addresses and cannot check a checksum. A
//! recognizer's score is a fixed confidence per type: checksummed types
//! score highest because a random digit run passes Luhn or mod-97 rarely.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

use super::Span;

/// Scores per type (see the module doc).
const EMAIL_SCORE: f32 = 0.95;
const URL_SCORE: f32 = 0.9;
const IP_SCORE: f32 = 0.95;
const CARD_SCORE: f32 = 0.99;
const IBAN_SCORE: f32 = 0.99;
const SSN_SCORE: f32 = 0.9;
const PHONE_SCORE: f32 = 0.8;
const DATE_SCORE: f32 = 0.85;

const MONTHS: &str = "January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec";

struct Patterns {
    email: Regex,
    url: Regex,
    ipv4: Regex,
    ipv6: Regex,
    card: Regex,
    iban: Regex,
    ssn: Regex,
    phone: Regex,
    iso_date: Regex,
    numeric_date: Regex,
    text_date: Regex,
}

#[expect(
    clippy::expect_used,
    reason = "the patterns are constants; the unit tests compile every one"
)]
fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a constant pattern compiles")
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| Patterns {
    email: compile(
        r"(?i)\b[\p{L}\p{N}][\p{L}\p{N}._%+-]*@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+\p{L}{2,}\b",
    ),
    url: compile(r#"(?i)\b(?:https?://|ftp://|www\.)[^\s<>"'`]+"#),
    ipv4: compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
    ipv6: compile(r"(?i)(?:[0-9a-f]{1,4}|:)(?::[0-9a-f]{0,4}){1,7}(?:(?:\.\d{1,3}){3})?"),
    card: compile(r"\b[2-6](?:[ -]?\d){12,18}\b"),
    iban: compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"),
    ssn: compile(r"\b(\d{3})([- ])(\d{2})([- ])(\d{4})\b"),
    phone: compile(
        r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,5}(?:[ .-]\d{1,8}){1,5}|\+\d{8,15}",
    ),
    iso_date: compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"),
    numeric_date: compile(r"\b(\d{1,2})([/.-])(\d{1,2})([/.-])(\d{4}|\d{2})\b"),
    text_date: compile(&format!(
        r"\b(?:(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?)?(?:{MONTHS})\.?(?:\s+(\d{{1,2}})(?:st|nd|rd|th)?)?,?\s+\d{{4}}\b"
    )),
});

/// A match in byte offsets, before conversion to chars.
struct Found {
    kind: &'static str,
    start: usize,
    end: usize,
    score: f32,
}

/// Every recognizer's spans in `text` (they may overlap each other; see
/// [`super::resolve`]).
pub fn recognize(text: &str) -> Vec<Span> {
    let p = &*PATTERNS;
    let mut found = Vec::new();
    let mut add = |kind, start, end, score| {
        found.push(Found {
            kind,
            start,
            end,
            score,
        });
    };
    for m in p.email.find_iter(text) {
        add("EMAIL", m.start(), m.end(), EMAIL_SCORE);
    }
    for m in p.url.find_iter(text) {
        let end = m.start() + trim_url(m.as_str()).len();
        if end > m.start() {
            add("URL", m.start(), end, URL_SCORE);
        }
    }
    for m in p.ipv4.find_iter(text) {
        if m.as_str().parse::<Ipv4Addr>().is_ok() && !dotted_on(text, m.start(), m.end()) {
            add("IP_ADDRESS", m.start(), m.end(), IP_SCORE);
        }
    }
    for m in p.ipv6.find_iter(text) {
        let candidate = m.as_str();
        // A sentence may put a colon right after the address.
        let trimmed = if candidate.ends_with(':') && !candidate.ends_with("::") {
            &candidate[..candidate.len() - 1]
        } else {
            candidate
        };
        let end = m.start() + trimmed.len();
        if trimmed.parse::<Ipv6Addr>().is_ok() && isolated(text, m.start(), end) {
            add("IP_ADDRESS", m.start(), end, IP_SCORE);
        }
    }
    for m in p.card.find_iter(text) {
        let digits: Vec<u32> = m.as_str().chars().filter_map(|c| c.to_digit(10)).collect();
        if (13..=19).contains(&digits.len()) && luhn_valid(&digits) {
            add("CREDIT_CARD", m.start(), m.end(), CARD_SCORE);
        }
    }
    for m in p.iban.find_iter(text) {
        if let Some(len) = longest_valid_iban(m.as_str()) {
            add("IBAN", m.start(), m.start() + len, IBAN_SCORE);
        }
    }
    for c in p.ssn.captures_iter(text) {
        let (Some(all), Some(area), Some(group), Some(serial)) =
            (c.get(0), c.get(1), c.get(3), c.get(5))
        else {
            continue;
        };
        let same_separator = c.get(2).map(|m| m.as_str()) == c.get(4).map(|m| m.as_str());
        if same_separator && ssn_valid(area.as_str(), group.as_str(), serial.as_str()) {
            add("US_SSN", all.start(), all.end(), SSN_SCORE);
        }
    }
    for m in p.phone.find_iter(text) {
        if phone_valid(m.as_str()) && phone_isolated(text, m.start(), m.end()) {
            add("PHONE", m.start(), m.end(), PHONE_SCORE);
        }
    }
    for c in p.iso_date.captures_iter(text) {
        let parts = (c.get(0), c.get(1), c.get(2), c.get(3));
        if let (Some(all), Some(y), Some(m), Some(d)) = parts
            && date_valid(number(y.as_str()), number(m.as_str()), number(d.as_str()))
        {
            add("DATE", all.start(), all.end(), DATE_SCORE);
        }
    }
    for c in p.numeric_date.captures_iter(text) {
        let parts = (c.get(0), c.get(1), c.get(3), c.get(5));
        let Some((all, a, b, y)) = (match parts {
            (Some(all), Some(a), Some(b), Some(y)) => Some((all, a, b, y)),
            _ => None,
        }) else {
            continue;
        };
        let same_separator = c.get(2).map(|m| m.as_str()) == c.get(4).map(|m| m.as_str());
        let year = match y.as_str().len() {
            2 => 2000 + number(y.as_str()),
            _ => number(y.as_str()),
        };
        let (a, b) = (number(a.as_str()), number(b.as_str()));
        // Day-first (most of the world) or month-first (the US).
        if same_separator && (date_valid(year, b, a) || date_valid(year, a, b)) {
            add("DATE", all.start(), all.end(), DATE_SCORE);
        }
    }
    for c in p.text_date.captures_iter(text) {
        let Some(all) = c.get(0) else { continue };
        let day_ok = [c.get(1), c.get(2)]
            .into_iter()
            .flatten()
            .all(|d| (1..=31).contains(&number(d.as_str())));
        if day_ok {
            add("DATE", all.start(), all.end(), DATE_SCORE);
        }
    }
    to_char_spans(text, found)
}

/// Byte spans to char spans.
fn to_char_spans(text: &str, found: Vec<Found>) -> Vec<Span> {
    let index = stratus_models::text::CharIndex::new(text);
    let char_at = |byte: usize| index.char_at(byte);
    found
        .into_iter()
        .filter_map(|f| {
            Some(Span {
                kind: f.kind.to_string(),
                text: text.get(f.start..f.end)?.to_string(),
                start: char_at(f.start)?,
                end: char_at(f.end)?,
                score: f.score,
            })
        })
        .collect()
}

fn number(digits: &str) -> u32 {
    digits.parse().unwrap_or(0)
}

/// URLs end before trailing sentence punctuation, and before a closing
/// bracket that has no opening one inside the URL.
fn trim_url(url: &str) -> &str {
    let mut url = url;
    loop {
        let Some(last) = url.chars().last() else {
            return url;
        };
        let unbalanced = |open: char| url.matches(open).count() < url.matches(last).count();
        let trim = match last {
            '.' | ',' | ';' | ':' | '!' | '?' => true,
            ')' => unbalanced('('),
            ']' => unbalanced('['),
            '}' => unbalanced('{'),
            _ => false,
        };
        if !trim {
            return url;
        }
        url = &url[..url.len() - last.len_utf8()];
    }
}

/// Whether the match sits inside a longer dotted number (`1.2.3.4.5`).
fn dotted_on(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let mut after = text[end..].chars();
    let digit_after_dot =
        after.next() == Some('.') && after.next().is_some_and(|c| c.is_ascii_digit());
    before == Some('.') || digit_after_dot
}

/// No letter or digit touches the match, nor a colon before it (a colon
/// after it is sentence punctuation the caller trimmed off).
fn isolated(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let joins = |c: char| c.is_alphanumeric() || c == '_';
    !before.is_some_and(|c| joins(c) || c == ':') && !after.is_some_and(joins)
}

/// The Luhn checksum over all digits.
pub fn luhn_valid(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if !i.is_multiple_of(2) {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// ISO 13616: move the first four characters to the end, letters become
/// 10..35, and the number mod 97 must be 1.
pub fn iban_valid(compact: &str) -> bool {
    if !(15..=34).contains(&compact.len()) || !compact.is_ascii() {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut remainder: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let Some(value) = c.to_digit(36) else {
            return false;
        };
        // Two-digit values shift by 100, one-digit by 10.
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

/// The longest prefix of the candidate (in bytes) that is a valid IBAN and
/// ends at a group boundary; the pattern may have swallowed a following
/// capitalised word (`… 0130 00 IBAN`).
fn longest_valid_iban(candidate: &str) -> Option<usize> {
    let mut ends: Vec<(usize, String)> = Vec::new();
    let mut compact = String::new();
    let mut chars = candidate.char_indices().peekable();
    while let Some((byte, c)) = chars.next() {
        if c == ' ' {
            continue;
        }
        compact.push(c);
        let at_group_end = chars.peek().is_none_or(|&(_, next)| next == ' ');
        if at_group_end {
            ends.push((byte + c.len_utf8(), compact.clone()));
        }
    }
    ends.into_iter()
        .rev()
        .find(|(_, compact)| iban_valid(compact))
        .map(|(end, _)| end)
}

/// The SSA never issues area 000, 666 or 900–999, group 00 or serial 0000.
pub fn ssn_valid(area: &str, group: &str, serial: &str) -> bool {
    let area = number(area);
    area != 0 && area != 666 && area < 900 && number(group) != 0 && number(serial) != 0
}

/// E.164 (with `+`) has 8–15 digits; national numbers without a country
/// code have 10–12 (US 10, UK and Germany 10–11, France 10), which keeps
/// shorter digit runs (SSNs, dates, amounts) out.
fn phone_valid(candidate: &str) -> bool {
    let digits = candidate.chars().filter(char::is_ascii_digit).count();
    if candidate.starts_with('+') {
        (8..=15).contains(&digits)
    } else {
        (10..=12).contains(&digits)
    }
}

/// Not glued to a word, a longer number or a dotted/hyphenated sequence.
fn phone_isolated(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let mut after = text[end..].chars();
    let next = after.next();
    let glued_before = before.is_some_and(|c| c.is_alphanumeric() || "+-./_".contains(c));
    let glued_after = next.is_some_and(|c| c.is_alphanumeric())
        || (next.is_some_and(|c| "-./".contains(c))
            && after.next().is_some_and(|c| c.is_ascii_digit()));
    !glued_before && !glued_after
}

/// A real calendar date between 1900 and 2100.
fn date_valid(year: u32, month: u32, day: u32) -> bool {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2100).contains(&year) && (1..=days).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(String, String)> {
        recognize(text)
            .into_iter()
            .map(|s| (s.kind, s.text))
            .collect()
    }

    fn has(text: &str, kind: &str, value: &str) -> bool {
        found(text).iter().any(|(k, v)| k == kind && v == value)
    }

    #[test]
    fn every_pattern_compiles() {
        LazyLock::force(&PATTERNS);
    }

    #[test]
    fn checksums() {
        let digits = |s: &str| s.chars().filter_map(|c| c.to_digit(10)).collect::<Vec<_>>();
        assert!(luhn_valid(&digits("4111 1111 1111 1111")));
        assert!(luhn_valid(&digits("378282246310005")));
        assert!(!luhn_valid(&digits("4111 1111 1111 1112")));
        assert!(iban_valid("GB82WEST12345698765432"));
        assert!(iban_valid("DE89370400440532013000"));
        assert!(!iban_valid("GB82WEST12345698765433"));
        assert!(!iban_valid("DE89370400440532013001"));
        assert!(ssn_valid("123", "45", "6789"));
        assert!(!ssn_valid("666", "45", "6789"));
        assert!(!ssn_valid("900", "45", "6789"));
        assert!(!ssn_valid("123", "00", "6789"));
        assert!(!ssn_valid("123", "45", "0000"));
    }

    #[test]
    fn cards_need_luhn() {
        assert!(has(
            "card 4111 1111 1111 1111 ok",
            "CREDIT_CARD",
            "4111 1111 1111 1111"
        ));
        assert!(has(
            "amex 3782-822463-10005.",
            "CREDIT_CARD",
            "3782-822463-10005"
        ));
        assert!(
            found("card 4111 1111 1111 1112 ok")
                .iter()
                .all(|(k, _)| k != "CREDIT_CARD")
        );
    }

    #[test]
    fn iban_stops_before_a_following_word() {
        assert!(has(
            "pay DE89 3704 0044 0532 0130 00 IBAN please",
            "IBAN",
            "DE89 3704 0044 0532 0130 00"
        ));
        assert!(has(
            "to GB82WEST12345698765432.",
            "IBAN",
            "GB82WEST12345698765432"
        ));
        assert!(
            found("to GB82 WEST 1234 5698 7654 33")
                .iter()
                .all(|(k, _)| k != "IBAN")
        );
    }

    #[test]
    fn emails_urls_ips() {
        assert!(has(
            "mail jo.x+y@mail.example.co.uk.",
            "EMAIL",
            "jo.x+y@mail.example.co.uk"
        ));
        assert!(has(
            "see (https://example.com/a_(b)?q=1).",
            "URL",
            "https://example.com/a_(b)?q=1"
        ));
        assert!(has("see www.example.org, then", "URL", "www.example.org"));
        assert!(has("host 192.168.1.20.", "IP_ADDRESS", "192.168.1.20"));
        assert!(
            found("version 1.2.3.4.5")
                .iter()
                .all(|(k, _)| k != "IP_ADDRESS")
        );
        assert!(
            found("bad 300.1.1.1")
                .iter()
                .all(|(k, _)| k != "IP_ADDRESS")
        );
        assert!(has(
            "v6 2001:db8::8a2e:370:7334 up",
            "IP_ADDRESS",
            "2001:db8::8a2e:370:7334"
        ));
        assert!(has("at fe80::1: down", "IP_ADDRESS", "fe80::1"));
        assert!(has("loopback ::1 here", "IP_ADDRESS", "::1"));
        assert!(
            found("at 10:30:45 today")
                .iter()
                .all(|(k, _)| k != "IP_ADDRESS")
        );
    }

    #[test]
    fn phones_ssns_dates() {
        assert!(has(
            "call +1 (555) 123-4567 now",
            "PHONE",
            "+1 (555) 123-4567"
        ));
        assert!(has("call (555) 123-4567", "PHONE", "(555) 123-4567"));
        assert!(has("ring +44 20 7946 0958.", "PHONE", "+44 20 7946 0958"));
        assert!(has("tél 01 23 45 67 89", "PHONE", "01 23 45 67 89"));
        assert!(has("E.164 +4915112345678", "PHONE", "+4915112345678"));
        assert!(has("Berlin +49 30 12345678.", "PHONE", "+49 30 12345678"));
        assert!(found("room 12-34").iter().all(|(k, _)| k != "PHONE"));
        assert!(has("ssn 123-45-6789.", "US_SSN", "123-45-6789"));
        assert!(found("ssn 666-45-6789").iter().all(|(k, _)| k != "US_SSN"));
        assert!(found("ssn 123-45 6789").iter().all(|(k, _)| k != "US_SSN"));
        assert!(has("on 2024-02-29 we", "DATE", "2024-02-29"));
        assert!(found("on 2023-02-29 we").iter().all(|(k, _)| k != "DATE"));
        assert!(has("born 03/14/1985", "DATE", "03/14/1985"));
        assert!(has("born 14.03.1985", "DATE", "14.03.1985"));
        assert!(has("on March 3, 2024 at", "DATE", "March 3, 2024"));
        assert!(has("on 3rd of March 2024", "DATE", "3rd of March 2024"));
    }

    #[test]
    fn offsets_are_chars() {
        let spans = recognize("Grüße 😀 a@b.io");
        assert_eq!((spans[0].start, spans[0].end), (8, 14));
        assert_eq!(spans[0].text, "a@b.io");
    }
}
