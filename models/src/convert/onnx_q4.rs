//! 4-bit ONNX (MatMulNBits) → `model.safetensors` (f32) with Hugging Face
//! names, so candle's `BertModel` loads it like any Hugging Face checkpoint.
//!
//! Rampart ships only `onnx/model_q4.onnx` (exported by optimum, quantized by
//! onnx's tools; see docs/MODELS.md "Rampart's 4-bit ONNX"). Three kinds of
//! initializer occur, each handled here:
//! - `MatMulNBits` weights (com.microsoft): packed 4-bit values, low nibble
//!   first, `[N, K/block, block/2]` bytes plus `[N, K/block]` scales, zero
//!   point 8 unless a zero-point input is given. De-quantized to the PyTorch
//!   Linear layout `[N, K]` and named from the node name:
//!   `/bert/encoder/layer.0/attention/self/query/MatMul_Q4` →
//!   `bert.encoder.layer.0.attention.self.query.weight`.
//! - Embedding tables as `X_quantized` (uint8/int8) with per-tensor
//!   `X_scale` and `X_zero_point` (consumed by DequantizeLinear after the
//!   Gather): value = (q − zero_point) × scale, named `X`.
//! - Plain float initializers that already carry Hugging Face names (biases,
//!   LayerNorm, `classifier.bias`): copied as they are.
//!
//! Anything else (graph constants named `onnx::…` or `/…`) is not a model
//! parameter and is left out.

use super::onnx_proto::{self, DataType, Node, TensorProto};
use crate::{ModelError, Result};
use candle_core::{Device, Tensor};
use std::collections::{HashMap, HashSet};
use std::path::Path;

const WHAT: &str = "4-bit ONNX model";

fn bad(detail: impl Into<String>) -> ModelError {
    ModelError::format(WHAT, detail)
}

/// De-quantize every weight of `onnx` into f32 tensors named as the Hugging
/// Face checkpoint names them and write `out_dir/model.safetensors`.
pub fn convert(onnx: &Path, out_dir: &Path) -> Result<()> {
    let bytes = std::fs::read(onnx).map_err(|e| ModelError::io("read", onnx, e))?;
    let tensors = dequantize(&bytes)?;
    std::fs::create_dir_all(out_dir).map_err(|e| ModelError::io("create", out_dir, e))?;
    let device = Device::Cpu;
    let mut out = HashMap::with_capacity(tensors.len());
    for (name, (shape, values)) in tensors {
        out.insert(name, Tensor::from_vec(values, shape, &device)?);
    }
    let path = out_dir.join("model.safetensors");
    candle_core::safetensors::save(&out, &path)?;
    tracing::debug!(tensors = out.len(), path = %path.display(), "wrote de-quantized model");
    Ok(())
}

/// A de-quantized tensor: shape and row-major f32 values.
type Dense = (Vec<usize>, Vec<f32>);

/// Decode the ONNX bytes into named f32 tensors (the work of [`convert`],
/// without the file system).
pub fn dequantize(bytes: &[u8]) -> Result<HashMap<String, Dense>> {
    let model = onnx_proto::parse_model(bytes)?;
    let graph = &model.graph;
    let initializers: HashMap<&str, &TensorProto<'_>> = graph
        .initializers
        .iter()
        .map(|tensor| (tensor.name, tensor))
        .collect();
    let find = |name: &str| {
        initializers
            .get(name)
            .copied()
            .ok_or_else(|| bad(format!("initializer {name} is missing")))
    };

    let mut out: HashMap<String, Dense> = HashMap::new();
    // Initializers consumed by a quantized form are not copied again as floats.
    let mut consumed: HashSet<&str> = HashSet::new();

    for node in graph.nodes.iter().filter(|n| n.op_type == "MatMulNBits") {
        let name = linear_weight_name(node.name)?;
        let packed = find(input(node, 1)?)?;
        let scales = find(input(node, 2)?)?;
        let zero_points = match node.inputs.get(3).copied().filter(|s| !s.is_empty()) {
            Some(zp) => Some(find(zp)?),
            None => None,
        };
        if node.inputs.iter().skip(4).any(|s| !s.is_empty()) {
            return Err(bad(format!(
                "node {} has g_idx or bias inputs, which are not supported",
                node.name
            )));
        }
        let weight = dequantize_matmul_nbits(node, packed, scales, zero_points)?;
        consumed.extend([packed.name, scales.name]);
        consumed.extend(zero_points.map(|z| z.name));
        insert_unique(&mut out, name, weight)?;
    }

    for tensor in &graph.initializers {
        let Some(base) = tensor.name.strip_suffix("_quantized") else {
            continue;
        };
        let scale = find(&format!("{base}_scale"))?;
        let zero_point = find(&format!("{base}_zero_point"))?;
        let weight = dequantize_linear(tensor, scale, zero_point)?;
        consumed.extend([tensor.name, scale.name, zero_point.name]);
        insert_unique(&mut out, base.to_string(), weight)?;
    }

    for tensor in &graph.initializers {
        if consumed.contains(tensor.name)
            || !is_hf_parameter_name(tensor.name)
            || !matches!(tensor.data_type, DataType::Float | DataType::Float16)
        {
            continue;
        }
        let weight = (tensor.shape()?, tensor.to_f32()?);
        insert_unique(&mut out, tensor.name.to_string(), weight)?;
    }

    if out.is_empty() {
        return Err(bad("no weights found"));
    }
    Ok(out)
}

fn insert_unique(out: &mut HashMap<String, Dense>, name: String, weight: Dense) -> Result<()> {
    if out.contains_key(&name) {
        return Err(bad(format!("two tensors would be named {name}")));
    }
    out.insert(name, weight);
    Ok(())
}

fn input<'a>(node: &Node<'a>, index: usize) -> Result<&'a str> {
    node.inputs
        .get(index)
        .copied()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(format!("node {} lacks input {index}", node.name)))
}

/// `/bert/encoder/layer.0/attention/self/query/MatMul_Q4` →
/// `bert.encoder.layer.0.attention.self.query.weight`: the exporter names
/// each node after the PyTorch module path, plus the op's own name last.
fn linear_weight_name(node_name: &str) -> Result<String> {
    let path = node_name.trim_start_matches('/');
    let module = match path.rsplit_once('/') {
        Some((module, _op)) if !module.is_empty() => module,
        _ => {
            return Err(bad(format!(
                "MatMulNBits node name {node_name:?} does not carry a module path"
            )));
        }
    };
    Ok(format!("{}.weight", module.replace('/', ".")))
}

/// Parameter names look like `bert.encoder.layer.0.output.dense.bias`; graph
/// constants look like `onnx::Mul_123` or `/bert/Constant_output_0`.
fn is_hf_parameter_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains("::")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
}

fn attribute_usize(node: &Node<'_>, name: &str) -> Result<usize> {
    let value = node
        .int_attribute(name)
        .ok_or_else(|| bad(format!("node {} lacks attribute {name}", node.name)))?;
    usize::try_from(value)
        .ok()
        .filter(|&v| v > 0)
        .ok_or_else(|| bad(format!("node {} has {name} = {value}", node.name)))
}

/// Unpack one MatMulNBits weight into `[N, K]`.
fn dequantize_matmul_nbits(
    node: &Node<'_>,
    packed: &TensorProto<'_>,
    scales: &TensorProto<'_>,
    zero_points: Option<&TensorProto<'_>>,
) -> Result<Dense> {
    let bits = attribute_usize(node, "bits")?;
    if bits != 4 {
        return Err(bad(format!(
            "node {} has bits = {bits}; only 4 is supported",
            node.name
        )));
    }
    let k = attribute_usize(node, "K")?;
    let n = attribute_usize(node, "N")?;
    let block = attribute_usize(node, "block_size")?;
    if block % 2 != 0 {
        return Err(bad(format!(
            "node {} has an odd block_size {block}",
            node.name
        )));
    }
    let blocks = k.div_ceil(block);
    let block_bytes = block / 2;

    let packed_bytes = packed.to_u8()?;
    let expected = n
        .checked_mul(blocks)
        .and_then(|v| v.checked_mul(block_bytes))
        .ok_or_else(|| bad(format!("node {} is impossibly large", node.name)))?;
    if packed_bytes.len() != expected {
        return Err(bad(format!(
            "node {}: packed weight {} has {} bytes, N={n} K={k} block_size={block} need {expected}",
            node.name,
            packed.name,
            packed_bytes.len()
        )));
    }
    let scale_values = scales.to_f32()?;
    if scale_values.len() != n * blocks {
        return Err(bad(format!(
            "node {}: scales {} has {} values, need {}",
            node.name,
            scales.name,
            scale_values.len(),
            n * blocks
        )));
    }
    // Zero points, when given, are 4-bit too: [N, ceil(blocks / 2)] bytes,
    // low nibble first. Without them the midpoint 8 is the zero.
    let zero_point = |row: usize, b: usize, bytes: &[u8]| -> f32 {
        let per_row = blocks.div_ceil(2);
        let byte = bytes[row * per_row + b / 2];
        f32::from(if b.is_multiple_of(2) {
            byte & 0x0f
        } else {
            byte >> 4
        })
    };
    let zp_bytes = match zero_points {
        Some(zp) => {
            let bytes = zp.to_u8()?;
            if bytes.len() != n * blocks.div_ceil(2) {
                return Err(bad(format!(
                    "node {}: zero points {} have {} bytes, need {}",
                    node.name,
                    zp.name,
                    bytes.len(),
                    n * blocks.div_ceil(2)
                )));
            }
            Some(bytes)
        }
        None => None,
    };

    let mut weight = Vec::with_capacity(n * k);
    for row in 0..n {
        for b in 0..blocks {
            let scale = scale_values[row * blocks + b];
            let zero = zp_bytes
                .as_deref()
                .map_or(8.0, |bytes| zero_point(row, b, bytes));
            let start = (row * blocks + b) * block_bytes;
            for &byte in &packed_bytes[start..start + block_bytes] {
                for nibble in [byte & 0x0f, byte >> 4] {
                    // The last block of a row may be padded past K.
                    if weight.len() < (row + 1) * k {
                        weight.push((f32::from(nibble) - zero) * scale);
                    }
                }
            }
        }
    }
    Ok((vec![n, k], weight))
}

/// De-quantize a per-tensor quantized table: (q − zero_point) × scale.
fn dequantize_linear(
    quantized: &TensorProto<'_>,
    scale: &TensorProto<'_>,
    zero_point: &TensorProto<'_>,
) -> Result<Dense> {
    let scale_values = scale.to_f32()?;
    let &[scale_value] = scale_values.as_slice() else {
        return Err(bad(format!(
            "{} has {} scales; only per-tensor quantization is supported",
            scale.name,
            scale_values.len()
        )));
    };
    let shape = quantized.shape()?;
    let values: Vec<f32> = match quantized.data_type {
        DataType::Uint8 => {
            let &[zero] = zero_point.to_u8()?.as_slice() else {
                return Err(bad(format!(
                    "{} is not a single zero point",
                    zero_point.name
                )));
            };
            quantized
                .to_u8()?
                .into_iter()
                .map(|q| (f32::from(q) - f32::from(zero)) * scale_value)
                .collect()
        }
        DataType::Int8 => {
            let &[zero] = zero_point.to_i8()?.as_slice() else {
                return Err(bad(format!(
                    "{} is not a single zero point",
                    zero_point.name
                )));
            };
            quantized
                .to_i8()?
                .into_iter()
                .map(|q| (f32::from(q) - f32::from(zero)) * scale_value)
                .collect()
        }
        other => {
            return Err(bad(format!(
                "{} has type {other:?}; expected uint8 or int8",
                quantized.name
            )));
        }
    };
    Ok((shape, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_module_path() {
        assert_eq!(
            linear_weight_name("/bert/encoder/layer.0/attention/self/query/MatMul_Q4").unwrap(),
            "bert.encoder.layer.0.attention.self.query.weight"
        );
        assert_eq!(
            linear_weight_name("/classifier/MatMul_Q4").unwrap(),
            "classifier.weight"
        );
        assert!(linear_weight_name("MatMul_Q4").is_err());
        assert!(is_hf_parameter_name("bert.embeddings.LayerNorm.bias"));
        assert!(!is_hf_parameter_name("onnx::MatMul_743_Q4"));
        assert!(!is_hf_parameter_name("/bert/Constant_output_0"));
    }

    #[test]
    fn unpacks_low_nibble_first_and_cuts_padding() {
        // N = 1, K = 3, block_size = 4: one block with one padding value.
        let node = Node {
            name: "/m/MatMul_Q4",
            op_type: "MatMulNBits",
            attributes: [("bits", 4), ("K", 3), ("N", 1), ("block_size", 4)]
                .into_iter()
                .map(|(name, value)| onnx_proto::Attribute {
                    name,
                    int: Some(value),
                    ints: Vec::new(),
                })
                .collect(),
            ..Node::default()
        };
        let raw = [0x19u8, 0x0f];
        let packed = TensorProto {
            name: "p",
            dims: vec![1, 1, 2],
            data_type: DataType::Uint8,
            raw_data: Some(&raw),
            ..TensorProto::default()
        };
        let scales = TensorProto {
            name: "s",
            dims: vec![1, 1],
            data_type: DataType::Float,
            float_data: vec![0.5],
            ..TensorProto::default()
        };
        let (shape, values) = dequantize_matmul_nbits(&node, &packed, &scales, None).unwrap();
        assert_eq!(shape, [1, 3]);
        // 0x19: low nibble 9 → 0.5, high nibble 1 → −3.5; 0x0f: low 15 → 3.5.
        assert_eq!(values, [0.5, -3.5, 3.5]);
    }
}
