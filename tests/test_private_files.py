"""Private by construction: no code from a stray folder, outputs no wider than they should
be, no input overwritten. At the user level: the CLI against the loopback stand-in, or
--dry-run where no call is needed. (`ghost run` and its own outputs: test_own_outputs.py;
Message-IDs and masking: test_message_id_masking.py.)
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from ghost.jobs.runner import Document
from ghost.templates import Templates
from standin import StandIn

NOTES = REPO / "corpora" / "notes.txt"
EPISODE = REPO / "corpora" / "episode-042.txt"
ESSAYS = REPO / "corpora" / "my_essays"
OWNER = "Dana Reyes <dana@acme.example>"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask() -> Iterator[None]:
    """Restore the process umask after a test that sets its own (it is process-global)."""
    old = os.umask(0o022)
    os.umask(old)
    try:
        yield
    finally:
        os.umask(old)


def one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ghost: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def mailbox(path: Path, first_id: str = "m1@acme.example") -> Path:
    def message(mid: str, sender: str, subject: str, body: str, day: int) -> str:
        date = f"Mon, {day:02d} Feb 2025 09:00:00 +0000"
        return (f"From x@example {date}\nMessage-ID: <{mid}>\nFrom: {sender}\n"
                f"To: {OWNER}\nSubject: {subject}\nDate: {date}\n\n{body}\n\n")

    path.write_text(
        message(first_id, "Sam Ortiz <sam@acme.example>", "Board offsite",
                "Dana, FACT-OFFSITE the board offsite is in Lisbon on 12 March.", 3)
        + message("m2@acme.example", OWNER, "Budget", "Lee, the Q1 budget FACT-BUDGET.", 4))
    return path


# --------------------------------------------------------------------------- 1. templates

PAYLOADS = (
    "{{{{ cycler.__init__.__globals__.os.system('touch {flag}') }}}}",
    "{{{{ lipsum.__globals__['os'].system('touch {flag}') }}}}",
    "{{% for c in ''.__class__.__mro__[1].__subclasses__() %}}{{% if c.__name__ == "
    "'Popen' %}}{{{{ c(['touch', '{flag}']) }}}}{{% endif %}}{{% endfor %}}",
)


def evil_templates(folder: Path, flag: Path, payload: str = PAYLOADS[0]) -> Path:
    (folder / "summarize-map").mkdir(parents=True)
    (folder / "summarize-map" / "system.md").write_text(payload.format(flag=flag) + "\nHi.")
    return folder


def test_a_templates_folder_in_the_working_directory_has_no_effect(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flag = tmp_path / "PWNED"
    evil_templates(tmp_path / "templates", flag)
    (tmp_path / "templates" / "summarize-reduce").mkdir()
    (tmp_path / "templates" / "summarize-reduce" / "system.md").write_text("CUSTOM {{ title }}")
    monkeypatch.chdir(tmp_path)
    result = run_cli("summarize", NOTES, "--cache-dir", tmp_path / "cache", "--dry-run")
    assert result.exit_code == 0, result.output
    assert not flag.exists()
    built_in = Templates().render("summarize-reduce", title="T", notes="n", parts=1, dropped=0,
                                  target_words=100)
    assert "CUSTOM" not in built_in.system  # the prompts (and cache keys) are the built-ins


@pytest.mark.parametrize("payload", PAYLOADS, ids=["cycler", "lipsum", "subclasses"])
def test_an_explicit_templates_folder_cannot_reach_python_internals(
        tmp_path: Path, payload: str) -> None:
    flag = tmp_path / "PWNED"
    folder = evil_templates(tmp_path / "tpl", flag, payload)
    result = run_cli("summarize", NOTES, "--templates", folder, "--cache-dir",
                     tmp_path / "cache", "--dry-run")
    one_line_error(result, "summarize-map/system.md", "sandbox")
    assert not flag.exists()


def test_an_explicit_templates_folder_still_overrides_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "tpl" / "summarize-map").mkdir(parents=True)
    (tmp_path / "tpl" / "summarize-map" / "system.md").write_text(
        "MINE {{ title | upper }} {{ text | delimit('X') | length > 0 }}")
    prompt = Templates(tmp_path / "tpl").render("summarize-map", title="t", part=1, parts=1,
                                                label="L1-L1", text="x")
    assert prompt.system == "MINE T True"


# ------------------------------------------------------------------------------ 2. modes


def summarize_to(out: Path, tmp_path: Path) -> None:
    result = run_cli("summarize", NOTES, "--cache-dir", tmp_path / "cache", "-o", out)
    assert result.exit_code == 0, result.output


def essay_to(out: Path, tmp_path: Path) -> None:
    result = run_cli("essay", "--samples", ESSAYS, "--transcript", EPISODE, "--cache-dir",
                     tmp_path / "cache", "--chunk-tokens", "700", "-o", out)
    assert result.exit_code == 0, result.output


def profile_to(out: Path, tmp_path: Path) -> None:
    result = run_cli("profile", "--mbox", mailbox(tmp_path / "inbox.mbox"), "--owner", OWNER,
                     "--cache-dir", tmp_path / "cache", "-o", out)
    assert result.exit_code == 0, result.output


def test_under_umask_077_every_output_is_0600(standin: StandIn, tmp_path: Path,
                                              umask: None) -> None:
    os.umask(0o077)
    summarize_to(tmp_path / "summary.md", tmp_path)
    essay_to(tmp_path / "essay.md", tmp_path)
    profile_to(tmp_path / "profile.md", tmp_path)
    outputs = ("summary.md", "essay.md", "essay.notes.md", "profile.md")
    assert {name: mode(tmp_path / name) for name in outputs} == dict.fromkeys(outputs, 0o600)


def test_under_umask_022_a_profile_is_0600_and_a_summary_0644(standin: StandIn, tmp_path: Path,
                                                              umask: None) -> None:
    os.umask(0o022)
    (tmp_path / "profile.md").write_text("an old profile")
    os.chmod(tmp_path / "profile.md", 0o644)
    profile_to(tmp_path / "profile.md", tmp_path)  # replaced: the new file is private
    summarize_to(tmp_path / "summary.md", tmp_path)
    essay_to(tmp_path / "essay.md", tmp_path)  # not mail: transcripts follow the umask
    assert "FACT-OFFSITE" in (tmp_path / "profile.md").read_text()
    assert mode(tmp_path / "profile.md") == 0o600
    assert mode(tmp_path / "summary.md") == 0o644
    assert mode(tmp_path / "essay.md") == mode(tmp_path / "essay.notes.md") == 0o644


def test_documents_follow_the_umask_unless_private(tmp_path: Path, umask: None) -> None:
    os.umask(0o027)
    box = mailbox(tmp_path / "inbox.mbox")
    maildir = tmp_path / "Maildir"
    (maildir / "cur").mkdir(parents=True)
    cases = {
        "plain.txt": Document(tmp_path / "plain.txt", "x"),
        "front.md": Document(tmp_path / "front.md", "x", {"source": [str(NOTES)]}),
        "forced.md": Document(tmp_path / "forced.md", "x", {"source": [str(NOTES)]},
                              private=True),
        "mbox.md": Document(tmp_path / "mbox.md", "x", {"source": str(box)}),
        "maildir.md": Document(tmp_path / "maildir.md", "x", {"source": [str(maildir)]}),
        "public.md": Document(tmp_path / "public.md", "x", {"source": str(box)}, private=False),
    }
    for document in cases.values():
        document.write()
    assert {name: mode(tmp_path / name) for name in cases} == {
        "plain.txt": 0o640, "front.md": 0o640, "forced.md": 0o600, "mbox.md": 0o600,
        "maildir.md": 0o600, "public.md": 0o640}


# ------------------------------------------------------------------- 3. inputs stay inputs


def test_summarize_onto_its_input_is_refused_and_the_input_unchanged(
        standin: StandIn, tmp_path: Path) -> None:
    episode = tmp_path / "ep.txt"
    shutil.copy(EPISODE, episode)
    before = episode.read_bytes()
    (tmp_path / "link.txt").symlink_to(episode)
    os.link(episode, tmp_path / "hard.txt")
    for target in (episode, tmp_path / "link.txt", tmp_path / "hard.txt",
                   tmp_path / "sub" / ".." / "ep.txt"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        result = run_cli("summarize", "--transcript", episode, "--cache-dir", tmp_path / "c",
                         "-o", target)
        one_line_error(result, f"-o {target}", "the file to summarize")
    assert episode.read_bytes() == before and (tmp_path / "link.txt").is_symlink()
    assert standin.calls(status=None) == 0


def test_essay_into_the_samples_folder_or_onto_the_transcript_is_refused(
        standin: StandIn, tmp_path: Path) -> None:
    samples = tmp_path / "essays"
    shutil.copytree(ESSAYS, samples)
    past = sorted(samples.glob("*.md"))[0]
    episode = tmp_path / "ep.notes.md"  # the notes of -o ep.md would land on it
    shutil.copy(EPISODE, episode)
    before = {p: p.read_bytes() for p in [*samples.rglob("*"), episode] if p.is_file()}
    cases = {past: "inside the samples folder", samples / "new" / "x.md": "samples folder",
             episode: "the transcript",
             tmp_path / "ep.md": f"{episode} (the notes beside -o {tmp_path / 'ep.md'}) is the"}
    (samples / "new").mkdir()
    for target, says in cases.items():
        result = run_cli("essay", "--samples", samples, "--transcript", episode,
                         "--cache-dir", tmp_path / "c", "-o", target)
        one_line_error(result, says)
    assert {p: p.read_bytes() for p in before} == before
    assert not (samples / "new" / "x.md").exists() and not (tmp_path / "ep.md").exists()
    assert standin.calls(status=None) == 0


def test_profile_and_dialogue_onto_an_input_are_refused(standin: StandIn,
                                                        tmp_path: Path) -> None:
    box = mailbox(tmp_path / "inbox.mbox")
    examples = tmp_path / "examples.jsonl"
    examples.write_text('{"text": "fine", "label": "A"}\n')
    maildir = tmp_path / "Maildir"
    (maildir / "cur").mkdir(parents=True)
    before = box.read_bytes(), examples.read_bytes()
    for mbox, target, says in ((box, box, "the mailbox"),
                               (box, examples, "the screen examples file"),
                               (maildir, maildir / "profile.md", "the mailbox folder")):
        result = run_cli("profile", "--mbox", mbox, "--owner", OWNER, "--screen",
                         "--screen-examples", examples, "--cache-dir", tmp_path / "c",
                         "-o", target)
        one_line_error(result, says)
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Hello there.")
    result = run_cli("dialogue", "--a", "anthropic:claude-haiku-4-5", "--b",
                     "openai:gpt-4o-mini", "--prompt-file", prompt, "--cache-dir",
                     tmp_path / "c", "-o", prompt)
    one_line_error(result, "the prompt file")
    assert (box.read_bytes(), examples.read_bytes()) == before
    assert prompt.read_text() == "Hello there." and not (maildir / "profile.md").exists()
    assert standin.calls(status=None) == 0


def test_a_provider_error_that_echoes_the_key_never_shows_it(standin, tmp_path: Path) -> None:
    from conftest import TEST_KEY

    standin.fail_next(400, message=f"invalid request from key {TEST_KEY}: bad thing")
    result = run_cli("summarize", REPO / "corpora" / "notes.txt", "--cache-dir",
                     tmp_path / "cache", "-v")
    assert result.exit_code == 1, result.output
    assert "bad thing" in result.stderr and "[REDACTED]" in result.stderr
    assert TEST_KEY not in result.output + result.stderr
    for manifest in (tmp_path / "cache" / "runs").glob("*.json"):
        assert TEST_KEY not in manifest.read_text()


def test_a_killed_run_leaves_a_journal_of_every_endpoint_used(tmp_path: Path) -> None:
    import json

    from conftest import TEST_KEY, kill_after_calls

    from standin import StandIn

    source = tmp_path / "long.txt"
    source.write_text("\n\n".join(f"Paragraph {n}: FACT-{n} and some more words to read."
                                  for n in range(400)))
    cache = tmp_path / "cache"
    with StandIn(latency=0.4) as server:
        kill_after_calls(server, ["summarize", str(source), "--chunk-tokens", "200",
                                  "--concurrency", "2", "--cache-dir", str(cache), "-q"])
        host = server.url
    assert not list((cache / "runs").glob("*.json"))  # it never closed
    (journal,) = (cache / "runs").glob("*.jsonl")
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert lines[0]["run"]["command"] == "summarize"
    calls = [line["call"] for line in lines if "call" in line]
    assert len(calls) >= 2 and {c["endpoint"] for c in calls} == {host}
    assert TEST_KEY not in journal.read_text()


def test_the_manifest_names_every_endpoint_that_got_mail_or_notes_on_it(standin,
                                                                       tmp_path: Path) -> None:
    import json

    from test_profile_e2e import OWNER, mailbox

    box = mailbox(tmp_path / "inbox.mbox")
    result = run_cli("profile", "--mbox", box, "--owner", OWNER, "--cache-dir",
                     tmp_path / "cache", "--reduce-model", "openai:gpt-4o",
                     "-o", tmp_path / "profile.md")
    assert result.exit_code == 0, result.output
    (manifest,) = (tmp_path / "cache" / "runs").glob("*.json")
    sent = json.loads(manifest.read_text())["mail_sent"]
    by_stage = {entry["stage"]: entry for entry in sent}
    assert set(by_stage) >= {"triage and map", "reduce"}
    assert by_stage["reduce"]["endpoint"] == standin.url  # the notes went to the strong model
    assert "m1@acme.example" in by_stage["triage and map"]["message_ids"]
    assert set(by_stage["reduce"]["message_ids"]) <= set(
        by_stage["triage and map"]["message_ids"])
