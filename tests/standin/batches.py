"""Batch APIs of the stand-in: Anthropic Message Batches, OpenAI Files + Batch.

Batches are processed lazily: when one is looked at and is due (auto-finish and at least
`ready_after` seconds old), or when `finish_all()` is called. Each request goes through
the same reply and usage logic as a direct call (the `generate` callback).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from .anthropic_wire import anthropic_error
from .batch_records import (
    OPENAI_BATCH_ENDPOINT,
    AnthropicBatch,
    LostReply,
    OpenAIBatch,
    StoredFile,
    check_metadata,
    parse_batch_input,
    parse_multipart,
)
from .openai_wire import openai_error
from .prompt import ANTHROPIC, JSON, OPENAI
from .replies import Reply, json_reply, new_id

# (provider, request body) -> (HTTP status, response JSON) for one batched request
Generate = Callable[[str, JSON], tuple[int, JSON]]

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _not_found(provider: str, what: str) -> Reply:
    message = f"{what} not found"
    if provider == ANTHROPIC:
        return json_reply(404, anthropic_error(404, message))
    return json_reply(404, openai_error(404, message))


def _bad(provider: str, message: str, param: str | None = None) -> Reply:
    if provider == ANTHROPIC:
        return json_reply(400, anthropic_error(400, message))
    return json_reply(400, openai_error(400, message, param))


class BatchStore:
    """State of both providers' batch APIs (callers serialize access with their lock)."""

    def __init__(self, generate: Generate) -> None:
        self.generate = generate
        self.anthropic: dict[str, AnthropicBatch] = {}
        self.openai: dict[str, OpenAIBatch] = {}
        self.files: dict[str, StoredFile] = {}
        # provider (or None: either) of each create whose reply is to be lost, in order
        self.lose_creates: list[str | None] = []

    def clear(self) -> None:
        self.lose_creates.clear()
        self.anthropic.clear()
        self.openai.clear()
        self.files.clear()

    # ------------------------------------------------------------ processing

    def finish_all(self, keep: int | None = None) -> int:
        """Finish every pending batch; with `keep`, only that many requests per batch are
        processed and the batch expires with the rest unanswered (as a 24 h window does)."""
        done = 0
        for ab in self.anthropic.values():
            if ab.ended is None:
                self._finish_anthropic(ab, keep)
                done += 1
        for ob in self.openai.values():
            if ob.status in ("validating", "in_progress"):
                self._finish_openai(ob, keep)
                done += 1
        return done

    def _finish_anthropic(self, batch: AnthropicBatch, keep: int | None = None) -> None:
        results: list[JSON] = []
        for n, item in enumerate(batch.requests):
            if keep is not None and n >= keep:
                results.append({"custom_id": item["custom_id"], "result": {"type": "expired"}})
                continue
            status, obj = self.generate(ANTHROPIC, item["params"])
            if status == 200:
                result: JSON = {"type": "succeeded", "message": obj}
            else:
                result = {"type": "errored", "error": obj}
            results.append({"custom_id": item["custom_id"], "result": result})
        batch.results = results
        batch.ended = time.time()

    def _finish_openai(self, batch: OpenAIBatch, keep: int | None = None) -> None:
        now = time.time()
        batch.times.setdefault("in_progress", now)
        if batch.errors:
            batch.status = "failed"
            batch.times["failed"] = now
            return
        out: list[str] = []
        err: list[str] = []
        totals = {"input": 0, "cached": 0, "output": 0}
        for line in batch.lines[:keep]:
            status, obj = self.generate(OPENAI, line["body"])
            record = {
                "id": new_id("batch_req_"),
                "custom_id": line["custom_id"],
                "response": {"status_code": status, "request_id": new_id("req_"), "body": obj},
                "error": None,
            }
            (out if status == 200 else err).append(json.dumps(record))
            if status == 200:
                usage = obj["usage"]
                totals["input"] += usage["prompt_tokens"]
                totals["cached"] += usage["prompt_tokens_details"]["cached_tokens"]
                totals["output"] += usage["completion_tokens"]
        batch.completed, batch.failed = len(out), len(err)
        if out:
            batch.output_file_id = self._store_file(
                f"{batch.id}_output.jsonl", "batch_output", "\n".join(out) + "\n"
            ).id
        if err:
            batch.error_file_id = self._store_file(
                f"{batch.id}_error.jsonl", "batch_output", "\n".join(err) + "\n"
            ).id
        batch.usage = {
            "input_tokens": totals["input"],
            "input_tokens_details": {"cached_tokens": totals["cached"]},
            "output_tokens": totals["output"],
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": totals["input"] + totals["output"],
        }
        batch.times["finalizing"] = now
        batch.status = "completed" if keep is None or keep >= len(batch.lines) else "expired"
        batch.times[batch.status] = now

    def _store_file(self, filename: str, purpose: str, text: str) -> StoredFile:
        stored = StoredFile(new_id("file-"), filename, purpose, text.encode(), time.time())
        self.files[stored.id] = stored
        return stored

    def _due(self, created: float, ready_after: float, auto: bool) -> bool:
        return auto and time.time() - created >= ready_after

    # ------------------------------------------------------------ routing

    def handle(
        self,
        method: str,
        path: str,
        body: Any,
        raw: bytes,
        content_type: str,
        base_url: str,
        ready_after: float,
        auto: bool,
    ) -> Reply | None:
        """Serve a batch or file route, or None when `path` is not one."""
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "messages", "batches"]:
            return self._anthropic_route(method, parts[3:], body, base_url, ready_after, auto)
        if parts[:2] == ["v1", "batches"]:
            return self._openai_batch_route(method, parts[2:], body, ready_after, auto)
        if parts[:2] == ["v1", "files"]:
            return self._file_route(method, parts[2:], raw, content_type)
        return None

    def _anthropic_route(
        self, method: str, rest: list[str], body: Any, base_url: str, ready_after: float, auto: bool
    ) -> Reply | None:
        if not rest:
            if method == "POST":
                return self._anthropic_create(body, base_url)
            if method == "GET":
                for ab in self.anthropic.values():
                    if ab.ended is None and self._due(ab.created, ready_after, auto):
                        self._finish_anthropic(ab)
                data = [ab.to_json(base_url) for ab in reversed(self.anthropic.values())]
                return json_reply(
                    200,
                    {
                        "data": data,
                        "has_more": False,
                        "first_id": data[0]["id"] if data else None,
                        "last_id": data[-1]["id"] if data else None,
                    },
                )
            return None
        batch = self.anthropic.get(rest[0])
        if batch is None:
            return _not_found(ANTHROPIC, f"message batch {rest[0]}")
        if batch.ended is None and self._due(batch.created, ready_after, auto):
            self._finish_anthropic(batch)
        tail = rest[1:]
        if method == "GET" and not tail:
            return json_reply(200, batch.to_json(base_url))
        if method == "GET" and tail == ["results"]:
            if batch.ended is None:
                return _bad(ANTHROPIC, f"Message batch {batch.id} is still processing.")
            text = "".join(json.dumps(line) + "\n" for line in batch.results)
            return Reply(200, text.encode(), "application/binary")
        if method == "POST" and tail == ["cancel"]:
            if batch.ended is not None:
                return json_reply(200, batch.to_json(base_url))
            batch.cancel_initiated = time.time()
            batch.results = [
                {"custom_id": item["custom_id"], "result": {"type": "canceled"}}
                for item in batch.requests
            ]
            batch.ended = batch.cancel_initiated
            return json_reply(200, batch.to_json(base_url, status="canceling"))
        return None

    def _anthropic_create(self, body: Any, base_url: str) -> Reply:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return _bad(ANTHROPIC, "requests: at least one request is required")
        seen: set[str] = set()
        for i, item in enumerate(requests):
            if not isinstance(item, dict) or not isinstance(item.get("params"), dict):
                return _bad(ANTHROPIC, f"requests.{i}.params: Field required")
            cid = item.get("custom_id")
            if not isinstance(cid, str) or not CUSTOM_ID.match(cid):
                return _bad(
                    ANTHROPIC, f"requests.{i}.custom_id: must match ^[a-zA-Z0-9_-]{{1,64}}$"
                )
            if cid in seen:
                return _bad(ANTHROPIC, f"Duplicate custom_id: {cid}")
            seen.add(cid)
        batch = AnthropicBatch(new_id("msgbatch_"), time.time(), requests)
        self.anthropic[batch.id] = batch
        return self._created(ANTHROPIC, json_reply(200, batch.to_json(base_url)))

    def _created(self, provider: str, reply: Reply) -> Reply:
        """The reply to a create, or a hang-up (the batch exists) when one is to be lost."""
        for n, which in enumerate(self.lose_creates):
            if which in (None, provider):
                del self.lose_creates[n]
                return LostReply(reply.status, reply.body, reply.content_type, reply.headers)
        return reply

    def _openai_batch_route(
        self, method: str, rest: list[str], body: Any, ready_after: float, auto: bool
    ) -> Reply | None:
        if not rest:
            if method == "POST":
                return self._openai_create(body)
            if method == "GET":
                for ob in self.openai.values():
                    self._advance(ob, ready_after, auto)
                data = [ob.to_json() for ob in reversed(self.openai.values())]
                return json_reply(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "has_more": False,
                        "first_id": data[0]["id"] if data else None,
                        "last_id": data[-1]["id"] if data else None,
                    },
                )
            return None
        batch = self.openai.get(rest[0])
        if batch is None:
            return _not_found(OPENAI, f"batch {rest[0]}")
        if method == "GET" and len(rest) == 1:
            self._advance(batch, ready_after, auto)
            return json_reply(200, batch.to_json())
        if method == "POST" and rest[1:] == ["cancel"]:
            if batch.status in ("validating", "in_progress"):
                now = time.time()
                batch.times["cancelling"] = now
                batch.times["cancelled"] = now
                batch.status = "cancelling"
                reply = json_reply(200, batch.to_json())
                batch.status = "cancelled"
                return reply
            return json_reply(200, batch.to_json())
        return None

    def _advance(self, batch: OpenAIBatch, ready_after: float, auto: bool) -> None:
        if batch.status not in ("validating", "in_progress"):
            return
        if batch.errors or self._due(batch.created, ready_after, auto):
            self._finish_openai(batch)
        else:
            batch.status = "in_progress"
            batch.times.setdefault("in_progress", time.time())

    def _openai_create(self, body: Any) -> Reply:
        if not isinstance(body, dict):
            return _bad(OPENAI, "Request body must be a JSON object")
        file_id = body.get("input_file_id")
        stored = self.files.get(file_id) if isinstance(file_id, str) else None
        if stored is None:
            return _bad(OPENAI, f"Invalid 'input_file_id': {file_id!r}.", "input_file_id")
        if body.get("endpoint") != OPENAI_BATCH_ENDPOINT:
            return _bad(
                OPENAI,
                f"The stand-in only supports endpoint {OPENAI_BATCH_ENDPOINT}.",
                "endpoint",
            )
        if body.get("completion_window") != "24h":
            return _bad(OPENAI, "Invalid 'completion_window': expected '24h'.", "completion_window")
        problem = check_metadata(body.get("metadata"))
        if problem:
            return _bad(OPENAI, problem, "metadata")
        lines, errors = parse_batch_input(stored.data)
        batch = OpenAIBatch(
            new_id("batch_"),
            time.time(),
            stored.id,
            "24h",
            body.get("metadata"),
            lines,
            errors,
        )
        self.openai[batch.id] = batch
        return self._created(OPENAI, json_reply(200, batch.to_json()))

    def _file_route(
        self, method: str, rest: list[str], raw: bytes, content_type: str
    ) -> Reply | None:
        if not rest and method == "POST":
            if not content_type.startswith("multipart/form-data"):
                return _bad(OPENAI, "Expected a multipart/form-data upload.")
            fields = parse_multipart(content_type, raw)
            purpose = fields.get("purpose", (None, b""))[1].decode()
            if "file" not in fields:
                return _bad(OPENAI, "Missing required parameter: 'file'.", "file")
            if purpose != "batch":
                return _bad(OPENAI, "The stand-in only accepts purpose 'batch'.", "purpose")
            filename, content = fields["file"]
            stored = StoredFile(
                new_id("file-"), filename or "upload.jsonl", purpose, content, time.time()
            )
            self.files[stored.id] = stored
            return json_reply(200, stored.to_json())
        if not rest:
            return None
        found = self.files.get(rest[0])
        if found is None:
            return _not_found(OPENAI, f"file {rest[0]}")
        stored = found
        if method == "GET" and len(rest) == 1:
            return json_reply(200, stored.to_json())
        if method == "GET" and rest[1:] == ["content"]:
            return Reply(200, stored.data, "application/octet-stream")
        if method == "DELETE" and len(rest) == 1:
            del self.files[stored.id]
            return json_reply(200, {"id": stored.id, "object": "file", "deleted": True})
        return None

    def describe(self, body: Any, raw: bytes, content_type: str) -> Any:
        """What to record as the body of a batch or file request."""
        if content_type.startswith("multipart/form-data"):
            fields = parse_multipart(content_type, raw)
            return {
                name: (
                    {"filename": fname, "bytes": len(data)}
                    if fname
                    else data.decode("utf-8", "replace")
                )
                for name, (fname, data) in fields.items()
            }
        return body
