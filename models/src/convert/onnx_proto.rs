//! A minimal protobuf wire-format reader for the parts of `onnx.proto` the
//! de-quantizer needs.
// PLACEHOLDER: filled in by the BERT work.
