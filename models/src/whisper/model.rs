//! The Whisper network on Candle, following OpenAI's `whisper/model.py`
//! (<https://github.com/openai/whisper/blob/main/whisper/model.py>) and
//! reading Hugging Face tensor names (`model.encoder.layers.0.self_attn.q_proj.weight`…),
//! the same names candle-transformers' `whisper::model` reads.
//!
//! Why not candle-transformers' model: its decoder caches only the
//! cross-attention keys/values and recomputes self-attention over the whole
//! token sequence at every step; here the self-attention keys/values are
//! cached too ([`KvCache`]), so each step costs one token. The cache is
//! passed in rather than hidden in the layers, so language detection and
//! window decoding cannot see each other's state. Also, GELU is the exact
//! (erf) one that `torch.nn.GELU` and CTranslate2 use, not the tanh
//! approximation.
//!
//! Speed on the CPU: a decoder step multiplies one row by every weight
//! matrix, which Candle's gemm runs as a single-threaded gemv bound by
//! memory (the tied output projection alone is 80 MB of f32 per token). The
//! decoder's linear layers and the output projection are therefore
//! [`RowSplit`]: one-row inputs run one gemv per slice of output rows, on
//! every core at once. Results are the same numbers (each output is still one
//! dot product, summed in the same order).
//!
//! The CPU's own kernels are chosen once, at load ([`CpuKernels`], all of
//! them the speech service's default on the CPU): with the int8 decoder
//! the logits of a step come from an int8 copy of the projection
//! ([`super::int8`]), a quarter of the bytes, and decoding steps leave
//! Candle altogether (see [`host`]); with the bf16 encoder its blocks run
//! on [`TileEncoder`].

use crate::whisper::Config;
use candle_core::{D, DType, Module, Result, Tensor};
use candle_nn::{Conv1d, Conv1dConfig, Embedding, LayerNorm, Linear, VarBuilder};
use rayon::prelude::*;

use super::int8::Int8Rows;
use super::tile_encoder::{BlockLayers, TileEncoder};

mod host;

/// Most rows a product takes through an int8 copy of a weight on CPUs
/// without VNNI: a step's rows (one per beam or per stream). Longer
/// products (a prompt's every position) keep the f32 weights there; with
/// VNNI every product is int8 ([`int8_takes`]).
pub(super) const INT8_MAX_ROWS: usize = 16;

/// Whether a product of `rows` input rows goes through an int8 copy of
/// the weight: always where the CPU has AVX-512 VNNI, whose integer
/// products beat Candle's f32 gemm at any size (a window's 220-token
/// prompt through the decoder: ~40 ms in f32 → ~8 ms); elsewhere for up to
/// [`INT8_MAX_ROWS`] rows, where reading a quarter of the bytes is what
/// counts.
fn int8_takes(rows: usize) -> bool {
    rows <= INT8_MAX_ROWS || crate::cpu::tier().avx512_vnni()
}

fn layer_norm(size: usize, vb: VarBuilder) -> Result<LayerNorm> {
    candle_nn::layer_norm(size, 1e-5, vb)
}

/// Exact GELU, `x · (1 + erf(x/√2)) / 2`. On the CPU in f32 with the row
/// helper [`crate::cpu::rows::gelu`] (a polynomial `erf` within 5e-7 of
/// Candle's, compiled for the tier in force) on every core: Candle maps
/// unary ops on one thread with a scalar library `erf`, and the encoder's
/// GELUs (9 M values a window for tiny) were ~7% of a transcription's time
/// on CPUs without the tile encoder. Elsewhere Candle's.
fn gelu(x: &Tensor) -> Result<Tensor> {
    if !x.device().is_cpu() || x.dtype() != DType::F32 {
        return x.gelu_erf();
    }
    rewritten(x, PARALLEL_CHUNK, 1, crate::cpu::rows::gelu)
}

/// Values per parallel task of an element-wise pass ([`rewritten`]).
const PARALLEL_CHUNK: usize = 1 << 14;

/// A CPU f32 tensor's values copied out, rewritten in place by `f` chunk
/// by chunk of `chunk` values (at least `least` chunks a task) on every
/// core, and put back in the same shape: the element- and row-wise passes
/// here that Candle would run on one thread.
fn rewritten(
    x: &Tensor,
    chunk: usize,
    least: usize,
    f: impl Fn(&mut [f32]) + Sync + Send,
) -> Result<Tensor> {
    let mut values = x.flatten_all()?.to_vec1::<f32>()?;
    values
        .par_chunks_mut(chunk.max(1))
        .with_min_len(least.max(1))
        .for_each(f);
    Tensor::from_vec(values, x.shape(), x.device())
}

/// A weight `[out, in]` (and bias `[out]`) applied as `x · Wᵀ + b`, also kept
/// as slices of output rows (views, no copy) for one-row inputs; see the
/// module docs.
#[derive(Debug, Clone)]
struct F32Rows {
    full: Linear,
    parts: Vec<Linear>,
}

impl F32Rows {
    fn forward(&self, x: &Tensor, rows: usize) -> Result<Tensor> {
        if rows != 1 || self.parts.len() < 2 {
            return self.full.forward(x);
        }
        let pieces = self
            .parts
            .par_iter()
            .map(|part| part.forward(x))
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&pieces, D::Minus1)
    }
}

/// A linear layer in the weights its products read: f32 ([`F32Rows`]), an
/// int8 copy ([`Int8Rows`]) beside them, or the int8 copy alone.
#[derive(Debug, Clone)]
enum RowSplit {
    /// f32 only: the encoder, and the decoder without the int8 kernels.
    F32(F32Rows),
    /// The int8 decoder on a CPU without VNNI: the int8 copy for inputs of
    /// up to [`INT8_MAX_ROWS`] rows (decoding steps), the f32 weights for
    /// longer ones (a window's prompt), where Candle's f32 gemm is faster.
    Both(F32Rows, Int8Rows),
    /// The int8 decoder on a CPU with VNNI: the int8 copy takes every
    /// product ([`int8_takes`]), so the f32 weights, which nothing would
    /// read again, are dropped.
    Int8(Int8Rows),
}

impl RowSplit {
    fn new(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        let out = weight.dim(0)?;
        let n = rayon::current_num_threads().clamp(1, out.max(1));
        let mut parts = Vec::with_capacity(n);
        if n > 1 {
            let step = out.div_ceil(n);
            for start in (0..out).step_by(step) {
                let len = step.min(out - start);
                parts.push(Linear::new(
                    weight.narrow(0, start, len)?,
                    bias.as_ref().map(|b| b.narrow(0, start, len)).transpose()?,
                ));
            }
        }
        Ok(Self::F32(F32Rows {
            full: Linear::new(weight, bias),
            parts,
        }))
    }

    /// Add the int8 copy, dropping the f32 weights where it takes every
    /// product (VNNI).
    fn quantize(&mut self) -> Result<()> {
        let Self::F32(f32_rows) = self else {
            return Ok(());
        };
        let int8 = Int8Rows::quantize_linear(f32_rows.full.weight(), f32_rows.full.bias())?;
        *self = if crate::cpu::tier().avx512_vnni() {
            Self::Int8(int8)
        } else {
            Self::Both(f32_rows.clone(), int8)
        };
        Ok(())
    }

    /// The f32 layer, unless it was dropped for its int8 copy.
    fn f32_linear(&self) -> Option<&Linear> {
        match self {
            Self::F32(f32_rows) | Self::Both(f32_rows, _) => Some(&f32_rows.full),
            Self::Int8(_) => None,
        }
    }

    /// The int8 copy, if quantized.
    fn int8(&self) -> Option<&Int8Rows> {
        match self {
            Self::F32(_) => None,
            Self::Both(_, int8) | Self::Int8(int8) => Some(int8),
        }
    }

    fn linear(d_in: usize, d_out: usize, bias: bool, vb: VarBuilder) -> Result<Self> {
        let weight = vb.get((d_out, d_in), "weight")?;
        let bias = if bias {
            Some(vb.get(d_out, "bias")?)
        } else {
            None
        };
        Self::new(weight, bias)
    }
}

/// `x` `[…, in]` through int8 rows: `[…, out]`.
fn int8_forward(int8: &Int8Rows, x: &Tensor, rows: usize, width: usize) -> Result<Tensor> {
    let mut shape = x.dims().to_vec();
    let y = int8.product(&x.reshape((rows, width))?)?;
    if let Some(last) = shape.last_mut() {
        *last = y.dim(1)?;
    }
    y.reshape(shape)
}

impl Module for RowSplit {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let width = x.dim(D::Minus1)?;
        let rows = x.elem_count() / width.max(1);
        match self {
            Self::Int8(int8) => int8_forward(int8, x, rows, width),
            Self::Both(_, int8) if int8_takes(rows) => int8_forward(int8, x, rows, width),
            Self::Both(f32_rows, _) | Self::F32(f32_rows) => f32_rows.forward(x, rows),
        }
    }
}

/// Multi-head attention (`MultiHeadAttention` in model.py). Keys have no
/// bias, as in OpenAI's checkpoint.
#[derive(Debug, Clone)]
struct Attention {
    query: RowSplit,
    key: RowSplit,
    value: RowSplit,
    out: RowSplit,
    n_head: usize,
}

impl Attention {
    fn load(d: usize, n_head: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            query: RowSplit::linear(d, d, true, vb.pp("q_proj"))?,
            key: RowSplit::linear(d, d, false, vb.pp("k_proj"))?,
            value: RowSplit::linear(d, d, true, vb.pp("v_proj"))?,
            out: RowSplit::linear(d, d, true, vb.pp("out_proj"))?,
            n_head,
        })
    }

    /// `[1, t, d]` → `[1, heads, t, d/heads]`.
    fn split_heads(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        x.reshape((b, t, self.n_head, d / self.n_head))?
            .transpose(1, 2)?
            .contiguous()
    }

    fn keys_values(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((
            self.split_heads(&self.key.forward(x)?)?,
            self.split_heads(&self.value.forward(x)?)?,
        ))
    }

    /// Attend from `x` to keys/values already split into heads.
    fn attend(&self, x: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        self.weigh(self.scores(x, k)?, v, mask)
    }

    /// Scaled dot products of the queries of `x` with the keys `k`, before
    /// the softmax: `[batch, heads, queries, keys]` (model.py's `qk`).
    fn scores(&self, x: &Tensor, k: &Tensor) -> Result<Tensor> {
        self.scaled_queries(&self.query.forward(x)?)?
            .matmul(&k.t()?)
    }

    /// Projected queries `[batch, t, d]` split into heads and scaled.
    fn scaled_queries(&self, q: &Tensor) -> Result<Tensor> {
        let q = self.split_heads(q)?;
        let head_dim = q.dim(D::Minus1)?;
        // Scaling the queries rather than the scores: t × d values instead
        // of t × t (the encoder's scores are 54 MB a layer for tiny), and
        // the same numbers, the scale being 1/8 for every Whisper's 64-wide heads.
        q * (head_dim as f64).powf(-0.5)
    }

    /// Attention output before the output projection, for projected
    /// queries `q` `[batch, t, d]` over keys/values split into heads:
    /// `[batch, t, d]`.
    fn attend_projected(&self, q: &Tensor, k: &Tensor, v: &Tensor) -> Result<Tensor> {
        mix(self.scaled_queries(q)?.matmul(&k.t()?)?, v, None)
    }

    /// The output for `scores` over the values `v`.
    fn weigh(&self, scores: Tensor, v: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        self.out.forward(&mix(scores, v, mask)?)
    }
}

/// Softmax of `scores` `[batch, heads, queries, keys]` (plus `mask`) over
/// the values `v`, heads joined again: `[batch, queries, d]`, before the
/// output projection.
fn mix(mut scores: Tensor, v: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
    if let Some(mask) = mask {
        scores = scores.broadcast_add(mask)?;
    }
    let weights = softmax_last_dim(&scores)?;
    weights.matmul(v)?.transpose(1, 2)?.flatten_from(2)
}

/// Softmax over the last dimension: on the CPU in f32 with the AVX-512 row
/// helper ([`crate::cpu::rows::softmax`]) on every core, since Candle's runs a
/// scalar `expf` per value on one thread, and a window's prompt attends
/// over 1,500 audio positions for each of its ~220 tokens, 6 heads and 4
/// layers (8 M values for tiny); elsewhere Candle's.
fn softmax_last_dim(scores: &Tensor) -> Result<Tensor> {
    if !scores.device().is_cpu() || scores.dtype() != DType::F32 {
        return candle_nn::ops::softmax_last_dim(scores);
    }
    let keys = scores.dim(D::Minus1)?.max(1);
    rewritten(
        scores,
        keys,
        PARALLEL_CHUNK / keys + 1,
        crate::cpu::rows::softmax,
    )
}

/// A residual block (`ResidualAttentionBlock` in model.py), pre-norm.
#[derive(Debug, Clone)]
struct Block {
    attn: Attention,
    attn_ln: LayerNorm,
    cross: Option<(Attention, LayerNorm)>,
    fc1: RowSplit,
    fc2: RowSplit,
    mlp_ln: LayerNorm,
}

impl Block {
    fn load(d: usize, n_head: usize, ffn: usize, cross: bool, vb: VarBuilder) -> Result<Self> {
        let cross = if cross {
            Some((
                Attention::load(d, n_head, vb.pp("encoder_attn"))?,
                layer_norm(d, vb.pp("encoder_attn_layer_norm"))?,
            ))
        } else {
            None
        };
        Ok(Self {
            attn: Attention::load(d, n_head, vb.pp("self_attn"))?,
            attn_ln: layer_norm(d, vb.pp("self_attn_layer_norm"))?,
            cross,
            fc1: RowSplit::linear(d, ffn, true, vb.pp("fc1"))?,
            fc2: RowSplit::linear(ffn, d, true, vb.pp("fc2"))?,
            mlp_ln: layer_norm(d, vb.pp("final_layer_norm"))?,
        })
    }

    fn mlp(&self, x: &Tensor) -> Result<Tensor> {
        let h = gelu(&self.fc1.forward(&self.mlp_ln.forward(x)?)?)?;
        x + self.fc2.forward(&h)?
    }
}

/// The audio encoder (`AudioEncoder`).
#[derive(Debug, Clone)]
struct Encoder {
    conv1: Conv1d,
    conv2: Conv1d,
    positions: Tensor,
    layers: EncoderLayers,
    ln_post: LayerNorm,
}

/// The encoder's residual blocks, in the form chosen at load
/// ([`CpuKernels::bf16_encoder`]).
#[derive(Debug, Clone)]
enum EncoderLayers {
    /// f32 weights, Candle's ops: any device.
    Candle(Vec<Block>),
    /// Packed for bf16 products on the CPU ([`TileEncoder`]); the f32
    /// weights were dropped once packed.
    Bf16(TileEncoder),
}

impl Encoder {
    /// Loaded with its blocks in bf16 when `bf16` (the caller checked the
    /// weights are f32 on the CPU) and the tier has a bf16 kernel, in f32
    /// otherwise.
    fn load(cfg: &Config, vb: VarBuilder, bf16: bool) -> Result<Self> {
        let d = cfg.d_model;
        let conv = |stride| Conv1dConfig {
            padding: 1,
            stride,
            groups: 1,
            dilation: 1,
            cudnn_fwd_algo: None,
        };
        let blocks: Vec<Block> = (0..cfg.encoder_layers)
            .map(|i| {
                Block::load(
                    d,
                    cfg.encoder_attention_heads,
                    cfg.encoder_ffn_dim,
                    false,
                    vb.pp(format!("layers.{i}")),
                )
            })
            .collect::<Result<_>>()?;
        let layers = if bf16 && crate::cpu::amx::available() {
            EncoderLayers::Bf16(pack_tiles(&blocks)?)
        } else {
            EncoderLayers::Candle(blocks)
        };
        Ok(Self {
            conv1: candle_nn::conv1d(cfg.num_mel_bins, d, 3, conv(1), vb.pp("conv1"))?,
            conv2: candle_nn::conv1d(d, d, 3, conv(2), vb.pp("conv2"))?,
            // Stored sinusoids; loading them (rather than recomputing) keeps
            // fine-tuned checkpoints that changed them exact.
            positions: vb.get((cfg.max_source_positions, d), "embed_positions.weight")?,
            layers,
            ln_post: layer_norm(d, vb.pp("layer_norm"))?,
        })
    }

    fn forward(&self, mel: &Tensor) -> Result<Tensor> {
        let x = gelu(&self.conv1.forward(mel)?)?;
        let x = gelu(&self.conv2.forward(&x)?)?.transpose(1, 2)?;
        let n = x.dim(1)?;
        let mut x = x.broadcast_add(&self.positions.narrow(0, 0, n)?)?;
        match &self.layers {
            EncoderLayers::Bf16(tiles) => x = tiles.forward(&x)?,
            EncoderLayers::Candle(blocks) => {
                for block in blocks {
                    let h = block.attn_ln.forward(&x)?;
                    let (k, v) = block.attn.keys_values(&h)?;
                    x = (&x + block.attn.attend(&h, &k, &v, None)?)?;
                    x = block.mlp(&x)?;
                }
            }
        }
        self.ln_post.forward(&x)
    }
}

/// The encoder's f32 `blocks` packed for bf16 products.
fn pack_tiles(blocks: &[Block]) -> Result<TileEncoder> {
    let heads = blocks.first().map_or(1, |b| b.attn.n_head);
    fn f32_of(layer: &RowSplit) -> Result<&Linear> {
        layer
            .f32_linear()
            .ok_or_else(|| candle_core::Error::Msg("an encoder layer without f32 weights".into()))
    }
    let layers: Vec<BlockLayers<'_>> = blocks
        .iter()
        .map(|b| {
            Ok(BlockLayers {
                attn_ln: &b.attn_ln,
                query: f32_of(&b.attn.query)?,
                key: f32_of(&b.attn.key)?,
                value: f32_of(&b.attn.value)?,
                out: f32_of(&b.attn.out)?,
                mlp_ln: &b.mlp_ln,
                fc1: f32_of(&b.fc1)?,
                fc2: f32_of(&b.fc2)?,
            })
        })
        .collect::<Result<_>>()?;
    TileEncoder::new(&layers, heads)
}

/// Per-sequence decoder state: each layer's self-attention keys/values so
/// far, and the cross-attention keys/values of the encoder output (computed
/// once per 30 s window).
///
/// A window's prompt is decoded into Candle tensors ([`CacheState::Tensors`]);
/// with the int8 decoder on the CPU the state then moves to host buffers
/// for the decoding steps ([`CacheState::Host`], see `host`'s docs), once,
/// before the first step ([`KvCache::to_host`]).
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    state: CacheState,
    /// Whether this cache's steps run on the host (the model's choice,
    /// made in [`Whisper::new_cache`]).
    host_steps: bool,
    /// Tokens already in the cache, i.e. the position of the next one.
    len: usize,
}

/// Where a [`KvCache`]'s keys and values are.
#[derive(Debug, Clone)]
enum CacheState {
    /// Candle tensors: what prompts are decoded into, and what Candle's
    /// decoding steps extend.
    Tensors(TensorCache),
    /// Host buffers, for the int8 decoder's steps: no prompt after this.
    Host(host::HostCache),
}

impl Default for CacheState {
    fn default() -> Self {
        Self::Tensors(TensorCache::default())
    }
}

/// A cache as Candle tensors: per block, the self-attention keys/values
/// `[rows, heads, positions, head width]` (none before the first token),
/// and the cross-attention keys/values of the window's audio.
#[derive(Debug, Clone, Default)]
struct TensorCache {
    self_kv: Vec<Option<(Tensor, Tensor)>>,
    cross_kv: Vec<(Tensor, Tensor)>,
}

impl KvCache {
    /// Move the state to host buffers if this cache's steps run there
    /// (otherwise, or if already moved, nothing). Decoding steps do it
    /// anyway; calling it earlier moves the copying off the thread that
    /// runs the steps. No prompt can be decoded into the cache after this.
    pub fn to_host(&mut self) -> Result<()> {
        if let (true, CacheState::Tensors(tensors)) = (self.host_steps, &self.state) {
            self.state = CacheState::Host(host::HostCache::from_tensors(
                &tensors.self_kv,
                &tensors.cross_kv,
            )?);
        }
        Ok(())
    }

    /// The tensors, for a prompt or a Candle step; an error once on the host.
    fn tensors(&mut self) -> Result<&mut TensorCache> {
        match &mut self.state {
            CacheState::Tensors(tensors) => Ok(tensors),
            CacheState::Host(_) => {
                candle_core::bail!("a prompt or Candle step after the cache moved to the host")
            }
        }
    }

    /// The host buffers, once moved there.
    fn host(&self) -> Option<&host::HostCache> {
        match &self.state {
            CacheState::Host(host) => Some(host),
            CacheState::Tensors(_) => None,
        }
    }

    fn host_mut(&mut self) -> Option<&mut host::HostCache> {
        match &mut self.state {
            CacheState::Host(host) => Some(host),
            CacheState::Tensors(_) => None,
        }
    }

    /// Keep the batch rows `rows` (u32 indices, repeats allowed) of the
    /// self-attention cache, in that order: beam search forks and drops
    /// hypotheses this way. The cross-attention part is the same for every
    /// row, so it only needs trimming to the new batch size.
    pub fn reorder(&mut self, rows: &[u32]) -> Result<()> {
        let tensors = match &mut self.state {
            CacheState::Host(host) => return host.reorder(rows),
            CacheState::Tensors(tensors) => tensors,
        };
        let Some(Some((first, _))) = tensors.self_kv.first() else {
            return Ok(());
        };
        let index = Tensor::new(rows, first.device())?;
        for (k, v) in tensors.self_kv.iter_mut().flatten() {
            *k = k.index_select(&index, 0)?;
            *v = v.index_select(&index, 0)?;
        }
        let batch = rows.len();
        for (k, v) in &mut tensors.cross_kv {
            if k.dim(0)? != batch {
                *k = k.narrow(0, 0, 1)?.repeat((batch, 1, 1, 1))?;
                *v = v.narrow(0, 0, 1)?.repeat((batch, 1, 1, 1))?;
            }
        }
        Ok(())
    }

    /// Tokens already decoded into this cache.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no token has been decoded yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The text decoder (`TextDecoder`).
#[derive(Debug, Clone)]
struct Decoder {
    /// The token embedding: f32 as loaded; f16 once the projection has
    /// dropped its f32 copy of the same table (the int8 decoder with
    /// VNNI), where the lookup of a few rows a step is all that reads it.
    embed: Embedding,
    /// The output projection: the token embedding, tied; with the int8
    /// decoder ([`CpuKernels::int8_decoder`]) an int8 copy beside it or
    /// instead ([`RowSplit::quantize`]).
    projection: RowSplit,
    positions: Tensor,
    blocks: Vec<Block>,
    ln: LayerNorm,
    /// What decoding steps on the host need, when they run there (the
    /// int8 decoder on the CPU, [`CpuKernels::int8_decoder`]).
    host: Option<host::HostDecoder>,
}

impl Decoder {
    fn load(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        let blocks = (0..cfg.decoder_layers)
            .map(|i| {
                Block::load(
                    d,
                    cfg.decoder_attention_heads,
                    cfg.decoder_ffn_dim,
                    true,
                    vb.pp(format!("layers.{i}")),
                )
            })
            .collect::<Result<_>>()?;
        let embed = candle_nn::embedding(cfg.vocab_size, d, vb.pp("embed_tokens"))?;
        Ok(Self {
            projection: RowSplit::new(embed.embeddings().clone(), None)?,
            embed,
            positions: vb.get((cfg.max_target_positions, d), "embed_positions.weight")?,
            blocks,
            ln: layer_norm(d, vb.pp("layer_norm"))?,
            host: None,
        })
    }

    /// The token embeddings of `ids`, in the network's precision (that of
    /// the positions) whatever the table is kept in.
    fn embed_tokens(&self, ids: &Tensor) -> Result<Tensor> {
        self.embed.forward(ids)?.to_dtype(self.positions.dtype())
    }
}

/// The CPU's own kernels a Whisper network runs on, chosen once at load
/// ([`Whisper::load`]); none of them is switched on or off later. Without
/// any (the default) the network is Candle's ops throughout, on any device.
/// On another device than the CPU, or with weights not in f32, none applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuKernels {
    /// The decoder's linear layers and output projection as int8 copies
    /// ([`Int8Rows`]), decoding steps on host buffers ([`host`]): a step
    /// reads a quarter of the bytes.
    pub int8_decoder: bool,
    /// The encoder's blocks in bf16 ([`TileEncoder`]) on AMX tiles,
    /// AVX-512 BF16 dot products, AVX2 or NEON FMA ([`crate::cpu::amx`]),
    /// where the tier in force has one of them.
    pub bf16_encoder: bool,
}

impl CpuKernels {
    /// Every kernel this module has: what the speech service runs on the CPU.
    pub const ALL: CpuKernels = CpuKernels {
        int8_decoder: true,
        bf16_encoder: true,
    };
}

/// Encoder and decoder, loaded from a Hugging Face Whisper checkpoint.
#[derive(Debug, Clone)]
pub struct Whisper {
    encoder: Encoder,
    decoder: Decoder,
    max_target_positions: usize,
}

impl Whisper {
    /// Load from a var builder rooted at the checkpoint (names start with
    /// `model.`), with the CPU kernels of `kernels` where they apply
    /// ([`Whisper::kernels`] says which did).
    pub fn load(cfg: &Config, vb: VarBuilder, kernels: CpuKernels) -> Result<Self> {
        // The kernels take f32 host memory; elsewhere none applies.
        let on_cpu = vb.device().is_cpu() && vb.dtype() == DType::F32;
        let bf16_encoder = kernels.bf16_encoder && on_cpu;
        let mut whisper = Self {
            encoder: Encoder::load(cfg, vb.pp("model.encoder"), bf16_encoder)?,
            decoder: Decoder::load(cfg, vb.pp("model.decoder"))?,
            max_target_positions: cfg.max_target_positions,
        };
        // The var builder holds every tensor of the checkpoint: the f32
        // weights the network no longer does (the encoder's, once packed)
        // go with it now, before the decoder's int8 copies are made, so
        // the peak at load is not all of them at once.
        drop(vb);
        if kernels.int8_decoder && on_cpu {
            whisper.quantize_decoder()?;
        }
        Ok(whisper)
    }

    /// The CPU kernels in use: those asked for at load that apply here.
    pub fn kernels(&self) -> CpuKernels {
        CpuKernels {
            int8_decoder: self.decoder.projection.int8().is_some(),
            bf16_encoder: matches!(self.encoder.layers, EncoderLayers::Bf16(_)),
        }
    }

    /// Encode a `[1, n_mels, 3000]` log-mel window into `[1, 1500, d]`
    /// audio features, in the network's precision.
    pub fn encode(&self, mel: &Tensor) -> Result<Tensor> {
        self.encoder
            .forward(&mel.to_dtype(self.encoder.positions.dtype())?)
    }

    /// A fresh decoder state for one window's audio features `[batch, 1500, d]`.
    pub fn new_cache(&self, audio_features: &Tensor) -> Result<KvCache> {
        let cross_kv = self
            .decoder
            .blocks
            .iter()
            .filter_map(|b| b.cross.as_ref())
            .map(|(attn, _)| attn.keys_values(audio_features))
            .collect::<Result<_>>()?;
        Ok(KvCache {
            state: CacheState::Tensors(TensorCache {
                self_kv: vec![None; self.decoder.blocks.len()],
                cross_kv,
            }),
            host_steps: self.decoder.host.is_some(),
            len: 0,
        })
    }

    /// Run `tokens` (appended after what `cache` holds) through the decoder
    /// and return the final hidden states `[1, tokens.len(), d]`.
    pub fn decode(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let ids = Tensor::new(tokens, self.decoder.positions.device())?.unsqueeze(0)?;
        self.decode_layers(&ids, cache, None)
    }

    /// Run `tokens` after what `cache` holds, like [`Whisper::decode`], and
    /// also return each decoder layer's cross-attention scores before the
    /// softmax, `[heads, tokens, audio positions]`: what word timestamps
    /// align (timing.py hooks the same `qk` of its alignment heads).
    pub fn decode_with_cross_scores(
        &self,
        tokens: &[u32],
        cache: &mut KvCache,
    ) -> Result<(Tensor, Vec<Tensor>)> {
        let ids = Tensor::new(tokens, self.decoder.positions.device())?.unsqueeze(0)?;
        let mut scores = Vec::with_capacity(self.decoder.blocks.len());
        let hidden = self.decode_layers(&ids, cache, Some(&mut scores))?;
        let scores = scores
            .into_iter()
            .map(|s| s.squeeze(0))
            .collect::<Result<_>>()?;
        Ok((hidden, scores))
    }

    /// The decoder proper; with `cross_scores`, each layer's cross-attention
    /// scores `[batch, heads, n, positions]` are pushed to it.
    fn decode_layers(
        &self,
        ids: &Tensor,
        cache: &mut KvCache,
        mut cross_scores: Option<&mut Vec<Tensor>>,
    ) -> Result<Tensor> {
        let (_, n) = ids.dims2()?;
        let offset = cache.len;
        let tensors = cache.tensors()?;
        if offset + n > self.max_target_positions {
            candle_core::bail!(
                "decoder context is {} tokens, asked for {}",
                self.max_target_positions,
                offset + n
            );
        }
        let device = self.decoder.positions.device();
        let mut x = self
            .decoder
            .embed_tokens(ids)?
            .broadcast_add(&self.decoder.positions.narrow(0, offset, n)?)?;
        // New token i (at position offset + i) may see cached positions and
        // new ones up to itself. One new token needs no mask.
        let mask = if n > 1 {
            let total = offset + n;
            let values: Vec<f32> = (0..n)
                .flat_map(|i| {
                    (0..total).map(move |j| {
                        if j > offset + i {
                            f32::NEG_INFINITY
                        } else {
                            0.0
                        }
                    })
                })
                .collect();
            Some(Tensor::from_vec(values, (n, total), device)?.to_dtype(x.dtype())?)
        } else {
            None
        };
        for (i, block) in self.decoder.blocks.iter().enumerate() {
            let h = block.attn_ln.forward(&x)?;
            let (k_new, v_new) = block.attn.keys_values(&h)?;
            let (k, v) = match tensors.self_kv[i].take() {
                Some((k, v)) => (
                    Tensor::cat(&[&k, &k_new], 2)?,
                    Tensor::cat(&[&v, &v_new], 2)?,
                ),
                None => (k_new, v_new),
            };
            x = (&x + block.attn.attend(&h, &k, &v, mask.as_ref())?)?;
            tensors.self_kv[i] = Some((k, v));
            if let (Some((attn, ln)), Some((ck, cv))) = (&block.cross, tensors.cross_kv.get(i)) {
                let scores = attn.scores(&ln.forward(&x)?, ck)?;
                if let Some(collected) = cross_scores.as_deref_mut() {
                    collected.push(scores.clone());
                }
                x = (&x + attn.weigh(scores, cv, None)?)?;
            }
            x = block.mlp(&x)?;
        }
        cache.len += n;
        self.decoder.ln.forward(&x)
    }

    /// One decoding step of several independent sequences at once: for
    /// each `(tokens, cache)`, the next token of every row of its cache
    /// (one row for greedy decoding, one per beam), appended to it. Returns
    /// each sequence's logits, `[rows, vocab]`.
    ///
    /// The linear layers and the output projection take every sequence's
    /// rows in one product (the weights are read once per step, not once
    /// per sequence); attention runs per sequence over its own cache. With
    /// the int8 decoder ([`CpuKernels::int8_decoder`]) each row's numbers
    /// are the ones it gets alone.
    pub fn step_many(&self, steps: &mut [(&[u32], &mut KvCache)]) -> Result<Vec<Tensor>> {
        if let Some(on_host) = &self.decoder.host {
            for (_, cache) in steps.iter_mut() {
                cache.to_host()?;
            }
            return host::step_many(&self.decoder, on_host, self.max_target_positions, steps);
        }
        let device = self.decoder.positions.device();
        let mut sizes = Vec::with_capacity(steps.len());
        let mut embedded = Vec::with_capacity(steps.len());
        for (tokens, cache) in steps.iter_mut() {
            let position = cache.len;
            let batch = cache
                .tensors()?
                .self_kv
                .first()
                .and_then(|kv| kv.as_ref())
                .map_or(Ok(1), |(k, _)| k.dim(0))?;
            if tokens.len() != batch || position >= self.max_target_positions {
                candle_core::bail!(
                    "a decoding step needs one token per cache row ({batch}, got {}) and room in the context",
                    tokens.len()
                );
            }
            let ids = Tensor::new(*tokens, device)?.unsqueeze(1)?;
            embedded.push(
                self.decoder
                    .embed_tokens(&ids)?
                    .broadcast_add(&self.decoder.positions.narrow(0, position, 1)?)?,
            );
            sizes.push(batch);
        }
        let mut x = Tensor::cat(&embedded, 0)?;
        for (layer, block) in self.decoder.blocks.iter().enumerate() {
            let h = block.attn_ln.forward(&x)?;
            let (q, k, v) = (
                block.attn.query.forward(&h)?,
                block.attn.key.forward(&h)?,
                block.attn.value.forward(&h)?,
            );
            let mut outputs = Vec::with_capacity(steps.len());
            let mut start = 0;
            for ((_, cache), &n) in steps.iter_mut().zip(&sizes) {
                let k_new = block.attn.split_heads(&k.narrow(0, start, n)?)?;
                let v_new = block.attn.split_heads(&v.narrow(0, start, n)?)?;
                let tensors = cache.tensors()?;
                let (k_all, v_all) = match tensors.self_kv[layer].take() {
                    Some((k, v)) => (
                        Tensor::cat(&[&k, &k_new], 2)?,
                        Tensor::cat(&[&v, &v_new], 2)?,
                    ),
                    None => (k_new, v_new),
                };
                outputs.push(block.attn.attend_projected(
                    &q.narrow(0, start, n)?,
                    &k_all,
                    &v_all,
                )?);
                tensors.self_kv[layer] = Some((k_all, v_all));
                start += n;
            }
            x = (&x + block.attn.out.forward(&Tensor::cat(&outputs, 0)?)?)?;
            if let Some((attn, ln)) = &block.cross {
                let q = attn.query.forward(&ln.forward(&x)?)?;
                let mut outputs = Vec::with_capacity(steps.len());
                let mut start = 0;
                for ((_, cache), &n) in steps.iter_mut().zip(&sizes) {
                    let Some((ck, cv)) = cache.tensors()?.cross_kv.get(layer) else {
                        candle_core::bail!("a decoder cache without cross-attention keys");
                    };
                    outputs.push(attn.attend_projected(&q.narrow(0, start, n)?, ck, cv)?);
                    start += n;
                }
                x = (&x + attn.out.forward(&Tensor::cat(&outputs, 0)?)?)?;
            }
            x = block.mlp(&x)?;
        }
        for (_, cache) in steps.iter_mut() {
            cache.len += 1;
        }
        let logits = self.logits(&self.decoder.ln.forward(&x)?.squeeze(1)?)?;
        let mut start = 0;
        sizes
            .iter()
            .map(|&n| {
                let rows = logits.narrow(0, start, n);
                start += n;
                rows
            })
            .collect()
    }

    /// Logits over the vocabulary for hidden states `[rows, d]` → `[rows, vocab]`,
    /// with the output projection tied to the token embedding; in f32
    /// whatever the network computes in, as the logit rules read them.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        self.decoder
            .projection
            .forward(hidden)?
            .to_dtype(DType::F32)
    }

    /// At load ([`CpuKernels::int8_decoder`]): the output projection as
    /// int8 rows ([`Int8Rows`]), a quarter of the bytes read per token, and
    /// the decoder's linear layers (self-attention, the cross-attention
    /// queries and output, the MLP) for decoding steps: a step then reads
    /// int8 weights only. The cross-attention keys and values, computed once per window
    /// over every audio position, are int8 products too where the CPU has
    /// VNNI and Candle's f32 gemm elsewhere (the faster of the two there).
    /// With VNNI every product of these layers and the projection is int8,
    /// and their f32 weights are dropped ([`RowSplit::Int8`]); the token
    /// table, which only the lookups then read, is kept in f16 (a 2,048th
    /// of a value at most, far below the int8 rounding of every weight
    /// after it; half the bytes of f32).
    fn quantize_decoder(&mut self) -> Result<()> {
        self.decoder.projection.quantize()?;
        for block in &mut self.decoder.blocks {
            for linear in [
                &mut block.attn.query,
                &mut block.attn.key,
                &mut block.attn.value,
                &mut block.attn.out,
                &mut block.fc1,
                &mut block.fc2,
            ] {
                linear.quantize()?;
            }
            if let Some((cross, _)) = &mut block.cross {
                cross.query.quantize()?;
                cross.out.quantize()?;
                // A window's keys and values: 1,500 rows, which only VNNI's
                // integer products do faster than Candle's f32 gemm.
                if crate::cpu::tier().avx512_vnni() {
                    cross.key.quantize()?;
                    cross.value.quantize()?;
                }
            }
        }
        // Last, once the layers' f32 weights are gone: the f16 table and
        // the f32 one are briefly both alive.
        if self.decoder.projection.f32_linear().is_none() {
            let table = self.decoder.embed.embeddings();
            let width = table.dim(1)?;
            self.decoder.embed = Embedding::new(table.to_dtype(DType::F16)?, width);
        }
        self.decoder.host = host::HostDecoder::new(&self.decoder)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn row_split_equals_the_whole_product() {
        let dev = Device::Cpu;
        // An odd output size, so the last slice is shorter.
        let weight = Tensor::randn(0f32, 1.0, (1001, 96), &dev).unwrap();
        let bias = Tensor::randn(0f32, 1.0, 1001, &dev).unwrap();
        let split = RowSplit::new(weight.clone(), Some(bias.clone())).unwrap();
        let whole = Linear::new(weight, Some(bias));
        for shape in [(1, 1, 96), (1, 3, 96), (2, 1, 96)] {
            let x = Tensor::randn(0f32, 1.0, shape, &dev).unwrap();
            let a: Vec<f32> = split
                .forward(&x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let b: Vec<f32> = whole
                .forward(&x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            assert_eq!(a, b, "{shape:?}");
        }
    }

    #[test]
    fn gelu_is_candles_within_its_erf_error() {
        let x = Tensor::randn(0f32, 3.0, (3, 70_001), &Device::Cpu).unwrap();
        let ours: Vec<f32> = gelu(&x).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let theirs: Vec<f32> = x
            .gelu_erf()
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let values: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
        for ((a, b), v) in ours.iter().zip(&theirs).zip(&values) {
            assert!((a - b).abs() <= 1e-6 * v.abs().max(1.0), "{v}: {a} vs {b}");
        }
    }
}
