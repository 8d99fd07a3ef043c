"""What the stand-in's batch APIs store: Anthropic message batches, OpenAI batches and files,
each rendered as the API's JSON; and the parsing of uploaded multipart and JSONL input.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from typing import Any

from .prompt import JSON
from .replies import Reply

DAY = 24 * 3600
OPENAI_BATCH_ENDPOINT = "/v1/chat/completions"


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, tz=UTC).isoformat().replace("+00:00", "Z")


def _int(t: float | None) -> int | None:
    return None if t is None else int(t)


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created: float

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": int(self.created),
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": None,
        }


@dataclass
class AnthropicBatch:
    id: str
    created: float
    requests: list[JSON]
    ended: float | None = None
    cancel_initiated: float | None = None
    results: list[JSON] = field(default_factory=list)

    def counts(self) -> JSON:
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if self.ended is None:
            counts["processing"] = len(self.requests)
        for line in self.results:
            counts[line["result"]["type"]] += 1
        return counts

    def to_json(self, base_url: str, status: str | None = None) -> JSON:
        if status is None:
            status = "ended" if self.ended is not None else "in_progress"
        ended = self.ended is not None and status == "ended"
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": self.counts(),
            "created_at": _iso(self.created),
            "expires_at": _iso(self.created + DAY),
            "ended_at": _iso(self.ended) if ended else None,
            "archived_at": None,
            "cancel_initiated_at": _iso(self.cancel_initiated),
            "results_url": f"{base_url}/v1/messages/batches/{self.id}/results" if ended else None,
        }


@dataclass
class OpenAIBatch:
    id: str
    created: float
    input_file_id: str
    completion_window: str
    metadata: Any
    lines: list[JSON]
    errors: list[JSON]
    status: str = "validating"
    times: dict[str, float] = field(default_factory=dict)
    output_file_id: str | None = None
    error_file_id: str | None = None
    completed: int = 0
    failed: int = 0
    usage: JSON | None = None

    def to_json(self) -> JSON:
        model = next((line["body"].get("model") for line in self.lines), None)
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": OPENAI_BATCH_ENDPOINT,
            "model": model if isinstance(model, str) else None,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": int(self.created),
            "in_progress_at": _int(self.times.get("in_progress")),
            "expires_at": int(self.created + DAY),
            "finalizing_at": _int(self.times.get("finalizing")),
            "completed_at": _int(self.times.get("completed")),
            "failed_at": _int(self.times.get("failed")),
            "expired_at": _int(self.times.get("expired")),
            "cancelling_at": _int(self.times.get("cancelling")),
            "cancelled_at": _int(self.times.get("cancelled")),
            "request_counts": {
                "total": len(self.lines),
                "completed": self.completed,
                "failed": self.failed,
            },
            "metadata": self.metadata,
            "usage": self.usage,
        }


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Fields of a multipart/form-data body: name -> (filename, content)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    fields: dict[str, tuple[str | None, bytes]] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        fields[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


def iter_jsonl(data: bytes) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if line.strip():
            yield number, line


def parse_batch_input(data: bytes) -> tuple[list[JSON], list[JSON]]:
    """An OpenAI batch input file → its valid request lines and the errors of the others."""
    lines: list[JSON] = []
    errors: list[JSON] = []
    seen: set[str] = set()

    def fail(code: str, number: int, message: str) -> None:
        errors.append({"code": code, "line": number, "message": message, "param": None})

    for number, text in iter_jsonl(data):
        try:
            item = json.loads(text)
        except ValueError:
            fail("invalid_json_line", number, "This line is not parseable as valid JSON.")
            continue
        if not isinstance(item, dict) or not isinstance(item.get("body"), dict):
            fail("missing_required_parameter", number, "Missing required parameter: 'body'.")
            continue
        cid = item.get("custom_id")
        if not isinstance(cid, str) or not cid:
            fail("missing_required_parameter", number, "Missing 'custom_id'.")
            continue
        if cid in seen:
            fail(
                "duplicate_custom_id", number, f"The custom_id '{cid}' is used more than once."
            )
            continue
        if item.get("url") != OPENAI_BATCH_ENDPOINT or item.get("method", "POST") != "POST":
            fail("invalid_url", number, f"The URL must be {OPENAI_BATCH_ENDPOINT}.")
            continue
        seen.add(cid)
        lines.append(item)
    if not lines and not errors:
        fail("empty_file", 0, "The input file is empty.")
    return lines, errors


class LostReply(Reply):
    """A reply never sent: the server hangs up after doing the work (a lost response)."""

    hang_up = True


def check_metadata(metadata: Any) -> str:
    """What is wrong with an OpenAI batch's metadata ("" when nothing): at most 16 pairs,
    keys of at most 64 characters, string values of at most 512."""
    if metadata is None:
        return ""
    if not isinstance(metadata, dict):
        return "Invalid type for 'metadata': expected an object."
    if len(metadata) > 16:
        return "Invalid 'metadata': too many properties (at most 16)."
    for key, value in metadata.items():
        if len(key) > 64:
            return f"Invalid 'metadata': key {key[:20]!r}... is longer than 64 characters."
        if not isinstance(value, str) or len(value) > 512:
            return f"Invalid 'metadata.{key}': expected a string of at most 512 characters."
    return ""
