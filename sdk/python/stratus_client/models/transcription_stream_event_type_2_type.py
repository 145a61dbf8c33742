from typing import Literal

TranscriptionStreamEventType2Type = Literal["error"]

TRANSCRIPTION_STREAM_EVENT_TYPE_2_TYPE_VALUES: set[TranscriptionStreamEventType2Type] = {
    "error",
}


def check_transcription_stream_event_type_2_type(value: str) -> TranscriptionStreamEventType2Type:
    if value in TRANSCRIPTION_STREAM_EVENT_TYPE_2_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {TRANSCRIPTION_STREAM_EVENT_TYPE_2_TYPE_VALUES!r}")
