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
    impostors: Annotated[Path | None, typer.Option("--impostors", help="Folder of other writers' texts in the same genre (or model-written drafts): a draft nearer to them than to the samples cannot sound like the author.", show_default=False)] = None,
) -> None:
    """Does a draft sound like the author? A stylometric score against their own samples.

    \b
    Examples:
      ghost style-check essay.md --samples corpora/my_essays
      ghost style-check draft.txt --samples essays/ --json

    The verdict weighs the draft's function-word rates as written by the author against
    as written by another writer of the same genre, calibrated on the samples themselves
    (each held out from the rest), so "sounds like the author" means the draft fits them
    as well as their own essays do. Burrows' Delta, sentence-length and punctuation
    profiles say what differs; generic AI phrasing the samples never use is named and
    counts against the draft. No model calls.
    """
    from ghost.ingest.samples import load_samples, split_front_matter
    from ghost.ingest.text import read_text
    from ghost.style.style_report import SOUNDS_LIKE
    from ghost.style.stylometry import score_draft

    console = c.Console(False, 0, as_json)
    with c.cli_errors(0):
        loaded, _ = load_samples(samples)
        others = load_samples(impostors)[0] if impostors is not None else []
        report = score_draft(split_front_matter(read_text(draft))[1], [s.text for s in loaded],
                             impostors=[s.text for s in others])
    if as_json:
        console.report(report.to_dict())
    else:
        console.result(report.render())
    if strict and report.verdict != SOUNDS_LIKE:
        raise typer.Exit(1)
