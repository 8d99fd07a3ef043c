"""Options every model-calling command shares, and the edge where errors become exit codes."""

from __future__ import annotations

import functools
import inspect
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ghost.errors import GhostError

if TYPE_CHECKING:
    from ghost.cli.progress_bar import LiveBar
    from ghost.options import RunOptions
    from ghost.progress import Milestones

MODEL_HELP = "provider:model, e.g. anthropic:claude-haiku-4-5 or openai:gpt-4o-mini"

MapModel = Annotated[str | None, typer.Option("--map-model", help=f"Cheap model that reads every chunk ({MODEL_HELP}).", envvar="GHOST_MAP_MODEL", show_default=False)]
ReduceModel = Annotated[str | None, typer.Option("--reduce-model", help=f"Strong model that writes the result ({MODEL_HELP}).", envvar="GHOST_REDUCE_MODEL", show_default=False)]
CollapseModel = Annotated[str | None, typer.Option("--collapse-model", help=f"Model that condenses notes too long for the reduce model [default: the map model] ({MODEL_HELP}).", envvar="GHOST_COLLAPSE_MODEL", show_default=False)]
BaseUrl = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server for openai: models (Ollama, vLLM, llama.cpp), e.g. http://localhost:11434/v1.", show_default=False)]
CacheDir = Annotated[Path | None, typer.Option("--cache-dir", help="Cache folder [env GHOST_CACHE_DIR, default ./cache].", show_default=False)]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the response cache.")]
Output = Annotated[Path | None, typer.Option("-o", "--output", help="Write the result here (default: stdout).", show_default=False)]
JsonReport = Annotated[bool, typer.Option("--json", help="Print a machine-readable run report on stdout.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the plan (chunks, tokens, calls, cost) and make no call.")]
Budget = Annotated[float | None, typer.Option("--budget", help="Refuse to start above this estimate (USD); stop before spending past it.", show_default=False)]
Concurrency = Annotated[int, typer.Option("--concurrency", help="Most model calls in flight at once: ghost starts lower and paces by the provider's rate-limit headers, 429s and (local servers) latency.")]
Patience = Annotated[float, typer.Option("--patience", help="Seconds a call may wait out rate limits and outages before failing.")]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds one call may wait for its reply (a streamed reply: for its next piece; a reply asking over 4096 tokens unstreamed: proportionally more) before it is abandoned and sent again.")]
Templates = Annotated[str | None, typer.Option("--templates", help="Folder of prompt templates overriding the built-in ones file by file.", show_default=False)]
ModelsFile = Annotated[str | None, typer.Option("--models-file", help="TOML models table merged over the built-in one [env GHOST_MODELS].", show_default=False)]
ChunkTokens = Annotated[int, typer.Option("--chunk-tokens", help="Largest chunk the map model reads (at least 100).")]
Citations = Annotated[str, typer.Option("--citations", help="Citations the source does not have: flag, strip or keep.")]
TranscriptFormat = Annotated[str | None, typer.Option("--format", help="Force the transcript format: timestamp-blocks, markdown, vtt, srt, timestamp-lines, plain.", show_default=False)]
KeepFiller = Annotated[bool, typer.Option("--keep-filler", help="Keep filler words an editor struck through (~~**um**~~).")]
Screen = Annotated[bool, typer.Option("--screen", help="Screen the notes with the cheap model alongside the main call (A ok, B borderline → a caution is added, C refuse → the main call is cancelled and nothing is written).")]
ScreenExamples = Annotated[str | None, typer.Option("--screen-examples", help="JSONL of hand-labelled examples ({\"text\", \"label\"}) to guide the screen.", show_default=False)]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="Print nothing but the result and errors.")]
Verbose = Annotated[int, typer.Option("-v", "--verbose", count=True, help="More detail; -v also shows tracebacks.")]


def one_input(positional: Path | None, option: Path | None, pname: str, oname: str) -> Path:
    """The one input path given either way; a usage error when none or both are given."""
    from ghost.errors import InputError

    if positional and option:
        raise InputError(f"give {pname} or {oname}, not both")
    path = positional or option
    if path is None:
        raise InputError(f"missing input: give {pname} or {oname}")
    return path


def at_least(option: str, value: float | None, least: float) -> None:
    """A one-line usage error (exit 2) when a number is below the least that makes sense.

    `not value >= least` so that NaN, which typer accepts for a float, is refused too."""
    from ghost.errors import InputError

    if value is not None and not value >= least:
        raise InputError(f"{option} must be at least {least:g}, got {value:g}")


def between(option: str, value: float, least: float, most: float) -> None:
    """A one-line usage error (exit 2) when a number is outside [least, most]."""
    from ghost.errors import InputError

    if not least <= value <= most:
        raise InputError(f"{option} must be between {least:g} and {most:g}, got {value:g}")


def checked_output(path: Path | None, *, inputs: dict[str, Path | None] | None = None,
                   folders: dict[str, Path | None] | None = None,
                   called: str | None = None) -> Path | None:
    """The -o path, checked before any model call: a file in a folder we can write to, and
    none of the run's `inputs` ({"the transcript": path}) nor inside one of its input
    `folders` ({"the samples folder": path}): a usage error (exit 2) rather than a summary
    written over its transcript or an essay over a past one. `called`: how the error names
    the path (default `-o PATH`)."""
    if path is None:
        return None
    from ghost.errors import InputError
    from ghost.write.atomic import check_writable

    name = called or f"-o {path}"
    for what, given in (inputs or {}).items():
        if given is not None and _same_file(path, given):
            raise InputError(f"{name} is {what}; ghost never writes over its input: give "
                             "another output path")
    for what, given in (folders or {}).items():
        if given is not None and _inside(path, given):
            raise InputError(f"{name} is inside {what} {given}; ghost never writes into "
                             "its input: give a path outside it")
    return check_writable(path)


def _same_file(a: Path, b: Path) -> bool:
    """Whether `a` and `b` name one file: the same resolved path (symlinks followed), or the
    same inode when both exist (hard links, case-insensitive file systems)."""
    import os

    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    """Whether `path` lies anywhere under `folder` (resolved; or a parent that is the same
    folder by inode)."""
    try:
        parents = path.resolve().parents
        home = folder.resolve()
        return home in parents or any(_same_file(p, home) for p in parents if p.exists())
    except OSError:
        return False


def run_options(**kwargs: Any) -> RunOptions:
    from ghost.errors import InputError
    from ghost.options import RunOptions

    if kwargs.get("citations") not in (None, "flag", "strip", "keep"):
        raise InputError("--citations must be flag, strip or keep")
    return RunOptions(**{k: v for k, v in kwargs.items() if v is not None})


class Console:
    """Where a command's words go: results to stdout, everything else to stderr."""

    def __init__(self, quiet: bool, verbose: int, as_json: bool):
        self.quiet, self.verbose, self.as_json = quiet, verbose, as_json
        self._bar: LiveBar | None = None
        self._milestones: Milestones | None = None

    def info(self, message: str) -> None:
        if self.quiet:
            return
        if self._bar is not None and self._bar.live:
            self._bar.say(message)
        else:
            typer.echo(message, err=True)

    def progress(self, label: str, done: int, total: int) -> None:
        """A bar on a terminal; elsewhere (a pipe, a log file) a line at each tenth."""
        if self.quiet:
            return
        if sys.stderr.isatty():
            if self._bar is None:
                from ghost.cli.progress_bar import LiveBar

                self._bar = LiveBar()
            self._bar.update(label, done, total)
            return
        if self._milestones is None:
            from ghost.progress import Milestones

            self._milestones = Milestones(lambda line: typer.echo(line, err=True))
        self._milestones(label, done, total)

    def clear_progress(self) -> None:
        if self._bar is not None:
            self._bar.stop()

    def result(self, text: str) -> None:
        typer.echo(text)

    def report(self, data: dict[str, Any]) -> None:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@contextmanager
def cli_errors(verbose: int) -> Iterator[None]:
    """Turn domain errors, and OS errors the core let through, into one line on stderr and
    an exit code (traceback with -v)."""
    try:
        yield
    except GhostError as exc:
        from ghost.logs import redact

        if verbose:
            logging.getLogger("ghost").exception("failed")
        typer.echo(f"ghost: error: {redact(str(exc))}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except OSError as exc:  # a file or folder the core did not turn into a GhostError
        from ghost.write.atomic import PATH_ERRNOS

        if verbose:
            logging.getLogger("ghost").exception("failed")
        typer.echo(f"ghost: error: {os_error_line(exc)}", err=True)
        raise typer.Exit(2 if exc.errno in PATH_ERRNOS else 1) from None
    except KeyboardInterrupt:
        typer.echo("ghost: interrupted; finished calls are cached", err=True)
        raise typer.Exit(130) from None


def os_error_line(exc: OSError) -> str:
    """`path: reason` for an OSError, e.g. `/proc/x: Permission denied`."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    return f"{' -> '.join(paths)}: {reason}" if paths else reason


def setup(quiet: bool, verbose: int, log_file: str | None = None) -> None:
    from ghost.logs import configure_logging
    from ghost.models.keys import secret_values

    configure_logging(verbose, quiet, secret_values(), log_file)


# (parameter name, annotation, default) of the options every model-running command takes
SHARED_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    ("citations", Citations, "flag"), ("map_model", MapModel, None),
    ("reduce_model", ReduceModel, None), ("collapse_model", CollapseModel, None),
    ("base_url", BaseUrl, None),
    ("cache_dir", CacheDir, None), ("no_cache", NoCache, False), ("output", Output, None),
    ("as_json", JsonReport, False), ("dry_run", DryRun, False), ("budget", Budget, None),
    ("concurrency", Concurrency, 32), ("patience", Patience, 1800.0),
    ("timeout", Timeout, 120.0),
    ("templates", Templates, None), ("models_file", ModelsFile, None),
    ("chunk_tokens", ChunkTokens, 4000), ("quiet", Quiet, False), ("verbose", Verbose, 0),
)
_RUN_OPTION_NAMES = ("citations", "map_model", "reduce_model", "collapse_model", "base_url",
                     "cache_dir",
                     "no_cache", "dry_run", "budget", "concurrency", "patience", "timeout", "templates",
                     "models_file", "chunk_tokens")


@dataclass
class RunContext:
    options: RunOptions
    console: Console
    output: Path | None
    verbose: int


def model_command(func: Callable[..., None]) -> Callable[..., None]:
    """Give a command the shared model options; it receives them as `ctx: RunContext`.

    The command runs inside `cli_errors`, with logging set up, so it only declares and does
    what is its own."""
    own = [p for p in inspect.signature(func, eval_str=True).parameters.values()
           if p.name != "ctx"]
    shared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                annotation=annotation)
              for name, annotation, default in SHARED_OPTIONS]

    @functools.wraps(func)
    def command(**kwargs: Any) -> None:
        values = {name: kwargs.pop(name) for name, _, _ in SHARED_OPTIONS}
        setup(values["quiet"], values["verbose"])
        console = Console(values["quiet"], values["verbose"], values["as_json"])
        with cli_errors(values["verbose"]):
            options = run_options(**{k: values[k] for k in _RUN_OPTION_NAMES})
            output = checked_output(values["output"])  # before the command pays for anything
            func(ctx=RunContext(options, console, output, values["verbose"]), **kwargs)

    command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + shared)
    command.__annotations__ = {}
    return command
