from typing import Literal

TranscriptionStreamEventType0Type = Literal["transcript.text.delta"]

TRANSCRIPTION_STREAM_EVENT_TYPE_0_TYPE_VALUES: set[TranscriptionStreamEventType0Type] = {
    "transcript.text.delta",
}


def check_transcription_stream_event_type_0_type(value: str) -> TranscriptionStreamEventType0Type:
    if value in TRANSCRIPTION_STREAM_EVENT_TYPE_0_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {TRANSCRIPTION_STREAM_EVENT_TYPE_0_TYPE_VALUES!r}")
