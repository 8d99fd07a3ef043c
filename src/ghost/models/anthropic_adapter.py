"""Claude through the official `anthropic` SDK (Messages API)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ghost.models.catalog import ModelInfo
from ghost.models.errors_map import translated_errors
from ghost.models.keys import Endpoint
from ghost.models.protocol import Completion, Request, Usage

# The SDK refuses non-streaming requests it expects to run past ten minutes (~21k max_tokens).
STREAM_FROM_MAX_TOKENS = 8192
CACHE_MARK = {"type": "ephemeral"}


def _block(text: str, cache: bool) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": text}
    if cache:
        block["cache_control"] = CACHE_MARK
    return block


def build_params(info: ModelInfo, request: Request) -> dict[str, Any]:
    """The Messages API body for `request` (also used for batch submissions)."""
    params: dict[str, Any] = {
        "model": info.name,
        "max_tokens": request.max_tokens,
        "messages": [
            {"role": m.role, "content": [_block(p.text, p.cache) for p in m.parts if p.text]}
            for m in request.messages
        ],
    }
    if request.system:
        params["system"] = [_block(request.system, request.cache_system)]
    # No temperature: the current Messages API (SDK 2.x) no longer takes one. Reproducibility
    # comes from ghost's response cache instead.
    return params


def parse_message(message: Any) -> Completion:
    text = "".join(getattr(b, "text", "") for b in message.content if b.type == "text")
    u = message.usage
    usage = Usage(
        input_tokens=u.input_tokens or 0,
        output_tokens=u.output_tokens or 0,
        cache_write_tokens=getattr(u, "cache_creation_input_tokens", 0) or 0,
        cache_read_tokens=getattr(u, "cache_read_input_tokens", 0) or 0,
    )
    return Completion(text, usage, message.model, message.stop_reason or "")


class AnthropicModel:
    def __init__(self, info: ModelInfo, endpoint: Endpoint, timeout: float = 600.0):
        import anthropic

        self.info = info
        self.spec = info.spec
        self.endpoint = endpoint
        self._client = anthropic.Anthropic(api_key=endpoint.api_key, base_url=endpoint.base_url,
                                           max_retries=0, timeout=timeout)

    def complete(self, request: Request) -> Completion:
        params = build_params(self.info, request)
        with translated_errors("anthropic", self.info.name):
            if request.max_tokens >= STREAM_FROM_MAX_TOKENS:
                with self._client.messages.stream(**params) as stream:
                    return parse_message(stream.get_final_message())
            return parse_message(self._client.messages.create(**params))

    # Message Batches API: half price, results within 24 hours.
    def submit_batch(self, items: Sequence[tuple[str, Request]]) -> str:
        requests: list[Any] = [{"custom_id": cid, "params": build_params(self.info, r)}
                               for cid, r in items]
        with translated_errors("anthropic", self.info.name):
            return str(self._client.messages.batches.create(requests=requests).id)

    def batch_status(self, batch_id: str) -> str:
        with translated_errors("anthropic", self.info.name):
            batch = self._client.messages.batches.retrieve(batch_id)
        return "ended" if batch.processing_status == "ended" else "pending"

    def batch_results(self, batch_id: str) -> dict[str, Completion | str]:
        out: dict[str, Completion | str] = {}
        with translated_errors("anthropic", self.info.name):
            for item in self._client.messages.batches.results(batch_id):
                result = item.result
                out[item.custom_id] = (parse_message(result.message)
                                       if result.type == "succeeded" else str(result.type))
        return out
