//! Decoding steps on the CPU outside Candle, for the int8 decoder: the
//! step's linear layers through [`products`], its attention through
//! [`crate::cpu::rows`]' row kernels, on plain host buffers ([`HostCache`]).
//!
//! Why: a step is a few thousand multiply-adds per Candle op for each
//! stream, and Candle's per-op cost (allocating every result, shape checks,
//! a copy of the whole self-attention cache at every `cat`) was about 40%
//! of a step once the weights were int8 (profile in `loadtest/RESULTS.md`).
//! Here a step allocates a handful of row buffers, appends one position to
//! a cache that grows in place, and reads each window's cross-attention
//! keys as panels ([`crate::cpu::rows::attend_panels`]) in the order they are
//! stored.
//!
//! What stays with Candle: a window's prompt (many rows at once, where its
//! f32 gemm is the right tool), language detection and the word-alignment
//! pass. A cache moves to the host before its first step
//! ([`KvCache::to_host`]) and takes no prompt after that.
//!
//! Every row is computed alone (its own dot products, its own attention),
//! so a batch of streams gives each the numbers it gets alone.

use candle_core::{Result, Tensor};
use rayon::prelude::*;

use super::{Decoder, KvCache};
use crate::cpu::rows::{HEAD, PANEL};
use crate::whisper::int8::{Int8Rows, products};
use crate::whisper::tile_encoder::Norm;

/// What the host steps need beyond the int8 weights: the layer norms and
/// positions as plain vectors.
#[derive(Debug, Clone)]
pub(super) struct HostDecoder {
    positions: Vec<f32>,
    /// Per block: before self-attention, before cross-attention, before the MLP.
    norms: Vec<[Norm; 3]>,
    final_norm: Norm,
    /// Attention heads, each [`HEAD`] wide: the model width is `heads · HEAD`.
    heads: usize,
}

impl HostDecoder {
    /// For `decoder`, whose linear layers and projection are int8. `None`
    /// where the host steps do not apply: weights off the CPU or not f32,
    /// heads other than [`HEAD`] wide, a layer without its int8 copy.
    pub(super) fn new(decoder: &Decoder) -> Result<Option<Self>> {
        let positions = &decoder.positions;
        let (_, d) = positions.dims2()?;
        let heads = decoder.blocks.first().map_or(0, |b| b.attn.n_head);
        let on_host = positions.device().is_cpu()
            && positions.dtype() == candle_core::DType::F32
            && matches!(
                decoder.embed.embeddings().dtype(),
                candle_core::DType::F32 | candle_core::DType::F16
            );
        if !on_host || heads == 0 || d != heads * HEAD || layers(decoder).is_none() {
            return Ok(None);
        }
        let mut norms = Vec::with_capacity(decoder.blocks.len());
        for block in &decoder.blocks {
            let Some((_, cross_ln)) = &block.cross else {
                return Ok(None);
            };
            norms.push([
                Norm::from_candle(&block.attn_ln)?,
                Norm::from_candle(cross_ln)?,
                Norm::from_candle(&block.mlp_ln)?,
            ]);
        }
        Ok(Some(Self {
            positions: positions.flatten_all()?.to_vec1()?,
            norms,
            final_norm: Norm::from_candle(&decoder.ln)?,
            heads,
        }))
    }
}

/// One block's int8 layers, borrowed from the decoder.
struct Layers<'a> {
    query: &'a Int8Rows,
    key: &'a Int8Rows,
    value: &'a Int8Rows,
    out: &'a Int8Rows,
    cross_query: &'a Int8Rows,
    cross_out: &'a Int8Rows,
    fc1: &'a Int8Rows,
    fc2: &'a Int8Rows,
}

/// Every block's int8 layers, or `None` if one is missing.
fn layers(decoder: &Decoder) -> Option<Vec<Layers<'_>>> {
    decoder
        .blocks
        .iter()
        .map(|b| {
            let (cross, _) = b.cross.as_ref()?;
            Some(Layers {
                query: b.attn.query.int8()?,
                key: b.attn.key.int8()?,
                value: b.attn.value.int8()?,
                out: b.attn.out.int8()?,
                cross_query: cross.query.int8()?,
                cross_out: cross.out.int8()?,
                fc1: b.fc1.int8()?,
                fc2: b.fc2.int8()?,
            })
        })
        .collect()
}

/// A window's decoder state as host buffers, per block.
#[derive(Debug, Clone, Default)]
pub(super) struct HostCache {
    /// Rows decoded side by side (beams), each with its own keys/values.
    rows: usize,
    /// The model width (`heads · HEAD`).
    width: usize,
    layers: Vec<HostLayer>,
}

#[derive(Debug, Clone, Default)]
struct HostLayer {
    /// Self-attention keys and values, `[position, row, d]`: a step
    /// appends one position of every row at the end.
    keys: Vec<f32>,
    values: Vec<f32>,
    /// Cross-attention keys as panels ([`crate::cpu::rows::key_panels`]) and
    /// values `[heads, audio, HEAD]`, shared by every row, in bf16: a step
    /// reads all of them (9 MB a token for tiny in f32, most of what a
    /// batched step reads per stream), and bf16 halves that; sums stay f32.
    cross_panels: Vec<half::bf16>,
    cross_values: Vec<half::bf16>,
    audio: usize,
}

impl HostCache {
    /// From Candle's per-block self-attention keys/values `[rows, heads,
    /// positions, HEAD]` (none before the first token) and cross-attention
    /// keys/values `[batch, heads, audio, HEAD]` (row 0 is used: every row
    /// of a window attends to the same audio).
    pub(super) fn from_tensors(
        self_kv: &[Option<(Tensor, Tensor)>],
        cross_kv: &[(Tensor, Tensor)],
    ) -> Result<Self> {
        let mut rows = 1;
        let mut model_width = 0;
        let mut layers = Vec::with_capacity(cross_kv.len());
        for (i, (ck, cv)) in cross_kv.iter().enumerate() {
            let (_, heads, audio, width) = ck.dims4()?;
            if width != HEAD {
                candle_core::bail!("host steps need {HEAD}-wide heads, got {width}");
            }
            model_width = heads * HEAD;
            let first =
                |t: &Tensor| -> Result<Vec<f32>> { t.narrow(0, 0, 1)?.flatten_all()?.to_vec1() };
            // `[rows, heads, positions, HEAD]` → `[positions, rows, heads·HEAD]`.
            let by_position = |t: &Tensor| -> Result<Vec<f32>> {
                t.permute((2, 0, 1, 3))?
                    .contiguous()?
                    .flatten_all()?
                    .to_vec1()
            };
            let (keys, values) = match self_kv.get(i).and_then(Option::as_ref) {
                Some((k, v)) => {
                    rows = k.dim(0)?;
                    (by_position(k)?, by_position(v)?)
                }
                None => (Vec::new(), Vec::new()),
            };
            let cross_values = first(cv)?;
            let mut rounded = vec![half::bf16::ZERO; cross_values.len()];
            crate::cpu::rows::convert(&cross_values, &mut rounded);
            layers.push(HostLayer {
                keys,
                values,
                cross_panels: crate::cpu::rows::key_panels(&first(ck)?, heads, audio),
                cross_values: rounded,
                audio,
            });
        }
        Ok(Self {
            rows,
            width: model_width,
            layers,
        })
    }

    /// Keep the rows `rows` (indices, repeats allowed) of the
    /// self-attention part, in that order (beam search).
    pub(super) fn reorder(&mut self, rows: &[u32]) -> Result<()> {
        if let Some(&bad) = rows.iter().find(|&&r| r as usize >= self.rows) {
            candle_core::bail!("no row {bad} in a cache of {} rows", self.rows);
        }
        let (old, d) = (self.rows, self.width);
        for layer in &mut self.layers {
            for buffer in [&mut layer.keys, &mut layer.values] {
                let mut kept = Vec::with_capacity(buffer.len() / old.max(1) * rows.len());
                for position in buffer.chunks_exact((old * d).max(1)) {
                    for &row in rows {
                        kept.extend_from_slice(&position[row as usize * d..][..d]);
                    }
                }
                *buffer = kept;
            }
        }
        self.rows = rows.len();
        Ok(())
    }

    /// Positions in the self-attention part.
    fn positions(&self, layer: &HostLayer) -> usize {
        layer.keys.len() / (self.rows * self.width).max(1)
    }
}

/// The token table as the decoder keeps it (see `Decoder::embed`).
#[derive(Clone, Copy)]
enum TokenTable<'a> {
    F32(&'a [f32]),
    F16(&'a [half::f16]),
}

impl TokenTable<'_> {
    /// Append `token`'s row (`position.len()` wide) plus `position` to
    /// `out`; false when the token is outside the table.
    fn push_embedded(self, token: u32, position: &[f32], out: &mut Vec<f32>) -> bool {
        let d = position.len();
        let rows = token as usize * d..(token as usize + 1) * d;
        let found = match self {
            Self::F32(table) => table
                .get(rows)
                .map(|e| out.extend(e.iter().zip(position).map(|(e, p)| e + p))),
            Self::F16(table) => table
                .get(rows)
                .map(|e| out.extend(e.iter().zip(position).map(|(e, p)| e.to_f32() + p))),
        };
        found.is_some()
    }
}

/// A decoding step of several sequences ([`super::Whisper::step_many`]) on
/// the host: every cache must be on the host ([`KvCache::to_host`]).
/// Returns each sequence's logits `[rows, vocab]`.
pub(super) fn step_many(
    decoder: &Decoder,
    host: &HostDecoder,
    max_positions: usize,
    steps: &mut [(&[u32], &mut KvCache)],
) -> Result<Vec<Tensor>> {
    let Some(layers) = layers(decoder) else {
        candle_core::bail!("host steps need the int8 decoder");
    };
    let Some(projection) = decoder.projection.int8() else {
        candle_core::bail!("host steps need the int8 projection");
    };
    let d = host.heads * HEAD;
    // Per row of the batch: which sequence, which of its rows.
    let mut owners = Vec::new();
    let mut x = Vec::new();
    {
        let table = decoder.embed.embeddings();
        let (storage, layout) = table.storage_and_layout();
        let candle_core::Storage::Cpu(cpu) = &*storage else {
            candle_core::bail!("host steps need the token table in host memory");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("the token table is not contiguous");
        };
        let table = match table.dtype() {
            candle_core::DType::F16 => TokenTable::F16(&cpu.as_slice::<half::f16>()?[start..end]),
            _ => TokenTable::F32(&cpu.as_slice::<f32>()?[start..end]),
        };
        for (sequence, (tokens, cache)) in steps.iter().enumerate() {
            let Some(cached) = cache.host() else {
                candle_core::bail!("a decoding step on a cache that is not on the host");
            };
            if tokens.len() != cached.rows || cache.len >= max_positions {
                candle_core::bail!(
                    "a decoding step needs one token per cache row ({}, got {}) and room in the context",
                    cached.rows,
                    tokens.len()
                );
            }
            let position = &host.positions[cache.len * d..][..d];
            for (row, &token) in tokens.iter().enumerate() {
                if !table.push_embedded(token, position, &mut x) {
                    candle_core::bail!("token {token} is outside the vocabulary");
                }
                owners.push((sequence, row));
            }
        }
    }
    let n = owners.len();
    let heads = host.heads;
    // 1/√64 = 1/8: exact, so scaling the queries is scaling the scores.
    let scale = (HEAD as f32).powf(-0.5);
    for (i, (layer, norms)) in layers.iter().zip(&host.norms).enumerate() {
        let h = normalise(&norms[0], &x, d);
        let [mut q, k, v]: [Vec<f32>; 3] = products(&[layer.query, layer.key, layer.value], &h, n)?
            .try_into()
            .map_err(|_| candle_core::Error::Msg("three products expected".into()))?;
        q.iter_mut().for_each(|v| *v *= scale);
        for (row, (k, v)) in k.chunks_exact(d).zip(v.chunks_exact(d)).enumerate() {
            let (sequence, _) = owners[row];
            let cached = host_layer(steps, sequence, i)?;
            cached.keys.extend_from_slice(k);
            cached.values.extend_from_slice(v);
        }
        let attended = attend(&q, &owners, steps, heads, i, Attention::SelfCached)?;
        add(&mut x, &products(&[layer.out], &attended, n)?[0]);

        let h = normalise(&norms[1], &x, d);
        let mut q = products(&[layer.cross_query], &h, n)?.swap_remove(0);
        q.iter_mut().for_each(|v| *v *= scale);
        let attended = attend(&q, &owners, steps, heads, i, Attention::Cross)?;
        add(&mut x, &products(&[layer.cross_out], &attended, n)?[0]);

        let h = normalise(&norms[2], &x, d);
        let mut hidden = products(&[layer.fc1], &h, n)?.swap_remove(0);
        let width = hidden.len() / n.max(1);
        hidden
            .par_chunks_mut(width.max(1))
            .for_each(crate::cpu::rows::gelu);
        add(&mut x, &products(&[layer.fc2], &hidden, n)?[0]);
    }
    for (_, cache) in steps.iter_mut() {
        cache.len += 1;
    }
    let h = normalise(&host.final_norm, &x, d);
    let logits = products(&[projection], &h, n)?.swap_remove(0);
    let vocab = projection.rows();
    let mut out = Vec::with_capacity(steps.len());
    let mut start = 0;
    for (tokens, _) in steps.iter() {
        let rows = tokens.len();
        out.push(Tensor::from_slice(
            &logits[start * vocab..(start + rows) * vocab],
            (rows, vocab),
            &candle_core::Device::Cpu,
        )?);
        start += rows;
    }
    Ok(out)
}

fn host_layer<'a>(
    steps: &'a mut [(&[u32], &mut KvCache)],
    sequence: usize,
    layer: usize,
) -> Result<&'a mut HostLayer> {
    steps
        .get_mut(sequence)
        .and_then(|(_, cache)| cache.host_mut())
        .and_then(|host| host.layers.get_mut(layer))
        .ok_or_else(|| candle_core::Error::Msg(format!("no decoder layer {layer} in a cache")))
}

/// Which attention [`attend`] runs.
#[derive(Debug, Clone, Copy)]
enum Attention {
    /// Over the sequence's own tokens so far (the new one included).
    SelfCached,
    /// Over the window's audio.
    Cross,
}

/// Attention of block `layer` for every row and head of `q` (`[n, heads ·
/// HEAD]`, scaled) in parallel; returns `[n, heads · HEAD]`.
fn attend(
    q: &[f32],
    owners: &[(usize, usize)],
    steps: &[(&[u32], &mut KvCache)],
    heads: usize,
    layer: usize,
    kind: Attention,
) -> Result<Vec<f32>> {
    let mut caches = Vec::with_capacity(steps.len());
    for (_, cache) in steps {
        let Some(host) = cache.host() else {
            candle_core::bail!("a decoding step on a cache that is not on the host");
        };
        let Some(at) = host.layers.get(layer) else {
            candle_core::bail!("no decoder layer {layer} in a cache");
        };
        caches.push((host, at));
    }
    // Scratch for the scores: the longer of the audio and the context.
    let longest = caches
        .iter()
        .map(|(host, at)| at.audio.max(host.positions(at)))
        .max()
        .unwrap_or(0);
    let d = heads * HEAD;
    let mut out = vec![0f32; q.len()];
    out.par_chunks_mut(HEAD)
        .zip(q.par_chunks(HEAD))
        .enumerate()
        .for_each_init(
            || vec![0f32; longest],
            |scores, (index, (out, q))| {
                let (sequence, row) = owners[index / heads];
                let (host, at) = caches[sequence];
                let head = index % heads;
                match kind {
                    Attention::SelfCached => {
                        let offset = row * d + head * HEAD;
                        crate::cpu::rows::attend_cached(
                            q,
                            &at.keys[offset..],
                            &at.values[offset..],
                            host.rows * d,
                            host.positions(at),
                            scores,
                            out,
                        );
                    }
                    Attention::Cross => {
                        let panels = at.audio.div_ceil(PANEL) * HEAD * PANEL;
                        let values = at.audio * HEAD;
                        crate::cpu::rows::attend_panels(
                            q,
                            &at.cross_panels[head * panels..][..panels],
                            &at.cross_values[head * values..][..values],
                            at.audio,
                            scores,
                            out,
                        );
                    }
                }
            },
        );
    Ok(out)
}

/// `x` normalised row by row (`d` wide).
fn normalise(norm: &Norm, x: &[f32], d: usize) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    for (row, out) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        crate::cpu::rows::layer_norm(row, &norm.weight, &norm.bias, out);
    }
    out
}

/// `x += y`.
fn add(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CpuKernels, Whisper};
    use super::*;
    use candle_core::{DType, Device, Shape};
    use candle_nn::VarBuilder;

    /// Random weights for any name: layer norms near 1, the rest small.
    struct RandomWeights;

    impl candle_nn::var_builder::SimpleBackend for RandomWeights {
        fn get(
            &self,
            s: Shape,
            name: &str,
            _: candle_nn::Init,
            dtype: DType,
            dev: &Device,
        ) -> Result<Tensor> {
            let norm = name.contains("layer_norm") && name.ends_with("weight");
            let t = Tensor::randn(0f32, if norm { 0.1 } else { 0.2 }, s, dev)?;
            (if norm { (t + 1.0)? } else { t }).to_dtype(dtype)
        }

        fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> Result<Tensor> {
            candle_core::bail!("no shape for {name}")
        }

        fn contains_tensor(&self, _: &str) -> bool {
            true
        }
    }

    const D: usize = 2 * HEAD;

    /// A small random Whisper, int8 decoder, steps on the host; and the same
    /// weights stepping with Candle.
    fn models() -> (Whisper, Whisper) {
        let config: crate::whisper::Config = serde_json::from_value(serde_json::json!({
            "num_mel_bins": 8, "max_source_positions": 100, "d_model": D,
            "encoder_attention_heads": 2, "encoder_layers": 1, "vocab_size": 300,
            "max_target_positions": 40, "decoder_attention_heads": 2, "decoder_layers": 2,
            "encoder_ffn_dim": 4 * D, "decoder_ffn_dim": 4 * D,
        }))
        .unwrap();
        let vb = VarBuilder::from_backend(Box::new(RandomWeights), DType::F32, Device::Cpu);
        let kernels = CpuKernels {
            int8_decoder: true,
            bf16_encoder: false,
        };
        let host = Whisper::load(&config, vb, kernels).unwrap();
        assert!(host.decoder.host.is_some());
        let mut candle = host.clone();
        candle.decoder.host = None;
        (host, candle)
    }

    /// Audio features of `positions` positions (not a multiple of a panel).
    fn features(positions: usize) -> Tensor {
        Tensor::randn(0f32, 1.0, (1, positions, D), &Device::Cpu).unwrap()
    }

    fn rows(t: &Tensor) -> Vec<Vec<f32>> {
        t.to_vec2().unwrap()
    }

    /// The same random audio features of `positions` positions and the
    /// same `prompt` decoded into a cache of each model. Candle's then has
    /// its cross-attention keys and values rounded to bf16, as the host
    /// keeps them from its first step on (the prompt before it ran with f32
    /// on both): what is compared is then the steps.
    fn prompted(
        host: &Whisper,
        candle: &Whisper,
        positions: usize,
        prompt: &[u32],
    ) -> (KvCache, KvCache) {
        let audio = features(positions);
        let mut on_host = host.new_cache(&audio).unwrap();
        let mut with_candle = candle.new_cache(&audio).unwrap();
        host.decode(prompt, &mut on_host).unwrap();
        candle.decode(prompt, &mut with_candle).unwrap();
        for (k, v) in &mut with_candle.tensors().unwrap().cross_kv {
            for t in [k, v] {
                *t = t
                    .to_dtype(DType::BF16)
                    .unwrap()
                    .to_dtype(DType::F32)
                    .unwrap();
            }
        }
        (on_host, with_candle)
    }

    /// Within 5e-4 of the largest logit. The two paths' attention and
    /// layer norms sum in different orders, and the int8 products round
    /// their inputs, so a last-bit difference of an input may move it
    /// across a rounding boundary: a step of the fine plane
    /// (`crate::cpu::int8::Int8Inputs`), a few 1e-5 of the row's largest value
    /// each, compounding over the layers.
    fn assert_close(a: &[Vec<f32>], b: &[Vec<f32>]) {
        assert_eq!(a.len(), b.len());
        for (a, b) in a.iter().zip(b) {
            let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() <= 5e-4 * scale, "{x} vs {y} (scale {scale})");
            }
        }
    }

    #[test]
    fn host_steps_give_candles_logits() {
        let (host, candle) = models();
        let (mut on_host, mut with_candle) = prompted(&host, &candle, 100, &[1, 2, 3]);
        for token in [7, 250, 0, 42, 42, 299] {
            let a = host.step_many(&mut [(&[token][..], &mut on_host)]).unwrap();
            let b = candle
                .step_many(&mut [(&[token][..], &mut with_candle)])
                .unwrap();
            assert_close(&rows(&a[0]), &rows(&b[0]));
        }
        assert!(on_host.host().is_some() && with_candle.host().is_none());
        assert_eq!(on_host.len(), 9);
        // No prompt once on the host; no token outside the vocabulary.
        assert!(host.decode(&[4], &mut on_host).is_err());
        assert!(host.step_many(&mut [(&[300][..], &mut on_host)]).is_err());
    }

    #[test]
    fn beams_fork_on_the_host_as_with_candle() {
        let (host, candle) = models();
        let (mut on_host, mut with_candle) = prompted(&host, &candle, 70, &[5, 6]);
        for (order, tokens) in [
            (vec![0, 0, 0], vec![10, 11, 12]),
            (vec![2, 0, 1], vec![13, 14, 15]),
            (vec![1, 1], vec![16, 17]),
        ] {
            on_host.reorder(&order).unwrap();
            with_candle.reorder(&order).unwrap();
            let a = host.step_many(&mut [(&tokens[..], &mut on_host)]).unwrap();
            let b = candle
                .step_many(&mut [(&tokens[..], &mut with_candle)])
                .unwrap();
            assert_close(&rows(&a[0]), &rows(&b[0]));
        }
        assert!(on_host.reorder(&[2]).is_err());
    }

    #[test]
    fn a_batch_of_sequences_steps_as_each_alone() {
        let (host, _) = models();
        let prompts: [&[u32]; 3] = [&[1], &[2, 3, 4, 5], &[6, 7]];
        let caches = || -> Vec<KvCache> {
            prompts
                .iter()
                .enumerate()
                .map(|(i, prompt)| {
                    let mut cache = host.new_cache(&features(30 + 40 * i)).unwrap();
                    host.decode(prompt, &mut cache).unwrap();
                    cache
                })
                .collect()
        };
        // Features are random: make both sets of caches from the same ones.
        let mut together = caches();
        let mut alone = together.clone();
        for token in [3, 9, 27] {
            let tokens = [token];
            let mut steps: Vec<(&[u32], &mut KvCache)> =
                together.iter_mut().map(|c| (&tokens[..], c)).collect();
            let batched = host.step_many(&mut steps).unwrap();
            for (cache, batched) in alone.iter_mut().zip(&batched) {
                let single = host.step_many(&mut [(&[token][..], cache)]).unwrap();
                assert_eq!(rows(&single[0]), rows(batched));
            }
        }
    }
}
