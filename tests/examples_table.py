"""The documented examples tests/test_examples.py runs: one row each, keyed by the exact text.

A row: how it runs (DRY, STANDIN or LOCAL), the checks of its effect, `subs` — the only edits to
the documented command, each spelled out —, a `setup` run first, the documented exit `code`, and
`xfail` for an example that cannot run as documented. `workdir` prepares the folder every row runs
in: corpora/ and the inputs the examples name.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import SHARED, run_cli, shared_path

DRY, STANDIN, LOCAL = "dry-run", "stand-in", "local"


# --- what a row checks -------------------------------------------------------------------

@dataclass
class Run:
    """One row's run: its folder, the stand-in (STANDIN rows) and the CLI results."""

    tmp: Path
    server: Any = None
    results: list[Any] = field(default_factory=list)

    @property
    def out(self) -> str:
        return self.results[-1].stdout

    @property
    def err(self) -> str:
        return self.results[-1].stderr

    def text(self, name: str) -> str:
        return (self.tmp / name).read_text(encoding="utf-8")

    def calls(self, provider: str | None = None) -> list[Any]:
        """Model calls the stand-in answered (of `provider`, or any)."""
        return [r for r in self.server.requests if r.status == 200 and "model" in r.body
                and provider in (None, r.provider)]


Check = Callable[[Run], None]


@dataclass(frozen=True)
class Row:
    mode: str
    checks: tuple[Check, ...]
    subs: tuple[tuple[str, str], ...] = ()
    setup: Check | None = None
    code: int = 0
    xfail: str = ""


def row(mode: str, *checks: Check, subs: tuple[tuple[str, str], ...] = (),
        setup: Check | None = None, code: int = 0, xfail: str = "") -> Row:
    assert checks, "every row checks something"
    return Row(mode, checks, subs, setup, code, xfail)


def out(*needles: str, stream: str = "out") -> Check:
    """The last command's stdout (or stderr, with stream="err") holds every needle."""
    def check(r: Run) -> None:
        text = getattr(r, stream)
        missing = [n for n in needles if n not in text]
        assert not missing, f"{missing} not on std{stream}:\n{r.out}\nstderr:\n{r.err}"
    return check


def err(*needles: str) -> Check:
    return out(*needles, stream="err")


def file(name: str, *needles: str, start: str = "") -> Check:
    def check(r: Run) -> None:
        text = r.text(name)
        missing = [n for n in needles if n not in text]
        assert not missing and text.startswith(start), f"{name}: {missing} missing:\n{text}"
    return check


def absent(*needles: str) -> Check:
    def check(r: Run) -> None:
        found = [n for n in needles if n in r.out]
        assert not found, f"{found} on stdout:\n{r.out}"
    return check


def cache_empty(r: Run) -> None:
    assert "0 cached responses" in run_cli("cache", "info").stdout


def stage(name: str, model: str) -> Check:
    """The dry-run plan table (stage, model, calls, tokens, est. cost) has this stage's row."""
    def check(r: Run) -> None:
        assert "est. cost" in r.out and re.search(rf"^{name}\s+{re.escape(model)}\s+\d", r.out,
                                                 re.M), f"no {name} {model} in the plan:\n{r.out}"
    return check


def models(provider: str, *names: str) -> Check:
    def check(r: Run) -> None:
        got = {c.body["model"] for c in r.calls(provider)}
        assert got == set(names), f"{provider} models called: {got}, documented: {names}"
    return check


def calls(n: int, marker: str = "") -> Check:
    def check(r: Run) -> None:
        got = [c for c in r.calls() if marker in json.dumps(c.body)]
        assert len(got) == n, f"{len(got)} model calls with {marker!r}, expected {n}"
    return check


def not_sent(needle: str) -> Check:
    def check(r: Run) -> None:
        assert needle not in json.dumps([c.body for c in r.calls()]), f"{needle} was sent"
    return check


def turns(n: int, first: str, name: str | None = None) -> Check:
    """A dialogue transcript of `n` turns, `first` (Claude or GPT) speaking first."""
    def check(r: Run) -> None:
        text = r.text(name) if name else r.out
        said = [x.split(":")[0] for x in text.splitlines() if x.startswith(("Claude:", "GPT:"))]
        assert len(said) == n and said[0] == first, text
    return check


def batched(r: Run) -> None:
    """The map calls went to the stand-in's batch API; the episode waits for the next run."""
    assert [q for q in r.server.requests if "/batches" in q.path], "no batch was sent"
    assert "waiting" in r.err and "provider batches" in r.err, r.err


def json_out(key: str, value: Any = None) -> Check:
    """stdout is a JSON report whose `key` is `value` (or, without one, is not empty)."""
    def check(r: Run) -> None:
        got = json.loads(r.out)[key]
        assert (got == value) if value is not None else got, f"{key}: {got!r}"
    return check


# --- setups

def cli(*argv: str) -> Check:
    """Run a ghost command first (and require it to succeed)."""
    def setup(r: Run) -> None:
        result = run_cli(*argv)
        assert result.exit_code == 0, result.output
    return setup


init = cli("init")
fill_cache = cli("screen", "corpora/notes.txt")  # one call to the stand-in: one cached reply
index_mail = cli("mail", "index", "inbox.mbox")


def show_workspace(r: Run) -> None:
    (r.tmp / "show").mkdir()
    for name in ("episodes", "essays"):
        shutil.copytree(r.tmp / name, r.tmp / "show" / name)
    cli("init", "show/ghost.toml")(r)


def reply(text: str, provider: str | None = None) -> Check:
    """Queue the stand-in's next reply (the screen's letter, the strong model's queries)."""
    return lambda r: r.server.enqueue(text, provider)


SCREEN_A = reply("A")
SCREEN_MARK = "You are a screening classifier"


def screen_ok(r: Run) -> None:
    """The screen (beside the essay call) answers A; the other calls get the default reply."""
    r.server.responder = lambda provider, body: "A" if SCREEN_MARK in json.dumps(body) else None


EPISODE_SUMMARY = ("FACT-BREWLOG-7", "[00:")  # the planted fact, with its timestamp
ESSAY_OUT = (file("essay.md", "FACT-BREWLOG-7", start="---\n"),
             file("essay.notes.md", "Samples used"), err("Style check"))
WORKSPACE_DONE = (file("out/ep42.essay.md", "FACT-BREWLOG-7"),
                  file("out/ep42.summary.md", *EPISODE_SUMMARY))
NOT_OWNERS = not_sent("FACT-R25")  # the r-devel mail is not the owner's: never narrowed in
STYLE = out("Style check", "Burrows' Delta")
DANA_FACTS = file("profile.md", "FACT-OFFSITE", "FACT-AISLE", "FACT-BUDGET")
def needs_shared(r: Run) -> None:
    shared_path("data", "mail", "notmuch", "default")  # skips the row without ../shared


# Examples with --base-url http://localhost:11434/v1 (Ollama) run as dry runs: no server there.

TABLE: dict[str, Row] = {
    # --- summarize
    "ghost summarize corpora/notes.txt --dry-run":
        row(DRY, stage("map", "anthropic:claude-haiku-4-5"),
            stage("reduce", "anthropic:claude-opus-5-5")),
    "ghost summarize --transcript corpora/episode-042.txt -o summary.md":
        row(STANDIN, file("summary.md", *EPISODE_SUMMARY), calls(3)),
    "ghost summarize --transcript corpora/episode-042.txt": row(STANDIN, out(*EPISODE_SUMMARY)),
    "ghost summarize corpora/notes.txt --budget 0.50": row(
        STANDIN, out("STANDIN"), models("anthropic", "claude-haiku-4-5", "claude-opus-5-5")),
    "ghost summarize corpora/notes.txt --map-model openai:gpt-4o-mini --reduce-model openai:gpt-4o":
        row(STANDIN, out("STANDIN"), models("openai", "gpt-4o-mini", "gpt-4o"),
            models("anthropic")),
    "ghost summarize report.txt --map-model openai:gpt-4o-mini "
    "--reduce-model anthropic:claude-opus-5-5":
        row(STANDIN, out("STANDIN"), models("openai", "gpt-4o-mini"),
            models("anthropic", "claude-opus-5-5")),
    "ghost summarize corpora/notes.txt --map-model openai:llama3.1 "
    "--base-url http://localhost:11434/v1":
        row(DRY, stage("map", "openai:llama3.1"), stage("reduce", "anthropic:claude-opus-5-5")),
    "ghost summarize corpora/notes.txt --map-model openai:llama3.1 "
    "--reduce-model openai:llama3.1 --base-url http://localhost:11434/v1":
        row(DRY, stage("map", "openai:llama3.1"), stage("reduce", "openai:llama3.1")),
    # --- ask
    'ghost ask "What did the host decide about pricing?" corpora --dry-run': row(
        DRY, stage("map", "anthropic:claude-haiku-4-5"),
        stage("reduce", "anthropic:claude-opus-5-5"),
        out("documents:", "question: What did the host decide about pricing?")),
    'ghost ask "What did the host decide about pricing?" corpora -o answer.md':
        row(STANDIN, file("answer.md", "FACT-BREWLOG-7", "[episode-042.txt 00:", start="---\n")),
    'ghost ask "When is the offsite?" inbox.mbox corpora/notes.txt --json':
        row(STANDIN, out('"citation": "<m1@acme.com>"', "FACT-OFFSITE")),
    'ghost ask "What did the host decide about pricing?" corpora/episode-042.txt --budget 0.50':
        row(STANDIN, out("FACT-BREWLOG-7", "[episode-042.txt 00:")),
    # --- essay
    "ghost essay --samples corpora/my_essays --transcript corpora/episode-042.txt --dry-run":
        row(DRY, stage("essay", "anthropic:claude-opus-5-5"), out("samples: 12 of 12")),
    "ghost essay --samples corpora/my_essays --transcript corpora/episode-042.txt -o essay.md":
        row(STANDIN, *ESSAY_OUT),
    "ghost essay --samples essays/ --transcript ep.vtt --reduce-model openai:gpt-4.1 --budget 2":
        row(STANDIN, out("FACT-VTT"), models("openai", "gpt-4.1"), err("11 samples")),
    "ghost essay --samples essays/ --transcript ep.txt --drafts 3 --revise -o essay.md": row(
        STANDIN, file("essay.notes.md", "Kept: "), calls(4, '"ttl": "1h"'), calls(1, "<<<MEAS")),
    "ghost essay ... --screen": row(  # the README elides the essay's inputs
        STANDIN, out("FACT-BREWLOG-7"), calls(1, SCREEN_MARK), not_sent("A screening check"),
        subs=(("...", "--samples corpora/my_essays --transcript corpora/episode-042.txt"),),
        setup=screen_ok),
    # --- style-check (no model)
    "ghost style-check essay.md --samples corpora/my_essays": row(LOCAL, STYLE),
    "ghost style-check draft.txt --samples essays/ --json": row(LOCAL, json_out("verdict")),
    "ghost style-check draft.txt --samples essays/ --strict":  # draft.txt: a held-out essay
        row(LOCAL, STYLE, out("sounds like the author")),
    "ghost style-check draft.txt --samples essays/ --impostors other-writers/":
        row(LOCAL, STYLE, out("sounds like the author")),
    # --- profile
    'ghost profile --mbox inbox.mbox --owner "Dana Reyes <dana@example.com>" --dry-run':
        row(DRY, stage("triage", "anthropic:claude-haiku-4-5")),
    'ghost profile --mbox inbox.mbox --owner "Dana Reyes <dana@example.com>" -o profile.md':
        row(STANDIN, DANA_FACTS, NOT_OWNERS),
    'ghost profile --mbox inbox.mbox --owner "Dana <dana@example.com>" -o profile.md':
        row(STANDIN, DANA_FACTS, NOT_OWNERS),
    "ghost profile --mbox takeout.mbox --query 'from:board@acme.com newer_than:1y' "
    "--query 'subject:\"offsite\" OR subject:travel' -o profile.md":
        row(STANDIN, file("profile.md", "FACT-OFFSITE", "FACT-TRAVEL"), not_sent("FACT-BUDGET")),
    'ghost profile --mbox Maildir/ --auto-queries --brief "New EA; travel and board work"':
        row(STANDIN, out("FACT-TRAVEL"), err("query: subject:travel"), not_sent("FACT-BUDGET"),
            setup=reply("subject:travel", "anthropic")),  # the strong model's one query
    "ghost profile --mbox ../shared/data/mail/notmuch/default "
    '--owner "Carl Worth <cworth@cworth.org>" --max-threads 3 -o profile.md':
        row(STANDIN, file("profile.md", "# Profile: Carl Worth"), err("triage: 3 sensitive"),
            subs=(("../shared/", f"{SHARED}/"),), setup=needs_shared),
    'ghost profile --mbox Maildir/ --auto-queries --brief "New EA: travel, board work" '
    "-o profile.md":
        row(STANDIN, file("profile.md", "FACT-OFFSITE"), not_sent("FACT-BUDGET"),
            setup=reply("subject:offsite", "anthropic")),
    'ghost profile --mbox inbox.mbox --owner "Dana <dana@example.com>" '
    "--map-model openai:llama3.1 --base-url http://localhost:11434/v1":
        row(DRY, stage("triage", "openai:llama3.1")),
    # --- screen (the stand-in answers the one letter)
    "ghost screen corpora/episode-042.txt": row(STANDIN, out("A ok"), setup=SCREEN_A),
    "ghost screen episode.txt": row(STANDIN, out("A ok"), setup=SCREEN_A),
    "ghost screen ep.txt --examples labelled.jsonl -v":
        row(STANDIN, out("A ok"), err("example line 1 [A]"), setup=SCREEN_A),
    "ghost screen post.txt --examples labelled.jsonl":
        row(STANDIN, out("A ok"), calls(1, "calibration software for breweries"),
            setup=SCREEN_A),
    "ghost screen ep.txt --screen-model openai:gpt-4o-mini --json":
        row(STANDIN, json_out("letter", "A"), models("openai", "gpt-4o-mini"), setup=SCREEN_A),
    # --- dialogue
    "ghost dialogue --a anthropic:claude-opus-5-5 --b openai:gpt-4o --turns 6 --prompt "
    '"Introduce yourself to the other AI and get to know each other." -o chat.txt':
        row(STANDIN, turns(6, "Claude", "chat.txt"), calls(6)),
    "ghost dialogue --a anthropic:claude-opus-5-5 --b openai:gpt-4o --turns 6 --prompt "
    '"Introduce yourselves and find one thing you disagree about." -o chat.txt':
        row(STANDIN, turns(6, "Claude", "chat.txt"), calls(6)),
    "ghost dialogue --a anthropic:claude-haiku-4-5 --b openai:gpt-4o-mini "
    "--prompt-file opening.txt --turns 10 --dry-run":
        row(DRY, stage("dialogue-a", "anthropic:claude-haiku-4-5"),
            stage("dialogue-b", "openai:gpt-4o-mini"), out("turns: 10")),
    "ghost dialogue --a openai:gpt-4o --b anthropic:claude-opus-5-5 --prompt-file p.txt "
    '--system-b "Answer in two sentences." --budget 0.50':
        row(STANDIN, turns(6, "GPT"), calls(3, "Answer in two sentences.")),
    # --- the workspace: init, run, status
    "ghost init": row(LOCAL, file("ghost.toml", "[episodes]", 'inbox = "episodes"')),
    # init's ghost.toml names episodes/ and essays/, which workdir prepares: nothing to edit
    "ghost init && $EDITOR ghost.toml && ghost run":
        row(STANDIN, *WORKSPACE_DONE, subs=((" && $EDITOR ghost.toml", ""),)),
    "ghost run": row(STANDIN, *WORKSPACE_DONE, setup=init),
    "ghost run --batch": row(STANDIN, batched, setup=init),
    "ghost run -c ~/show/ghost.toml --batch":
        row(STANDIN, batched, setup=show_workspace, subs=(("~/show/", "show/"),)),
    "ghost status": row(LOCAL, out("pending", "ep42", "spent this month"), setup=init),
    # --- cache (a call against the stand-in fills it first)
    "ghost cache info": row(STANDIN, out("1 cached responses"), setup=fill_cache),
    "ghost cache info --cache-dir ./cache":
        row(STANDIN, out("1 cached responses"), setup=fill_cache),
    "ghost cache clear --yes": row(STANDIN, out("cleared"), cache_empty, setup=fill_cache),
    "ghost cache clear --all --yes": row(LOCAL, out("cleared"), absent("remain"), setup=index_mail),
    # --- mail (no model)
    "ghost mail index ~/takeout/inbox.mbox":
        row(LOCAL, out("7 new messages"), subs=(("~/takeout/", "takeout/"),)),
    "ghost mail search --mbox inbox.mbox 'from:ripley@stats.ox.ac.uk subject:\"R 2.5\"'":
        row(LOCAL, out("R 2.5.0 is released"), absent("memory"), setup=index_mail),
    "ghost mail search --mbox inbox.mbox '\"memory leak\" -windows after:2010/01/01 "
    "has:attachment'":
        row(LOCAL, out("memory leak in readRDS"), absent("windows"), setup=index_mail),
    "ghost mail forget inbox.mbox": row(LOCAL, out("forgot inbox.mbox"), setup=index_mail),
}
