"""ghost init | ghost run | ghost status — the scheduled job over a workspace (ghost.toml)."""

from __future__ import annotations

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

    with c.cli_errors(verbose):
        cfg = load_config(config)
        cfg.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        log_path = cfg.state_dir / "ghost.log"
        c.setup(quiet, verbose, str(log_path))
        console = c.Console(quiet, verbose, as_json)

        def say(line: str) -> None:
            with log_path.open("a", encoding="utf-8") as fh:
                fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} {line}\n")
            console.info(line)

        report = run_workspace(cfg, batch=batch, episode_log=say)
    if as_json:
        console.report(report.to_dict())
    elif not report.processed:
        console.info(f"nothing to do ({len(report.skipped)} episodes already done)")
    raise typer.Exit(report.exit_code)


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
