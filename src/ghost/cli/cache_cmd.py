"""ghost cache info|clear"""

from __future__ import annotations

from pathlib import Path

import typer

from ghost.cli import common as c

app = typer.Typer(help="Inspect or clear the response cache.", no_args_is_help=True)


@app.command()
def info(cache_dir: c.CacheDir = None, as_json: c.JsonReport = False) -> None:
    """Where the cache is, how many responses it holds and how big it is.

    \b
    Example:
      ghost cache info --cache-dir ./cache
    """
    from ghost.cache import cache_info

    with c.cli_errors(0):
        data = cache_info(cache_dir)
    console = c.Console(False, 0, as_json)
    if as_json:
        console.report(data)
        return
    if not data["exists"]:
        console.result(f"{data['path']}: no cache yet")
        return
    console.result(f"{data['path']}: {data['responses']} cached responses, "
                   f"{data['runs']} run manifests, {data['bytes'] / 1e6:.1f} MB")


@app.command()
def clear(
    cache_dir: c.CacheDir = None,
    keep_runs: bool = typer.Option(False, "--keep-runs", help="Keep the run manifests."),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation."),
) -> None:
    """Delete cached responses (the next run pays for every call again) and run manifests.

    \b
    Example:
      ghost cache clear --yes
    """
    from ghost.cache import cache_root, clear_cache

    root: Path = cache_root(cache_dir)
    if not yes and not typer.confirm(f"Delete the cached responses in {root}?"):
        raise typer.Exit(1)
    with c.cli_errors(0):
        freed = clear_cache(cache_dir, keep_runs=keep_runs)
    typer.echo(f"cleared {root} ({freed / 1e6:.1f} MB)")
