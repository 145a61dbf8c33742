//! Whisper's special tokens and languages, looked up by name in the
//! tokenizer so that English-only and multilingual vocabularies (whose ids
//! differ by one) both work — as OpenAI's `whisper/tokenizer.py` does.

use crate::{ModelError, Result};
use tokenizers::Tokenizer;

/// Ids of the special tokens the decoder needs.
#[derive(Debug, Clone)]
pub struct SpecialTokens {
    pub eot: u32,
    pub sot: u32,
    pub sot_prev: u32,
    pub sot_lm: u32,
    pub transcribe: u32,
    pub translate: u32,
    pub no_timestamps: u32,
    /// `<|nospeech|>` (`<|nocaptions|>` in older vocabularies).
    pub no_speech: Option<u32>,
    /// The first timestamp token, `<|0.00|>`; every id from here up is a
    /// timestamp in 20 ms steps. Many tokenizer.json files do not list
    /// timestamps at all, so it is derived as the id after `<|notimestamps|>`.
    pub timestamp_begin: u32,
    /// `(code, id)` of every language token, in vocabulary order.
    pub languages: Vec<(String, u32)>,
}

fn need(tokenizer: &Tokenizer, token: &str) -> Result<u32> {
    tokenizer.token_to_id(token).ok_or_else(|| {
        ModelError::Tokenizer(format!("no `{token}` token; is this a Whisper tokenizer?"))
    })
}

impl SpecialTokens {
    /// Look the special tokens up in `tokenizer`.
    pub fn from_tokenizer(tokenizer: &Tokenizer) -> Result<Self> {
        let sot = need(tokenizer, "<|startoftranscript|>")?;
        let translate = need(tokenizer, "<|translate|>")?;
        let no_timestamps = need(tokenizer, "<|notimestamps|>")?;
        // Language tokens sit between <|startoftranscript|> and <|translate|>.
        let languages = (sot + 1..translate)
            .filter_map(|id| {
                let token = tokenizer.id_to_token(id)?;
                let code = token.strip_prefix("<|")?.strip_suffix("|>")?.to_owned();
                Some((code, id))
            })
            .collect();
        Ok(Self {
            eot: need(tokenizer, "<|endoftext|>")?,
            sot,
            sot_prev: need(tokenizer, "<|startofprev|>")?,
            sot_lm: need(tokenizer, "<|startoflm|>")?,
            transcribe: need(tokenizer, "<|transcribe|>")?,
            translate,
            no_timestamps,
            no_speech: tokenizer
                .token_to_id("<|nospeech|>")
                .or_else(|| tokenizer.token_to_id("<|nocaptions|>")),
            timestamp_begin: no_timestamps + 1,
            languages,
        })
    }

    /// The token of a language code such as `en`.
    pub fn language(&self, code: &str) -> Option<u32> {
        self.languages
            .iter()
            .find_map(|(c, id)| (c == code).then_some(*id))
    }

    /// The code of a language token.
    pub fn language_code(&self, id: u32) -> Option<&str> {
        self.languages
            .iter()
            .find_map(|(c, i)| (*i == id).then_some(c.as_str()))
    }

    /// Whether `id` is a timestamp token.
    pub fn is_timestamp(&self, id: u32) -> bool {
        id >= self.timestamp_begin
    }
}
