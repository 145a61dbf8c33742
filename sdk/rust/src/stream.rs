//! Server-sent events of a streamed transcription (`stream=true`): the
//! generated models type each event (`TranscriptionStreamEvent`); this reads
//! them off the response as they arrive. openapi-generator reads only JSON
//! bodies, so the `text/event-stream` framing is done here.

use crate::error::{ApiError, Error};
use crate::models::{AudioUsage, TranscriptionStreamEvent};

/// One event of a streamed transcription.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The next piece of text (`transcript.text.delta`).
    Delta(String),
    /// The whole text and the audio's duration; the last event
    /// (`transcript.text.done`).
    Done { text: String, usage: AudioUsage },
}

/// The events of a streamed transcription, read with [`TranscriptionStream::next`].
/// An `error` event (decoding failed after the answer started) is returned
/// as [`Error::Api`] with [`crate::ErrorKind::Stream`].
pub struct TranscriptionStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    finished: bool,
}

impl TranscriptionStream {
    pub(crate) fn new(response: reqwest::Response) -> Self {
        Self { response, buffer: Vec::new(), finished: false }
    }

    /// The next event; `None` once the stream ended.
    pub async fn next(&mut self) -> Option<Result<StreamEvent, Error>> {
        loop {
            if let Some(data) = take_event(&mut self.buffer) {
                match data {
                    Some(data) => return Some(parse(&data)),
                    // An event without data (a comment, a keep-alive).
                    None => continue,
                }
            }
            if self.finished {
                // A last event the server did not end with a blank line.
                let rest = std::mem::take(&mut self.buffer);
                let data = event_data(&rest)?;
                return Some(parse(&data));
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => self.buffer.extend_from_slice(&chunk),
                Ok(None) => self.finished = true,
                Err(e) => {
                    self.finished = true;
                    self.buffer.clear();
                    return Some(Err(Error::Connection(e)));
                }
            }
        }
    }

    /// Every remaining event, until the stream ends or fails.
    pub async fn collect(mut self) -> Result<Vec<StreamEvent>, Error> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event?);
        }
        Ok(events)
    }
}

/// Removes the first complete event (up to a blank line) from `buffer`:
/// `None` while there is none, `Some(None)` for one without `data:` lines.
fn take_event(buffer: &mut Vec<u8>) -> Option<Option<String>> {
    let (end, separator) = find_blank_line(buffer)?;
    let event: Vec<u8> = buffer.drain(..end + separator).collect();
    Some(event_data(&event[..end]))
}

fn find_blank_line(buffer: &[u8]) -> Option<(usize, usize)> {
    for i in 0..buffer.len() {
        for separator in [&b"\r\n\r\n"[..], b"\n\n", b"\r\r"] {
            if buffer[i..].starts_with(separator) {
                return Some((i, separator.len()));
            }
        }
    }
    None
}

/// The `data:` lines of one event, joined by newlines (the SSE rule).
fn event_data(event: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(event);
    let lines: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|data| data.strip_prefix(' ').unwrap_or(data))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

fn parse(data: &str) -> Result<StreamEvent, Error> {
    let event: TranscriptionStreamEvent = serde_json::from_str(data)
        .map_err(|e| Error::Decode(format!("stream event `{data}`: {e}")))?;
    match event {
        TranscriptionStreamEvent::TranscriptionStreamEventOneOf(delta) => Ok(StreamEvent::Delta(delta.delta)),
        TranscriptionStreamEvent::TranscriptionStreamEventOneOf1(done) => {
            Ok(StreamEvent::Done { text: done.text, usage: *done.usage })
        }
        TranscriptionStreamEvent::TranscriptionStreamEventOneOf2(failed) => {
            Err(ApiError::from_stream(*failed.error).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_events_across_chunks_and_skips_comments() {
        let mut buffer = b": keep-alive\n\ndata: {\"type\":\"transcript.text.delta\",\"delta\":\" Hel".to_vec();
        assert_eq!(take_event(&mut buffer), Some(None));
        assert_eq!(take_event(&mut buffer), None);
        buffer.extend_from_slice(b"lo\"}\r\n\r\n");
        let data = take_event(&mut buffer).flatten().unwrap_or_default();
        assert_eq!(parse(&data).ok(), Some(StreamEvent::Delta(" Hello".into())));
        assert!(buffer.is_empty());
    }

    #[test]
    fn done_and_error_events() {
        let done = parse(r#"{"type":"transcript.text.done","text":"Hi.","usage":{"type":"duration","seconds":1.5}}"#);
        assert!(matches!(done, Ok(StreamEvent::Done { ref text, .. }) if text == "Hi."));
        let failed = parse(r#"{"type":"error","error":{"message":"decoder failed","type":"server_error","param":null,"code":null}}"#);
        let Err(Error::Api(e)) = failed else { panic!("{failed:?}") };
        assert_eq!(e.kind, crate::ErrorKind::Stream);
        assert_eq!(e.message(), "decoder failed");
    }
}
