"""Build the adapter for a model; SDKs are imported lazily, never at start-up."""

from __future__ import annotations

from ghost.errors import InputError
from ghost.models.catalog import ModelInfo, load_catalog
from ghost.models.keys import resolve_endpoint
from ghost.models.protocol import Model


def model_info(spec: str) -> ModelInfo:
    return load_catalog().resolve(spec)


def build_model(model: ModelInfo | str, *, base_url: str | None = None,
                timeout: float = 600.0) -> Model:
    """An adapter for `model`. `base_url` applies to OpenAI-compatible (openai:) models only."""
    info = model_info(model) if isinstance(model, str) else model
    if info.provider == "anthropic":
        from ghost.models.anthropic_adapter import AnthropicModel

        return AnthropicModel(info, resolve_endpoint("anthropic"), timeout)
    if info.provider == "openai":
        from ghost.models.openai_adapter import OpenAIModel

        return OpenAIModel(info, resolve_endpoint("openai", base_url), timeout)
    if info.provider == "local":
        from ghost.models.local_adapter import LocalModel

        return LocalModel(info)
    raise InputError(f"model '{info.spec}': provider '{info.provider}' is not available yet")
