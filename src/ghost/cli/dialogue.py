"""ghost dialogue --a MODEL --b MODEL --prompt TEXT"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ghost.cli import common as c
from ghost.write.atomic import write_text_atomic

if TYPE_CHECKING:
    from ghost.jobs.dialogue import DialogueResult, DialogueSetup
    from ghost.options import RunOptions

app = typer.Typer()


@app.command()
def dialogue(
    a: Annotated[str, typer.Option("--a", help=f"Model A, who is sent the prompt and speaks first ({c.MODEL_HELP}).", show_default=False)],
    b: Annotated[str, typer.Option("--b", help=f"Model B, who answers A ({c.MODEL_HELP}).", show_default=False)],
    prompt: Annotated[str | None, typer.Option("--prompt", help="The opening prompt, sent to model A.", show_default=False)] = None,
    prompt_file: Annotated[Path | None, typer.Option("--prompt-file", help="Read the opening prompt from this file.", show_default=False)] = None,
    turns: Annotated[int, typer.Option("--turns", help="Replies in all, A and B taking turns (6: A, B, A, B, A, B).")] = 6,
    system_a: Annotated[str | None, typer.Option("--system-a", help="System prompt for model A.", show_default=False)] = None,
    system_b: Annotated[str | None, typer.Option("--system-b", help="System prompt for model B.", show_default=False)] = None,
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Longest reply, in tokens.")] = 1024,
    temperature: Annotated[float, typer.Option("--temperature", help="Sampling temperature (models that take one).")] = 0.7,
    base_url: c.BaseUrl = None,
    cache_dir: c.CacheDir = None,
    no_cache: c.NoCache = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the transcript here (default: stdout, turn by turn).", show_default=False)] = None,
    as_json: c.JsonReport = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan (turns, tokens per turn, cost) and make no call.")] = False,
    budget: c.Budget = None,
    patience: c.Patience = 1800.0,
    models_file: c.ModelsFile = None,
    quiet: c.Quiet = False,
    verbose: c.Verbose = 0,
) -> None:
    """Let two models talk: the prompt goes to A, and each reply becomes the other's next turn.

    \b
    Examples:
      ghost dialogue --a anthropic:claude-opus-5-5 --b openai:gpt-4o --turns 6 \\
          --prompt "Introduce yourself to the other AI and get to know each other." -o chat.txt
      ghost dialogue --a anthropic:claude-haiku-4-5 --b openai:gpt-4o-mini \\
          --prompt-file opening.txt --turns 10 --dry-run    # plan and cost; no call
      ghost dialogue --a openai:gpt-4o --b anthropic:claude-opus-5-5 --prompt-file p.txt \\
          --system-b "Answer in two sentences." --budget 0.50

    Each model keeps its own side of the history: A sees the prompt, its replies and B's; B
    sees A's replies as the user's. The transcript (Timestamp, one line per model, Prompt,
    then `Claude:` / `GPT:` turns, or `A:` / `B:` for other pairs) goes to stdout turn by
    turn, or to -o FILE with each turn echoed to stderr as it comes. Ctrl-C stops cleanly and
    keeps the finished turns; re-running the same dialogue replays from the cache for free.
    """
    c.setup(quiet, verbose)
    console = c.Console(quiet, verbose, as_json)
    with c.cli_errors(verbose):
        from ghost.jobs.dialogue import DialogueSetup

        c.between("--temperature", temperature, 0, 2)
        text = _read_prompt(prompt, prompt_file)
        setup = DialogueSetup(a=a, b=b, prompt=text, turns=turns, system_a=system_a or "",
                              system_b=system_b or "", max_tokens=max_tokens,
                              temperature=temperature)
        setup.validate()
        options = c.run_options(base_url=base_url, cache_dir=cache_dir, no_cache=no_cache,
                                dry_run=dry_run, budget=budget, patience=patience,
                                models_file=models_file)
        # before the first (paid) turn, and never over the prompt file
        output = c.checked_output(output, inputs={"the prompt file": prompt_file})
        _run(setup, options, console, output, prompt_file)


def _read_prompt(prompt: str | None, prompt_file: Path | None) -> str:
    from ghost.errors import InputError

    if prompt is not None and prompt_file is not None:
        raise InputError("give --prompt or --prompt-file, not both")
    if prompt_file is not None:
        try:
            text = prompt_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{prompt_file}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"{prompt_file}: is a folder, not a file") from None
        except UnicodeDecodeError:
            raise InputError(f"{prompt_file}: not UTF-8 text") from None
        except OSError as exc:
            raise InputError(f"{prompt_file}: cannot read it ({exc.strerror})") from None
    elif prompt is not None:
        text = prompt
    else:
        raise InputError("missing the opening prompt: give --prompt TEXT or --prompt-file FILE")
    if not text.strip():
        raise InputError("the opening prompt is empty")
    return text.strip()


def _run(setup: DialogueSetup, options: RunOptions, console: c.Console, output: Path | None,
         prompt_file: Path | None) -> None:
    from ghost.errors import GhostError
    from ghost.jobs.dialogue import DialogueJob
    from ghost.jobs.runner import JobRun

    # Without -o the transcript itself streams to stdout; with -o each turn echoes to stderr.
    to_stdout = output is None and not console.as_json

    def show(block: str) -> None:
        console.clear_progress()
        if to_stdout:
            typer.echo(block, nl=False)
        elif not console.quiet and not console.as_json:
            typer.echo(block, err=True, nl=False)

    def on_call(number: int, speaker: str) -> None:
        console.progress(f"{speaker} is replying: turn", number, setup.turns)

    job = DialogueJob(setup, prompt_file, show=show, on_call=on_call)
    run = JobRun(job, options)
    interrupted = False
    try:
        run.execute(output)
    except KeyboardInterrupt:
        interrupted = True
    except GhostError:
        result = job.result
        if result is not None and result.turns and not result.complete:
            _keep_partial(result, output, console, "stopped")
        raise
    finally:
        console.clear_progress()
    result = job.result
    if result is None:  # interrupted while planning
        typer.echo("ghost: interrupted before the first reply; nothing written", err=True)
        raise typer.Exit(130)
    report: dict[str, Any] = {"command": "dialogue", **result.to_dict()}
    if not options.dry_run:
        if interrupted:
            _keep_partial(result, output, console, "interrupted")
            report["interrupted"] = True
        elif output is not None:
            console.info(f"wrote {output}")
        if output is not None and result.turns:
            report["output"] = str(output)
        if console.as_json and output is None:
            report["text"] = result.text
        report["ledger"] = run.ledger.to_dict()
        report["manifest"] = str(run.manifest) if run.manifest else None
        console.info(run.ledger.render())
    elif not console.as_json:
        console.result(result.plan.render())
    if console.as_json:
        console.report(report)
    if interrupted:
        raise typer.Exit(130)


def _keep_partial(result: DialogueResult, output: Path | None, console: c.Console,
                  stopped: str) -> None:
    """Keep the finished turns of a run that stopped early, and say so in one line."""
    done, wanted = len(result.turns), result.setup.turns
    if done == 0:
        typer.echo(f"ghost: {stopped} before the first reply; nothing written", err=True)
        return
    if output is not None:
        write_text_atomic(output, result.text)
        where = f"wrote them to {output}"
    elif not console.as_json:
        where = "the transcript above has them"
    elif stopped == "interrupted":
        where = "the JSON report has them"
    else:
        where = "they are cached, so a re-run replays them for free"
    typer.echo(f"ghost: {stopped} after {done} of {wanted} turns; {where}", err=True)
