"""API keys and endpoints, resolved in one place with one helpful error."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from ghost.errors import MissingKeyError
from ghost.models.catalog import load_catalog

# OpenAI-compatible local servers (Ollama, vLLM, llama.cpp) ignore the key but the SDK wants one.
PLACEHOLDER_KEY = "not-needed"


@dataclass(frozen=True, repr=False)
class Endpoint:
    provider: str
    api_key: str
    base_url: str | None
    default_host: str = ""  # where requests go when no base URL is set, e.g. api.openai.com

    def __repr__(self) -> str:  # never show the key, even in a debugger or a traceback
        return f"Endpoint(provider={self.provider!r}, base_url={self.base_url!r})"

    @property
    def host(self) -> str:
        """Where requests go, for the manifest: scheme://host[:port], no credentials or path."""
        if not self.base_url:
            return self.default_host or self.provider
        return url_host(self.base_url)


CLI_ALTERNATIVE = ("point a stage at a local or OpenAI-compatible server (e.g. --map-model "
                   "openai:llama3.1 --reduce-model openai:llama3.1 --base-url "
                   "http://localhost:11434/v1); --dry-run shows the plan and its cost without "
                   "a key")


# What each command can use instead of a key: not every command has the same options.
ALTERNATIVES = {
    "screen": ("point --screen-model at a local or OpenAI-compatible server (e.g. --screen-model "
               "openai:llama3.1 --base-url http://localhost:11434/v1)"),
    "run": ("set [models] map, reduce and base_url in ghost.toml to a local or "
            "OpenAI-compatible server"),
    "dialogue": ("point --a and --b at a local or OpenAI-compatible server (e.g. --a "
                 "openai:llama3.1 --b openai:qwen2.5 --base-url http://localhost:11434/v1); "
                 "--dry-run shows the plan without a key"),
}


def key_alternative(command: str) -> str:
    """The missing-key hint that fits `command`'s options."""
    return ALTERNATIVES.get(command, CLI_ALTERNATIVE)


def resolve_endpoint(provider: str, base_url: str | None = None, *,
                     alternative: str = CLI_ALTERNATIVE, default_host: str = "",
                     keyless_base_url: bool = False) -> Endpoint:
    """Key and base URL for `provider`; `base_url` (from --base-url) wins over the environment.

    `alternative` is what the error suggests besides setting the key (a workspace has no
    command-line options, so `ghost run` names its ghost.toml settings instead). With
    `keyless_base_url`, a server given by --base-url (a local Ollama, say) needs no key."""
    conf = load_catalog().providers.get(provider, {})
    key_env = conf.get("key_env", f"{provider.upper()}_API_KEY")
    url = base_url_for(provider, base_url)
    key = os.environ.get(key_env, "").strip()
    if key:
        return Endpoint(provider, key, url, default_host)
    if keyless_base_url and base_url:
        return Endpoint(provider, PLACEHOLDER_KEY, url, default_host)
    raise MissingKeyError(f"no API key for {provider}: set {key_env}, or {alternative}")


def base_url_for(provider: str, base_url: str | None = None) -> str | None:
    """The URL `provider`'s calls go to: --base-url, else its environment variable, else
    None (the SDK's default)."""
    conf = load_catalog().providers.get(provider, {})
    url_env = conf.get("base_url_env", f"{provider.upper()}_BASE_URL")
    return base_url or os.environ.get(url_env) or None


def url_host(url: str) -> str:
    """scheme://host[:port] of `url`: no credentials, path or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def secret_values() -> list[str]:
    """Every key value in the environment, for redaction in logs."""
    names = [p.get("key_env", "") for p in load_catalog().providers.values()]
    names += ["ANTHROPIC_AUTH_TOKEN"]
    return [v for v in (os.environ.get(n, "").strip() for n in names if n) if len(v) >= 8]
