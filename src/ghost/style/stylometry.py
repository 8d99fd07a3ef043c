"""Does a draft sound like the author? Evidence against impostors, Delta, and clichés.

The verdict rests on ghost.style.verify: how much likelier the draft's function-word rates are
for another writer of the same genre than for the author, set against the same evidence for
each sample held out from the rest (the calibration: thresholds tuned on the Federalist papers,
see bench/bench_style.py). Burrows' Delta to the samples' centroid, against leave-one-out
Deltas, must not be far out either; and generic AI phrasing the samples never use
(ghost.style.cliche) counts against the draft. Evidence and Delta grow as texts get shorter, so
both sides are compared at the same length: held-out samples are cut to the draft's length, and
a draft longer than the median sample is scored as the mean over pieces of about that length.
Sentence lengths, punctuation and the most over- and under-used frequent words say what differs.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache

from ghost.errors import InputError
from ghost.style import cliche, verify
from ghost.style.delta import MAX_WORDS, MIN_DOC_SHARE, CountTable, DeltaSpace, delta
from ghost.style.markers import TextFeatures, extract
from ghost.style.style_report import (
    BORDERLINE,
    DOES_NOT,
    SOUNDS_LIKE,
    UNKNOWN,
    Spread,
    StyleReport,
    feature_differences,
    word_differences,
)

__all__ = ["BORDERLINE", "DOES_NOT", "SOUNDS_LIKE", "UNKNOWN", "StyleReport", "attribute",
           "score_draft"]

MIN_SPREAD_SAMPLES = 4  # fewer samples: no leave-one-out spread, so no verdict
MIN_WHOLE_SAMPLES = 3  # fewer samples are split into parts to estimate word-rate spread
MAX_HELD_OUT = 60  # with more samples, the spread comes from this many, evenly spaced
MIN_SAMPLE_WORDS = 200
SHORT_DRAFT_WORDS = 300
MIN_VERDICT_WORDS = 150  # below this, chance swamps style: report the numbers, no verdict
BORDERLINE_Z = 2.5  # robust Delta z above which a draft "does not sound like the author"
SOUNDS_LIKE_EVIDENCE_Z = 2.0  # calibrated evidence z up to which a draft "sounds like" the author
DOES_NOT_EVIDENCE_Z = 4.0  # ... and above which it "does not"


def score_draft(draft: str, samples: Sequence[str], *, max_words: int = MAX_WORDS,
                impostors: Sequence[str] = ()) -> StyleReport:
    """Score how close `draft` is to the author's `samples` and say what differs most.

    `impostors` (optional): texts by other writers of the same genre. A draft nearer to them
    than to the samples (two-way Burrows' Delta, as in `attribute`) cannot "sound like" the
    author."""
    if isinstance(samples, str):
        raise InputError("style samples: got one string; pass a list of texts, one per sample")
    draft_f = _features(draft)
    if not draft_f.n_words:
        raise InputError("draft: has no words to compare; pass the text of the draft")
    feats = [f for f in (_features(s) for s in samples) if f.n_words]
    total = sum(f.n_words for f in feats)
    if total < MIN_SAMPLE_WORDS:
        raise InputError(f"style samples: {total} words in all; the style check needs at least "
                         f"{MIN_SAMPLE_WORDS} words of the author's past writing")
    units = _units(feats)
    space = DeltaSpace.fit([units], max_words)
    centroid = space.centroid(units)
    draft_z = space.z(draft_f.counts())
    length = min(draft_f.n_words, round(statistics.median(f.n_words for f in feats)))
    pieces = draft_f.parts(max(1, round(draft_f.n_words / length)))
    score = statistics.fmean(delta(space.z(piece), centroid) for piece in pieces)
    spread = evidence_spread = None
    evidence = draft_evidence(draft_f, feats, length)
    if len(feats) >= MIN_SPREAD_SAMPLES:
        spread, evidence_spread = _spreads(tuple(samples), length, max_words)
    scan = cliche.find_cliches(draft, samples)
    nearer = _nearer_impostors(draft, samples, impostors, max_words)
    verdict = UNKNOWN
    if draft_f.n_words >= MIN_VERDICT_WORDS and spread and evidence_spread:
        # With a set of impostor texts the comparison with them rejects close writers, so
        # "sounds like" may allow for how little a few samples say about the author's spread;
        # without them (or with one plain draft) that tightness is what rejects other writers.
        # The "does not" limits never move: impostors must not soften a rejection.
        genre_set = sum(1 for t in impostors if _features(t).n_words) >= MIN_SPREAD_SAMPLES
        sounds_like_z = min(SOUNDS_LIKE_EVIDENCE_Z * few_samples_widening(len(feats)),
                            DOES_NOT_EVIDENCE_Z) if genre_set else SOUNDS_LIKE_EVIDENCE_Z
        verdict = decide(evidence_spread.robust_z(evidence), spread.robust_z(score),
                         scan.rate, nearer_impostors=bool(nearer), sounds_like_z=sounds_like_z)
    notes = _notes(feats, len(samples), draft_f, space, spread)
    return StyleReport(
        verdict=verdict, draft_delta=score, spread=spread,
        n_samples=len(feats), n_words_compared=len(space.words), draft_words=draft_f.n_words,
        differences=feature_differences(draft_f, feats),
        more_words=word_differences(space, draft_z, centroid, more=True),
        fewer_words=word_differences(space, draft_z, centroid, more=False),
        notes=notes, evidence=evidence, evidence_spread=evidence_spread,
        cliches=scan.found, cliche_rate=scan.rate, nearer_impostors=nearer,
    )


def few_samples_widening(n: int, z: float = SOUNDS_LIKE_EVIDENCE_Z) -> float:
    """How much wider a z threshold must be when the spread comes from only `n` samples: a new
    text's z against n samples follows Student's t with n - 1 degrees of freedom, scaled by
    sqrt(1 + 1/n) (a prediction interval). The t quantile is the Cornish-Fisher expansion.

    >>> round(few_samples_widening(50), 2), round(few_samples_widening(4), 2)
    (1.04, 1.77)
    """
    dof = max(n - 1, 1)
    t = z + (z ** 3 + z) / (4 * dof) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * dof ** 2)
    return t / z * math.sqrt(1 + 1 / n)


def decide(evidence_z: float, delta_z: float, cliche_rate: float, *,
           nearer_impostors: bool = False,
           sounds_like_z: float = SOUNDS_LIKE_EVIDENCE_Z) -> str:
    """The verdict from the calibrated evidence, the Delta z, the cliché rate and (when
    impostor texts were given) whether the draft is nearer to them than to the author.
    `sounds_like_z`: the evidence up to which a draft may sound like the author.

    >>> decide(1.2, 0.5, 0.0), decide(1.2, 0.5, 2.5), decide(3.0, 0.5, 0.0)
    ('sounds like the author', 'borderline', 'borderline')
    >>> decide(1.2, 0.5, 0.0, nearer_impostors=True), decide(4.5, 0.5, 0.0)
    ('borderline', 'does not sound like the author')
    """
    if (evidence_z > DOES_NOT_EVIDENCE_Z or delta_z > BORDERLINE_Z
            or cliche_rate >= cliche.DOES_NOT_RATE):
        return DOES_NOT
    if (evidence_z > sounds_like_z or cliche_rate >= cliche.BORDERLINE_RATE
            or nearer_impostors):
        return BORDERLINE
    return SOUNDS_LIKE


def _nearer_impostors(draft: str, samples: Sequence[str], impostors: Sequence[str],
                      max_words: int) -> bool | None:
    """Whether two-way Delta puts the draft nearer the impostors (None: none were given)."""
    if isinstance(impostors, str):
        raise InputError("impostors: got one string; pass a list of texts, one per text")
    others = [t for t in impostors if _features(t).n_words]
    if not others:
        return None
    mine = [t for t in samples if _features(t).n_words]
    return attribute(draft, {"author": mine, "impostors": others}, max_words=max_words)[0][0] \
        == "impostors"


def draft_evidence(draft: TextFeatures, feats: Sequence[TextFeatures], length: int) -> float:
    """The draft's evidence against a model of all the samples, over pieces of `length` words."""
    model = verify.AuthorModel.fit(verify.SampleSums.of(_verify_units(feats)))
    pieces = draft.parts(max(1, round(draft.n_words / length)))
    return verify.draft_evidence(model, [verify.Text.of(piece) for piece in pieces])


def held_out_spread(feats: Sequence[TextFeatures], length: int) -> Spread:
    """Each sample's evidence, cut to `length` words, against a model of the others."""
    texts = [verify.Text.of(f.counts()) for f in feats]
    cut = [verify.Text.of(f.counts(length)) for f in feats]
    return Spread.of(verify.held_out_evidence(texts, cut))


def _verify_units(feats: Sequence[TextFeatures]) -> list[verify.Text]:
    return [verify.Text.of(c) for c in _units(feats)]


def attribute(text: str, candidates: Mapping[str, Sequence[str]], *,
              max_words: int = MAX_WORDS) -> list[tuple[str, float]]:
    """Rank candidate authors by Burrows' Delta of `text` to each one's centroid, closest first.

    The space is fitted on all candidates' texts with per-author centres and pooled
    within-author spread, so an author with many texts does not dominate.
    """
    if any(isinstance(texts, str) for texts in candidates.values()):
        raise InputError("candidates: map each author to a list of texts, not to one string")
    counts = _features(text).counts()
    if not counts:
        raise InputError("text to attribute: has no words; pass some text")
    groups = {name: [c for c in (_features(t).counts() for t in texts) if c]
              for name, texts in candidates.items()}
    empty = [name for name, group in groups.items() if not group]
    if not groups or empty:
        raise InputError(f"candidates: no texts with words for {', '.join(empty) or 'anyone'}; "
                         "give each candidate author at least one text")
    if sum(len(g) for g in groups.values()) < 2:
        raise InputError("candidates: need at least two texts in all to measure spread")
    space = DeltaSpace.fit(list(groups.values()), max_words)
    z = space.z(counts)
    ranked = [(name, delta(z, space.centroid(group))) for name, group in groups.items()]
    return sorted(ranked, key=lambda pair: (pair[1], pair[0]))


# Scoring often repeats texts (the same samples for several drafts, candidates in attribution).
_features = lru_cache(maxsize=256)(extract)


@lru_cache(maxsize=8)
def _spreads(samples: tuple[str, ...], length: int, max_words: int) -> tuple[Spread, Spread]:
    """The Delta and evidence spreads of the samples at `length` words: the same for every
    draft of about that length, so ranking several drafts computes them once."""
    feats = [f for f in (_features(s) for s in samples) if f.n_words]
    return _spread(feats, length, max_words), held_out_spread(feats, length)


def _units(feats: Sequence[TextFeatures]) -> list[Counter[str]]:
    """Reference texts for a space: the samples, or equal parts of them when there are few."""
    if len(feats) >= MIN_WHOLE_SAMPLES:
        return [f.counts() for f in feats]
    parts = 4 // len(feats)
    return [c for f in feats for c in f.parts(parts)]


def _spread(feats: Sequence[TextFeatures], length: int, max_words: int) -> Spread:
    """Leave-one-out Deltas: each held-out sample, cut to `length` words, against the rest."""
    n = len(feats)
    held_out = range(n) if n <= MAX_HELD_OUT else sorted(
        {round(i * (n - 1) / (MAX_HELD_OUT - 1)) for i in range(MAX_HELD_OUT)})
    counts = [f.counts() for f in feats]
    table = CountTable.of([counts], MIN_DOC_SHARE * (n - 1))  # counted once for every run
    deltas = []
    for i in held_out:
        space = DeltaSpace.from_table(table.without(0, i), max_words)
        rest = counts[:i] + counts[i + 1:]
        deltas.append(delta(space.z(feats[i].counts(length)), space.centroid(rest)))
    return Spread.of(deltas)


def _notes(feats: Sequence[TextFeatures], n_given: int, draft: TextFeatures,
           space: DeltaSpace, spread: Spread | None) -> tuple[str, ...]:
    notes = []
    if spread is None:
        notes.append(f"only {len(feats)} sample(s): the spread among your samples is unknown, so "
                     f"there is no verdict; add at least {MIN_SPREAD_SAMPLES} samples")
    if n_given > len(feats):
        notes.append(f"{n_given - len(feats)} sample(s) without words were ignored")
    if draft.n_words < MIN_VERDICT_WORDS:
        notes.append(f"the draft is too short ({draft.n_words} words) to judge; a verdict "
                     f"needs at least {MIN_VERDICT_WORDS} words")
    elif draft.n_words < SHORT_DRAFT_WORDS:
        notes.append(f"the draft is short ({draft.n_words} words), so its score is noisy")
    if len(space.words) < 30:
        notes.append(f"only {len(space.words)} frequent words to compare; more samples would "
                     "give a steadier score")
    return tuple(notes)
