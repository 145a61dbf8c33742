//! GGUF tokenizer metadata (byte-level BPE) → Hugging Face `tokenizer.json`
//! (and `tokenizer_config.json` with the chat template).
//!
//! A GGUF file of a `gpt2`-style tokenizer (SmolLM2's, for one) carries the
//! whole BPE in its metadata: the vocabulary (`tokenizer.ggml.tokens`, id =
//! position, already in byte-level form such as `Ġthe`), the merges
//! (`tokenizer.ggml.merges`, `"a b"` in rank order) and a type per token
//! (`tokenizer.ggml.token_type`: 1 normal, 3 control, 4 user-defined, …).
//! The equivalent Hugging Face tokenizer, as SmolLM2's own `tokenizer.json`
//! has it:
//! - model: BPE over that vocab and merges (no unk token, no byte fallback);
//! - no normalizer;
//! - pre-tokenizer: `Digits(individual)` then `ByteLevel(add_prefix_space =
//!   false, use_regex = true)`, so numbers become one token per digit;
//! - decoder: `ByteLevel`; post-processor: `ByteLevel` without offset
//!   trimming, or a template adding BOS/EOS when the GGUF asks for it
//!   (`tokenizer.ggml.add_bos_token` / `add_eos_token`);
//! - control tokens (type 3) and the bos/eos/padding/unknown tokens as special
//!   added tokens, so `<|im_start|>` is one id and never split; user-defined
//!   tokens (type 4) as ordinary added tokens.
//!
//! Only the metadata is read (Candle's `gguf_file`); the tensors are not.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::decoders::DecoderWrapper;
use tokenizers::decoders::byte_level::ByteLevel;
use tokenizers::models::bpe::{BPE, Merges, Vocab};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, Tokenizer};

use crate::{ModelError, Result};

/// `tokenizer.ggml.token_type` values (llama.cpp's `llama_token_type`).
const TOKEN_TYPE_CONTROL: i64 = 3;
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// The tokenizer metadata of a GGUF file, checked.
#[derive(Debug)]
struct GgufVocab {
    tokens: Vec<String>,
    types: Vec<i64>,
    merges: Merges,
    bos: Option<u32>,
    eos: Option<u32>,
    pad: Option<u32>,
    unk: Option<u32>,
    add_bos: bool,
    add_eos: bool,
    chat_template: Option<String>,
}

/// Build `out_dir/tokenizer.json` from the vocab, merges and token types in
/// the GGUF file's metadata, and `out_dir/tokenizer_config.json` with the
/// special tokens and chat template. Anything but a well-formed `gpt2`
/// tokenizer is a [`ModelError::Format`] naming the key at fault.
pub fn convert(gguf: &Path, out_dir: &Path) -> Result<()> {
    let what = gguf.display().to_string();
    let file = File::open(gguf).map_err(|e| ModelError::io("opening GGUF file", gguf, e))?;
    let content = Content::read(&mut BufReader::new(file))
        .map_err(|e| ModelError::format(&what, format!("not a readable GGUF file: {e}")))?;
    let vocab = GgufVocab::from_metadata(&content.metadata)
        .map_err(|detail| ModelError::format(&what, detail))?;
    let tokenizer = vocab.tokenizer()?;

    let json = tokenizer
        .to_string(true)
        .map_err(|e| ModelError::Tokenizer(format!("serialising tokenizer.json: {e}")))?;
    write(out_dir, "tokenizer.json", json)?;

    let config = vocab.tokenizer_config();
    let config = serde_json::to_string_pretty(&config).map_err(|source| ModelError::Json {
        path: out_dir.join("tokenizer_config.json"),
        source,
    })?;
    write(out_dir, "tokenizer_config.json", config)
}

fn write(out_dir: &Path, name: &str, text: String) -> Result<()> {
    let path = out_dir.join(name);
    std::fs::write(&path, text).map_err(|e| ModelError::io("writing", &path, e))
}

/// An integer metadata value of any width, as GGUF writers vary in the type
/// they pick for ids and token types.
fn as_i64(v: &Value) -> Option<i64> {
    match *v {
        Value::U8(x) => Some(i64::from(x)),
        Value::I8(x) => Some(i64::from(x)),
        Value::U16(x) => Some(i64::from(x)),
        Value::I16(x) => Some(i64::from(x)),
        Value::U32(x) => Some(i64::from(x)),
        Value::I32(x) => Some(i64::from(x)),
        Value::U64(x) => i64::try_from(x).ok(),
        Value::I64(x) => Some(x),
        _ => None,
    }
}

fn type_name(v: &Value) -> String {
    format!("{:?}", v.value_type())
}

fn string_array(meta: &HashMap<String, Value>, key: &str) -> Result<Vec<String>, String> {
    let Some(value) = meta.get(key) else {
        return Err(format!("metadata key `{key}` is missing"));
    };
    let Value::Array(items) = value else {
        return Err(format!(
            "`{key}` is a {}, not an array of strings",
            type_name(value)
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!(
                "`{key}`[{i}] is a {}, not a string",
                type_name(other)
            )),
        })
        .collect()
}

impl GgufVocab {
    fn from_metadata(meta: &HashMap<String, Value>) -> Result<Self, String> {
        let model = match meta.get("tokenizer.ggml.model") {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => {
                return Err(format!(
                    "`tokenizer.ggml.model` is a {}, not a string",
                    type_name(other)
                ));
            }
            None => return Err("metadata key `tokenizer.ggml.model` is missing".into()),
        };
        if model != "gpt2" {
            return Err(format!(
                "`tokenizer.ggml.model` is `{model}`; only byte-level BPE (`gpt2`) can be converted"
            ));
        }

        let tokens = string_array(meta, "tokenizer.ggml.tokens")?;
        if tokens.is_empty() {
            return Err("`tokenizer.ggml.tokens` is empty".into());
        }
        if u32::try_from(tokens.len()).is_err() {
            return Err(format!(
                "`tokenizer.ggml.tokens` has {} entries",
                tokens.len()
            ));
        }

        // Optional in GGUF: without it every token is normal.
        let types = match meta.get("tokenizer.ggml.token_type") {
            None => vec![1; tokens.len()],
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    as_i64(v).ok_or_else(|| {
                        format!(
                            "`tokenizer.ggml.token_type`[{i}] is a {}, not an integer",
                            type_name(v)
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(other) => {
                return Err(format!(
                    "`tokenizer.ggml.token_type` is a {}, not an array",
                    type_name(other)
                ));
            }
        };
        if types.len() != tokens.len() {
            return Err(format!(
                "`tokenizer.ggml.token_type` has {} entries for {} tokens",
                types.len(),
                tokens.len()
            ));
        }

        let merges = string_array(meta, "tokenizer.ggml.merges")?
            .into_iter()
            .enumerate()
            .map(|(i, m)| match m.split_once(' ') {
                // Byte-level tokens never hold a literal space (it is `Ġ`),
                // so a merge is exactly two tokens around one space.
                Some((a, b)) if !a.is_empty() && !b.is_empty() && !b.contains(' ') => {
                    Ok((a.to_owned(), b.to_owned()))
                }
                _ => Err(format!("`tokenizer.ggml.merges`[{i}] is `{m}`, not `a b`")),
            })
            .collect::<Result<Merges, _>>()?;

        let id = |key: &str| -> Result<Option<u32>, String> {
            let Some(v) = meta.get(key) else {
                return Ok(None);
            };
            let id = as_i64(v)
                .ok_or_else(|| format!("`{key}` is a {}, not an integer", type_name(v)))?;
            match u32::try_from(id) {
                Ok(id) if (id as usize) < tokens.len() => Ok(Some(id)),
                _ => Err(format!(
                    "`{key}` is {id}, outside the {} tokens",
                    tokens.len()
                )),
            }
        };
        let flag = |key: &str| -> Result<bool, String> {
            match meta.get(key) {
                None => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(other) => Err(format!("`{key}` is a {}, not a bool", type_name(other))),
            }
        };
        let chat_template = match meta.get("tokenizer.chat_template") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(format!(
                    "`tokenizer.chat_template` is a {}, not a string",
                    type_name(other)
                ));
            }
        };

        Ok(Self {
            bos: id("tokenizer.ggml.bos_token_id")?,
            eos: id("tokenizer.ggml.eos_token_id")?,
            pad: id("tokenizer.ggml.padding_token_id")?,
            unk: id("tokenizer.ggml.unknown_token_id")?,
            add_bos: flag("tokenizer.ggml.add_bos_token")?,
            add_eos: flag("tokenizer.ggml.add_eos_token")?,
            tokens,
            types,
            merges,
            chat_template,
        })
    }

    fn token(&self, id: Option<u32>) -> Option<&str> {
        self.tokens.get(id? as usize).map(String::as_str)
    }

    fn tokenizer(&self) -> Result<Tokenizer> {
        let mut vocab = Vocab::with_capacity(self.tokens.len());
        let mut duplicates = 0usize;
        for (id, token) in self.tokens.iter().enumerate() {
            // A token listed twice keeps its first id (a BPE vocab is a map);
            // the later id then decodes to nothing.
            if vocab.contains_key(token) {
                duplicates += 1;
            } else {
                vocab.insert(token.clone(), id as u32);
            }
        }
        if duplicates > 0 {
            tracing::warn!(
                duplicates,
                "GGUF vocabulary lists some tokens more than once; keeping the first id of each"
            );
        }
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, self.merges.clone())
            .build()
            .map_err(|e| ModelError::format("GGUF tokenizer merges", e.to_string()))?;

        let mut tokenizer = Tokenizer::new(bpe);
        tokenizer.with_pre_tokenizer(Some(PreTokenizerWrapper::Sequence(Sequence::new(vec![
            PreTokenizerWrapper::Digits(Digits::new(true)),
            PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, true)),
        ]))));
        tokenizer.with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevel::default())));
        tokenizer.with_post_processor(Some(self.post_processor()?));

        // Added tokens in id order, so the file lists them as the id space does.
        let named: Vec<u32> = [self.bos, self.eos, self.pad, self.unk]
            .into_iter()
            .flatten()
            .collect();
        let special: Vec<AddedToken> = self
            .tokens
            .iter()
            .zip(&self.types)
            .enumerate()
            .filter(|&(id, (_, &ty))| ty == TOKEN_TYPE_CONTROL || named.contains(&(id as u32)))
            .map(|(_, (token, _))| AddedToken::from(token.clone(), true))
            .collect();
        let user: Vec<AddedToken> = self
            .tokens
            .iter()
            .zip(&self.types)
            .filter(|&(_, &ty)| ty == TOKEN_TYPE_USER_DEFINED)
            .map(|(token, _)| AddedToken::from(token.clone(), false))
            .collect();
        tokenizer
            .add_special_tokens(special)
            .map_err(|e| ModelError::Tokenizer(format!("adding special tokens: {e}")))?;
        tokenizer
            .add_tokens(user)
            .map_err(|e| ModelError::Tokenizer(format!("adding user-defined tokens: {e}")))?;
        Ok(tokenizer)
    }

    /// `ByteLevel` (offsets only) unless the GGUF asks for BOS/EOS to be
    /// added, as llama.cpp would.
    fn post_processor(&self) -> Result<PostProcessorWrapper> {
        let bos = self.token(self.bos).filter(|_| self.add_bos);
        let eos = self.token(self.eos).filter(|_| self.add_eos);
        if bos.is_none() && eos.is_none() {
            return Ok(PostProcessorWrapper::ByteLevel(ByteLevel::new(
                true, false, true,
            )));
        }
        let mut single = Vec::new();
        let mut pair = Vec::new();
        let mut specials = Vec::new();
        if let (Some(bos), Some(id)) = (bos, self.bos) {
            specials.push((bos.to_owned(), id));
        }
        if let (Some(eos), Some(id)) = (eos, self.eos) {
            specials.push((eos.to_owned(), id));
        }
        single.extend(bos.map(|t| format!("{t}:0")));
        single.push("$A:0".to_owned());
        single.extend(eos.map(|t| format!("{t}:0")));
        pair.extend(single.iter().cloned());
        pair.extend(bos.map(|t| format!("{t}:1")));
        pair.push("$B:1".to_owned());
        pair.extend(eos.map(|t| format!("{t}:1")));
        let template = TemplateProcessing::builder()
            .try_single(single)
            .and_then(|b| b.try_pair(pair))
            .map_err(|e| ModelError::Tokenizer(format!("bos/eos template: {e}")))?
            .special_tokens(specials)
            .build()
            .map_err(|e| ModelError::Tokenizer(format!("bos/eos template: {e}")))?;
        Ok(PostProcessorWrapper::Template(template))
    }

    /// What `transformers` reads beside `tokenizer.json`: the special tokens
    /// and the chat template.
    fn tokenizer_config(&self) -> serde_json::Value {
        let mut config = serde_json::Map::new();
        config.insert("tokenizer_class".into(), "GPT2Tokenizer".into());
        config.insert("add_bos_token".into(), self.add_bos.into());
        config.insert("add_eos_token".into(), self.add_eos.into());
        config.insert("clean_up_tokenization_spaces".into(), false.into());
        for (key, id) in [
            ("bos_token", self.bos),
            ("eos_token", self.eos),
            ("pad_token", self.pad),
            ("unk_token", self.unk),
        ] {
            if let Some(token) = self.token(id) {
                config.insert(key.into(), token.into());
            }
        }
        if let Some(template) = &self.chat_template {
            config.insert("chat_template".into(), template.clone().into());
        }
        serde_json::Value::Object(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(model: &str) -> HashMap<String, Value> {
        let strings =
            |v: &[&str]| Value::Array(v.iter().map(|s| Value::String((*s).into())).collect());
        HashMap::from([
            ("tokenizer.ggml.model".into(), Value::String(model.into())),
            (
                "tokenizer.ggml.tokens".into(),
                strings(&["<|end|>", "a", "b", "ab", "Ġ", "Ġab"]),
            ),
            (
                "tokenizer.ggml.token_type".into(),
                Value::Array([3, 1, 1, 1, 1, 1].map(Value::I32).to_vec()),
            ),
            ("tokenizer.ggml.merges".into(), strings(&["a b", "Ġ ab"])),
            ("tokenizer.ggml.eos_token_id".into(), Value::U32(0)),
        ])
    }

    #[test]
    fn builds_a_working_tokenizer_from_metadata() {
        let vocab = GgufVocab::from_metadata(&meta("gpt2")).unwrap();
        let tok = vocab.tokenizer().unwrap();
        let enc = tok.encode("ab ab<|end|>", false).unwrap();
        assert_eq!(enc.get_ids(), &[3, 5, 0]);
        assert_eq!(tok.decode(enc.get_ids(), false).unwrap(), "ab ab<|end|>");
        let config = vocab.tokenizer_config();
        assert_eq!(config["eos_token"], "<|end|>");
        assert!(config.get("chat_template").is_none());
    }

    #[test]
    fn refuses_other_models_and_malformed_metadata() {
        let err = GgufVocab::from_metadata(&meta("llama")).unwrap_err();
        assert!(err.contains("`llama`"), "{err}");

        let mut m = meta("gpt2");
        m.remove("tokenizer.ggml.merges");
        assert!(GgufVocab::from_metadata(&m).unwrap_err().contains("merges"));

        let mut m = meta("gpt2");
        m.insert(
            "tokenizer.ggml.token_type".into(),
            Value::Array(vec![Value::I32(1)]),
        );
        assert!(
            GgufVocab::from_metadata(&m)
                .unwrap_err()
                .contains("token_type")
        );

        let mut m = meta("gpt2");
        m.insert("tokenizer.ggml.eos_token_id".into(), Value::U32(99));
        assert!(
            GgufVocab::from_metadata(&m)
                .unwrap_err()
                .contains("eos_token_id")
        );

        let mut m = meta("gpt2");
        m.insert(
            "tokenizer.ggml.merges".into(),
            Value::Array(vec![Value::String("abc".into())]),
        );
        assert!(
            GgufVocab::from_metadata(&m)
                .unwrap_err()
                .contains("not `a b`")
        );

        let mut m = meta("gpt2");
        m.insert("tokenizer.ggml.tokens".into(), Value::U8(3));
        assert!(GgufVocab::from_metadata(&m).unwrap_err().contains("tokens"));

        // A merge naming a token the vocab lacks: caught when building.
        let mut m = meta("gpt2");
        m.insert(
            "tokenizer.ggml.merges".into(),
            Value::Array(vec![Value::String("a zz".into())]),
        );
        let vocab = GgufVocab::from_metadata(&m).unwrap();
        assert!(matches!(vocab.tokenizer(), Err(ModelError::Format { .. })));
    }

    #[test]
    fn adds_bos_when_the_gguf_asks() {
        let mut m = meta("gpt2");
        m.insert("tokenizer.ggml.bos_token_id".into(), Value::U32(0));
        m.insert("tokenizer.ggml.add_bos_token".into(), Value::Bool(true));
        let tok = GgufVocab::from_metadata(&m).unwrap().tokenizer().unwrap();
        assert_eq!(tok.encode("ab", true).unwrap().get_ids(), &[0, 3]);
        assert_eq!(tok.encode("ab", false).unwrap().get_ids(), &[3]);
    }
}
