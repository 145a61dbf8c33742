//! Server-sent events of a streamed transcription (`stream=true`) as a
//! [`futures_util::Stream`] of typed [`StreamEvent`]s: the
//! `text/event-stream` framing is parsed by `eventsource-stream`, each
//! event's data by the generated `TranscriptionStreamEvent`.

use std::pin::Pin;
use std::task::{Context, Poll};

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::error::{ApiError, Error};
use crate::models::{AudioUsage, TranscriptionStreamEvent};

/// One event of a streamed transcription.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The next piece of text (`transcript.text.delta`); the pieces
    /// concatenate to the final text.
    Delta(String),
    /// The whole text and the audio's duration; the last event
    /// (`transcript.text.done`).
    Done {
        /// The whole text.
        text: String,
        /// The audio's duration (what is billed).
        usage: AudioUsage,
    },
}

/// The events of a streamed transcription: a `Stream` of
/// `Result<StreamEvent, Error>` (use `futures::StreamExt::next`,
/// `TryStreamExt::try_collect`, …). An `error` event (decoding failed after
/// the answer started) is an [`Error::Api`] with [`crate::ErrorKind::Stream`].
pub struct TranscriptionStream {
    status: StatusCode,
    headers: HeaderMap,
    events: Pin<Box<dyn Stream<Item = Result<StreamEvent, Error>> + Send>>,
}

impl std::fmt::Debug for TranscriptionStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TranscriptionStream")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl TranscriptionStream {
    pub(crate) fn new(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let events = response
            .bytes_stream()
            .eventsource()
            .filter_map(|event| async move {
                match event {
                    // An event without data (a keep-alive) carries nothing.
                    Ok(event) if event.data.is_empty() => None,
                    Ok(event) => Some(parse(&event.data)),
                    Err(EventStreamError::Transport(e)) => Some(Err(Error::from(e))),
                    Err(e) => Some(Err(Error::Decode(format!("event stream: {e}")))),
                }
            });
        Self {
            status,
            headers,
            events: Box::pin(events),
        }
    }

    /// The status of the response (200).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response's headers (`x-request-id`, rate limits, …).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

impl Stream for TranscriptionStream {
    type Item = Result<StreamEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.as_mut().poll_next(cx)
    }
}

pub(crate) fn parse(data: &str) -> Result<StreamEvent, Error> {
    let event: TranscriptionStreamEvent = serde_json::from_str(data)
        .map_err(|e| Error::Decode(format!("stream event `{data}`: {e}")))?;
    match event {
        TranscriptionStreamEvent::TranscriptionStreamEventOneOf(delta) => {
            Ok(StreamEvent::Delta(delta.delta))
        }
        TranscriptionStreamEvent::TranscriptionStreamEventOneOf1(done) => Ok(StreamEvent::Done {
            text: done.text,
            usage: done.usage,
        }),
        TranscriptionStreamEvent::TranscriptionStreamEventOneOf2(failed) => {
            Err(ApiError::from_stream(failed.error).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn parses_events_split_across_chunks_and_skips_comments() {
        let chunks: Vec<Result<&[u8], std::convert::Infallible>> = vec![
            Ok(b": keep-alive\n\ndata: {\"type\":\"transcript.text.delta\",\"delta\":\" Hel"),
            Ok(b"lo\"}\r\n\r\ndata: {\"type\":\"transcript.text.done\",\"text\":\" Hello\","),
            Ok(b"\"usage\":{\"type\":\"duration\",\"seconds\":1.5}}\n\n"),
        ];
        let events: Vec<_> = futures_util::stream::iter(chunks)
            .eventsource()
            .filter_map(|e| async move {
                e.ok()
                    .filter(|e| !e.data.is_empty())
                    .map(|e| parse(&e.data))
            })
            .collect()
            .await;
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(matches!(&events[0], Ok(StreamEvent::Delta(d)) if d == " Hello"));
        assert!(
            matches!(&events[1], Ok(StreamEvent::Done { text, usage }) if text == " Hello" && usage.seconds == 1.5)
        );
    }

    #[test]
    fn an_error_event_is_a_typed_error() {
        let failed = parse(
            r#"{"type":"error","error":{"message":"decoder failed","type":"server_error","param":null,"code":null}}"#,
        );
        let Err(Error::Api(e)) = failed else {
            panic!("{failed:?}")
        };
        assert_eq!(e.kind, crate::ErrorKind::Stream);
        assert_eq!(e.message(), "decoder failed");
    }
}
