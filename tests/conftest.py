"""Shared test fixtures. `../shared` (real data) is optional: tests that need it skip."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


# --- the in-process `fake:` provider for unit tests (the SDK paths use the HTTP stand-in) ---

from fake_provider import PROVIDER as FAKE  # noqa: E402  (registers the fake: provider)
from fake_provider import FakeModel  # noqa: E402
from ghost.models.catalog import load_catalog  # noqa: E402
from ghost.models.runner import Stage  # noqa: E402


def fake_stage(name: str = "map", spec: str = "anthropic:claude-haiku-4-5") -> Stage:
    """A stage on a fake model; with a real model's spec, the fake plays it (its prices,
    context and thinking allowance) without a network."""
    info = load_catalog().resolve(spec)
    model = FAKE.build(info, None, 0) if info.provider == "fake" else FakeModel(spec)
    return Stage(name, model, info, "local")


@pytest.fixture(autouse=True)
def _fresh_fake_provider() -> Iterator[None]:
    """Every test starts with the fake: provider's default replies."""
    FAKE.reset()
    yield
    FAKE.reset()


@pytest.fixture
def fake_model() -> FakeModel:
    return FakeModel()


# --- the loopback API stand-in, driven through the real SDKs via base URL ---


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


def kill_after_calls(server: StandIn, args: list[str], calls: int = 3) -> None:
    """Run `python -m ghost ARGS` against `server` and kill -9 it once `calls` model calls
    have arrived (bounded: 60 s at most)."""
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, **server.env(TEST_KEY)}
    proc = subprocess.Popen([sys.executable, "-m", "ghost", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while server.calls(path="/v1/messages") < calls and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
