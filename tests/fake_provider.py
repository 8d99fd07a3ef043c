"""The `fake:` provider: an in-process model for unit tests, registered through the same hook as
every provider (simonw/llm's MockModel). It proves what adding a provider takes: this module
and its table rows (fixtures/fake-models.toml), nothing else.

    RunOptions(map_model="fake:cheap", reduce_model="fake:strong")

It answers from a queue (`enqueue`), else from `responder(request)` when that returns text,
else echoes the lines of the last user message that hold a FACT marker as notes, and records
every request.
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Callable
from pathlib import Path

from ghost.models.catalog import ModelInfo
from ghost.models.keys import Endpoint
from ghost.models.protocol import Completion, Model, Request, Usage
from ghost.providers import Provider, register

TABLE = tomllib.loads((Path(__file__).parent / "fixtures" / "fake-models.toml").read_text())


class FakeModel:
    """Answers from a queue, else echoes lines that hold FACT markers; records every request."""

    def __init__(self, spec: str = "anthropic:claude-haiku-4-5",
                 responder: Callable[[Request], str | Completion | Exception | None] | None = None):
        self.spec = spec
        self.responder = responder
        self.history: list[Request] = []
        self._queue: list[str | Completion | Exception] = []
        self._lock = threading.Lock()

    def enqueue(self, *replies: str | Completion | Exception) -> None:
        self._queue.extend(replies)

    def complete(self, request: Request) -> Completion:
        with self._lock:
            self.history.append(request)
            reply = self._queue.pop(0) if self._queue else None
        if reply is None and self.responder is not None:
            reply = self.responder(request)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, Completion):  # a scripted stop reason, usage…
            return reply
        if reply is None:
            text = request.messages[-1].text
            facts = [line.strip() for line in text.splitlines() if "FACT-" in line]
            reply = "\n".join(f"- {f}" for f in facts) or "NOTHING"
        words = len((request.system + request.messages[-1].text).split())
        return Completion(reply, Usage(words, len(reply.split())), self.spec, "end_turn")


class FakeProvider(Provider):
    name = "fake"
    in_process = True

    def __init__(self) -> None:
        self.models: dict[str, FakeModel] = {}  # the latest model built for each spec
        # Replies by spec for the models built from now on (None: the default echo).
        self.responders: dict[str, Callable[[Request], str | Completion | Exception | None]] = {}

    def reset(self) -> None:
        self.models.clear()
        self.responders.clear()

    def build(self, info: ModelInfo, endpoint: Endpoint | None, timeout: float) -> Model:
        model = FakeModel(info.spec, self.responders.get(info.spec))
        self.models[info.spec] = model
        return model


PROVIDER = FakeProvider()
register(PROVIDER, table=TABLE)
