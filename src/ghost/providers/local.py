"""The `local:` provider: GGUF models run in-process through llama-cpp-python (the 'local'
extra). No key, no network, no cost.

One loaded model per (file, context size) per process: loading is slow. A llama.cpp context is
not thread-safe, so calls on one model are serialized; with --concurrency > 1 they just queue.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ghost.errors import ConfigError, InputError
from ghost.models.catalog import Catalog, ModelInfo, Prices
from ghost.models.keys import Endpoint
from ghost.models.protocol import Completion, Model, Request, Usage
from ghost.providers import Provider, register
from ghost.providers.gguf import MAGIC

log = logging.getLogger(__name__)

MISSING_EXTRA = "local models need the 'local' extra: pip install 'ghost-writer[local]'"
MIN_OUTPUT_TOKENS = 256  # shrink max_tokens to fit the context, but never below this
SEED = 0
_FALLBACK_CONTEXT = 4096  # a GGUF whose header does not say
# llama.cpp allocates the whole context at load time; a 128k model would take many GB.
_DEFAULT_MAX_CONTEXT = 32_768


@dataclass
class _Loaded:
    llm: Any  # llama_cpp.Llama
    lock: threading.Lock
    formatter: Any  # llama_cpp Jinja2ChatFormatter from the GGUF's template, or None


_MODELS: dict[tuple[str, int], _Loaded] = {}
_MODELS_LOCK = threading.Lock()


def _check_file(path: Path) -> None:
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except FileNotFoundError:
        raise InputError(f"local model {path}: file not found") from None
    except OSError as exc:
        raise InputError(f"local model {path}: cannot read it ({exc.strerror})") from None
    if magic != MAGIC:
        raise InputError(f"local model {path}: not a GGUF file")


def _chat_formatter(llm: Any) -> Any:
    """The GGUF's own chat template as llama-cpp-python applies it, or None if it has none."""
    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        return None
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    eos, bos = llm.token_eos(), llm.token_bos()
    text = llm._model.token_get_text  # what llama-cpp-python itself passes the template
    return Jinja2ChatFormatter(template=template, eos_token=text(eos) if eos != -1 else "",
                               bos_token=text(bos) if bos != -1 else "", stop_token_ids=[eos])


def _load(path: Path, n_ctx: int, n_gpu_layers: int) -> _Loaded:
    key = (str(path), n_ctx)
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        _check_file(path)
        try:
            import llama_cpp
        except ImportError:
            raise ConfigError(MISSING_EXTRA) from None
        log.info("loading %s (n_ctx=%d)", path, n_ctx)
        try:
            # swa_full=False: sliding-window layers keep only their window (a third of the
            # memory for Gemma 3); the full cache only helps prompt reuse, which we never do.
            llm = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_gpu_layers=n_gpu_layers,
                                  seed=SEED, swa_full=False, verbose=False)
        except ValueError as exc:  # llama-cpp-python's "Failed to load model from file"
            raise InputError(f"local model {path}: llama.cpp cannot load it ({exc})") from None
        loaded = _Loaded(llm, threading.Lock(), _chat_formatter(llm))
        if not _MODELS:
            atexit.register(_close_all)
        _MODELS[key] = loaded
        return loaded


def _close_all() -> None:
    """Free the loaded models while the interpreter still works: left to Llama.__del__ at
    shutdown, llama-cpp-python prints "Exception ignored ... Traceback" on every exit."""
    with _MODELS_LOCK:
        for loaded in _MODELS.values():
            if loaded.lock.acquire(timeout=5):  # not under a generation still running
                with contextlib.suppress(Exception):
                    loaded.llm.close()
                loaded.lock.release()
        _MODELS.clear()


def plain_prompt(request: Request) -> str:
    """For GGUFs without a chat template (base models): instructions, turns, an open answer."""
    parts = [request.system] if request.system else []
    parts += [f"{'User' if m.role == 'user' else 'Assistant'}: {m.text}"
              for m in request.messages]
    return "\n\n".join([*parts, "Assistant:"])


class LocalModel:
    def __init__(self, info: ModelInfo, *, n_ctx: int | None = None, n_gpu_layers: int = 0):
        """`n_ctx` defaults to the model table's context (the GGUF's trained context)."""
        self.info = info
        self.spec = info.spec
        self.path = Path(info.name).expanduser().resolve()  # one cache key per file
        self.n_ctx = n_ctx or info.context
        self.n_gpu_layers = n_gpu_layers

    def _model(self) -> _Loaded:
        return _load(self.path, self.n_ctx, self.n_gpu_layers)

    def count_tokens(self, text: str) -> int:
        """Tokens in `text` by the model's own tokenizer (no BOS, special tokens as text)."""
        return len(self._model().llm.tokenize(text.encode("utf-8"), add_bos=False))

    def _prompt(self, loaded: _Loaded, request: Request) -> tuple[list[int], list[str], Any]:
        """Prompt tokens, stop strings and stopping criteria, exactly as will be evaluated."""
        if loaded.formatter is None:
            tokens = loaded.llm.tokenize(plain_prompt(request).encode("utf-8"), add_bos=True)
            return tokens, ["\nUser:"], None
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.text} for m in request.messages]
        try:
            result = loaded.formatter(messages=messages)
        except Exception as exc:  # the template's own raise_exception(), e.g. on roles
            raise InputError(f"{self.spec}: the model's chat template rejects the request "
                             f"({exc})") from None
        tokens = loaded.llm.tokenize(result.prompt.encode("utf-8"),
                                     add_bos=not result.added_special, special=True)
        stop = [result.stop] if isinstance(result.stop, str) else list(result.stop or [])
        return tokens, stop, result.stopping_criteria

    def _max_tokens(self, prompt_tokens: int, wanted: int) -> int:
        """`wanted`, or what the context has left if that is still useful; never truncate input."""
        room = self.n_ctx - prompt_tokens
        if room >= wanted:
            return wanted
        if room >= min(wanted, MIN_OUTPUT_TOKENS):
            log.info("%s: max_tokens %d → %d to fit the %d-token context", self.spec, wanted,
                     room, self.n_ctx)
            return room
        raise InputError(
            f"{self.spec}: the chunk is too large for this model's context: its prompt is "
            f"{prompt_tokens} tokens and the context holds {self.n_ctx} with room needed for "
            f"{min(wanted, MIN_OUTPUT_TOKENS)} output tokens; lower --chunk-tokens")

    def complete(self, request: Request) -> Completion:
        loaded = self._model()
        with loaded.lock:
            tokens, stop, criteria = self._prompt(loaded, request)
            max_tokens = self._max_tokens(len(tokens), request.max_tokens)
            # Forget the previous prompt: evaluating every prompt from scratch keeps results
            # independent of the order queued calls happen to run in.
            loaded.llm.reset()
            out = loaded.llm.create_completion(
                prompt=tokens, max_tokens=max_tokens, temperature=request.temperature or 0.0,
                seed=SEED, stop=stop, stopping_criteria=criteria)
        choice, usage = out["choices"][0], out["usage"]
        return Completion(choice["text"], Usage(usage["prompt_tokens"], usage["completion_tokens"]),
                          self.spec, choice.get("finish_reason") or "")


class LocalProvider(Provider):
    name = "local"
    in_process = True
    dated_aliases = False

    def model_info(self, catalog: Catalog, name: str,
                   entry: dict[str, Any] | None) -> ModelInfo:
        """Free to run; the context comes from the GGUF header. A table entry may set a smaller
        context to save memory (llama.cpp allocates the whole context up front)."""
        try:
            context = int((entry or {}).get("context")
                          or min(local_context(name), _DEFAULT_MAX_CONTEXT))
            max_output = int((entry or {}).get("max_output") or max(1, context // 4))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"models table: entry local:{name} is malformed "
                              f"({exc!r})") from None
        return ModelInfo(self.name, name, context, max_output, Prices(0.0, 0.0, 0.0, 0.0),
                         batch_discount=0.0, fingerprint=local_fingerprint(name))

    def build(self, info: ModelInfo, endpoint: Endpoint | None, timeout: float) -> Model:
        return LocalModel(info)


def local_fingerprint(path: str) -> str:
    try:
        stat = Path(path).expanduser().stat()
    except OSError:
        return ""
    return f"{stat.st_size}-{stat.st_mtime_ns}"


def local_context(path: str) -> int:
    """A GGUF's trained context length, read from its header (no weights loaded)."""
    file = Path(path).expanduser()
    try:
        stat = file.stat()
    except OSError:
        return _FALLBACK_CONTEXT  # the adapter reports the missing file
    return _gguf_context(str(file), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=32)
def _gguf_context(path: str, size: int, mtime_ns: int) -> int:
    from ghost.providers.gguf import context_length

    return context_length(path) or _FALLBACK_CONTEXT


register(LocalProvider())
