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
    samples_budget: Annotated[int | None, typer.Option("--samples-budget", help="Most tokens of samples to pack (default: all that fit the reduce model).", show_default=False)] = None,
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
    from ghost.cli.jobs import run_job
    from ghost.ingest.samples import load_samples
    from ghost.jobs.essay import notes_document, write_essay
    from ghost.sources import load_transcript_source
    from ghost.tokens import counter_for
    from ghost.write.atomic import write_text_atomic

    console, options, output = ctx.console, ctx.options, ctx.output
    if output is not None:  # the notes go beside the essay: check both before paying
        c.checked_output(_notes_path(output))
    options.screen, options.screen_examples = screen, screen_examples
    loaded, skipped = load_samples(samples)
    for path, reason in skipped:
        console.info(f"skipped sample {path}: {reason}")
    sources = []

    def job(session):  # type: ignore[no-untyped-def]
        info = session.info("map")
        source = load_transcript_source(
            transcript, chunk_tokens=options.chunk_tokens,
            count_tokens=counter_for(info.tokenizer, info.token_margin), fmt=fmt,
            keep_filler=keep_filler)
        session.add_input(transcript, source.text, kind="transcript")
        for sample in loaded:
            session.add_input(sample.path, sample.text, kind="sample")
        tick = c.progress_callback(console, "map", len(source.chunks))
        sources.append(source)
        return write_essay(session, source, loaded, words=words,
                           samples_budget=samples_budget, on_map_done=tick)

    def meta(session, result):  # type: ignore[no-untyped-def]
        from ghost.cli.jobs import default_meta

        data = default_meta(session, result)
        data["samples_used"] = len(result.pack.samples) if result.pack else 0
        data["samples_available"] = len(loaded)
        if result.style is not None:
            data["style_verdict"] = result.style.verdict
        return data

    result = run_job("essay", options, console, job, output=output, meta=meta)
    if options.dry_run:
        return
    if output is not None:
        notes_path = _notes_path(output)
        write_text_atomic(notes_path, notes_document(result, sources[0]))  # type: ignore[arg-type]
        console.info(f"wrote {notes_path}")
    if result.pack is not None and not result.pack.complete:
        console.info(f"samples: {len(result.pack.samples)} of {result.pack.available} fit "
                     "(most recent, then most similar to this episode)")
    if result.citations.unknown:
        console.info("citations not in the transcript: "
                     + ", ".join(sorted(set(result.citations.unknown))))
    if result.style is not None:
        console.info(result.style.render())


def _notes_path(output: Path) -> Path:
    return output.with_name(output.stem + ".notes.md")
