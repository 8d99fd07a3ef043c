"""The command line: a thin typer layer over the core. One module per command.

Nothing here imports the SDKs or langchain at start-up; commands import the core lazily.
"""

from __future__ import annotations

import typer

from ghost import __version__
from ghost.cli import (
    ask,
    cache_cmd,
    dialogue,
    essay,
    mail_cmd,
    profile,
    run_cmd,
    screen,
    style_check,
    summarize,
)

app = typer.Typer(
    name="ghost",
    help="Turn very long sources into short, useful writing: a cheap model reads everything, "
         "a strong model writes the result.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(essay.app)
app.add_typer(style_check.app)
app.add_typer(summarize.app)
app.add_typer(ask.app)
app.add_typer(profile.app)
app.add_typer(dialogue.app)
app.add_typer(screen.app)
app.add_typer(run_cmd.app)
app.add_typer(mail_cmd.app, name="mail")
app.add_typer(cache_cmd.app, name="cache")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ghost {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """ghost: cheap-map / strong-reduce writing from very long sources."""


SIGTERM_EXIT = 143  # 128 + SIGTERM, what service managers expect of a process they stopped


class Terminated(KeyboardInterrupt):
    """SIGTERM (`systemctl stop`, `kill`): stopped like Ctrl-C, so nothing new starts, the calls
    in flight finish and are cached, and the manifest is closed as interrupted."""


def _on_sigterm(signum: int, frame: object) -> None:
    global _terminated
    if not _terminated:  # a second SIGTERM while the calls in flight land: they go on landing
        _terminated = True
        raise Terminated()


_terminated = False


def main() -> None:
    import signal

    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app()
    except SystemExit:
        if _terminated:
            raise SystemExit(SIGTERM_EXIT) from None
        raise
