//! fastText supervised models (language identification with `lid.176.ftz`),
//! read and run in Rust from the file format, with no fastText library.
//!
//! ## Layout
//! - this file — the model file as a whole (header, `Args`, the parts in
//!   order), prediction, and [`LanguageIdentifier`], the loader the language
//!   service uses.
//! - `reader` — the bounds-checked byte cursor every part reads through.
//! - `dictionary` — words, labels, pruned buckets; text → input rows
//!   (fastText's hashing and n-grams).
//! - `matrix` — dense and product-quantized matrices.
//! - `loss` — softmax, sigmoid and hierarchical softmax (Huffman tree)
//!   prediction.
//!
//! The file is read whole into memory and parsed from the slice, so every
//! length in it is checked against the bytes really there before anything is
//! allocated for it; a truncated or corrupt file is a
//! [`ModelError::Format`](crate::ModelError::Format), never a panic.

mod dictionary;
mod loss;
mod matrix;
mod reader;

use std::io::Read;
use std::path::Path;

use dictionary::{Dictionary, LABEL_PREFIX, NgramSettings};
use loss::Loss;
use matrix::Matrix;
use reader::{ByteReader, corrupt};

use crate::{ModelError, Result};

/// The files a language-identification model folder must hold.
pub const REQUIRED_FILES: &[&str] = &["model.ftz"];

/// `FASTTEXT_FILEFORMAT_MAGIC_INT32`.
const MAGIC: i32 = 793_712_314;
/// The newest format version fastText writes (and the one `lid.176` uses).
const VERSION: i32 = 12;

/// The loss a model was trained with (fastText's `loss_name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    HierarchicalSoftmax,
    NegativeSampling,
    Softmax,
    OneVsAll,
}

/// What a model was trained for (fastText's `model_name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    Cbow,
    SkipGram,
    Supervised,
}

/// The training arguments stored in the model, in file order. Prediction uses
/// `dim`, `word_ngrams`, `loss`, `model`, `bucket`, `minn` and `maxn`.
#[derive(Debug, Clone)]
pub struct Args {
    pub dim: i32,
    pub ws: i32,
    pub epoch: i32,
    pub min_count: i32,
    pub neg: i32,
    pub word_ngrams: i32,
    pub loss: LossKind,
    pub model: ModelKind,
    pub bucket: i32,
    pub minn: i32,
    pub maxn: i32,
    pub lr_update_rate: i32,
    pub t: f64,
}

impl Args {
    fn read(r: &mut ByteReader<'_>) -> Result<Self> {
        let dim = r.i32("args.dim")?;
        let ws = r.i32("args.ws")?;
        let epoch = r.i32("args.epoch")?;
        let min_count = r.i32("args.minCount")?;
        let neg = r.i32("args.neg")?;
        let word_ngrams = r.i32("args.wordNgrams")?;
        let loss = match r.i32("args.loss")? {
            1 => LossKind::HierarchicalSoftmax,
            2 => LossKind::NegativeSampling,
            3 => LossKind::Softmax,
            4 => LossKind::OneVsAll,
            other => return Err(corrupt(format!("unknown loss {other}"))),
        };
        let model = match r.i32("args.model")? {
            1 => ModelKind::Cbow,
            2 => ModelKind::SkipGram,
            3 => ModelKind::Supervised,
            other => return Err(corrupt(format!("unknown model kind {other}"))),
        };
        let bucket = r.i32("args.bucket")?;
        let minn = r.i32("args.minn")?;
        let maxn = r.i32("args.maxn")?;
        let lr_update_rate = r.i32("args.lrUpdateRate")?;
        let t = r.f64("args.t")?;
        if dim <= 0 || bucket < 0 {
            return Err(corrupt(format!("args: dim {dim}, bucket {bucket}")));
        }
        Ok(Self {
            dim,
            ws,
            epoch,
            min_count,
            neg,
            word_ngrams,
            loss,
            model,
            bucket,
            minn,
            maxn,
            lr_update_rate,
            t,
        })
    }
}

/// A fastText supervised model, quantized (`.ftz`) or not (`.bin`).
#[derive(Debug)]
pub struct FastTextModel {
    args: Args,
    dict: Dictionary,
    input: Matrix,
    output: Matrix,
    loss: Loss,
}

impl FastTextModel {
    /// Read a model from a stream (read to its end, then parsed).
    pub fn read(mut reader: impl Read) -> Result<Self> {
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| ModelError::io("reading fastText model", "(stream)", e))?;
        Self::from_bytes(&bytes)
    }

    /// Parse a model from the bytes of its file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = ByteReader::new(bytes);
        let magic = r.i32("magic")?;
        if magic != MAGIC {
            return Err(corrupt(format!(
                "magic number is {magic}, not fastText's {MAGIC}"
            )));
        }
        let version = r.i32("version")?;
        if !(11..=VERSION).contains(&version) {
            return Err(corrupt(format!(
                "format version {version} (this reader knows 11 and 12)"
            )));
        }
        let mut args = Args::read(&mut r)?;
        if args.model != ModelKind::Supervised {
            return Err(corrupt(
                "not a supervised model (word-vector models cannot classify)",
            ));
        }
        if version == 11 {
            // fastText: supervised models of version 11 had no char n-grams.
            args.maxn = 0;
        }
        let dict = Dictionary::read(
            &mut r,
            NgramSettings {
                minn: args.minn,
                maxn: args.maxn,
                bucket: args.bucket,
                word_ngrams: args.word_ngrams,
            },
        )?;
        let quant_input = r.bool("quant_input")?;
        let input = if quant_input {
            Matrix::read_quant(&mut r, "input matrix")?
        } else {
            Matrix::read_dense(&mut r, "input matrix")?
        };
        let qout = r.bool("qout")?;
        let output = if quant_input && qout {
            Matrix::read_quant(&mut r, "output matrix")?
        } else {
            Matrix::read_dense(&mut r, "output matrix")?
        };
        if r.remaining() != 0 {
            return Err(corrupt(format!(
                "{} unexpected bytes after the output matrix (at byte {})",
                r.remaining(),
                r.position()
            )));
        }

        let loss = match args.loss {
            LossKind::HierarchicalSoftmax => Loss::hierarchical(&dict.label_counts()),
            LossKind::Softmax => Loss::Softmax,
            LossKind::NegativeSampling | LossKind::OneVsAll => Loss::sigmoid(),
        };

        // Shapes, checked once so prediction can index without checks.
        let dim = args.dim as usize;
        let input_rows = dict.nwords() + dict.ngram_rows();
        if input.cols() != dim || input.rows() < input_rows {
            return Err(corrupt(format!(
                "input matrix is {}×{}, but the dictionary needs {input_rows}×{dim}",
                input.rows(),
                input.cols()
            )));
        }
        let output_rows = loss.output_rows(dict.nlabels());
        if output.cols() != dim || output.rows() < output_rows {
            return Err(corrupt(format!(
                "output matrix is {}×{}, but {} labels need {output_rows}×{dim}",
                output.rows(),
                output.cols(),
                dict.nlabels()
            )));
        }
        if dict.nlabels() == 0 {
            return Err(corrupt("the model has no labels"));
        }

        Ok(Self {
            args,
            dict,
            input,
            output,
            loss,
        })
    }

    /// The training arguments stored in the model.
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// The labels, as stored (with their `__label__` prefix), in label order.
    pub fn labels(&self) -> Vec<String> {
        (0..self.dict.nlabels())
            .filter_map(|i| self.dict.label(i))
            .collect()
    }

    /// The `k` most probable labels of one line of text with probability at
    /// least `threshold`, best first, exactly as fastText's
    /// `predict(text, k, threshold)` gives them: labels keep their prefix, and a
    /// probability is fastText's `p + 1e-5`. Newlines count as spaces (fastText
    /// itself refuses them).
    pub fn predict(&self, text: &str, k: usize, threshold: f32) -> Vec<(String, f32)> {
        let rows = self.dict.line_rows(text);
        if rows.is_empty() {
            return Vec::new();
        }
        let mut hidden = vec![0.0f32; self.args.dim as usize];
        for &row in &rows {
            self.input.add_row_to(&mut hidden, row);
        }
        let scale = (1.0 / rows.len() as f64) as f32;
        for h in &mut hidden {
            *h *= scale;
        }
        self.loss
            .predict(&self.output, &hidden, self.dict.nlabels(), k, threshold)
            .into_iter()
            .filter_map(|(score, label)| Some((self.dict.label(label)?, score.exp())))
            .collect()
    }
}

/// Language identification with a fastText model such as `lid.176.ftz`.
#[derive(Debug)]
pub struct LanguageIdentifier {
    model: FastTextModel,
}

impl LanguageIdentifier {
    /// Load `dir/model.ftz`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(REQUIRED_FILES[0]);
        let bytes =
            std::fs::read(&path).map_err(|e| ModelError::io("reading fastText model", &path, e))?;
        let model = FastTextModel::from_bytes(&bytes).map_err(|e| match e {
            ModelError::Format { detail, .. } => {
                ModelError::format(path.display().to_string(), detail)
            }
            other => other,
        })?;
        Ok(Self { model })
    }

    /// The `k` most probable languages of `text`, best first, as
    /// `(label without "__label__", probability)`. Like fastText, a text with
    /// no words still gets the prediction for an empty line.
    pub fn predict(&self, text: &str, k: usize) -> Vec<(String, f32)> {
        self.model
            .predict(text, k, 0.0)
            .into_iter()
            .map(|(label, p)| match label.strip_prefix(LABEL_PREFIX) {
                Some(code) => (code.to_owned(), p),
                None => (label, p),
            })
            .collect()
    }

    /// The underlying model.
    pub fn model(&self) -> &FastTextModel {
        &self.model
    }
}
