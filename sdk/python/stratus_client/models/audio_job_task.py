from typing import Literal

AudioJobTask = Literal["transcribe", "translate"]

AUDIO_JOB_TASK_VALUES: set[AudioJobTask] = {
    "transcribe",
    "translate",
}


def check_audio_job_task(value: str) -> AudioJobTask:
    if value in AUDIO_JOB_TASK_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {AUDIO_JOB_TASK_VALUES!r}")
