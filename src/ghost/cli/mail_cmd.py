"""ghost mail index|search — inspect the mail index that ghost profile narrows with."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ghost.cli import common as c

app = typer.Typer(help="Index a mailbox and search it (no model calls).", no_args_is_help=True)


@app.command("index")
def index_cmd(
    mailbox: Annotated[Path, typer.Argument(help="mbox file, Maildir, folder of messages or .eml.")],
    cache_dir: c.CacheDir = None,
    as_json: c.JsonReport = False,
    quiet: c.Quiet = False,
    verbose: c.Verbose = 0,
) -> None:
    """Index (or update the index of) a mailbox; only new mail is read on a re-run.

    \b
    Example:
      ghost mail index ~/takeout/inbox.mbox
    """
    from ghost.cache import cache_root, ensure_private_dir
    from ghost.narrow.index import MailIndex

    c.setup(quiet, verbose)
    console = c.Console(quiet, verbose, as_json)
    with c.cli_errors(verbose):
        if not mailbox.exists():
            from ghost.errors import InputError

            raise InputError(f"{mailbox}: no such mailbox")
        with MailIndex(ensure_private_dir(cache_root(cache_dir)) / "mail") as index:
            report = index.add(mailbox)
            stats = index.stats()
    data = {"added": report.added, "read": report.stats.to_dict(),
            "seconds": round(report.seconds, 2), "index": stats}
    if as_json:
        console.report(data)
        return
    skipped = report.stats.to_dict().get("skipped", {})
    console.result(f"{report.added:,} new messages in {report.seconds:.1f}s; index holds "
                   f"{stats['messages']:,} messages in {stats['threads']:,} threads")
    for reason, n in (skipped.items() if isinstance(skipped, dict) else []):
        console.result(f"  skipped {n:,}: {reason}")


@app.command("search")
def search_cmd(
    query: Annotated[str, typer.Argument(help="Gmail-style query, e.g. 'from:dana subject:offsite after:2024/01/01'.")],
    limit: Annotated[int, typer.Option("--limit", help="Most results.")] = 20,
    cache_dir: c.CacheDir = None,
    as_json: c.JsonReport = False,
) -> None:
    """Search the mail index with the same query language `ghost profile --query` uses.

    \b
    Examples:
      ghost mail search 'from:ripley@stats.ox.ac.uk subject:"R 2.5"'
      ghost mail search '"memory leak" -windows after:2010/01/01 has:attachment'
    """
    from ghost.cache import cache_root
    from ghost.narrow.index import MailIndex

    console = c.Console(False, 0, as_json)
    with c.cli_errors(0):
        c.at_least("--limit", limit, 1)
        root = cache_root(cache_dir) / "mail"
        if not root.exists():
            from ghost.errors import InputError

            raise InputError(f"no mail index in {root.parent}; run `ghost mail index MAILBOX`")
        with MailIndex(root) as index:
            hits = index.search(query, limit=limit)
    if as_json:
        console.report({"query": query, "hits": [
            {"message_id": h.message_id, "thread_id": h.thread_id,
             "date": h.date.isoformat() if h.date else None, "from": h.sender,
             "subject": h.subject, "snippet": h.snippet} for h in hits]})
        return
    for h in hits:
        when = f"{h.date:%Y-%m-%d}" if h.date else "????-??-??"
        console.result(f"{when}  {h.sender[:28]:<28}  {h.subject[:60]}\n"
                       f"            <{h.message_id}>  {h.snippet[:90]}")
    if not hits:
        console.result("no match")
