"""ghost mail index|search|forget — the mail indexes ghost profile narrows with, one per
mailbox (narrow/mailboxes.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ghost.cli import common as c

app = typer.Typer(help="Index a mailbox, search it, forget it (no model calls).",
                  no_args_is_help=True)

Mailbox = Annotated[Path, typer.Argument(help="mbox file, Maildir, folder of messages or .eml.")]


@app.command("index")
def index_cmd(
    mailbox: Mailbox,
    cache_dir: c.CacheDir = None,
    as_json: c.JsonReport = False,
    quiet: c.Quiet = False,
    verbose: c.Verbose = 0,
) -> None:
    """Index (or update the index of) a mailbox; only new mail is read on a re-run.

    Each mailbox has its own index in the cache folder, which holds its mail and nothing
    else; `ghost mail forget MAILBOX` deletes it.

    \b
    Example:
      ghost mail index ~/takeout/inbox.mbox
    """
    from ghost.cache import cache_root
    from ghost.narrow.mailboxes import indexing_progress, open_mailbox

    c.setup(quiet, verbose)
    console = c.Console(quiet, verbose, as_json)
    with c.cli_errors(verbose):
        if not mailbox.exists():
            from ghost.errors import InputError

            raise InputError(f"{mailbox}: no such mailbox")
        with open_mailbox(cache_root(cache_dir), mailbox) as index:
            try:
                report = index.add(progress=indexing_progress(console.progress))
            finally:
                console.clear_progress()
            stats = index.stats()
            where = index.path
    data = {"mailbox": str(mailbox.resolve()), "path": str(where), "added": report.added,
            "read": report.stats.to_dict(), "seconds": round(report.seconds, 2), "index": stats}
    if as_json:
        console.report(data)
        return
    skipped = report.stats.to_dict().get("skipped", {})
    console.result(f"{report.added:,} new messages in {report.seconds:.1f}s; index holds "
                   f"{stats['messages']:,} messages in {stats['threads']:,} threads")
    for reason, n in (skipped.items() if isinstance(skipped, dict) else []):
        console.result(f"  skipped {n:,}: {reason}")
    console.info(f"index of {mailbox}: {where}")


@app.command("search")
def search_cmd(
    query: Annotated[str, typer.Argument(help="Gmail-style query, e.g. 'from:dana subject:offsite after:2024/01/01'.")],
    mbox: Annotated[Path | None, typer.Option("--mbox", help="The mailbox to search (required; indexed first with `ghost mail index`): each has its own index.", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most results.")] = 20,
    cache_dir: c.CacheDir = None,
    as_json: c.JsonReport = False,
) -> None:
    """Search one mailbox's index with the query language `ghost profile --query` uses.

    \b
    Examples:
      ghost mail search --mbox inbox.mbox 'from:ripley@stats.ox.ac.uk subject:"R 2.5"'
      ghost mail search --mbox inbox.mbox '"memory leak" -windows after:2010/01/01 has:attachment'
    """
    from ghost.cache import cache_root
    from ghost.narrow.mailboxes import stored_mailbox

    console = c.Console(False, 0, as_json)
    with c.cli_errors(0):
        c.at_least("--limit", limit, 1)
        if mbox is None:
            from ghost.errors import InputError

            raise InputError("which mailbox? pass --mbox MAILBOX: each mailbox has its own "
                             "index, searched alone")
        with stored_mailbox(cache_root(cache_dir), mbox) as index:
            hits = index.search(query, limit=limit)
    if as_json:
        console.report({"query": query, "mailbox": str(Path(mbox).resolve()), "hits": [
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


@app.command("forget")
def forget_cmd(
    mailbox: Annotated[Path, typer.Argument(help="The mailbox whose index to delete (it may be gone already).")],
    cache_dir: c.CacheDir = None,
) -> None:
    """Delete a mailbox's private index from the cache folder (the mailbox is not touched).

    The response cache and run manifests stay: they hold model notes on this mail and the
    Message-IDs sent, not kept by mailbox; `ghost cache clear` deletes them.

    \b
    Example:
      ghost mail forget inbox.mbox
    """
    from ghost.cache import cache_root
    from ghost.narrow.mailboxes import forget_mailbox, mail_indexes

    root = cache_root(cache_dir)
    with c.cli_errors(0):
        freed = forget_mailbox(root, mailbox)
        legacy = [i for i in mail_indexes(root) if i.legacy]
    if freed is None:
        typer.echo(f"{mailbox}: no index of it in {root}")
    else:
        typer.echo(f"forgot {mailbox}: deleted its index ({freed / 1e6:.1f} MB)")
    if legacy:
        typer.echo(f"note: {legacy[0].path}, the shared index of an older ghost, may hold this "
                   "mailbox too; `ghost cache clear --all` deletes it", err=True)
