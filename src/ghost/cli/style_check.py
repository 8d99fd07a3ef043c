"""ghost style-check DRAFT --samples DIR"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ghost.cli import common as c

app = typer.Typer()


@app.command("style-check")
def style_check(
    draft: Annotated[Path, typer.Argument(help="The draft to check (Markdown or text).", show_default=False)],
    samples: Annotated[Path, typer.Option("--samples", help="Folder of the author's past essays.", show_default=False)],
    as_json: c.JsonReport = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 unless the draft sounds like the author (for scripts).")] = False,
) -> None:
    """Does a draft sound like the author? A stylometric score against their own samples.

    \b
    Examples:
      ghost style-check essay.md --samples corpora/my_essays
      ghost style-check draft.txt --samples essays/ --json

    The score is Burrows' Delta over the author's most frequent (function) words, with
    sentence-length and punctuation profiles, shown against the spread among the samples
    themselves: each sample is scored against the rest, so "sounds like the author" means
    the draft is as close to them as their own essays are to each other. No model calls.
    """
    from ghost.ingest.samples import load_samples, split_front_matter
    from ghost.ingest.text import read_text
    from ghost.style.style_report import SOUNDS_LIKE
    from ghost.style.stylometry import score_draft

    console = c.Console(False, 0, as_json)
    with c.cli_errors(0):
        loaded, _ = load_samples(samples)
        report = score_draft(split_front_matter(read_text(draft))[1], [s.text for s in loaded])
    if as_json:
        console.report(report.to_dict())
    else:
        console.result(report.render())
    if strict and report.verdict != SOUNDS_LIKE:
        raise typer.Exit(1)
