//! A bounds-checked little-endian cursor over the bytes of a fastText model.
//!
//! fastText writes its structs with raw `ostream::write` calls on x86, so every
//! field is little-endian and unpadded. Every read here checks that the bytes
//! exist, and every length read from the file is checked against the bytes
//! that remain *before* anything is allocated for it: a corrupt count can make
//! a read fail, never make us reserve gigabytes.

use crate::{ModelError, Result};

/// What the errors of this reader call the file.
pub(crate) const WHAT: &str = "fastText model";

/// A format error about the fastText file.
pub(crate) fn corrupt(detail: impl Into<String>) -> ModelError {
    ModelError::format(WHAT, detail)
}

pub(crate) struct ByteReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> ByteReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// The next `n` bytes, or a format error naming the field being read.
    pub(crate) fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8]> {
        let rest = self.remaining();
        if n > rest {
            return Err(corrupt(format!(
                "truncated while reading {field} at byte {}: {n} bytes needed, {rest} left",
                self.pos
            )));
        }
        let bytes = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N]> {
        let bytes = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &str) -> Result<u8> {
        Ok(self.array::<1>(field)?[0])
    }

    /// A C++ `bool` written raw: one byte, 0 or 1.
    pub(crate) fn bool(&mut self, field: &str) -> Result<bool> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(corrupt(format!("{field} is a bool but holds {other}"))),
        }
    }

    pub(crate) fn i32(&mut self, field: &str) -> Result<i32> {
        Ok(i32::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn i64(&mut self, field: &str) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn f64(&mut self, field: &str) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array(field)?))
    }

    /// A count that must be non-negative and describe at most what is left of
    /// the file, given that each element takes at least `min_bytes_each`.
    pub(crate) fn check_count(
        &self,
        count: i64,
        min_bytes_each: usize,
        field: &str,
    ) -> Result<usize> {
        let n = usize::try_from(count)
            .map_err(|_| corrupt(format!("{field} is negative ({count})")))?;
        let need = n.checked_mul(min_bytes_each);
        match need {
            Some(need) if need <= self.remaining() => Ok(n),
            _ => Err(corrupt(format!(
                "{field} is {count}, more than the {} bytes left at byte {} can hold (truncated or corrupt)",
                self.remaining(),
                self.pos
            ))),
        }
    }

    /// `count` little-endian f32s; `count` was read from the file, so it is
    /// checked against the remaining bytes before the vector is allocated.
    pub(crate) fn f32_vec(&mut self, count: usize, field: &str) -> Result<Vec<f32>> {
        let len = count
            .checked_mul(4)
            .ok_or_else(|| corrupt(format!("{field}: {count} floats overflow")))?;
        let bytes = self.take(len, field)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Bytes up to (not including) the next NUL, which is consumed: how the
    /// dictionary stores its words.
    pub(crate) fn c_string(&mut self, field: &str) -> Result<&'a [u8]> {
        let rest = &self.data[self.pos..];
        let Some(len) = rest.iter().position(|&b| b == 0) else {
            return Err(corrupt(format!(
                "truncated while reading {field} at byte {}: no terminating NUL",
                self.pos
            )));
        };
        let s = &rest[..len];
        self.pos += len + 1;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_and_refuses_past_the_end() {
        let bytes = [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, b'a', 0, 7];
        let mut r = ByteReader::new(&bytes);
        assert_eq!(r.i32("a").unwrap(), 1);
        assert_eq!(r.i32("b").unwrap(), -1);
        assert_eq!(r.c_string("c").unwrap(), b"a");
        assert!(r.i32("d").is_err());
        assert_eq!(r.u8("e").unwrap(), 7);
        assert!(r.c_string("f").is_err());
    }

    #[test]
    fn counts_are_bounded_by_what_is_left() {
        let bytes = [0u8; 16];
        let r = ByteReader::new(&bytes);
        assert_eq!(r.check_count(4, 4, "n").unwrap(), 4);
        assert!(r.check_count(5, 4, "n").is_err());
        assert!(r.check_count(-1, 4, "n").is_err());
        assert!(r.check_count(i64::MAX, 8, "n").is_err());
    }
}
