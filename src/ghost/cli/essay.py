"""ghost essay --samples DIR --transcript FILE"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ghost.cli import common as c

app = typer.Typer()


@app.command()
@c.model_command
def essay(
    ctx: c.RunContext,
    samples: Annotated[Path, typer.Option("--samples", help="Folder of the author's past essays (.md, .txt; optional front matter title/date).", show_default=False)],
    transcript: Annotated[Path, typer.Option("--transcript", help="This episode's transcript (txt with HH:MM:SS blocks, Markdown, VTT, SRT or plain).", show_default=False)],
    words: Annotated[int, typer.Option("--words", help="Target length of the essay, in words.")] = 700,
    samples_budget: Annotated[int | None, typer.Option("--samples-budget", help="Most tokens of past essays to put in front of the strong model (default 250,000, within what fits its context).", show_default=False)] = None,
    draft: Annotated[int, typer.Option("--draft", help="Which draft to write: 2, 3, … ask the strong model again for a new essay, paying for that call only (the episode's notes come from the cache); asking for a draft again replays it.")] = 1,
    fmt: c.TranscriptFormat = None,
    keep_filler: c.KeepFiller = False,
    screen: c.Screen = False,
    screen_examples: c.ScreenExamples = None,
) -> None:
    """Ghostwrite this episode's intro essay in the author's voice, from their past essays.

    \b
    Examples:
      ghost essay --samples corpora/my_essays --transcript corpora/episode-042.txt --dry-run
      ghost essay --samples corpora/my_essays --transcript corpora/episode-042.txt -o essay.md
      ghost essay --samples essays/ --transcript ep.vtt --reduce-model openai:gpt-4.1 --budget 2

    The cheap model takes timestamped notes on every part of the episode; the strong model
    reads as many past essays as fit (the same pack every week, so provider prompt caching
    makes it cheap) and writes the essay. Beside -o essay.md goes essay.notes.md: the episode
    notes and the timestamps each paragraph draws on. A style check against the samples is
    printed for every draft.
    """
    c.at_least("--words", words, 1)
    c.at_least("--samples-budget", samples_budget, 1)
    c.at_least("--draft", draft, 1)
    from ghost.cli.jobs import execute
    from ghost.ingest.samples import load_samples
    from ghost.jobs.essay import EssayJob, notes_path

    console, options, output = ctx.console, ctx.options, ctx.output
    screen_examples_path = Path(screen_examples) if screen_examples else None
    if output is not None:  # the notes go beside the essay: check both before paying
        notes = notes_path(output)
        for path, called in ((output, None), (notes, f"{notes} (the notes beside -o {output})")):
            c.checked_output(path, inputs={"the transcript": transcript,
                                           "the screen examples file": screen_examples_path},
                             folders={"the samples folder": samples}, called=called)
    options.screen, options.screen_examples = screen, screen_examples
    loaded, skipped = load_samples(samples)
    for path, reason in skipped:
        console.info(f"skipped sample {path}: {reason}")
    result = execute(ctx, EssayJob(transcript, loaded, words=words,
                                   samples_budget=samples_budget, fmt=fmt,
                                   keep_filler=keep_filler, draft=draft))
    if options.dry_run:
        return
    if result.pack is not None and not result.pack.complete:
        console.info(f"samples: {len(result.pack.samples)} of {result.pack.available} fit "
                     "(most recent, then most similar to this episode)")
    if result.citations.unknown:
        console.info("citations not in the transcript: "
                     + ", ".join(sorted(set(result.citations.unknown))))
    if result.style is not None:
        console.info(result.style.render())
