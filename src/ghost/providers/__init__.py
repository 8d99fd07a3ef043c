"""Providers: one module each, registered here, the one place that knows them by name.

A provider is a `Provider` subclass in its own module: its wire format (a `Model` adapter),
whether it runs on this machine or in a cloud, how its endpoint and key are found, and any
model rows of its own. The model table (`ghost/data/models.toml`) stays the data.

Built-in providers register themselves when their module is first imported; anyone else (a
plugin, the test suite's `fake:` provider) calls `register` the same way::

    class EchoProvider(Provider):
        name = "echo"
        in_process = True
        def build(self, info, endpoint, timeout):
            return EchoModel(info)

    register(EchoProvider(), table={"models": {"echo:parrot": {"context": 8000,
                                                               "input": 0, "output": 0}}})

after which `--map-model echo:parrot` works like any other model.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ghost.errors import InputError

if TYPE_CHECKING:
    from ghost.models.catalog import Catalog, ModelInfo
    from ghost.models.keys import Endpoint
    from ghost.models.protocol import Model

DEFAULT_TIMEOUT = 120.0  # seconds one call may wait for its reply (--timeout)
# What the manifest and the privacy checks call the endpoint of a model run in-process.
IN_PROCESS = "local"

# The providers that ship with ghost, by the module that registers each.
BUILTIN = {"anthropic": "ghost.providers.anthropic", "openai": "ghost.providers.openai",
           "local": "ghost.providers.local"}


class Provider:
    """What ghost needs to know about a provider besides its table rows."""

    name: ClassVar[str]
    # How a dialogue transcript names the speaker ("Claude:"), when the provider has a family.
    family: ClassVar[str | None] = None
    # Runs inside ghost's own process: no endpoint, no key, no network.
    in_process: ClassVar[bool] = False
    # --base-url points it at another server (and such a server may need no key).
    takes_base_url: ClassVar[bool] = False
    default_host: ClassVar[str] = ""
    # `claude-x-20250929` shares the row of `claude-x`.
    dated_aliases: ClassVar[bool] = True
    # Prompt caching needs breakpoints in the request (Anthropic's cache_control); without
    # them a provider either caches prefixes by itself (OpenAI) or not at all.
    marks_cache: ClassVar[bool] = False

    def is_cloud(self, base_url: str | None) -> bool:
        """True when its models run off this machine and its private network."""
        return not self.in_process

    def endpoint(self, base_url: str | None = None, *,
                 alternative: str | None = None) -> Endpoint | None:
        """Key and URL, or None for an in-process provider. Raises MissingKeyError."""
        if self.in_process:
            return None
        from ghost.models.keys import CLI_ALTERNATIVE, resolve_endpoint

        return resolve_endpoint(self.name, base_url if self.takes_base_url else None,
                                alternative=alternative or CLI_ALTERNATIVE,
                                default_host=self.default_host,
                                keyless_base_url=self.takes_base_url)

    def cache_scope(self, base_url: str | None) -> str:
        """What besides the model's name makes its answers its own, for the response cache:
        "" when the name says it all (one provider's API), a server's address when the same
        name may mean different models on different servers."""
        return ""

    def model_info(self, catalog: Catalog, name: str,
                   entry: dict[str, Any] | None) -> ModelInfo | None:
        """The ModelInfo of `name` when the provider works it out itself; None: from the table."""
        return None

    def build(self, info: ModelInfo, endpoint: Endpoint | None, timeout: float) -> Model:
        raise NotImplementedError


_registered: dict[str, Provider] = {}
_tables: dict[str, dict[str, Any]] = {}
_lock = threading.RLock()


def register(provider: Provider, *, table: Mapping[str, Any] | None = None) -> None:
    """Make `provider` available as `<name>:model`; `table` adds rows in models.toml's shape."""
    from ghost.models.catalog import forget_loaded_tables

    with _lock:
        _registered[provider.name] = provider
        if table is not None:
            _tables[provider.name] = dict(table)
    forget_loaded_tables()


def provider_names() -> list[str]:
    with _lock:
        return list(dict.fromkeys([*BUILTIN, *_registered]))


def get_provider(name: str) -> Provider:
    with _lock:
        if name not in _registered and name in BUILTIN:
            importlib.import_module(BUILTIN[name])
        provider = _registered.get(name)
    if provider is None:
        raise InputError(f"unknown provider '{name}': use one of {', '.join(provider_names())}")
    return provider


def registered_tables() -> list[dict[str, Any]]:
    """Model-table rows that registered providers brought, to merge under the user's own."""
    with _lock:
        return list(_tables.values())


def build_model(info: ModelInfo, *, endpoint: Endpoint | None = None,
                base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> Model:
    """An adapter for `info`, on `endpoint` when the caller has resolved it already."""
    provider = get_provider(info.provider)
    if endpoint is None:
        endpoint = provider.endpoint(base_url)
    return provider.build(info, endpoint, timeout)


def endpoint_for(info: ModelInfo, base_url: str | None = None, *,
                 alternative: str | None = None) -> Endpoint | None:
    """Key and URL for `info`'s provider (None when it runs in-process)."""
    return get_provider(info.provider).endpoint(base_url, alternative=alternative)


def scoped(info: ModelInfo, base_url: str | None) -> ModelInfo:
    """`info` with its cache scope (see Provider.cache_scope) in its fingerprint, so cached
    answers of one server are never served for another's model of the same name."""
    from dataclasses import replace

    scope = get_provider(info.provider).cache_scope(base_url)
    if not scope:
        return info
    fingerprint = f"{info.fingerprint}@{scope}" if info.fingerprint else scope
    return replace(info, fingerprint=fingerprint)


def is_cloud(info: ModelInfo, base_url: str | None) -> bool:
    """Whether text sent to `info`'s model leaves this machine and its private network."""
    return get_provider(info.provider).is_cloud(base_url)
