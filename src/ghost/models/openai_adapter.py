"""GPT models, and any OpenAI-compatible server, through the official `openai` SDK."""

from __future__ import annotations

from typing import Any

from ghost.models.catalog import ModelInfo
from ghost.models.errors_map import translate
from ghost.models.keys import Endpoint
from ghost.models.protocol import Completion, Request, Usage

STREAM_FROM_MAX_TOKENS = 8192


def build_params(info: ModelInfo, request: Request, *, compat: bool) -> dict[str, Any]:
    """Chat Completions body. The stable prefix comes first so automatic prefix caching applies."""
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages += [{"role": m.role, "content": m.text} for m in request.messages]
    params: dict[str, Any] = {"model": info.name, "messages": messages}
    # OpenAI's newer models want max_completion_tokens; compatible servers mostly know max_tokens.
    params["max_tokens" if compat else "max_completion_tokens"] = request.max_tokens
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
    def __init__(self, info: ModelInfo, endpoint: Endpoint, timeout: float = 600.0):
        import openai

        self.info = info
        self.spec = info.spec
        self.endpoint = endpoint
        self._compat = bool(endpoint.base_url) and "api.openai.com" not in (endpoint.base_url or "")
        self._client = openai.OpenAI(api_key=endpoint.api_key, base_url=endpoint.base_url,
                                     max_retries=0, timeout=timeout)

    def complete(self, request: Request) -> Completion:
        params = build_params(self.info, request, compat=self._compat)
        try:
            if request.max_tokens >= STREAM_FROM_MAX_TOKENS:
                return self._stream(params)
            resp = self._client.chat.completions.create(**params)
        except Exception as exc:
            translated = translate(exc, "openai", self.info.name)
            if translated is exc:
                raise
            raise translated from None
        choice = resp.choices[0]
        return Completion(choice.message.content or "", parse_usage(resp.usage), resp.model,
                          choice.finish_reason or "")

    def _stream(self, params: dict[str, Any]) -> Completion:
        pieces: list[str] = []
        usage, model, finish = Usage(), params["model"], ""
        stream = self._client.chat.completions.create(
            **params, stream=True, stream_options={"include_usage": True})
        for chunk in stream:
            model = chunk.model or model
            if chunk.usage is not None:
                usage = parse_usage(chunk.usage)
            for choice in chunk.choices:
                if choice.delta and choice.delta.content:
                    pieces.append(choice.delta.content)
                if choice.finish_reason:
                    finish = choice.finish_reason
        return Completion("".join(pieces), usage, model, finish)
