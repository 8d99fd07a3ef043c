"""ghost init | ghost run | ghost status — the scheduled job over a workspace (ghost.toml)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Annotated

import typer

from ghost.cli import common as c

app = typer.Typer()

ConfigPath = Annotated[Path, typer.Option("-c", "--config", help="The workspace config.")]


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the example config.")] = Path("ghost.toml"),
) -> None:
    """Write a commented example ghost.toml (never overwrites one).

    \b
    Example:
      ghost init && $EDITOR ghost.toml && ghost run
    """
    from ghost.workspace.config import EXAMPLE
    from ghost.write.atomic import write_text_atomic

    with c.cli_errors(0):
        if path.exists():
            from ghost.errors import InputError

            raise InputError(f"{path} already exists; edit it, or pass another path")
        write_text_atomic(path, EXAMPLE)
    typer.echo(f"wrote {path}: set the inbox and samples folders, then run `ghost run`")


@app.command()
def run(
    config: ConfigPath = Path("ghost.toml"),
    batch: Annotated[bool | None, typer.Option("--batch/--no-batch", help="Map stage through the providers' batch APIs (50% off; a later run collects). Default: [run] batch in ghost.toml.", show_default=False)] = None,
    as_json: c.JsonReport = False,
    quiet: c.Quiet = False,
    verbose: c.Verbose = 0,
) -> None:
    """Process every new or changed episode in the workspace, once. Safe to re-run any time.

    \b
    Examples:
      ghost run                      # from the folder holding ghost.toml
      ghost run -c ~/show/ghost.toml --batch
    \b
    Exit codes for schedulers: 0 done or nothing to do (also: batches submitted, collect
    later), 1 some episode failed or hit the budget (others still done), 2 configuration
    error, 75 another run holds the workspace lock.
    """
    from ghost.workspace.config import load_config
    from ghost.workspace.run import run_workspace

    log_path = config.parent / ".ghost" / "ghost.log"  # where it is, if the config won't load
    with c.cli_errors(verbose):
        try:
            cfg = load_config(config)
            log_path = cfg.state_dir / "ghost.log"
            cfg.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            c.setup(quiet, verbose, str(log_path))
            console = c.Console(quiet, verbose, as_json)

            def say(line: str) -> None:
                _append(log_path, line)
                console.info(line)

            report = run_workspace(cfg, batch=batch, episode_log=say)
        except BaseException as exc:  # what ends the run is in the log too (cron reads it)
            _log_fatal(log_path, exc)
            raise
    if as_json:
        console.report(report.to_dict())
    elif not report.processed:
        console.info(f"nothing to do ({len(report.skipped)} episodes already done)")
    raise typer.Exit(report.exit_code)


def _append(log_path: Path, line: str) -> None:
    with log_path.open("a", encoding="utf-8") as fh:
        fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} {line}\n")


def _log_fatal(log_path: Path, exc: BaseException) -> None:
    """One line in ghost.log for an error that ends `ghost run` (when the folder is there)."""
    from ghost.errors import GhostError
    from ghost.logs import redact

    if isinstance(exc, typer.Exit | SystemExit):
        return
    if isinstance(exc, KeyboardInterrupt):
        line = "stopped: interrupted; finished calls are cached"
    elif isinstance(exc, GhostError):
        line = f"error: {redact(str(exc))}"
    elif isinstance(exc, OSError):
        line = f"error: {c.os_error_line(exc)}"
    else:
        line = f"error: unexpected: {type(exc).__name__}: {redact(str(exc))}"
    if log_path.parent.is_dir():
        with contextlib.suppress(OSError):  # no log to write: stderr still has the error
            _append(log_path, " ".join(line.split()))


@app.command()
def status(config: ConfigPath = Path("ghost.toml"), as_json: c.JsonReport = False) -> None:
    """Episodes done, waiting, pending and failed, and this month's spend against the budget.

    \b
    Example:
      ghost status
    """
    from ghost.workspace.status import workspace_status

    with c.cli_errors(0):
        data = workspace_status(config)
    console = c.Console(False, 0, as_json)
    if as_json:
        console.report(data)
        return
    for name, info in data["episodes"].items():
        extra = f"  {info['error']}" if info.get("error") else ""
        console.result(f"{info['status']:<12} {name}  ${info['cost_usd']:.4f}{extra}")
    budget = data["budget_per_month"]
    limit = f" of ${budget:.2f}" if budget is not None else ""
    waiting = data["batch_committed_usd"]
    batches = f" (+ about ${waiting:.4f} in batches not yet collected)" if waiting else ""
    console.result(f"\n{data['counts']}\nspent this month ({data['month']}): "
                   f"${data['month_spend']:.4f}{limit}{batches}")
