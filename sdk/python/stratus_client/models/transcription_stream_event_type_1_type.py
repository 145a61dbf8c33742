from typing import Literal

TranscriptionStreamEventType1Type = Literal["transcript.text.done"]

TRANSCRIPTION_STREAM_EVENT_TYPE_1_TYPE_VALUES: set[TranscriptionStreamEventType1Type] = {
    "transcript.text.done",
}


def check_transcription_stream_event_type_1_type(value: str) -> TranscriptionStreamEventType1Type:
    if value in TRANSCRIPTION_STREAM_EVENT_TYPE_1_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {TRANSCRIPTION_STREAM_EVENT_TYPE_1_TYPE_VALUES!r}")
