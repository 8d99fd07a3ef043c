"""ghost profile --mbox PATH"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ghost.cli import common as c

app = typer.Typer()


@app.command()
@c.model_command
def profile(
    ctx: c.RunContext,
    mbox: Annotated[Path, typer.Option("--mbox", help="The mail export: an mbox file (Gmail Takeout, pipermail), a Maildir, a folder of messages or one .eml.", show_default=False)],
    owner: Annotated[str, typer.Option("--owner", help="Whose mailbox it is, e.g. 'Dana Reyes <dana@example.com>' (addresses pick their threads when no query is given).")] = "",
    query: Annotated[list[str] | None, typer.Option("--query", help="Gmail-style search (from: to: subject: after: before: has:attachment \"phrase\" -term OR); repeatable.", show_default=False)] = None,
    auto_queries: Annotated[bool, typer.Option("--auto-queries", help="Let the strong model write the searches from --brief (they are shown and logged).")] = False,
    brief: Annotated[str, typer.Option("--brief", help="What the assistant needs to know (for --auto-queries).")] = "",
    queries_model: Annotated[str | None, typer.Option("--queries-model", help=f"Model that writes the searches for --auto-queries [default: the reduce model] ({c.MODEL_HELP}).", envvar="GHOST_QUERIES_MODEL", show_default=False)] = None,
    max_threads: Annotated[int, typer.Option("--max-threads", help="Most threads to read.")] = 60,
    include_bulk: Annotated[bool, typer.Option("--include-bulk", help="Include mailing-list and bulk mail in searches.")] = False,
    words: Annotated[int, typer.Option("--words", help="Longest profile, in words.")] = 1500,
    screen: c.Screen = False,
    screen_examples: c.ScreenExamples = None,
) -> None:
    """Mine a mailbox into a profile of its owner for a new executive assistant.

    \b
    Examples:
      ghost profile --mbox inbox.mbox --owner "Dana Reyes <dana@example.com>" --dry-run
      ghost profile --mbox inbox.mbox --owner "Dana <dana@example.com>" -o profile.md
      ghost profile --mbox takeout.mbox --query 'from:board@acme.com newer_than:1y' \\
          --query 'subject:"offsite" OR subject:travel' -o profile.md
      ghost profile --mbox Maildir/ --auto-queries --brief "New EA; travel and board work"
      ghost profile --mbox inbox.mbox --owner "Dana <dana@example.com>" \\
          --map-model openai:llama3.1 --base-url http://localhost:11434/v1   # mail stays here

    The mailbox is indexed once into its own index in the cache folder (re-runs index only new mail; no other mailbox is ever seen);
    --dry-run reads that index as it is and only samples a large unindexed part, its figures then marked as estimates. The
    cheap model triages each thread with one letter (relevant / not / sensitive: health,
    family, legal, personal finance, credentials; categories in the profile-triage template)
    and takes notes on the relevant ones, each fact dated, attributed to its sender
    (forwarded mail to its original one) and citing its Message-ID; the strong model writes
    the profile, what to act on first. --auto-queries searches are written by the reduce
    model unless --queries-model names another. Passwords, card and account numbers are masked before mail goes to a cloud
    provider; the run manifest lists which messages went where. Bulk mail is left out unless
    --include-bulk.
    """
    c.at_least("--max-threads", max_threads, 1)
    c.at_least("--words", words, 1)
    from ghost.cli.jobs import execute
    from ghost.jobs.profile import ProfileJob, ProfileRequest

    examples = Path(screen_examples) if screen_examples else None
    c.checked_output(ctx.output, inputs={"the mailbox": None if mbox.is_dir() else mbox,
                                         "the screen examples file": examples},
                     folders={"the mailbox folder": mbox if mbox.is_dir() else None})
    ctx.options.screen, ctx.options.screen_examples = screen, screen_examples
    ctx.options.queries_model = queries_model
    request = ProfileRequest(mbox, owner, list(query or []), auto_queries, brief, max_threads,
                             include_bulk=include_bulk, words=words)
    result = execute(ctx, ProfileJob(request))
    if ctx.options.dry_run:
        return
    if result.triage:
        unclear = (f" ({result.triage_unclear} replies were no category letter: kept, as "
                   "sensitive)" if result.triage_unclear else "")
        ctx.console.info("triage: " + ", ".join(f"{n} {k}" for k, n in result.triage.items())
                         + unclear)
    if result.stamps.dropped:
        ctx.console.info(f"notes dropped: {result.stamps.dropped} cited no message of their "
                         "thread and shared no words with one")
    for label, counts in (("mail", result.masked), ("notes", result.masked_reduce)):
        if counts:
            ctx.console.info(f"masked in {label} before sending: " + ", ".join(
                f"{n} {k}" for k, n in counts.items()))
    if result.citations.unknown:
        ctx.console.info("Message-IDs not in the mailbox: "
                         + ", ".join(sorted(set(result.citations.unknown))))
