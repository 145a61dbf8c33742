"""Each request of the hand-written clients, described once for ``Stratus``
and ``AsyncStratus`` (which only send them).

Hand-written, beside the code ``sdk/generate`` writes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from ._base import Call, FileInput, audio_form, parse_json, parse_text, upload, without_none
from .objects import (
    AudioJob,
    AudioWebhookSecret,
    Budget,
    CreatedApiKey,
    CreateEmbeddingResponse,
    DetectLanguageResponse,
    EntitiesResponse,
    Invoice,
    InvoiceList,
    KeyBudget,
    Limits,
    Model,
    ModelList,
    Tenant,
    UsageEvent,
    UsageReport,
    parse_transcription,
)


def _segment(value: str) -> str:
    return quote(value, safe="")


def transcription(
    path: str,
    file: FileInput,
    *,
    model: str,
    language: str | None,
    prompt: str | None,
    response_format: str | None,
    temperature: float | None,
    timestamp_granularities: Sequence[str] | None,
) -> Call:
    data = audio_form(
        model=model,
        language=language,
        prompt=prompt,
        response_format=response_format,
        temperature=temperature,
        timestamp_granularities=timestamp_granularities,
    )

    def parse(response: httpx.Response) -> Any:
        if response.headers.get("content-type", "").startswith("application/json"):
            return parse_transcription(response_format, response.json())
        return response.text

    return Call("POST", path, parse, data=data, files={"file": upload(file)})


def stream(
    file: FileInput,
    *,
    model: str,
    language: str | None,
    prompt: str | None,
    response_format: str | None,
    temperature: float | None,
) -> Call:
    data = audio_form(
        model=model,
        language=language,
        prompt=prompt,
        response_format=response_format,
        temperature=temperature,
        timestamp_granularities=None,
        stream="true",
    )
    return Call(
        "POST",
        "/v1/audio/transcriptions",
        parse_text,
        data=data,
        files={"file": upload(file)},
        headers={"Accept": "text/event-stream", "Cache-Control": "no-store"},
    )


def create_job(
    file: FileInput,
    *,
    model: str,
    task: str | None,
    language: str | None,
    prompt: str | None,
    response_format: str | None,
    temperature: float | None,
    timestamp_granularities: Sequence[str] | None,
    webhook_url: str | None,
) -> Call:
    data = audio_form(
        model=model,
        language=language,
        prompt=prompt,
        response_format=response_format,
        temperature=temperature,
        timestamp_granularities=timestamp_granularities,
        task=task,
        webhook_url=webhook_url,
    )
    return Call("POST", "/v1/audio/jobs", parse_json(AudioJob), data=data, files={"file": upload(file)})


def get_job(job_id: str) -> Call:
    return Call("GET", f"/v1/audio/jobs/{_segment(job_id)}", parse_json(AudioJob))


def cancel_job(job_id: str) -> Call:
    return Call("DELETE", f"/v1/audio/jobs/{_segment(job_id)}", parse_json(AudioJob))


def jobs_page(limit: int | None, after: str | None) -> Call:
    params = without_none({"limit": limit, "after": after})
    return Call("GET", "/v1/audio/jobs", lambda r: r.json(), params=params)


def job_page_fields(body: dict[str, Any]) -> tuple[list[AudioJob], bool, str | None]:
    return [AudioJob.from_dict(j) for j in body["data"]], bool(body["has_more"]), body.get("last_id")


def get_webhook_secret() -> Call:
    return Call("GET", "/v1/audio/webhook-secret", parse_json(AudioWebhookSecret))


def rotate_webhook_secret(previous_secret_valid_seconds: int | None) -> Call:
    body = without_none({"previous_secret_valid_seconds": previous_secret_valid_seconds})
    return Call("POST", "/v1/audio/webhook-secret/rotate", parse_json(AudioWebhookSecret), json=body)


def usage_events_page(start: str | None, end: str | None, limit: int | None, cursor: str | None) -> Call:
    params = without_none({"start": start, "end": end, "limit": limit, "cursor": cursor})
    return Call("GET", "/v1/usage/events", lambda r: r, params=params)


def usage_event_page_fields(response: httpx.Response) -> tuple[list[UsageEvent], bool, str | None]:
    events = [UsageEvent.from_dict(json.loads(line)) for line in response.text.splitlines() if line.strip()]
    has_more = response.headers.get("x-stratus-has-more", "").strip().lower() == "true"
    return events, has_more, response.headers.get("x-stratus-cursor")


def embed(input: str | Sequence[str], *, model: str, extra: dict[str, Any]) -> Call:
    body = without_none({"input": input if isinstance(input, str) else list(input), "model": model, **extra})
    return Call("POST", "/v1/embeddings", parse_json(CreateEmbeddingResponse), json=body)


def detect_language(input: Any, extra: dict[str, Any]) -> Call:
    return Call(
        "POST", "/v1/language/detect", parse_json(DetectLanguageResponse), json=without_none({"input": input, **extra})
    )


def redact_pii(input: Any, extra: dict[str, Any]) -> Call:
    return Call("POST", "/v1/language/pii", parse_json(EntitiesResponse), json=without_none({"input": input, **extra}))


def list_models() -> Call:
    return Call("GET", "/v1/models", parse_json(ModelList))


def retrieve_model(model: str) -> Call:
    return Call("GET", f"/v1/models/{_segment(model)}", parse_json(Model))


def create_tenant(name: str) -> Call:
    return Call("POST", "/v1/admin/tenants", parse_json(Tenant), json={"name": name})


def create_tenant_key(tenant_id: str, scopes: Sequence[str], name: str | None) -> Call:
    return Call(
        "POST",
        f"/v1/admin/tenants/{_segment(tenant_id)}/keys",
        parse_json(CreatedApiKey),
        json=without_none({"scopes": list(scopes), "name": name}),
    )


def create_key(scopes: Sequence[str], name: str | None) -> Call:
    return Call(
        "POST", "/v1/keys", parse_json(CreatedApiKey), json=without_none({"scopes": list(scopes), "name": name})
    )


LIMIT_NAMES = ("requests_per_minute", "tokens_per_minute", "audio_seconds_per_minute", "concurrent_requests")


def set_tenant_limits(tenant_id: str, limits: dict[str, int | None]) -> Call:
    unknown = set(limits) - set(LIMIT_NAMES)
    if unknown:
        raise TypeError(f"unknown limits: {', '.join(sorted(unknown))} (known: {', '.join(LIMIT_NAMES)})")
    return Call("PUT", f"/v1/admin/tenants/{_segment(tenant_id)}/limits", parse_json(Limits), json=limits)


def set_tenant_budget(tenant_id: str, soft_limit: str | None, hard_limit: str | None) -> Call:
    return Call(
        "PUT",
        f"/v1/admin/tenants/{_segment(tenant_id)}/budget",
        parse_json(Budget),
        json={"soft_limit": soft_limit, "hard_limit": hard_limit},
    )


def budget() -> Call:
    return Call("GET", "/v1/billing/budget", parse_json(Budget))


def set_key_budget(key_id: str, hard_limit: str | None) -> Call:
    return Call(
        "PUT",
        f"/v1/keys/{_segment(key_id)}/budget",
        parse_json(KeyBudget),
        json={"hard_limit": hard_limit},
    )


def usage(params: dict[str, str | None], csv: bool = False) -> Call:
    params = without_none(params)
    if csv:
        return Call("GET", "/v1/usage", parse_text, params={**params, "format": "csv"})
    return Call("GET", "/v1/usage", parse_json(UsageReport), params=params)


def list_invoices(include_zero_lines: bool | None) -> Call:
    params = {} if include_zero_lines is None else {"include_zero_lines": str(include_zero_lines).lower()}
    return Call("GET", "/v1/billing/invoices", parse_json(InvoiceList), params=params)


def get_invoice(invoice_id: str, include_zero_lines: bool | None, csv: bool = False) -> Call:
    params = {} if include_zero_lines is None else {"include_zero_lines": str(include_zero_lines).lower()}
    path = f"/v1/billing/invoices/{_segment(invoice_id)}"
    if csv:
        return Call("GET", path, parse_text, params={**params, "format": "csv"})
    return Call("GET", path, parse_json(Invoice), params=params)
