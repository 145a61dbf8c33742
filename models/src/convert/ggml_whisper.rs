//! A Hugging Face Whisper folder (what [`super::ct2_whisper`] writes) →
//! whisper.cpp's ggml model file, the weights of the whisper.cpp engine;
//! and [`inspect`], which checks such a file before whisper.cpp reads it.
//!
//! The layout is the one whisper.cpp's `whisper_model_load` reads (and
//! its `convert-pt-to-ggml.py` writes), all little-endian:
//! - the magic `ggml` (0x67676d6c, a u32);
//! - eleven i32 hyper-parameters: vocabulary size, audio positions, audio
//!   width, audio heads, audio layers, text positions, text width, text
//!   heads, text layers, mel bands, and the file type (1: f16; 2007: q8_0;
//!   2008: q5_0, the quantization version times 1000 on top);
//! - the mel filterbank: i32 bands, i32 frequency bins (201), then the f32
//!   weights, band by band;
//! - the vocabulary: an i32 count, then per token an u32 length and its
//!   bytes (the tokens below end-of-text; whisper.cpp names the special
//!   ones itself);
//! - the tensors, each: i32 rank, i32 name length, i32 ggml type, the
//!   sizes innermost first (PyTorch's shape reversed), the name, the data.
//!
//! Which tensor has which type is whisper.cpp's, not ours to choose: the
//! linear weights and the token table in the file's type (f16, q8_0 or
//! q5_0), the two convolutions' weights in f16 (whisper.cpp's im2col
//! aborts on f32 ones), everything else f32.
//!
//! whisper.cpp trusts the file: a wrong size or an unknown name ends its
//! load, but a hostile header can ask it for any allocation, and a short
//! read goes unnoticed. So [`inspect`] reads a file as whisper.cpp will and
//! checks every length, name, shape and type against what the header's own
//! hyper-parameters require, and that nothing is missing or left over;
//! the engine loads a file only after it passes.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use half::f16;
use serde_json::Value;

use crate::{ModelError, Result};

/// `ggml` as whisper.cpp reads the first four bytes.
const MAGIC: u32 = 0x6767_6d6c;
/// What a quantized file's type carries on top (ggml's `GGML_QNT_VERSION`
/// times `GGML_QNT_VERSION_FACTOR`), as whisper.cpp's quantizer writes it.
const QUANTIZATION_VERSION: i32 = 2 * 1000;
/// Values per block of ggml's q8_0 and q5_0.
const QUANT_BLOCK: usize = 32;
/// whisper.cpp's STFT: 400 samples, 201 frequency bins.
const N_FFT: usize = 400;
const SAMPLE_RATE: usize = 16_000;

/// Bounds a header must respect before anything is sized from it: well
/// above every released Whisper (large-v3: 51,866 tokens, 1,280 wide, 32
/// layers, 128 mel bands).
const MAX_VOCAB: usize = 1 << 17;
const MAX_POSITIONS: usize = 1 << 14;
const MAX_WIDTH: usize = 1 << 13;
const MAX_LAYERS: usize = 64;
const MAX_TOKEN_BYTES: usize = 1 << 10;
const MAX_NAME_BYTES: usize = 256;

/// The type of a ggml Whisper file's linear weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    /// Half precision, whisper.cpp's reference.
    F16,
    /// 8-bit blocks of 32 with an f16 scale (8.5 bits a weight).
    Q8_0,
    /// 5-bit blocks of 32 with an f16 scale (5.5 bits a weight).
    Q5_0,
}

impl GgmlType {
    /// Every type, for `--help` texts and tests.
    pub const ALL: [GgmlType; 3] = [GgmlType::F16, GgmlType::Q8_0, GgmlType::Q5_0];

    /// The name used in file names and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            GgmlType::F16 => "f16",
            GgmlType::Q8_0 => "q8_0",
            GgmlType::Q5_0 => "q5_0",
        }
    }

    /// From [`Self::as_str`]'s names.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The file, inside a model's folder, that holds the weights in this type.
    pub fn file_name(self) -> String {
        format!("ggml-model-{}.bin", self.as_str())
    }

    /// The header's file type.
    fn file_type(self) -> i32 {
        match self {
            GgmlType::F16 => 1,
            GgmlType::Q8_0 => QUANTIZATION_VERSION + 7,
            GgmlType::Q5_0 => QUANTIZATION_VERSION + 8,
        }
    }

    fn from_file_type(file_type: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.file_type() == file_type)
    }

    /// ggml's tensor type.
    fn tensor_type(self) -> TensorType {
        match self {
            GgmlType::F16 => TensorType::F16,
            GgmlType::Q8_0 => TensorType::Q8_0,
            GgmlType::Q5_0 => TensorType::Q5_0,
        }
    }
}

/// The ggml tensor types a Whisper file holds, with ggml's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TensorType {
    F32,
    F16,
    Q5_0,
    Q8_0,
}

impl TensorType {
    fn code(self) -> i32 {
        match self {
            TensorType::F32 => 0,
            TensorType::F16 => 1,
            TensorType::Q5_0 => 6,
            TensorType::Q8_0 => 8,
        }
    }

    /// Bytes of `n` values (`n` a whole number of blocks for quantized types).
    fn bytes(self, n: usize) -> usize {
        match self {
            TensorType::F32 => 4 * n,
            TensorType::F16 => 2 * n,
            // An f16 scale, four bytes of fifth bits, sixteen of nibbles.
            TensorType::Q5_0 => n / QUANT_BLOCK * 22,
            // An f16 scale and 32 bytes.
            TensorType::Q8_0 => n / QUANT_BLOCK * 34,
        }
    }
}

/// A ggml Whisper file's hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GgmlHeader {
    pub vocab: usize,
    pub audio_positions: usize,
    pub audio_width: usize,
    pub audio_heads: usize,
    pub audio_layers: usize,
    pub text_positions: usize,
    pub text_width: usize,
    pub text_heads: usize,
    pub text_layers: usize,
    pub mels: usize,
    pub weights: GgmlType,
}

impl GgmlHeader {
    /// From a Hugging Face Whisper `config.json`.
    fn from_config(config: &Value) -> std::result::Result<Self, String> {
        let field = |key: &str| -> std::result::Result<usize, String> {
            config
                .get(key)
                .and_then(Value::as_u64)
                .and_then(|v| usize::try_from(v).ok())
                .ok_or_else(|| format!("`{key}` is missing or not a count"))
        };
        let header = Self {
            vocab: field("vocab_size")?,
            audio_positions: field("max_source_positions")?,
            audio_width: field("d_model")?,
            audio_heads: field("encoder_attention_heads")?,
            audio_layers: field("encoder_layers")?,
            text_positions: field("max_target_positions")?,
            text_width: field("d_model")?,
            text_heads: field("decoder_attention_heads")?,
            text_layers: field("decoder_layers")?,
            mels: field("num_mel_bins")?,
            weights: GgmlType::F16,
        };
        header.check()?;
        Ok(header)
    }

    /// Whether whisper.cpp can size a model from these values without an
    /// absurd allocation, and our tensors' blocks divide them.
    fn check(&self) -> std::result::Result<(), String> {
        let bounded = [
            ("vocabulary", self.vocab, MAX_VOCAB),
            ("audio positions", self.audio_positions, MAX_POSITIONS),
            ("audio width", self.audio_width, MAX_WIDTH),
            ("audio heads", self.audio_heads, MAX_WIDTH),
            ("audio layers", self.audio_layers, MAX_LAYERS),
            ("text positions", self.text_positions, MAX_POSITIONS),
            ("text width", self.text_width, MAX_WIDTH),
            ("text heads", self.text_heads, MAX_WIDTH),
            ("text layers", self.text_layers, MAX_LAYERS),
        ];
        for (what, value, most) in bounded {
            if value == 0 || value > most {
                return Err(format!("{what} {value} is outside 1..={most}"));
            }
        }
        if self.mels != 80 && self.mels != 128 {
            return Err(format!("{} mel bands (Whisper has 80 or 128)", self.mels));
        }
        if self.audio_width != self.text_width {
            return Err(format!(
                "audio width {} differs from text width {}",
                self.audio_width, self.text_width
            ));
        }
        if !self.audio_width.is_multiple_of(QUANT_BLOCK)
            || !self.audio_width.is_multiple_of(self.audio_heads)
            || !self.text_width.is_multiple_of(self.text_heads)
        {
            return Err(format!(
                "width {} is not a multiple of {QUANT_BLOCK} and of the head counts",
                self.audio_width
            ));
        }
        Ok(())
    }

    /// The eleven values as the file stores them.
    fn values(&self) -> [i32; 11] {
        let n = |v: usize| v as i32; // bounded by `check`
        [
            n(self.vocab),
            n(self.audio_positions),
            n(self.audio_width),
            n(self.audio_heads),
            n(self.audio_layers),
            n(self.text_positions),
            n(self.text_width),
            n(self.text_heads),
            n(self.text_layers),
            n(self.mels),
            self.weights.file_type(),
        ]
    }

    /// Whether the vocabulary is the multilingual one (whisper.cpp's test).
    pub fn is_multilingual(&self) -> bool {
        self.vocab >= 51_865
    }
}

/// What a tensor is stored as: f32, f16 (the convolutions) or the file's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    F32,
    Convolution,
    Weight,
}

/// One tensor whisper.cpp expects: its name, the Hugging Face tensor it
/// comes from, its sizes innermost first, and how it is stored.
#[derive(Debug, Clone)]
struct Expected {
    name: String,
    source: String,
    sizes: Vec<usize>,
    storage: Storage,
}

impl Expected {
    fn tensor_type(&self, weights: GgmlType) -> TensorType {
        match self.storage {
            Storage::F32 => TensorType::F32,
            Storage::Convolution => TensorType::F16,
            Storage::Weight => weights.tensor_type(),
        }
    }

    fn values(&self) -> usize {
        self.sizes.iter().product()
    }
}

/// Every tensor whisper.cpp's loader creates for `h`, in its order.
fn expected_tensors(h: &GgmlHeader) -> Vec<Expected> {
    let mut out = Vec::new();
    let mut add = |name: String, source: String, sizes: Vec<usize>, storage| {
        out.push(Expected {
            name,
            source,
            sizes,
            storage,
        });
    };
    let (d, mels) = (h.audio_width, h.mels);
    add(
        "encoder.positional_embedding".into(),
        "model.encoder.embed_positions.weight".into(),
        vec![d, h.audio_positions],
        Storage::F32,
    );
    for (conv, input) in [(1, mels), (2, d)] {
        add(
            format!("encoder.conv{conv}.weight"),
            format!("model.encoder.conv{conv}.weight"),
            vec![3, input, d],
            Storage::Convolution,
        );
        add(
            format!("encoder.conv{conv}.bias"),
            format!("model.encoder.conv{conv}.bias"),
            vec![1, d],
            Storage::F32,
        );
    }
    for part in ["weight", "bias"] {
        add(
            format!("encoder.ln_post.{part}"),
            format!("model.encoder.layer_norm.{part}"),
            vec![d],
            Storage::F32,
        );
    }
    // (ggml's name, Hugging Face's) for a block's parts; the key
    // projections have no bias.
    let attention = |ggml: &str, hf: &str| {
        [
            (format!("{ggml}.query"), format!("{hf}.q_proj"), true),
            (format!("{ggml}.key"), format!("{hf}.k_proj"), false),
            (format!("{ggml}.value"), format!("{hf}.v_proj"), true),
            (format!("{ggml}.out"), format!("{hf}.out_proj"), true),
        ]
    };
    let block = |ggml: &str, hf: &str, cross: bool, out: &mut Vec<Expected>| {
        let mut linears = vec![
            (format!("{ggml}.mlp.0"), format!("{hf}.fc1"), 4 * d, d),
            (format!("{ggml}.mlp.2"), format!("{hf}.fc2"), d, 4 * d),
        ];
        let mut norms = vec![
            (format!("{ggml}.mlp_ln"), format!("{hf}.final_layer_norm")),
            (
                format!("{ggml}.attn_ln"),
                format!("{hf}.self_attn_layer_norm"),
            ),
        ];
        let mut projections: Vec<(String, String, bool)> =
            attention(&format!("{ggml}.attn"), &format!("{hf}.self_attn")).into();
        if cross {
            norms.push((
                format!("{ggml}.cross_attn_ln"),
                format!("{hf}.encoder_attn_layer_norm"),
            ));
            projections.extend(attention(
                &format!("{ggml}.cross_attn"),
                &format!("{hf}.encoder_attn"),
            ));
        }
        linears.extend(
            projections
                .iter()
                .map(|(g, s, _)| (g.clone(), s.clone(), d, d)),
        );
        for (g, s) in norms {
            for part in ["weight", "bias"] {
                out.push(Expected {
                    name: format!("{g}.{part}"),
                    source: format!("{s}.{part}"),
                    sizes: vec![d],
                    storage: Storage::F32,
                });
            }
        }
        for (g, s, rows, cols) in linears {
            out.push(Expected {
                name: format!("{g}.weight"),
                source: format!("{s}.weight"),
                sizes: vec![cols, rows],
                storage: Storage::Weight,
            });
            let biased = projections
                .iter()
                .find(|(name, _, _)| *name == g)
                .is_none_or(|(_, _, bias)| *bias);
            if biased {
                out.push(Expected {
                    name: format!("{g}.bias"),
                    source: format!("{s}.bias"),
                    sizes: vec![rows],
                    storage: Storage::F32,
                });
            }
        }
    };
    for i in 0..h.audio_layers {
        block(
            &format!("encoder.blocks.{i}"),
            &format!("model.encoder.layers.{i}"),
            false,
            &mut out,
        );
    }
    out.push(Expected {
        name: "decoder.positional_embedding".into(),
        source: "model.decoder.embed_positions.weight".into(),
        sizes: vec![d, h.text_positions],
        storage: Storage::F32,
    });
    out.push(Expected {
        name: "decoder.token_embedding.weight".into(),
        source: "model.decoder.embed_tokens.weight".into(),
        sizes: vec![d, h.vocab],
        storage: Storage::Weight,
    });
    for part in ["weight", "bias"] {
        out.push(Expected {
            name: format!("decoder.ln.{part}"),
            source: format!("model.decoder.layer_norm.{part}"),
            sizes: vec![d],
            storage: Storage::F32,
        });
    }
    for i in 0..h.text_layers {
        block(
            &format!("decoder.blocks.{i}"),
            &format!("model.decoder.layers.{i}"),
            true,
            &mut out,
        );
    }
    out
}

/// Convert the Hugging Face Whisper folder `hf_dir` into the ggml file
/// `out` with linear weights of type `weights`. Written to a temporary
/// file beside `out` and renamed, so a failed conversion leaves no file a
/// loader would pick up.
pub fn convert(hf_dir: &Path, out: &Path, weights: GgmlType) -> Result<()> {
    let config_path = hf_dir.join("config.json");
    let config = read_json(&config_path)?;
    let mut header = GgmlHeader::from_config(&config)
        .map_err(|detail| ModelError::format(config_path.display().to_string(), detail))?;
    header.weights = weights;
    let end_of_text = config
        .get("eos_token_id")
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            ModelError::format(
                config_path.display().to_string(),
                "`eos_token_id` is missing",
            )
        })?;
    let tokenizer_path = hf_dir.join("tokenizer.json");
    let tokens = vocabulary(&read_json(&tokenizer_path)?, end_of_text as usize)
        .map_err(|detail| ModelError::format(tokenizer_path.display().to_string(), detail))?;
    let weights_path = hf_dir.join("model.safetensors");
    let tensors = candle_core::safetensors::load(&weights_path, &Device::Cpu)?;

    let parent = out.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(parent)
        .map_err(|e| ModelError::io("create a file in", parent, e))?;
    {
        let mut w = std::io::BufWriter::new(file.as_file_mut());
        write_all(&mut w, &header, &tokens, &tensors).map_err(|e| e.named(&weights_path, out))?;
        w.flush().map_err(|e| ModelError::io("write", out, e))?;
    }
    file.as_file()
        .sync_all()
        .map_err(|e| ModelError::io("write", out, e))?;
    file.persist(out)
        .map_err(|e| ModelError::io("rename into", out, e.error))?;
    Ok(())
}

/// Why writing failed: a tensor of the source, or the output file.
enum WriteError {
    Source(String),
    Output(std::io::Error),
    Candle(candle_core::Error),
}

impl WriteError {
    fn named(self, source: &Path, out: &Path) -> ModelError {
        match self {
            WriteError::Source(detail) => ModelError::format(source.display().to_string(), detail),
            WriteError::Output(e) => ModelError::io("write", out, e),
            WriteError::Candle(e) => ModelError::Candle(e),
        }
    }
}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        WriteError::Output(e)
    }
}

impl From<candle_core::Error> for WriteError {
    fn from(e: candle_core::Error) -> Self {
        WriteError::Candle(e)
    }
}

fn write_all(
    w: &mut impl Write,
    header: &GgmlHeader,
    tokens: &[Vec<u8>],
    tensors: &HashMap<String, Tensor>,
) -> std::result::Result<(), WriteError> {
    w.write_all(&MAGIC.to_le_bytes())?;
    for v in header.values() {
        w.write_all(&v.to_le_bytes())?;
    }
    let filters = crate::whisper::mel::mel_filters(SAMPLE_RATE, N_FFT, header.mels);
    let bins = N_FFT / 2 + 1;
    w.write_all(&(header.mels as i32).to_le_bytes())?;
    w.write_all(&(bins as i32).to_le_bytes())?;
    for v in filters {
        w.write_all(&v.to_le_bytes())?;
    }
    w.write_all(&(tokens.len() as i32).to_le_bytes())?;
    for token in tokens {
        w.write_all(&(token.len() as u32).to_le_bytes())?;
        w.write_all(token)?;
    }
    for expected in expected_tensors(header) {
        let tensor = tensors
            .get(&expected.source)
            .ok_or_else(|| WriteError::Source(format!("no tensor `{}`", expected.source)))?;
        if tensor.elem_count() != expected.values() {
            return Err(WriteError::Source(format!(
                "`{}` has {} values, {} expected ({:?})",
                expected.source,
                tensor.elem_count(),
                expected.values(),
                expected.sizes
            )));
        }
        let values = tensor
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let kind = expected.tensor_type(header.weights);
        w.write_all(&(expected.sizes.len() as i32).to_le_bytes())?;
        w.write_all(&(expected.name.len() as i32).to_le_bytes())?;
        w.write_all(&kind.code().to_le_bytes())?;
        for &size in &expected.sizes {
            w.write_all(&(size as i32).to_le_bytes())?;
        }
        w.write_all(expected.name.as_bytes())?;
        w.write_all(&encode(kind, &values))?;
    }
    Ok(())
}

/// `values` in ggml's layout for `kind`.
fn encode(kind: TensorType, values: &[f32]) -> Vec<u8> {
    match kind {
        TensorType::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        TensorType::F16 => values
            .iter()
            .flat_map(|&v| f16::from_f32(v).to_le_bytes())
            .collect(),
        TensorType::Q8_0 => values.chunks(QUANT_BLOCK).flat_map(q8_0_block).collect(),
        TensorType::Q5_0 => values.chunks(QUANT_BLOCK).flat_map(q5_0_block).collect(),
    }
}

/// One q8_0 block: the scale `max |x| / 127` in f16, then each value over
/// it rounded (ggml's reference quantizer).
fn q8_0_block(x: &[f32]) -> Vec<u8> {
    let largest = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = largest / 127.0;
    let inverse = if scale > 0.0 { 1.0 / scale } else { 0.0 };
    let mut out = Vec::with_capacity(34);
    out.extend(f16::from_f32(scale).to_le_bytes());
    out.extend(x.iter().map(|v| (v * inverse).round() as i8 as u8));
    out
}

/// One q5_0 block (ggml's reference quantizer): the scale is the value of
/// largest magnitude over -16, so that value is exactly -16 steps; each
/// value becomes `round(x / scale) + 16` in 0..=31, its low four bits in
/// nibbles (value `j` low, `j + 16` high, of byte `j`) and its fifth bit in
/// bit `j` of a 32-bit word.
fn q5_0_block(x: &[f32]) -> Vec<u8> {
    let extreme = x
        .iter()
        .fold(0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
    let scale = extreme / -16.0;
    let inverse = if scale != 0.0 { 1.0 / scale } else { 0.0 };
    let level = |v: f32| ((v * inverse + 16.5) as i8).min(31) as u8;
    let mut high_bits = 0u32;
    let mut nibbles = [0u8; QUANT_BLOCK / 2];
    for (j, byte) in nibbles.iter_mut().enumerate() {
        let (a, b) = (level(x[j]), level(x[j + QUANT_BLOCK / 2]));
        *byte = (a & 0x0F) | ((b & 0x0F) << 4);
        high_bits |= u32::from((a & 0x10) >> 4) << j;
        high_bits |= u32::from((b & 0x10) >> 4) << (j + QUANT_BLOCK / 2);
    }
    let mut out = Vec::with_capacity(22);
    out.extend(f16::from_f32(scale).to_le_bytes());
    out.extend(high_bits.to_le_bytes());
    out.extend(nibbles);
    out
}

/// The tokens below `end_of_text`, as bytes, from a byte-level BPE
/// `tokenizer.json` (each byte stored as one printable character, GPT-2's
/// mapping).
fn vocabulary(tokenizer: &Value, end_of_text: usize) -> std::result::Result<Vec<Vec<u8>>, String> {
    let vocab = tokenizer
        .pointer("/model/vocab")
        .and_then(Value::as_object)
        .ok_or("no `model.vocab` object")?;
    if end_of_text > MAX_VOCAB {
        return Err(format!("end of text at {end_of_text}"));
    }
    let byte_of: HashMap<char, u8> = byte_characters()
        .into_iter()
        .enumerate()
        .map(|(b, c)| (c, b as u8))
        .collect();
    let mut tokens: Vec<Option<Vec<u8>>> = vec![None; end_of_text];
    for (text, id) in vocab {
        let Some(id) = id.as_u64().and_then(|v| usize::try_from(v).ok()) else {
            return Err(format!("token {text:?} has no id"));
        };
        if id >= end_of_text {
            continue;
        }
        let bytes = text
            .chars()
            .map(|c| byte_of.get(&c).copied())
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| format!("token {text:?} is not byte-level"))?;
        tokens[id] = Some(bytes);
    }
    tokens
        .into_iter()
        .enumerate()
        .map(|(id, t)| t.ok_or_else(|| format!("no token with id {id}")))
        .collect()
}

/// GPT-2's byte-to-character table: printable Latin-1 bytes stand for
/// themselves, the others for the characters from U+0100 on, in order.
fn byte_characters() -> [char; 256] {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        table[b as usize] = if printable(b) {
            char::from(b)
        } else {
            let c = char::from_u32(next).unwrap_or(char::REPLACEMENT_CHARACTER);
            next += 1;
            c
        };
    }
    table
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io("read", path, e))?;
    serde_json::from_str(&text).map_err(|source| ModelError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Check the ggml Whisper file at `path` as whisper.cpp will read it (the
/// module doc says what): its header, or a [`ModelError::Format`] naming
/// the file and what is wrong.
pub fn inspect(path: &Path) -> Result<GgmlHeader> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io("read", path, e))?;
    parse(&bytes).map_err(|detail| ModelError::format(path.display().to_string(), detail))
}

/// A cursor over the file's bytes whose every read checks what is left.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> std::result::Result<&'a [u8], String> {
        let left = self.bytes.len() - self.at;
        if n > left {
            return Err(format!(
                "truncated: {what} needs {n} bytes at offset {}, {left} left",
                self.at
            ));
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn i32(&mut self, what: &str) -> std::result::Result<i32, String> {
        let b = self.take(4, what)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// An i32 that must be a count in `0..=most`.
    fn count(&mut self, what: &str, most: usize) -> std::result::Result<usize, String> {
        let v = self.i32(what)?;
        usize::try_from(v)
            .ok()
            .filter(|&v| v <= most)
            .ok_or_else(|| format!("{what} is {v}, outside 0..={most}"))
    }
}

fn parse(bytes: &[u8]) -> std::result::Result<GgmlHeader, String> {
    let mut r = Reader { bytes, at: 0 };
    let magic = r.i32("the magic")? as u32;
    if magic != MAGIC {
        return Err(format!(
            "not a ggml Whisper file (magic {magic:#010x}, expected {MAGIC:#010x})"
        ));
    }
    let mut values = [0usize; 10];
    let names = [
        "vocabulary size",
        "audio positions",
        "audio width",
        "audio heads",
        "audio layers",
        "text positions",
        "text width",
        "text heads",
        "text layers",
        "mel bands",
    ];
    for (v, name) in values.iter_mut().zip(names) {
        *v = r.count(name, i32::MAX as usize)?;
    }
    let file_type = r.i32("file type")?;
    let weights = GgmlType::from_file_type(file_type)
        .ok_or_else(|| format!("file type {file_type} (known: f16 1, q8_0 2007, q5_0 2008)"))?;
    let header = GgmlHeader {
        vocab: values[0],
        audio_positions: values[1],
        audio_width: values[2],
        audio_heads: values[3],
        audio_layers: values[4],
        text_positions: values[5],
        text_width: values[6],
        text_heads: values[7],
        text_layers: values[8],
        mels: values[9],
        weights,
    };
    header.check()?;

    let bands = r.count("filter bands", header.mels)?;
    let bins = r.count("filter bins", N_FFT / 2 + 1)?;
    if bands != header.mels || bins != N_FFT / 2 + 1 {
        return Err(format!(
            "filterbank of {bands}×{bins}, expected {}×{}",
            header.mels,
            N_FFT / 2 + 1
        ));
    }
    r.take(4 * bands * bins, "the filterbank")?;

    let tokens = r.count("token count", header.vocab)?;
    for id in 0..tokens {
        let len = r.count(&format!("token {id}'s length"), MAX_TOKEN_BYTES)?;
        r.take(len, &format!("token {id}"))?;
    }

    let mut expected: HashMap<String, Expected> = expected_tensors(&header)
        .into_iter()
        .map(|e| (e.name.clone(), e))
        .collect();
    while r.at < bytes.len() {
        let rank = r.count("a tensor's rank", 4)?;
        let name_len = r.count("a tensor's name length", MAX_NAME_BYTES)?;
        let code = r.i32("a tensor's type")?;
        let mut sizes = Vec::with_capacity(rank);
        for _ in 0..rank {
            sizes.push(r.count("a tensor's size", i32::MAX as usize)?);
        }
        let name = String::from_utf8_lossy(r.take(name_len, "a tensor's name")?).into_owned();
        let wanted = expected
            .remove(&name)
            .ok_or_else(|| format!("unexpected or repeated tensor `{name}`"))?;
        if sizes != wanted.sizes {
            return Err(format!(
                "tensor `{name}` is {sizes:?}, expected {:?}",
                wanted.sizes
            ));
        }
        let kind = wanted.tensor_type(header.weights);
        if code != kind.code() {
            return Err(format!(
                "tensor `{name}` has ggml type {code}, expected {}",
                kind.code()
            ));
        }
        r.take(kind.bytes(wanted.values()), &format!("tensor `{name}`"))?;
    }
    if let Some(name) = expected.keys().min() {
        return Err(format!(
            "truncated: {} tensor(s) missing, `{name}` among them",
            expected.len()
        ));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dequantize_q8_0(block: &[u8]) -> Vec<f32> {
        let scale = f16::from_le_bytes([block[0], block[1]]).to_f32();
        block[2..]
            .iter()
            .map(|&q| f32::from(q as i8) * scale)
            .collect()
    }

    fn dequantize_q5_0(block: &[u8]) -> Vec<f32> {
        let scale = f16::from_le_bytes([block[0], block[1]]).to_f32();
        let high = u32::from_le_bytes([block[2], block[3], block[4], block[5]]);
        let mut out = vec![0f32; QUANT_BLOCK];
        for (j, &byte) in block[6..].iter().enumerate() {
            let a = (byte & 0x0F) | ((((high >> j) & 1) as u8) << 4);
            let b = (byte >> 4) | ((((high >> (j + 16)) & 1) as u8) << 4);
            out[j] = (f32::from(a) - 16.0) * scale;
            out[j + 16] = (f32::from(b) - 16.0) * scale;
        }
        out
    }

    fn ramp(seed: f32) -> Vec<f32> {
        (0..QUANT_BLOCK)
            .map(|i| (i as f32 * 0.37 + seed).sin() * 0.8)
            .collect()
    }

    #[test]
    fn quantized_blocks_round_trip_within_half_a_step() {
        for seed in [0.0, 1.3, 4.1] {
            let x = ramp(seed);
            let q8 = q8_0_block(&x);
            assert_eq!(q8.len(), TensorType::Q8_0.bytes(QUANT_BLOCK));
            let step = x.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
            for (a, b) in x.iter().zip(dequantize_q8_0(&q8)) {
                assert!((a - b).abs() <= step * 0.51, "{a} vs {b}");
            }
            let q5 = q5_0_block(&x);
            assert_eq!(q5.len(), TensorType::Q5_0.bytes(QUANT_BLOCK));
            // Levels -16..=15 steps: the value of largest magnitude is -16
            // of them, so values of the other sign near it clip at 15, up
            // to a step off (ggml's own format); the rest round to half.
            let step = x.iter().fold(0f32, |m, v| m.max(v.abs())) / 16.0;
            let back = dequantize_q5_0(&q5);
            for (a, b) in x.iter().zip(&back) {
                let bound = if a.abs() > 15.0 * step { 1.01 } else { 0.51 };
                assert!((a - b).abs() <= step * bound, "{a} vs {b}");
            }
            // The value of largest magnitude is exactly -16 steps.
            let extreme = x
                .iter()
                .copied()
                .fold(0f32, |m, v| if v.abs() > m.abs() { v } else { m });
            let i = x.iter().position(|&v| v == extreme).unwrap_or(0);
            let scale = f16::from_f32(extreme / -16.0).to_f32();
            assert!((back[i] - -16.0 * scale).abs() < 1e-6);
        }
        // A block of zeros stays zeros.
        assert!(
            dequantize_q8_0(&q8_0_block(&[0.0; 32]))
                .iter()
                .all(|v| *v == 0.0)
        );
        assert!(
            dequantize_q5_0(&q5_0_block(&[0.0; 32]))
                .iter()
                .all(|v| *v == 0.0)
        );
    }

    #[test]
    fn the_byte_table_is_a_bijection_with_gpt2_spellings() {
        let table = byte_characters();
        let distinct: std::collections::HashSet<char> = table.iter().copied().collect();
        assert_eq!(distinct.len(), 256);
        // GPT-2's well-known spellings: space is Ġ, newline is Ċ.
        assert_eq!(table[b' ' as usize], 'Ġ');
        assert_eq!(table[b'\n' as usize], 'Ċ');
        assert_eq!(table[b'a' as usize], 'a');
    }

    fn tiny_header() -> GgmlHeader {
        GgmlHeader {
            vocab: 51_864,
            audio_positions: 1500,
            audio_width: 384,
            audio_heads: 6,
            audio_layers: 4,
            text_positions: 448,
            text_width: 384,
            text_heads: 6,
            text_layers: 4,
            mels: 80,
            weights: GgmlType::F16,
        }
    }

    #[test]
    fn the_tensor_list_is_whisper_cpps() {
        let h = tiny_header();
        let list = expected_tensors(&h);
        // whisper.cpp: 7 + 15 per encoder layer, 4 + 24 per decoder layer.
        assert_eq!(list.len(), 7 + 15 * 4 + 4 + 24 * 4);
        let names: std::collections::HashSet<&str> = list.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names.len(), list.len());
        for name in [
            "encoder.blocks.3.attn.key.weight",
            "decoder.blocks.0.cross_attn.value.bias",
            "decoder.blocks.2.cross_attn_ln.weight",
            "encoder.blocks.0.mlp.2.weight",
        ] {
            assert!(names.contains(name), "{name}");
        }
        assert!(!names.contains("encoder.blocks.0.attn.key.bias"));
        let fc1 = list
            .iter()
            .find(|e| e.name == "encoder.blocks.0.mlp.0.weight")
            .unwrap();
        assert_eq!(
            (fc1.sizes.clone(), fc1.source.as_str()),
            (vec![384, 1536], "model.encoder.layers.0.fc1.weight")
        );
    }

    /// A whole file for `h` with zeroed data, as `write_all` lays it out.
    fn file_for(h: &GgmlHeader) -> Vec<u8> {
        let tensors: HashMap<String, Tensor> = expected_tensors(h)
            .into_iter()
            .map(|e| {
                let t = Tensor::zeros(e.values(), DType::F32, &Device::Cpu).unwrap();
                (e.source, t)
            })
            .collect();
        let tokens = vec![b"a".to_vec(); 10];
        let mut out = Vec::new();
        assert!(write_all(&mut out, h, &tokens, &tensors).is_ok());
        out
    }

    #[test]
    fn a_written_file_inspects_and_every_cut_or_lie_is_refused() {
        let mut h = tiny_header();
        h.audio_layers = 1;
        h.text_layers = 1;
        h.audio_positions = 4;
        h.text_positions = 4;
        h.vocab = 64;
        for weights in GgmlType::ALL {
            h.weights = weights;
            let file = file_for(&h);
            assert_eq!(parse(&file), Ok(h));
        }
        let file = file_for(&h);
        // Truncated anywhere: an error, never a header.
        for cut in [0, 3, 20, 60, 5_000, file.len() / 2, file.len() - 1] {
            let err = parse(&file[..cut]).unwrap_err();
            assert!(
                err.contains("truncated") || err.contains("magic"),
                "{cut}: {err}"
            );
        }
        // A bad magic.
        let mut bad = file.clone();
        bad[0] ^= 1;
        assert!(parse(&bad).unwrap_err().contains("not a ggml Whisper file"));
        // A header asking for an absurd model.
        let mut bad = file.clone();
        bad[4..8].copy_from_slice(&i32::MAX.to_le_bytes());
        assert!(parse(&bad).unwrap_err().contains("vocabulary"));
        let mut bad = file.clone();
        bad[8..12].copy_from_slice(&(-5i32).to_le_bytes());
        assert!(parse(&bad).unwrap_err().contains("audio positions"));
        // Bytes after the last tensor.
        let mut bad = file.clone();
        bad.extend([0u8; 12]);
        assert!(parse(&bad).is_err());
    }
}
