//! CTranslate2 Whisper `model.bin` → a Hugging Face Whisper folder
//! (`model.safetensors`, `config.json`, `generation_config.json`,
//! `tokenizer.json`) that [`crate::whisper::WhisperModel::load`] and
//! candle-transformers' `whisper::model::Whisper::load` both read.
//!
//! The binary layout is described in `docs/MODELS.md` ("The CTranslate2
//! Whisper format"); the reference writer is CTranslate2's
//! `python/ctranslate2/specs/model_spec.py` (`ModelSpec.save`), and the names
//! on the Hugging Face side follow `transformers`'
//! `models/whisper/modeling_whisper.py`.
//!
//! The file is untrusted input: every length read from it is checked against
//! the bytes that are actually left before anything is sliced or allocated,
//! so a corrupt or lying header ends in [`ModelError::Format`], never in a
//! panic or a huge allocation.

use crate::{ModelError, Result};
use candle_core::{DType, Device, Tensor};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The only binary version whose layout we know (CTranslate2 ≥ 3 writes 6).
const SUPPORTED_BINARY_VERSION: u32 = 6;
const SPEC_NAME: &str = "WhisperSpec";
/// CTranslate2's `ActivationType::GELU` (exact, erf-based).
const ACTIVATION_GELU: i64 = 3;
/// The smallest a variable record can be: name (u16 length + NUL), rank, dtype, byte count.
const MIN_VARIABLE_BYTES: usize = 2 + 1 + 1 + 1 + 4;
/// The smallest an alias record can be: two strings of one NUL each.
const MIN_ALIAS_BYTES: usize = 2 * (2 + 1);

/// Convert a CTranslate2 Whisper model (its `model.bin` possibly split into
/// parts, read in order as one stream) plus the package's decoding
/// `config.json` and `tokenizer.json` into a Hugging Face Whisper folder.
pub fn convert(
    model_parts: &[PathBuf],
    package_config: &Path,
    tokenizer: &Path,
    out_dir: &Path,
) -> Result<()> {
    let bytes = read_parts(model_parts)?;
    let what = describe_parts(model_parts);
    let model = Ct2Model::parse(&bytes).map_err(|detail| ModelError::format(&what, detail))?;
    let converted = to_hugging_face(&model).map_err(|detail| ModelError::format(&what, detail))?;

    let package_config_json = read_json(package_config)?;
    let decoding = PackageConfig::from_json(&package_config_json)
        .map_err(|detail| ModelError::format(package_config.display().to_string(), detail))?;
    let tokenizer_json = read_json(tokenizer)?;
    let specials = TokenizerSpecials::from_json(&tokenizer_json)
        .map_err(|detail| ModelError::format(tokenizer.display().to_string(), detail))?;

    std::fs::create_dir_all(out_dir).map_err(|e| ModelError::io("create", out_dir, e))?;
    let weights = out_dir.join("model.safetensors");
    candle_core::safetensors::save(&converted.tensors, &weights)?;
    let config = hf_config(&converted.dims, &decoding, &specials);
    write_json(&out_dir.join("config.json"), &config)?;
    let generation = generation_config(&converted.dims, &decoding, &specials)
        .map_err(|detail| ModelError::format(package_config.display().to_string(), detail))?;
    write_json(&out_dir.join("generation_config.json"), &generation)?;
    let tokenizer_out = out_dir.join("tokenizer.json");
    std::fs::copy(tokenizer, &tokenizer_out).map_err(|e| ModelError::io("copy", tokenizer, e))?;
    Ok(())
}

fn describe_parts(parts: &[PathBuf]) -> String {
    let names: Vec<String> = parts.iter().map(|p| p.display().to_string()).collect();
    format!("CTranslate2 model {}", names.join(" + "))
}

/// Read every part into one buffer. The capacity comes from the file sizes on
/// disk, not from anything inside the files.
fn read_parts(parts: &[PathBuf]) -> Result<Vec<u8>> {
    if parts.is_empty() {
        return Err(ModelError::format(
            "CTranslate2 model",
            "no model.bin parts given",
        ));
    }
    let mut total = 0u64;
    for part in parts {
        let meta = std::fs::metadata(part).map_err(|e| ModelError::io("read", part, e))?;
        total = total.saturating_add(meta.len());
    }
    let capacity = usize::try_from(total).map_err(|_| {
        ModelError::format(
            describe_parts(parts),
            "larger than this machine can address",
        )
    })?;
    let mut bytes = Vec::with_capacity(capacity);
    for part in parts {
        let data = std::fs::read(part).map_err(|e| ModelError::io("read", part, e))?;
        bytes.extend_from_slice(&data);
    }
    Ok(bytes)
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read(path).map_err(|e| ModelError::io("read", path, e))?;
    serde_json::from_slice(&text).map_err(|source| ModelError::Json {
        path: path.to_path_buf(),
        source,
    })
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_vec_pretty(value).map_err(|source| ModelError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::write(path, text).map_err(|e| ModelError::io("write", path, e))
}

// ---------------------------------------------------------------------------
// The CTranslate2 binary reader
// ---------------------------------------------------------------------------

/// Element types of a CTranslate2 variable (`DataType` in `ctranslate2/types.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ct2DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl Ct2DType {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::Bf16,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::Bf16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }

    /// The candle dtype of a float variable; `None` for integer ones, which
    /// in a Whisper spec are only scalars (or int8 quantized weights, which
    /// we do not de-quantize).
    fn float(self) -> Option<DType> {
        match self {
            Self::F32 => Some(DType::F32),
            Self::F16 => Some(DType::F16),
            Self::Bf16 => Some(DType::BF16),
            Self::I8 | Self::I16 | Self::I32 => None,
        }
    }
}

/// One variable, borrowing its raw bytes from the file buffer.
#[derive(Debug)]
struct Ct2Var<'a> {
    dims: Vec<usize>,
    dtype: Ct2DType,
    data: &'a [u8],
}

/// A parsed `model.bin`: variables by name plus aliases (alias → target).
#[derive(Debug)]
struct Ct2Model<'a> {
    revision: u32,
    vars: BTreeMap<String, Ct2Var<'a>>,
    aliases: BTreeMap<String, String>,
}

/// A bounds-checked little-endian cursor; every read says what it was for,
/// so a truncated file names the field it ran out in.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if n > self.remaining() {
            return Err(format!(
                "truncated: {what} needs {n} bytes at offset {}, only {} left",
                self.pos,
                self.remaining()
            ));
        }
        let slice = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// A u16-length string whose last byte is a NUL terminator.
    fn string(&mut self, what: &str) -> Result<String, String> {
        let len = usize::from(self.u16(what)?);
        let offset = self.pos;
        let bytes = self.take(len, what)?;
        let Some((&0, text)) = bytes.split_last() else {
            return Err(format!("{what} at offset {offset} is not NUL-terminated"));
        };
        String::from_utf8(text.to_vec())
            .map_err(|_| format!("{what} at offset {offset} is not UTF-8"))
    }
}

impl<'a> Ct2Model<'a> {
    fn parse(buf: &'a [u8]) -> Result<Self, String> {
        let mut r = Reader { buf, pos: 0 };
        let version = r.u32("binary version")?;
        if version != SUPPORTED_BINARY_VERSION {
            return Err(format!(
                "binary version {version} is not supported (expected {SUPPORTED_BINARY_VERSION}); \
                 is this a CTranslate2 model.bin?"
            ));
        }
        let spec = r.string("spec name")?;
        if spec != SPEC_NAME {
            return Err(format!("spec is `{spec}`, expected `{SPEC_NAME}`"));
        }
        let revision = r.u32("spec revision")?;
        let count = r.u32("variable count")? as usize;
        if count > r.remaining() / MIN_VARIABLE_BYTES {
            return Err(format!(
                "truncated or corrupt: claims {count} variables but only {} bytes are left",
                r.remaining()
            ));
        }
        let mut vars = BTreeMap::new();
        for index in 0..count {
            let name = r.string(&format!("name of variable {index}"))?;
            let rank = r.u8(&format!("rank of `{name}`"))?;
            let mut dims = Vec::with_capacity(usize::from(rank));
            for _ in 0..rank {
                dims.push(r.u32(&format!("shape of `{name}`"))? as usize);
            }
            let code = r.u8(&format!("dtype of `{name}`"))?;
            let dtype = Ct2DType::from_code(code)
                .ok_or_else(|| format!("`{name}` has unknown dtype code {code}"))?;
            let byte_count = r.u32(&format!("byte count of `{name}`"))? as usize;
            let expected = dims
                .iter()
                .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| format!("`{name}` has a shape {dims:?} that overflows"))?;
            if byte_count != expected {
                return Err(format!(
                    "`{name}` declares {byte_count} bytes but shape {dims:?} of {dtype:?} needs {expected}"
                ));
            }
            let data = r.take(byte_count, &format!("data of `{name}`"))?;
            if vars
                .insert(name.clone(), Ct2Var { dims, dtype, data })
                .is_some()
            {
                return Err(format!("variable `{name}` appears twice"));
            }
        }
        let alias_count = r.u32("alias count")? as usize;
        if alias_count > r.remaining() / MIN_ALIAS_BYTES {
            return Err(format!(
                "truncated or corrupt: claims {alias_count} aliases but only {} bytes are left",
                r.remaining()
            ));
        }
        let mut aliases = BTreeMap::new();
        for index in 0..alias_count {
            let alias = r.string(&format!("alias {index}"))?;
            let target = r.string(&format!("target of alias `{alias}`"))?;
            aliases.insert(alias, target);
        }
        if r.remaining() != 0 {
            return Err(format!(
                "{} trailing bytes after the aliases at offset {}",
                r.remaining(),
                r.pos
            ));
        }
        Ok(Self {
            revision,
            vars,
            aliases,
        })
    }

    /// A variable by name, following one level of alias (CTranslate2 writes
    /// aliases only for tied weights, never chains).
    fn get(&self, name: &str) -> Result<&Ct2Var<'a>, String> {
        let resolved = self.aliases.get(name).map_or(name, String::as_str);
        self.vars.get(resolved).ok_or_else(|| {
            format!(
                "missing variable `{name}` (spec revision {})",
                self.revision
            )
        })
    }

    /// An integer scalar such as `encoder/num_heads`.
    fn scalar(&self, name: &str) -> Result<i64, String> {
        let var = self.get(name)?;
        if !var.dims.is_empty() {
            return Err(format!(
                "`{name}` should be a scalar, has shape {:?}",
                var.dims
            ));
        }
        let d = var.data;
        match (var.dtype, d) {
            (Ct2DType::I8, [a]) => Ok(i64::from(i8::from_le_bytes([*a]))),
            (Ct2DType::I16, [a, b]) => Ok(i64::from(i16::from_le_bytes([*a, *b]))),
            (Ct2DType::I32, [a, b, c, e]) => Ok(i64::from(i32::from_le_bytes([*a, *b, *c, *e]))),
            _ => Err(format!(
                "`{name}` should be an integer scalar, is {:?}",
                var.dtype
            )),
        }
    }

    /// A float variable as a candle tensor (kept in its stored dtype), with its shape checked.
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Tensor, String> {
        let var = self.get(name)?;
        if var.dims != shape {
            return Err(format!(
                "`{name}` has shape {:?}, expected {shape:?}",
                var.dims
            ));
        }
        let dtype = var.dtype.float().ok_or_else(|| {
            format!(
                "`{name}` is {:?}; quantized CTranslate2 models are not supported, convert with a float type",
                var.dtype
            )
        })?;
        Tensor::from_raw_buffer(var.data, dtype, shape, &Device::Cpu)
            .map_err(|e| format!("`{name}`: {e}"))
    }

    /// How many `{prefix}/layer_{i}` blocks there are (contiguous from 0).
    fn layer_count(&self, prefix: &str) -> usize {
        let mut n = 0;
        loop {
            let layer = format!("{prefix}/layer_{n}/");
            let present = self
                .vars
                .range(layer.clone()..)
                .next()
                .is_some_and(|(name, _)| name.starts_with(&layer));
            if !present {
                return n;
            }
            n += 1;
        }
    }
}

// ---------------------------------------------------------------------------
// Mapping to Hugging Face names
// ---------------------------------------------------------------------------

/// Sizes of the network, all derived from tensor shapes and the `num_heads` scalars.
#[derive(Debug, Clone, PartialEq)]
struct Dims {
    d_model: usize,
    num_mel_bins: usize,
    vocab_size: usize,
    max_source_positions: usize,
    max_target_positions: usize,
    encoder_layers: usize,
    decoder_layers: usize,
    encoder_heads: usize,
    decoder_heads: usize,
    encoder_ffn_dim: usize,
    decoder_ffn_dim: usize,
}

struct Converted {
    tensors: HashMap<String, Tensor>,
    dims: Dims,
}

fn first_dim(model: &Ct2Model<'_>, name: &str, rank: usize) -> Result<Vec<usize>, String> {
    let var = model.get(name)?;
    if var.dims.len() != rank {
        return Err(format!(
            "`{name}` has rank {}, expected {rank}",
            var.dims.len()
        ));
    }
    Ok(var.dims.clone())
}

fn heads(model: &Ct2Model<'_>, name: &str, d_model: usize) -> Result<usize, String> {
    let n = model.scalar(name)?;
    match usize::try_from(n) {
        Ok(n) if n > 0 && d_model.is_multiple_of(n) => Ok(n),
        _ => Err(format!("`{name}` = {n} does not divide d_model {d_model}")),
    }
}

fn check_activation(model: &Ct2Model<'_>, name: &str) -> Result<(), String> {
    // Older specs may lack the scalar; GELU is then the only thing Whisper used.
    if model.get(name).is_err() {
        return Ok(());
    }
    match model.scalar(name)? {
        ACTIVATION_GELU => Ok(()),
        other => Err(format!(
            "`{name}` = {other}, only GELU ({ACTIVATION_GELU}) is supported"
        )),
    }
}

fn derive_dims(model: &Ct2Model<'_>) -> Result<Dims, String> {
    let conv1 = first_dim(model, "encoder/conv1/weight", 3)?;
    let (d_model, num_mel_bins) = (conv1[0], conv1[1]);
    let vocab_size = first_dim(model, "decoder/embeddings/weight", 2)?[0];
    let max_source_positions = first_dim(model, "encoder/position_encodings/encodings", 2)?[0];
    let max_target_positions = first_dim(model, "decoder/position_encodings/encodings", 2)?[0];
    let encoder_layers = model.layer_count("encoder");
    let decoder_layers = model.layer_count("decoder");
    if encoder_layers == 0 || decoder_layers == 0 {
        return Err(format!(
            "found {encoder_layers} encoder and {decoder_layers} decoder layers; both must be at least 1"
        ));
    }
    let encoder_ffn_dim = first_dim(model, "encoder/layer_0/ffn/linear_0/weight", 2)?[0];
    let decoder_ffn_dim = first_dim(model, "decoder/layer_0/ffn/linear_0/weight", 2)?[0];
    check_activation(model, "encoder/activation")?;
    check_activation(model, "decoder/activation")?;
    Ok(Dims {
        d_model,
        num_mel_bins,
        vocab_size,
        max_source_positions,
        max_target_positions,
        encoder_layers,
        decoder_layers,
        encoder_heads: heads(model, "encoder/num_heads", d_model)?,
        decoder_heads: heads(model, "decoder/num_heads", d_model)?,
        encoder_ffn_dim,
        decoder_ffn_dim,
    })
}

/// Collects output tensors, turning candle errors into format details.
struct Out<'m, 'a> {
    model: &'m Ct2Model<'a>,
    tensors: HashMap<String, Tensor>,
}

impl Out<'_, '_> {
    fn copy(&mut self, hf: String, ct2: &str, shape: &[usize]) -> Result<(), String> {
        let t = self.model.tensor(ct2, shape)?;
        self.tensors.insert(hf, t);
        Ok(())
    }

    fn layer_norm(&mut self, hf: &str, ct2: &str, d: usize) -> Result<(), String> {
        self.copy(format!("{hf}.weight"), &format!("{ct2}/gamma"), &[d])?;
        self.copy(format!("{hf}.bias"), &format!("{ct2}/beta"), &[d])
    }

    fn linear(&mut self, hf: &str, ct2: &str, out: usize, inp: usize) -> Result<(), String> {
        self.copy(
            format!("{hf}.weight"),
            &format!("{ct2}/weight"),
            &[out, inp],
        )?;
        self.copy(format!("{hf}.bias"), &format!("{ct2}/bias"), &[out])
    }

    /// Split a row-fused projection into Hugging Face's separate ones. A
    /// `None` name drops that part's bias: Hugging Face's `k_proj` has none,
    /// and dropping it is exact whatever its value, because a key bias adds
    /// the same `q·b` to every score of a query row and softmax cancels it.
    fn split(&mut self, ct2: &str, d: usize, parts: &[(&str, bool)]) -> Result<(), String> {
        let n = parts.len();
        let weight_name = format!("{ct2}/weight");
        let bias_name = format!("{ct2}/bias");
        let weight = self.model.tensor(&weight_name, &[n * d, d])?;
        let bias = self.model.tensor(&bias_name, &[n * d])?;
        for (i, (hf, keep_bias)) in parts.iter().enumerate() {
            let w = weight
                .narrow(0, i * d, d)
                .and_then(|t| t.contiguous())
                .map_err(|e| format!("splitting `{weight_name}`: {e}"))?;
            self.tensors.insert(format!("{hf}.weight"), w);
            if *keep_bias {
                let b = bias
                    .narrow(0, i * d, d)
                    .and_then(|t| t.contiguous())
                    .map_err(|e| format!("splitting `{bias_name}`: {e}"))?;
                self.tensors.insert(format!("{hf}.bias"), b);
            }
        }
        Ok(())
    }
}

fn to_hugging_face(model: &Ct2Model<'_>) -> Result<Converted, String> {
    let dims = derive_dims(model)?;
    let d = dims.d_model;
    let mut out = Out {
        model,
        tensors: HashMap::new(),
    };

    // Encoder.
    let e = "model.encoder";
    out.copy(
        format!("{e}.conv1.weight"),
        "encoder/conv1/weight",
        &[d, dims.num_mel_bins, 3],
    )?;
    out.copy(format!("{e}.conv1.bias"), "encoder/conv1/bias", &[d])?;
    out.copy(
        format!("{e}.conv2.weight"),
        "encoder/conv2/weight",
        &[d, d, 3],
    )?;
    out.copy(format!("{e}.conv2.bias"), "encoder/conv2/bias", &[d])?;
    out.copy(
        format!("{e}.embed_positions.weight"),
        "encoder/position_encodings/encodings",
        &[dims.max_source_positions, d],
    )?;
    out.layer_norm(&format!("{e}.layer_norm"), "encoder/layer_norm", d)?;
    for i in 0..dims.encoder_layers {
        let hf = format!("{e}.layers.{i}");
        let ct = format!("encoder/layer_{i}");
        self_attention(&mut out, &hf, &ct, d)?;
        ffn(&mut out, &hf, &ct, d, dims.encoder_ffn_dim)?;
    }

    // Decoder. `decoder/projection/weight` is an alias of the embeddings:
    // Hugging Face ties `proj_out` to `embed_tokens`, so it is not written.
    let dd = "model.decoder";
    out.copy(
        format!("{dd}.embed_tokens.weight"),
        "decoder/embeddings/weight",
        &[dims.vocab_size, d],
    )?;
    out.copy(
        format!("{dd}.embed_positions.weight"),
        "decoder/position_encodings/encodings",
        &[dims.max_target_positions, d],
    )?;
    out.layer_norm(&format!("{dd}.layer_norm"), "decoder/layer_norm", d)?;
    for i in 0..dims.decoder_layers {
        let hf = format!("{dd}.layers.{i}");
        let ct = format!("decoder/layer_{i}");
        self_attention(&mut out, &hf, &ct, d)?;
        let ca = format!("{hf}.encoder_attn");
        out.linear(
            &format!("{ca}.q_proj"),
            &format!("{ct}/attention/linear_0"),
            d,
            d,
        )?;
        out.split(
            &format!("{ct}/attention/linear_1"),
            d,
            &[
                (&format!("{ca}.k_proj"), false),
                (&format!("{ca}.v_proj"), true),
            ],
        )?;
        out.linear(
            &format!("{ca}.out_proj"),
            &format!("{ct}/attention/linear_2"),
            d,
            d,
        )?;
        out.layer_norm(
            &format!("{hf}.encoder_attn_layer_norm"),
            &format!("{ct}/attention/layer_norm"),
            d,
        )?;
        ffn(&mut out, &hf, &ct, d, dims.decoder_ffn_dim)?;
    }
    Ok(Converted {
        tensors: out.tensors,
        dims,
    })
}

fn self_attention(out: &mut Out<'_, '_>, hf: &str, ct: &str, d: usize) -> Result<(), String> {
    let sa = format!("{hf}.self_attn");
    out.split(
        &format!("{ct}/self_attention/linear_0"),
        d,
        &[
            (&format!("{sa}.q_proj"), true),
            (&format!("{sa}.k_proj"), false),
            (&format!("{sa}.v_proj"), true),
        ],
    )?;
    out.linear(
        &format!("{sa}.out_proj"),
        &format!("{ct}/self_attention/linear_1"),
        d,
        d,
    )?;
    out.layer_norm(
        &format!("{hf}.self_attn_layer_norm"),
        &format!("{ct}/self_attention/layer_norm"),
        d,
    )
}

fn ffn(out: &mut Out<'_, '_>, hf: &str, ct: &str, d: usize, ffn_dim: usize) -> Result<(), String> {
    out.linear(
        &format!("{hf}.fc1"),
        &format!("{ct}/ffn/linear_0"),
        ffn_dim,
        d,
    )?;
    out.linear(
        &format!("{hf}.fc2"),
        &format!("{ct}/ffn/linear_1"),
        d,
        ffn_dim,
    )?;
    out.layer_norm(
        &format!("{hf}.final_layer_norm"),
        &format!("{ct}/ffn/layer_norm"),
        d,
    )
}

// ---------------------------------------------------------------------------
// Configs
// ---------------------------------------------------------------------------

/// The decoding settings of the package's `config.json` (written by
/// CTranslate2's Whisper converter).
#[derive(Debug, Default)]
struct PackageConfig {
    alignment_heads: Vec<[u32; 2]>,
    suppress_ids: Vec<u32>,
    suppress_ids_begin: Vec<u32>,
    lang_ids: Vec<u32>,
}

impl PackageConfig {
    fn from_json(v: &Value) -> Result<Self, String> {
        fn ids(v: &Value, key: &str) -> Result<Vec<u32>, String> {
            match v.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|x| {
                        x.as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .ok_or_else(|| format!("`{key}` holds {x}, not a token id"))
                    })
                    .collect(),
                Some(other) => Err(format!("`{key}` should be a list, is {other}")),
            }
        }
        let alignment_heads = match v.get("alignment_heads") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(pairs)) => pairs
                .iter()
                .map(|p| {
                    let pair = p.as_array().filter(|a| a.len() == 2);
                    let get = |i: usize| {
                        pair.and_then(|a| a[i].as_u64())
                            .and_then(|n| u32::try_from(n).ok())
                    };
                    match (get(0), get(1)) {
                        (Some(layer), Some(head)) => Ok([layer, head]),
                        _ => Err(format!(
                            "`alignment_heads` holds {p}, not a [layer, head] pair"
                        )),
                    }
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(format!("`alignment_heads` should be a list, is {other}")),
        };
        Ok(Self {
            alignment_heads,
            suppress_ids: ids(v, "suppress_ids")?,
            suppress_ids_begin: ids(v, "suppress_ids_begin")?,
            lang_ids: ids(v, "lang_ids")?,
        })
    }
}

/// Special token ids from the tokenizer's `added_tokens`.
#[derive(Debug)]
struct TokenizerSpecials {
    by_content: BTreeMap<String, u32>,
}

impl TokenizerSpecials {
    fn from_json(v: &Value) -> Result<Self, String> {
        let added = v
            .get("added_tokens")
            .and_then(Value::as_array)
            .ok_or("no `added_tokens` list; is this a Whisper tokenizer.json?")?;
        let by_content = added
            .iter()
            .filter_map(|t| {
                let id = t.get("id")?.as_u64().and_then(|n| u32::try_from(n).ok())?;
                Some((t.get("content")?.as_str()?.to_owned(), id))
            })
            .collect();
        Ok(Self { by_content })
    }

    fn id(&self, token: &str) -> Option<u32> {
        self.by_content.get(token).copied()
    }

    fn content(&self, id: u32) -> Option<&str> {
        self.by_content
            .iter()
            .find_map(|(k, &v)| (v == id).then_some(k.as_str()))
    }
}

/// OpenAI's rule (`whisper/model.py`, `is_multilingual`): English-only
/// checkpoints have one token fewer.
fn is_multilingual(dims: &Dims) -> bool {
    dims.vocab_size >= 51865
}

fn hf_config(dims: &Dims, decoding: &PackageConfig, specials: &TokenizerSpecials) -> Value {
    let eot = specials.id("<|endoftext|>");
    let sot = specials.id("<|startoftranscript|>");
    json!({
        "architectures": ["WhisperForConditionalGeneration"],
        "model_type": "whisper",
        "activation_function": "gelu",
        "d_model": dims.d_model,
        "num_mel_bins": dims.num_mel_bins,
        "vocab_size": dims.vocab_size,
        "max_source_positions": dims.max_source_positions,
        "max_target_positions": dims.max_target_positions,
        "encoder_layers": dims.encoder_layers,
        "encoder_attention_heads": dims.encoder_heads,
        "encoder_ffn_dim": dims.encoder_ffn_dim,
        "decoder_layers": dims.decoder_layers,
        "decoder_attention_heads": dims.decoder_heads,
        "decoder_ffn_dim": dims.decoder_ffn_dim,
        "num_hidden_layers": dims.encoder_layers,
        "scale_embedding": false,
        "tie_word_embeddings": true,
        "bos_token_id": eot,
        "eos_token_id": eot,
        "pad_token_id": eot,
        "decoder_start_token_id": sot,
        "suppress_tokens": decoding.suppress_ids,
        "begin_suppress_tokens": decoding.suppress_ids_begin,
        "torch_dtype": "float16",
    })
}

fn generation_config(
    dims: &Dims,
    decoding: &PackageConfig,
    specials: &TokenizerSpecials,
) -> Result<Value, String> {
    let need = |token: &str| {
        specials
            .id(token)
            .ok_or_else(|| format!("the tokenizer has no `{token}` token"))
    };
    let eot = need("<|endoftext|>")?;
    let sot = need("<|startoftranscript|>")?;
    let no_timestamps = need("<|notimestamps|>")?;
    let multilingual = is_multilingual(dims);
    let mut generation = json!({
        "alignment_heads": decoding.alignment_heads,
        "begin_suppress_tokens": decoding.suppress_ids_begin,
        "suppress_tokens": decoding.suppress_ids,
        "bos_token_id": eot,
        "eos_token_id": eot,
        "pad_token_id": eot,
        "decoder_start_token_id": sot,
        "no_timestamps_token_id": no_timestamps,
        "prev_sot_token_id": specials.id("<|startofprev|>"),
        "max_initial_timestamp_index": 50,
        "max_length": dims.max_target_positions,
        "return_timestamps": false,
        "is_multilingual": multilingual,
    });
    if multilingual {
        // Language ids come from the package config, their names from the
        // tokenizer, so a mismatch between the two is caught here.
        let mut lang_to_id = serde_json::Map::new();
        for &id in &decoding.lang_ids {
            let token = specials
                .content(id)
                .filter(|t| t.len() > 4 && t.starts_with("<|") && t.ends_with("|>"))
                .ok_or_else(|| format!("lang id {id} is not a `<|xx|>` token of the tokenizer"))?;
            lang_to_id.insert(token.to_owned(), json!(id));
        }
        let task_to_id = json!({
            "transcribe": need("<|transcribe|>")?,
            "translate": need("<|translate|>")?,
        });
        if let Some(obj) = generation.as_object_mut() {
            obj.insert("lang_to_id".into(), Value::Object(lang_to_id));
            obj.insert("task_to_id".into(), task_to_id);
        }
    }
    Ok(generation)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a synthetic model.bin the way CTranslate2 does.
    #[derive(Default)]
    struct Writer(Vec<u8>);

    impl Writer {
        fn u32(&mut self, v: u32) -> &mut Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        fn string(&mut self, s: &str) -> &mut Self {
            self.0
                .extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
            self.0.extend_from_slice(s.as_bytes());
            self.0.push(0);
            self
        }
        fn var(&mut self, name: &str, dims: &[u32], dtype: u8, data: &[u8]) -> &mut Self {
            self.string(name);
            self.0.push(dims.len() as u8);
            for &d in dims {
                self.u32(d);
            }
            self.0.push(dtype);
            self.u32(data.len() as u32);
            self.0.extend_from_slice(data);
            self
        }
        fn header(&mut self, n_vars: u32) -> &mut Self {
            self.u32(6).string("WhisperSpec").u32(3).u32(n_vars)
        }
    }

    fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn small_file() -> Vec<u8> {
        let mut w = Writer::default();
        w.header(3)
            .var("decoder/num_heads", &[], 2, &6i16.to_le_bytes())
            .var(
                "decoder/embeddings/weight",
                &[2, 2],
                0,
                &f32_bytes(&[1.0, 2.0, 3.0, 4.0]),
            )
            .var("encoder/activation", &[], 1, &[3])
            .u32(1)
            .string("decoder/projection/weight")
            .string("decoder/embeddings/weight");
        w.0
    }

    fn detail(buf: &[u8]) -> String {
        match Ct2Model::parse(buf) {
            Ok(_) => String::from("parsed"),
            Err(d) => d,
        }
    }

    #[test]
    fn reads_variables_scalars_and_aliases() {
        let buf = small_file();
        let m = Ct2Model::parse(&buf).unwrap();
        assert_eq!(m.revision, 3);
        assert_eq!(m.scalar("decoder/num_heads").unwrap(), 6);
        assert_eq!(m.scalar("encoder/activation").unwrap(), 3);
        let t = m.tensor("decoder/projection/weight", &[2, 2]).unwrap();
        assert_eq!(
            t.to_vec2::<f32>().unwrap(),
            vec![vec![1.0, 2.0], vec![3.0, 4.0]]
        );
        assert!(
            m.tensor("decoder/embeddings/weight", &[4])
                .unwrap_err()
                .contains("shape")
        );
        assert!(
            m.get("nope")
                .unwrap_err()
                .contains("missing variable `nope`")
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        let buf = small_file();
        for len in 0..buf.len() {
            let d = detail(&buf[..len]);
            assert!(d.contains("truncated"), "at {len}: {d}");
        }
    }

    #[test]
    fn rejects_bad_headers_and_trailing_bytes() {
        let mut buf = small_file();
        buf.push(0);
        assert!(detail(&buf).contains("1 trailing bytes"));

        let mut w = Writer::default();
        w.u32(5).string("WhisperSpec");
        assert!(detail(&w.0).contains("binary version 5"));

        let mut w = Writer::default();
        w.u32(6).string("TransformerSpec").u32(1).u32(0).u32(0);
        assert!(detail(&w.0).contains("TransformerSpec"));

        let mut w = Writer::default();
        w.u32(6).0.extend_from_slice(&[3, 0, b'a', b'b', b'c']);
        assert!(detail(&w.0).contains("NUL"));
    }

    #[test]
    fn rejects_bad_variables() {
        let mut w = Writer::default();
        w.header(1).var("x", &[2], 9, &[0, 0]).u32(0);
        assert!(detail(&w.0).contains("unknown dtype code 9"));

        let mut w = Writer::default();
        w.header(1).var("x", &[3], 4, &[0, 0, 0, 0]).u32(0);
        assert!(detail(&w.0).contains("declares 4 bytes"));

        let mut w = Writer::default();
        w.header(1)
            .var("x", &[u32::MAX, u32::MAX, u32::MAX], 0, &[])
            .u32(0);
        assert!(detail(&w.0).contains("overflows") || detail(&w.0).contains("declares"));

        let mut w = Writer::default();
        w.header(2)
            .var("x", &[], 1, &[1])
            .var("x", &[], 1, &[1])
            .u32(0);
        assert!(detail(&w.0).contains("twice"));
    }

    #[test]
    fn lying_counts_do_not_allocate() {
        // A header claiming four billion variables or aliases must fail on the
        // count check, before any loop or allocation.
        let mut w = Writer::default();
        w.header(u32::MAX);
        assert!(detail(&w.0).contains("claims 4294967295 variables"));

        let mut w = Writer::default();
        w.header(0).u32(u32::MAX);
        assert!(detail(&w.0).contains("claims 4294967295 aliases"));

        // A consistent shape and byte count, both far larger than the file.
        let mut w = Writer::default();
        w.header(1).string("x").0.push(1);
        w.u32(1_000_000_000).0.push(0);
        w.u32(4_000_000_000);
        assert!(detail(&w.0).contains("data of `x` needs 4000000000 bytes"));
    }

    #[test]
    fn int8_weights_are_refused_clearly() {
        let mut w = Writer::default();
        w.header(1).var("w", &[2], 1, &[1, 2]).u32(0);
        let m = Ct2Model::parse(&w.0).unwrap();
        assert!(m.tensor("w", &[2]).unwrap_err().contains("quantized"));
    }

    #[test]
    fn splits_fused_projections_by_rows() {
        // d = 1: linear_0 holds q, k, v as rows 0, 1, 2.
        let mut w = Writer::default();
        w.header(2)
            .var("l/weight", &[3, 1], 0, &f32_bytes(&[1.0, 2.0, 3.0]))
            .var("l/bias", &[3], 0, &f32_bytes(&[10.0, 20.0, 30.0]))
            .u32(0);
        let m = Ct2Model::parse(&w.0).unwrap();
        let mut out = Out {
            model: &m,
            tensors: HashMap::new(),
        };
        out.split("l", 1, &[("q", true), ("k", false), ("v", true)])
            .unwrap();
        let get = |n: &str| {
            out.tensors[n]
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        assert_eq!(get("q.weight"), vec![1.0]);
        assert_eq!(get("k.weight"), vec![2.0]);
        assert_eq!(get("v.weight"), vec![3.0]);
        assert_eq!(get("q.bias"), vec![10.0]);
        assert_eq!(get("v.bias"), vec![30.0]);
        assert!(!out.tensors.contains_key("k.bias"));
    }

    #[test]
    fn counts_layers() {
        let mut w = Writer::default();
        w.header(3)
            .var("encoder/layer_0/a", &[], 1, &[0])
            .var("encoder/layer_1/a", &[], 1, &[0])
            .var("encoder/layer_10/a", &[], 1, &[0])
            .u32(0);
        let m = Ct2Model::parse(&w.0).unwrap();
        // layer_10 without layers 2..9 is not counted: layers are contiguous.
        assert_eq!(m.layer_count("encoder"), 2);
        assert_eq!(m.layer_count("decoder"), 0);
    }
}
