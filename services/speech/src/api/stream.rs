//! `stream=true`: the transcript as server-sent events, in OpenAI's shape.
//!
//! ```text
//! data: {"type":"transcript.text.delta","delta":"He was not"}
//! data: {"type":"transcript.text.delta","delta":" an ill disposed young man."}
//! data: {"type":"transcript.text.done","text":"He was not an ill disposed young man.","usage":{"type":"duration","seconds":4.2}}
//! ```
//!
//! A delta is sent as each segment is decoded (a clip of up to 30 s, which
//! the streamable formats decode without timestamps, in one piece); the
//! deltas concatenate to
//! the done event's `text`. `x-stratus-usage-audio-seconds` goes out with
//! the headers: the duration is known once the audio is decoded.
//!
//! Errors: anything found before the job is queued (the form, the audio,
//! the server's audio budget, a full queue) is answered with the normal
//! error envelope and status.
//! Once the `200` has gone out, a failure is sent as one last event,
//! `data: {"type":"error","error":{...}}` with the envelope's error object
//! (what OpenAI's SDKs raise as an `APIError`), and the stream ends.
//!
//! The model's worker thread sends events through an unbounded channel, so
//! a slow reader never stalls the worker (the text of one transcription is
//! small). A client that goes away drops the receiver; the next send fails
//! and the decode stops after its current segment, freeing the worker.

use std::convert::Infallible;
use std::ops::ControlFlow;
use std::time::Instant;

use axum::http::HeaderValue;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use stratus_kit::error::{ApiError, ErrorBody};
use stratus_kit::usage;
use stratus_models::ModelError;
use stratus_models::speech::SpeechModel;
use stratus_models::whisper::{TranscribeOptions, Transcript};
use stratus_models::worker::ModelWorker;
use tokio::sync::mpsc;

use super::format::Usage;
use crate::SpeechError;
use crate::audio::Reservation;

/// What the worker tells the response body.
enum Progress {
    Delta(String),
    Done(Transcript),
    Failed(ModelError),
}

/// One server-sent event of a streamed transcription (`stream=true`), sent
/// as `data: <this JSON>`: `transcript.text.delta` as each piece is
/// decoded, then one `transcript.text.done` with the whole text and usage
/// (the deltas concatenate to it), or one `error` if decoding failed after
/// the response started.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "type")]
#[schema(as = TranscriptionStreamEvent)]
pub(crate) enum StreamEvent<'a> {
    /// The next piece of text.
    #[serde(rename = "transcript.text.delta")]
    Delta { delta: &'a str },
    /// The whole text; the last event.
    #[serde(rename = "transcript.text.done")]
    Done { text: &'a str, usage: Usage },
    /// Decoding failed; the last event.
    #[serde(rename = "error")]
    Error { error: ErrorBody },
}

impl StreamEvent<'_> {
    fn sse(&self) -> Event {
        // Serializing strings and numbers cannot fail; an empty event
        // would still be valid SSE if it somehow did.
        Event::default().data(serde_json::to_string(self).unwrap_or_default())
    }
}

fn error_event(error: SpeechError) -> Event {
    StreamEvent::Error {
        error: ApiError::from(error).envelope().error,
    }
    .sse()
}

/// Queue the transcription of `samples` on `worker` and answer with its
/// events; `reservation` (the samples' audio seconds) is released when the
/// transcription ends. A full queue is an `Err` here, before any byte is
/// sent.
pub fn respond(
    worker: &ModelWorker<SpeechModel>,
    samples: Vec<f32>,
    reservation: Reservation,
    options: TranscribeOptions,
    duration: f64,
    model: String,
) -> Result<Response, SpeechError> {
    let (sender, receiver) = mpsc::unbounded_channel();
    // The job's result travels through the channel; the worker's own reply
    // channel is not needed.
    let _reply = worker.submit(move |whisper: &mut SpeechModel| {
        let result = whisper.transcribe_streaming(&samples, &options, &mut |delta| {
            // A window boundary carries no text: nothing to send, but a
            // client that went away stops the work here too.
            let gone = if delta.text.is_empty() {
                sender.is_closed()
            } else {
                sender.send(Progress::Delta(delta.text.to_owned())).is_err()
            };
            if gone {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        // The samples' seconds go back to the budget with them, whether or
        // not the client is still there.
        drop(samples);
        drop(reservation);
        // Nobody to tell when the client has gone.
        let _ = sender.send(match result {
            Ok(transcript) => Progress::Done(transcript),
            Err(e) => Progress::Failed(e),
        });
    })?;

    let started = Instant::now();
    let events = futures::stream::unfold(Some(receiver), move |state| {
        let model = model.clone();
        async move {
            let mut receiver = state?;
            let event = match receiver.recv().await {
                Some(Progress::Delta(delta)) => {
                    return Some((
                        Ok(StreamEvent::Delta { delta: &delta }.sse()),
                        Some(receiver),
                    ));
                }
                Some(Progress::Done(transcript)) => {
                    let infer_s = started.elapsed().as_secs_f64();
                    tracing::info!(
                        model = %model,
                        audio_s = transcript.duration,
                        infer_s,
                        real_time_factor = transcript.duration / infer_s.max(1e-9),
                        "transcribed (streamed)"
                    );
                    StreamEvent::Done {
                        text: &transcript.text,
                        usage: Usage::duration(transcript.duration),
                    }
                    .sse()
                }
                Some(Progress::Failed(e)) => error_event(SpeechError::Model(e)),
                // The worker dropped the job without an answer (its thread
                // ended).
                None => error_event(SpeechError::Worker(
                    stratus_models::worker::WorkerError::Stopped(model),
                )),
            };
            // The last event; `None` ends the stream after it.
            Some((Ok::<_, Infallible>(event), None))
        }
    });
    let mut response = Sse::new(events)
        // Comment lines keep proxies from closing a quiet stream while a
        // big model decodes its first window.
        .keep_alive(KeepAlive::default())
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("{duration:.3}")) {
        response.headers_mut().insert(usage::AUDIO_SECONDS, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_openai_shape() {
        let delta = serde_json::to_string(&StreamEvent::Delta { delta: " Hi" }).unwrap();
        assert_eq!(delta, r#"{"type":"transcript.text.delta","delta":" Hi"}"#);
        let done = serde_json::to_string(&StreamEvent::Done {
            text: "Hi",
            usage: Usage::duration(1.23456),
        })
        .unwrap();
        assert_eq!(
            done,
            r#"{"type":"transcript.text.done","text":"Hi","usage":{"type":"duration","seconds":1.235}}"#
        );
        // What the SDKs raise: an `error` object with a message.
        let error = StreamEvent::Error {
            error: ApiError::from(SpeechError::Model(ModelError::InvalidInput("bad".into())))
                .envelope()
                .error,
        };
        let error = serde_json::to_value(&error).unwrap();
        assert_eq!(error["type"], "error");
        assert_eq!(error["error"]["message"], "invalid input: bad");
        assert_eq!(error["error"]["type"], "invalid_request_error");
    }
}
