"""ghost ask "QUESTION" PATH…"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ghost.cli import common as c

app = typer.Typer()


@app.command()
@c.model_command
def ask(
    ctx: c.RunContext,
    question: Annotated[str, typer.Argument(help="The question to answer from the documents.", show_default=False)],
    paths: Annotated[list[Path], typer.Argument(help="Files, folders (read recursively) and glob patterns (quoted, e.g. 'docs/**/*.pdf').", show_default=False)],
    words: Annotated[int, typer.Option("--words", help="Longest answer, in words.")] = 600,
    batch: Annotated[bool, typer.Option("--batch", help="Map stage through the providers' batch APIs (50% off): the first run submits, a later run of the same command collects and answers.")] = False,
) -> None:
    """Answer a question from many documents: the map model reads every chunk of every
    document with the question and keeps only the passages that bear on it, each cited by
    document and place; the reduce model answers from those passages, citing every claim.

    \b
    Examples:
      ghost ask "What did the host decide about pricing?" corpora --dry-run   # plan and cost; no call
      ghost ask "What did the host decide about pricing?" corpora -o answer.md
      ghost ask "When is the offsite?" inbox.mbox corpora/notes.txt --json
      ghost ask "What did the host decide about pricing?" corpora/episode-042.txt --budget 0.50

    Reads plain text and Markdown, transcripts (every format summarize reads), PDF (its text
    layer), HTML, and mail (an mbox, a Maildir or .eml files; each mailbox on its own).
    Citations name the document: [report.pdf p.4], [notes.md L120-L184], [ep12.txt 00:14:05],
    and [<message-id>] for mail. Every citation is checked against the document it names;
    passages whose citations fail are dropped, and in the answer they are flagged (or stripped
    with --citations strip). Documents with nothing relevant are dropped before the reduce
    model; files that cannot be read are skipped and counted. Every call is cached by its
    chunk, the question and the document's name, so adding a document to the folder pays
    for that document's calls only. --json adds the passages and the citation report.
    """
    c.at_least("--words", words, 1)
    from dataclasses import replace

    from ghost.cli.jobs import execute
    from ghost.errors import BatchPending
    from ghost.jobs.ask import AskJob

    files: dict[str, Path | None] = {f"the document {p}": p for p in paths if p.is_file()}
    c.checked_output(ctx.output, inputs=files)
    if batch:
        ctx = c.RunContext(replace(ctx.options, batch=True), ctx.console, ctx.output,
                           ctx.verbose)
    exclude = [ctx.output] if ctx.output is not None else []
    try:
        execute(ctx, AskJob(question, paths, words=words, exclude=exclude))
    except BatchPending as pending:
        ctx.console.info(f"ghost: {pending}")
