"""ghost summarize FILE | --transcript FILE"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ghost.cli import common as c

app = typer.Typer()


@app.command()
@c.model_command
def summarize(
    ctx: c.RunContext,
    file: Annotated[Path | None, typer.Argument(help="The long text or transcript to summarize (format auto-detected).", show_default=False)] = None,
    transcript: Annotated[Path | None, typer.Option("--transcript", help="Read FILE as a podcast transcript (timestamps become citations).", show_default=False)] = None,
    fmt: c.TranscriptFormat = None,
    keep_filler: c.KeepFiller = False,
    words: Annotated[int, typer.Option("--words", help="Longest summary, in words.")] = 600,
) -> None:
    """Summarize a long text or transcript: the map model notes every chunk, the reduce model
    writes it up, with citations checked against the source.

    \b
    Examples:
      ghost summarize corpora/notes.txt --dry-run     # plan, token counts and cost; no call
      ghost summarize --transcript corpora/episode-042.txt -o summary.md
      ghost summarize corpora/notes.txt --budget 0.50 # refuse to start above $0.50
      ghost summarize corpora/notes.txt --map-model openai:gpt-4o-mini --reduce-model openai:gpt-4o
      ghost summarize corpora/notes.txt --map-model openai:llama3.1 --base-url http://localhost:11434/v1

    Claims keep their citations: timestamps such as [00:12:34] for transcripts, line ranges
    such as [L120-L184] for text. Citations the source does not have are flagged (or stripped
    with --citations strip). Re-running with unchanged input is free: every call is cached.
    """
    c.at_least("--words", words, 1)
    from ghost.cli.jobs import execute
    from ghost.jobs.summarize import SummarizeJob

    path = c.one_input(file, transcript, "FILE", "--transcript")
    c.checked_output(ctx.output, inputs={"the file to summarize": path})
    kind = "transcript" if transcript or fmt else None  # None: detected from the file
    execute(ctx, SummarizeJob([path], words=words, kind=kind, fmt=fmt, keep_filler=keep_filler))
