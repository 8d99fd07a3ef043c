"""The `openai:` provider: GPT models, and any OpenAI-compatible server (Ollama, vLLM, a
llama.cpp server) given by --base-url, through the official `openai` SDK."""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Sequence
from types import SimpleNamespace
from typing import Any, Literal

from ghost.models.cancel import check as check_cancel
from ghost.models.cancel import current as current_cancel
from ghost.models.capacity import room_from_headers
from ghost.models.catalog import ModelInfo
from ghost.models.errors_map import (
    DEFAULT_CALL_TIMEOUT,
    call_timeout,
    malformed,
    translated_errors,
    unfinished_stream,
)
from ghost.models.keys import Endpoint
from ghost.models.protocol import Completion, Model, Request, Usage
from ghost.privacy import is_local_endpoint
from ghost.providers import Provider, register

NAME = "openai"
STREAM_FROM_MAX_TOKENS = 8192
BATCH_ENDPOINT: Literal["/v1/chat/completions"] = "/v1/chat/completions"
TAG_KEY = "ghost_local_id"  # batch metadata: ghost's id of the batch, to find it again
CLOCK_SKEW = 600.0  # seconds a provider's clock may be behind ours when finding a batch


def build_params(info: ModelInfo, request: Request, *, compat: bool) -> dict[str, Any]:
    """Chat Completions body. The stable prefix comes first so automatic prefix caching applies."""
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages += [{"role": m.role, "content": m.text} for m in request.messages]
    params: dict[str, Any] = {"model": info.name, "messages": messages}
    # OpenAI's newer models want max_completion_tokens; compatible servers mostly know max_tokens.
    # Reasoning models spend output tokens before the answer: their allowance is added.
    params["max_tokens" if compat else "max_completion_tokens"] = info.asked_output(
        request.max_tokens)
    if request.temperature is not None and info.supports_temperature:
        params["temperature"] = request.temperature
    return params


def parse_usage(u: Any) -> Usage:
    if u is None:
        return Usage()
    details = getattr(u, "prompt_tokens_details", None)
    cached = (getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
    prompt = u.prompt_tokens or 0
    return Usage(input_tokens=prompt - cached, output_tokens=u.completion_tokens or 0,
                 cache_read_tokens=cached)


class OpenAIModel:
    def __init__(self, info: ModelInfo, endpoint: Endpoint,
                 timeout: float = DEFAULT_CALL_TIMEOUT):
        self.info = info
        self.spec = info.spec
        self.endpoint = endpoint
        self.timeout = timeout
        self._compat = bool(endpoint.base_url) and "api.openai.com" not in (endpoint.base_url or "")

    @functools.cached_property
    def _client(self) -> Any:
        """The SDK client, made on the first call: a run answered from ghost's cache never
        loads the SDK (over a second of imports)."""
        import openai

        return openai.OpenAI(api_key=self.endpoint.api_key,
                             base_url=self.endpoint.base_url, max_retries=0,
                             timeout=self.timeout)

    def complete(self, request: Request) -> Completion:
        import openai

        params = build_params(self.info, request, compat=self._compat)
        check_cancel(sent=False)
        # A call that can be cancelled streams: a stream can be closed part-way.
        streamed = request.max_tokens >= STREAM_FROM_MAX_TOKENS or current_cancel() is not None
        asked = int(params.get("max_tokens") or params.get("max_completion_tokens") or 0)
        timeout = call_timeout(openai, self.timeout, asked, streamed)
        with translated_errors(NAME, self.info.name):
            if streamed:
                return self._stream(params, timeout)
            raw = self._client.chat.completions.with_raw_response.create(**params,
                                                                         timeout=timeout)
            resp = raw.parse()
        choices = getattr(resp, "choices", None)
        if not isinstance(choices, list) or not choices or \
                getattr(choices[0], "message", None) is None:
            raise malformed(NAME, self.info.name, "choices")
        choice = choices[0]
        return Completion(choice.message.content or "", parse_usage(resp.usage), resp.model,
                          choice.finish_reason or "", room=room_from_headers(raw.headers))

    # Batch API: a JSONL file of requests, half price, results within 24 hours.
    batch_limits = (50_000, 200 * 1024 * 1024)  # Batch API: 50,000 requests or 200 MB a batch

    def submit_batch(self, items: Sequence[tuple[str, Request]], tag: str = "") -> str:
        lines = [json.dumps({"custom_id": cid, "method": "POST", "url": BATCH_ENDPOINT,
                             "body": build_params(self.info, r, compat=self._compat)})
                 for cid, r in items]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        with translated_errors(NAME, self.info.name):
            upload = self._client.files.create(file=("ghost-batch.jsonl", data), purpose="batch")
            # Tagged, so that a batch whose create reply was lost can be found again.
            batch = self._client.batches.create(input_file_id=upload.id, endpoint=BATCH_ENDPOINT,
                                                completion_window="24h",
                                                metadata={TAG_KEY: tag} if tag else None)
        return str(batch.id)

    def find_batch(self, tag: str, custom_ids: Sequence[str], since: float,
                   exclude: Collection[str] = ()) -> str | None:
        """The batch created since `since` and tagged `tag` (listed newest first)."""
        with translated_errors(NAME, self.info.name):
            for batch in self._client.batches.list(limit=100):
                if batch.created_at < since - CLOCK_SKEW:
                    break
                if tag and batch.id not in exclude and (batch.metadata or {}).get(TAG_KEY) == tag:
                    return str(batch.id)
        return None

    def batch_status(self, batch_id: str) -> str:
        with translated_errors(NAME, self.info.name):
            status = self._client.batches.retrieve(batch_id).status
        # An expired or cancelled batch still has an output file with the calls that finished;
        # collect those, and the calls with no result are simply sent again.
        if status in ("completed", "expired", "cancelled"):
            return "ended"
        return "failed" if status == "failed" else "pending"

    def batch_results(self, batch_id: str) -> dict[str, Completion | str]:
        out: dict[str, Completion | str] = {}
        with translated_errors(NAME, self.info.name):
            batch = self._client.batches.retrieve(batch_id)
            for file_id in (batch.output_file_id, batch.error_file_id):
                if file_id:
                    for line in self._client.files.content(file_id).text.splitlines():
                        if line.strip():
                            cid, result = _batch_line(json.loads(line))
                            out[cid] = result
        return out

    def _stream(self, params: dict[str, Any], timeout: Any) -> Completion:
        pieces: list[str] = []
        usage, model, finish, chunks = Usage(), params["model"], "", 0
        stream = self._client.chat.completions.create(
            **params, stream=True, stream_options={"include_usage": True}, timeout=timeout)
        with stream:  # leaving the block (a cancel, an error) closes the HTTP response
            for chunk in stream:
                check_cancel()
                chunks += 1
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = parse_usage(chunk.usage)
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        pieces.append(choice.delta.content)
                    if choice.finish_reason:
                        finish = choice.finish_reason
        text = "".join(pieces)
        if not finish:  # cut short (an interrupted llama.cpp stream ends with a bare [DONE])
            raise unfinished_stream(NAME, self.info.name, len(text), empty=not chunks)
        return Completion(text, usage, model, finish,
                          room=room_from_headers(stream.response.headers))


class OpenAIProvider(Provider):
    name = NAME
    family = "GPT"
    takes_base_url = True
    default_host = "api.openai.com"

    def cache_scope(self, base_url: str | None) -> str:
        """The server's address when --base-url or OPENAI_BASE_URL points elsewhere than
        OpenAI's API: `llama3.1` on one Ollama is not `llama3.1` on another."""
        from ghost.models.keys import base_url_for, url_host

        url = base_url_for(NAME, base_url)
        host = url_host(url) if url else ""
        return "" if not host or host.endswith("://" + self.default_host) else host

    def is_cloud(self, base_url: str | None) -> bool:
        # --base-url at a server on this machine or the private network keeps the text here.
        return not (base_url and is_local_endpoint(base_url))

    def build(self, info: ModelInfo, endpoint: Endpoint | None, timeout: float) -> Model:
        assert endpoint is not None  # a cloud provider always has one
        return OpenAIModel(info, endpoint, timeout)


def _batch_line(line: dict[str, Any]) -> tuple[str, Completion | str]:
    """One line of a batch output (or error) file → (custom_id, Completion or error text)."""
    cid = str(line.get("custom_id"))
    response = line.get("response") or {}
    body = response.get("body") or {}
    if response.get("status_code") != 200 or not body.get("choices"):
        error = line.get("error") or body.get("error") or {}
        return cid, str(error.get("message") or f"HTTP {response.get('status_code')}")
    usage = body.get("usage") or {}
    details = SimpleNamespace(**(usage.get("prompt_tokens_details") or {}))
    choice = body["choices"][0]
    return cid, Completion(
        choice["message"].get("content") or "",
        parse_usage(SimpleNamespace(prompt_tokens=usage.get("prompt_tokens", 0),
                                    completion_tokens=usage.get("completion_tokens", 0),
                                    prompt_tokens_details=details)),
        body.get("model", ""), choice.get("finish_reason") or "")


register(OpenAIProvider())
