"""ghost essay --samples DIR --transcript FILE"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ghost.cli import common as c
from ghost.errors import InputError

app = typer.Typer()
MAX_DRAFTS = 10  # as [essay] drafts in ghost.toml


@app.command()
@c.model_command
def essay(
    ctx: c.RunContext,
    samples: Annotated[Path, typer.Option("--samples", help="Folder of the author's past essays (.md, .txt; optional front matter title/date).", show_default=False)],
    transcript: Annotated[Path, typer.Option("--transcript", help="This episode's transcript (txt with HH:MM:SS blocks, Markdown, VTT, SRT or plain).", show_default=False)],
    words: Annotated[int | None, typer.Option("--words", help="Target length of the essay, in words (default: the median length of the samples).", show_default=False)] = None,
    read: Annotated[str, typer.Option("--read", help="How the strong model reads the episode: full (the whole transcript), notes (the cheap model's essay notes first) or auto (whole when it takes at most a quarter of the strong model's context and fits --budget).")] = "auto",
    drafts: Annotated[int, typer.Option("--drafts", help="Write this many drafts on one cached prefix (kept an hour when more than one), rank them with the style check and keep the best; the ranking goes in the notes file.")] = 1,
    revise: Annotated[bool, typer.Option("--revise", help="Feed what the style check measured back to the strong model for one revision, kept only if it scores better.")] = False,
    impostors: Annotated[Path | None, typer.Option("--impostors", help="Folder of other writers' texts in the host's genre: the style check (and the ranking of drafts) rejects a draft nearer to them.", show_default=False)] = None,
    impostor_draft: Annotated[bool, typer.Option("--impostor-draft", help="Have the cheap model write a plain essay on the episode without the samples; a draft nearer to it than to the host's essays cannot sound like the host (one cheap call, in the plan).")] = False,
    samples_budget: Annotated[int | None, typer.Option("--samples-budget", help="Most tokens of past essays to put in front of the strong model (default 250,000, within what fits its context).", show_default=False)] = None,
    draft: Annotated[int, typer.Option("--draft", help="Write one draft numbered N: 2, 3, … ask the strong model again for a new essay, paying for that call only; asking for a draft again replays it. For several drafts ranked, use --drafts.")] = 1,
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
      ghost essay --samples essays/ --transcript ep.txt --drafts 3 --revise -o essay.md

    The strong model reads the whole transcript when it fits (else the cheap model's essay
    notes: quotes with who said them, the guest, the arc, tensions, the host's reactions),
    as many past essays as fit (the same pack every week, so provider prompt caching makes
    it cheap) and a voice profile measured from them, and writes the essay. It never
    invents the host's life: a personal opening becomes a moment from the episode or a
    [HOST: …] placeholder. Beside -o essay.md goes essay.notes.md: how the episode was read,
    the drafts' ranking and the timestamps each paragraph draws on. The kept essay's style
    check is printed.
    """
    c.at_least("--words", words, 1)
    c.at_least("--samples-budget", samples_budget, 1)
    c.at_least("--draft", draft, 1)
    c.between("--drafts", drafts, 1, MAX_DRAFTS)
    if draft > 1 and drafts > 1:
        raise InputError("--draft N writes one draft numbered N; --drafts N writes N drafts: "
                         "give one of them")
    if read not in ("auto", "full", "notes"):
        raise InputError("--read must be auto, full or notes")
    from ghost.cli.jobs import execute
    from ghost.ingest.samples import load_impostors, load_samples
    from ghost.jobs.essay import EssayJob, EssaySettings, notes_path

    console, options, output = ctx.console, ctx.options, ctx.output
    screen_examples_path = Path(screen_examples) if screen_examples else None
    if output is not None:  # the notes go beside the essay: check both before paying
        notes = notes_path(output)
        for path, called in ((output, None), (notes, f"{notes} (the notes beside -o {output})")):
            c.checked_output(path, inputs={"the transcript": transcript,
                                           "the screen examples file": screen_examples_path},
                             folders={"the samples folder": samples}, called=called)
    options.screen, options.screen_examples = screen, screen_examples
    loaded, skipped = load_samples(samples, exclude=[impostors] if impostors else [])
    for path, reason in skipped:
        console.info(f"skipped sample {path}: {reason}")
    others = (load_impostors(impostors, called="--impostors", samples=loaded)
              if impostors else ())
    settings = EssaySettings(words=words, read=read, drafts=drafts, revise=revise,
                             samples_budget=samples_budget, first_draft=draft,
                             impostors=others, impostor_draft=impostor_draft)
    result = execute(ctx, EssayJob(transcript, loaded, settings, fmt=fmt,
                                   keep_filler=keep_filler))
    if options.dry_run:
        return
    if result.pack is not None and not result.pack.complete:
        console.info(f"samples: {len(result.pack.samples)} of {result.pack.available} fit "
                     "(most recent, then most similar to this episode)")
    if result.citations.unknown:
        console.info("citations not in the transcript: "
                     + ", ".join(sorted(set(result.citations.unknown))))
    if result.read is not None:
        console.info(f"read: {result.read.mode} ({result.read.reason})")
    if len(result.drafts) > 1 or result.revision is not None:
        ranked = [*result.drafts, *([result.revision] if result.revision else [])]
        console.info("drafts, best first: " + "; ".join(
            f"{row['draft']}: {row['verdict']} (Delta {row['delta']})"
            for row in (d.to_dict() for d in ranked)) + f"; kept {result.kept}")
    if result.style is not None:
        console.info(result.style.render())
