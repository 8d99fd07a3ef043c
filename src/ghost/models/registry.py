"""Build the adapter for a model; SDKs are imported lazily, never at start-up."""

from __future__ import annotations

from ghost.errors import InputError
from ghost.models.catalog import ModelInfo, load_catalog
from ghost.models.keys import Endpoint, resolve_endpoint
from ghost.models.protocol import Model


def model_info(spec: str) -> ModelInfo:
    return load_catalog().resolve(spec)


def endpoint_for(info: ModelInfo, base_url: str | None = None, **hint: str) -> Endpoint:
    """Key and URL for `info`'s provider. `base_url` (--base-url) applies to OpenAI-compatible
    (openai:) models only; `hint` is passed on to resolve_endpoint for its missing-key error."""
    return resolve_endpoint(info.provider, base_url if info.provider == "openai" else None,
                            **hint)


def build_model(model: ModelInfo | str, *, base_url: str | None = None,
                endpoint: Endpoint | None = None, timeout: float = 600.0) -> Model:
    """An adapter for `model`, on `endpoint` when the caller has resolved it already."""
    info = model_info(model) if isinstance(model, str) else model
    if info.provider == "anthropic":
        from ghost.models.anthropic_adapter import AnthropicModel

        return AnthropicModel(info, endpoint or endpoint_for(info), timeout)
    if info.provider == "openai":
        from ghost.models.openai_adapter import OpenAIModel

        return OpenAIModel(info, endpoint or endpoint_for(info, base_url), timeout)
    if info.provider == "local":
        from ghost.models.local_adapter import LocalModel

        return LocalModel(info)
    raise InputError(f"model '{info.spec}': provider '{info.provider}' is not available yet")
