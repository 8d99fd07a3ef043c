"""ghost essay's reading and drafts against the stand-in, on a real shared 1-hour transcript:
the strong model reads the transcript whole, the default length is the samples' median,
--drafts shares one cache-marked prefix, notes mode maps with the essay-map prompt."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest
from conftest import REPO, run_cli, shared_path

from ghost.ingest.samples import load_samples
from ghost.models.catalog import load_catalog
from standin import StandIn
from test_essay_e2e import CORPUS_SAMPLES, essay_requests, run_essay

SEED = ("data", "transcripts", "cognitive-revolution-alex-albert.txt")
SMALL_MODEL = "anthropic:claude-small-context"  # defined by small_models(): 40k context


def raw_sentences(path: Path) -> list[str]:
    """The transcript's sentences as the file has them, leaving out timestamp lines and
    sentences with struck-through filler (the cleaning removes those words)."""
    text = " ".join(line for line in path.read_text().splitlines()
                    if line.strip() and not re.fullmatch(r"\s*\d\d:\d\d:\d\d\s*", line))
    found = [" ".join(s.split()) for s in re.split(r"(?<=[.?!])\s+", text)]
    return [s for s in found if "~~" not in s and len(s.split()) >= 4]


def request_text(body: dict) -> str:
    """All the text of a recorded Messages request's user turns, whitespace-normalised."""
    texts = [block["text"] for message in body["messages"] if message["role"] == "user"
             for block in message["content"]]
    return " ".join(" ".join(texts).split())


def small_models(tmp_path: Path) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(f'[models."{SMALL_MODEL}"]\ncontext = 40000\nmax_output = 8000\n'
                    "input = 3.0\noutput = 15.0\ncache_write = 3.75\ncache_read = 0.3\n")
    return path


def test_read_mode_sends_the_whole_transcript_to_the_strong_model(standin: StandIn,
                                                                  tmp_path: Path) -> None:
    transcript = shared_path(*SEED)
    result = run_essay(CORPUS_SAMPLES, transcript, tmp_path, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["read"]["mode"] == "full" and "fits 25%" in report["read"]["reason"]
    assert report["plan"]["stages"][0]["stage"] == "essay"  # no map stage at all
    body, = essay_requests(standin)
    sent = request_text(body)
    sentences = raw_sentences(transcript)
    assert len(sentences) > 200
    share = sum(s in sent for s in sentences) / len(sentences)
    assert share >= 0.8, f"only {share:.0%} of the transcript's sentences reached the essay"
    assert "<<<TRANSCRIPT" in body["messages"][0]["content"][1]["text"]
    system = json.dumps(body["system"])
    assert not any(s in system for s in sentences[:50])  # untrusted text stays out of system
    assert "[00:00:21]" in sent  # timestamps travel with the text


def test_the_default_length_is_the_samples_median(standin: StandIn, tmp_path: Path) -> None:
    transcript = shared_path(*SEED)
    samples, _ = load_samples(CORPUS_SAMPLES)
    median = statistics.median(len(s.text.split()) for s in samples)
    result = run_essay(CORPUS_SAMPLES, transcript, tmp_path, "--json")
    assert result.exit_code == 0, result.output
    asked = int(re.search(r"about (\d+) words,\s+then the SOURCES",
                          request_text(essay_requests(standin)[0])).group(1))
    assert abs(asked - median) <= 0.15 * median and asked != 700
    assert json.loads(result.stdout)["target_words"] == asked
    explicit = run_essay(CORPUS_SAMPLES, transcript, tmp_path, "--words", "300", "--json")
    assert explicit.exit_code == 0 and json.loads(explicit.stdout)["target_words"] == 300


def drafts_of_varying_voice(samples_text: str):
    """A stand-in responder: essay call 1 writes flat generic prose, call 2 the host's own
    words (it should win), call 3 something in between."""
    essays = [
        "# Generic\n\n" + "It is important to note that the landscape is evolving. " * 60,
        "# Close\n\n" + samples_text,
        "# Between\n\n" + samples_text[:len(samples_text) // 2]
        + " It is important to note that the landscape is evolving." * 20,
    ]
    calls: list[int] = []

    def respond(provider: str, body: dict) -> str | None:
        if "ESSAY" not in json.dumps(body.get("messages", "")):
            return None
        calls.append(1)
        return essays[(len(calls) - 1) % 3] + "\n\n=== SOURCES ===\nP1: none\n"

    return respond


def test_three_drafts_share_one_prefix_cached_for_an_hour_and_are_ranked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    transcript = shared_path(*SEED)
    samples, _ = load_samples(CORPUS_SAMPLES)
    with StandIn(responder=drafts_of_varying_voice(samples[3].text)) as server:
        for name, value in server.env("k-test-123456").items():
            monkeypatch.setenv(name, value)
        dry = run_essay(CORPUS_SAMPLES, transcript, tmp_path, "--drafts", "3", "--dry-run",
                        "--json")
        assert dry.exit_code == 0, dry.output
        out = tmp_path / "essay.md"
        real = run_essay(CORPUS_SAMPLES, transcript, tmp_path, "--drafts", "3", "--json",
                         "-o", out)
        assert real.exit_code == 0, real.output
        sent = essay_requests(server)
    planned, report = json.loads(dry.stdout), json.loads(real.stdout)
    assert planned["plan"] == report["plan"]  # the dry run's plan is the real run's
    essay_stage = next(s for s in planned["plan"]["stages"] if s["stage"] == "essay")
    assert essay_stage["calls"] == 3 and essay_stage["cost_usd"] > 0
    assert len(sent) == 3
    prefixes = {json.dumps([r["system"], r["messages"][0]["content"][0]]) for r in sent}
    assert len(prefixes) == 1  # the very same prefix bytes, cache mark included
    assert sent[0]["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral",
                                                                     "ttl": "1h"}
    ranking = report["drafts"]
    assert sorted(d["draft"] for d in ranking) == [1, 2, 3]
    assert ranking[0]["draft"] == 2 and report["kept"] == "draft 2"
    assert out.read_text().split("---\n", 2)[2].strip().startswith("# Close")
    notes = (tmp_path / "essay.notes.md").read_text()
    assert "## Drafts, best first" in notes and notes.count("\n| ") == 4  # header + 3 rows
    ledger = report["ledger"]["stages"]["essay"]
    assert ledger["calls"] == 3 and ledger["cache_read_tokens"] > 0  # drafts 2, 3 read it
    assert ledger["cache_write_1h_tokens"] == ledger["cache_write_tokens"] > 0
    prices = load_catalog().resolve("anthropic:claude-opus-5-5").prices
    assert prices is not None and prices.write_price("1h") == 2 * prices.input
    expected = (ledger["input_tokens"] * prices.input + ledger["output_tokens"] * prices.output
                + ledger["cache_write_tokens"] * 2 * prices.input
                + ledger["cache_read_tokens"] * prices.cache_read) / 1e6
    assert ledger["cost_usd"] == pytest.approx(expected, abs=1e-6)  # rounded to 6 places


def test_impostors_given_to_the_essay_withhold_sounds_like_from_a_draft_that_reads_like_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    transcript = shared_path(*SEED)
    samples, _ = load_samples(CORPUS_SAMPLES)
    close = samples[3].text  # draft 2 is this sample's words: it wins without impostors
    others = tmp_path / "other-writers"
    others.mkdir()
    for name in ("a.md", "b.md", "c.md"):  # another writer who writes just like draft 2
        (others / name).write_text(f"# {name}\n\n{close}")
    with StandIn(responder=drafts_of_varying_voice(close)) as server:
        for name, value in server.env("k-test-123456").items():
            monkeypatch.setenv(name, value)
        plain = run_essay(CORPUS_SAMPLES, transcript, tmp_path, "--drafts", "3", "--json")
        checked = run_essay(CORPUS_SAMPLES, transcript, tmp_path, "--drafts", "3", "--json",
                            "--impostors", others)
    assert plain.exit_code == 0 and checked.exit_code == 0, checked.output
    verdicts = {r: {d["draft"]: d["verdict"] for d in json.loads(out.stdout)["drafts"]}
                for r, out in (("plain", plain), ("checked", checked))}
    assert verdicts["plain"][2] == "sounds like the author"
    assert verdicts["checked"][2] != "sounds like the author"
    assert json.loads(plain.stdout)["style"]["nearer_impostors"] is None
    assert json.loads(checked.stdout)["style"]["nearer_impostors"] is not None


def test_one_draft_keeps_the_five_minute_cache_and_its_old_key(standin: StandIn,
                                                               tmp_path: Path) -> None:
    result = run_essay(CORPUS_SAMPLES, REPO / "corpora" / "episode-042.txt", tmp_path)
    assert result.exit_code == 0, result.output
    block = essay_requests(standin)[0]["messages"][0]["content"][0]
    assert block["cache_control"] == {"type": "ephemeral"}


def test_a_transcript_too_long_for_the_share_is_read_through_essay_notes(
        standin: StandIn, tmp_path: Path) -> None:
    transcript = shared_path(*SEED)
    args = ("--reduce-model", SMALL_MODEL, "--models-file", small_models(tmp_path),
            "--chunk-tokens", "4000", "--json")
    dry = run_essay(CORPUS_SAMPLES, transcript, tmp_path, "--dry-run", *args)
    assert dry.exit_code == 0, dry.output
    result = run_essay(CORPUS_SAMPLES, transcript, tmp_path, *args, "-o", tmp_path / "e.md")
    assert result.exit_code == 0, result.output
    planned, report = json.loads(dry.stdout), json.loads(result.stdout)
    assert planned["plan"] == report["plan"]
    assert report["read"]["mode"] == "notes" and "more than 25%" in report["read"]["reason"]
    maps = [r.body for r in standin.requests if r.status == 200
            and "QUOTE:" in json.dumps(r.body.get("system", ""))]
    assert len(maps) == report["chunks_mapped"] >= 2  # every chunk, with the essay-map prompt
    assert "guest" in json.dumps(maps[0]["system"]).lower()
    essay = essay_requests(standin)[-1]
    assert "<<<NOTES" in request_text(essay) and "<<<TRANSCRIPT" not in request_text(essay)
    assert "## Episode notes" in (tmp_path / "e.notes.md").read_text()


def test_auto_reads_notes_when_reading_whole_would_pass_the_budget(standin: StandIn,
                                                                   tmp_path: Path) -> None:
    transcript = shared_path(*SEED)

    def plan(*extra: str) -> dict:
        result = run_essay(CORPUS_SAMPLES, transcript, tmp_path, "--dry-run", "--json", *extra)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    full = plan("--read", "full")["plan"]["estimated_cost_usd"]
    notes = plan("--read", "notes")["plan"]["estimated_cost_usd"]
    assert notes < full
    chosen = plan("--budget", f"{(full + notes) / 2:.4f}")
    assert chosen["read"]["mode"] == "notes" and "over --budget" in chosen["read"]["reason"]
    assert standin.calls(status=None) == 0


@pytest.mark.parametrize(("args", "message"), [
    (("--read", "sideways"), "--read must be auto, full or notes"),
    (("--drafts", "0"), "--drafts must be between 1 and 10, got 0"),
    (("--drafts", "11"), "--drafts must be between 1 and 10, got 11"),
    (("--drafts", "2", "--draft", "3"), "give one of them"),
])
def test_bad_essay_options_fail_in_one_line(standin: StandIn, tmp_path: Path, args: tuple,
                                            message: str) -> None:
    result = run_cli("essay", "--samples", CORPUS_SAMPLES, "--transcript",
                     REPO / "corpora" / "episode-042.txt", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert result.stderr.strip().count("\n") == 0 and standin.calls(status=None) == 0


def test_read_full_refuses_a_transcript_the_strong_model_cannot_hold(standin: StandIn,
                                                                     tmp_path: Path) -> None:
    models = tmp_path / "tiny.toml"
    models.write_text(small_models(tmp_path).read_text().replace("40000", "16000"))
    result = run_essay(CORPUS_SAMPLES, shared_path(*SEED), tmp_path, "--read", "full",
                       "--reduce-model", SMALL_MODEL, "--models-file", models, "--dry-run")
    assert result.exit_code == 2 and "--read full: the transcript" in result.stderr
    assert "use --read notes" in result.stderr and result.stderr.strip().count("\n") == 0


def draft_then_revision(draft: str, revision: str):
    """A stand-in responder: the essay call writes `draft`, the revision call `revision`."""
    def respond(provider: str, body: dict) -> str | None:
        text = json.dumps(body.get("messages", ""))
        if "ESSAY" not in text:
            return None
        return (revision if "<<<MEASURED" in text else draft) + "\n\n=== SOURCES ===\nP1: none\n"
    return respond


@pytest.mark.parametrize("better", [True, False])
def test_a_revision_is_kept_only_when_it_scores_better(tmp_path: Path, better: bool,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    samples, _ = load_samples(CORPUS_SAMPLES)
    host, generic = "# Close\n\n" + samples[3].text, "# Generic\n\n" + (
        "It is important to note that the landscape is evolving; truly! " * 60)
    draft, revision = (generic, host) if better else (host, generic)
    with StandIn(responder=draft_then_revision(draft, revision)) as server:
        for name, value in server.env("k-test-123456").items():
            monkeypatch.setenv(name, value)
        out = tmp_path / "essay.md"
        result = run_essay(CORPUS_SAMPLES, REPO / "corpora" / "episode-042.txt", tmp_path,
                           "--revise", "--json", "-o", out)
        assert result.exit_code == 0, result.output
        first, revise = essay_requests(server)
    report = json.loads(result.stdout)
    assert report["kept"] == ("revision" if better else "draft 1")
    assert report["revision"]["kept"] is better and report["revision"]["guidance"]
    assert out.read_text().split("---\n", 2)[2].strip().startswith("# Close")
    assert revise["messages"][0] == first["messages"][0] and revise["system"] == first["system"]
    assert revise["messages"][1]["role"] == "assistant"
    assert draft.split("\n")[2][:40] in json.dumps(revise["messages"][1], ensure_ascii=False)
    assert "<<<MEASURED" in revise["messages"][2]["content"][0]["text"]
    assert "revise" in report["ledger"]["stages"]
