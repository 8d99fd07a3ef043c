"""Logging set-up with a filter that scrubs API keys from every record, whoever logs it."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every API key in the environment (or `secrets`) replaced by [REDACTED]."""
    if secrets is None:
        from ghost.models.keys import secret_values

        secrets = secret_values()
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if record.exc_info and record.exc_info[1] is not None:
            # A traceback (-v) prints the exception's own text: redact it there too.
            exc = record.exc_info[1]
            if redact(str(exc), self.secrets) != str(exc):
                record.exc_info, record.exc_text = None, None
                clean += f" ({type(exc).__name__}: {redact(str(exc), self.secrets)})"
        if clean != message:
            record.msg, record.args = clean, None
        return True


class CurrentStderr(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record comes: a caller that swaps it (a test
    runner, an embedding program) never leaves ghost writing to a closed stream."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(verbose: int, quiet: bool, secrets: Iterable[str],
                      log_file: str | None = None) -> None:
    level = logging.ERROR if quiet else logging.DEBUG if verbose > 1 else \
        logging.INFO if verbose == 1 else logging.WARNING
    redact = RedactSecrets(secrets)
    handlers: list[logging.Handler] = [CurrentStderr()]
    if log_file:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    for handler in handlers:
        handler.addFilter(redact)
        fmt = "%(asctime)s %(name)s %(levelname)s: %(message)s" if verbose else "ghost: %(message)s"
        handler.setFormatter(logging.Formatter(fmt))
        root.addHandler(handler)
    root.setLevel(level)
    # The SDKs and httpx log request details at DEBUG; keep them out unless -vv.
    for noisy in ("httpx", "httpcore", "anthropic", "openai"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose > 2 else logging.WARNING)
