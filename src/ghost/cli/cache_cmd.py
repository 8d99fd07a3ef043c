"""ghost cache info|clear"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ghost.cli import common as c

app = typer.Typer(help="Inspect or clear the response cache and the mail indexes.",
                  no_args_is_help=True)

FORGET_HINT = "`ghost mail forget MAILBOX` deletes one, `ghost cache clear --all` every one"


def _mail_line(mail: dict[str, Any]) -> str:
    n = mail["indexes"]
    return (f"{n} mail index{'es' if n != 1 else ''} (private mail, one per mailbox), "
            f"{mail['bytes'] / 1e6:.1f} MB")


@app.command()
def info(cache_dir: c.CacheDir = None, as_json: c.JsonReport = False) -> None:
    """Where the cache is, how many responses it holds and how big it is; apart, the private
    mail indexes (one per mailbox) and their size.

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
    mail = data["mail"]
    console.result(_mail_line(mail) + (f": {FORGET_HINT}" if mail["indexes"] else ""))
    for index in mail["mailboxes"]:
        if index["legacy"]:
            what = "shared index of an older ghost (every mailbox indexed before)"
        else:
            what = index["mailbox"] or "unreadable index"
            what += "" if index["mailbox_exists"] else " (mailbox gone)"
        count = f"{index['messages']:,} messages, " if index["messages"] is not None else ""
        console.result(f"  {what}: {count}{index['bytes'] / 1e6:.1f} MB")


@app.command()
def clear(
    cache_dir: c.CacheDir = None,
    keep_runs: bool = typer.Option(False, "--keep-runs", help="Keep the run manifests."),
    all_: bool = typer.Option(False, "--all", help="Delete the private mail indexes too (every mailbox's)."),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation."),
) -> None:
    """Delete cached responses (the next run pays for every call again) and run manifests;
    with --all, the mail indexes too. Without --all the mail indexes stay.

    \b
    Examples:
      ghost cache clear --yes
      ghost cache clear --all --yes
    """
    from ghost.cache import cache_root, clear_cache
    from ghost.narrow.mailboxes import mail_bytes, mail_indexes

    root: Path = cache_root(cache_dir)
    what = "cached responses" + (" and every mail index" if all_ else "")
    if not yes and not typer.confirm(f"Delete the {what} in {root}?"):
        raise typer.Exit(1)
    with c.cli_errors(0):
        freed = clear_cache(cache_dir, keep_runs=keep_runs, mail=all_)
        mail = {"indexes": len(mail_indexes(root)), "bytes": mail_bytes(root)}
    typer.echo(f"cleared {root} ({freed / 1e6:.1f} MB)")
    if mail["indexes"]:
        typer.echo(f"{_mail_line(mail)} remain: {FORGET_HINT}")
