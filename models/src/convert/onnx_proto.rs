//! A minimal protobuf wire-format reader for the parts of `onnx.proto` the
//! 4-bit de-quantizer ([`super::onnx_q4`]) needs: `ModelProto.graph` →
//! `GraphProto.node` / `GraphProto.initializer`; `NodeProto` name, op type,
//! domain, inputs and attributes; `AttributeProto` ints; `TensorProto` name,
//! dims, data type and its data (`raw_data`, `float_data`, `int32_data`).
//!
//! Hand-written instead of generated (no protoc, no prost-build) because we
//! read a dozen fields of a schema with hundreds. Everything borrows from the
//! input buffer, so a 15 MB model costs no copies until a tensor is decoded.
//!
//! Robustness: the input is untrusted. Every length and offset is checked
//! against the bytes that remain before it is used, so truncated or corrupt
//! input yields [`ModelError::Format`] and never a panic. Nothing is
//! allocated from a length read out of the file: vectors grow one decoded
//! element at a time, and every element consumes at least one input byte.
//! Fields this reader does not know are skipped, as protobuf requires.

use crate::{ModelError, Result};

/// What every error of this module names as the broken thing.
const WHAT: &str = "ONNX protobuf";

/// Protobuf nests messages; a hostile file could nest deeply to exhaust the
/// stack. ONNX needs three levels for what we read (model → graph → node →
/// attribute), so a small bound is plenty.
const MAX_DEPTH: usize = 8;

fn corrupt(detail: impl Into<String>) -> ModelError {
    ModelError::format(WHAT, detail)
}

/// The element type of a `TensorProto` (`TensorProto.DataType` in onnx.proto).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Float,
    Uint8,
    Int8,
    Int32,
    Int64,
    Float16,
    /// Any type this crate does not decode, with its onnx.proto number.
    Other(i32),
}

impl DataType {
    fn from_proto(value: i64) -> Self {
        match value {
            1 => Self::Float,
            2 => Self::Uint8,
            3 => Self::Int8,
            6 => Self::Int32,
            7 => Self::Int64,
            10 => Self::Float16,
            // Out-of-range values stay distinguishable but harmless.
            other => Self::Other(i32::try_from(other).unwrap_or(-1)),
        }
    }
}

/// `ModelProto`, reduced to its graph.
#[derive(Debug, Default)]
pub struct Model<'a> {
    pub graph: Graph<'a>,
}

/// `GraphProto`: the nodes (operators) and the initializers (weights).
#[derive(Debug, Default)]
pub struct Graph<'a> {
    pub nodes: Vec<Node<'a>>,
    pub initializers: Vec<TensorProto<'a>>,
}

/// `NodeProto`: one operator.
#[derive(Debug, Default)]
pub struct Node<'a> {
    pub name: &'a str,
    pub op_type: &'a str,
    pub domain: &'a str,
    pub inputs: Vec<&'a str>,
    pub attributes: Vec<Attribute<'a>>,
}

impl Node<'_> {
    /// The integer attribute `name` (`AttributeProto.i`), if present.
    pub fn int_attribute(&self, name: &str) -> Option<i64> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name == name)
            .and_then(|attribute| attribute.int)
    }
}

/// `AttributeProto`, reduced to its integer forms.
#[derive(Debug, Default)]
pub struct Attribute<'a> {
    pub name: &'a str,
    /// `i`: a single integer.
    pub int: Option<i64>,
    /// `ints`: a list of integers.
    pub ints: Vec<i64>,
}

/// `TensorProto`: a constant tensor. The values live in exactly one of
/// `raw_data` (little-endian bytes) or a typed field, depending on the
/// exporter; [`TensorProto::to_f32`] and friends hide which.
#[derive(Debug)]
pub struct TensorProto<'a> {
    pub name: &'a str,
    pub dims: Vec<i64>,
    pub data_type: DataType,
    pub raw_data: Option<&'a [u8]>,
    pub float_data: Vec<f32>,
    /// Holds int32, and also uint8/int8/int16/f16 values, one per entry.
    pub int32_data: Vec<i32>,
    /// `data_location == EXTERNAL`: values are in another file, which we do
    /// not read.
    pub external: bool,
}

impl Default for TensorProto<'_> {
    fn default() -> Self {
        Self {
            name: "",
            dims: Vec::new(),
            data_type: DataType::Other(0),
            raw_data: None,
            float_data: Vec::new(),
            int32_data: Vec::new(),
            external: false,
        }
    }
}

impl TensorProto<'_> {
    /// Number of elements the dims describe (1 for a scalar), checked for
    /// negative dims and overflow.
    pub fn element_count(&self) -> Result<usize> {
        self.dims.iter().try_fold(1usize, |count, &dim| {
            let dim = usize::try_from(dim)
                .map_err(|_| corrupt(format!("tensor {} has negative dim {dim}", self.name)))?;
            count
                .checked_mul(dim)
                .ok_or_else(|| corrupt(format!("tensor {} is impossibly large", self.name)))
        })
    }

    /// The dims as `usize`.
    pub fn shape(&self) -> Result<Vec<usize>> {
        self.dims
            .iter()
            .map(|&dim| {
                usize::try_from(dim)
                    .map_err(|_| corrupt(format!("tensor {} has negative dim {dim}", self.name)))
            })
            .collect()
    }

    fn check_not_external(&self) -> Result<()> {
        if self.external {
            return Err(corrupt(format!(
                "tensor {} keeps its data in an external file, which is not supported",
                self.name
            )));
        }
        Ok(())
    }

    fn check_count(&self, found: usize) -> Result<usize> {
        let expected = self.element_count()?;
        if found != expected {
            return Err(corrupt(format!(
                "tensor {} has {found} values but its dims {:?} need {expected}",
                self.name, self.dims
            )));
        }
        Ok(expected)
    }

    /// The values of a float tensor (f32 or f16) as f32.
    pub fn to_f32(&self) -> Result<Vec<f32>> {
        self.check_not_external()?;
        match (self.data_type, self.raw_data) {
            (DataType::Float, Some(raw)) => {
                if raw.len() % 4 != 0 {
                    return Err(corrupt(format!(
                        "tensor {} has {} raw bytes, not a whole number of f32",
                        self.name,
                        raw.len()
                    )));
                }
                self.check_count(raw.len() / 4)?;
                Ok(raw
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect())
            }
            (DataType::Float, None) => {
                self.check_count(self.float_data.len())?;
                Ok(self.float_data.clone())
            }
            (DataType::Float16, Some(raw)) => {
                if raw.len() % 2 != 0 {
                    return Err(corrupt(format!(
                        "tensor {} has an odd number of f16 raw bytes",
                        self.name
                    )));
                }
                self.check_count(raw.len() / 2)?;
                Ok(raw
                    .chunks_exact(2)
                    .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect())
            }
            (DataType::Float16, None) => {
                // f16 bit patterns are stored one per int32_data entry.
                self.check_count(self.int32_data.len())?;
                Ok(self
                    .int32_data
                    .iter()
                    .map(|&bits| half::f16::from_bits(bits as u16).to_f32())
                    .collect())
            }
            (other, _) => Err(corrupt(format!(
                "tensor {} has type {other:?}, expected a float type",
                self.name
            ))),
        }
    }

    /// The values of a uint8 tensor.
    pub fn to_u8(&self) -> Result<Vec<u8>> {
        self.check_not_external()?;
        if self.data_type != DataType::Uint8 {
            return Err(corrupt(format!(
                "tensor {} has type {:?}, expected uint8",
                self.name, self.data_type
            )));
        }
        match self.raw_data {
            Some(raw) => {
                self.check_count(raw.len())?;
                Ok(raw.to_vec())
            }
            None => {
                self.check_count(self.int32_data.len())?;
                self.int32_data
                    .iter()
                    .map(|&value| {
                        u8::try_from(value).map_err(|_| {
                            corrupt(format!("tensor {} holds {value}, not a uint8", self.name))
                        })
                    })
                    .collect()
            }
        }
    }

    /// The values of an int8 tensor.
    pub fn to_i8(&self) -> Result<Vec<i8>> {
        self.check_not_external()?;
        if self.data_type != DataType::Int8 {
            return Err(corrupt(format!(
                "tensor {} has type {:?}, expected int8",
                self.name, self.data_type
            )));
        }
        match self.raw_data {
            Some(raw) => {
                self.check_count(raw.len())?;
                Ok(raw.iter().map(|&b| b as i8).collect())
            }
            None => {
                self.check_count(self.int32_data.len())?;
                self.int32_data
                    .iter()
                    .map(|&value| {
                        i8::try_from(value).map_err(|_| {
                            corrupt(format!("tensor {} holds {value}, not an int8", self.name))
                        })
                    })
                    .collect()
            }
        }
    }
}

/// Parse a serialized `ModelProto`.
pub fn parse_model(bytes: &[u8]) -> Result<Model<'_>> {
    let mut model = Model::default();
    let mut saw_graph = false;
    let mut reader = Reader::new(bytes);
    while let Some((field, value)) = reader.next_field()? {
        if field == 7 {
            model.graph = parse_graph(value.bytes("ModelProto.graph")?, 1)?;
            saw_graph = true;
        }
    }
    if !saw_graph {
        return Err(corrupt("the model has no graph"));
    }
    Ok(model)
}

fn check_depth(depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(corrupt("messages are nested too deeply"));
    }
    Ok(())
}

fn parse_graph(bytes: &[u8], depth: usize) -> Result<Graph<'_>> {
    check_depth(depth)?;
    let mut graph = Graph::default();
    let mut reader = Reader::new(bytes);
    while let Some((field, value)) = reader.next_field()? {
        match field {
            1 => graph
                .nodes
                .push(parse_node(value.bytes("GraphProto.node")?, depth + 1)?),
            5 => graph.initializers.push(parse_tensor(
                value.bytes("GraphProto.initializer")?,
                depth + 1,
            )?),
            _ => {}
        }
    }
    Ok(graph)
}

fn parse_node(bytes: &[u8], depth: usize) -> Result<Node<'_>> {
    check_depth(depth)?;
    let mut node = Node::default();
    let mut reader = Reader::new(bytes);
    while let Some((field, value)) = reader.next_field()? {
        match field {
            1 => node.inputs.push(value.string("NodeProto.input")?),
            3 => node.name = value.string("NodeProto.name")?,
            4 => node.op_type = value.string("NodeProto.op_type")?,
            5 => node.attributes.push(parse_attribute(
                value.bytes("NodeProto.attribute")?,
                depth + 1,
            )?),
            7 => node.domain = value.string("NodeProto.domain")?,
            _ => {}
        }
    }
    Ok(node)
}

fn parse_attribute(bytes: &[u8], depth: usize) -> Result<Attribute<'_>> {
    check_depth(depth)?;
    let mut attribute = Attribute::default();
    let mut reader = Reader::new(bytes);
    while let Some((field, value)) = reader.next_field()? {
        match field {
            1 => attribute.name = value.string("AttributeProto.name")?,
            3 => attribute.int = Some(value.varint("AttributeProto.i")? as i64),
            8 => value.push_varints(&mut attribute.ints, "AttributeProto.ints", |v| v as i64)?,
            _ => {}
        }
    }
    Ok(attribute)
}

fn parse_tensor(bytes: &[u8], depth: usize) -> Result<TensorProto<'_>> {
    check_depth(depth)?;
    let mut tensor = TensorProto::default();
    let mut reader = Reader::new(bytes);
    while let Some((field, value)) = reader.next_field()? {
        match field {
            1 => value.push_varints(&mut tensor.dims, "TensorProto.dims", |v| v as i64)?,
            2 => {
                tensor.data_type =
                    DataType::from_proto(value.varint("TensorProto.data_type")? as i64)
            }
            4 => value.push_f32s(&mut tensor.float_data, "TensorProto.float_data")?,
            // int32 is encoded as a sign-extended varint; truncating the
            // 64-bit value gives it back.
            5 => value.push_varints(&mut tensor.int32_data, "TensorProto.int32_data", |v| {
                v as i32
            })?,
            8 => tensor.name = value.string("TensorProto.name")?,
            9 => tensor.raw_data = Some(value.bytes("TensorProto.raw_data")?),
            14 => tensor.external = value.varint("TensorProto.data_location")? == 1,
            _ => {}
        }
    }
    Ok(tensor)
}

/// One field's payload, as the wire type delivers it.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Varint(u64),
    /// No field we read is 64-bit fixed; only skipped.
    Fixed64,
    Fixed32([u8; 4]),
    Bytes(&'a [u8]),
}

impl<'a> Value<'a> {
    fn wrong_type(&self, field: &str) -> ModelError {
        corrupt(format!("{field} has an unexpected wire type"))
    }

    fn varint(self, field: &str) -> Result<u64> {
        match self {
            Value::Varint(v) => Ok(v),
            other => Err(other.wrong_type(field)),
        }
    }

    fn bytes(self, field: &str) -> Result<&'a [u8]> {
        match self {
            Value::Bytes(b) => Ok(b),
            other => Err(other.wrong_type(field)),
        }
    }

    fn string(self, field: &str) -> Result<&'a str> {
        std::str::from_utf8(self.bytes(field)?)
            .map_err(|_| corrupt(format!("{field} is not valid UTF-8")))
    }

    /// A repeated varint field, either one element (unpacked) or a packed
    /// run of them.
    fn push_varints<T>(self, out: &mut Vec<T>, field: &str, convert: fn(u64) -> T) -> Result<()> {
        match self {
            Value::Varint(v) => out.push(convert(v)),
            Value::Bytes(packed) => {
                let mut reader = Reader::new(packed);
                while !reader.is_at_end() {
                    out.push(convert(reader.varint()?));
                }
            }
            other => return Err(other.wrong_type(field)),
        }
        Ok(())
    }

    /// A repeated float field, unpacked or packed.
    fn push_f32s(self, out: &mut Vec<f32>, field: &str) -> Result<()> {
        match self {
            Value::Fixed32(b) => out.push(f32::from_le_bytes(b)),
            Value::Bytes(packed) => {
                if packed.len() % 4 != 0 {
                    return Err(corrupt(format!(
                        "{field} is {} bytes, not a whole number of floats",
                        packed.len()
                    )));
                }
                // The reservation is bounded by bytes we hold, not by a
                // number read from the file.
                out.reserve(packed.len() / 4);
                out.extend(
                    packed
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                );
            }
            other => return Err(other.wrong_type(field)),
        }
        Ok(())
    }
}

/// A cursor over one message's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn is_at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| {
                corrupt(format!(
                    "a field of {n} bytes runs past the end of its message ({} bytes left); the file is truncated or corrupt",
                    self.bytes.len() - self.pos
                ))
            })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        // A u64 takes at most 10 groups of 7 bits.
        for shift in (0..70).step_by(7) {
            let Some(&byte) = self.bytes.get(self.pos) else {
                return Err(corrupt(
                    "a number runs past the end of its message; the file is truncated",
                ));
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(corrupt("a number is longer than 10 bytes"))
    }

    /// The next field number and payload, or `None` at the end.
    fn next_field(&mut self) -> Result<Option<(u64, Value<'a>)>> {
        if self.is_at_end() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 {
            return Err(corrupt("field number 0 is not valid protobuf"));
        }
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| corrupt("a field length does not fit in memory"))?;
                Value::Bytes(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32([b[0], b[1], b[2], b[3]])
            }
            // 3 and 4 are the long-deprecated groups, which onnx.proto never
            // uses; anything else is not protobuf at all.
            other => {
                return Err(corrupt(format!(
                    "wire type {other} (field {field}) is not supported"
                )));
            }
        };
        Ok(Some((field, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn field_bytes(field: u64, payload: &[u8], out: &mut Vec<u8>) {
        varint(field << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }

    fn field_varint(field: u64, v: u64, out: &mut Vec<u8>) {
        varint(field << 3, out);
        varint(v, out);
    }

    fn sample_model() -> Vec<u8> {
        let mut tensor = Vec::new();
        field_varint(1, 2, &mut tensor); // dims (unpacked)
        let mut packed = Vec::new();
        varint(3, &mut packed);
        field_bytes(1, &packed, &mut tensor); // dims (packed)
        field_varint(2, 1, &mut tensor); // FLOAT
        field_bytes(8, b"w", &mut tensor);
        let raw: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
        field_bytes(9, &raw, &mut tensor);

        let mut attribute = Vec::new();
        field_bytes(1, b"K", &mut attribute);
        field_varint(3, 384, &mut attribute);

        let mut node = Vec::new();
        field_bytes(1, b"x", &mut node);
        field_bytes(1, b"w", &mut node);
        field_bytes(3, b"/a/MatMul_Q4", &mut node);
        field_bytes(4, b"MatMulNBits", &mut node);
        field_bytes(5, &attribute, &mut node);
        field_bytes(7, b"com.microsoft", &mut node);
        field_varint(99, 5, &mut node); // unknown field: skipped

        let mut graph = Vec::new();
        field_bytes(1, &node, &mut graph);
        field_bytes(5, &tensor, &mut graph);

        let mut model = Vec::new();
        field_varint(1, 8, &mut model); // ir_version
        field_bytes(7, &graph, &mut model);
        model
    }

    #[test]
    fn reads_nodes_attributes_and_tensors() {
        let bytes = sample_model();
        let model = parse_model(&bytes).unwrap();
        let node = &model.graph.nodes[0];
        assert_eq!(node.op_type, "MatMulNBits");
        assert_eq!(node.domain, "com.microsoft");
        assert_eq!(node.name, "/a/MatMul_Q4");
        assert_eq!(node.inputs, ["x", "w"]);
        assert_eq!(node.int_attribute("K"), Some(384));
        let tensor = &model.graph.initializers[0];
        assert_eq!(tensor.name, "w");
        assert_eq!(tensor.dims, [2, 3]);
        assert_eq!(tensor.to_f32().unwrap(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = sample_model();
        for cut in 0..bytes.len() {
            // Some prefixes happen to end on a field boundary and parse;
            // none may panic, and a prefix without the whole graph field
            // must fail.
            let result = parse_model(&bytes[..cut]);
            assert!(
                matches!(result, Err(ModelError::Format { .. })),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn huge_length_is_rejected_without_allocating() {
        let mut bytes = Vec::new();
        varint(7 << 3 | 2, &mut bytes);
        varint(u64::MAX >> 1, &mut bytes);
        assert!(matches!(
            parse_model(&bytes),
            Err(ModelError::Format { .. })
        ));
    }

    #[test]
    fn value_count_must_match_dims() {
        let mut tensor = TensorProto {
            name: "t",
            dims: vec![4],
            data_type: DataType::Float,
            ..TensorProto::default()
        };
        tensor.float_data = vec![1.0, 2.0];
        assert!(tensor.to_f32().is_err());
        tensor.dims = vec![-1];
        assert!(tensor.to_f32().is_err());
    }
}
