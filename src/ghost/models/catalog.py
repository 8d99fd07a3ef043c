"""The model table: which provider serves a model, its context window and its prices.

Everything model-specific lives in `ghost/data/models.toml`; users extend or override it with
their own TOML file (GHOST_MODELS or --models-file). Nothing else in ghost hard-codes a model.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
import tomllib
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ghost.errors import ConfigError, InputError

log = logging.getLogger(__name__)

# Used when a model is missing from the table: generous enough to plan, flagged as unknown.
UNKNOWN_TOKEN_MARGIN = 0.1  # counted with cl100k, a model not in the table gets this much more
_UNKNOWN_CONTEXT = 128_000
_UNKNOWN_MAX_OUTPUT = 8_192
# A model whose `retires` date is this close gets a one-line warning on every run that uses it.
RETIREMENT_WARNING_DAYS = 60
# `claude-sonnet-4-5-20250929` is the dated snapshot behind `claude-sonnet-4-5`: same row.
_DATED_SUFFIX = re.compile(r"-\d{8}$")


@dataclass(frozen=True)
class Prices:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float
    cache_write_1h: float | None = None  # one-hour cache writes; None: priced as cache_write

    def write_price(self, ttl: str = "") -> float:
        """Per million tokens written to the prompt cache for `ttl` ("1h" or the default)."""
        if ttl == "1h" and self.cache_write_1h is not None:
            return self.cache_write_1h
        return self.cache_write

    def cost(self, input_tokens: int, output_tokens: int, cache_write_tokens: int = 0,
             cache_read_tokens: int = 0, discount: float = 0.0,
             cache_write_1h_tokens: int = 0) -> float:
        """`cache_write_1h_tokens` are the part of `cache_write_tokens` kept for an hour."""
        long = min(cache_write_1h_tokens, cache_write_tokens)
        total = (input_tokens * self.input + output_tokens * self.output
                 + (cache_write_tokens - long) * self.cache_write
                 + long * self.write_price("1h") + cache_read_tokens * self.cache_read)
        return total / 1e6 * (1.0 - discount)


@dataclass(frozen=True)
class ModelInfo:
    provider: str
    name: str
    context: int
    max_output: int
    prices: Prices | None  # None: not in the table, cost unknown
    cache_min_tokens: int = 1024
    supports_temperature: bool = True
    tokenizer: str | None = None
    token_margin: float = 0.0
    batch_discount: float = 0.5
    known: bool = True
    fingerprint: str = ""  # local models: the file's size and mtime, so a replaced file misses
    retires: dt.date | None = None  # the provider's announced end of life (first day it fails)
    retired: bool = False  # already switched off, on a date the provider's docs do not give
    replacement: str | None = None  # what to move to when it retires
    thinking_allowance: int = 0  # output tokens added to max_tokens for always-on thinking

    @property
    def expected_thinking(self) -> int:
        """Thinking tokens a call is expected to bill, for estimates (a budget reservation
        takes the whole allowance: `asked_output`).

        At the default effort a model uses a fraction of its allowance; a quarter is ghost's
        planning figure, and the ledger records what was really billed."""
        return self.thinking_allowance // 4

    def asked_output(self, max_tokens: int) -> int:
        """The max_tokens a provider is sent for a request asking `max_tokens`: room added for
        the model's thinking, within max_output. What a call can bill as output at most."""
        if not self.thinking_allowance:
            return max_tokens
        return max(max_tokens, min(max_tokens + self.thinking_allowance, self.max_output))

    @property
    def spec(self) -> str:
        return f"{self.provider}:{self.name}"

    @property
    def cache_name(self) -> str:
        """The model's name as it goes into response-cache keys."""
        return f"{self.name}@{self.fingerprint}" if self.fingerprint else self.name


@dataclass(frozen=True)
class Catalog:
    defaults: dict[str, str]
    providers: dict[str, dict[str, Any]]
    models: dict[str, dict[str, Any]]

    def provider_for(self, name: str) -> str | None:
        for provider, conf in self.providers.items():
            if any(name.startswith(p) for p in conf.get("prefixes", [])):
                return provider
        return None

    def resolve(self, spec: str) -> ModelInfo:
        """`provider:model` or a bare model name (provider picked by prefix) → ModelInfo."""
        provider, name = split_spec(spec, self)
        entry = self.entry(provider, name)
        from ghost.providers import get_provider

        worked_out = get_provider(provider).model_info(self, name, entry)
        if worked_out is not None:
            return worked_out
        pconf = self.providers.get(provider, {})
        margin = float(pconf.get("token_margin", 0.0))
        discount = float(pconf.get("batch_discount", 0.5))
        if entry is None:  # its own tokenizer is unknown: cl100k counted Gemma's 7 % low
            return ModelInfo(provider, name, _UNKNOWN_CONTEXT, _UNKNOWN_MAX_OUTPUT, None,
                             token_margin=max(margin, UNKNOWN_TOKEN_MARGIN),
                             batch_discount=discount, known=False)
        try:
            inp = float(entry["input"])
            write = float(entry.get("cache_write", inp))
            # A provider that bills cache writes above input (Anthropic: 1.25x for five
            # minutes) bills one-hour writes at 2x input, unless the table says otherwise.
            long = entry.get("cache_write_1h", 2 * inp if write > inp else None)
            prices = Prices(inp, float(entry["output"]), write,
                            float(entry.get("cache_read", inp)),
                            float(long) if long is not None else None)
            info = ModelInfo(
                provider, name, int(entry["context"]),
                int(entry.get("max_output", _UNKNOWN_MAX_OUTPUT)), prices,
                cache_min_tokens=int(entry.get("cache_min_tokens", 1024)),
                supports_temperature=bool(entry.get("temperature", True)),
                tokenizer=entry.get("tokenizer"),
                token_margin=float(entry.get("token_margin", margin)),
                batch_discount=float(entry.get("batch_discount", discount)),
                retired=bool(entry.get("retired", False)),
                replacement=str(entry["replacement"]) if entry.get("replacement") else None,
                thinking_allowance=max(0, int(entry.get("thinking_allowance", 0))),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"models table: entry {provider}:{name} is incomplete or "
                              f"malformed ({exc!r}); it needs context, input and output") from None
        try:
            info = replace(info, retires=_retirement_date(entry.get("retires")))
        except (TypeError, ValueError):
            raise ConfigError(f"models table: entry {provider}:{name}: retires = "
                              f"{entry.get('retires')!r} is not a date (YYYY-MM-DD)") from None
        check_retirement(info)
        return info

    def entry(self, provider: str, name: str) -> dict[str, Any] | None:
        """The table row of `provider:name`, or of its undated alias (`…-20250929` → `…`)."""
        entry = self.models.get(f"{provider}:{name}")
        if entry is None and _DATED_SUFFIX.search(name) and _dated_aliases(provider):
            entry = self.models.get(f"{provider}:{_DATED_SUFFIX.sub('', name)}")
        return entry


def _dated_aliases(provider: str) -> bool:
    from ghost.providers import get_provider

    return get_provider(provider).dated_aliases


def today() -> dt.date:
    """Today's date in UTC: the calendar ghost judges retirement dates by."""
    return dt.datetime.now(dt.UTC).date()


def _retirement_date(value: Any) -> dt.date | None:
    """A `retires` value: a TOML date or "YYYY-MM-DD"; "" or false clears an inherited one."""
    if value is None or value is False or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value.strip())
    raise ValueError(f"retires must be a date (YYYY-MM-DD), not {value!r}")


_warned: set[tuple[str, dt.date]] = set()
_warned_lock = threading.Lock()


def check_retirement(info: ModelInfo, on: dt.date | None = None) -> None:
    """Refuse a retired model (ConfigError, exit 2); warn once about one retiring soon.

    A model counts as retired from 00:00 UTC on its `retires` date: the provider names the
    day, not the hour, and a scheduled run that refuses at the start of that day is better
    than one whose calls start failing halfway through.
    """
    day = on or today()
    if info.retired or (info.retires is not None and day >= info.retires):
        when = f" on {info.retires.isoformat()}" if info.retires else ""
        instead = f"use {info.replacement} instead" if info.replacement else \
            "choose another model"
        raise ConfigError(f"model {info.spec} was retired by its provider{when} and no longer "
                          f"answers: {instead} (--map-model/--reduce-model, [models] in "
                          f"ghost.toml, or a models file)")
    if info.retires is None:
        return
    left = (info.retires - day).days
    if left > RETIREMENT_WARNING_DAYS:
        return
    with _warned_lock:
        if (info.spec, info.retires) in _warned:
            return
        _warned.add((info.spec, info.retires))
    switch = f"; switch to {info.replacement} before then" if info.replacement else ""
    log.warning("model %s retires on %s (in %d day%s)%s", info.spec, info.retires.isoformat(),
                left, "" if left == 1 else "s", switch)


def split_spec(spec: str, catalog: Catalog | None = None) -> tuple[str, str]:
    from ghost.providers import provider_names

    spec = spec.strip()
    names = provider_names()
    if ":" in spec:
        provider, _, name = spec.partition(":")
        if provider in names:
            if not name:
                raise InputError(f"model '{spec}': missing the model name after '{provider}:'")
            return provider, name
    provider_guess = (catalog or load_catalog()).provider_for(spec)
    if provider_guess is None:
        raise InputError(f"model '{spec}': cannot tell the provider; write it as provider:model "
                         f"with provider one of {', '.join(names)}")
    return provider_guess, spec


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"models file {path}: not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"models file {path}: not valid TOML ({exc})") from None


@lru_cache(maxsize=8)
def _load(override: str | None) -> Catalog:
    from ghost.providers import registered_tables

    text = resources.files("ghost").joinpath("data/models.toml").read_text("utf-8")
    table = tomllib.loads(text)
    for rows in registered_tables():
        table = _merge(table, rows)
    if override:
        table = _merge(table, _read_toml(Path(override)))
    return Catalog(dict(table.get("defaults", {})), dict(table.get("providers", {})),
                   dict(table.get("models", {})))


def forget_loaded_tables() -> None:
    """Drop the loaded tables, so the next load sees newly registered providers' rows."""
    _load.cache_clear()


def load_catalog(override: str | Path | None = None) -> Catalog:
    """The built-in table merged with `override` (or $GHOST_MODELS) when given."""
    path = override or os.environ.get("GHOST_MODELS") or None
    return _load(str(path) if path else None)
