"""The hand-written result classes (stratus_client.objects) against the
schemas of openapi/stratus.json, so that they cannot drift from what the
server sends: the same field names; a field the server may leave out has a
default; `None` is allowed exactly where the schema allows null or leaves
the field out. The document is `STRATUS_OPENAPI` (the Rust test sets it),
else found beside this repository's sdk/ folder."""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
import unittest
from pathlib import Path
from typing import Any

from stratus_client import objects
from stratus_client.objects import SCHEMAS, AudioJob, Transcription, TranscriptionVerbose


def spec_path() -> Path | None:
    if os.environ.get("STRATUS_OPENAPI"):
        return Path(os.environ["STRATUS_OPENAPI"])
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "openapi" / "stratus.json"
        if candidate.is_file():
            return candidate
    return None


def nullable(prop: dict[str, Any]) -> bool:
    kind = prop.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(nullable(option) for option in prop.get("oneOf", []) + prop.get("anyOf", []))


class Schema:
    """Properties (name → schema) and required names of a component,
    with allOf merged and oneOf variants united."""

    def __init__(self, spec: dict[str, Any], ref: str) -> None:
        self.components = spec["components"]["schemas"]
        name, _, variant = ref.partition("/")
        schema = self.components[name]
        if variant:
            schema = schema["oneOf"][int(variant)]
        self.properties: dict[str, dict[str, Any]] = {}
        self.required: set[str] = set()
        self._collect(schema)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def _collect(self, schema: dict[str, Any]) -> None:
        schema = self._resolve(schema)
        for part in schema.get("allOf", []):
            self._collect(part)
        if "oneOf" in schema and "properties" not in schema:
            variants = []
            for option in schema["oneOf"]:
                sub = Schema.__new__(Schema)
                sub.components, sub.properties, sub.required = self.components, {}, set()
                sub._collect(option)
                variants.append(sub)
            for sub in variants:
                self.properties.update(sub.properties)
            self.required |= set.intersection(*(sub.required for sub in variants))
        self.properties.update(schema.get("properties", {}))
        self.required |= set(schema.get("required", []))


def allows_none(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in typing.get_args(
        annotation
    )


class ObjectsFollowTheSchemas(unittest.TestCase):
    def test_every_class_matches_its_schema(self) -> None:
        path = spec_path()
        if path is None:
            self.skipTest("openapi/stratus.json not found (set STRATUS_OPENAPI)")
        spec = json.loads(path.read_text())
        for cls, ref in SCHEMAS.items():
            schema = Schema(spec, ref)
            hints = typing.get_type_hints(cls)
            fields = {f.name: f for f in dataclasses.fields(cls)}
            with self.subTest(cls=cls.__name__, schema=ref):
                self.assertEqual(set(fields), set(schema.properties), "field names")
                for name, prop in schema.properties.items():
                    f = fields[name]
                    has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
                    may_be_missing = name not in schema.required
                    if may_be_missing:
                        self.assertTrue(has_default, f"{name} may be left out: it needs a default")
                    if nullable(prop):
                        self.assertTrue(allows_none(hints[name]), f"{name} may be null: type it X | None")
                    elif not may_be_missing:
                        self.assertFalse(allows_none(hints[name]), f"{name} is always sent: type it plainly")

    def test_every_public_class_is_checked(self) -> None:
        classes = {
            obj
            for obj in vars(objects).values()
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) and issubclass(obj, objects.StratusObject)
        }
        self.assertEqual(classes - set(SCHEMAS), set())


class Parsing(unittest.TestCase):
    def test_nested_objects_lists_and_numbers(self) -> None:
        verbose = TranscriptionVerbose.from_dict(
            {
                "task": "transcribe",
                "language": "english",
                "duration": 4,
                "text": "Hi there",
                "segments": [
                    {
                        "id": 0,
                        "seek": 0,
                        "start": 0,
                        "end": 1.5,
                        "text": " Hi there",
                        "tokens": [1, 2],
                        "temperature": 0,
                        "avg_logprob": -0.2,
                        "compression_ratio": 1.1,
                        "no_speech_prob": 0.01,
                    }
                ],
                "words": [{"word": "Hi", "start": 0, "end": 0.5}],
                "usage": {"type": "duration", "seconds": 4},
                "added_later": True,
            }
        )
        self.assertIsInstance(verbose.duration, float)
        self.assertEqual(verbose.segments[0].end, 1.5)
        self.assertEqual(verbose.words[0].word, "Hi")
        self.assertEqual(verbose.usage.seconds, 4.0)
        self.assertEqual(TranscriptionVerbose.from_dict(verbose.to_dict()), verbose)

    def test_a_jobs_result_follows_its_response_format(self) -> None:
        base = {
            "id": "job_1",
            "object": "audio.job",
            "status": "succeeded",
            "task": "transcribe",
            "model": "m",
            "progress": 1,
            "attempts": 1,
            "created_at": 1,
        }
        usage = {"type": "duration", "seconds": 1}
        json_job = AudioJob.from_dict({**base, "response_format": "json", "result": {"text": "a", "usage": usage}})
        self.assertEqual(json_job.result, Transcription(text="a", usage=objects.AudioUsage(type="duration", seconds=1)))
        text_job = AudioJob.from_dict({**base, "response_format": "srt", "result": "1\n00:00:00,000 --> ..."})
        self.assertIsInstance(text_job.result, str)
        queued = AudioJob.from_dict({**base, "status": "queued", "response_format": "json", "finished_at": None})
        self.assertIsNone(queued.result)
        self.assertFalse(queued.done)
        self.assertNotIn("finished_at", queued.to_dict())


if __name__ == "__main__":
    unittest.main()
