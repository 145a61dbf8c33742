//! fastText's two matrix kinds as stored on disk, and the only two operations
//! prediction needs from them: add a row into a vector, and dot a row with one.
//!
//! A quantized matrix (`.ftz`) stores each row as `nsubq` one-byte codes into a
//! product quantizer: row slice `m` is centroid `code[m]` of sub-quantizer `m`
//! (256 centroids each, `dsub` wide, the last one `lastdsub` wide). With
//! `qnorm`, rows were normalised before quantizing and their norms are
//! quantized separately (a one-dimensional quantizer); the row is
//! `norm × centroids`.
//!
//! Every shape is validated when read, so the row operations index safely for
//! any row below [`Matrix::rows`].

use super::reader::{ByteReader, corrupt};
use crate::Result;

/// Centroids per sub-quantizer: fastText always quantizes with 8 bits.
const KSUB: usize = 256;

#[derive(Debug)]
pub(crate) enum Matrix {
    Dense(DenseMatrix),
    Quant(QuantMatrix),
}

#[derive(Debug)]
pub(crate) struct DenseMatrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

#[derive(Debug)]
pub(crate) struct QuantMatrix {
    rows: usize,
    cols: usize,
    codes: Vec<u8>,
    pq: ProductQuantizer,
    /// The norm of each row, quantized: `(codes, quantizer)`.
    norms: Option<(Vec<u8>, ProductQuantizer)>,
}

#[derive(Debug)]
pub(crate) struct ProductQuantizer {
    dim: usize,
    nsubq: usize,
    dsub: usize,
    lastdsub: usize,
    centroids: Vec<f32>,
}

fn dims(rows: i64, cols: i64, what: &str) -> Result<(usize, usize)> {
    let rows = usize::try_from(rows).map_err(|_| corrupt(format!("{what} has {rows} rows")))?;
    let cols = usize::try_from(cols).map_err(|_| corrupt(format!("{what} has {cols} columns")))?;
    Ok((rows, cols))
}

impl Matrix {
    pub(crate) fn read_dense(r: &mut ByteReader<'_>, what: &str) -> Result<Self> {
        let (rows, cols) = dims(r.i64(what)?, r.i64(what)?, what)?;
        let len = rows
            .checked_mul(cols)
            .ok_or_else(|| corrupt(format!("{what}: {rows}×{cols} overflows")))?;
        let data = r.f32_vec(len, what)?;
        Ok(Self::Dense(DenseMatrix { rows, cols, data }))
    }

    pub(crate) fn read_quant(r: &mut ByteReader<'_>, what: &str) -> Result<Self> {
        let qnorm = r.bool(what)?;
        let (rows, cols) = dims(r.i64(what)?, r.i64(what)?, what)?;
        let codesize = r.i32(what)?;
        let codesize = r.check_count(i64::from(codesize), 1, what)?;
        let codes = r.take(codesize, what)?.to_vec();
        let pq = ProductQuantizer::read(r, what)?;
        if pq.dim != cols {
            return Err(corrupt(format!(
                "{what}: quantizer is {} wide but rows have {cols} columns",
                pq.dim
            )));
        }
        if rows.checked_mul(pq.nsubq) != Some(codesize) {
            return Err(corrupt(format!(
                "{what}: {codesize} codes for {rows} rows of {} sub-quantizers",
                pq.nsubq
            )));
        }
        let norms = if qnorm {
            let norm_codes = r.take(rows, what)?.to_vec();
            let npq = ProductQuantizer::read(r, what)?;
            Some((norm_codes, npq))
        } else {
            None
        };
        Ok(Self::Quant(QuantMatrix {
            rows,
            cols,
            codes,
            pq,
            norms,
        }))
    }

    pub(crate) fn rows(&self) -> usize {
        match self {
            Self::Dense(m) => m.rows,
            Self::Quant(m) => m.rows,
        }
    }

    pub(crate) fn cols(&self) -> usize {
        match self {
            Self::Dense(m) => m.cols,
            Self::Quant(m) => m.cols,
        }
    }

    /// `x += row i`. `i < rows()` and `x.len() == cols()`.
    pub(crate) fn add_row_to(&self, x: &mut [f32], i: usize) {
        match self {
            Self::Dense(m) => {
                let row = &m.data[i * m.cols..(i + 1) * m.cols];
                for (xv, rv) in x.iter_mut().zip(row) {
                    *xv += rv;
                }
            }
            Self::Quant(m) => m.pq.add_code(x, &m.codes, i, m.norm(i)),
        }
    }

    /// `row i · x`. `i < rows()` and `x.len() == cols()`.
    pub(crate) fn dot_row(&self, x: &[f32], i: usize) -> f32 {
        match self {
            Self::Dense(m) => {
                let row = &m.data[i * m.cols..(i + 1) * m.cols];
                let mut d = 0.0f32;
                for (rv, xv) in row.iter().zip(x) {
                    d += rv * xv;
                }
                d
            }
            Self::Quant(m) => m.pq.mul_code(x, &m.codes, i, m.norm(i)),
        }
    }
}

impl QuantMatrix {
    fn norm(&self, i: usize) -> f32 {
        match &self.norms {
            Some((codes, npq)) => npq.centroid(0, codes[i])[0],
            None => 1.0,
        }
    }
}

impl ProductQuantizer {
    fn read(r: &mut ByteReader<'_>, what: &str) -> Result<Self> {
        let field = |v: i32, name: &str| {
            usize::try_from(v)
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| corrupt(format!("{what}: quantizer {name} is {v}")))
        };
        let dim = field(r.i32(what)?, "dim")?;
        let nsubq = field(r.i32(what)?, "nsubq")?;
        let dsub = field(r.i32(what)?, "dsub")?;
        let lastdsub = field(r.i32(what)?, "lastdsub")?;
        // fastText splits `dim` into `nsubq - 1` slices of `dsub` and a last one
        // of `lastdsub`; anything else would index outside the centroids.
        let covered = (nsubq - 1)
            .checked_mul(dsub)
            .and_then(|v| v.checked_add(lastdsub));
        if covered != Some(dim) || lastdsub > dsub {
            return Err(corrupt(format!(
                "{what}: quantizer slices ({nsubq} × {dsub}, last {lastdsub}) do not make {dim}"
            )));
        }
        let count = r.check_count(dim as i64, KSUB * 4, what)? * KSUB;
        let centroids = r.f32_vec(count, what)?;
        Ok(Self {
            dim,
            nsubq,
            dsub,
            lastdsub,
            centroids,
        })
    }

    /// fastText's `get_centroids(m, i)`: centroid `i` of sub-quantizer `m`.
    fn centroid(&self, m: usize, i: u8) -> &[f32] {
        let i = usize::from(i);
        if m == self.nsubq - 1 {
            let start = m * KSUB * self.dsub + i * self.lastdsub;
            &self.centroids[start..start + self.lastdsub]
        } else {
            let start = (m * KSUB + i) * self.dsub;
            &self.centroids[start..start + self.dsub]
        }
    }

    /// fastText's `addcode`: `x += alpha × decoded row t`.
    fn add_code(&self, x: &mut [f32], codes: &[u8], t: usize, alpha: f32) {
        let code = &codes[t * self.nsubq..(t + 1) * self.nsubq];
        for (m, &c) in code.iter().enumerate() {
            let start = m * self.dsub;
            for (xv, cv) in x[start..].iter_mut().zip(self.centroid(m, c)) {
                *xv += alpha * cv;
            }
        }
    }

    /// fastText's `mulcode`: `alpha × (decoded row t · x)`, summed in the
    /// same order so the result matches to the last bit.
    fn mul_code(&self, x: &[f32], codes: &[u8], t: usize, alpha: f32) -> f32 {
        let code = &codes[t * self.nsubq..(t + 1) * self.nsubq];
        let mut res = 0.0f32;
        for (m, &c) in code.iter().enumerate() {
            let start = m * self.dsub;
            for (xv, cv) in x[start..].iter().zip(self.centroid(m, c)) {
                res += xv * cv;
            }
        }
        res * alpha
    }
}
