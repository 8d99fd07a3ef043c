"""Shared test fixtures. `../shared` (real data) is optional: tests that need it skip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GHOST_SHARED_DIR", REPO.parent / "shared"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_path(*parts: str) -> Path:
    """Path inside ../shared; skips the calling test when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs ../shared data ({path} not found)")
    return path


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach a real provider: drop any key or base URL from the environment."""
    for var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL",
                "GHOST_CACHE_DIR", "GHOST_MODELS", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(var, raising=False)


# --- an in-process fake model for pipeline unit tests (the SDK paths use the HTTP stand-in) ---

import threading  # noqa: E402

from ghost.models.catalog import load_catalog  # noqa: E402
from ghost.models.protocol import Completion, Request, Usage  # noqa: E402
from ghost.models.runner import Stage  # noqa: E402


class FakeModel:
    """Answers from a queue, else echoes lines that hold FACT markers; records every request."""

    def __init__(self, spec: str = "anthropic:claude-haiku-4-5"):
        self.spec = spec
        self.history: list[Request] = []
        self._queue: list[str | Exception] = []
        self._lock = threading.Lock()

    def enqueue(self, *replies: str | Exception) -> None:
        self._queue.extend(replies)

    def complete(self, request: Request) -> Completion:
        with self._lock:
            self.history.append(request)
            reply = self._queue.pop(0) if self._queue else None
        if isinstance(reply, Exception):
            raise reply
        if reply is None:
            text = request.messages[-1].text
            facts = [line.strip() for line in text.splitlines() if "FACT-" in line]
            reply = "\n".join(f"- {f}" for f in facts) or "NOTHING"
        words = len((request.system + request.messages[-1].text).split())
        return Completion(reply, Usage(words, len(reply.split())), self.spec, "end_turn")


def fake_stage(name: str = "map", spec: str = "anthropic:claude-haiku-4-5") -> Stage:
    model = FakeModel(spec)
    return Stage(name, model, load_catalog().resolve(spec), "fake")


@pytest.fixture
def fake_model() -> FakeModel:
    return FakeModel()


# --- the loopback API stand-in, driven through the real SDKs via base URL ---

from collections.abc import Iterator  # noqa: E402

from standin import StandIn  # noqa: E402

TEST_KEY = "sk-test-SECRET-7f3a9c1e5b"


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """A running stand-in; ANTHROPIC_*/OPENAI_* point at it with TEST_KEY as the key."""
    with StandIn() as server:
        for name, value in server.env(TEST_KEY).items():
            monkeypatch.setenv(name, value)
        yield server


def run_cli(*args: str, input: str | None = None):
    """Invoke the ghost CLI in-process; returns typer's Result (stdout, stderr, exit_code)."""
    from typer.testing import CliRunner

    from ghost.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], input=input)


@pytest.fixture
def slow_batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """A stand-in whose batches stay in progress until `finish_batches()`; the provider
    environment points at it."""
    with StandIn(batch_auto_finish=False) as server:
        for name, value in server.env(TEST_KEY).items():
            monkeypatch.setenv(name, value)
        yield server
