"""Domain errors. The CLI turns each into one line and an exit code; the core never exits."""

from __future__ import annotations


class GhostError(Exception):
    """Base class. `exit_code` is what the CLI returns for it."""

    exit_code = 1


class InputError(GhostError):
    """Bad input or usage: a missing path, an empty or binary file, a bad option."""

    exit_code = 2


class ConfigError(GhostError):
    """Bad configuration: a malformed models table, a template that does not render."""

    exit_code = 2


class MissingKeyError(ConfigError):
    """No API key for a provider that the run needs."""


class BudgetError(GhostError):
    """The estimate exceeds --budget before the run starts."""

    exit_code = 2


class BudgetExceeded(GhostError):
    """Actual spend would pass --budget during the run; the run stopped cleanly."""

    exit_code = 1


class ModelCallError(GhostError):
    """A model call failed for good (after retries, or with a non-retryable status)."""

    exit_code = 1

    def __init__(self, message: str, usage: object = None):
        super().__init__(message)
        # A reply that came back but is unusable was still billed: its Usage, so the ledger
        # and the budget count it.
        self.usage = usage


class CredentialsError(ModelCallError):
    """The provider refused the key (401/403): every call would fail alike, so a run stops
    at once, as a configuration error (exit 2), instead of failing call by call."""

    exit_code = 2


class UnreachableEndpoint(CredentialsError):
    """A configured endpoint refuses connections (or its host name does not resolve): a
    wrong base URL or a server that is not running, so it is a configuration error too."""


class LockHeld(GhostError):
    """Another run holds the workspace lock."""

    exit_code = 75


class BatchPending(GhostError):
    """Requests were sent through a provider's batch API and are not finished yet.

    Not a failure: the batch ids are saved, and the next run collects the results."""

    exit_code = 0

    def __init__(self, message: str, batch_ids: list[str]):
        super().__init__(message)
        self.batch_ids = batch_ids


class ScreenRefused(GhostError):
    """The screening classifier put the input in a refusing category; nothing was written."""

    exit_code = 1
