from typing import Literal

AudioJobStatus = Literal["cancelled", "failed", "queued", "running", "succeeded"]

AUDIO_JOB_STATUS_VALUES: set[AudioJobStatus] = {
    "cancelled",
    "failed",
    "queued",
    "running",
    "succeeded",
}


def check_audio_job_status(value: str) -> AudioJobStatus:
    if value in AUDIO_JOB_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {AUDIO_JOB_STATUS_VALUES!r}")
