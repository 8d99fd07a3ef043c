"""The calibrated style verdict: impostor evidence, the cliché guard, ranking and revision notes."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys

import pytest
from conftest import REPO, shared_path

from ghost.ingest.samples import split_front_matter
from ghost.style import verify
from ghost.style.calibrate import other_verdicts, own_verdicts, share
from ghost.style.cliche import find_cliches
from ghost.style.revision import revision_notes
from ghost.style.style_report import BORDERLINE, DOES_NOT, SOUNDS_LIKE, StyleReport
from ghost.style.stylometry import decide, score_draft

ESSAYS = sorted((REPO / "corpora" / "my_essays").glob("*.md"))
STUFFING = {  # where each generic phrase goes in the held-out essay
    0: "In today's fast-paced world, it's important to note that ",
    2: "Let's delve into this rich tapestry: it is a testament to grit and a game-changer. ",
    -1: "Ultimately, we must navigate the complexities with a holistic mindset. ",
}


def host_essays() -> list[str]:
    return [split_front_matter(p.read_text())[1] for p in ESSAYS]


def stuffed(essay: str) -> str:
    paragraphs = essay.strip().split("\n\n")
    for where, phrase in STUFFING.items():
        text = paragraphs[where]
        paragraphs[where] = phrase + (text[0].lower() + text[1:] if where == 0 else text)
    return "\n\n".join(paragraphs)


# --- the cliché guard -----------------------------------------------------------------------

def test_cliches_are_found_as_written_once_each_with_their_rate() -> None:
    draft = ("We must Delve deeper. Delving into it is a testament to grit, robustness aside; "
             "the tapestries of old. It's important to note the end.")
    scan = find_cliches(draft, ["An essay of mine, plain and short."])
    # longest phrase first: "a testament" is inside "testament to" and counts once
    assert scan.found == ("Delve", "Delving", "testament to", "tapestries",
                          "It's important to note")
    assert scan.occurrences == 5  # "robustness" is not "robust"
    assert scan.rate == pytest.approx(1000 * 5 / 24)  # "it's" is one word


def test_a_phrase_the_author_uses_is_not_a_cliche() -> None:
    draft = "A robust plan, and a pivotal week, delivered."
    assert find_cliches(draft, ["My plan was robust."]).found == ("pivotal",)
    assert find_cliches("Nothing generic here at all.", []).occurrences == 0


def test_stuffed_host_essay_does_not_sound_like_and_the_report_names_the_phrases() -> None:
    essays = host_essays()
    held_out, samples = essays[-1], essays[:-1]
    clean = score_draft(held_out, samples)
    assert clean.verdict == SOUNDS_LIKE and clean.cliches == ()
    report = score_draft(stuffed(held_out), samples)
    assert report.verdict != SOUNDS_LIKE
    named = {"In today's fast-paced world", "it's important to note", "delve", "tapestry",
             "testament to", "game-changer", "navigate the complexities", "holistic"}
    assert named <= set(report.cliches)
    assert report.cliche_rate > 10
    assert '"delve"' in report.render() and "Generic AI phrasing" in report.render()
    assert set(report.to_dict()["cliches"]) >= named
    assert report.rank_key() > clean.rank_key()


# --- verdict, ranking and revision ----------------------------------------------------------

def test_decide_thresholds() -> None:
    assert decide(2.0, 2.5, 1.9) == SOUNDS_LIKE
    assert decide(2.01, 0.0, 0.0) == BORDERLINE
    assert decide(0.0, 0.0, 2.0) == BORDERLINE
    assert decide(0.0, 0.0, 0.0, nearer_impostors=True) == BORDERLINE
    assert decide(4.01, 0.0, 0.0) == DOES_NOT
    assert decide(0.0, 2.51, 0.0) == DOES_NOT
    assert decide(0.0, 0.0, 5.0) == DOES_NOT


def test_impostors_never_soften_a_rejection() -> None:
    """Impostor texts can only hold a draft back: a draft that does not sound like the host
    from samples alone does not with one plain text, or a set of texts, given as impostors."""
    samples = host_essays()[:8]
    draft = (REPO / "README.md").read_text()[:6000]
    episode = (REPO / "corpora" / "episode-042.txt").read_text()
    parts = [episode[i * len(episode) // 5:(i + 1) * len(episode) // 5] for i in range(5)]
    for impostors in ([], ["A short plain text about nothing much at all."], parts):
        assert score_draft(draft, samples, impostors=impostors).verdict == DOES_NOT


def test_rank_key_orders_by_verdict_then_score_then_cliches() -> None:
    essays = host_essays()
    base = score_draft(essays[-1], essays[:-1])
    assert base.calibrated_z is not None
    worse_score = dataclasses.replace(base, evidence=base.evidence + 5)
    more_cliches = dataclasses.replace(base, cliche_rate=3.0)
    borderline = dataclasses.replace(base, verdict=BORDERLINE, evidence=base.evidence - 50)
    unknown = dataclasses.replace(base, verdict="unknown", evidence_spread=None)
    ranked = sorted([unknown, borderline, more_cliches, worse_score, base],
                    key=StyleReport.rank_key)
    assert ranked == [base, more_cliches, worse_score, borderline, unknown]


def test_revision_notes_say_what_to_cut_and_what_differs() -> None:
    essays = host_essays()
    report = score_draft(stuffed(essays[-1]), essays[:-1])
    notes = revision_notes(report)
    assert notes[0].startswith("Cut the generic phrasing") and '"tapestry"' in notes[0]
    assert len(notes) == 1 + len(report.differences) + bool(report.more_words) + bool(
        report.fewer_words)
    assert any("per 1000 words" in n for n in notes[1:])


# --- wordfreq: offline, and not imported by --help ------------------------------------------

def test_general_english_rates_load_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    verify.general_english.cache_clear()
    rates = dict(zip(verify.function_words(), verify.general_english(), strict=True))
    assert rates["the"] > rates["upon"] > rates["whilst"] > 0


def test_help_does_not_import_wordfreq() -> None:
    probe = ("import sys\nfrom ghost.cli import main\nsys.argv = ['ghost', 'style-check', "
             "'--help']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
             "print('WORDFREQ' if 'wordfreq' in sys.modules else 'CLEAN')")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip().endswith("CLEAN"), done.stdout + done.stderr


# --- measured rates on the Federalist papers (../shared) ------------------------------------

def _papers(author: str) -> list[str]:
    folder = shared_path("data", "essays", "federalist", author)
    return [p.read_text() for p in sorted(folder.glob("*.txt"))]


def test_federalist_own_papers_are_recognised() -> None:
    hamilton, madison = _papers("hamilton"), _papers("madison")
    assert share(own_verdicts(madison)) >= 0.9
    every_fifth = [score_draft(text, [t for t in hamilton if t is not text]).verdict
                   for text in hamilton[::5]]
    assert share(every_fifth) >= 0.9


def test_federalist_other_authors_and_genres_do_not_pass() -> None:
    hamilton, madison, jay = _papers("hamilton"), _papers("madison"), _papers("jay")
    host = host_essays()
    # held-out split (not tuned on): another era, another genre, another author
    for texts, samples in ((jay, hamilton), (jay, madison), (host, hamilton),
                           (hamilton[:5], host), (madison, jay)):
        assert share(other_verdicts(texts, samples)) <= 0.1
    # tuning split, without impostors: Madison passes for Hamilton too often (measured 55-71%,
    # bench/bench_style.py); the single-author evidence alone cannot separate this pair
    # with the other Federalist authors' papers as impostors (less the one scored), both hold
    assert share(other_verdicts(madison, hamilton, [*jay, *madison])) <= 0.05
    assert share(other_verdicts(hamilton, madison, [*jay, *hamilton])) <= 0.05  # 2 of 51
    assert share(own_verdicts(madison, [*jay, *hamilton])) >= 0.9
    own = [score_draft(text, [t for t in hamilton if t is not text],
                       impostors=[*jay, *madison]).verdict for text in hamilton[::5]]
    assert share(own) >= 0.9
    # held-out split with impostors: Jay has 5 papers (each scored against 4), so the
    # thresholds widen for so few samples (Student's t); measured 4 of 5
    assert share(own_verdicts(jay, [*hamilton, *madison])) >= 0.8
