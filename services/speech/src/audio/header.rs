//! A look at the headers of the uncompressed containers (WAV, AIFF) before
//! symphonia probes them.
//!
//! symphonia 0.5 builds the track's time base from the header's sample rate
//! inside its probe, and panics on a rate of 0; a rate of 1 Hz passes its
//! probe and makes a few bytes into hours of audio. Those fields are plain
//! integers at known places, so they are read here and a bad value is
//! answered with what is wrong ([`AudioError::BadRate`],
//! [`AudioError::BadParameter`]) rather than the generic
//! [`AudioError::Malformed`] of a caught panic. Anything this reader does
//! not understand is left to symphonia (which runs under `catch_unwind`).

use super::{AudioError, MAX_CHANNELS, check_rate};

/// Chunks looked at before giving up on finding the format chunk (a real
/// file has a handful before it).
const MAX_CHUNKS: usize = 64;

/// Check the format fields of a RIFF/WAVE or AIFF header, if `bytes` is one.
pub(super) fn check(bytes: &[u8]) -> Result<(), AudioError> {
    match (bytes.get(0..4), bytes.get(8..12)) {
        (Some(b"RIFF" | b"RF64"), Some(b"WAVE")) => check_wave(bytes),
        (Some(b"FORM"), Some(b"AIFF" | b"AIFC")) => check_aiff(bytes),
        _ => Ok(()),
    }
}

/// The chunks after the 12-byte file header: `(id, body)`, the body cut to
/// what is there. `little_endian` sizes for RIFF, big-endian for AIFF.
fn chunks(bytes: &[u8], little_endian: bool) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut at = 12usize;
    std::iter::from_fn(move || {
        let id = bytes.get(at..at + 4)?;
        let size: [u8; 4] = bytes.get(at + 4..at + 8)?.try_into().ok()?;
        let size = if little_endian {
            u32::from_le_bytes(size)
        } else {
            u32::from_be_bytes(size)
        } as usize;
        let start = at + 8;
        let body = bytes.get(start..start.saturating_add(size).min(bytes.len()))?;
        // Chunks are padded to an even size.
        at = start.saturating_add(size).saturating_add(size & 1);
        Some((id, body))
    })
    .take(MAX_CHUNKS)
}

fn check_channels(channels: u64) -> Result<(), AudioError> {
    if (1..=MAX_CHANNELS as u64).contains(&channels) {
        Ok(())
    } else {
        Err(AudioError::BadParameter {
            what: "a channel count of",
            value: channels,
            accepted: "1 to 32",
        })
    }
}

/// `fmt `: format tag (u16), channels (u16), sample rate (u32), bytes per
/// second (u32), block align (u16), bits per sample (u16); little-endian.
fn check_wave(bytes: &[u8]) -> Result<(), AudioError> {
    let Some((_, fmt)) = chunks(bytes, true).find(|(id, _)| *id == b"fmt ") else {
        return Ok(());
    };
    let u16_at = |at: usize| {
        fmt.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        fmt.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if let Some(channels) = u16_at(2) {
        check_channels(u64::from(channels))?;
    }
    if let Some(rate) = u32_at(4) {
        check_rate(rate)?;
    }
    // Every packet is a whole number of blocks: a block of 0 bytes is a
    // division by zero in the reader.
    if u16_at(12) == Some(0) {
        return Err(AudioError::BadParameter {
            what: "a block size (block align) of",
            value: 0,
            accepted: "1 byte or more",
        });
    }
    Ok(())
}

/// `COMM`: channels (i16), frames (u32), bits (i16), sample rate (80-bit
/// IEEE extended); big-endian.
fn check_aiff(bytes: &[u8]) -> Result<(), AudioError> {
    let Some((_, comm)) = chunks(bytes, false).find(|(id, _)| *id == b"COMM") else {
        return Ok(());
    };
    if let Some(b) = comm.get(0..2) {
        let channels = i16::from_be_bytes([b[0], b[1]]);
        check_channels(u64::try_from(channels).unwrap_or(0))?;
    }
    if let Some(b) = comm.get(8..18) {
        check_rate(extended_to_u32(b))?;
    }
    Ok(())
}

/// An 80-bit IEEE extended float (sign, 15-bit exponent, 64-bit mantissa
/// with an explicit integer bit), as a whole number of Hz: negative,
/// fractional-below-one and non-finite values are 0, huge ones saturate.
fn extended_to_u32(b: &[u8]) -> u32 {
    let sign_exponent = u16::from_be_bytes([b[0], b[1]]);
    let mut mantissa = [0u8; 8];
    mantissa.copy_from_slice(&b[2..10]);
    let mantissa = u64::from_be_bytes(mantissa);
    if sign_exponent & 0x8000 != 0 || mantissa == 0 {
        return 0;
    }
    let exponent = i32::from(sign_exponent & 0x7fff) - 16_383;
    match exponent {
        ..0 => 0,
        0..=31 => u32::try_from(mantissa >> (63 - exponent)).unwrap_or(u32::MAX),
        _ => u32::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extended(value: u32) -> [u8; 10] {
        let mut out = [0u8; 10];
        if value == 0 {
            return out;
        }
        let shift = value.leading_zeros();
        let exponent = 16_383 + 31 - shift as u16;
        out[0..2].copy_from_slice(&exponent.to_be_bytes());
        out[2..10].copy_from_slice(&((u64::from(value) << shift) << 32).to_be_bytes());
        out
    }

    #[test]
    fn extended_rates_read_as_aiff_writes_them() {
        for rate in [0, 1, 8_000, 44_100, 48_000, 384_000, u32::MAX] {
            assert_eq!(extended_to_u32(&extended(rate)), rate);
        }
        // 0.5 Hz, negative, infinite.
        assert_eq!(extended_to_u32(&[0x3f, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0]), 0);
        assert_eq!(extended_to_u32(&[0xc0, 0x0e, 0x80, 0, 0, 0, 0, 0, 0, 0]), 0);
        assert_eq!(
            extended_to_u32(&[0x7f, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            u32::MAX
        );
    }

    #[test]
    fn wave_format_fields_are_checked() {
        let mut wav = b"RIFF\0\0\0\0WAVE".to_vec();
        wav.extend(b"LIST\x03\0\0\0abc\0");
        wav.extend(b"fmt \x10\0\0\0");
        let fmt_at = wav.len();
        wav.extend([1, 0, 1, 0]);
        wav.extend(16_000u32.to_le_bytes());
        wav.extend(32_000u32.to_le_bytes());
        wav.extend([2, 0, 16, 0]);
        check(&wav).unwrap();
        let with = |at: usize, value: &[u8]| {
            let mut bad = wav.clone();
            bad[fmt_at + at..fmt_at + at + value.len()].copy_from_slice(value);
            check(&bad).unwrap_err()
        };
        assert!(matches!(with(4, &[0; 4]), AudioError::BadRate(0)));
        assert!(matches!(
            with(4, &1u32.to_le_bytes()),
            AudioError::BadRate(1)
        ));
        assert!(matches!(
            with(2, &[0, 0]),
            AudioError::BadParameter { value: 0, .. }
        ));
        assert!(matches!(
            with(12, &[0, 0]),
            AudioError::BadParameter { value: 0, .. }
        ));
        // Cut inside the format chunk, or not a WAV: left to symphonia.
        check(&wav[..fmt_at + 3]).unwrap();
        check(b"RIFF").unwrap();
    }
}
