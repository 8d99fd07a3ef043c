"""How real OpenAI-compatible servers differ from the APIs they copy, as measured on
llama-cpp-python's server (and a LiteLLM proxy in front of it), for `StandIn(quirks=...)`.

    Quirks(context=2048)      a small context window: max_tokens is lowered, without a word,
                              to what fits after the prompt (the reply stops on `length`
                              sooner than asked); a prompt over the window is a 400
                              `context_length_exceeded` (JSON), an empty 200 stream
                              (OpenAI: llama.cpp), or a reply with no text that stopped on
                              `end_turn` (Anthropic: LiteLLM);
    Quirks(stream_usage=False) OpenAI streams carry no usage, `include_usage` or not;
    Quirks(serial=True)       one request is computed at a time, the others wait their turn
                              (each takes the stand-in's `latency`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quirks:
    context: int | None = None
    stream_usage: bool = True
    serial: bool = False

    def overflows(self, prompt_tokens: int) -> bool:
        """Whether a prompt this long leaves no room in the server's context window."""
        return self.context is not None and prompt_tokens >= self.context

    def fitted(self, max_tokens: int | None, prompt_tokens: int) -> int | None:
        """The max_tokens the server really uses: what fits after the prompt."""
        if self.context is None:
            return max_tokens
        room = self.context - prompt_tokens
        return room if max_tokens is None else min(max_tokens, room)


class Overflow(Exception):
    """The prompt does not fit the server's context window."""

    def __init__(self, context: int, prompt_tokens: int, max_tokens: int | None) -> None:
        super().__init__(overflow_message(context, prompt_tokens, max_tokens))
        self.message = str(self)
        self.prompt_tokens = prompt_tokens


def overflow_message(context: int, prompt_tokens: int, max_tokens: int | None) -> str:
    """llama-cpp-python's 400 for a prompt over its window."""
    asked = max_tokens or 0
    return (f"This model's maximum context length is {context} tokens. However, you requested "
            f"{prompt_tokens + asked} tokens ({prompt_tokens} in the messages, {asked} in the "
            "completion). Please reduce the length of the messages or completion.")
