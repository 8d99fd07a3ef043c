"""The stylometric style check: features, Burrows' Delta, verdicts and Federalist attribution."""

from __future__ import annotations

import json
import random
import time

import pytest
from conftest import FIXTURES, shared_path

from ghost.errors import InputError
from ghost.ingest.samples import load_samples
from ghost.style import stylometry
from ghost.style.delta import DeltaSpace, delta
from ghost.style.markers import extract, tokenize
from ghost.style.style_report import VERDICTS, Spread, describe
from ghost.style.stylometry import (
    BORDERLINE,
    DOES_NOT,
    SOUNDS_LIKE,
    UNKNOWN,
    attribute,
    score_draft,
)

SAMPLES = FIXTURES / "samples"
COMMON = "the of and to a in that is it for as with be by this which not are".split()


def fake_text(seed: int, habits: list[str], n: int = 900, sentence: int = 15,
              mark: str = ",") -> str:
    """A deterministic text whose style is its mix of common words and `habits`."""
    rng = random.Random(seed)
    words = rng.choices(COMMON + habits, [10] * len(COMMON) + [7] * len(habits), k=n)
    return " ".join(" ".join(words[i:i + sentence]).capitalize() + mark + " and so on."
                    for i in range(0, n, sentence))


def verdict_rank(verdict: str) -> int:
    return VERDICTS.index(verdict)


# --- features -------------------------------------------------------------------------------

def test_tokenize_lowercases_keeps_apostrophes_and_archaic_spellings() -> None:
    text = "Upon the CONNEXION of the States, it's the nation’s labour; 1787 -- well-being!"
    assert tokenize(text) == ["upon", "the", "connexion", "of", "the", "states", "it's", "the",
                              "nation's", "labour", "well", "being"]


def test_extract_sentences_and_punctuation() -> None:
    text = ("# A Heading To Ignore\n\nOne two three. Four, five! Six? \"Seven,\" she said; "
            "eight: nine -- ten — eleven – twelve (thirteen) 'fourteen' don't... end…\n\n"
            "See [the link](https://example.com/page) and https://example.org too")
    f = extract(text)
    # "don't... end" goes on: no break before a lowercase word
    assert f.sentence_lengths == (3, 2, 1, 12, 5)
    assert f.n_words == 23 and "heading" not in f.words and "https" not in f.words
    assert f.punctuation == {
        "commas": 2, "semicolons": 1, "colons": 1, "em dashes": 2, "en dashes": 1,
        "exclamation marks": 1, "question marks": 1, "parentheses": 1, "double quotes": 2,
        "single quotes": 2, "ellipses": 2}
    rates = f.secondary()
    assert rates["semicolons"] == pytest.approx(1000 / 23)
    assert rates["sentence length"] == pytest.approx(23 / 5)


def test_describe_phrases() -> None:
    assert describe("sentence length", 28, 20) == "sentences 40% longer (28 vs 20 words)"
    assert describe("sentence length", 15, 20) == "sentences 25% shorter (15 vs 20 words)"
    assert describe("semicolons", 12, 4) == ("uses semicolons 3.0x as often "
                                             "(12.0 vs 4.0 per 1000 words)")
    assert describe("commas", 30, 60).startswith("uses commas 50% less often")
    assert describe("colons", 0, 4).startswith("never uses colons")
    assert describe("exclamation marks", 5, 0).endswith("the samples almost never do")


# --- Delta ----------------------------------------------------------------------------------

def test_delta_is_zero_for_the_centroid_and_grows_with_difference() -> None:
    texts = [extract(fake_text(i, ["upon", "whilst"])).counts() for i in range(5)]
    space = DeltaSpace.fit([texts])
    assert 0 < len(space.words) <= 150
    centroid = space.centroid(texts)
    assert delta(centroid, centroid) == 0
    same = delta(space.z(extract(fake_text(99, ["upon", "whilst"])).counts()), centroid)
    other = delta(space.z(extract(fake_text(99, ["on", "while"])).counts()), centroid)
    assert same < other


def test_fewer_words_when_the_corpus_is_small() -> None:
    big = [extract(fake_text(i, ["upon"], n=3000)).counts() for i in range(4)]
    small = [extract(fake_text(i, ["upon"], n=40)).counts() for i in range(4)]
    assert len(DeltaSpace.fit([small]).words) < len(DeltaSpace.fit([big]).words)
    assert len(DeltaSpace.fit([big], max_words=5).words) == 5


def test_attribute_ranks_the_closer_author_first() -> None:
    candidates = {
        "a": [fake_text(i, ["upon", "whilst", "shall"]) for i in range(6)],
        "b": [fake_text(10 + i, ["on", "while", "will"]) for i in range(3)],
    }
    ranking = attribute(fake_text(99, ["on", "while", "will"]), candidates)
    assert [name for name, _ in ranking] == ["b", "a"]
    assert ranking[0][1] < ranking[1][1]
    with pytest.raises(InputError, match="has no words"):
        attribute("1234 ...", candidates)
    with pytest.raises(InputError, match="no texts with words for b"):
        attribute("some text", {"a": ["words here"], "b": [""]})


# --- score_draft ----------------------------------------------------------------------------

def test_empty_draft_and_too_little_sample_text_are_input_errors() -> None:
    samples = [fake_text(i, ["upon"]) for i in range(3)]
    for draft in ("", "   \n", "42 -- 17!"):
        with pytest.raises(InputError, match="draft: has no words"):
            score_draft(draft, samples)
    with pytest.raises(InputError, match="needs at least 200 words"):
        score_draft("A fine draft.", ["Too short.", ""])


def test_one_sample_gives_a_report_with_unknown_spread() -> None:
    sample = (SAMPLES / "essays" / "notes-on-walking.md").read_text()
    draft = (SAMPLES / "modern.txt").read_text()
    report = score_draft(draft, [sample + "\n\n" + sample.replace("walk", "stroll")])
    assert report.verdict == UNKNOWN
    assert report.spread is None and report.percentile is None and report.z is None
    assert report.n_samples == 1
    assert "spread among your samples is unknown" in report.render()
    assert json.loads(json.dumps(report.to_dict()))["spread"] is None


def test_differences_name_the_features_that_stand_out() -> None:
    samples = [fake_text(i, ["upon", "whilst"], sentence=12) for i in range(8)]
    draft = fake_text(50, ["on", "while"], n=900, sentence=30, mark=";")
    report = score_draft(draft, samples)
    assert report.verdict == DOES_NOT
    text = report.render()
    assert "semicolons" in text and "sentences" in text and "longer" in text
    # only the samples' frequent words are compared: "on" and "while" are not among them
    assert {u.word for u in report.fewer_words} >= {"upon", "whilst"}
    assert all(u.draft_per_1000 > u.author_per_1000 for u in report.more_words)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["verdict"] == DOES_NOT and data["percentile"] == 100
    assert len(data["spread"]["deltas"]) == 8
    # the calibrated evidence: one held-out value per sample, the draft far beyond them
    assert len(data["evidence_spread"]["deltas"]) == 8
    assert data["calibrated_z"] > 4 and data["evidence"] > data["evidence_spread"]["max"]
    assert data["cliches"] == [] and data["cliche_rate"] == 0 and data["nearer_impostors"] is None


def test_impostors_must_be_a_list_and_a_draft_nearer_them_cannot_sound_like() -> None:
    samples = [fake_text(i, ["upon", "whilst", "shall"]) for i in range(8)]
    others = [fake_text(20 + i, ["on", "while", "will"]) for i in range(6)]
    with pytest.raises(InputError, match="impostors: got one string"):
        score_draft(samples[0], samples[1:], impostors="one text")
    own = score_draft(fake_text(98, ["upon", "whilst", "shall"]), samples, impostors=others)
    assert own.nearer_impostors is False
    # a draft mixing both habits, nearer the impostors
    mixed = score_draft(fake_text(99, ["upon", "on", "while", "will"]), samples,
                        impostors=others)
    assert mixed.nearer_impostors is True and mixed.verdict != SOUNDS_LIKE
    assert "Nearer to the other writers' texts" in mixed.render()


def test_spread_statistics() -> None:
    spread = Spread.of([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (spread.median, spread.max) == (3.0, 5.0)
    assert spread.p90 == pytest.approx(4.6)
    assert spread.percentile(3.5) == 60
    assert spread.robust_z(4.6) == pytest.approx(1.2816)


# --- the Federalist papers (../shared) ------------------------------------------------------

def _papers(author: str) -> dict[str, str]:
    folder = shared_path("data", "essays", "federalist", author)
    return {p.stem: p.read_text() for p in sorted(folder.glob("*.txt"))}


def test_leave_one_out_attribution_hamilton_vs_madison() -> None:
    papers = {"hamilton": _papers("hamilton"), "madison": _papers("madison")}
    assert (len(papers["hamilton"]), len(papers["madison"])) == (51, 14)
    correct, wrong = 0, []
    for author, texts in papers.items():
        for name, text in texts.items():
            pools = {a: [t for n, t in p.items() if not (a == author and n == name)]
                     for a, p in papers.items()}
            best = attribute(text, pools)[0][0]
            correct += best == author
            if best != author:
                wrong.append(name)
    accuracy = correct / 65
    print(f"leave-one-out attribution: {correct}/65 = {accuracy:.1%}; wrong: {wrong}")
    assert accuracy >= 0.9


def test_hamilton_sounds_more_like_hamilton_than_jay_or_modern_english() -> None:
    hamilton = list(_papers("hamilton").values())
    jay = list(_papers("jay").values())
    modern = (SAMPLES / "modern.txt").read_text()
    held_out, pool = hamilton[0], hamilton[1:]

    own = score_draft(held_out, pool)
    assert own.verdict == SOUNDS_LIKE
    assert not own.differences or "Differs most" in own.render()
    for other in (jay[0], modern):
        report = score_draft(other, pool)
        assert verdict_rank(report.verdict) > verdict_rank(own.verdict)
        assert report.draft_delta > own.draft_delta
        assert report.verdict in (BORDERLINE, DOES_NOT)
    assert score_draft(modern, pool).verdict == DOES_NOT


def test_scoring_against_51_samples_takes_under_a_second() -> None:
    hamilton = list(_papers("hamilton").values())
    stylometry._features.cache_clear()  # time the reading of every text too
    start = time.process_time()
    report = score_draft(hamilton[0], hamilton)
    assert time.process_time() - start < 1.0
    assert report.spread is not None and len(report.spread.deltas) == 51


def test_three_fixture_essays_score_but_give_no_verdict() -> None:
    essays = [s.text for s in load_samples(SAMPLES / "essays")[0]]
    report = score_draft((SAMPLES / "modern.txt").read_text(), essays)
    assert report.n_samples == 3 and report.spread is None and report.verdict == UNKNOWN
    assert report.render().startswith("Style check: unknown")
    assert "add at least 4 samples" in report.render()
