"""What the hand-written client returns: plain dataclasses with the API's
field names and plain Python types.

Hand-written, beside the code ``sdk/generate`` writes. The generated attrs models (``stratus_client.models``)
type every optional field ``X | None | Unset``; these classes do not: a
field the server always sends is its plain type, and ``X | None`` (default
``None``) is kept only where the API itself leaves a value out or sends
``null`` (``words`` without word timestamps, ``finished_at`` while a job
runs), as OpenAI's SDK types them. Fields the server adds later are
ignored until a class here gains them; ``tests/test_objects.py`` fails
when a class and its schema in ``openapi/stratus.json`` disagree.

Every class has ``from_dict`` (the JSON the server sends) and ``to_dict``
(back to that JSON).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union

T = TypeVar("T", bound="StratusObject")

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
"""Where a job is in its life; the last three are final."""

FINAL_JOB_STATUSES = frozenset({"succeeded", "failed", "cancelled"})

_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = hints
    return hints


def _convert(annotation: Any, value: Any) -> Any:
    """``value`` (parsed JSON) as ``annotation`` says: dataclasses from
    dicts, lists item by item, ints widened to float."""
    if value is None:
        return None
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return _convert(options[0], value)
        # Unions of plain types (``list[float] | str``): the value as it is.
        return value
    if origin is list:
        (item,) = typing.get_args(annotation)
        return [_convert(item, v) for v in value]
    if isinstance(annotation, type) and issubclass(annotation, StratusObject):
        return annotation.from_dict(value)
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, StratusObject):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class StratusObject:
    """Base of the returned objects: ``from_dict``, ``to_dict``, ``to_json``."""

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        """The object of the JSON ``data`` (unknown keys are ignored)."""
        hints = _hints(cls)
        values = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if not f.init:
                continue
            if f.name in data:
                values[f.name] = _convert(hints[f.name], data[f.name])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The object as the server's JSON (optional fields left out when ``None``)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.default is None:
                continue
            out[f.name] = _plain(value)
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


# -- audio ---------------------------------------------------------------------


@dataclass(kw_only=True)
class AudioUsage(StratusObject):
    """Audio is billed by its duration."""

    type: str
    """Always ``duration``."""
    seconds: float


@dataclass(kw_only=True)
class Transcription(StratusObject):
    """``response_format="json"`` (the default)."""

    text: str
    usage: AudioUsage


@dataclass(kw_only=True)
class TranscriptionSegment(StratusObject):
    """One segment of ``verbose_json``: times in seconds and Whisper's
    confidence measures."""

    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: list[int]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float


@dataclass(kw_only=True)
class TranscriptionWord(StratusObject):
    """One word of ``verbose_json`` (with ``timestamp_granularities=["word"]``)."""

    word: str
    start: float
    end: float


@dataclass(kw_only=True)
class TranscriptionVerbose(StratusObject):
    """``response_format="verbose_json"``: the text, its segments, the
    language in words (``english``) and the duration; ``words`` when
    ``timestamp_granularities`` included ``"word"`` (else ``None``)."""

    task: str
    language: str
    duration: float
    text: str
    segments: list[TranscriptionSegment]
    usage: AudioUsage
    words: list[TranscriptionWord] | None = None


@dataclass(kw_only=True)
class TranscriptionTextDeltaEvent(StratusObject):
    """A streamed transcription's next piece of text."""

    type: Literal["transcript.text.delta"] = "transcript.text.delta"
    delta: str


@dataclass(kw_only=True)
class TranscriptionTextDoneEvent(StratusObject):
    """A streamed transcription's last event: the whole text (the deltas
    concatenate to it) and the usage."""

    type: Literal["transcript.text.done"] = "transcript.text.done"
    text: str
    usage: AudioUsage


TranscriptionStreamEvent = TranscriptionTextDeltaEvent | TranscriptionTextDoneEvent
"""One event of ``stream_transcription``: check ``event.type`` or ``isinstance``."""

TranscriptionResult = Transcription | TranscriptionVerbose | str
"""A job's result: the object of its ``response_format`` (a string for
``text``, ``srt`` and ``vtt``)."""


def parse_transcription(response_format: str | None, body: Any) -> TranscriptionResult:
    """A transcription in ``response_format`` from its JSON (or text)."""
    if isinstance(body, str):
        return body
    if response_format == "verbose_json":
        return TranscriptionVerbose.from_dict(body)
    return Transcription.from_dict(body)


@dataclass(kw_only=True)
class AudioJobError(StratusObject):
    """Why a job failed."""

    code: str
    message: str


@dataclass(kw_only=True)
class AudioJob(StratusObject):
    """An asynchronous transcription or translation (``object: "audio.job"``).
    Times are Unix seconds. ``result`` is set once the job succeeded and was
    read singly (``get_job``, ``wait_for_job``, a webhook): a
    ``Transcription`` for ``json``, a ``TranscriptionVerbose`` for
    ``verbose_json``, a ``str`` for ``text``/``srt``/``vtt``."""

    id: str
    object: str
    status: JobStatus
    task: str
    model: str
    response_format: str
    progress: float
    """Share of the audio transcribed, 0 to 1."""
    attempts: int
    created_at: int
    started_at: int | None = None
    finished_at: int | None = None
    result: TranscriptionResult | None = None
    error: AudioJobError | None = None
    usage: AudioUsage | None = None
    webhook_url: str | None = None
    webhook_status: str | None = None
    """``pending``, then ``delivered`` or ``failed``."""

    @property
    def done(self) -> bool:
        """Whether the job has ended (succeeded, failed or cancelled)."""
        return self.status in FINAL_JOB_STATUSES

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AudioJob:
        data = dict(data)
        result = data.pop("result", None)
        job = super().from_dict(data)
        if result is not None:
            job.result = parse_transcription(job.response_format, result)
        return job


@dataclass(kw_only=True)
class AudioWebhookSecret(StratusObject):
    """The secret a tenant's job webhooks are signed with."""

    object: str
    secret: str
    created_at: int | None = None
    previous_secret_expires_at: int | None = None


# -- embeddings and language ---------------------------------------------------------


@dataclass(kw_only=True)
class Embedding(StratusObject):
    """One input's vector (a base64 string with ``encoding_format="base64"``)."""

    object: str
    index: int
    embedding: list[float] | str


@dataclass(kw_only=True)
class EmbeddingUsage(StratusObject):
    prompt_tokens: int
    total_tokens: int


@dataclass(kw_only=True)
class CreateEmbeddingResponse(StratusObject):
    """``embed``: one ``Embedding`` per input, in order."""

    object: str
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage


@dataclass(kw_only=True)
class DocumentError(StratusObject):
    """Why one document was not processed."""

    code: str
    message: str


@dataclass(kw_only=True)
class DocumentUsage(StratusObject):
    documents: int
    characters: int


@dataclass(kw_only=True)
class LanguageCandidate(StratusObject):
    language: str
    confidence: float


@dataclass(kw_only=True)
class LanguageDetection(StratusObject):
    """One document's language, or (``error`` set, the rest empty) why it
    could not be read."""

    id: str
    language: str = ""
    confidence: float = 0.0
    alternatives: list[LanguageCandidate] = field(default_factory=list)
    error: DocumentError | None = None


@dataclass(kw_only=True)
class DetectLanguageResponse(StratusObject):
    object: str
    model: str
    data: list[LanguageDetection]
    usage: DocumentUsage


@dataclass(kw_only=True)
class Entity(StratusObject):
    """An entity in a text; ``start``/``end`` count characters."""

    type: str
    text: str
    start: int
    end: int
    score: float


@dataclass(kw_only=True)
class EntitiesResult(StratusObject):
    """One document's entities (and its redacted text for ``redact_pii``),
    or (``error`` set) why it could not be read."""

    id: str
    entities: list[Entity] = field(default_factory=list)
    redacted_text: str | None = None
    error: DocumentError | None = None


@dataclass(kw_only=True)
class EntitiesResponse(StratusObject):
    object: str
    data: list[EntitiesResult]
    usage: DocumentUsage
    model: str | None = None


# -- models -------------------------------------------------------------------------


@dataclass(kw_only=True)
class Model(StratusObject):
    """A model this deployment serves."""

    id: str
    object: str
    created: int
    owned_by: str
    task: str
    service: str
    """``speech`` or ``language``."""
    languages: list[str]
    aliases: list[str] = field(default_factory=list)
    license: str | None = None
    attribution: str | None = None


@dataclass(kw_only=True)
class ModelList(StratusObject):
    object: str
    data: list[Model]


# -- tenants, keys, limits ---------------------------------------------------------


@dataclass(kw_only=True)
class Tenant(StratusObject):
    id: str
    name: str
    created_at: int


@dataclass(kw_only=True)
class ApiKey(StratusObject):
    """A key as the API shows it (never its secret). Times are Unix seconds."""

    id: str
    object: str
    tenant_id: str
    scopes: list[str]
    created_at: int
    name: str | None = None
    expires_at: int | None = None
    revoked_at: int | None = None
    last_used_at: int | None = None


@dataclass(kw_only=True)
class CreatedApiKey(ApiKey):
    """A key just made, with its ``secret`` (``sk_…``), shown this once."""

    secret: str


@dataclass(kw_only=True)
class Limits(StratusObject):
    """A tenant's (or key's) limits; ``None``: no limit of that kind."""

    object: str
    tenant_id: str
    key_id: str | None = None
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    audio_seconds_per_minute: int | None = None
    concurrent_requests: int | None = None
    updated_at: int | None = None


@dataclass(kw_only=True)
class Budget(StratusObject):
    """A tenant's budget this month; amounts are exact decimal strings."""

    object: str
    tenant_id: str
    month: str
    currency: str
    plan: str
    spent: str
    reserved: str
    soft_limit_reached: bool
    hard_limit_reached: bool
    soft_limit: str | None = None
    hard_limit: str | None = None
    remaining: str | None = None
    soft_alerted_at: str | None = None
    hard_alerted_at: str | None = None
    #: The calling key's own budget (``None``: the caller is not a key, or
    #: the key has none of its own).
    key: KeyBudget | None = None


@dataclass(kw_only=True)
class KeyBudget(StratusObject):
    """An API key's own budget this month, under its tenant's;
    ``hard_limit`` ``None``: the key has none of its own."""

    object: str
    key_id: str
    tenant_id: str
    month: str
    currency: str
    spent: str
    reserved: str
    hard_limit_reached: bool
    hard_limit: str | None = None
    remaining: str | None = None


# -- usage and billing -----------------------------------------------------------


@dataclass(kw_only=True)
class UsageUnits(StratusObject):
    requests: int
    audio_seconds: float
    input_tokens: int
    characters: int
    documents: int


@dataclass(kw_only=True)
class UsageBucket(UsageUnits):
    """One bucket's sums (of one ``group`` when grouped)."""

    start: str
    end: str
    group: str | None = None


@dataclass(kw_only=True)
class UsageReport(StratusObject):
    """``usage()``: totals and per-bucket sums over a range."""

    object: str
    tenant_id: str
    start: str
    end: str
    bucket: str
    totals: UsageUnits
    data: list[UsageBucket]
    group_by: str | None = None


@dataclass(kw_only=True)
class UsageEvent(StratusObject):
    """One metered request; ``request_id`` is its ``x-request-id``."""

    id: str
    tenant_id: str
    service: str
    endpoint: str
    status: int
    latency_ms: int
    time: str
    units: UsageUnits
    request_id: str | None = None
    client_request_id: str | None = None
    key_id: str | None = None
    user_id: str | None = None
    model: str | None = None


@dataclass(kw_only=True)
class InvoiceLine(StratusObject):
    model: str
    unit: str
    quantity: str
    unit_price: str
    amount: str
    amount_nanos: int


@dataclass(kw_only=True)
class Invoice(StratusObject):
    """A month's invoice: ``draft`` (the current month) or ``closed``.
    Amounts are exact decimal strings; ``*_nanos`` are billionths."""

    object: str
    id: str
    tenant_id: str
    month: str
    status: str
    currency: str
    plan: str
    period_start: str
    period_end: str
    lines: list[InvoiceLine]
    subtotal: str
    subtotal_nanos: int
    closed_at: str | None = None


@dataclass(kw_only=True)
class InvoiceList(StratusObject):
    object: str
    data: list[Invoice]


# Each class and the schema of openapi/stratus.json it follows (for the
# drift test, tests/test_objects.py).
SCHEMAS: dict[type[StratusObject], str] = {
    AudioUsage: "AudioUsage",
    Transcription: "Transcription",
    TranscriptionSegment: "TranscriptionSegment",
    TranscriptionWord: "TranscriptionWord",
    TranscriptionVerbose: "TranscriptionVerbose",
    TranscriptionTextDeltaEvent: "TranscriptionStreamEvent/0",
    TranscriptionTextDoneEvent: "TranscriptionStreamEvent/1",
    AudioJobError: "AudioJobError",
    AudioJob: "AudioJob",
    AudioWebhookSecret: "AudioWebhookSecret",
    Embedding: "EmbeddingItem",
    EmbeddingUsage: "EmbeddingsUsage",
    CreateEmbeddingResponse: "EmbeddingsResponse",
    DocumentError: "DocumentError",
    DocumentUsage: "DocumentUsage",
    LanguageCandidate: "Candidate",
    LanguageDetection: "DocumentResult_Detection",
    DetectLanguageResponse: "DetectResponse",
    Entity: "Entity",
    EntitiesResult: "DocumentResult_Entities",
    EntitiesResponse: "EntitiesResponse",
    Model: "Model",
    ModelList: "ModelList",
    Tenant: "Tenant",
    ApiKey: "ApiKey",
    CreatedApiKey: "CreatedApiKey",
    Limits: "LimitsView",
    Budget: "BudgetView",
    KeyBudget: "KeyBudgetView",
    UsageUnits: "UsageUnits",
    UsageBucket: "UsageBucket",
    UsageReport: "Usage",
    UsageEvent: "UsageEvent",
    InvoiceLine: "Line",
    Invoice: "Invoice",
    InvoiceList: "InvoiceList",
}
