//! A look at the headers of the chunked containers (WAV, AIFF, CAF) before
//! symphonia probes them.
//!
//! symphonia 0.5 builds the track's time base from the header's sample rate
//! inside its probe, and panics on a rate of 0; a rate of 1 Hz passes its
//! probe and makes a few bytes into hours of audio. Those fields are plain
//! integers at known places, so they are read here and a bad value is
//! answered with what is wrong ([`AudioError::BadRate`],
//! [`AudioError::BadParameter`]) rather than the generic
//! [`AudioError::Malformed`] of a caught panic.
//!
//! CAF and MP4 are read further: symphonia's readers allocate what their
//! size fields
//! say (a CAF chunk, packet table or packet of `bytes_per_packet × 1152`;
//! an MP4 sample table of N entries) before reading, and an allocation
//! larger than the machine aborts the process, which no `catch_unwind`
//! stops (the fuzz target's long run found a 2.4 TB CAF packet and a 33 GB
//! MP4 `stsc` table in mutated files). So every such size must fit in the
//! upload. Anything this reader does not understand is left to
//! symphonia (which runs under `catch_unwind`).
//!
//! Matroska / WebM is walked too: symphonia reads an element's body, and a
//! laced block's frames, into buffers of their declared sizes.
//!
//! The checks start where symphonia's probe starts reading: at the first
//! of its formats' markers in the first MiB, after any ID3v2 tags — not at
//! byte 0, or a byte of junk in front of a hostile header would skip them.

use super::{AudioError, MAX_CHANNELS, check_rate};

/// Chunks looked at before giving up on finding the format chunk (a real
/// file has a handful before it).
const MAX_CHUNKS: usize = 64;

/// How far symphonia's probe searches for a container's marker.
const PROBE_SEARCH_LIMIT: usize = 1024 * 1024;

/// The markers symphonia's probe stops at, for the formats it is built
/// with here (the workspace's symphonia features): the container that
/// starts at the first of them in the upload is the one it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Riff,
    Form,
    Caff,
    /// `ftyp`, 4 bytes into an MP4 file's first box (the reader steps back
    /// to the box's start).
    Ftyp,
    /// An ID3v2 tag, read as metadata; the search goes on after it.
    Id3,
    /// Matroska / WebM (the EBML header element).
    Ebml,
    /// A container this module does not look into (FLAC, Ogg, an MP3 or
    /// ADTS frame sync).
    Other,
}

fn marker_at(window: &[u8]) -> Option<Marker> {
    Some(match window {
        [b'R', b'I', b'F', b'F', ..] => Marker::Riff,
        [b'F', b'O', b'R', b'M', ..] => Marker::Form,
        [b'c', b'a', b'f', b'f', ..] => Marker::Caff,
        [b'f', b't', b'y', b'p', ..] => Marker::Ftyp,
        [b'I', b'D', b'3', ..] => Marker::Id3,
        [0x1a, 0x45, 0xdf, 0xa3, ..] => Marker::Ebml,
        [b'f', b'L', b'a', b'C', ..] | [b'O', b'g', b'g', b'S', ..] => Marker::Other,
        // MPEG audio frame syncs (symphonia's MP3 reader) and ADTS (AAC).
        [0xff, 0xe2..=0xe7 | 0xf1..=0xf7 | 0xfa..=0xff, ..] => Marker::Other,
        _ => return None,
    })
}

/// Where in `bytes` symphonia's probe finds a container, and which: the
/// first marker in the first MiB, ID3v2 tags skipped as it reads them.
fn probe(bytes: &[u8]) -> Option<(usize, Marker)> {
    let mut at = 0usize;
    while at < bytes.len().min(PROBE_SEARCH_LIMIT) {
        match marker_at(&bytes[at..]) {
            Some(Marker::Id3) => {
                // 10-byte header: "ID3", version (2), flags, a 28-bit
                // syncsafe size; a footer of 10 more when flagged (v2.4).
                let header = bytes.get(at..at + 10)?;
                let size = header[6..10]
                    .iter()
                    .fold(0usize, |size, b| (size << 7) | usize::from(b & 0x7f));
                let footer = if header[3] == 4 && header[5] & 0x10 != 0 {
                    10
                } else {
                    0
                };
                at = at.checked_add(10 + size + footer)?;
            }
            Some(marker) => return Some((at, marker)),
            None => at += 1,
        }
    }
    None
}

/// Check the header fields of the container symphonia will read from
/// `bytes`: where its probe starts reading (a file may lead with junk or
/// ID3 tags), not only at byte 0.
pub(super) fn check(bytes: &[u8]) -> Result<(), AudioError> {
    let Some((at, marker)) = probe(bytes) else {
        return Ok(());
    };
    let container = &bytes[at..];
    match (marker, container.get(8..12)) {
        (Marker::Riff, Some(b"WAVE")) => check_wave(container),
        (Marker::Form, Some(b"AIFF" | b"AIFC")) => check_aiff(container),
        (Marker::Caff, _) => check_caf(container),
        (Marker::Ftyp, _) if at >= 4 => check_mp4(&bytes[at - 4..], 0),
        (Marker::Ebml, _) => check_ebml(container),
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

fn too_big(what: &'static str, value: u64) -> AudioError {
    AudioError::BadParameter {
        what,
        value,
        accepted: "sizes within the uploaded file",
    }
}

/// CAF: `caff`, version and flags (8 bytes), then chunks of a type (4), a
/// big-endian i64 size (-1 only for audio data running to the end) and the
/// body. `desc`: sample rate (f64), format id (4), flags (u32), bytes per
/// packet (u32), frames per packet (u32), channels (u32), bits (u32).
/// `pakt`: packets (i64), valid frames (i64), priming and remainder frames
/// (i32 each), then per packet a size and/or frame count as base-128
/// varints, when `desc` does not fix them.
fn check_caf(bytes: &[u8]) -> Result<(), AudioError> {
    let len = bytes.len() as u64;
    let mut at = 8usize;
    // (bytes per packet, frames per packet) once `desc` is read.
    let mut packet_shape: Option<(u32, u32)> = None;
    for _ in 0..MAX_CHUNKS {
        let (Some(id), Some(size)) = (bytes.get(at..at + 4), bytes.get(at + 4..at + 12)) else {
            return Ok(());
        };
        let mut raw = [0u8; 8];
        raw.copy_from_slice(size);
        let size = i64::from_be_bytes(raw);
        let start = at + 12;
        if size == -1 && id == b"data" {
            return Ok(());
        }
        let size = u64::try_from(size).map_err(|_| too_big("a chunk size of", u64::MAX))?;
        if size > len.saturating_sub(start as u64) && id != b"data" {
            return Err(too_big("a chunk size of", size));
        }
        let body = bytes.get(start..).unwrap_or_default();
        let body = &body[..body.len().min(usize::try_from(size).unwrap_or(usize::MAX))];
        match id {
            b"desc" => packet_shape = Some(check_caf_desc(body)?),
            b"pakt" => check_caf_packets(body, packet_shape, len)?,
            _ => {}
        }
        at = start.saturating_add(usize::try_from(size).unwrap_or(usize::MAX));
    }
    Ok(())
}

/// Most bytes one constant-size CAF packet may hold: a frame of 32
/// channels of 64-bit samples, or a compressed packet (IMA4's is 34 bytes
/// a channel).
const MAX_CAF_PACKET_BYTES: u32 = 64 * 1024;

/// Most entries of a CAF packet table.
const MAX_CAF_PACKETS: u64 = 4_000_000;

fn check_caf_desc(desc: &[u8]) -> Result<(u32, u32), AudioError> {
    let u32_at = |at: usize| {
        desc.get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    if let Some(b) = desc.get(0..8) {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(b);
        let rate = f64::from_be_bytes(raw);
        // NaN and negatives are 0, huge values saturate: both refused.
        check_rate(if rate.is_nan() { 0 } else { rate as u32 })?;
    }
    let bytes_per_packet = u32_at(16).unwrap_or(0);
    let frames_per_packet = u32_at(20).unwrap_or(0);
    if let Some(channels) = u32_at(24) {
        check_channels(u64::from(channels))?;
    }
    if bytes_per_packet > MAX_CAF_PACKET_BYTES {
        return Err(AudioError::BadParameter {
            what: "packets of",
            value: u64::from(bytes_per_packet),
            accepted: "up to 64 KiB per packet",
        });
    }
    Ok((bytes_per_packet, frames_per_packet))
}

/// The packet table: its count and every packet size must fit in the file.
fn check_caf_packets(
    pakt: &[u8],
    shape: Option<(u32, u32)>,
    file_len: u64,
) -> Result<(), AudioError> {
    let Some(count) = pakt.get(0..8) else {
        return Ok(());
    };
    let mut raw = [0u8; 8];
    raw.copy_from_slice(count);
    let count = i64::from_be_bytes(raw);
    let count = u64::try_from(count).map_err(|_| too_big("a packet count of", u64::MAX))?;
    // Each entry takes a byte at least, and symphonia reserves 32 bytes per
    // entry up front: 4 M entries is two hours of 384 kHz in 1152-frame
    // packets.
    if count > pakt.len() as u64 || count > MAX_CAF_PACKETS {
        return Err(too_big("a packet count of", count));
    }
    let Some((bytes_per_packet, frames_per_packet)) = shape else {
        return Ok(());
    };
    let mut table = pakt.get(24..).unwrap_or_default().iter();
    let mut varint = || -> Option<u64> {
        let mut value = 0u64;
        for _ in 0..10 {
            let byte = *table.next()?;
            value = (value << 7) | u64::from(byte & 0x7f);
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    };
    for _ in 0..count {
        if bytes_per_packet == 0 {
            match varint() {
                Some(size) if size > file_len => return Err(too_big("a packet of", size)),
                Some(_) => {}
                // Cut short: symphonia answers a read error.
                None => return Ok(()),
            }
        }
        if frames_per_packet == 0 && varint().is_none() {
            return Ok(());
        }
    }
    Ok(())
}

/// MP4 boxes that hold other boxes (and so tables further down).
const MP4_CONTAINERS: &[&[u8; 4]] = &[
    b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"moof", b"traf", b"mvex",
];
/// Deepest nesting walked (moov/trak/mdia/minf/stbl is 5).
const MAX_MP4_DEPTH: usize = 8;

/// MP4: boxes of a big-endian u32 size (1: a u64 follows the type; 0: to
/// the end) and a type. symphonia reserves a table's entries from its
/// count before reading them (a `stsc` of 2^32 entries is 48 GB), so each
/// table's count must fit in its box; box sizes must fit in their parent.
fn check_mp4(bytes: &[u8], depth: usize) -> Result<(), AudioError> {
    let mut at = 0usize;
    for _ in 0..MAX_CHUNKS * 16 {
        let (Some(size), Some(kind)) = (bytes.get(at..at + 4), bytes.get(at + 4..at + 8)) else {
            return Ok(());
        };
        let (header, size) = match u32::from_be_bytes([size[0], size[1], size[2], size[3]]) {
            0 => (8, (bytes.len() - at) as u64),
            1 => match bytes.get(at + 8..at + 16) {
                Some(b) => {
                    let mut raw = [0u8; 8];
                    raw.copy_from_slice(b);
                    (16, u64::from_be_bytes(raw))
                }
                None => return Ok(()),
            },
            n => (8, u64::from(n)),
        };
        if size > (bytes.len() - at) as u64 {
            // Only media data may run past the upload (a cut file: symphonia
            // reads what is there). Any other box symphonia may read whole
            // into memory, and a box inside another may not overrun it.
            return if depth == 0 && kind == b"mdat" {
                Ok(())
            } else {
                Err(too_big("a box size of", size))
            };
        }
        let end = at + size as usize;
        let body = bytes.get(at + header..end).unwrap_or_default();
        if MP4_CONTAINERS.iter().any(|c| c.as_slice() == kind) && depth < MAX_MP4_DEPTH {
            check_mp4(body, depth + 1)?;
        } else {
            check_mp4_table(kind, body)?;
        }
        if size < header as u64 {
            return Ok(());
        }
        at = end;
    }
    Ok(())
}

/// A full box's table: version and flags (4), then its entry count (u32),
/// entries of a size fixed by the box type.
fn check_mp4_table(kind: &[u8], body: &[u8]) -> Result<(), AudioError> {
    let u32_at = |at: usize| {
        body.get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let version = body.first().copied().unwrap_or(0);
    let flags = u32_at(0).unwrap_or(0) & 0x00ff_ffff;
    // (where the count is, bytes per entry)
    let (count_at, entry) = match kind {
        b"stts" | b"ctts" | b"co64" => (4, 8),
        b"stsc" => (4, 12),
        b"stco" | b"stss" => (4, 4),
        // A constant sample size (non-zero) has no table.
        b"stsz" if u32_at(4) == Some(0) => (8, 4),
        b"elst" => (4, if version == 1 { 20 } else { 12 }),
        // Per-sample fields present: duration, size, flags, composition
        // offset (4 bytes each).
        b"trun" => (4, (4 * (flags & 0xf00).count_ones() as usize).max(1)),
        _ => return Ok(()),
    };
    let Some(count) = u32_at(count_at) else {
        return Ok(());
    };
    if u64::from(count) * entry as u64 > body.len() as u64 {
        return Err(too_big("a table of", u64::from(count)));
    }
    Ok(())
}

/// `COMM`: channels (i16), frames (u32), bits (i16), sample rate (80-bit
/// IEEE extended); big-endian.
/// Matroska master elements (they hold other elements): walked into.
/// Every other element is a leaf whose body symphonia may read whole.
const EBML_MASTERS: &[u64] = &[
    0x1A45_DFA3, // EBML header
    0x1853_8067, // Segment
    0x114D_9B74, // SeekHead
    0x4DBB,      // Seek
    0x1549_A966, // Info
    0x1654_AE6B, // Tracks
    0xAE,        // TrackEntry
    0xE0,        // Video
    0xE1,        // Audio
    0x6D80,      // ContentEncodings
    0x6240,      // ContentEncoding
    0x5035,      // ContentEncryption
    0x1F43_B675, // Cluster
    0xA0,        // BlockGroup
    0x75A1,      // BlockAdditions
    0xA6,        // BlockMore
    0x8E,        // Slices
    0xE8,        // TimeSlice
    0x1C53_BB6B, // Cues
    0xBB,        // CuePoint
    0xB7,        // CueTrackPositions
    0x1043_A770, // Chapters
    0x45B9,      // EditionEntry
    0xB6,        // ChapterAtom
    0x80,        // ChapterDisplay
    0x1254_C367, // Tags
    0x7373,      // Tag
    0x63C0,      // Targets
    0x67C8,      // SimpleTag
    0x1941_A469, // Attachments
    0x61A7,      // AttachedFile
];
/// Matroska blocks: their frames are read by the sizes their lacing says.
const EBML_BLOCKS: &[u64] = &[0xA3 /* SimpleBlock */, 0xA1 /* Block */];
/// How far the last element of a cut file may run past the upload (a
/// bounded allocation for a file whose last block was cut short).
const MAX_EBML_OVERRUN: u64 = 8 << 20;
/// Elements walked at most (a two-hour WebM has a few hundred thousand).
const MAX_EBML_ELEMENTS: usize = 1 << 22;

/// An EBML variable-size integer at the start of `bytes`: (value, width).
/// `id`: keep the width marker (element ids are written with it). A size
/// of all ones is "unknown" (`u64::MAX`), as symphonia reads `0xFF`.
fn ebml_vint(bytes: &[u8], id: bool) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    if first == 0 {
        return None;
    }
    let width = first.leading_zeros() as usize + 1;
    let rest = bytes.get(1..width)?;
    let mut value = if id {
        u64::from(first)
    } else {
        u64::from(first) & (0xFF >> width)
    };
    for b in rest {
        value = (value << 8) | u64::from(*b);
    }
    if !id && value == (1u64 << (7 * width)) - 1 {
        return Some((u64::MAX, width));
    }
    Some((value, width))
}

/// Matroska / WebM: symphonia reads a leaf element's body into a buffer of
/// its declared size, and a laced block's frames into buffers of the sizes
/// its lacing declares, before reading them — a size field of 2^50 is an
/// allocation no machine has, which aborts the process. So every leaf must
/// fit in the upload (the last one of a cut file may run past it by a
/// bounded amount) and every frame in its block. Masters are walked into
/// in place: their children follow them like siblings, which also suits
/// masters of unknown size (a live recording's segment and clusters).
fn check_ebml(bytes: &[u8]) -> Result<(), AudioError> {
    let mut at = 0usize;
    for _ in 0..MAX_EBML_ELEMENTS {
        let Some((id, id_width)) = bytes.get(at..).and_then(|b| ebml_vint(b, true)) else {
            return Ok(());
        };
        let Some((size, size_width)) = bytes.get(at + id_width..).and_then(|b| ebml_vint(b, false))
        else {
            return Ok(());
        };
        let start = at + id_width + size_width;
        if EBML_MASTERS.contains(&id) {
            at = start;
            continue;
        }
        let left = bytes.len().saturating_sub(start) as u64;
        if size > left.saturating_add(MAX_EBML_OVERRUN) {
            return Err(too_big("an element size of", size));
        }
        let end = start.saturating_add(usize::try_from(size.min(left)).unwrap_or(usize::MAX));
        if EBML_BLOCKS.contains(&id) {
            check_ebml_lacing(bytes.get(start..end).unwrap_or_default())?;
        }
        if end >= bytes.len() {
            return Ok(());
        }
        at = end;
    }
    Ok(())
}

/// A block's frame sizes, read as symphonia reads them (track number,
/// 16-bit time, flags; with Xiph or EBML lacing a frame count and the
/// sizes of all frames but the last), must each fit in the block.
fn check_ebml_lacing(block: &[u8]) -> Result<(), AudioError> {
    let Some((_, track_width)) = ebml_vint(block, false) else {
        return Ok(());
    };
    let Some(&flags) = block.get(track_width + 2) else {
        return Ok(());
    };
    let Some(&stored) = block.get(track_width + 3) else {
        return Ok(());
    };
    let mut at = track_width + 4;
    let limit = block.len() as u64;
    let check = |size: u64| {
        if size > limit {
            Err(too_big("a laced frame size of", size))
        } else {
            Ok(())
        }
    };
    match (flags >> 1) & 0b11 {
        // Xiph: each size a run of 255s and a last byte.
        0b01 => {
            for _ in 0..stored {
                let mut size = 0u64;
                loop {
                    let Some(&byte) = block.get(at) else {
                        return Ok(());
                    };
                    at += 1;
                    size += u64::from(byte);
                    if byte != 255 {
                        break;
                    }
                }
                check(size)?;
            }
        }
        // EBML: the first size, then signed differences.
        0b11 => {
            let mut last: Option<u64> = None;
            for _ in 0..stored {
                let Some((value, width)) = block.get(at..).and_then(|b| ebml_vint(b, false)) else {
                    return Ok(());
                };
                at += width;
                let size = match last {
                    None => value,
                    Some(last) => {
                        // As symphonia computes it (a range-shifted vint).
                        let half = (1i64 << (7 * width - 1)) - 1;
                        (last as i64).wrapping_add((value as i64).wrapping_sub(half)) as u64
                    }
                };
                check(size)?;
                last = Some(size);
            }
        }
        _ => {}
    }
    Ok(())
}

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

    /// A CAF of `chunks` (type, body) after the file header.
    fn caf(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let mut out = b"caff\0\x01\0\0".to_vec();
        for (id, body) in chunks {
            out.extend(*id);
            out.extend((body.len() as i64).to_be_bytes());
            out.extend(body);
        }
        out
    }

    fn desc(rate: f64, bytes_per_packet: u32, frames_per_packet: u32, channels: u32) -> Vec<u8> {
        let mut d = rate.to_be_bytes().to_vec();
        d.extend(b"alac");
        d.extend(0u32.to_be_bytes());
        d.extend(bytes_per_packet.to_be_bytes());
        d.extend(frames_per_packet.to_be_bytes());
        d.extend(channels.to_be_bytes());
        d.extend(16u32.to_be_bytes());
        d
    }

    fn pakt(count: i64, sizes: &[u8]) -> Vec<u8> {
        let mut p = count.to_be_bytes().to_vec();
        p.extend([0u8; 16]);
        p.extend(sizes);
        p
    }

    #[test]
    fn caf_sizes_must_fit_in_the_upload() {
        let good = desc(44_100.0, 0, 4096, 2);
        // Two packets of 16 and 5 bytes; then one of 0x81 0x00 = 128 bytes,
        // more than this whole file.
        check(&caf(&[
            (b"desc", good.clone()),
            (b"pakt", pakt(2, &[16, 5])),
        ]))
        .unwrap();
        check(&caf(&[
            (b"desc", good.clone()),
            (b"pakt", pakt(1, &[0x81, 0])),
        ]))
        .unwrap_err();
        let refused = |chunks: &[(&[u8; 4], Vec<u8>)]| check(&caf(chunks)).unwrap_err();
        // The fuzz target's find: 2.4 TB packets of PCM.
        assert!(matches!(
            refused(&[(b"desc", desc(8_000.0, 0x8000_0000, 1, 1))]),
            AudioError::BadParameter { .. }
        ));
        // A packet table of 2^40 entries, a packet of 2^60 bytes.
        assert!(matches!(
            refused(&[(b"desc", good.clone()), (b"pakt", pakt(1 << 40, &[]))]),
            AudioError::BadParameter { value, .. } if value == 1 << 40
        ));
        let huge = [0x90, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
        assert!(matches!(
            refused(&[(b"desc", good.clone()), (b"pakt", pakt(1, &huge))]),
            AudioError::BadParameter { .. }
        ));
        // A chunk claiming more than the file (a magic cookie of 1 TB).
        let mut lying = caf(&[(b"desc", good.clone())]);
        lying.extend(b"kuki");
        lying.extend((1i64 << 40).to_be_bytes());
        assert!(check(&lying).is_err());
        // Rates and channels as for WAV.
        assert!(matches!(
            refused(&[(b"desc", desc(0.0, 0, 4096, 2))]),
            AudioError::BadRate(0)
        ));
        assert!(matches!(
            refused(&[(b"desc", desc(f64::NAN, 0, 4096, 2))]),
            AudioError::BadRate(0)
        ));
        assert!(matches!(
            refused(&[(b"desc", desc(16_000.0, 0, 4096, 0))]),
            AudioError::BadParameter { value: 0, .. }
        ));
        // Audio data of unknown length (-1) is how a stream is written.
        let mut stream = caf(&[(b"desc", good)]);
        stream.extend(b"data");
        stream.extend((-1i64).to_be_bytes());
        stream.extend([0u8; 16]);
        check(&stream).unwrap();
    }

    /// symphonia's probe reads the container at the first marker in the
    /// first MiB, after junk or ID3v2 tags: so are the checks.
    #[test]
    fn headers_are_checked_where_the_probe_finds_them() {
        let mut wave = b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0".to_vec();
        wave.extend_from_slice(&0u32.to_le_bytes()); // sample rate 0
        wave.extend_from_slice(&[0; 8]);
        assert!(check(&wave).is_err());
        let mut junk = b"not audio at all".to_vec();
        junk.extend_from_slice(&wave);
        assert!(check(&junk).is_err(), "after junk");
        let mut tagged = b"ID3\x04\0\0\0\0\0\x05hello".to_vec();
        tagged.extend_from_slice(&wave);
        assert!(check(&tagged).is_err(), "after an ID3v2 tag");
        // An MP3 frame sync before it: symphonia reads MP3, not the WAV.
        let mut mp3 = vec![0xff, 0xfb, 0x90, 0x00];
        mp3.extend_from_slice(&wave);
        assert!(check(&mp3).is_ok());
        // Past the probe's reach: symphonia never sees it.
        let mut far = vec![b'x'; PROBE_SEARCH_LIMIT];
        far.extend_from_slice(&wave);
        assert!(check(&far).is_ok());
    }

    fn ebml(id: &[u8], body: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        // An 8-byte size: 0x01 then 7 bytes.
        out.push(0x01);
        out.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
        out.extend_from_slice(body);
        out
    }

    /// Matroska: a leaf or a laced frame may not claim more than the
    /// upload (symphonia allocates it before reading); masters of unknown
    /// size (a live recording) are fine.
    #[test]
    fn matroska_sizes_must_fit_in_the_upload() {
        let header = ebml(&[0x1A, 0x45, 0xDF, 0xA3], &ebml(&[0x42, 0x82], b"webm"));
        // Segment and cluster of unknown size, one small SimpleBlock.
        let mut good = header.clone();
        good.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0xFF]);
        good.extend_from_slice(&[0x1F, 0x43, 0xB6, 0x75, 0xFF]);
        good.extend(ebml(&[0xA3], &[0x81, 0, 0, 0x80, 1, 2, 3, 4]));
        check(&good).unwrap();

        // A CodecPrivate (binary leaf) claiming 2^50 bytes.
        let mut huge = header.clone();
        huge.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0xFF, 0x63, 0xA2, 0x01]);
        huge.extend_from_slice(&(1u64 << 50).to_be_bytes()[1..]);
        huge.extend_from_slice(&[0; 32]);
        assert!(check(&huge).is_err());

        // EBML lacing: two frames, the first claiming 2^40 bytes.
        let mut laced = header.clone();
        laced.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0xFF]);
        let mut block = vec![0x81, 0, 0, 0x86, 1, 0x01];
        block.extend_from_slice(&(1u64 << 40).to_be_bytes()[1..]);
        block.extend_from_slice(&[0; 16]);
        laced.extend(ebml(&[0xA3], &block));
        assert!(check(&laced).is_err());

        // Xiph lacing within the block is fine.
        let mut xiph = header;
        xiph.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0xFF]);
        xiph.extend(ebml(&[0xA3], &[0x81, 0, 0, 0x82, 1, 3, 1, 2, 3, 4, 5]));
        check(&xiph).unwrap();
    }

    /// A top-level MP4 box other than `mdat` may not claim more than the
    /// upload holds: symphonia reads such boxes whole.
    #[test]
    fn only_media_data_may_run_past_the_upload() {
        let mut file = b"\0\0\0\x10ftypM4A \0\0\0\0".to_vec();
        let mut moov = file.clone();
        moov.extend_from_slice(&0x4000_0000u32.to_be_bytes());
        moov.extend_from_slice(b"moov");
        assert!(check(&moov).is_err());
        file.extend_from_slice(&0x4000_0000u32.to_be_bytes());
        file.extend_from_slice(b"mdat");
        assert!(check(&file).is_ok());
    }

    #[test]
    fn mp4_tables_must_fit_in_their_box() {
        let seed = include_bytes!("../../tests/data/audio-seeds/seed.m4a").to_vec();
        check(&seed).unwrap();
        // The fuzz target's find: an `stsc` whose count says 2^31 entries.
        let stsc = seed.windows(4).position(|w| w == b"stsc").unwrap();
        let mut bad = seed.clone();
        bad[stsc + 8..stsc + 12].copy_from_slice(&0x8000_0000u32.to_be_bytes());
        assert!(matches!(
            check(&bad).unwrap_err(),
            AudioError::BadParameter {
                value: 0x8000_0000,
                ..
            }
        ));
        // A box that overruns its parent.
        let trak = seed.windows(4).position(|w| w == b"trak").unwrap();
        let mut bad = seed;
        bad[trak - 4..trak].copy_from_slice(&0x7fff_0000u32.to_be_bytes());
        assert!(check(&bad).is_err());
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
